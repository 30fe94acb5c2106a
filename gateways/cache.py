"""A shared cache in front of any gateway: TTL per kind, single-flight, stale-on-error.

``Cache.get_or_fetch(key, kind, fetch)`` answers from the cache while a value is fresh. When it is
not, exactly one caller fetches from upstream (single-flight: in this process through a per-key
flight, across processes through a short Redis lock) while the others wait for its result. When the
upstream fails with a transient error (rate limited, unavailable) and an expired value is still kept,
that value is served with ``Provenance.warning`` saying so; with nothing kept, the typed error rises.

Backends: ``MemoryBackend`` (cachetools, per process, the default) and ``RedisBackend`` (shared by
every app process; values are stored as data, a JSON header and Arrow for pandas values, so dtypes,
index and NaN round-trip exactly and nothing read from Redis can run code). Keys are provider + call + arguments, hashed; no key or
secret ever enters them. ``CachedGateway`` wraps any gateway and implements all three protocols.

Every call is reported to the cache's ``events`` listener (``contracts.health.GatewayEvents``): a hit, a
miss (a fetch from the provider), a stale copy served, or the provider's failure with its error code; the
services count them for the admin page. A caller that waited for another's fetch is reported as a hit. Inside a
fetch, a gateway reports what its client did meanwhile through ``note_upstream`` (Polygon: each rate limit its
client retried; the one it could not retry away is the fetch's failure).
"""

from __future__ import annotations

import contextvars
import copy
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import cachetools
import pandas as pd

from contracts.data import Fetched
from contracts.errors import DataError, UpstreamRateLimited, UpstreamUnavailable
from contracts.health import GatewayEvents
from gateways import wire

log = logging.getLogger(__name__)

# Seconds a value stays fresh, per kind of call (DESIGN.md section 3).
DEFAULT_TTLS: dict[str, float] = {
    "options_chain": 5 * 60,
    "quote": 5 * 60,
    "expirations": 15 * 60,
    "daily_bars": 15 * 60,
    "series": 15 * 60,
    "series_info": 24 * 3600,
    "search": 24 * 3600,
}
STALE_FOR = 24 * 3600  # how long past its TTL a value is kept to be served when the upstream fails
TRANSIENT = (UpstreamRateLimited, UpstreamUnavailable)  # failures that a stale value may cover; never NotFound or NotEntitled
KEY_PREFIX = "auster:gw:v2"  # v2: entries as JSON and Arrow (v1 held pickles)


@dataclass
class Entry:
    """One cached value, when it was stored and until when it is fresh (wall-clock seconds)."""

    value: Fetched[Any]
    stored_at: float
    fresh_until: float
    keep_until: float


def make_key(provider: str, scope: str, call: str, args: Mapping[str, Any]) -> str:
    """``auster:gw:v1:<provider>:<call>:<hash of scope and arguments>``; secrets never go in ``args``."""
    canonical = json.dumps({"scope": scope, "args": dict(args)}, sort_keys=True, default=str, separators=(",", ":"))
    return f"{KEY_PREFIX}:{provider}:{call}:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


def _copy(value: Any) -> Any:
    """A copy callers may mutate without touching the cached value."""
    if isinstance(value, pd.Series | pd.DataFrame):
        return value.copy(deep=True)
    return copy.deepcopy(value)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------


class Backend(Protocol):
    name: str

    def get(self, key: str) -> Entry | None: ...

    def set(self, key: str, entry: Entry) -> None: ...

    def try_lock(self, key: str, seconds: float) -> str | None: ...

    def locked(self, key: str) -> bool: ...

    def unlock(self, key: str, token: str) -> None: ...

    def clear(self) -> None: ...


