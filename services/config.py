"""Configuration, read in one place with one precedence.

Keyword overrides win, then environment variables, then ``.streamlit/secrets.toml`` (the project's
file over the user's ``~/.streamlit/secrets.toml``, as Streamlit reads them), then the defaults here.
Nothing is required: with nothing set the app runs on the embedded sqlite store and the sample data.
Every other layer receives what it needs from ``Settings`` (``DataSettings`` for the gateways,
``Limits`` for the engine and the runner); none reads the environment itself. No Streamlit here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from contracts.errors import ConfigurationError
from contracts.limits import Limits
from contracts.settings import DATA_MODES, DEFAULT_DATA_TIMEOUT_S, DataSettings

DEFAULT_DB_PATH = ".auster/auster.db"
RUNNERS = ("process", "inline")


def secrets_paths() -> list[Path]:
    """Where secrets.toml is read from, lowest precedence first."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def read_secrets(paths: list[Path] | None = None) -> dict[str, Any]:
    """Top-level values of the secrets files (later files win); a missing file gives nothing.

    A file that exists but is not valid TOML is a ``ConfigurationError`` naming it: silently running
    without the keys someone put there would be worse.
    """
    merged: dict[str, Any] = {}
    for path in paths if paths is not None else secrets_paths():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path} is not valid TOML ({type(exc).__name__}); fix or remove it.") from None
        merged.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    return merged


