"""Statistics operations: rolling windows, standardisation, resampling and summaries."""

from __future__ import annotations

import pandas as pd

from engine.errors import OperationError
from engine.registry import NoParams, Record, operation


@operation("summary", family="stats")
def summary(x: pd.Series, *, params: NoParams) -> Record:
    """Summary statistics of a series: latest value and date, mean, std, min, max, count.

    Returns
    -------
    record with ``latest``, ``latest_date``, ``mean``, ``std``, ``min``, ``max``, ``count``, and
    ``pct_negative`` (share of observations below zero, useful for spreads).
    """
    values = x.dropna()
    if values.empty:
        raise OperationError("cannot summarise an empty series (no observations in the range).")
    last = values.index[-1]
    return Record(
        latest=float(values.iloc[-1]),
        latest_date=last.date().isoformat() if isinstance(last, pd.Timestamp) else str(last),
        mean=float(values.mean()),
        std=float(values.std()) if len(values) > 1 else float("nan"),
        min=float(values.min()),
        max=float(values.max()),
        count=float(len(values)),
        pct_negative=float((values < 0).mean()),
    )