class MemoryBackend:
    """Per-process store: a cachetools ``TLRUCache`` (entries expire when their stale window ends)."""

    name = "memory"

    def __init__(self, maxsize: int = 512, clock: Callable[[], float] = time.time):
        self._data: cachetools.TLRUCache[str, Entry] = cachetools.TLRUCache(
            maxsize=maxsize, ttu=lambda _key, entry, _now: entry.keep_until, timer=clock,
        )
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, entry: Entry) -> None:
        with self._lock:
            self._data[key] = entry

    # One process: the in-process flight already coalesces, so the cross-process lock always succeeds.
    def try_lock(self, key: str, seconds: float) -> str | None:
        return "local"

    def locked(self, key: str) -> bool:
        return False

    def unlock(self, key: str, token: str) -> None:
        return None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisBackend:
    """Shared store in Redis: entries as data (``gateways.wire``: JSON and Arrow, never pickles) that
    expire with their stale window, and short locks.

    A Redis failure never fails a request and never stalls one: every call has a short socket timeout,
    and after a failure Redis is left alone for ``retry_after`` seconds (reads miss, writes are
    skipped, locks are granted, each logged once), so the app keeps serving from upstream at its own
    speed while Redis is down or hung.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        client: Any = None,
        socket_timeout: float = 0.25,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        import redis

        self._redis = client or redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)
        self._errors = (redis.RedisError, OSError)
        self._unlock = self._redis.register_script(_UNLOCK)
        self._clock = clock
        self._retry_after = retry_after
        self._down_until = 0.0
        self.url_for_display = url.split("@")[-1]  # no password in anything we print

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: BaseException) -> None:
        if self._available():
            log.warning("Redis cache %s failed (%s); using upstream only for %.0f s", what, type(exc).__name__, self._retry_after)
        self._down_until = time.monotonic() + self._retry_after

    def get(self, key: str) -> Entry | None:
        if not self._available():
            return None
        try:
            blob = self._redis.get(key)
        except self._errors as exc:
            self._failed("read", exc)
            return None
        if blob is None:
            return None
        try:
            value, times = wire.decode(blob)
        except wire.UnreadableEntry:  # written by another version, or not by us: a miss
            log.warning("Redis cache entry %s could not be read; ignoring it", key)
            return None
        return Entry(value, times["stored_at"], times["fresh_until"], times["keep_until"])

    def set(self, key: str, entry: Entry) -> None:
        if not self._available():
            return
        ttl_ms = max(1, int((entry.keep_until - self._clock()) * 1000))
        times = {"stored_at": entry.stored_at, "fresh_until": entry.fresh_until, "keep_until": entry.keep_until}
        try:
            self._redis.set(key, wire.encode(entry.value, times), px=ttl_ms)
        except self._errors as exc:
            self._failed("write", exc)

    def try_lock(self, key: str, seconds: float) -> str | None:
        token = uuid.uuid4().hex
        if not self._available():
            return token
        try:
            return token if self._redis.set(f"{key}:lock", token, nx=True, px=max(1, int(seconds * 1000))) else None
        except self._errors as exc:
            self._failed("lock", exc)
            return token

    def locked(self, key: str) -> bool:
        if not self._available():
            return False
        try:
            return bool(self._redis.exists(f"{key}:lock"))
        except self._errors as exc:
            self._failed("lock check", exc)
            return False

    def unlock(self, key: str, token: str) -> None:
        if not self._available():
            return
        try:
            self._unlock(keys=[f"{key}:lock"], args=[token])
        except self._errors as exc:
            self._failed("unlock", exc)

    def clear(self) -> None:
        """Delete this cache's keys (only ours: other apps may share the database)."""
        for key in self._redis.scan_iter(f"{KEY_PREFIX}:*"):
            self._redis.delete(key)


# ----------------------------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------------------------


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: Fetched[Any] | None = None
    error: BaseException | None = None


# The call being fetched in this thread (its cache, provider and kind), so that a gateway can report what its client
# did inside one fetch (a rate limit retried away) with ``note_upstream``.
_FETCHING: contextvars.ContextVar[tuple[Cache, str, str] | None] = contextvars.ContextVar("auster_gateway_fetching", default=None)


def note_upstream(event: str, code: str = "") -> None:
    """For a gateway: report an ``event`` of the call the cache is fetching now (nothing outside a fetch)."""
    fetching = _FETCHING.get()
    if fetching is not None:
        cache, provider, kind = fetching
        cache._note(provider, kind, event, code)


class _NoEvents:
    def note(self, provider: str, kind: str, event: str, code: str = "") -> None:
        return None


