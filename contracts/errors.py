"""The one error taxonomy of Auster Models. ``str(error)`` is always a sentence a user can act on.

Every error the code raises on purpose derives from ``AusterError`` and carries a stable ``code``;
no two classes share a code (``tests/contracts/test_errors.py`` proves it), so a log line, an API
answer or a test can tell a missing FRED series (``E_DATA_NOT_FOUND``) from a missing model
(``E_NOT_FOUND``). Three families, one per layer that raises them:

- ``EngineError``: the DSL engine refused a document or a step failed.
- ``DataError``: a data provider could not serve a request.
- ``ServiceError``: a use case refused (identity, limits, permissions, persistence).

``InputInvalid`` stands apart: bad run inputs are found by the engine's input checks and by the
services' forms alike, and both report them the same way (one sentence per field).

Validation problems (``Problem``) carry their own codes (``E_SCHEMA``, ``E_UNKNOWN_OP``, ...) and a
path kept as a tuple (``("steps", 2, "params", "window")``) so the builder can put each one on its
node and field; ``Problem.path`` is the display form (``$.steps[2].params.window``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PathPart = str | int


def format_path(parts: tuple[PathPart, ...]) -> str:
    """``("steps", 2, "params", "window")`` -> ``$.steps[2].params.window``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass(frozen=True)
class Problem:
    """One validation problem: a stable code, where it is (a tuple path), a message and a hint."""

    code: str
    where: tuple[PathPart, ...]
    message: str
    hint: str = ""

    @property
    def path(self) -> str:
        return format_path(self.where)

    def __str__(self) -> str:
        text = f"{self.code} at {self.path}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "path": self.path, "where": list(self.where), "message": self.message, "hint": self.hint}


class AusterError(Exception):
    """Base of every error raised on purpose; ``code`` is stable and unique per class."""

    code = "E_AUSTER"


class InputInvalid(AusterError):
    """One or more run inputs are wrong; ``fields`` maps each field name to a sentence for the form."""

    code = "E_INPUT"

    def __init__(self, fields: dict[str, str], message: str | None = None):
        self.fields = dict(fields)
        super().__init__(message or " ".join(self.fields.values()))


# ----------------------------------------------------------------------------------------------
# Engine
# ----------------------------------------------------------------------------------------------


class EngineError(AusterError):
    """The DSL engine refused a document or could not finish a run."""

    code = "E_ENGINE"


class ValidationFailed(EngineError):
    """The document (or its input schema) has problems; all of them are listed at once."""

    code = "E_INVALID"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} error{'s' if count != 1 else ''} found"
        super().__init__(head + ": " + "; ".join(str(p) for p in self.problems))


class OperationError(EngineError):
    """Raised inside a primitive when its inputs cannot produce a result (too short, wrong column...)."""

    code = "E_OPERATION"


class StepFailed(EngineError):
    """A step failed while running; names the step and operation and explains the cause."""

    code = "E_STEP"

    def __init__(self, step_id: str, operation: str, cause: str, cause_code: str = "E_OPERATION"):
        self.step_id = step_id
        self.operation = operation
        self.cause = cause
        self.cause_code = cause_code
        super().__init__(f"Step '{step_id}' ({operation}) failed: {cause}")


class CodeFailed(EngineError):
    """User code (a ``code`` step) did not give a value: it raised, ran out of time or memory, imported
    something not approved, or the sandbox could not run it. ``cause_code`` is the sandbox's code
    (``E_SANDBOX_TIMEOUT``...), ``detail`` the traceback of the user's own code when there is one."""

    code = "E_CODE"

    def __init__(self, message: str, cause_code: str = "E_SANDBOX", detail: str | None = None):
        self.cause_code = cause_code
        self.detail = detail
        super().__init__(message)


class CodeUnavailable(EngineError):
    """A model has a ``code`` step but this run was given no code or no code runner."""

    code = "E_CODE_UNAVAILABLE"


class LimitExceeded(EngineError):
    """A run went past a configured limit (steps, points per value, time budget, memory, output size)."""

    code = "E_LIMIT"


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


class DataError(AusterError):
    """A data provider could not serve the request."""

    code = "E_DATA"


class DataNotFound(DataError):
    """An unknown symbol, series or expiration."""

    code = "E_DATA_NOT_FOUND"


class NoData(DataError):
    """The request is valid but returns no observations (e.g. a date range before the series starts)."""

    code = "E_NO_DATA"


class NotEntitled(DataError):
    """The provider refused: the user's data plan does not include this data."""

    code = "E_NOT_ENTITLED"


class UpstreamRateLimited(DataError):
    """The provider is rate limiting us."""

    code = "E_UPSTREAM_RATE_LIMITED"


class UpstreamUnavailable(DataError):
    """The provider is down, timed out or answered with something we cannot read."""

    code = "E_UPSTREAM_UNAVAILABLE"


class BadRequest(DataError):
    """The provider rejected the parameters (bad date, unknown frequency, ...)."""

    code = "E_BAD_REQUEST"


