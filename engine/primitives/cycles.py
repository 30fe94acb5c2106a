"""Business-cycle operations: NBER recession periods and a 0/1 recession indicator for shading charts.

The peak and trough months are the NBER's (``engine.nber``). A chart shades recessions from an
``outputs.series`` item whose source is ``recession_indicator`` and which sets ``shade: true``
(see ``contracts.dsl.SeriesOutput``): the run's JSON then carries the shaded spans.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from contracts.errors import OperationError
from engine.nber import PEAKS_AND_TROUGHS
from engine.primitives.stats import require_dates
from engine.registry import Params, operation

Convention = Literal["after_peak", "peak_to_trough"]
PERIOD_COLUMNS = ["peak", "trough", "start", "end", "months"]


class RecessionParams(Params):
    convention: Convention = Field(
        "after_peak",
        description="'after_peak' (default, as FRED's USREC): the month after the peak through the trough month; 'peak_to_trough': the peak month through the trough month",
    )


@functools.cache
def _months(convention: Convention) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """(peak, trough, first recession month, last recession month) of every NBER cycle."""
    out = []
    for peak_text, trough_text in PEAKS_AND_TROUGHS:
        peak, trough = pd.Timestamp(peak_text + "-01"), pd.Timestamp(trough_text + "-01")
        first = peak + pd.DateOffset(months=1) if convention == "after_peak" else peak
        out.append((peak, trough, first, trough))
    return out


def _span(x: pd.Series, op: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    require_dates(x, op)
    values = x.dropna()
    if values.empty:
        raise OperationError(f"'{op}' needs at least 1 dated observation to know which months to cover, got 0.")
    return values.index[0].to_period("M").to_timestamp(), values.index[-1].to_period("M").to_timestamp()


@operation("recession_indicator", family="cycles")
def recession_indicator(x: pd.Series, *, params: RecessionParams) -> pd.Series:
    """NBER recession indicator: 1 in the months of a US recession, 0 otherwise, over the input's months.

    The peak and trough months are the NBER Business Cycle Dating Committee's ("US Business Cycle
    Expansions and Contractions", announced through July 2021). With ``convention: after_peak`` (the
    default, as FRED's USREC) a recession runs from the month after the peak through the trough
    month; ``peak_to_trough`` counts the peak month too. The input only sets the months covered
    (its first to its last); show the result with ``shade: true`` to shade a chart.

    Returns
    -------
    series of 0 and 1, one per month (stamped on the 1st), named ``nber_recession``.
    """
    first, last = _span(x, "recession_indicator")
    months = pd.DatetimeIndex(np.arange(np.datetime64(first, "M"), np.datetime64(last, "M") + 1).astype("datetime64[ns]"))
    cycles = _months(params.convention)
    starts = np.array([c[2] for c in cycles], dtype="datetime64[ns]")
    ends = np.array([c[3] for c in cycles], dtype="datetime64[ns]")
    stamps = months.to_numpy()
    latest_start = np.searchsorted(starts, stamps, side="right") - 1  # the last recession starting on or before each month
    inside = (latest_start >= 0) & (stamps <= ends[np.maximum(latest_start, 0)])
    return pd.Series(inside.astype(float), index=months, name="nber_recession")


@operation("recession_periods", family="cycles", columns=PERIOD_COLUMNS)
def recession_periods(x: pd.Series, *, params: RecessionParams) -> pd.DataFrame:
    """The NBER recessions that overlap the input's dates, one row each.

    Returns
    -------
    frame with ``peak`` and ``trough`` (the NBER's months, stamped on the 1st), ``start`` and ``end``
    (the first and last recession months under ``convention``) and ``months`` (their count).
    Empty when no recession overlaps; a recession the NBER has not yet announced (its dates are
    current to the committee's announcement of 19 July 2021) is not listed.
    """
    first, last = _span(x, "recession_periods")
    rows = [
        {"peak": peak, "trough": trough, "start": start, "end": end, "months": (end.year - start.year) * 12 + end.month - start.month + 1}
        for peak, trough, start, end in _months(params.convention)
        if end >= first and start <= last
    ]
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)

