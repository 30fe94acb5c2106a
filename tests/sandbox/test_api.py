"""The host-side contract: limits, the allowlist, errors and audit records (most need no sandbox)."""

from __future__ import annotations

import json

import pytest

from sandbox import (
    JsonLinesAuditLog,
    SandboxCodeError,
    SandboxConfigError,
    SandboxError,
    SandboxInputError,
    SandboxLimits,
    SandboxUnavailable,
    allowlist,
    check_dependencies,
    environment,
    run_code,
    seccomp,
)
from sandbox.errors import ERRORS_BY_CODE
from tests.conftest import missing_service


def test_limits_default_to_the_issue_values():
    limits = SandboxLimits.from_env({})
    assert (limits.max_runtime_ms, limits.max_memory_mb, limits.max_output_kb) == (30_000, 512, 1024)
    assert limits.cpu_seconds == 30


def test_limits_come_from_the_environment():
    limits = SandboxLimits.from_env({"MODEL_MAX_RUNTIME_MS": "1500", "MODEL_MAX_MEMORY_MB": "256", "MODEL_MAX_OUTPUT_KB": "8"})
    assert (limits.max_runtime_ms, limits.max_memory_mb, limits.max_output_kb, limits.cpu_seconds) == (1500, 256, 8, 2)


@pytest.mark.parametrize("env", [{"MODEL_MAX_MEMORY_MB": "lots"}, {"MODEL_MAX_RUNTIME_MS": "-5"}, {"MODEL_MAX_MEMORY_MB": "16"}])
def test_bad_limits_are_a_sentence(env):
    with pytest.raises(SandboxConfigError) as caught:
        SandboxLimits.from_env(env)
    assert str(caught.value).endswith(".") and caught.value.code == "E_SANDBOX_CONFIG"


def test_allowlist_is_one_file_with_the_four_approved_packages():
    assert set(allowlist.approved()) == {"numpy", "pandas", "scipy", "statsmodels"}
    assert allowlist.REQUIREMENTS_FILE.name == "requirements-sandbox.txt"
    assert {"numpy", "pandas", "scipy", "statsmodels", "math"} <= allowlist.importable_modules()
    assert not {"os", "sys", "ctypes", "socket", "subprocess", "dateutil", "patsy"} & allowlist.importable_modules()


def test_check_dependencies():
    assert check_dependencies(["numpy", "Pandas", "scipy==1.17.1", "statsmodels"]) == []
    problems = check_dependencies(["requests", "pandas>=3", "python-dateutil", "numpy; os.system('x')"])
    assert len(problems) == 4
    assert "'requests' is not on the sandbox allowlist" in problems[0]
    assert all(problem.endswith(".") for problem in problems)


def test_every_error_has_a_stable_code():
    assert set(ERRORS_BY_CODE) >= {"E_SANDBOX_TIMEOUT", "E_SANDBOX_MEMORY", "E_SANDBOX_IMPORT", "E_SANDBOX_OUTPUT", "E_SANDBOX_CODE", "E_SANDBOX_UNAVAILABLE"}
    assert all(issubclass(cls, SandboxError) for cls in ERRORS_BY_CODE.values())


def test_seccomp_policy_compiles():
    try:
        base, late = seccomp.compile_filter(), seccomp.compile_filter(late=True)
    except seccomp.SeccompUnavailable as exc:
        missing_service(f"libseccomp is not available: {exc}")
    assert len(base) % 8 == 0 and len(late) > len(base)


def test_missing_environment_is_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("AUSTER_SANDBOX_ENV", str(tmp_path / "nowhere"))
    with pytest.raises(SandboxUnavailable) as caught:
        run_code("python", "def run(inputs):\n    return 1.0")
    assert "python -m sandbox build-env" in str(caught.value) and caught.value.audit.exit_cause == "unavailable"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"runtime": "ruby", "code": "x"}, SandboxConfigError),
        ({"runtime": "python", "code": b"x"}, SandboxInputError),
        ({"runtime": "python", "code": "x", "entrypoint": "run; import os"}, SandboxInputError),
        ({"runtime": "python", "code": "x", "inputs": {"s": [1, 2]}}, SandboxInputError),
    ],
)
def test_bad_requests_fail_before_any_sandbox(kwargs, error):
    with pytest.raises(error):
        run_code(**kwargs)


def test_audit_records_every_run(py, tmp_path):
    log = JsonLinesAuditLog(tmp_path / "audit" / "runs.jsonl")
    code = "def run(inputs):\n    return inputs['x'] + 1"
    result = py(code, inputs={"x": 1.0}, actor="user-42", audit_log=log)
    with pytest.raises(SandboxCodeError) as caught:
        py("def run(inputs):\n    return 1 / 0", actor="user-42", audit_log=log)
    records = log.read()
    assert [r["exit_cause"] for r in records] == ["ok", "code_error"]
    first = records[0]
    assert first == json.loads(json.dumps(result.audit.to_dict()))
    assert first["actor"] == "user-42" and first["runtime"] == "python" and len(first["code_sha256"]) == 64
    assert first["limits"]["max_memory_mb"] == 256 and first["peak_memory_mb"] > 10 and first["runtime_ms"] > 0
    assert records[1]["error_code"] == "E_SANDBOX_CODE" and caught.value.audit.run_id == records[1]["run_id"]
    assert "ZeroDivisionError" in str(caught.value) and "line 2" in str(caught.value)


def test_syntax_errors_and_missing_entry_points_are_sentences(py):
    with pytest.raises(SandboxCodeError, match="syntax error on line 1"):
        py("def run(inputs) return 1")
    with pytest.raises(SandboxCodeError, match="no function named 'run'"):
        py("def main(inputs):\n    return 1.0")


def test_warm_spares_serve_later_runs(py):
    py("def run(inputs):\n    return 1.0")
    environment.load()  # the environment is current
    result = py("def run(inputs):\n    return 2.0")
    assert result.audit.start in {"warm", "cold"} and result.value == 2.0
