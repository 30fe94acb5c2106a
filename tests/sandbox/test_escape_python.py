"""Escape suite, Python: every attempt ends in a typed error (or, for what can merely be looked at, in a
value that shows nothing of the host), and the host is fine afterwards (``host_is_fine``: no process
outlives its run, this process and its environment are unchanged).

Most attempts go past the import guard on purpose (``unguarded``), because the guard is a
convenience: what has to hold is the namespaces, the seccomp filters and the rlimits under it.
"""

from __future__ import annotations

import base64
import os
import pickle
import sqlite3
import uuid
from pathlib import Path

import pytest

from sandbox import (
    SandboxCodeError,
    SandboxCrash,
    SandboxImportError,
    SandboxLimits,
    SandboxMemoryError,
    SandboxOutputError,
    SandboxTimeout,
)
from tests.sandbox.conftest import BOMB_LIMITS, TIMEOUT_LIMITS, raises

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------------ files and secrets


def test_read_etc_shadow(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    return open('/etc/shadow').read()"), "FileNotFoundError", "/etc/shadow")


def test_read_etc_passwd(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    return open('/etc/passwd').read()"), "FileNotFoundError")


def test_read_project_database(py, tmp_path):
    database = tmp_path / "auster.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table secrets (value text)")
        connection.execute("insert into secrets values ('hunter2')")
    code = f"def run(inputs):\n    return {{'db': open({str(database)!r}, 'rb').read().decode('latin-1')}}"
    raises(SandboxCodeError, lambda: py(code), "FileNotFoundError")


def test_read_project_database_with_sqlite(py, tmp_path):
    database = tmp_path / "auster.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table secrets (value text)")
    code = f"""
    def run(inputs):
        sqlite3 = unguarded("sqlite3")
        rows = sqlite3.connect("file:{database}?mode=ro", uri=True).execute("select * from secrets").fetchall()
        return {{"rows": len(rows)}}
    """
    raises(SandboxCodeError, lambda: py(code), "OperationalError", "unable to open database file")


def test_read_project_source(py):
    raises(SandboxCodeError, lambda: py(f"def run(inputs):\n    return open({str(ROOT / 'README.md')!r}).read()"), "FileNotFoundError")


