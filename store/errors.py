"""Typed errors shared by the store and the services (re-exported by ``services.errors``). ``str(error)`` is a sentence a user can act on."""

from __future__ import annotations

from datetime import datetime


class ServiceError(Exception):
    """Base class of every refusal or failure the services raise on purpose."""

    code = "E_SERVICE"


class AuthError(ServiceError):
    """Signing up or in did not work (wrong password, email taken, weak password...)."""

    code = "E_AUTH"


class AuthRequired(AuthError):
    """The action needs an account or a guest session."""

    code = "E_AUTH_REQUIRED"

    def __init__(self, action: str = "do this"):
        super().__init__(f"Sign in or continue as a guest to {action}.")


class PermissionDenied(ServiceError):
    """The user may not do this to this object."""

    code = "E_PERMISSION"


class NotFoundError(ServiceError):
    """Nothing with this slug or id is visible to the user."""

    code = "E_NOT_FOUND"


class ConflictError(ServiceError):
    """The change clashes with existing data (a slug already taken, ...)."""

    code = "E_CONFLICT"


class InputInvalid(ServiceError):
    """One or more inputs are wrong; ``fields`` maps each field name to a sentence for the form."""

    code = "E_INPUT"

    def __init__(self, fields: dict[str, str], message: str | None = None):
        self.fields = dict(fields)
        super().__init__(message or " ".join(self.fields.values()))


class RateLimitExceeded(ServiceError):
    """A run limit is reached: ``kind`` is "daily" or "minute"; ``resets_at`` is when it frees up."""

    code = "E_RATE_LIMIT"

    def __init__(self, kind: str, limit: int, resets_at: datetime, tier: str = "free"):
        self.kind = kind
        self.limit = limit
        self.resets_at = resets_at
        self.tier = tier
        if kind == "daily":
            extra = " Upgrade to paid for 100 runs a day." if tier == "free" else ""
            text = f"You have used your {limit} {tier} runs today; they reset at 00:00 UTC.{extra}"
        else:
            text = f"You can run the same model at most {limit} times a minute; try again at {resets_at:%H:%M:%S} UTC."
        super().__init__(text)


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


__all__ = [
    "AuthError",
    "AuthRequired",
    "ConflictError",
    "InputInvalid",
    "NotFoundError",
    "PermissionDenied",
    "RateLimitExceeded",
    "RunFailed",
    "ServiceError",
    "StoreUnavailable",
]
