"""Rules both backends share: time helpers, the credential checks made before any request, rating summaries.

The Supabase backend must not import the sqlite backend (nor the other way round); what both need lives here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from contracts.errors import InputInvalid
from contracts.records import Rating, RatingSummary, User
from contracts.rules import EXECUTION_CACHE_TTL_S, UNLISTED_SLUG_RANDOM_BITS

# A run still pending after this long lost its recording (the run flow passes its own run budget).
STALE_AFTER_S = 3600.0
# What a swept run is recorded with (the Supabase migrations' public.stale_run_message() says the same).
STALE_RUN_MESSAGE = (
    "The run was not recorded in time (the app stopped or its database was busy); it does not count against your daily runs."
)
ANALYTICS_REFUSED = "Only the model's owner (or an administrator) can see its usage."
HEALTH_REFUSED = "Only an administrator can see the data providers' health."
TAKE_VERSION_REFUSED = "Only the owner of this fork can take a version of its source."
FORK_SUFFIX = " (fork)"
ADD_VERSION_REFUSED = "Only the author can change this model; fork it to make your own copy."
CODE_LISTING_REFUSED = "A code model can be public or unlisted only once an admin has approved one of its versions; submit it for review first."
UNPUBLISHABLE = "The model of this run is no longer shared with you, so the run cannot be published."
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
CACHE_TTL = timedelta(seconds=EXECUTION_CACHE_TTL_S)


def fork_name(name: str) -> str:
    """A fork's name until its owner renames it: "<source name> (fork)", within the 120 characters a name may have."""
    return name[: 120 - len(FORK_SUFFIX)] + FORK_SUFFIX


def percentile_cont(values: list[float], q: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the two nearest ranks (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def now_utc() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def ts(moment: datetime) -> str:
    """A stored timestamp: ISO 8601 in UTC, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str | None) -> datetime:
    """A stored timestamp back as a datetime (the epoch when missing)."""
    return datetime.fromisoformat(text) if text else datetime.fromtimestamp(0, UTC)


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the day of ``moment`` (daily quotas reset then)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (``\\`` escapes ``%`` and ``_``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def unlisted_slug(prefix: str) -> str:
    """An unlisted artifact's address: ``prefix`` then 128 random bits, so it is found only by its link."""
    return f"{(prefix or 'artifact')[:60].rstrip('-')}-{secrets.token_hex(UNLISTED_SLUG_RANDOM_BITS // 8)}"


def squatter_slug(slug: str, model_id: str) -> str:
    """Where a user's model that holds a template's slug is moved when the template is loaded."""
    return f"{slug[:70]}-{model_id.replace('-', '')[:8]}"


def new_session_token() -> str:
    """An opaque session token for a browser's cookie: 256 random bits."""
    return secrets.token_urlsafe(32)


def session_token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256 (hex), never the token itself."""
    return hashlib.sha256(b"auster-session-id:" + (token or "").encode()).hexdigest()


def new_id() -> str:
    """A new random row id."""
    return str(uuid.uuid4())


def check_credentials(email: str, password: str) -> str:
    """The normalised email, or ``InputInvalid`` naming a malformed email or a short password."""
    email = (email or "").strip().lower()
    fields = {}
    if not EMAIL.match(email):
        fields["email"] = "Enter an email address such as ana@example.com."
    if len(password or "") < MIN_PASSWORD:
        fields["password"] = f"Use a password of at least {MIN_PASSWORD} characters."
    if fields:
        raise InputInvalid(fields)
    return email


def check_new_password(password: str) -> None:
    """``InputInvalid`` for a new password that is too short."""
    if len(password or "") < MIN_PASSWORD:
        raise InputInvalid({"new_password": f"Use a new password of at least {MIN_PASSWORD} characters."})


def summarise_ratings(reviews: tuple[Rating, ...], viewer: User | None) -> RatingSummary:
    """Average, count, every review (newest first, as given) and the viewer's own."""
    mine = next((r for r in reviews if viewer and r.user_id == viewer.id), None)
    average = round(sum(r.rating for r in reviews) / len(reviews), 2) if reviews else None
    return RatingSummary(average, len(reviews), reviews, mine)
