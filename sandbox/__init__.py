"""The code sandbox: user Python and JavaScript run isolated (bubblewrap + seccomp), limited and audited.

No Streamlit, no store, no engine: the product calls ``run_code`` and stores the audit record itself.
See docs/sandbox.md.
"""

from sandbox.allowlist import check_dependencies
from sandbox.audit import AuditLog, AuditRecord, JsonLinesAuditLog
from sandbox.errors import (
    SandboxCodeError,
    SandboxConfigError,
    SandboxCrash,
    SandboxError,
    SandboxImportError,
    SandboxInputError,
    SandboxMemoryError,
    SandboxOutputError,
    SandboxTimeout,
    SandboxUnavailable,
)
from sandbox.limits import SandboxLimits
from sandbox.runner import SandboxResult, run_code, unavailable_reason, warm_up

__all__ = [
    "AuditLog",
    "AuditRecord",
    "JsonLinesAuditLog",
    "SandboxCodeError",
    "SandboxConfigError",
    "SandboxCrash",
    "SandboxError",
    "SandboxImportError",
    "SandboxInputError",
    "SandboxLimits",
    "SandboxMemoryError",
    "SandboxOutputError",
    "SandboxResult",
    "SandboxTimeout",
    "SandboxUnavailable",
    "check_dependencies",
    "run_code",
    "unavailable_reason",
    "warm_up",
]
