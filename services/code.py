"""Code models: the engine's ``CodeRunner`` composed with the sandbox, and the checks a code version passes.

The engine calls ``CodeRunner.run(bundle, entrypoint, inputs, limits)`` for a ``code`` step; this
module runs it with ``sandbox.run_code`` under the run's limits (what is left of its clock, the code
memory cap, its output cap), records the audit (who, the code's hash, limits, exit cause) and turns
every ``SandboxError`` into one ``CodeFailed`` sentence with the sandbox's code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.code import CODE_RUNTIMES, MAX_CODE_CHARS, CodeBundle
from contracts.errors import AusterError, CodeFailed, StepFailed
from contracts.limits import Limits
from contracts.result import RunResult
from engine.data import DataAccess
from engine.executor import execute
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


LOG_CAP_CHARS = 4000  # what a test run shows of each stream (the audit keeps the first 16 KB)


@dataclass(frozen=True)
class TrialRun:
    """A code model run on sample data for its owner or a reviewer: never recorded, no quota used."""

    result: RunResult | None
    error: str | None  # one sentence when the run failed
    error_code: str | None
    detail: str | None  # the traceback of the user's own code, when it raised
    stdout: str
    stderr: str
    logs_truncated: bool
    limits: dict[str, int]  # what the sandbox allowed
    runtime_ms: float | None  # the code step's wall clock in the sandbox
    peak_memory_mb: float | None
    start: str | None  # "warm" or "cold"


def _cap(text: str) -> tuple[str, bool]:
    return (text, False) if len(text) <= LOG_CAP_CHARS else (text[:LOG_CAP_CHARS] + "\n... (cut)", True)


def trial_run(
    dsl: dict[str, Any], input_schema: dict[str, Any], bundle: CodeBundle, inputs: dict[str, Any], data: DataAccess, limits: Limits,
    *, actor: str | None = None, audit_log: AuditLog | None = None, today: date | None = None,
) -> TrialRun:
    """Run a code model once on ``data`` (the sample) in the sandbox; return the outputs or the sentence, with logs and limits."""
    runner = SandboxCodeRunner(actor, audit_log)
    result, error, code, detail = None, None, None, None
    try:
        result = execute(dsl, inputs, data, input_schema=input_schema, limits=limits, today=today or data.reference_date(), code=bundle, code_runner=runner)
    except StepFailed as exc:
        error, code = str(exc), exc.cause_code
        cause = exc.__cause__
        detail = cause.detail if isinstance(cause, CodeFailed) else None
    except AusterError as exc:
        error, code = str(exc), exc.code
    audit = runner.last_audit
    stdout, cut_out = _cap(audit.stdout if audit else "")
    stderr, cut_err = _cap(audit.stderr if audit else "")
    truncated = cut_out or cut_err or bool(audit and (audit.stdout_truncated or audit.stderr_truncated))
    return TrialRun(
        result, error, code, detail, stdout, stderr, truncated, sandbox_limits(limits).to_dict(),
        audit.runtime_ms if audit else None, audit.peak_memory_mb if audit else None, audit.start if audit else None,
    )


def check_code_model(dsl: dict[str, Any], bundle: CodeBundle | None) -> list[str]:
    """A code model has exactly one code step and valid code; a DSL model has no code step (one sentence each)."""
    code_steps = [s for s in dsl.get("steps", []) if isinstance(s, dict) and s.get("operation") == "code"]
    if bundle is None:
        return ["This model has a code step but no code; save it as a Python or JavaScript model."] if code_steps else []
    problems = check_code(bundle)
    if not code_steps:
        problems.insert(0, "A code model needs one code step (operation 'code') that receives the fetch steps' values.")
    return problems


def approved_packages() -> list[str]:
    """The packages a Python model may declare and import (requirements-sandbox.txt's approved lines)."""
    from sandbox import allowlist

    return sorted(allowlist.approved())
