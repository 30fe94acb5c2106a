"""A real Streamlit server on a free port over a fresh sqlite file, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "e2e"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL = ("http://127.0.0.1", "data:", "blob:", "about:")


class OffsiteRequests:
    """Every request a browser context sent anywhere but the app (127.0.0.1). A request the page's
    Content-Security-Policy refused never left the browser and does not count."""

    def __init__(self, context: object) -> None:
        self.asked: list[str] = []
        self.refused: set[str] = set()
        context.on("request", lambda r: None if r.url.startswith(LOCAL) else self.asked.append(r.url))
        context.on("requestfailed", lambda r: self.refused.add(r.url) if "csp" in str(r.failure).lower() else None)

    def sent(self) -> list[str]:
        return [url for url in self.asked if url not in self.refused]


LIVE_KEYS = ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "REDIS_URL", "KV_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(db_path: Path) -> dict[str, str]:
    """The server's environment: a fresh sqlite file, sample data, no live keys."""
    env = {k: v for k, v in os.environ.items() if k not in LIVE_KEYS}
    env.update(AUSTER_DB_PATH=str(db_path), AUSTER_DATA_MODE="sample", PYTHONUNBUFFERED="1")
    return env


def wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {base} within {timeout:.0f} s")


def start_app(db_path: Path, log_path: Path, port: int | None = None, root: Path = ROOT) -> tuple[str, subprocess.Popen]:
    """``streamlit run serve.py`` (app.py with the session-cookie route) on 127.0.0.1 and ``port`` (a free one by default)
    from the checkout at ``root`` (this one by default); returns its base URL and process."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", str(root / "serve.py"),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--server.runOnSave", "false",
    ]
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=root, env=app_env(db_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, process)
    except Exception:
        process.terminate()
        process.wait(10)
        raise
    return base, process


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
