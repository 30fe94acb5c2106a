"""The sandbox's side of a run. Runs INSIDE bubblewrap as uid 65534; never imported by the host.

Python mode: import numpy and pandas, say ``ready`` on the result fd, wait for the job on stdin, then
lower the rlimits, make the process undumpable, stack the late seccomp filter (no more execve), and
only then compile and call the user's code with an import guard. The answer goes to the result fd as
one JSON document; the user's prints go to stdout/stderr, which the host caps and keeps as logs.

JS mode: lower the rlimits and exec Node.js with its permission model on (Node has no setrlimit).

The import guard and the rlimits are conveniences and backstops; the boundary is the namespaces and
the seccomp filters, which no code in this process can lift.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

GUEST_DIR = "/opt/guest"
PACKAGES_DIR = "/opt/packages"
NODE = "/opt/node/node"
LATE_FILTER = f"{GUEST_DIR}/late.bpf"
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _set_limits(limits: dict[str, int]) -> None:
    import resource

    def lower(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        _soft, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))

    mb = 1024 * 1024
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    cpu = int(limits["cpu_seconds"]) + spent
    lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    lower(resource.RLIMIT_AS, int(limits["max_memory_mb"]) * mb)
    lower(resource.RLIMIT_NPROC, int(limits["max_processes"]))
    lower(resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) * mb)
    lower(resource.RLIMIT_NOFILE, int(limits["max_open_files"]))
    lower(resource.RLIMIT_CORE, 0)


def _lock_down() -> None:
    """Undumpable (no core file, no /proc/self/mem for peers) and no execve from here on."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
    with open(LATE_FILTER, "rb") as handle:
        program = handle.read()

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


class ImportBlocked(ImportError):
    """Raised for an import outside the allowlist."""


def _guarded_builtins(allowed: frozenset[str]) -> dict[str, object]:
    import builtins

    real_import = builtins.__import__

    def guarded_import(name: str, globals: object = None, locals: object = None, fromlist: tuple = (), level: int = 0) -> object:
        top = name.partition(".")[0]
        if level != 0 or top not in allowed:
            raise ImportBlocked(f"import of {name!r} is not allowed", name=top)
        return real_import(name, globals, locals, fromlist, level)

    namespace = dict(builtins.__dict__)
    namespace["__import__"] = guarded_import
    return namespace


def _exception_fields(exc: BaseException, filename: str) -> dict[str, object]:
    import traceback

    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    frames = [f for f in traceback.format_exception(exc) if GUEST_DIR not in f]
    return {
        "exception": type(exc).__name__,
        "message": str(exc)[:400],
        "line": line,
        "detail": "".join(frames)[-4000:],
    }


def _run_python(result_fd: int) -> dict[str, object]:
    job = json.loads(sys.stdin.buffer.read())
    _set_limits(job["limits"])
    _lock_down()
    import numpy as np  # noqa: F401  (already imported: warm)
    import wire

    filename = "model.py"
    allowed = frozenset(job["allowed_imports"])
    try:
        compiled = compile(job["code"], filename, "exec")
    except SyntaxError as exc:
        return {"ok": False, "kind": "syntax", **_exception_fields(exc, filename)}
    namespace: dict[str, object] = {"__name__": "model", "__builtins__": _guarded_builtins(allowed)}
    try:
        inputs = wire.decode_inputs(job["inputs"])
        exec(compiled, namespace)
        entry = namespace.get(job["entrypoint"])
        if not callable(entry):
            return {"ok": False, "kind": "entrypoint", "exception": None, "message": job["entrypoint"], "line": None, "detail": ""}
        value = entry(inputs)
    except ImportBlocked as exc:
        return {"ok": False, "kind": "import", "module": exc.name, **_exception_fields(exc, filename)}
    except MemoryError as exc:
        return {"ok": False, "kind": "memory", **_exception_fields(exc, filename)}
    except BaseException as exc:  # the user's exception, whatever it is (SystemExit and KeyboardInterrupt too)
        return {"ok": False, "kind": "code", **_exception_fields(exc, filename)}
    try:
        encoded = wire.encode(value, "the returned value")
    except wire.WireError as exc:
        return {"ok": False, "kind": "value", "exception": None, "message": str(exc), "line": None, "detail": ""}
    return {"ok": True, "value": encoded}


def main_python(result_fd: int) -> None:
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_MAX_THREADS": "1"})
    sys.path[:0] = [PACKAGES_DIR]
    sys.path.append(GUEST_DIR)
    import numpy  # noqa: F401  (the point of a warm spare: imported before the job arrives)
    import pandas  # noqa: F401
    import wire  # noqa: F401

    os.environ.clear()
    sys.dont_write_bytecode = True
    _write_all(result_fd, b"ready\n")
    pid = os.getpid()
    try:
        answer = _run_python(result_fd)
    except MemoryError:
        answer = {"ok": False, "kind": "memory", "exception": "MemoryError", "message": "", "line": None, "detail": ""}
    if os.getpid() != pid:  # a forked copy (should the filter ever allow one) must not answer twice
        os._exit(0)
    try:
        text = json.dumps(answer, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        text = json.dumps({"ok": False, "kind": "value", "exception": None, "message": f"the returned value cannot be written as data ({type(exc).__name__})", "line": None, "detail": ""})
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the user may have closed or replaced it; the answer still goes out
            stream.flush()
    _write_all(result_fd, text.encode("utf-8"))
    os._exit(0)


NODE_RESERVE_MB = 1024


def main_js(result_fd: int, limits: dict[str, int]) -> None:
    # Node starts at about 500 MB of address space (V8's reservations, thread stacks) while resident
    # memory is a fraction of that, so an address-space cap equal to the memory limit kills it in a C++
    # bad_alloc before its heap is full. JavaScript's memory limit is therefore V8's own heap cap (half
    # the limit: a clean "heap out of memory"), with RLIMIT_AS at the limit + 1 GiB as the backstop for
    # memory outside the heap (ArrayBuffers).
    heap_mb = max(16, int(limits["max_memory_mb"]) // 2)
    _set_limits({**limits, "max_memory_mb": int(limits["max_memory_mb"]) + NODE_RESERVE_MB})
    os.set_inheritable(result_fd, True)
    args = [
        NODE,
        "--jitless",
        "--no-expose-wasm",
        "--disallow-code-generation-from-strings",
        "--experimental-permission",
        f"--allow-fs-read={GUEST_DIR}/runner.js",
        "--no-warnings",
        f"--max-old-space-size={heap_mb}",
        f"{GUEST_DIR}/runner.js",
        str(result_fd),
        str(int(limits["max_output_kb"]) * 1024),
        str(int(limits["max_runtime_ms"])),
    ]
    os.execve(NODE, args, {})  # an empty environment (bwrap always sets PWD)


if __name__ == "__main__":
    mode, fd = sys.argv[1], int(sys.argv[2])
    if mode == "js":
        main_js(fd, json.loads(sys.argv[3]))
    else:
        main_python(fd)
