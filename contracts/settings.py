"""Settings shapes handed down from the services' configuration (``services.config``) to the layers below.

The services read configuration once, with one precedence (keyword overrides, then the environment,
then ``.streamlit/secrets.toml``, then these defaults); gateways receive a ``DataSettings`` and never
read the environment themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_MODES = ("auto", "live", "sample")
DEFAULT_DATA_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DataSettings:
    """What the data gateways need: keys, alternative base URLs, the shared cache and a timeout."""

    fred_api_key: str | None = None
    polygon_api_key: str | None = None  # MASSIVE_API_KEY or POLYGON_API_KEY
    fred_base_url: str | None = None
    polygon_base_url: str | None = None
    redis_url: str | None = None  # REDIS_URL or KV_URL
    timeout_s: float = DEFAULT_DATA_TIMEOUT_S

    def __repr__(self) -> str:  # never print keys
        keys = ", ".join(name for name, value in (("fred", self.fred_api_key), ("polygon", self.polygon_api_key)) if value) or "none"
        return f"DataSettings(keys: {keys}, cache={'redis' if self.redis_url else 'memory'}, timeout_s={self.timeout_s:g})"
