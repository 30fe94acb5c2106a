"""One sandboxed guest process on the host side: spawn bwrap, wait until ready, feed one job, collect.

The host treats everything coming out of the sandbox as untrusted bytes: it caps what it keeps,
kills the whole tree (bwrap's process group; ``--die-with-parent`` and the PID namespace take the
rest) on a wall-clock deadline or when output goes past the cap, and measures runtime, CPU time and
peak memory itself (``wait4``), never from what the guest says.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from sandbox import bwrap
from sandbox.bwrap import Mounts

READY = b"ready\n"
LOG_KEEP_BYTES = 16 * 1024  # kept per stream in the audit record


@dataclass
class Outcome:
    """What the host observed of one run; ``result`` is the guest's answer bytes, if any."""

    result: bytes
    stdout: bytes
    stderr: bytes
    stdout_bytes: int
    stderr_bytes: int
    wait_status: int | None
    rusage: resource.struct_rusage | None
    wall_ms: float
    stopped_by_host: str | None  # "timeout" | "output" | "result_size" | None

    @property
    def signal(self) -> int | None:
        """The signal that ended bwrap's child (bwrap exits 128 + signal), if one did."""
        code = self.exit_code
        return code - 128 if code is not None and code > 128 else None

    @property
    def exit_code(self) -> int | None:
        if self.wait_status is None:
            return None
        if os.WIFEXITED(self.wait_status):
            return os.WEXITSTATUS(self.wait_status)
        if os.WIFSIGNALED(self.wait_status):
            return 128 + os.WTERMSIG(self.wait_status)
        return None

    @property
    def cpu_ms(self) -> float | None:
        return None if self.rusage is None else (self.rusage.ru_utime + self.rusage.ru_stime) * 1000

    @property
    def peak_memory_mb(self) -> float | None:
        return None if self.rusage is None else round(self.rusage.ru_maxrss / 1024, 1)


def _pipe_with(content: bytes) -> int:
    """A pipe whose read end yields ``content`` then EOF (content must fit the pipe buffer)."""
    read_fd, write_fd = os.pipe()
    try:
        if len(content) > 60_000:
            import fcntl

            fcntl.fcntl(write_fd, 1031, max(len(content), 65536))  # F_SETPIPE_SZ
        view = memoryview(content)
        while view:
            view = view[os.write(write_fd, view) :]
    finally:
        os.close(write_fd)
    return read_fd


