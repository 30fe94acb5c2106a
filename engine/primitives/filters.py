"""filters operations."""

from __future__ import annotations
