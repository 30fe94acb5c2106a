"""Calendar facts of a dated series: its frequency, the period each date falls in, the date a year
earlier, calendar windows, and when a period's value becomes known. No registry, no operations.

Conventions (FRED's): monthly, quarterly, semiannual and annual observations are stamped at the
period's first day (January 2024 is 2024-01-01) and weekly ones at the week's last day (ICSA's
Saturday); a period's key identifies it whatever the stamp, so 2024-01-31 and 2024-01-01 are the
same month. Daily data may skip weekends and holidays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from contracts.errors import OperationError

Frequency = Literal["daily", "weekly", "monthly", "quarterly", "semiannual", "annual"]
CalendarUnit = Literal["days", "weeks", "months", "quarters", "years"]

# Median spacing (days) of each frequency: (lowest, highest) accepted.
_SPACING: tuple[tuple[Frequency, float, float], ...] = (
    ("daily", 0.5, 4.5),
    ("weekly", 5.5, 10.0),
    ("monthly", 25.0, 35.0),
    ("quarterly", 80.0, 100.0),
    ("semiannual", 170.0, 200.0),
    ("annual", 350.0, 380.0),
)
RANK: dict[Frequency, int] = {"daily": 0, "weekly": 1, "monthly": 2, "quarterly": 3, "semiannual": 4, "annual": 5}
PER_YEAR: dict[Frequency, int] = {"weekly": 52, "monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}
UNIT_OF: dict[Frequency, CalendarUnit] = {"daily": "days", "weekly": "weeks", "monthly": "months", "quarterly": "quarters", "annual": "years"}
_DAY = np.timedelta64(1, "D")
DAILY_YEAR_TOLERANCE_DAYS = 7  # a daily value "a year earlier" is the last one at most this many days before that date
WEEKLY_YEAR_TOLERANCE_DAYS = 3  # a weekly value 52 weeks earlier may be stamped up to this many days off


def frequency_of(index: pd.Index) -> Frequency | None:
    """The frequency of dated observations, from the median spacing of their dates (None if irregular or too few)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    spacing = float(np.median(np.diff(index.asi8))) / 86_400e9
    return next((name for name, low, high in _SPACING if low <= spacing <= high), None)


def describe(frequency: Frequency | None) -> str:
    return frequency or "irregular"


def period_keys(index: pd.DatetimeIndex, unit: CalendarUnit | Frequency) -> np.ndarray:
    """An integer per date naming its period: consecutive periods have consecutive keys."""
    if unit in ("days", "daily"):
        return index.to_numpy(dtype="datetime64[D]").astype(np.int64)
    if unit in ("weeks", "weekly"):
        # Weeks are counted from a Sunday: a Saturday stamp (the week's end) is in the week it ends.
        return (index.to_numpy(dtype="datetime64[D]").astype(np.int64) + 4) // 7
    years, months = index.year.to_numpy(dtype=np.int64), index.month.to_numpy(dtype=np.int64) - 1
    if unit in ("months", "monthly"):
        return years * 12 + months
    if unit in ("quarters", "quarterly"):
        return years * 4 + months // 3
    if unit == "semiannual":
        return years * 2 + months // 6
    return years


