"""Build the process-wide, cached gateways for a data mode from ``DataSettings``.

Modes: ``auto`` serves each kind of data live when its key is set and from the bundled sample
otherwise; ``live`` requires the keys; ``sample`` never goes to the network. Every gateway sits behind
the cache. Caches and gateways are built once per configuration and shared by the whole process (they
hold deployment settings only, never a user's state); the services wrap them in a fresh
``engine.data.DataAccess`` per run, and hand in the process's ``GatewayEvents`` listener (the
providers' health counts), which every cache of the process then reports to.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from contracts.errors import ConfigurationError
from contracts.health import GatewayEvents
from contracts.settings import DATA_MODES, DataSettings
from gateways.cache import Cache, CachedGateway, MemoryBackend, RedisBackend

KINDS = ("macro", "market", "derivatives")

_lock = threading.Lock()
_caches: dict[str, Cache] = {}
_gateways: dict[tuple[str, ...], CachedGateway] = {}


def providers(mode: str, settings: DataSettings) -> dict[str, str]:
    """Which provider serves each kind under ``mode``; raise a sentence if live keys are missing."""
    if mode not in DATA_MODES:
        raise ConfigurationError(f"Data mode '{mode}' is not one of {', '.join(DATA_MODES)}.")
    fred, polygon = bool(settings.fred_api_key), bool(settings.polygon_api_key)
    if mode == "live" and not (fred and polygon):
        missing = [name for name, ok in (("FRED_API_KEY", fred), ("MASSIVE_API_KEY or POLYGON_API_KEY", polygon)) if not ok]
        raise ConfigurationError(
            f"Live data needs {' and '.join(missing)}; set them in the environment or in .streamlit/secrets.toml, or use sample data."
        )
    live = mode != "sample"
    market = "polygon" if live and polygon else "sample"
    return {"macro": "fred" if live and fred else "sample", "market": market, "derivatives": market}


def describe(mode: str, settings: DataSettings) -> dict[str, str]:
    """Which provider serves each kind of data, and which cache, without building anything (UI badge).

    Example: ``{"macro": "fred", "market": "sample", "derivatives": "sample", "cache": "memory"}``.
    """
    return {**providers(mode, settings), "cache": "redis" if settings.redis_url else "memory"}


def gateways(mode: str, settings: DataSettings, events: GatewayEvents | None = None) -> dict[str, CachedGateway]:
    """The cached gateway serving each kind of data (``macro``, ``market``, ``derivatives``); its cache reports to ``events``."""
    chosen = providers(mode, settings)
    if not 0 < settings.timeout_s <= 120:
        raise ConfigurationError(f"AUSTER_DATA_TIMEOUT '{settings.timeout_s:g}' must be a number of seconds between 0 and 120.")
    cache = _cache(settings.redis_url or "", events)
    return {kind: _gateway(provider, settings, cache) for kind, provider in chosen.items()}


def _cache(url: str, events: GatewayEvents | None = None) -> Cache:
    with _lock:
        if url not in _caches:
            _caches[url] = Cache(RedisBackend(url) if url else MemoryBackend())
        if events is not None:
            _caches[url].events = events
        return _caches[url]


def _gateway(provider: str, settings: DataSettings, cache: Cache) -> CachedGateway:
    """The process-wide gateway for this provider and configuration (the key enters only as a hash)."""
    key = {"fred": settings.fred_api_key, "polygon": settings.polygon_api_key}.get(provider) or ""
    base = {"fred": settings.fred_base_url, "polygon": settings.polygon_base_url}.get(provider) or ""
    timeout = settings.timeout_s if provider != "sample" else 0.0
    ident = (provider, hashlib.sha256(key.encode()).hexdigest()[:16], base, str(timeout), str(id(cache)))
    with _lock:
        if ident not in _gateways:
            _gateways[ident] = CachedGateway(_build(provider, key, base or None, timeout), cache)
        return _gateways[ident]


def _build(provider: str, key: str, base: str | None, timeout: float) -> Any:
    if provider == "fred":
        from gateways.fred import FredGateway

        return FredGateway(key, base, timeout=timeout)
    if provider == "polygon":
        from gateways.polygon import PolygonGateway

        return PolygonGateway(key, base, timeout=timeout)
    from gateways.sample import SampleGateway

    return SampleGateway()


def reset() -> None:
    """Forget the process-wide caches and gateways (tests, or after the configuration changes)."""
    with _lock:
        _caches.clear()
        _gateways.clear()
