"""``python -m services`` end to end on a temporary sqlite file, and settings resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from services.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPABASE_")} | {"AUSTER_DB_PATH": str(db), "AUSTER_DATA_MODE": "sample"}
    return subprocess.run([sys.executable, "-m", "services", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_operator_journey(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    assert "public models" in cli(db, "init").stdout
    assert "tier paid" in cli(db, "users", "add", "ops@example.com", "--tier", "paid", "--password", "password123").stdout
    listed = json.loads(cli(db, "models", "list", "--json").stdout)
    assert any(m["slug"] == "yield-curve-10y-2y" for m in listed)
    run = json.loads(cli(db, "run", "yield-curve-10y-2y", "--as", "ops@example.com", "--input", "start=2022-01-01", "--json").stdout)
    assert run["run_id"] and not run["cached"] and run["result"]["outputs"]["series"]
    slug = cli(db, "publish", run["run_id"], "--title", "Curve since 2022", "--visibility", "unlisted").stdout.strip()
    shown = json.loads(cli(db, "artifact", slug, "--json").stdout)
    assert shown["title"] == "Curve since 2022" and shown["payload"]["inputs"]["start"] == "2022-01-01"


def test_a_refusal_exits_1_with_its_sentence(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    cli(db, "users", "add", "x@example.com", "--password", "password123")
    bad = cli(db, "run", "yield-curve-10y-2y", "--as", "x@example.com", "--input", "start=soon")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_settings_come_from_overrides_then_environment_then_secrets() -> None:
    secrets = {"SUPABASE_URL": "https://x.supabase.co", "SUPABASE_ANON_KEY": "anon", "AUSTER_DB_PATH": "from-secrets.db"}
    settings = Settings.load(env={"AUSTER_DB_PATH": "from-env.db", "KV_URL": "redis://127.0.0.1:6379/0"}, secrets=secrets)
    assert settings.db_path == "from-env.db" and settings.backend == "supabase" and settings.redis_url.startswith("redis://")
    assert "anon" not in repr(settings)
    assert Settings.load(env={}, secrets={}).backend == "sqlite"
    assert Settings.load(env={}, secrets={}, db_path="x.db").db_path == "x.db"


def test_data_keys_follow_the_same_precedence_as_every_setting(tmp_path: Path) -> None:
    """Regression (issue 8): the gateways once read secrets over the environment while the services read the
    environment over secrets. Now there is one reader: environment over secrets.toml over defaults."""
    project = tmp_path / "project.toml"
    project.write_text('FRED_API_KEY = "from-secrets"\nMASSIVE_API_KEY = "poly-secret"\n')
    from services.config import read_secrets

    secrets = read_secrets([tmp_path / "missing.toml", project])
    settings = Settings.load(env={"FRED_API_KEY": "from-env"}, secrets=secrets)
    assert settings.data.fred_api_key == "from-env" and settings.data.polygon_api_key == "poly-secret"
    assert "from-env" not in repr(settings) and "poly-secret" not in repr(settings)
    assert Settings.load(env={"POLYGON_API_KEY": "p"}, secrets={}).data.polygon_api_key == "p"


def test_the_project_secrets_file_overrides_the_users() -> None:
    from services.config import read_secrets, secrets_paths

    assert secrets_paths()[-1] == Path.cwd() / ".streamlit" / "secrets.toml"
    assert read_secrets([]) == {}


def test_a_broken_secrets_file_or_setting_is_a_sentence(tmp_path: Path) -> None:
    import pytest

    from contracts.errors import ConfigurationError
    from services.config import read_secrets

    broken = tmp_path / "secrets.toml"
    broken.write_text("FRED_API_KEY = ")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        read_secrets([broken])
    with pytest.raises(ConfigurationError, match="MODEL_MAX_RUNTIME_MS is 'fast'; it must be a whole number"):
        Settings.load(env={"MODEL_MAX_RUNTIME_MS": "fast"}, secrets={})
    with pytest.raises(ConfigurationError, match="AUSTER_DATA_MODE is 'online'"):
        Settings.load(env={"AUSTER_DATA_MODE": "online"}, secrets={})
    limits = Settings.load(env={"MODEL_MAX_RUNTIME_MS": "5000", "MODEL_MAX_OUTPUT_KB": "64"}, secrets={}).limits
    assert (limits.max_runtime_ms, limits.max_output_kb) == (5000, 64)