class GuestProcess:
    """A bwrap'd guest used for exactly one run; it may wait, ready, as a warm spare before that."""

    def __init__(self, mounts: Mounts, seccomp: bytes, argv: list[str], tmpfs_bytes: int, run_as: int | None) -> None:
        fds: list[int] = []
        try:
            data_fds = {target: _pipe_with(content) for target, content in mounts.data.items()}
            fds += data_fds.values()
            seccomp_fd = _pipe_with(seccomp)
            fds.append(seccomp_fd)
            self._result_read, result_write = os.pipe()
            fds.append(result_write)
            guest_argv = [a.replace("{result_fd}", str(result_write)) for a in argv]
            command = bwrap.command(mounts, data_fds, seccomp_fd, tmpfs_bytes, guest_argv)
            drop = {"user": run_as, "group": run_as, "extra_groups": []} if run_as is not None else {}
            self.started = time.monotonic()
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=tuple(fds),
                env={},
                cwd="/",
                start_new_session=True,
                **drop,
            )
        finally:
            for fd in fds:
                os.close(fd)
        self._ready = False
        self._leftover = b""
        self.ready_ms: float | None = None
        self.closed = False

    # -------------------------------------------------------------------------------------- start-up
    def wait_ready(self, timeout: float) -> bool:
        """Read the guest's ``ready`` line; False if it died or did not say it within ``timeout`` seconds."""
        if self._ready:
            return True
        deadline = time.monotonic() + timeout
        buffer = b""
        while READY not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(buffer) > 4096:
                return False
            selector = selectors.DefaultSelector()
            selector.register(self._result_read, selectors.EVENT_READ)
            events = selector.select(remaining)
            selector.close()
            if not events:
                return False
            chunk = os.read(self._result_read, 4096)
            if not chunk:
                return False
            buffer += chunk
        before, _, after = buffer.partition(READY)
        self._leftover = after
        self._ready = not before
        self.ready_ms = (time.monotonic() - self.started) * 1000
        return self._ready

    def alive(self) -> bool:
        return not self.closed and self.proc.poll() is None

    # -------------------------------------------------------------------------------------- the run
    def run(self, job: bytes, max_runtime_ms: int, max_output_bytes: int) -> Outcome:
        """Send ``job``, then collect until the guest exits or the host stops it."""
        start = time.monotonic()
        deadline = start + max_runtime_ms / 1000
        result = bytearray(self._leftover)
        logs = {"stdout": bytearray(), "stderr": bytearray()}
        counts = {"stdout": 0, "stderr": 0}
        stopped: str | None = None
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        streams = {self.proc.stdout.fileno(): "stdout", self.proc.stderr.fileno(): "stderr", self._result_read: "result"}
        stdin_fd = self.proc.stdin.fileno()
        for fd in (*streams, stdin_fd):
            os.set_blocking(fd, False)
        selector = selectors.DefaultSelector()
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        pending = memoryview(job)
        if pending:
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            self._close_stdin()
        open_reads = set(streams)
        while open_reads:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stopped = "timeout"
                break
            for key, _ in selector.select(remaining):
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        pending = pending[os.write(fd, pending[:65536]) :]
                    except BlockingIOError:
                        continue
                    except (BrokenPipeError, OSError):
                        pending = memoryview(b"")
                    if not pending:
                        selector.unregister(fd)
                        self._close_stdin()
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(fd)
                    open_reads.discard(fd)
                    continue
                name = streams[fd]
                if name == "result":
                    result += chunk
                    if len(result) > max_output_bytes:
                        stopped = "result_size"
                else:
                    counts[name] += len(chunk)
                    keep = LOG_KEEP_BYTES - len(logs[name])
                    if keep > 0:
                        logs[name] += chunk[:keep]
                    if counts["stdout"] + counts["stderr"] > max_output_bytes:
                        stopped = "output"
            if stopped:
                break
        selector.close()
        status, usage = self._finish(deadline if stopped is None else None)
        if status is None and stopped is None:
            stopped = "timeout"
        wall_ms = (time.monotonic() - start) * 1000
        return Outcome(bytes(result), bytes(logs["stdout"]), bytes(logs["stderr"]), counts["stdout"], counts["stderr"], status, usage, wall_ms, stopped)

    def _close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin
            self.proc.stdin.close()

    def _finish(self, deadline: float | None) -> tuple[int | None, resource.struct_rusage | None]:
        """Reap bwrap (killing it first when ``deadline`` is None or passes); return status and rusage."""
        status = usage = None
        if deadline is not None:
            while time.monotonic() < deadline:
                pid, status_, usage_ = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    status, usage = status_, usage_
                    break
                time.sleep(0.002)
        if status is None:
            self.kill()
            with contextlib.suppress(ChildProcessError):
                _, status, usage = os.wait4(self.proc.pid, 0)
            status = None  # stopped by the host: the status says nothing about the guest
        self.proc.returncode = 0
        self.close()
        return status, usage

    def kill(self) -> None:
        """SIGKILL bwrap's process group; its child dies with it and takes the PID namespace along."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Release pipes; kill and reap a guest that never ran (a spare being discarded)."""
        if self.closed:
            return
        self.closed = True
        if self.proc.returncode is None:
            self.kill()
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.proc.pid, 0)
            self.proc.returncode = -9
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if stream:
                    stream.close()
        with contextlib.suppress(OSError):
            os.close(self._result_read)
