"""Settings from keyword arguments, then the environment, then .streamlit/secrets.toml (read with tomllib).

Nothing is required: with nothing set the app runs on the embedded sqlite store and the sample data.
This module never imports Streamlit.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_DB_PATH = ".auster/auster.db"
SECRETS_PATH = Path(".streamlit") / "secrets.toml"


def read_secrets(path: Path | str | None = None) -> dict[str, Any]:
    """Top-level string values of secrets.toml (a missing or unreadable file gives {})."""
    target = Path(path) if path else SECRETS_PATH
    try:
        with open(target, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {k: v for k, v in data.items() if not isinstance(v, dict)}


@dataclass(frozen=True)
class Settings:
    """What the services need to know about their environment."""

    db_path: str = DEFAULT_DB_PATH
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    supabase_service_role_key: str | None = None
    redis_url: str | None = None
    data_mode: str = "auto"  # "auto" (live when keys are set), "sample"
    seeds_dir: str | None = None

    @property
    def backend(self) -> str:
        return "supabase" if self.supabase_url and self.supabase_anon_key else "sqlite"

    def __repr__(self) -> str:  # never print keys
        return f"Settings(backend={self.backend!r}, db_path={self.db_path!r}, supabase_url={self.supabase_url!r}, data_mode={self.data_mode!r})"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
        """Keyword overrides win, then environment variables, then secrets.toml."""
        env = os.environ if env is None else env
        secrets = read_secrets() if secrets is None else secrets

        def pick(*names: str) -> str | None:
            for name in names:
                value = env.get(name) or secrets.get(name)
                if value:
                    return str(value).strip()
            return None

        values: dict[str, Any] = {
            "db_path": pick("AUSTER_DB_PATH") or DEFAULT_DB_PATH,
            "supabase_url": pick("SUPABASE_URL"),
            "supabase_anon_key": pick("SUPABASE_ANON_KEY"),
            "supabase_service_role_key": pick("SUPABASE_SERVICE_ROLE_KEY"),
            "redis_url": pick("REDIS_URL", "KV_URL"),
            "data_mode": pick("AUSTER_DATA_MODE") or "auto",
            "seeds_dir": pick("AUSTER_SEEDS_DIR"),
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items()})
        return cls(**values)
