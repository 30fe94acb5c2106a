"""Fixtures for the sandbox tests: a ready sandbox (or a skip that CI turns into a failure), small
limits for the bombs, and a check that the host is fine after every attempt."""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import SandboxError, SandboxLimits, SandboxResult, environment, run_code, unavailable_reason
from sandbox.bwrap import SANDBOX_UID
from sandbox.runner import _backends
from tests.conftest import missing_service

# Small limits keep the bombs quick: 256 MB, 64 KB of output, 16 processes. The clock is generous (10 s)
# so that a busy machine never turns a memory or output bomb into a timeout; the timeout tests use 1.5 s.
BOMB_LIMITS = SandboxLimits(max_runtime_ms=10_000, max_memory_mb=256, max_output_kb=64, max_processes=16, tmpfs_mb=8)
TIMEOUT_LIMITS = SandboxLimits(max_runtime_ms=1500, max_memory_mb=256, max_output_kb=64, max_processes=16, tmpfs_mb=8)

# Importing past the import guard, as an attacker would: the guard is a convenience, not the boundary.
UNGUARDED = textwrap.dedent(
    """
    def unguarded(name):
        importer = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "BuiltinImporter")
        sys = importer.load_module("sys")
        return sys.modules["builtins"].__import__(name, fromlist=["_"])
    """
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a working sandbox, so ``-m "not sandbox"`` can leave them out."""
    for item in items:
        if {"python_sandbox", "js_sandbox"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sandbox)


def _ensure_env() -> None:
    if shutil.which("bwrap") is None:
        missing_service("bubblewrap is not installed (apt-get install bubblewrap), so the sandbox cannot run")
    if not environment.is_current():
        try:  # first use: build it (CI's .ci/run has built it already)
            environment.build()
        except (SandboxError, OSError) as exc:
            missing_service(f"the sandbox environment cannot be built at {environment.env_dir()}: {exc}")


@pytest.fixture(scope="session")
def python_sandbox() -> None:
    """The Python sandbox works here (bwrap, libseccomp, the environment), or skip/fail with the reason."""
    _ensure_env()
    reason = unavailable_reason("python")
    if reason:
        missing_service(f"the Python sandbox cannot run here: {reason}")


@pytest.fixture(scope="session")
def js_sandbox(python_sandbox: None) -> None:
    """The JavaScript sandbox (Node.js under the same bwrap) works here, or skip/fail with the reason."""
    reason = unavailable_reason("js")
    if reason:
        missing_service(f"the JavaScript sandbox cannot run here: {reason}")


def _uid_processes(uid: int) -> dict[int, int]:
    """pid -> ppid of every live process owned by ``uid`` (zombies are dead: the machine's init reaps them)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if int(fields.get("Uid", "-1\t").split()[0]) == uid and not fields.get("State", "").startswith("Z"):
            found[int(entry)] = int(fields.get("PPid", "0"))
    return found


def _spare_pids() -> set[int]:
    return {spare.proc.pid for backend in _backends.values() for spare in backend.pool._spares}


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _ours(pid: int) -> bool:
    """Whether ``pid`` descends from this test process or was orphaned (re-parented to init, as an escaped
    process would be); sandbox processes of another test run on the same machine are neither."""
    me, node, seen = os.getpid(), pid, set()
    while node > 1 and node not in seen:
        if node == me:
            return True
        seen.add(node)
        node = _parent(node)
    return node == 1 and _parent(pid) == 1


def stray_processes(baseline: set[int]) -> set[int]:
    """Sandbox-uid processes that belong to no waiting spare (what a run could have left behind)."""
    processes = {pid: ppid for pid, ppid in _uid_processes(SANDBOX_UID).items() if _ours(pid)}
    spares = _spare_pids()
    strays = set()
    for pid in processes:
        node, seen = pid, set()
        while node in processes and node not in spares and node not in seen:
            seen.add(node)
            node = processes[node]
        if node not in spares and pid not in baseline:
            strays.add(pid)
    return strays


@pytest.fixture(scope="session")
def process_baseline() -> set[int]:
    return set(_uid_processes(SANDBOX_UID))


@pytest.fixture
def host_is_fine(process_baseline: set[int]) -> Iterator[None]:
    """After the attempt: this process is unchanged and no sandbox process outlived its run."""
    pid, env_before = os.getpid(), {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    yield
    deadline = time.monotonic() + 3
    while (strays := stray_processes(process_baseline)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not strays, f"sandbox processes outlived their run: {sorted(strays)}"
    assert os.getpid() == pid
    assert {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"} == env_before


Runner = Callable[..., SandboxResult]


def _runner(runtime: str) -> Runner:
    def run(code: str, inputs: dict[str, Any] | None = None, limits: SandboxLimits | None = BOMB_LIMITS, **kwargs: Any) -> SandboxResult:
        source = textwrap.dedent(code)
        if runtime == "python" and "unguarded(" in source:
            source = UNGUARDED + source
        return run_code(runtime, source, inputs=inputs or {}, limits=limits, **kwargs)  # type: ignore[arg-type]

    return run


@pytest.fixture
def py(host_is_fine: None, python_sandbox: None) -> Runner:
    """Run Python in the sandbox with the bomb limits (``limits=None`` for the defaults)."""
    return _runner("python")


@pytest.fixture
def js(host_is_fine: None, js_sandbox: None) -> Runner:
    """Run JavaScript in the sandbox with the bomb limits."""
    return _runner("js")


def raises(error: type[SandboxError], run: Callable[[], Any], *fragments: str) -> SandboxError:
    """Assert that ``run`` raises ``error`` whose message or detail mentions every fragment; return it."""
    with pytest.raises(error) as caught:
        run()
    text = f"{caught.value} {caught.value.detail or ''}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert caught.value.audit is not None and caught.value.audit.error_code == caught.value.code
    return caught.value
