"""Code models: the engine's ``CodeRunner`` composed with the sandbox, and the checks a code version passes.

The engine calls ``CodeRunner.run(bundle, entrypoint, inputs, limits)`` for a ``code`` step; this
module runs it with ``sandbox.run_code`` under the run's limits (what is left of its clock, the code
memory cap, its output cap), records the audit (who, the code's hash, limits, exit cause) and turns
every ``SandboxError`` into one ``CodeFailed`` sentence with the sandbox's code.
"""

from __future__ import annotations

import logging
from typing import Any

from contracts.code import CODE_RUNTIMES, MAX_CODE_CHARS, CodeBundle
from contracts.errors import CodeFailed
from contracts.limits import Limits
from sandbox import AuditLog, SandboxError, SandboxLimits, check_dependencies, run_code

log = logging.getLogger(__name__)

AUDIT_FILE = "sandbox-audit.jsonl"


def sandbox_limits(limits: Limits) -> SandboxLimits:
    """The sandbox's limits for one code step: the run's remaining clock, the code memory cap and output cap."""
    return SandboxLimits(
        max_runtime_ms=limits.max_runtime_ms,
        max_memory_mb=limits.code_memory_mb,
        max_output_kb=min(limits.max_output_kb, limits.code_output_kb),
    )


class SandboxCodeRunner:
    """Runs a code step's bundle in the sandbox on behalf of ``actor``; audits every run."""

    def __init__(self, actor: str | None = None, audit_log: AuditLog | None = None):
        self.actor = actor
        self.audit_log = audit_log
        self.last_audit: Any = None  # the latest run's AuditRecord (the editor's test run shows it)

    def run(self, bundle: CodeBundle, entrypoint: str, inputs: dict[str, Any], limits: Limits) -> Any:
        problems = check_code(bundle)
        if problems:
            raise CodeFailed(problems[0], "E_SANDBOX_IMPORT" if "allowlist" in problems[0] or "approved" in problems[0] else "E_SANDBOX_INPUT")
        try:
            result = run_code(bundle.runtime, bundle.source, entrypoint, inputs, sandbox_limits(limits), actor=self.actor, audit_log=self.audit_log)  # type: ignore[arg-type]
        except SandboxError as exc:
            self.last_audit = exc.audit
            raise CodeFailed(str(exc), exc.code, exc.detail) from exc
        self.last_audit = result.audit
        return result.value


def check_code(bundle: CodeBundle) -> list[str]:
    """Every problem of a code bundle before it runs or is saved: runtime, size, dependencies (one sentence each)."""
    problems: list[str] = []
    if bundle.runtime not in CODE_RUNTIMES:
        problems.append(f"The runtime '{bundle.runtime}' is not one of {', '.join(CODE_RUNTIMES)}.")
    if not bundle.source.strip():
        problems.append("The code is empty; write a run(inputs) function.")
    if len(bundle.source) > MAX_CODE_CHARS:
        problems.append(f"The code is {len(bundle.source):,} characters, over the limit of {MAX_CODE_CHARS:,}.")
    if bundle.runtime == "js" and bundle.dependencies:
        problems.append("JavaScript models cannot declare dependencies; plain JavaScript only.")
    elif bundle.dependencies:
        problems.extend(check_dependencies(list(bundle.dependencies)))
    return problems