@dataclass(frozen=True)
class Settings:
    """What the services need to know about their environment."""

    db_path: str = DEFAULT_DB_PATH
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    supabase_service_role_key: str | None = None
    redis_url: str | None = None
    data_mode: str = "auto"  # "auto" (live when keys are set), "live", "sample"
    seeds_dir: str | None = None
    fred_api_key: str | None = None
    polygon_api_key: str | None = None
    fred_base_url: str | None = None
    polygon_base_url: str | None = None
    data_timeout_s: float = DEFAULT_DATA_TIMEOUT_S
    max_runtime_ms: int = Limits.max_runtime_ms
    max_memory_mb: int = Limits.max_memory_mb
    max_output_kb: int = Limits.max_output_kb
    code_memory_mb: int = Limits.code_memory_mb
    code_output_kb: int = Limits.code_output_kb
    runner: str = "process"  # "process": a supervised pool of worker processes; "inline": in this process
    runner_workers: int = 2
    guests_per_address_hour: int = 5  # guest identities one client address may start per hour
    guests_per_hour: int = 60  # guest identities the whole deployment may start per hour
    trusted_proxies: int = 0  # reverse proxies in front of the app that append to X-Forwarded-For (0: use the connection's address)
    hash_slots: int = 4  # concurrent argon2 hashes (64 MiB each) on the embedded store
    model_worker_url: str | None = None  # Redis of the run queue (default: redis_url when a secret is set)
    model_worker_secret: str | None = None  # signs queued jobs; every worker needs the same one
    queue_threads: int = 2  # local worker threads when there is no Redis queue
    queue_cap: int = 2  # queued or running jobs per user at once
    queue_name: str = "auster-runs"  # the RQ queue (and the prefix of its claims) in the queue's Redis
    queue_sweep_s: float = 30.0  # how often (jittered) workers, or the app's embedded queue, fail queued runs the queue lost; 0: never
    queue_lost_after_s: float = 10.0  # a queued run the queue does not know counts as lost once recorded this long ago

    @property
    def backend(self) -> str:
        return "supabase" if self.supabase_url and self.supabase_anon_key else "sqlite"

    @property
    def data(self) -> DataSettings:
        return DataSettings(
            fred_api_key=self.fred_api_key,
            polygon_api_key=self.polygon_api_key,
            fred_base_url=self.fred_base_url,
            polygon_base_url=self.polygon_base_url,
            redis_url=self.redis_url,
            timeout_s=self.data_timeout_s,
        )

    @property
    def queue_url(self) -> str | None:
        """The Redis of the run queue: ``MODEL_WORKER_URL``, or ``REDIS_URL`` once a ``MODEL_WORKER_SECRET`` is set; None: local threads."""
        if self.model_worker_url:
            return self.model_worker_url
        return self.redis_url if self.model_worker_secret else None

    @property
    def limits(self) -> Limits:
        return Limits(
            max_runtime_ms=self.max_runtime_ms, max_memory_mb=self.max_memory_mb, max_output_kb=self.max_output_kb,
            code_memory_mb=self.code_memory_mb, code_output_kb=self.code_output_kb,
        )

    def __repr__(self) -> str:  # never print keys
        return (
            f"Settings(backend={self.backend!r}, db_path={self.db_path!r}, supabase_url={self.supabase_url!r}, "
            f"data_mode={self.data_mode!r}, data={self.data!r}, runner={self.runner!r})"
        )

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
        """Keyword overrides win, then environment variables, then secrets.toml, then the defaults."""
        env = os.environ if env is None else env
        secrets = read_secrets() if secrets is None else secrets

        def pick(*names: str) -> str | None:
            for source in (env, secrets):
                for name in names:
                    value = source.get(name)
                    if value not in (None, ""):
                        return str(value).strip()
            return None

        def number(name: str, default: float, low: float, high: float, whole: bool = True) -> Any:
            raw = pick(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not low <= value <= high or (whole and not value.is_integer()):
                kind = "a whole number" if whole else "a number"
                raise ConfigurationError(f"{name} is '{raw}'; it must be {kind} between {low:g} and {high:g}.")
            return int(value) if whole else value

        values: dict[str, Any] = {
            "db_path": pick("AUSTER_DB_PATH") or DEFAULT_DB_PATH,
            "supabase_url": pick("SUPABASE_URL"),
            "supabase_anon_key": pick("SUPABASE_ANON_KEY"),
            "supabase_service_role_key": pick("SUPABASE_SERVICE_ROLE_KEY"),
            "redis_url": pick("REDIS_URL", "KV_URL"),
            "data_mode": pick("AUSTER_DATA_MODE") or "auto",
            "seeds_dir": pick("AUSTER_SEEDS_DIR"),
            "fred_api_key": pick("FRED_API_KEY"),
            "polygon_api_key": pick("MASSIVE_API_KEY", "POLYGON_API_KEY"),
            "fred_base_url": pick("FRED_BASE_URL"),
            "polygon_base_url": pick("POLYGON_BASE_URL"),
            "data_timeout_s": number("AUSTER_DATA_TIMEOUT", DEFAULT_DATA_TIMEOUT_S, 0.001, 120, whole=False),
            "max_runtime_ms": number("MODEL_MAX_RUNTIME_MS", Limits.max_runtime_ms, 100, 3_600_000),
            "max_memory_mb": number("MODEL_MAX_MEMORY_MB", Limits.max_memory_mb, 128, 65_536),
            "max_output_kb": number("MODEL_MAX_OUTPUT_KB", Limits.max_output_kb, 1, 1_000_000),
            # The same two settings cap a code step's sandbox, with issue 14's defaults (512 MB, 1024 KB).
            "code_memory_mb": number("MODEL_MAX_MEMORY_MB", Limits.code_memory_mb, 128, 65_536),
            "code_output_kb": number("MODEL_MAX_OUTPUT_KB", Limits.code_output_kb, 1, 1_000_000),
            "runner": pick("AUSTER_RUNNER") or "process",
            "runner_workers": number("AUSTER_RUNNER_WORKERS", 2, 1, 64),
            "guests_per_address_hour": number("AUSTER_GUESTS_PER_ADDRESS_HOUR", 5, 0, 100_000),
            "guests_per_hour": number("AUSTER_GUESTS_PER_HOUR", 60, 0, 1_000_000),
            "trusted_proxies": number("AUSTER_TRUSTED_PROXIES", 0, 0, 10),
            "hash_slots": number("AUSTER_HASH_SLOTS", 4, 1, 64),
            "model_worker_url": pick("MODEL_WORKER_URL"),
            "model_worker_secret": pick("MODEL_WORKER_SECRET"),
            "queue_threads": number("AUSTER_QUEUE_THREADS", 2, 1, 64),
            "queue_cap": number("AUSTER_QUEUE_CAP", 2, 1, 1000),
            "queue_name": pick("AUSTER_QUEUE_NAME") or "auster-runs",
            "queue_sweep_s": number("AUSTER_QUEUE_SWEEP_S", 30.0, 0, 86_400, whole=False),
            "queue_lost_after_s": number("AUSTER_QUEUE_LOST_AFTER_S", 10.0, 0.5, 86_400, whole=False),
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values.update(overrides)
        if values["data_mode"] not in DATA_MODES:
            raise ConfigurationError(f"AUSTER_DATA_MODE is '{values['data_mode']}'; use one of {', '.join(DATA_MODES)}.")
        if values["model_worker_url"] and not values["model_worker_secret"]:
            raise ConfigurationError("MODEL_WORKER_URL is set but MODEL_WORKER_SECRET is not; give the app and every worker the same secret.")
        if values["runner"] not in RUNNERS:
            raise ConfigurationError(f"AUSTER_RUNNER is '{values['runner']}'; use one of {', '.join(RUNNERS)}.")
        return cls(**values)
