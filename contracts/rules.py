"""The product's vocabularies and quotas, each defined once.

Every layer imports them from here: the DSL schema and the records type their fields with the
``Literal`` aliases, the services check user input against the tuples, the app offers them in its
filters, and ``tests/contracts/test_rules_parity.py`` checks that the sqlite schema's and the
Supabase migrations' CHECK constraints and quota numbers say the same.
"""

from __future__ import annotations

from typing import Literal, get_args

LabScope = Literal["econ", "derivatives", "both"]
Difficulty = Literal["basic", "intermediate", "advanced"]
Visibility = Literal["public", "unlisted", "private"]
ArtifactVisibility = Literal["public", "unlisted"]
Tier = Literal["free", "paid"]
Role = Literal["user", "admin"]
RunStatus = Literal["pending", "success", "error"]
VersionStatus = Literal["draft", "published"]
Sort = Literal["popular", "top_rated", "newest"]
Runtime = Literal["dsl", "python", "js"]
ReviewStatus = Literal["pending", "approved", "rejected"]  # a code version's review; None for DSL versions
ReviewDecision = Literal["approved", "rejected"]
ArtifactType = Literal["model_run", "research_object"]

LAB_SCOPES: tuple[str, ...] = get_args(LabScope)
DIFFICULTIES: tuple[str, ...] = get_args(Difficulty)
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
ARTIFACT_VISIBILITIES: tuple[str, ...] = get_args(ArtifactVisibility)
TIERS: tuple[str, ...] = get_args(Tier)
ROLES: tuple[str, ...] = get_args(Role)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
VERSION_STATUSES: tuple[str, ...] = get_args(VersionStatus)
SORTS: tuple[str, ...] = get_args(Sort)
RUNTIMES: tuple[str, ...] = get_args(Runtime)
REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)
REVIEW_DECISIONS: tuple[str, ...] = get_args(ReviewDecision)
MAX_REVIEW_NOTE = 4000
ARTIFACT_TYPES: tuple[str, ...] = get_args(ArtifactType)

# Run quotas (DESIGN.md section 5). Cache hits count only against the per-minute limit.
DAILY_RUNS: dict[str, int] = {"free": 10, "paid": 100}
# A guest (an anonymous session, tier free) gets fewer runs than a free account: signing up is the way to more.
GUEST_DAILY_RUNS = 3
RUNS_PER_MINUTE_PER_MODEL = 3
EXECUTION_CACHE_TTL_S = 3600
# Failed runs do not use the daily quota; every run (failed or served from the cache) counts against
# the per-minute limit.
DAILY_QUOTA_STATUSES: tuple[str, ...] = ("pending", "success")

# An unlisted artifact is found only by its link: its address carries at least this many random bits.
UNLISTED_SLUG_RANDOM_BITS = 128


# Discussions (issue 13): a comment's length, and how many comments one user may post in a window (both
# backends' SQL say the same; tests/contracts/test_rules_parity.py).
CommentTarget = Literal["model", "artifact"]
COMMENT_TARGETS: tuple[str, ...] = get_args(CommentTarget)
COMMENT_MAX_CHARS = 4000
COMMENT_REPORT_MAX_CHARS = 500
COMMENTS_PER_WINDOW = 10
COMMENT_WINDOW_S = 600


# Sessions (issue 11): a sign-in or a guest identity lasts this long in its browser's cookie, unless
# revoked sooner (sign-out, a password change, "sign out everywhere").
SESSION_TTL_S = 30 * 86400


def daily_limit(tier: str, is_guest: bool = False) -> int:
    """Runs a user of ``tier`` (a guest when ``is_guest``) may start per UTC day."""
    if is_guest:
        return GUEST_DAILY_RUNS
    return DAILY_RUNS.get(tier, DAILY_RUNS["free"])
