"""FRED's server-side ``units``, ``frequency`` and ``aggregation_method``, reproduced for local data.

The live FRED gateway passes these to FRED itself; the sample gateway applies them here with FRED's
documented semantics (aggregate to the lower frequency first, then transform the units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contracts.errors import BadRequest

UNITS = {
    "lin": "levels",
    "chg": "change",
    "ch1": "change from a year ago",
    "pch": "percent change",
    "pc1": "percent change from a year ago",
    "pca": "compounded annual rate of change",
    "log": "natural log",
}
FREQUENCIES = {"d": None, "w": "W-FRI", "m": "MS", "q": "QS", "sa": "6MS", "a": "YS"}
AGGREGATIONS = ("avg", "sum", "eop")
PERIODS_PER_YEAR = {"d": 260, "w": 52, "m": 12, "q": 4, "sa": 2, "a": 1}


def native_frequency_code(frequency_name: str) -> str:
    """Map FRED's frequency name ("Monthly", "Daily, 7-Day", ...) to its short code."""
    name = frequency_name.lower()
    for word, code in (("daily", "d"), ("weekly", "w"), ("monthly", "m"), ("quarterly", "q"), ("semiannual", "sa"), ("annual", "a")):
        if name.startswith(word):
            return code
    return "d"


def apply_fred_transforms(
    series: pd.Series,
    native_frequency: str,
    units: str | None,
    frequency: str | None,
    aggregation: str | None,
) -> pd.Series:
    """Aggregate ``series`` to ``frequency`` with ``aggregation``, then transform to ``units``."""
    code = native_frequency_code(native_frequency)
    out = series
    if frequency:
        freq = frequency.lower()
        if freq not in FREQUENCIES:
            raise BadRequest(f"Frequency '{frequency}' is not one of {', '.join(FREQUENCIES)}.")
        method = (aggregation or "avg").lower()
        if method not in AGGREGATIONS:
            raise BadRequest(f"Aggregation '{aggregation}' is not one of {', '.join(AGGREGATIONS)}.")
        order = list(FREQUENCIES)
        if order.index(freq) < order.index(code):
            raise BadRequest(f"FRED cannot convert a {native_frequency.lower()} series to the higher frequency '{frequency}'.")
        if freq != code and FREQUENCIES[freq]:
            grouped = out.resample(FREQUENCIES[freq])
            out = {"avg": grouped.mean, "sum": grouped.sum, "eop": grouped.last}[method]().dropna()
            code = freq
    if units and units.lower() != "lin":
        unit = units.lower()
        if unit not in UNITS:
            raise BadRequest(f"Units '{units}' is not one of {', '.join(UNITS)}.")
        per_year = PERIODS_PER_YEAR[code]
        year_ago = _year_ago(out, code, per_year)
        if unit == "chg":
            out = out.diff()
        elif unit == "ch1":
            out = out - year_ago
        elif unit == "pch":
            out = (out / out.shift(1) - 1) * 100
        elif unit == "pc1":
            out = (out / year_ago - 1) * 100
        elif unit == "pca":
            out = ((out / out.shift(1)) ** per_year - 1) * 100
        elif unit == "log":
            out = np.log(out)
        out = out.dropna()
    return out.rename(series.name)


def _year_ago(series: pd.Series, code: str, per_year: int) -> pd.Series:
    """The value one year earlier: by calendar date for monthly and slower data (so a missing month,
    such as CPI's unpublished 2025-10, leaves a gap instead of misaligning), by position otherwise."""
    if code in ("m", "q", "sa", "a"):
        prior_dates = series.index - pd.DateOffset(years=1)
        return pd.Series(series.reindex(prior_dates).to_numpy(), index=series.index)
    return series.shift(per_year)
