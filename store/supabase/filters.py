"""User text inside PostgREST filter strings, escaped: commas, parentheses, ``%`` and ``_`` change a filter."""

from __future__ import annotations

import re

TAG_WORD = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def postgrest_quote(value: str) -> str:
    """A value safe inside a PostgREST logic tree (``or=(...)``): double-quoted, with ``\\`` and ``"`` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def postgrest_like(text: str) -> str:
    """An ``ilike`` pattern matching ``text`` literally anywhere, quoted for an ``or=`` filter.

    ``%`` and ``_`` are escaped for LIKE; ``*`` (PostgREST's wildcard, which cannot be escaped)
    becomes ``_``, matching any one character; commas, dots, colons and parentheses are safe inside
    the double quotes.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "_")
    return postgrest_quote(f"*{escaped}*")
