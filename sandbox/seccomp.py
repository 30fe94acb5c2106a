"""The sandbox's seccomp policy, compiled to classic BPF by the system's libseccomp.

libseccomp (Debian's ``libseccomp2``, already a dependency of the machine's systemd and of
bubblewrap's peers) does the arch checks that are easy to get wrong by hand: a syscall made through
another ABI (i386 ``int 0x80``, x32) kills the process instead of slipping past the rules. It is
reached here through ``ctypes`` with five functions, so the host needs no extra Python package.

Two programs are produced:

* the *base* filter, handed to ``bwrap --seccomp FD`` and active from the sandboxed command's very
  first instruction: default allow, and ``EPERM`` for what numerical code never needs (ptrace,
  mounts, namespaces, bpf, keyrings, perf events, io_uring, module loading, sockets other than
  ``AF_UNIX``, new processes other than threads, executable anonymous memory, terminal injection);
* the *late* filter, stacked by the Python guest after its imports and before user code: it also
  refuses ``execve``/``execveat`` (the base filter cannot, or the interpreter itself could not start).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass

SCMP_ACT_ALLOW = 0x7FFF0000


def _act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


# enum scmp_compare
_CMP_NE = 1
_CMP_MASKED_EQ = 7

# Linux constants (x86_64 and every other Linux arch share these values).
CLONE_THREAD = 0x00010000
PROT_EXEC = 0x4
MAP_ANONYMOUS = 0x20
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
READ_IMPLIES_EXEC = 0x0400000
ADDR_NO_RANDOMIZE = 0x0040000

# Always refused: kernel interfaces for debugging, administering or extending the kernel.
DENIED_SYSCALLS: tuple[str, ...] = (
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # the file-system tree and namespaces
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "unshare", "setns", "name_to_handle_at", "open_by_handle_at",
    # kernel extension points and observability
    "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    # machine administration
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "vhangup", "iopl", "ioperm",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "uselib", "memfd_secret",
    # processes other than threads (threads are clone with CLONE_THREAD, allowed below)
    "fork", "vfork",
    # file-backed executable memory made from scratch
    "memfd_create",
)

# Refused only by the late filter, once the interpreter is up.
LATE_DENIED_SYSCALLS: tuple[str, ...] = ("execve", "execveat")


@dataclass(frozen=True)
class _ArgCmp:
    arg: int
    op: int
    a: int
    b: int = 0


class _ScmpArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class SeccompUnavailable(RuntimeError):
    """libseccomp cannot be loaded or refused the policy."""


@functools.lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise SeccompUnavailable("libseccomp is not installed (Debian package libseccomp2).") from exc
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ScmpArgCmp)]
    lib.seccomp_rule_add_array.restype = ctypes.c_int
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_export_bpf.restype = ctypes.c_int
    return lib


def _rules(late: bool) -> Iterable[tuple[str, int, tuple[_ArgCmp, ...]]]:
    eperm = _act_errno(errno.EPERM)
    for name in DENIED_SYSCALLS + (LATE_DENIED_SYSCALLS if late else ()):
        yield name, eperm, ()
    # Only Unix sockets (Python's and Node's event loops use socketpair); no IP, netlink or packet.
    yield "socket", eperm, (_ArgCmp(0, _CMP_NE, socket.AF_UNIX),)
    yield "socketpair", eperm, (_ArgCmp(0, _CMP_NE, socket.AF_UNIX),)
    # clone without CLONE_THREAD makes a process (fork, posix_spawn); threads stay possible.
    yield "clone", eperm, (_ArgCmp(0, _CMP_MASKED_EQ, CLONE_THREAD, 0),)
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
    yield "clone3", _act_errno(errno.ENOSYS), ()
    # W^X: no executable anonymous memory, no turning memory executable later.
    yield "mmap", eperm, (_ArgCmp(2, _CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC), _ArgCmp(3, _CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS))
    yield "mprotect", eperm, (_ArgCmp(2, _CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC),)
    yield "pkey_mprotect", eperm, (_ArgCmp(2, _CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC),)
    # Typing into a terminal (the classic sandbox escape, also closed by bwrap --new-session).
    yield "ioctl", eperm, (_ArgCmp(1, _CMP_MASKED_EQ, 0xFFFFFFFF, TIOCSTI),)
    yield "ioctl", eperm, (_ArgCmp(1, _CMP_MASKED_EQ, 0xFFFFFFFF, TIOCLINUX),)
    # personality(2) must not make readable memory executable (a W^X bypass) or switch ASLR off.
    yield "personality", eperm, (_ArgCmp(0, _CMP_MASKED_EQ, READ_IMPLIES_EXEC, READ_IMPLIES_EXEC),)
    yield "personality", eperm, (_ArgCmp(0, _CMP_MASKED_EQ, ADDR_NO_RANDOMIZE, ADDR_NO_RANDOMIZE),)


@functools.lru_cache(maxsize=2)
def compile_filter(late: bool = False) -> bytes:
    """Return the policy as a classic BPF program (``struct sock_filter[]``) for this machine's arch."""
    lib = _lib()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise SeccompUnavailable("libseccomp could not create a filter.")
    try:
        for name, action, cmps in _rules(late):
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == -1:  # unknown on this arch (or to this libseccomp): nothing to refuse
                continue
            array = (_ScmpArgCmp * max(len(cmps), 1))(*[_ScmpArgCmp(c.arg, c.op, c.a, c.b) for c in cmps])
            rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array)
            if rc < 0:
                raise SeccompUnavailable(f"libseccomp refused the rule for {name} ({os.strerror(-rc)}).")
        fd = os.memfd_create("auster-seccomp", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise SeccompUnavailable(f"libseccomp could not export the filter ({os.strerror(-rc)}).")
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
