"""Escape suite, JavaScript. The product path (``js``) runs user code in a fresh vm context with no
``require``, no ``process``, no string evaluation; ``main_realm`` runs the same attacks in Node's main
realm with ``require`` at hand, as if the context had been escaped, to show the layers under it hold:
Node's permission model (no file access, no child processes, no workers), the seccomp filter (no IP
sockets) and the namespaces (empty environment, own PID namespace)."""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox import SandboxCodeError, SandboxError, SandboxLimits, SandboxMemoryError, SandboxOutputError, SandboxTimeout
from sandbox.runner import _backend, _interpret
from tests.sandbox.conftest import BOMB_LIMITS, TIMEOUT_LIMITS, raises

MAIN_REALM_RUNNER = (Path(__file__).parent / "main_realm_runner.js").read_bytes()


@pytest.fixture
def main_realm(host_is_fine: None, js_sandbox: None) -> Callable[..., object]:
    """Run JS in Node's main realm inside the real JS sandbox (bwrap, seccomp, permission model, rlimits)."""

    def run(code: str, limits: SandboxLimits = BOMB_LIMITS) -> object:
        guest = _backend().js_guest(limits, runner_source=MAIN_REALM_RUNNER)
        try:
            assert guest.wait_ready(30), "the main-realm guest did not start"
            job = json.dumps({"code": textwrap.dedent(code), "entrypoint": "run", "inputs": {}}).encode()
            outcome = guest.run(job, limits.max_runtime_ms, limits.max_output_kb * 1024)
        finally:
            guest.close()
        result = _interpret(outcome, "run", limits)
        if isinstance(result, SandboxError):
            raise result
        return result[0]

    return run


def _raises(error: type[SandboxError], run: Callable[[], object], *fragments: str) -> SandboxError:
    with pytest.raises(error) as caught:
        run()
    text = f"{caught.value} {caught.value.detail or ''}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return caught.value


# ------------------------------------------------------------------------------------ product path (vm context)


