"""``python -m sandbox``: a stable contract for scripts, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    assert "Traceback" not in completed.stdout + completed.stderr
    return completed.returncode, json.loads(completed.stdout) if completed.stdout.strip().startswith("{") else {}, completed.stderr


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text("def run(inputs):\n    return {'n': len(inputs['s']), 'last': float(inputs['s'].iloc[-1])}\n")
    (tmp_path / "model.js").write_text("function run(inputs) { return { index: inputs.s.index, values: inputs.s.values.map((v) => v * 2) }; }\n")
    (tmp_path / "inputs.json").write_text(json.dumps({"s": {"index": ["2024-01-01", "2024-01-02"], "values": [1.5, None]}, "k": 3}))
    (tmp_path / "boom.py").write_text("def run(inputs):\n    raise ValueError('bad input')\n")
    (tmp_path / "sleepy.py").write_text("import time\ndef run(inputs):\n    time.sleep(30)\n")
    (tmp_path / "latin1.py").write_bytes("# café\n".encode("latin-1"))
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    return tmp_path


def test_python_value(python_sandbox, files):
    status, document, stderr = cli("run", "--runtime", "python", str(files / "model.py"), "--inputs", str(files / "inputs.json"))
    assert status == 0 and document == {"value": {"n": 2, "last": None}}
    assert "python run" in stderr and "ok" in stderr


def test_js_value_with_audit(js_sandbox, files):
    status, document, _ = cli("run", "--runtime", "js", str(files / "model.js"), "--inputs", str(files / "inputs.json"), "--json", "--actor", "ci")
    assert status == 0
    assert document["value"] == {"index": ["2024-01-01", "2024-01-02"], "values": [3.0, None], "name": None}
    assert document["audit"]["actor"] == "ci" and document["audit"]["exit_cause"] == "ok" and document["audit"]["runtime"] == "js"


def test_user_exception(python_sandbox, files):
    status, document, _ = cli("run", "--runtime", "python", str(files / "boom.py"), "--json")
    assert status == 1 and document["error"]["code"] == "E_SANDBOX_CODE"
    assert document["error"]["message"] == "The code raised ValueError on line 2: bad input."
    assert document["audit"]["error_code"] == "E_SANDBOX_CODE"


def test_limits_from_the_environment(python_sandbox, files):
    status, document, _ = cli("run", "--runtime", "python", str(files / "sleepy.py"), env={"MODEL_MAX_RUNTIME_MS": "1000"})
    assert status == 1 and document["error"]["code"] == "E_SANDBOX_TIMEOUT" and "1000 ms" in document["error"]["message"]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["run", "--runtime", "python", "/no/such/model.py"], "E_SANDBOX_INPUT", "cannot be read"),
        (["run", "--runtime", "python", "{files}/latin1.py"], "E_SANDBOX_INPUT", "not UTF-8"),
        (["run", "--runtime", "python", "{files}/model.py", "--inputs", "{files}/bad.json"], "E_SANDBOX_INPUT", "not valid JSON"),
        (["run", "--runtime", "python", "{files}/model.py", "--inputs", "{files}/list.json"], "E_SANDBOX_INPUT", "JSON object"),
        (["run", "--runtime", "python", "{files}/model.py", "--inputs", "/no/such.json"], "E_SANDBOX_INPUT", "cannot be read"),
        (["run", "--runtime", "ruby", "{files}/model.py"], "E_SANDBOX_USAGE", "invalid choice"),
        (["run", "{files}/model.py"], "E_SANDBOX_USAGE", "required"),
    ],
)
def test_bad_invocations_are_one_error(files, args, code, fragment):
    status, document, _ = cli(*[a.replace("{files}", str(files)) for a in args])
    assert status == 1 and document["error"]["code"] == code and fragment in document["error"]["message"]


def test_check_deps():
    assert cli("check-deps", "numpy", "pandas")[0] == 0
    completed = subprocess.run([sys.executable, "-m", "sandbox", "check-deps", "numpy", "requests"], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 1 and "'requests' is not on the sandbox allowlist" in completed.stdout
