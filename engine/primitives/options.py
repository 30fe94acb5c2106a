"""options operations."""

from __future__ import annotations
