"""Single-flight for model runs: identical concurrent runs (same version, same canonical inputs) make one
execution, in this process and across processes.

In this process, the first caller of a key leads and the others wait for its outcome. Across processes,
the leader also holds a lock named after the key: a file lock next to the database for processes on
one machine (the embedded default), or a Redis lock when ``REDIS_URL`` is set (several app instances).
A caller that finds the lock held waits for it to be released and then looks for the leader's result
(the execution cache) before running anything itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
POLL_S = 0.02


class CrossProcessLocks(Protocol):
    def try_acquire(self, key: str, ttl_s: float) -> Any | None:
        """A handle when this process now holds ``key``; ``None`` when another process does."""
        ...

    def release(self, handle: Any) -> None: ...

    def wait_released(self, key: str, timeout_s: float) -> bool:
        """Wait until nobody holds ``key`` (True) or ``timeout_s`` passes (False)."""
        ...


class FileLocks:
    """``flock`` on one file per key in ``directory``; the holder unlinks the file when it releases.

    A waiter that obtains the lock on an unlinked file (its inode no longer at the path) knows the
    holder finished; the inode check makes the unlink safe.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.lock"

    def try_acquire(self, key: str, ttl_s: float) -> Any | None:
        path = self._path(key)
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return (fd, path)
            os.close(fd)  # we locked a file its holder already unlinked: try the new one

    def release(self, handle: Any) -> None:
        fd, path = handle
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)

    def wait_released(self, key: str, timeout_s: float) -> bool:
        path = self._path(key)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                return True
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
            time.sleep(POLL_S)
        return False


class RedisLocks:
    """``SET key token NX PX ttl`` locks on Redis, for app instances on several machines.

    Every call is bounded by a short socket timeout; when Redis does not answer, the caller runs
    without cross-process coalescing rather than waiting for it.
    """

    RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def __init__(self, url: str, prefix: str = "auster:run-lock:"):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix

    def try_acquire(self, key: str, ttl_s: float) -> Any | None:
        token = uuid.uuid4().hex
        try:
            ok = self._redis.set(self._prefix + key, token, nx=True, px=max(1, int(ttl_s * 1000)))
        except Exception as exc:
            log.warning("run lock: Redis did not answer (%s); running without cross-process coalescing", type(exc).__name__)
            return (key, None)
        return (key, token) if ok else None

    def release(self, handle: Any) -> None:
        key, token = handle
        if token is None:
            return
        try:
            self._redis.eval(self.RELEASE, 1, self._prefix + key, token)
        except Exception as exc:
            log.warning("run lock: could not release on Redis (%s); it expires by itself", type(exc).__name__)

    def wait_released(self, key: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if not self._redis.exists(self._prefix + key):
                    return True
            except Exception:
                return True
            time.sleep(POLL_S)
        return False


@dataclass
class _Flight(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class Coalescer:
    """``once(key, lead, lookup, ...)`` runs ``lead`` once for concurrent callers of ``key``."""

    def __init__(self, locks: CrossProcessLocks | None = None):
        self._locks = locks
        self._flights: dict[str, _Flight[Any]] = {}
        self._mutex = threading.Lock()
        self.executions = 0  # how many times ``lead`` actually ran (tests and benchmarks read it)

    def once(
        self,
        key: str,
        lead: Callable[[], T],
        lookup: Callable[[], T | None],
        wait_s: float,
        shareable: Callable[[BaseException], bool] = lambda exc: True,
    ) -> tuple[T, str]:
        """``(value, origin)``: ``"led"`` when this caller's ``lead`` produced it, ``"shared"`` when another
        caller in this process did, ``"found"`` when ``lookup`` found another process's result.

        A leader's failure reaches the callers that waited for it only when ``shareable(error)``
        (a model that fails fails for everyone; one user's quota refusal does not): the others then
        run on their own.
        """
        while True:
            with self._mutex:
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = self._flights[key] = _Flight()
            assert flight is not None
            if leader:
                return self._lead(key, flight, lead, lookup, wait_s)
            if not flight.done.wait(wait_s):
                return self._lead_alone(lead), "led"
            if flight.error is None:
                return flight.value[0], "shared"
            if shareable(flight.error):
                raise flight.error
            # the leader was refused for its own reasons: try again (this caller may lead now)

    def _lead(self, key: str, flight: _Flight[T], lead: Callable[[], T], lookup: Callable[[], T | None], wait_s: float) -> tuple[T, str]:
        try:
            flight.value = self._across_processes(key, lead, lookup, wait_s)
            return flight.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._mutex:
                self._flights.pop(key, None)
            flight.done.set()

    def _across_processes(self, key: str, lead: Callable[[], T], lookup: Callable[[], T | None], wait_s: float) -> tuple[T, str]:
        if self._locks is None:
            return self._lead_alone(lead), "led"
        handle = self._locks.try_acquire(key, ttl_s=wait_s)
        if handle is not None:
            try:
                return self._lead_alone(lead), "led"
            finally:
                self._locks.release(handle)
        if self._locks.wait_released(key, wait_s):
            found = lookup()
            if found is not None:
                return found, "found"
        return self._lead_alone(lead), "led"

    def _lead_alone(self, lead: Callable[[], T]) -> T:
        with self._mutex:
            self.executions += 1
        return lead()
