"""Limits on identity (issue 9, "Limits nobody can dodge"): sign-in throttling and guest-creation caps.

Both count events in sliding windows (``Events``): in this process by default, or in Redis when
``REDIS_URL`` is set, so that every app instance behind a load balancer sees the same counts. A Redis
that does not answer within half a second falls back to this process's counts (a warning is
logged): throttling degrades to per instance, it never blocks a sign-in on a hung Redis.

Sign-in (``SignInThrottle``): failures are counted per account (the normalised email, whether or not
an account has it, so a refusal says nothing about which emails exist) and per client address over
15 minutes. The first ``ACCOUNT_FREE_FAILURES`` (5) failures of an account, and
``ADDRESS_FREE_FAILURES`` (20) of an address, cost nothing; after that each attempt must wait
2, 4, 8, ... seconds after the last failure, at most 15 minutes. A throttled attempt is refused
before any password is hashed, so it costs no memory either. Success clears the account's count.

Guests (``GuestCaps``): at most ``per_address`` guest identities per client address per hour and
``total`` per hour for the whole deployment (``AUSTER_GUESTS_PER_ADDRESS_HOUR``,
``AUSTER_GUESTS_PER_HOUR``). The refusal says what to do: sign up.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from contracts.errors import TooManyAttempts

log = logging.getLogger(__name__)

WINDOW_S = 15 * 60
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
MAX_DELAY_S = 15 * 60
HOUR_S = 3600


class Events(Protocol):
    """Timestamps of events per key within a window."""

    def add(self, key: str, now: float, window_s: float) -> None: ...
    def recent(self, key: str, now: float, window_s: float) -> list[float]: ...
    def clear(self, key: str) -> None: ...


class MemoryEvents:
    """Events kept in this process (one app instance)."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float, window_s: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - window_s:
            events.popleft()
        return events

    def add(self, key: str, now: float, window_s: float) -> None:
        with self._lock:
            self._trim(key, now, window_s).append(now)
            if len(self._events) > 100_000:  # forget keys whose events are all old
                for stale in [k for k, v in self._events.items() if not v or v[-1] <= now - window_s]:
                    del self._events[stale]

    def recent(self, key: str, now: float, window_s: float) -> list[float]:
        with self._lock:
            return list(self._trim(key, now, window_s))

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


class RedisEvents:
    """Events in a Redis sorted set per key (shared by app instances); this process's counts when Redis does not answer."""

    def __init__(self, url: str, prefix: str = "auster:throttle:"):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix
        self._fallback = MemoryEvents()

    def add(self, key: str, now: float, window_s: float) -> None:
        name = self._prefix + key
        try:
            pipe = self._redis.pipeline()
            pipe.zremrangebyscore(name, "-inf", now - window_s)
            pipe.zadd(name, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.expire(name, int(window_s) + 1)
            pipe.execute()
        except Exception as exc:
            log.warning("throttle: Redis did not answer (%s); counting in this process", type(exc).__name__)
            self._fallback.add(key, now, window_s)

    def recent(self, key: str, now: float, window_s: float) -> list[float]:
        try:
            scores = self._redis.zrangebyscore(self._prefix + key, now - window_s, "+inf", withscores=True)
            return sorted(float(score) for _, score in scores)
        except Exception as exc:
            log.warning("throttle: Redis did not answer (%s); counting in this process", type(exc).__name__)
            return self._fallback.recent(key, now, window_s)

    def clear(self, key: str) -> None:
        try:
            self._redis.delete(self._prefix + key)
        except Exception as exc:
            log.warning("throttle: Redis did not answer (%s)", type(exc).__name__)
        self._fallback.clear(key)


def delay_after(failures: int, free: int) -> float:
    """Seconds to wait after the last failure once ``failures`` passed ``free``: 2, 4, 8, ... up to 15 minutes."""
    if failures < free:
        return 0.0
    return float(min(2 ** (failures - free + 1), MAX_DELAY_S))


def _seconds(wait: float) -> str:
    wait = max(1, math.ceil(wait))
    return f"{wait} seconds" if wait < 120 else f"{math.ceil(wait / 60)} minutes"


class SignInThrottle:
    """Growing delays after repeated failed sign-ins, per account and per client address."""

    def __init__(self, events: Events, clock: Callable[[], float] = time.time):
        self._events = events
        self._clock = clock

    def check(self, email: str, address: str | None) -> None:
        """Refuse (``TooManyAttempts``) while this account or address must wait; before any hashing."""
        now = self._clock()
        keys = [(f"account:{email}", ACCOUNT_FREE_FAILURES, "this account")]
        if address:
            keys.append((f"address:{address}", ADDRESS_FREE_FAILURES, "your network"))
        for key, free, who in keys:
            failures = self._events.recent(key, now, WINDOW_S)
            wait = delay_after(len(failures), free) - (now - failures[-1]) if failures else 0.0
            if wait > 0:
                raise TooManyAttempts(
                    f"Too many failed sign-ins for {who}; wait {_seconds(wait)} and try again (check the email and password first).", wait
                )

    def failed(self, email: str, address: str | None) -> None:
        now = self._clock()
        self._events.add(f"account:{email}", now, WINDOW_S)
        if address:
            self._events.add(f"address:{address}", now, WINDOW_S)

    def succeeded(self, email: str) -> None:
        self._events.clear(f"account:{email}")


class GuestCaps:
    """At most ``per_address`` guests per client address and ``total`` guests per hour."""

    def __init__(self, events: Events, per_address: int, total: int, clock: Callable[[], float] = time.time):
        self._events = events
        self.per_address = per_address
        self.total = total
        self._clock = clock

    def check(self, address: str | None) -> None:
        now = self._clock()
        everyone = self._events.recent("guests:all", now, HOUR_S)
        if len(everyone) >= self.total:
            wait = everyone[0] + HOUR_S - now if everyone else HOUR_S
            raise TooManyAttempts(
                "Too many guest sessions were started on this site in the last hour; sign up for a free account (Account page) "
                f"to run, save and publish now, or try again in {_seconds(wait)}.", wait
            )
        if address:
            mine = self._events.recent(f"guests:{address}", now, HOUR_S)
            if len(mine) >= self.per_address:
                wait = mine[0] + HOUR_S - now if mine else HOUR_S
                raise TooManyAttempts(
                    f"Your network has started {self.per_address} guest sessions in the last hour, the most allowed; sign up for a free "
                    f"account (Account page) to go on, or try again in {_seconds(wait)}.", wait
                )

    def created(self, address: str | None) -> None:
        now = self._clock()
        self._events.add("guests:all", now, HOUR_S)
        if address:
            self._events.add(f"guests:{address}", now, HOUR_S)