def test_read_root_home(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    return {'n': len(unguarded('os').listdir('/root'))}"), "FileNotFoundError")


def test_read_interpreter_under_root(py):
    code = "def run(inputs):\n    return open('/root/.pyenv/versions/3.11.7/bin/python3.11', 'rb').read(4).hex()"
    raises(SandboxCodeError, lambda: py(code), "FileNotFoundError")


def test_read_parent_environment(py, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    error = raises(SandboxCodeError, lambda: py("def run(inputs):\n    return unguarded('os').environ['FRED_API_KEY']"), "KeyError")
    assert "fake-fred-key" not in f"{error} {error.detail} {error.audit.stdout} {error.audit.stderr}"


def test_read_own_initial_environment(py, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    code = """
    def run(inputs):
        block = open('/proc/self/environ', 'rb').read().split(b'\\0')
        return dict(item.split(b'=', 1) for item in block if item)[b'FRED_API_KEY'].decode()
    """
    error = raises(SandboxCodeError, lambda: py(code))
    assert "KeyError" in str(error) or "PermissionError" in str(error)  # empty, and unreadable once undumpable


def test_read_proc_1_environ(py, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    code = """
    def run(inputs):
        block = open('/proc/1/environ', 'rb').read().split(b'\\0')
        return dict(item.split(b'=', 1) for item in block if item)[b'FRED_API_KEY'].decode()
    """
    error = raises(SandboxCodeError, lambda: py(code))
    assert "KeyError" in str(error) or "PermissionError" in str(error)
    assert "fake-fred-key" not in f"{error} {error.detail}"


def test_read_parent_proc_entries(py, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    code = f"def run(inputs):\n    return open('/proc/{os.getpid()}/environ', 'rb').read().decode('latin-1')"
    raises(SandboxCodeError, lambda: py(code), "FileNotFoundError")


def test_read_parent_cmdline_via_ppid(py, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fake-fred-key-0123456789")
    code = "def run(inputs):\n    os = unguarded('os')\n    return {'ppid': os.getppid(), 'cmdline': open(f'/proc/{os.getppid()}/cmdline').read()}"
    value = py(code).value
    assert value["ppid"] == 1  # the parent is bubblewrap's own init inside the PID namespace, not the host
    assert "bwrap" in value["cmdline"].split("\0")[0] and "pytest" not in value["cmdline"] and "fake-fred-key" not in value["cmdline"]


def test_read_host_root_through_proc_1_root(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    return open('/proc/1/root/etc/shadow').read()"), "Error")


def test_proc_shows_only_the_sandbox(py):
    value = py("def run(inputs):\n    return {'pids': len([p for p in unguarded('os').listdir('/proc') if p.isdigit()])}").value
    assert value["pids"] <= 3  # bwrap's init and the interpreter (and at most a helper)


def test_root_holds_only_the_runtime(py):
    code = "def run(inputs):\n    return {name: True for name in unguarded('os').listdir('/')}"
    assert set(py(code).value) <= {"opt", "lib", "lib64", "tmp", "dev", "proc", "usr"}


def test_runs_as_unprivileged_uid(py):
    value = py("def run(inputs):\n    os = unguarded('os')\n    return {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid()}").value
    assert value == {"uid": 65534, "euid": 65534, "gid": 65534}


def test_become_root(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    unguarded('os').setuid(0)"), "Invalid argument")  # uid 0 is not even mapped


# ------------------------------------------------------------------------------------ writing


def test_write_outside_tmpfs(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/opt/packages/numpy/evil.py', 'w').write('x')"), "Read-only file system")


def test_write_to_root(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/evil', 'w').write('x')"), "Read-only file system")


def test_write_to_dev_shm(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/dev/shm/evil', 'w').write('x')"), "Read-only file system")


def test_fill_the_tmpfs(py):
    code = """
    def run(inputs):
        for i in range(100):
            with open(f'/tmp/fill{i}', 'wb') as handle:
                handle.write(b'x' * (4 * 1024 * 1024))
    """
    raises(SandboxCodeError, lambda: py(code), "No space left on device")


def test_write_a_file_past_the_size_limit(py):
    limits = SandboxLimits(max_runtime_ms=10_000, max_memory_mb=256, max_output_kb=64, max_file_mb=1, tmpfs_mb=8)
    code = "def run(inputs):\n    open('/tmp/big', 'wb').write(b'x' * (2 * 1024 * 1024))"
    raises(SandboxCodeError, lambda: py(code, limits=limits), "File too large")


def test_tmp_symlink_to_host_file(py):
    code = "def run(inputs):\n    unguarded('os').symlink('/etc/shadow', '/tmp/link')\n    return open('/tmp/link').read()"
    raises(SandboxCodeError, lambda: py(code), "FileNotFoundError")


def test_tmp_symlink_left_for_the_host(py):
    name = f"auster-escape-{uuid.uuid4().hex}"
    code = f"def run(inputs):\n    unguarded('os').symlink('/etc/shadow', '/tmp/{name}')\n    raise PermissionError('left a trap')"
    raises(SandboxCodeError, lambda: py(code), "left a trap")
    assert not os.path.lexists(f"/tmp/{name}")  # the sandbox's /tmp is its own tmpfs, gone with it


def test_tmp_is_private_to_each_run(py):
    name = uuid.uuid4().hex
    py(f"def run(inputs):\n    open('/tmp/{name}', 'w').write('secret')\n    return 1.0")
    raises(SandboxCodeError, lambda: py(f"def run(inputs):\n    return open('/tmp/{name}').read()"), "FileNotFoundError")


# ------------------------------------------------------------------------------------ network


@pytest.mark.parametrize("port", [5432, 6379])
def test_connect_to_local_service(py, port):
    code = f"def run(inputs):\n    unguarded('socket').create_connection(('127.0.0.1', {port}), timeout=1)"
    raises(SandboxCodeError, lambda: py(code), "Operation not permitted")


def test_connect_to_public_address(py):
    # 203.0.113.7 is a documentation address (RFC 5737): even if the sandbox failed, nothing real is reached.
    code = "def run(inputs):\n    unguarded('socket').create_connection(('203.0.113.7', 80), timeout=1)"
    raises(SandboxCodeError, lambda: py(code), "Operation not permitted")


def test_ipv6_socket(py):
    code = "def run(inputs):\n    s = unguarded('socket')\n    s.socket(s.AF_INET6, s.SOCK_STREAM)"
    raises(SandboxCodeError, lambda: py(code), "Operation not permitted")


def test_raw_netlink_socket(py):
    code = "def run(inputs):\n    s = unguarded('socket')\n    s.socket(s.AF_NETLINK, s.SOCK_RAW, 0)"
    raises(SandboxCodeError, lambda: py(code), "Operation not permitted")


def test_resolve_a_name(py):
    code = "def run(inputs):\n    return unguarded('socket').getaddrinfo('example.com', 443)"
    raises(SandboxCodeError, lambda: py(code), "gaierror")


def test_connect_to_postgres_unix_socket(py):
    code = """
    def run(inputs):
        s = unguarded('socket')
        client = s.socket(s.AF_UNIX, s.SOCK_STREAM)
        client.connect('/var/run/postgresql/.s.PGSQL.5432')
    """
    raises(SandboxCodeError, lambda: py(code), "FileNotFoundError")


def test_import_socket(py):
    raises(SandboxImportError, lambda: py("import socket\ndef run(inputs):\n    return 1.0"), "'socket'")


# ------------------------------------------------------------------------------------ processes


def test_fork_bomb(py):
    code = "def run(inputs):\n    os = unguarded('os')\n    while True:\n        os.fork()"
    raises(SandboxCodeError, lambda: py(code), "PermissionError", "Operation not permitted")


def test_thread_bomb(py):
    code = """
    def run(inputs):
        threading, time = unguarded('threading'), unguarded('time')
        threading.stack_size(256 * 1024)  # small stacks: the process limit, not the address space, has to stop it
        started = 0
        try:
            while True:
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                started += 1
        except RuntimeError as exc:
            raise RuntimeError(f'stopped after {started} threads') from exc
    """
    error = raises(SandboxCodeError, lambda: py(code), "stopped after")
    started = int(str(error).split("stopped after ")[1].split()[0])
    # RLIMIT_NPROC (16) binds even though CI runs as root: bwrap's init + the main thread + 14 threads.
    assert BOMB_LIMITS.max_processes - 3 <= started <= BOMB_LIMITS.max_processes - 2


def test_subprocess(py):
    code = "def run(inputs):\n    return unguarded('subprocess').run(['/opt/python/bin/python3.11', '-c', 'print(1)']).returncode"
    raises(SandboxCodeError, lambda: py(code), "PermissionError")


def test_import_subprocess(py):
    raises(SandboxImportError, lambda: py("import subprocess\ndef run(inputs):\n    return 1.0"), "'subprocess'")


def test_os_system(py):
    name = f"auster-escape-{uuid.uuid4().hex}"
    code = f"def run(inputs):\n    status = unguarded('os').system('touch /tmp/{name}')\n    if status != 0:\n        raise OSError(f'os.system failed with {{status}}')"
    raises(SandboxCodeError, lambda: py(code), "os.system failed")
    assert not os.path.exists(f"/tmp/{name}")


def test_exec_another_program(py):
    code = "def run(inputs):\n    unguarded('os').execv('/opt/python/bin/python3.11', ['python', '-c', 'print(1)'])"
    raises(SandboxCodeError, lambda: py(code), "PermissionError")


def test_signal_the_parent(py):
    code = f"def run(inputs):\n    unguarded('os').kill({os.getpid()}, 9)"
    raises(SandboxCodeError, lambda: py(code), "ProcessLookupError")


def test_signal_every_process(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    unguarded('os').kill(-1, 9)"), "ProcessLookupError")  # nobody else in the namespace


def test_signal_the_sandbox_init(py):
    assert py("def run(inputs):\n    unguarded('os').kill(1, 9)\n    return 1.0").value == 1.0  # a namespace's init ignores it


def test_ptrace(py):
    code = """
    def run(inputs):
        ctypes = unguarded('ctypes')
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, 1, 0, 0) != 0:  # PTRACE_ATTACH to the sandbox's init
            raise OSError(ctypes.get_errno(), 'ptrace refused')
    """
    raises(SandboxCodeError, lambda: py(code), "[Errno 1] ptrace refused")


def test_import_ctypes(py):
    raises(SandboxImportError, lambda: py("import ctypes\ndef run(inputs):\n    return 1.0"), "'ctypes'")


def test_ctypes_via_numpy(py):
    code = """
    import numpy as np
    def run(inputs):
        libc = np.ctypeslib.ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            raise OSError(np.ctypeslib.ctypes.get_errno(), 'unshare refused')
    """
    raises(SandboxCodeError, lambda: py(code), "[Errno 1] unshare refused")


def test_mmap_with_exec(py):
    code = "def run(inputs):\n    mmap = unguarded('mmap')\n    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
    raises(SandboxCodeError, lambda: py(code), "PermissionError")


def test_mprotect_to_exec(py):
    code = """
    def run(inputs):
        ctypes, mmap = unguarded('ctypes'), unguarded('mmap')
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        page = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if libc.mprotect(ctypes.c_void_p(page), 4096, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), 'mprotect refused')
    """
    raises(SandboxCodeError, lambda: py(code), "[Errno 1] mprotect refused")


def test_memfd_create(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    unguarded('os').memfd_create('payload')"), "PermissionError")


@pytest.mark.parametrize(("name", "number"), [("bpf", 321), ("perf_event_open", 298), ("keyctl", 250), ("io_uring_setup", 425), ("mount", 165), ("userfaultfd", 323)])
def test_forbidden_system_call(py, name, number):
    code = f"""
    def run(inputs):
        ctypes = unguarded('ctypes')
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall({number}, 0, 0, 0, 0, 0) == -1 and ctypes.get_errno() == 1:
            raise PermissionError('{name} refused')
    """
    raises(SandboxCodeError, lambda: py(code), f"{name} refused")


def test_x32_system_call(py):
    code = "def run(inputs):\n    ctypes = unguarded('ctypes')\n    ctypes.CDLL(None).syscall(0x40000000 | 39)"  # x32 getpid
    raises(SandboxCrash, lambda: py(code), "system call the sandbox forbids")


def test_terminal_injection(py):
    code = """
    def run(inputs):
        ctypes = unguarded('ctypes')
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ioctl(0, 0x5412, ctypes.c_char_p(b'x')) != 0:  # TIOCSTI
            raise OSError(ctypes.get_errno(), 'TIOCSTI refused')
    """
    raises(SandboxCodeError, lambda: py(code), "[Errno 1] TIOCSTI refused")


# ------------------------------------------------------------------------------------ devices


def test_read_a_disk(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/dev/vda', 'rb').read(512)"), "FileNotFoundError")


def test_read_kernel_memory(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/dev/mem', 'rb').read(16)"), "FileNotFoundError")


def test_open_the_terminal(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    open('/dev/tty', 'w').write('x')"), "OSError")


# ------------------------------------------------------------------------------------ resources


def test_memory_bomb(py):
    raises(SandboxMemoryError, lambda: py("def run(inputs):\n    blocks = []\n    while True:\n        blocks.append(bytearray(16 * 1024 * 1024))"), "256 MB")


def test_numpy_memory_bomb(py):
    raises(SandboxMemoryError, lambda: py("import numpy as np\ndef run(inputs):\n    return float(np.ones(10**9).sum())"), "256 MB")


def test_cpu_spin(py):
    error = raises(SandboxTimeout, lambda: py("def run(inputs):\n    while True:\n        pass", limits=TIMEOUT_LIMITS), "1500 ms")
    assert 1450 <= error.audit.runtime_ms < 4000


def test_cpu_spin_ignoring_signals(py):
    code = """
    def run(inputs):
        signal = unguarded('signal')
        for name in ('SIGXCPU', 'SIGTERM', 'SIGINT', 'SIGALRM'):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        while True:
            pass
    """
    raises(SandboxTimeout, lambda: py(code, limits=TIMEOUT_LIMITS))


def test_sleep_past_the_timeout(py):
    error = raises(SandboxTimeout, lambda: py("import time\ndef run(inputs):\n    time.sleep(60)", limits=TIMEOUT_LIMITS), "1500 ms")
    assert error.audit.runtime_ms < 4000


def test_threads_outliving_the_run(py):
    code = "def run(inputs):\n    t = unguarded('threading').Thread(target=unguarded('time').sleep, args=(60,))\n    t.start()\n    return 1.0"
    assert py(code).value == 1.0  # the non-daemon thread dies with the process (host_is_fine checks)


def test_endless_stdout(py):
    raises(SandboxOutputError, lambda: py("def run(inputs):\n    while True:\n        print('x' * 1000)"), "64 KB")


def test_endless_stderr(py):
    raises(SandboxOutputError, lambda: py("def run(inputs):\n    os = unguarded('os')\n    while True:\n        os.write(2, b'y' * 4096)"), "64 KB")


def test_huge_output(py):
    raises(SandboxOutputError, lambda: py("def run(inputs):\n    return {'blob': 'x' * (2 * 1024 * 1024)}"), "64 KB")


def test_deep_recursion(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    def f(n):\n        return f(n + 1)\n    return f(0)"), "RecursionError")


def test_deep_recursion_past_the_c_stack(py):
    # Recursing through a builtin (map) uses the C stack, which Python's own limit no longer guards.
    code = "def run(inputs):\n    unguarded('sys').setrecursionlimit(10**8)\n    def f(n):\n        return list(map(f, [n + 1]))\n    return f(0)"
    raises(SandboxCrash, lambda: py(code), "SIGSEGV")


# ------------------------------------------------------------------------------------ imports


@pytest.mark.parametrize("module", ["os", "sys", "importlib", "builtins", "requests", "pickle", "multiprocessing", "wire"])
def test_import_outside_the_allowlist(py, module):
    raises(SandboxImportError, lambda: py(f"import {module}\ndef run(inputs):\n    return 1.0"), f"'{module}'")


def test_import_through_dunder_import(py):
    raises(SandboxImportError, lambda: py("def run(inputs):\n    return __import__('os').getcwd()"), "'os'")


def test_relative_import(py):
    raises(SandboxImportError, lambda: py("from . import secrets\ndef run(inputs):\n    return 1.0"))


# ------------------------------------------------------------------------------------ crafted output


class _Boom:
    """A pickle that runs a shell command when loaded: what a host that unpickled sandbox output would run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_crafted_output_pickle(py):
    name = f"/tmp/auster-escape-{uuid.uuid4().hex}"
    payload = base64.b64encode(pickle.dumps(_Boom(name))).decode()
    code = f"""
    def run(inputs):
        os = unguarded('os')
        fd = int(open('/proc/self/cmdline').read().split('\\0')[-2])  # the answer channel, found as an attacker would
        os.write(fd, b'{{"ok": true, "value": {{"type": "pickle", "data": "{payload}"}}}}')
        os._exit(0)
    """
    raises(SandboxOutputError, lambda: py(code), "cannot use")
    assert not os.path.exists(name)


def test_crafted_output_code_string(py):
    name = f"auster-escape-{uuid.uuid4().hex}"
    payload = f"__import__('os').system('touch /tmp/{name}')"
    value = py(f"def run(inputs):\n    return {{'formula': {payload!r}}}").value
    assert value == {"formula": payload}  # a string stays a string
    assert not os.path.exists(f"/tmp/{name}")


def test_crafted_output_deep_nesting(py):
    code = """
    def run(inputs):
        os = unguarded('os')
        fd = int(open('/proc/self/cmdline').read().split('\\0')[-2])
        os.write(fd, b'[' * 50000)
        os._exit(0)
    """
    raises(SandboxOutputError, lambda: py(code), "not valid data")


def test_crafted_output_bad_shape(py):
    code = """
    def run(inputs):
        os = unguarded('os')
        fd = int(open('/proc/self/cmdline').read().split('\\0')[-2])
        os.write(fd, b'{"ok": true, "value": {"type": "series", "index": [{"__class__": "x"}], "values": [1]}}')
        os._exit(0)
    """
    raises(SandboxOutputError, lambda: py(code), "ISO dates")


def test_exit_without_answer(py):
    raises(SandboxCrash, lambda: py("def run(inputs):\n    unguarded('os')._exit(3)"), "exit code 3")


def test_system_exit_is_a_code_error(py):
    raises(SandboxCodeError, lambda: py("def run(inputs):\n    raise SystemExit(0)"), "SystemExit")
