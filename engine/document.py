"""Read a model document from untrusted text: bounded, strict JSON, every refusal a ``Problem``.

Model documents arrive from files, the builder's JSON tab and the API, written by anyone. Python's
``json`` module accepts what a hostile document needs: duplicate keys (the second ``steps`` silently
wins), integers of thousands of digits (a ValueError deep in a step), nesting deep enough to exhaust
the interpreter's recursion, and text that is not UTF-8. ``read_json`` refuses each with a sentence,
before anything else looks at the document.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.errors import Problem

MAX_DOCUMENT_BYTES = 1_000_000  # a 64-step model is a few kilobytes
MAX_DEPTH = 32  # objects and arrays inside each other; a model needs about six
MAX_INTEGER_DIGITS = 30


class _Refused(ValueError):
    """A structural refusal raised from inside the JSON parser's hooks."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Refused(f"the key '{key[:40]}' appears twice in one object; keep one")
        seen[key] = value
    return seen


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"a number has {len(text)} digits; numbers in a model have at most {MAX_INTEGER_DIGITS}")
    return int(text)


def _depth(text: str) -> int:
    """The deepest nesting of objects and arrays, counted outside strings (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_json(raw: bytes | str) -> tuple[Any, list[Problem]]:
    """``(document, [])`` or ``(None, [problem])`` for text that is not a safe JSON document."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_DOCUMENT_BYTES:
            return None, [Problem("E_JSON", (), f"the document is {len(raw):,} bytes; a model may have at most {MAX_DOCUMENT_BYTES:,}")]
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [Problem("E_JSON", (), f"the document is not UTF-8 text (byte {exc.start}); save it as UTF-8")]
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        return None, [Problem("E_JSON", (), f"the document is larger than {MAX_DOCUMENT_BYTES:,} bytes, the most a model may have")]
    deepest = _depth(raw)
    if deepest > MAX_DEPTH:
        return None, [Problem("E_JSON", (), f"the document nests {deepest:,} levels deep; a model nests at most {MAX_DEPTH}")]
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=_no_constant), []
    except _Refused as exc:
        return None, [Problem("E_JSON", (), str(exc))]
    except json.JSONDecodeError as exc:
        return None, [Problem("E_JSON", (), f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
    except (ValueError, RecursionError) as exc:
        return None, [Problem("E_JSON", (), f"not a readable JSON document ({type(exc).__name__})")]


def _no_constant(name: str) -> Any:
    raise _Refused(f"'{name}' is not a JSON number; use null for a missing value")
