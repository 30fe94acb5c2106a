"""One sandboxed guest process on the host side: spawn bwrap, wait until ready, feed one job, collect.

The host treats everything coming out of the sandbox as untrusted bytes: it caps what it keeps,
kills the whole tree (bwrap's process group; ``--die-with-parent`` and the PID namespace take the
rest) on a wall-clock deadline or when output goes past the cap, and measures runtime, CPU time and
peak memory itself (the clock, and the guest's /proc entries), never from what the guest says.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox import bwrap
from sandbox.bwrap import Mounts

READY = b"ready\n"
LOG_KEEP_BYTES = 16 * 1024  # kept per stream in the audit record
SAMPLE_EVERY_S = 0.02  # how often the guest's peak memory and CPU time are read from /proc
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


@dataclass
class Outcome:
    """What the host observed of one run; ``result`` is the guest's answer bytes, if any."""

    result: bytes
    stdout: bytes
    stderr: bytes
    stdout_bytes: int
    stderr_bytes: int
    wait_status: int | None
    wall_ms: float
    stopped_by_host: str | None  # "timeout" | "output" | "result_size" | None
    cpu_ms: float | None  # the guest's CPU time, read by the host from /proc
    peak_memory_mb: float | None  # the guest's peak resident memory (VmHWM), read by the host from /proc

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
        self._guest_pid: int | None = None
        self._peak_kb = 0
        self._cpu_ticks = 0
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

    def _sample(self) -> None:
        """Read the guest's peak RSS and CPU time (bwrap -> its init -> the guest) while it still exists.

        ``wait4`` cannot tell: bwrap does not reap its init, so their usage never reaches the host.
        """
        if self._guest_pid is None:
            inits = _children(self.proc.pid)
            guests = _children(inits[0]) if inits else []
            if not guests:
                return
            self._guest_pid = guests[0]
        try:
            status = Path(f"/proc/{self._guest_pid}/status").read_text()
            stat = Path(f"/proc/{self._guest_pid}/stat").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self._peak_kb = max(self._peak_kb, int(line.split()[1]))
        fields = stat.rsplit(")", 1)[1].split()
        self._cpu_ticks = max(self._cpu_ticks, int(fields[11]) + int(fields[12]))

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
        self._sample()
        cpu_before = self._cpu_ticks  # a warm spare's imports are not the run's CPU time
        next_sample = 0.0
        while open_reads:
            now = time.monotonic()
            if now >= next_sample:
                self._sample()
                next_sample = now + SAMPLE_EVERY_S
            remaining = deadline - now
            if remaining <= 0:
                stopped = "timeout"
                break
            for key, _ in selector.select(min(remaining, SAMPLE_EVERY_S)):
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
                    if not result:
                        self._sample()  # the answer is out: the guest's peak is behind it
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
        self._sample()
        status = self._finish(deadline if stopped is None else None)
        if status is None and stopped is None:
            stopped = "timeout"
        wall_ms = (time.monotonic() - start) * 1000
        cpu_ms = (self._cpu_ticks - cpu_before) * 1000 / _TICKS_PER_S if self._guest_pid else None
        peak_mb = round(self._peak_kb / 1024, 1) if self._peak_kb else None
        return Outcome(bytes(result), bytes(logs["stdout"]), bytes(logs["stderr"]), counts["stdout"], counts["stderr"], status, wall_ms, stopped, cpu_ms, peak_mb)

    def _close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin
            self.proc.stdin.close()

    def _finish(self, deadline: float | None) -> int | None:
        """Reap bwrap (killing it first when ``deadline`` is None or passes); return its wait status."""
        status = None
        if deadline is not None:
            while time.monotonic() < deadline:
                pid, status_ = os.waitpid(self.proc.pid, os.WNOHANG)
                if pid:
                    status = status_
                    break
                self._sample()
                time.sleep(0.002)
        if status is None:
            self._sample()
            self.kill()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.proc.pid, 0)
            status = None  # stopped by the host: the status says nothing about the guest
        self.proc.returncode = 0
        self.close()
        return status

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