def period_starts(keys: np.ndarray, unit: CalendarUnit) -> pd.DatetimeIndex:
    """The first day of each month, quarter or year named by its key (the inverse of ``period_keys``)."""
    keys = np.asarray(keys, dtype=np.int64)
    if unit == "months":
        months = keys - 1970 * 12
    elif unit == "quarters":
        months = (keys // 4 - 1970) * 12 + (keys % 4) * 3
    elif unit == "years":
        months = (keys - 1970) * 12
    else:
        raise ValueError(f"no period starts for {unit}")
    return pd.DatetimeIndex(months.astype("datetime64[M]").astype("datetime64[ns]"))


def period_end(index: pd.DatetimeIndex, frequency: Frequency) -> pd.DatetimeIndex:
    """The last day of the period each date stands for (the date itself for daily data)."""
    if frequency == "daily":
        return index.normalize()
    if frequency == "weekly":  # stamped at the week's end
        return index.normalize()
    offset = {"monthly": pd.offsets.MonthEnd(0), "quarterly": pd.offsets.QuarterEnd(0), "semiannual": None, "annual": pd.offsets.YearEnd(0)}[frequency]
    if offset is None:
        ends = [pd.Timestamp(year=d.year, month=6 if d.month <= 6 else 12, day=30 if d.month <= 6 else 31) for d in index]
        return pd.DatetimeIndex(ends)
    return index.normalize() + offset


def known_from(index: pd.DatetimeIndex, frequency: Frequency) -> pd.DatetimeIndex:
    """The first day on which each period's value is known: the day after its period ends (no lookahead)."""
    return period_end(index, frequency) + pd.Timedelta(days=1) if frequency != "daily" else index


def one_year_earlier(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Each date minus one calendar year (29 February becomes 28 February), vectorised."""
    years = index.year.to_numpy() - 1
    months = index.month.to_numpy()
    days = index.day.to_numpy()
    leap = ((years % 4 == 0) & (years % 100 != 0)) | (years % 400 == 0)
    days = np.where((months == 2) & (days == 29) & ~leap, 28, days)
    stamps = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (months - 1).astype("timedelta64[M]")
    return pd.DatetimeIndex(stamps.astype("datetime64[D]") + (days - 1).astype("timedelta64[D]")).as_unit("ns")


def year_ago_positions(index: pd.DatetimeIndex, op: str) -> np.ndarray:
    """For each date, the position of the observation one calendar year earlier, or -1 where there is none.

    - daily: the same date a year earlier, or the last observation before it within 7 days
      (weekends and holidays move the calendar);
    - weekly: the week 52 weeks (364 days) earlier, stamped within 3 days of that date;
    - monthly, quarterly, semiannual, annual: the same period of the previous year, matched by
      period, so a month that was never published leaves a gap rather than a comparison with the
      wrong month.
    """
    frequency = frequency_of(index)
    if frequency is None:
        raise OperationError(f"'{op}' compares with a year earlier by calendar, but the dates are irregular (or too few) to tell the series' frequency; resample it first.")
    if frequency == "daily":
        return index.get_indexer(one_year_earlier(index), method="ffill", tolerance=pd.Timedelta(days=DAILY_YEAR_TOLERANCE_DAYS))
    if frequency == "weekly":
        return index.get_indexer(index - pd.Timedelta(days=364), method="nearest", tolerance=pd.Timedelta(days=WEEKLY_YEAR_TOLERANCE_DAYS))
    keys = pd.Index(period_keys(index, frequency))
    if not keys.is_unique:
        raise OperationError(f"'{op}': the {frequency} series has two observations in one period; resample it first.")
    return keys.get_indexer(keys - PER_YEAR[frequency])


def year_ago_values(values: pd.Series, op: str) -> np.ndarray:
    """The value one calendar year before each date (see ``year_ago_positions``), NaN where there is none."""
    positions = year_ago_positions(values.index, op)
    raw = values.to_numpy(dtype=float)
    return np.where(positions >= 0, raw[np.maximum(positions, 0)], np.nan)


class PeriodWindow(BaseIndexer):
    """Rolling windows over calendar periods: each window holds the observations whose period key lies
    within the ``window_size`` periods ending with the current one (so a missing period shortens the
    window instead of stretching it further back)."""

    def __init__(self, keys: np.ndarray, window_size: int):
        super().__init__(index_array=None, window_size=window_size)
        self.keys = keys

    def get_window_bounds(self, num_values: int = 0, min_periods: int | None = None, center: bool | None = None, closed: str | None = None, step: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        start = np.searchsorted(self.keys, self.keys - self.window_size + 1, side="left").astype(np.int64)
        end = np.arange(1, len(self.keys) + 1, dtype=np.int64)
        return start, end


def calendar_rolling(values: pd.Series, window: int, unit: CalendarUnit, min_periods: int, how: str) -> pd.Series:
    """``how`` (mean, min, max, std, sum) over calendar windows of ``window`` units; a window reaching
    back before the first observation's period is a gap."""
    keys = period_keys(values.index, unit)
    rolled = getattr(values.rolling(PeriodWindow(keys, window), min_periods=min_periods), how)()
    return rolled.where(keys - window + 1 >= keys[0])


def calendar_offset(periods: int, unit: CalendarUnit) -> pd.DateOffset:
    """A calendar offset of ``periods`` units (months keep the day of month, clipped at month end)."""
    return {
        "days": pd.DateOffset(days=periods), "weeks": pd.DateOffset(weeks=periods), "months": pd.DateOffset(months=periods),
        "quarters": pd.DateOffset(months=3 * periods), "years": pd.DateOffset(years=periods),
    }[unit]


def complete_periods(index: pd.DatetimeIndex, native: Frequency | None, target_keys: np.ndarray, target: CalendarUnit | Frequency) -> np.ndarray:
    """Which target periods (by key) the observations cover to their end: every one but, possibly, the last.

    The last period counts as complete when the next observation the series would have (the next
    weekday for daily data without weekends, the next day for 7-day data, one native step later
    otherwise) falls in a later period.
    """
    keys = np.unique(target_keys)
    complete = np.ones(keys.size, dtype=bool)
    if not len(index):
        return complete
    last = index[-1]
    if native == "daily":
        weekends = bool((index.dayofweek >= 5).any())
        following = last + (pd.Timedelta(days=1) if weekends else pd.offsets.BDay(1))
    elif native == "weekly":
        following = last + pd.Timedelta(days=7)
    elif native in ("monthly", "quarterly", "semiannual", "annual"):
        following = last + pd.DateOffset(months=12 // PER_YEAR[native])
    else:
        return complete
    next_key = period_keys(pd.DatetimeIndex([following]), target)[0]
    complete[-1] = next_key > keys[-1]
    return complete