class ConfigurationError(DataError):
    """Live data was asked for but a key is missing, or a setting is invalid."""

    code = "E_CONFIG"


# ----------------------------------------------------------------------------------------------
# Services
# ----------------------------------------------------------------------------------------------


class ServiceError(AusterError):
    """A use case refused or failed (identity, limits, permissions, persistence)."""

    code = "E_SERVICE"


class AuthError(ServiceError):
    """Signing up or in did not work (wrong password, email taken, weak password...)."""

    code = "E_AUTH"


class AuthRequired(AuthError):
    """The action needs an account or a guest session."""

    code = "E_AUTH_REQUIRED"

    def __init__(self, action: str = "do this"):
        super().__init__(f"Sign in or continue as a guest to {action}.")


class SessionExpired(AuthRequired):
    """The session's token has expired (PostgREST's PGRST301/PGRST303): the person must sign in again."""

    code = "E_SESSION_EXPIRED"

    def __init__(self, message: str = "Your session has expired; sign in again."):
        AuthError.__init__(self, message)


class TooManyAttempts(AuthError):
    """Sign-in or guest creation is throttled (by the app or by Supabase Auth); ``retry_after_s`` says how long to wait."""

    code = "E_AUTH_THROTTLED"

    def __init__(self, message: str, retry_after_s: float | None = None):
        self.retry_after_s = retry_after_s
        super().__init__(message)


class PermissionDenied(ServiceError):
    """The user may not do this to this object."""

    code = "E_PERMISSION"


class NotFoundError(ServiceError):
    """Nothing with this slug or id is visible to the user."""

    code = "E_NOT_FOUND"


class ConflictError(ServiceError):
    """The change clashes with existing data (a slug already taken, ...)."""

    code = "E_CONFLICT"


class RateLimitExceeded(ServiceError):
    """A run limit is reached: ``kind`` is "daily" or "minute"; ``resets_at`` is when it frees up."""

    code = "E_RATE_LIMIT"

    def __init__(self, kind: str, limit: int, resets_at: datetime, tier: str = "free"):
        self.kind = kind
        self.limit = limit
        self.resets_at = resets_at
        self.tier = tier
        if kind == "daily" and tier == "guest":
            text = f"You have used your {limit} guest runs today; sign up for a free account (Account page) to get more, or come back after 00:00 UTC."
        elif kind == "daily":
            extra = " An administrator can move your account to the paid tier (100 runs a day) on the Admin page." if tier == "free" else ""
            text = f"You have used your {limit} {tier} runs today; they reset at 00:00 UTC.{extra}"
        else:
            text = f"You can run the same model at most {limit} times a minute; try again at {resets_at:%H:%M:%S} UTC."
        super().__init__(text)


class QueueFull(ServiceError):
    """The user already has as many queued or running jobs as they may at once."""

    code = "E_QUEUE_FULL"


class QueueUnavailable(ServiceError):
    """The run queue (Redis) did not answer; nothing was charged."""

    code = "E_QUEUE_UNAVAILABLE"
class CommentLimitExceeded(ServiceError):
    """Too many comments from one user in the window (``limit`` per ``window_s``); ``resets_at`` is when one frees up."""

    code = "E_COMMENT_LIMIT"

    def __init__(self, limit: int, window_s: int, resets_at: datetime):
        self.limit, self.window_s, self.resets_at = limit, window_s, resets_at
        super().__init__(f"You can post at most {limit} comments in {window_s // 60} minutes; try again at {resets_at:%H:%M} UTC.")


class PreviewLimitExceeded(ServiceError):
    """Too many builder previews in a short time (they have their own limit, apart from the run quota)."""

    code = "E_PREVIEW_LIMIT"


class EditRefused(ServiceError):
    """A builder edit that cannot be made as asked (an edge whose types do not fit, a taken step id...)."""

    code = "E_EDIT_REFUSED"


class RunFailed(ServiceError):
    """The model ran and failed; the run is recorded with its error (``run_id`` may be None if not)."""

    code = "E_RUN_FAILED"

    def __init__(self, message: str, run_id: str | None, step_id: str | None = None, cause_code: str = "E_ENGINE"):
        self.run_id = run_id
        self.step_id = step_id
        self.cause_code = cause_code
        super().__init__(message)


class StoreUnavailable(ServiceError):
    """The database cannot be reached or refused the request for a reason the user cannot fix."""

    code = "E_STORE"


class AuthUnavailable(StoreUnavailable):
    """The sign-in service (Supabase Auth, or the embedded store) cannot be reached or is overloaded: never a wrong password."""

    code = "E_AUTH_UNAVAILABLE"

    def __init__(self, message: str = "The sign-in service is unavailable right now; nothing is wrong with your email or password. Try again in a moment."):
        super().__init__(message)


def error_classes() -> list[type[AusterError]]:
    """Every class of the taxonomy (for the uniqueness check and the docs)."""
    found: list[type[AusterError]] = []
    pending: list[type[AusterError]] = [AusterError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
