"""Putting two series on common dates: the one place every two-input operation aligns its inputs.

Series of different frequencies never align silently: ``inner`` refuses them with a sentence, and the
other choices say how the two meet (the step declares it in its ``align`` parameter):

- ``inner`` (default): the dates both have; the two must share a frequency.
- ``mean``, ``last``, ``sum``: aggregate the higher-frequency series to the other's periods first
  (daily yields to monthly averages), then pair period by period. A last period the data stops
  before the end of is left out (a partial month is not a month's average).
- ``ffill``: carry the lower-frequency series onto the higher one's dates, each value from the day
  after its period ends, when it is known (January's average from 1 February): no lookahead.
- ``same_period``: each date of the higher-frequency series takes the value of the lower one's
  period it falls in (every month of a quarter gets that quarter's output gap). This uses values
  before their period has ended: right for analyses of revised data that compare like periods,
  wrong for anything that pretends to be known at the time.

Missing values are dropped from each series first (the engine's gap rule), and pairs need both.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from contracts.errors import OperationError
from engine.primitives.calendar import RANK, Frequency, complete_periods, describe, frequency_of, known_from, period_keys

Align = Literal["inner", "ffill", "same_period", "mean", "last", "sum"]
ALIGN_HELP = (
    "how two series meet: 'inner' (the dates both have; same frequency only), 'mean'/'last'/'sum' (aggregate the "
    "higher-frequency series to the other's periods), 'ffill' (carry the lower-frequency one onto the other's dates from "
    "the end of each period: no lookahead) or 'same_period' (each date takes its period's value, even before the period ends)"
)


def _observed(x: pd.Series) -> pd.Series:
    raw = x.to_numpy()
    return x if raw.dtype.kind == "f" and not np.isnan(raw).any() else x.dropna()


def _ordinal(position: int) -> str:
    return "first" if position == 0 else "second"


def align_pair(a: pd.Series, b: pd.Series, how: Align, op: str = "this operation") -> tuple[pd.Series, pd.Series]:
    """The two series on common dates (or periods), both without gaps; raise with a sentence when they cannot meet."""
    left, right = _observed(a), _observed(b)
    dated = isinstance(left.index, pd.DatetimeIndex) and isinstance(right.index, pd.DatetimeIndex)
    if not dated:
        if how != "inner":
            raise OperationError(f"'{op}': align '{how}' needs two series indexed by dates; use align 'inner' to pair equal labels.")
        return _inner(left, right, op)
    freq_a, freq_b = frequency_of(left.index), frequency_of(right.index)
    if freq_a == freq_b or (freq_a is None and freq_b is None) or (how == "inner" and (freq_a is None or freq_b is None)):
        if how in ("inner", "mean", "last", "sum", "same_period"):
            return _inner(left, right, op)
        return _carry(left, right, freq_b, op, same_period=False, lower=1)
    if freq_a is None or freq_b is None:
        which = _ordinal(0 if freq_a is None else 1)
        raise OperationError(f"'{op}': the {which} series' dates are irregular, so its frequency is unknown; resample both series to one frequency first.")
    if how == "inner":
        high, low = (freq_a, freq_b) if RANK[freq_a] < RANK[freq_b] else (freq_b, freq_a)
        raise OperationError(
            f"'{op}': the first series is {freq_a} and the second {freq_b}, so their dates barely meet; set align to 'mean', "
            f"'last' or 'sum' to aggregate the {high} series to {low} first, or 'ffill' to carry each {low} value onto the "
            f"{high} dates once its period has ended."
        )
    lower = 0 if RANK[freq_a] > RANK[freq_b] else 1
    if how in ("mean", "last", "sum"):
        return _aggregate(left, right, lower, (freq_a, freq_b), how, op)
    return _carry(left, right, freq_a if lower == 0 else freq_b, op, same_period=how == "same_period", lower=lower)


def _inner(left: pd.Series, right: pd.Series, op: str) -> tuple[pd.Series, pd.Series]:
    if left.index.equals(right.index):
        return left, right
    common = left.index.intersection(right.index)
    if not common.is_unique:
        raise OperationError(f"'{op}': a series repeats a date, so the pairs are ambiguous; remove the duplicates first.")
    left, right = left.reindex(common), right.reindex(common)
    if left.empty:
        raise OperationError(f"'{op}': the two series have no dates in common; check their date ranges.")
    return left, right


def _aggregate(left: pd.Series, right: pd.Series, lower: int, freqs: tuple[Frequency | None, Frequency | None], how: str, op: str) -> tuple[pd.Series, pd.Series]:
    """Aggregate the higher-frequency series to the lower one's periods, paired by period key."""
    coarse, fine = (left, right) if lower == 0 else (right, left)
    target: Frequency = freqs[lower]  # type: ignore[assignment]
    fine_keys = period_keys(fine.index, target)
    grouped = fine.groupby(fine_keys)
    summed = grouped.sum(min_count=1) if how == "sum" else getattr(grouped, how)()
    done = complete_periods(fine.index, freqs[1 - lower], fine_keys, target)
    summed = summed[done]
    coarse_keys = period_keys(coarse.index, target)
    positions = pd.Index(summed.index).get_indexer(coarse_keys)
    keep = positions >= 0
    if not keep.any():
        raise OperationError(f"'{op}': no complete {target} period has data in both series; check their date ranges.")
    paired_coarse = coarse[keep]
    paired_fine = pd.Series(summed.to_numpy()[positions[keep]], index=paired_coarse.index, name=fine.name)
    return (paired_coarse, paired_fine) if lower == 0 else (paired_fine, paired_coarse)


def _carry(left: pd.Series, right: pd.Series, lower_freq: Frequency | None, op: str, same_period: bool, lower: int) -> tuple[pd.Series, pd.Series]:
    """Carry the lower-frequency series onto the other's dates: from its period's end, or within its period."""
    coarse, fine = (left, right) if lower == 0 else (right, left)
    if same_period and lower_freq is not None:
        positions = pd.Index(period_keys(coarse.index, lower_freq)).get_indexer(period_keys(fine.index, lower_freq))
    else:
        available = known_from(coarse.index, lower_freq) if lower_freq is not None else coarse.index
        order = np.argsort(available.asi8, kind="stable")
        positions = np.searchsorted(available.asi8[order], fine.index.asi8, side="right") - 1
        positions = np.where(positions >= 0, order[np.maximum(positions, 0)], -1)
    keep = positions >= 0
    if not keep.any():
        raise OperationError(f"'{op}': none of the {describe(lower_freq)} values is known by the other series' dates; check their date ranges.")
    paired_fine = fine[keep]
    carried = pd.Series(coarse.to_numpy()[positions[keep]], index=paired_fine.index, name=coarse.name)
    return (carried, paired_fine) if lower == 0 else (paired_fine, carried)
