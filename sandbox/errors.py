"""Typed sandbox errors: ``str()`` is one sentence a user can act on, ``.code`` is stable for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sandbox.audit import AuditRecord


class SandboxError(Exception):
    """A code run that did not produce a value. ``audit`` is the run's record when it got that far."""

    code: ClassVar[str] = "E_SANDBOX"
    exit_cause: ClassVar[str] = "error"

    def __init__(self, message: str, *, detail: str | None = None, audit: AuditRecord | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.audit = audit

    def to_dict(self) -> dict[str, str]:
        """The stable JSON shape used by the command line: ``{"code", "message"}``."""
        return {"code": self.code, "message": self.message}


class SandboxTimeout(SandboxError):
    """The run went past its wall-clock or CPU-time budget and was killed with its whole process tree."""

    code = "E_SANDBOX_TIMEOUT"
    exit_cause = "timeout"


class SandboxMemoryError(SandboxError):
    """The run asked for more memory than its limit allows."""

    code = "E_SANDBOX_MEMORY"
    exit_cause = "memory"


class SandboxImportError(SandboxError):
    """The code imported a module outside the allowlist."""

    code = "E_SANDBOX_IMPORT"
    exit_cause = "import"


class SandboxOutputError(SandboxError):
    """The run printed or returned more than its output limit, or returned something that is not a value."""

    code = "E_SANDBOX_OUTPUT"
    exit_cause = "output"


class SandboxCodeError(SandboxError):
    """The user's code raised an exception (``detail`` holds its traceback) or has no entry point."""

    code = "E_SANDBOX_CODE"
    exit_cause = "code_error"


class SandboxCrash(SandboxError):
    """The sandboxed process died without a result (a signal such as SIGSEGV or SIGSYS, or an early exit)."""

    code = "E_SANDBOX_CRASH"
    exit_cause = "crash"


class SandboxInputError(SandboxError):
    """An input cannot cross the boundary as data (unsupported type, nested objects, non-string keys)."""

    code = "E_SANDBOX_INPUT"
    exit_cause = "input"


class SandboxUnavailable(SandboxError):
    """The sandbox cannot run here: bubblewrap, libseccomp, Node.js or the sandbox environment is missing."""

    code = "E_SANDBOX_UNAVAILABLE"
    exit_cause = "unavailable"


class SandboxConfigError(SandboxError):
    """A limit from the environment or the caller is not a usable number."""

    code = "E_SANDBOX_CONFIG"
    exit_cause = "config"


ERRORS_BY_CODE: dict[str, type[SandboxError]] = {
    cls.code: cls
    for cls in (
        SandboxTimeout,
        SandboxMemoryError,
        SandboxImportError,
        SandboxOutputError,
        SandboxCodeError,
        SandboxCrash,
        SandboxInputError,
        SandboxUnavailable,
        SandboxConfigError,
    )
}
