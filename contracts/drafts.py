"""A builder draft as the store keeps it: one JSON document per owner and key, autosaved on every edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# What a draft may weigh once serialised (a 64-step model with its schema is a few tens of KB).
MAX_DRAFT_BYTES = 512 * 1024


@dataclass(frozen=True)
class DraftRecord:
    """The owner's autosaved work under ``key`` ("new", "model:<slug>", "from:<slug>")."""

    owner_id: str
    key: str
    document: dict[str, Any]
    updated_at: datetime
