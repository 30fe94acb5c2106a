"""The bubblewrap command line: what a sandbox sees and what it is cut off from.

Every sandbox gets new user, PID, network, IPC, UTS and cgroup namespaces (``--unshare-all``, and no
nested user namespaces), an empty environment, uid/gid 65534, its own /proc, a minimal read-only /dev,
a size-capped tmpfs on /tmp (also its working directory), a read-only root, and read-only binds of
exactly: the runtime (interpreter and stdlib, or Node.js), the allowlisted packages, the system
libraries those load, and the guest's own files (copied in from pipes, so the project's folder is never
bound). The network namespace has no device but its own loopback; the seccomp filter refuses IP sockets.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.environment import SandboxEnv, shared_libraries

SANDBOX_UID = 65534
GUEST_DIR = "/opt/guest"
PYTHON_DIR = "/opt/python"
PACKAGES_DIR = "/opt/packages"
NODE_PATH = "/opt/node/node"


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The bubblewrap binary (Debian's ``bubblewrap``), or None."""
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def node_path() -> str | None:
    """Node.js (``AUSTER_SANDBOX_NODE`` or ``node`` on PATH), resolved to its real file, or None."""
    configured = os.environ.get("AUSTER_SANDBOX_NODE") or shutil.which("node")
    return os.path.realpath(configured) if configured and os.path.exists(configured) else None


@functools.lru_cache(maxsize=1)
def node_version() -> str | None:
    """``node --version`` (for the audit and the docs), or None."""
    path = node_path()
    if path is None:
        return None
    completed = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=10)
    return completed.stdout.strip() or None


@functools.lru_cache(maxsize=4)
def _node_libs(path: str) -> tuple[str, ...]:
    return tuple(shared_libraries([Path(path)], inside=[]))


@dataclass
class Mounts:
    """Read-only binds (host path -> sandbox path) and files copied in from the host's memory."""

    binds: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, bytes] = field(default_factory=dict)


def python_mounts(env: SandboxEnv) -> Mounts:
    """The Python runtime: interpreter + stdlib, packages, libpython and the system libraries."""
    mounts = Mounts(binds=[(str(env.python_dir), PYTHON_DIR), (str(env.packages_dir), PACKAGES_DIR)])
    if env.libpython:
        mounts.binds.append((str(env.python_dir / env.libpython), f"/lib/x86_64-linux-gnu/{Path(env.libpython).name}"))
    mounts.binds.extend((os.path.realpath(lib), lib) for lib in env.system_libs)
    return mounts


def node_mounts(node: str) -> Mounts:
    """Node.js and the system libraries it loads."""
    mounts = Mounts(binds=[(node, NODE_PATH)])
    mounts.binds.extend((os.path.realpath(lib), lib) for lib in _node_libs(node))
    return mounts


def merge(*parts: Mounts) -> Mounts:
    """One set of mounts from several; a later bind of the same sandbox path is dropped."""
    merged = Mounts()
    seen: set[str] = set()
    for part in parts:
        for source, target in part.binds:
            if target not in seen:
                seen.add(target)
                merged.binds.append((source, target))
        merged.data.update(part.data)
    return merged


def command(mounts: Mounts, data_fds: dict[str, int], seccomp_fd: int, tmpfs_bytes: int, argv: list[str]) -> list[str]:
    """The full ``bwrap ... -- argv`` command line; ``data_fds`` maps each data file to a readable fd."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_UID),
        "--hostname", "sandbox",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--proc", "/proc",
        "--dev", "/dev",
    ]
    for source, target in mounts.binds:
        args += ["--ro-bind", source, target]
    for target in sorted(mounts.data):
        args += ["--ro-bind-data", str(data_fds[target]), target]
    args += [
        "--size", str(tmpfs_bytes), "--perms", "1777", "--tmpfs", "/tmp",
        "--remount-ro", "/dev",
        "--remount-ro", "/",
        "--chdir", "/tmp",
        "--seccomp", str(seccomp_fd),
        "--",
        *argv,
    ]
    return args