class Cache:
    """TTL per kind, single-flight and stale-on-error over a ``Backend``; safe to share between threads.

    ``events`` hears of every hit, miss, stale copy served and provider failure (default: nobody).
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        ttl: Mapping[str, float] | None = None,
        stale_for: float = STALE_FOR,
        lock_seconds: float = 30.0,
        poll_seconds: float = 0.02,
        clock: Callable[[], float] = time.time,
        events: GatewayEvents | None = None,
    ):
        unknown = set(ttl or {}) - set(DEFAULT_TTLS)
        if unknown:
            raise ValueError(f"Unknown cache kinds {sorted(unknown)}; the kinds are {', '.join(DEFAULT_TTLS)}.")
        self.backend = backend or MemoryBackend(clock=clock)
        self.ttl = {**DEFAULT_TTLS, **(ttl or {})}
        self.stale_for = stale_for
        self.lock_seconds, self.poll_seconds = lock_seconds, poll_seconds
        self._clock = clock
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()
        self.events: GatewayEvents = events or _NoEvents()

    def _note(self, provider: str, kind: str, event: str, code: str = "") -> None:
        try:
            self.events.note(provider, kind, event, code)
        except Exception:  # counting must never fail a request
            log.warning("could not count a %s %s event", provider, event, exc_info=True)

    def get_or_fetch(self, key: str, kind: str, fetch: Callable[[], Fetched[Any]], provider: str = "") -> Fetched[Any]:
        """The cached value for ``key`` if fresh, else one coalesced upstream ``fetch`` (``provider`` names it in events)."""
        entry = self.backend.get(key)
        if entry is not None and entry.fresh_until > self._clock():
            self._note(provider, kind, "hit")
            return self._hit(entry.value)
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        assert flight is not None
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise _fresh_error(flight.error)
            assert flight.result is not None
            self._note(provider, kind, "hit")
            return self._hit(flight.result)
        try:
            flight.result = self._load(key, kind, fetch, entry, provider)
            return _with_copy(flight.result)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._flights_lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _load(self, key: str, kind: str, fetch: Callable[[], Fetched[Any]], stale: Entry | None, provider: str = "") -> Fetched[Any]:
        """Fetch under the cross-process lock, or wait for the process that holds it."""
        deadline = self._clock() + self.lock_seconds
        while True:
            token = self.backend.try_lock(key, self.lock_seconds)
            if token is not None:
                try:
                    entry = self.backend.get(key)  # another process may have filled it meanwhile
                    if entry is not None and entry.fresh_until > self._clock():
                        self._note(provider, kind, "hit")
                        return Fetched(entry.value.value, entry.value.provenance.replace(cache_hit=True))
                    return self._fetch(key, kind, fetch, entry or stale, provider)
                finally:
                    self.backend.unlock(key, token)
            while self.backend.locked(key) and self._clock() < deadline:
                time.sleep(self.poll_seconds)
            entry = self.backend.get(key)
            if entry is not None and entry.fresh_until > self._clock():
                self._note(provider, kind, "hit")
                return Fetched(entry.value.value, entry.value.provenance.replace(cache_hit=True))
            stale = entry or stale
            if self._clock() >= deadline:  # the holder vanished or is stuck: fetch ourselves
                return self._fetch(key, kind, fetch, stale, provider)

    def _fetch(self, key: str, kind: str, fetch: Callable[[], Fetched[Any]], stale: Entry | None, provider: str = "") -> Fetched[Any]:
        self._note(provider, kind, "miss")
        fetching = _FETCHING.set((self, provider, kind))
        try:
            fetched = fetch()
        except DataError as exc:
            self._note(provider, kind, "rate_limited" if isinstance(exc, UpstreamRateLimited) else "error", exc.code)
            if stale is None or not isinstance(exc, TRANSIENT):
                raise
            self._note(provider, kind, "stale", exc.code)
            age = self._clock() - stale.stored_at
            log.warning("Serving a stale value for %s after: %s", key, exc)
            warning = f"{exc} Showing the copy cached {_ago(age)} ago."
            return Fetched(stale.value.value, stale.value.provenance.replace(cache_hit=True, warning=warning))
        finally:
            _FETCHING.reset(fetching)
        now = self._clock()
        ttl = self.ttl.get(kind, 300.0)
        self.backend.set(key, Entry(fetched, now, now + ttl, now + ttl + self.stale_for))
        return fetched

    @staticmethod
    def _hit(fetched: Fetched[Any]) -> Fetched[Any]:
        return Fetched(_copy(fetched.value), fetched.provenance.replace(cache_hit=True))

    def clear(self) -> None:
        self.backend.clear()


def _with_copy(fetched: Fetched[Any]) -> Fetched[Any]:
    return Fetched(_copy(fetched.value), fetched.provenance)


def _fresh_error(error: BaseException) -> BaseException:
    """A new instance of a typed error for each waiting caller (tracebacks are per raise)."""
    if isinstance(error, DataError):
        return type(error)(str(error))
    return error


# ----------------------------------------------------------------------------------------------
# The wrapper
# ----------------------------------------------------------------------------------------------


def _day(value: date | str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value).date().isoformat()
    except (ValueError, TypeError):
        return str(value)  # the gateway itself rejects it with a sentence


class CachedGateway:
    """Any gateway behind a ``Cache``: implements the macro, market and derivatives protocols.

    Calls the wrapped gateway lacks raise ``AttributeError`` as they would unwrapped.
    """

    def __init__(self, inner: Any, cache: Cache):
        self.inner = inner
        self.cache = cache
        self.name: str = inner.name
        self._scope = str(getattr(inner, "cache_scope", inner.name))

    def __repr__(self) -> str:
        return f"CachedGateway({self.inner!r}, backend={self.cache.backend.name})"

    def reference_date(self) -> date | None:
        """The date 'today' means for the wrapped data (the sample's as-of date), or None for live data."""
        inner = getattr(self.inner, "reference_date", None)
        return inner() if callable(inner) else None

    def _get(self, kind: str, args: dict[str, Any], fetch: Callable[[], Fetched[Any]]) -> Fetched[Any]:
        key = make_key(self.name, self._scope, kind, args)
        return self.cache.get_or_fetch(key, kind, fetch, provider=self.name)

    # --- macro ---------------------------------------------------------------------------------
    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        units: str | None = None,
        frequency: str | None = None,
        aggregation: str | None = None,
    ) -> Fetched[pd.Series]:
        args = {"id": series_id.strip().upper(), "start": _day(start), "end": _day(end), "units": units, "frequency": frequency, "aggregation": aggregation}
        return self._get("series", args, lambda: self.inner.series(series_id, start, end, units, frequency, aggregation))

    def series_info(self, series_id: str) -> Fetched[dict[str, Any]]:
        return self._get("series_info", {"id": series_id.strip().upper()}, lambda: self.inner.series_info(series_id))

    def search(self, text: str, limit: int = 20) -> Fetched[pd.DataFrame]:
        return self._get("search", {"text": text.strip().lower(), "limit": limit}, lambda: self.inner.search(text, limit))

    # --- market --------------------------------------------------------------------------------
    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None, basis: str = "price") -> Fetched[pd.DataFrame]:
        args = {"symbol": symbol.strip().upper(), "start": _day(start), "end": _day(end)}
        if basis != "price":  # the key of the default basis stays as it was
            args["basis"] = basis
            return self._get("daily_bars", args, lambda: self.inner.daily_bars(symbol, start, end, basis=basis))
        return self._get("daily_bars", args, lambda: self.inner.daily_bars(symbol, start, end))

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]:
        return self._get("quote", {"symbol": symbol.strip().upper()}, lambda: self.inner.quote(symbol))

    # --- derivatives ---------------------------------------------------------------------------
    def expirations(self, symbol: str) -> Fetched[list[date]]:
        return self._get("expirations", {"symbol": symbol.strip().upper()}, lambda: self.inner.expirations(symbol))

    def options_chain(self, symbol: str, expiration: date | None = None) -> Fetched[pd.DataFrame]:
        args = {"symbol": symbol.strip().upper(), "expiration": _day(expiration)}
        return self._get("options_chain", args, lambda: self.inner.options_chain(symbol, expiration))
