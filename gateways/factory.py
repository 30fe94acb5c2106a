"""Build the ``DataAccess`` the engine runs on, from configuration.

Settings come from ``.streamlit/secrets.toml`` first, then the environment (the order Streamlit's
``st.connection`` uses): ``FRED_API_KEY``; ``MASSIVE_API_KEY`` or ``POLYGON_API_KEY``; ``FRED_BASE_URL``
and ``POLYGON_BASE_URL`` (proxies, enterprise gateways, tests); ``REDIS_URL`` or ``KV_URL`` (a shared
cache); ``AUSTER_DATA_TIMEOUT`` (seconds per request, default 10).

Modes: ``auto`` serves each kind of data live when its key is set and from the bundled sample
otherwise; ``live`` requires the keys; ``sample`` never goes to the network. Every gateway sits behind
the cache. Caches and gateways are built once per configuration and shared by the whole process (they
hold deployment settings only, never a user's state); each call returns a fresh ``DataAccess`` with
its own provenance log.
"""

from __future__ import annotations

import hashlib
import os
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from engine.data import DataAccess
from gateways.base import DataError
from gateways.cache import Cache, CachedGateway, MemoryBackend, RedisBackend

Mode = Literal["auto", "live", "sample"]
MODES = ("auto", "live", "sample")
SETTINGS = (
    "FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "FRED_BASE_URL", "POLYGON_BASE_URL",
    "REDIS_URL", "KV_URL", "AUSTER_DATA_TIMEOUT",
)

_lock = threading.Lock()
_caches: dict[str, Cache] = {}
_gateways: dict[tuple[str, ...], CachedGateway] = {}


class ConfigurationError(DataError):
    """Live data was asked for but a key is missing, or a setting is invalid."""

    code = "E_CONFIG"


def load_settings(env: Mapping[str, str] | None = None, secrets_paths: list[Path] | None = None) -> dict[str, str]:
    """The data settings from secrets.toml (``~/.streamlit`` then ``./.streamlit``) over the environment."""
    source = os.environ if env is None else env
    settings = {name: str(source[name]) for name in SETTINGS if source.get(name)}
    paths = secrets_paths if secrets_paths is not None else [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]
    for path in paths:
        if not path.is_file():
            continue
        try:
            secrets = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path} is not valid TOML ({type(exc).__name__}); fix or remove it.") from None
        settings.update({name: str(secrets[name]) for name in SETTINGS if secrets.get(name)})
    return settings


def _polygon_key(settings: Mapping[str, str]) -> str | None:
    return settings.get("MASSIVE_API_KEY") or settings.get("POLYGON_API_KEY") or None


def _providers(mode: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Which provider serves each kind under ``mode``; raise a sentence if live keys are missing."""
    if mode not in MODES:
        raise ConfigurationError(f"Data mode '{mode}' is not one of {', '.join(MODES)}.")
    fred = bool(settings.get("FRED_API_KEY"))
    polygon = bool(_polygon_key(settings))
    if mode == "live" and not (fred and polygon):
        missing = [name for name, ok in (("FRED_API_KEY", fred), ("MASSIVE_API_KEY or POLYGON_API_KEY", polygon)) if not ok]
        raise ConfigurationError(
            f"Live data needs {' and '.join(missing)}; set them in the environment or in .streamlit/secrets.toml, or use sample data."
        )
    live = mode != "sample"
    market = "polygon" if live and polygon else "sample"
    return {"macro": "fred" if live and fred else "sample", "market": market, "derivatives": market}


def _cache(settings: Mapping[str, str]) -> Cache:
    url = settings.get("REDIS_URL") or settings.get("KV_URL") or ""
    with _lock:
        if url not in _caches:
            _caches[url] = Cache(RedisBackend(url) if url else MemoryBackend())
        return _caches[url]


def _timeout(settings: Mapping[str, str]) -> float:
    raw = settings.get("AUSTER_DATA_TIMEOUT", "10")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 120:
        raise ConfigurationError(f"AUSTER_DATA_TIMEOUT '{raw}' must be a number of seconds between 0 and 120.")
    return value


def _gateway(provider: str, settings: Mapping[str, str], cache: Cache) -> CachedGateway:
    """The process-wide gateway for this provider and configuration (the key enters only as a hash)."""
    key = settings.get("FRED_API_KEY", "") if provider == "fred" else (_polygon_key(settings) or "") if provider == "polygon" else ""
    base = settings.get("FRED_BASE_URL", "") if provider == "fred" else settings.get("POLYGON_BASE_URL", "") if provider == "polygon" else ""
    timeout = _timeout(settings) if provider != "sample" else 0.0
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


def data_access(mode: Mode = "auto", env: Mapping[str, str] | None = None) -> DataAccess:
    """A ``DataAccess`` for ``mode`` over the configured providers, all behind the shared cache.

    ``env`` replaces the environment and secrets (tests, the CLI); by default ``load_settings()``.
    """
    settings = load_settings() if env is None else {k: v for k, v in env.items() if v}
    providers = _providers(mode, settings)
    cache = _cache(settings)
    gateways = {kind: _gateway(provider, settings, cache) for kind, provider in providers.items()}
    return DataAccess(gateways["macro"], gateways["market"], gateways["derivatives"])


def describe_mode(mode: Mode = "auto", env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which provider serves each kind of data, and which cache, without building anything (UI badge).

    Example: ``{"macro": "fred", "market": "sample", "derivatives": "sample", "cache": "memory"}``.
    """
    settings = load_settings() if env is None else {k: v for k, v in env.items() if v}
    providers = _providers(mode, settings)
    return {**providers, "cache": "redis" if settings.get("REDIS_URL") or settings.get("KV_URL") else "memory"}


def reset() -> None:
    """Forget the process-wide caches and gateways (tests, or after the configuration changes)."""
    with _lock:
        _caches.clear()
        _gateways.clear()
