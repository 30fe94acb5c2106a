"""Typed service errors (defined in ``store.errors`` so the store can raise them without importing services)."""

from store.errors import (
    AuthError,
    AuthRequired,
    ConflictError,
    InputInvalid,
    NotFoundError,
    PermissionDenied,
    RateLimitExceeded,
    RunFailed,
    ServiceError,
    StoreUnavailable,
)

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
