"""CSV that a spreadsheet shows and never runs (pure, no Streamlit): the cell rule every download uses, and
the plain tables of the usage and health dashboards.

A text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) is
prefixed with ``'``; a whole float is written as a whole number (a count of 7436, not 7436.0).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell as written to CSV: text that would start a formula gets a leading ``'``; numbers are kept
    (a whole float is written as a whole number)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def rows_csv(columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """``rows`` (dicts; keys outside ``columns`` ignored) as CSV with a header line, every cell through ``safe_cell``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue().encode()
