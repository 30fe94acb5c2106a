"""analysis operations."""

from __future__ import annotations