def test_js_require_fs(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { return require('fs').readFileSync('/etc/shadow', 'utf8'); }"), "ReferenceError", "require is not defined")


def test_js_process_env(js, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    raises(SandboxCodeError, lambda: js("function run(inputs) { return { key: process.env.FRED_API_KEY }; }"), "process is not defined")


def test_js_child_process(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { return require('child_process').execSync('id').toString(); }"), "require is not defined")


def test_js_fetch(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { fetch('http://203.0.113.7/'); return 1; }"), "fetch is not defined")


def test_js_function_constructor_escape(js):
    code = "function run(inputs) { const process = this.constructor.constructor('return process')(); return process.pid; }"
    raises(SandboxCodeError, lambda: js(code), "EvalError")


def test_js_eval(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { return eval('1 + 1'); }"), "EvalError")


def test_js_escape_through_the_console(js):
    code = "function run(inputs) { const F = console.log.constructor; return F('return process')().pid; }"
    raises(SandboxCodeError, lambda: js(code), "EvalError")


def test_js_dynamic_import(js):
    raises(SandboxOutputError, lambda: js("function run(inputs) { return import('fs'); }"), "Promise")


def test_js_webassembly(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { return WebAssembly.Memory ? 1 : 0; }"), "WebAssembly is not defined")


def test_js_endless_loop(js):
    error = raises(SandboxTimeout, lambda: js("function run(inputs) { while (true) {} }", limits=TIMEOUT_LIMITS), "1500 ms")
    assert error.audit.runtime_ms < 4000


def test_js_endless_loop_at_load(js):
    raises(SandboxTimeout, lambda: js("for (;;) {}\nfunction run(inputs) { return 1; }", limits=TIMEOUT_LIMITS), "1500 ms")


def test_js_huge_allocation(js):
    raises(SandboxMemoryError, lambda: js("function run(inputs) { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }"), "256 MB")


def test_js_huge_typed_array(js):
    raises(SandboxMemoryError, lambda: js("function run(inputs) { return new Float64Array(2 ** 31).length; }"), "256 MB")


def test_js_huge_string(js):
    raises(SandboxMemoryError, lambda: js("function run(inputs) { let s = 'x'; for (;;) s += s; }"), "256 MB")


def test_js_huge_output(js):
    raises(SandboxOutputError, lambda: js("function run(inputs) { return { blob: 'x'.repeat(2 * 1024 * 1024) }; }"), "64 KB")


def test_js_endless_console(js):
    raises(SandboxOutputError, lambda: js("function run(inputs) { for (;;) console.log('x'.repeat(1000)); }"), "64 KB")


def test_js_deep_recursion(js):
    raises(SandboxCodeError, lambda: js("function run(inputs) { const f = (n) => f(n + 1); return f(0); }"), "RangeError", "call stack")


def test_js_crafted_output(js):
    name = f"/tmp/auster-escape-{uuid.uuid4().hex}"
    payload = f"__import__('os').system('touch {name}')"
    assert js(f"function run(inputs) {{ return {{ formula: {json.dumps(payload)} }}; }}").value == {"formula": payload}
    assert not os.path.exists(name)


def test_js_prototype_pollution_output(js):
    code = "function run(inputs) { return JSON.parse('{\"__proto__\": {\"polluted\": 1}, \"a\": 1}'); }"
    raises(SandboxOutputError, lambda: js(code), "__proto__")  # a nested object is not a record field


# ------------------------------------------------------------------------------------ main realm (below the vm context)


def test_main_realm_reads_a_file(main_realm):
    _raises(SandboxCodeError, lambda: main_realm("function run() { return require('fs').readFileSync('/etc/shadow', 'utf8').length; }"), "ERR_ACCESS_DENIED")


def test_main_realm_reads_the_project_database(main_realm, tmp_path):
    database = tmp_path / "auster.db"
    database.write_bytes(b"SQLite format 3\0secret")
    code = f"function run() {{ return require('fs').readFileSync({json.dumps(str(database))}).length; }}"
    _raises(SandboxCodeError, lambda: main_realm(code), "ERR_ACCESS_DENIED")


def test_main_realm_writes_a_file(main_realm):
    _raises(SandboxCodeError, lambda: main_realm("function run() { require('fs').writeFileSync('/tmp/x', 'x'); return 1; }"), "ERR_ACCESS_DENIED")


def test_main_realm_child_process(main_realm):
    _raises(SandboxCodeError, lambda: main_realm("function run() { require('child_process').execSync('id'); return 1; }"), "ERR_ACCESS_DENIED")


def test_main_realm_worker(main_realm):
    code = "function run() { new (require('worker_threads').Worker)('1', { eval: true }); return 1; }"
    _raises(SandboxCodeError, lambda: main_realm(code), "ERR_ACCESS_DENIED")


def test_main_realm_environment(main_realm, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    code = "function run() { if (!process.env.FRED_API_KEY) throw new Error('no key in ' + JSON.stringify(process.env)); return 1; }"
    _raises(SandboxCodeError, lambda: main_realm(code), "no key in {}")


def test_main_realm_fetch(main_realm):
    code = "async function run() { await fetch('http://203.0.113.7/'); return 1; }"  # a documentation address (RFC 5737)
    _raises(SandboxCodeError, lambda: main_realm(code), "fetch failed", "EPERM")


@pytest.mark.parametrize("port", [5432, 6379])
def test_main_realm_connects_to_a_local_service(main_realm, port):
    code = f"""
    function run() {{
      return new Promise((resolve, reject) => {{
        const socket = require('net').connect({port}, '127.0.0.1', () => resolve(1));
        socket.on('error', reject);
      }});
    }}
    """
    _raises(SandboxCodeError, lambda: main_realm(code), "EPERM")


def test_main_realm_resolves_a_name(main_realm):
    code = "function run() { return require('dns').promises.lookup('example.com'); }"
    _raises(SandboxCodeError, lambda: main_realm(code), "example.com")


def test_main_realm_signals_the_parent(main_realm):
    _raises(SandboxCodeError, lambda: main_realm(f"function run() {{ process.kill({os.getpid()}, 'SIGKILL'); return 1; }}"), "ESRCH")


def test_main_realm_endless_loop(main_realm):
    _raises(SandboxTimeout, lambda: main_realm("function run() { for (;;) {} }", TIMEOUT_LIMITS), "1500 ms")


def test_main_realm_heap_exhaustion(main_realm):
    _raises(SandboxMemoryError, lambda: main_realm("function run() { const a = []; for (;;) a.push({ x: Math.random(), y: [1, 2, 3] }); }"), "256 MB")
