"""Statistics operations: rolling windows, standardisation, resampling and summaries.

Missing values follow one rule in every operation of the engine (``skip_gaps``): a gap (NaN) is
skipped, never filled and never counted. Operations that look back (``shift``, ``diff``,
``percent_change``, ``log_return``, rolling windows counted in observations, ``ewm_mean``,
``realized_vol``) count observations, so each value is compared with the previous observation;
the result at a gap is a gap. An operation therefore gives the same values whether a missing
observation is a row holding NaN or no row at all, and ``percent_change`` is exactly
``x / shift(x) - 1`` (times 100), ``diff`` is ``x - shift(x)``, right after a gap too.

Windows count observations by default (a 20-step window over daily market data is 20 trading
days); with ``unit`` they are calendar periods (``window: 3, unit: months``): a window then holds
the observations of those periods only, so a missing month shortens it instead of stretching it
further back, and a window reaching back before the first observation's period is a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from contracts.errors import OperationError
from engine.primitives.calendar import (
    CalendarUnit,
    calendar_offset,
    calendar_rolling,
    complete_periods,
    frequency_of,
    period_keys,
    period_starts,
    year_ago_values,
)
from engine.registry import NoParams, Params, Record, operation

ResampleRule = Literal["W", "M", "Q", "A"]
ResampleHow = Literal["mean", "last", "first", "sum", "max", "min"]
WindowUnit = Literal["observations", "days", "weeks", "months", "quarters", "years"]

# Pandas offsets: weeks end on Friday (as FRED's weekly aggregation); months, quarters and years are
# stamped at the period's first day, as FRED stamps them (2024-01-01 for January 2024).
_RULES: dict[str, str] = {"W": "W-FRI", "M": "MS", "Q": "QS", "A": "YS"}
_RULE_DAYS: dict[str, float] = {"W": 7, "M": 365.25 / 12, "Q": 365.25 / 4, "A": 365.25}
_RULE_NAMES: dict[str, str] = {"W": "weekly", "M": "monthly", "Q": "quarterly", "A": "annual"}
_RULE_UNITS: dict[str, CalendarUnit] = {"W": "weeks", "M": "months", "Q": "quarters", "A": "years"}
_UNIT_SUFFIX: dict[str, str] = {"days": "d", "weeks": "w", "months": "m", "quarters": "q", "years": "y"}
FLAT_TOLERANCE = 1e-12  # relative: a spread below this times the values' magnitude is no spread


def output_name(x: pd.Series, suffix: str) -> str:
    """Name a derived series ``<source>_<suffix>`` (``DGS10_zscore_20``), or ``suffix`` when unnamed."""
    return f"{x.name}_{suffix}" if x.name is not None and str(x.name) != "" else suffix


def observations(x: pd.Series, needed: int, op: str, what: str = "observations") -> pd.Series:
    """The non-missing values of ``x``; raise when there are fewer than ``needed``."""
    raw = x.to_numpy()
    values = x if raw.dtype.kind == "f" and not np.isnan(raw).any() else x.dropna()
    if len(values) < needed:
        raise OperationError(f"'{op}' needs at least {needed} {what}, got {len(values)}; widen the date range or shorten the window.")
    return values


def skip_gaps(x: pd.Series, needed: int, op: str, compute: Callable[[pd.Series], pd.Series], what: str = "observations") -> pd.Series:
    """The engine's one rule for missing values: compute on the observations (gaps dropped), then put
    the result back on ``x``'s dates, where every gap stays a gap."""
    values = observations(x, needed, op, what)
    result = compute(values)
    return result if len(values) == len(x) else result.reindex(x.index)


def is_flat(values: pd.Series | np.ndarray, spread: float) -> bool:
    """Whether a spread (standard deviation, range) is nothing but rounding noise of the values' size."""
    scale = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    return not spread > FLAT_TOLERANCE * max(scale, 1e-300)


def require_dates(x: pd.Series | pd.DataFrame, op: str) -> None:
    """Raise unless ``x`` is indexed by dates."""
    if not isinstance(x.index, pd.DatetimeIndex):
        raise OperationError(f"'{op}' needs a series indexed by dates, got an index of {x.index.dtype}.")


class WindowParams(Params):
    window: int = Field(ge=1, description="size of each window: observations (e.g. 20 trading days), or calendar periods with 'unit'")
    min_periods: int | None = Field(None, ge=1, description="fewest observations a window may hold and still give a value; default: the whole window (in observations), or 1 for calendar windows")
    unit: WindowUnit = Field("observations", description="what 'window' counts: observations (default), or calendar days, weeks, months, quarters or years")

    @model_validator(mode="after")
    def _min_within_window(self) -> WindowParams:
        if self.unit == "observations" and self.min_periods is not None and self.min_periods > self.window:
            raise ValueError(f"min_periods ({self.min_periods}) cannot exceed window ({self.window})")
        return self

    def suffix(self) -> str:
        return str(self.window) if self.unit == "observations" else f"{self.window}{_UNIT_SUFFIX[self.unit]}"


def _rolling(x: pd.Series, params: WindowParams, op: str, how: str) -> pd.Series:
    name = output_name(x, f"{op}_{params.suffix()}")
    if params.unit != "observations":
        require_dates(x, op)
        needed = params.min_periods or 1
        return skip_gaps(x, needed, op, lambda v: calendar_rolling(v, params.window, params.unit, needed, how)).rename(name)  # type: ignore[arg-type]
    needed = params.min_periods or params.window
    return skip_gaps(x, needed, op, lambda v: getattr(v.rolling(params.window, min_periods=needed), how)()).rename(name)


@operation("rolling_mean", family="stats")
def rolling_mean(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Moving average over the last ``window`` observations.

    Parameters
    ----------
    window : observations per window (e.g. 4 weeks of jobless claims, 20 trading days), or
        calendar periods with ``unit`` (e.g. 3 months for the Sahm rule's average).
    min_periods : fewest observations needed for a value; default the whole window, so the first
        ``window - 1`` points are gaps (1 for calendar windows).
    unit : ``observations`` (default) or ``days``, ``weeks``, ``months``, ``quarters``, ``years``.

    Gaps are skipped (see the family's help). A calendar window holds the observations of its
    periods only: a month that was never published shortens it rather than stretching it back.

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_mean_<window>`` (``..._3m`` for calendar windows).
    """
    return _rolling(x, params, "rolling_mean", "mean")


@operation("rolling_std", family="stats")
def rolling_std(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Moving sample standard deviation (ddof 1) over the last ``window`` observations or calendar periods.

    Returns
    -------
    series on the input's dates, in the input's units, named ``<source>_rolling_std_<window>``.
    """
    if params.window < 2 and params.unit == "observations":
        raise OperationError("'rolling_std' needs a window of at least 2 observations; a single value has no spread.")
    return _rolling(x, params, "rolling_std", "std")


@operation("rolling_min", family="stats")
def rolling_min(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Lowest value over the last ``window`` observations or calendar periods (e.g. the Sahm rule's 12-month low).

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_min_<window>``.
    """
    return _rolling(x, params, "rolling_min", "min")


@operation("rolling_max", family="stats")
def rolling_max(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Highest value over the last ``window`` observations or calendar periods (``unit``).

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_max_<window>``.
    """
    return _rolling(x, params, "rolling_max", "max")


class EwmParams(Params):
    span: float = Field(ge=1, description="span of the exponential average; the weight is alpha = 2 / (span + 1)")


@operation("ewm_mean", family="stats")
def ewm_mean(x: pd.Series, *, params: EwmParams) -> pd.Series:
    """Exponentially weighted moving average (the recursive EMA, alpha = 2 / (span + 1)).

    The average starts at the first observation and then moves ``alpha`` of the way towards each new
    value: ``ema[t] = alpha * x[t] + (1 - alpha) * ema[t-1]``. Gaps are skipped and stay gaps.

    Returns
    -------
    series on the input's dates, named ``<source>_ewm_<span>``.
    """
    smoothed = skip_gaps(x, 1, "ewm_mean", lambda v: v.ewm(span=params.span, adjust=False).mean())
    return smoothed.rename(output_name(x, f"ewm_{params.span:g}"))


class OptionalWindowParams(Params):
    window: int | None = Field(None, ge=2, description="observations per rolling window; leave empty to use the whole series")


@operation("zscore", family="stats")
def zscore(x: pd.Series, *, params: OptionalWindowParams) -> pd.Series:
    """Standard score: how many standard deviations each point lies from the mean.

    With ``window`` the mean and sample standard deviation (ddof 1) are those of the last
    ``window`` observations, including the point itself; without it they are those of the whole
    series. A flat series is an error and a flat window (no spread) gives a gap, judged with a
    tolerance: a spread below 1e-12 of the values' size is rounding noise, not spread (a rolling
    standard deviation of a flat window is often 1e-9 rather than 0).

    Returns
    -------
    series of standard deviations from the mean, named ``<source>_zscore_<window>`` (or
    ``<source>_zscore`` over the whole series).
    """
    if params.window is None:
        values = observations(x, 2, "zscore")
        std = values.std()
        if is_flat(values, std):
            raise OperationError("'zscore' of a flat series is undefined: every value is the same, so there is no spread to divide by.")
        return ((x - values.mean()) / std).rename(output_name(x, "zscore"))

    def rolling_scores(values: pd.Series) -> pd.Series:
        rolling = values.rolling(params.window)
        mean, std = rolling.mean(), rolling.std()
        spread = (rolling.max() - rolling.min()).to_numpy()
        scale = np.maximum(rolling.max().abs(), rolling.min().abs()).to_numpy()
        flat = ~(spread > FLAT_TOLERANCE * np.maximum(scale, 1e-300))  # rolling sums leave noise where a window is flat
        return ((values - mean) / std).mask(flat).replace([np.inf, -np.inf], np.nan)

    return skip_gaps(x, params.window, "zscore", rolling_scores).rename(output_name(x, f"zscore_{params.window}"))


@operation("percentile_rank", family="stats")
def percentile_rank(x: pd.Series, *, params: OptionalWindowParams) -> pd.Series:
    """Percentile (0 to 100) of each point among the observations of its window or the whole series.

    The rank counts the point itself; ties share their average rank, so the highest value of a
    window scores 100 and the lowest ``100 / window``. Without ``window`` each point is ranked
    against the whole series (which includes later observations).

    Returns
    -------
    series of percentiles 0 to 100, named ``<source>_pctrank_<window>`` (or ``<source>_pctrank``).
    """
    if params.window is None:
        return skip_gaps(x, 1, "percentile_rank", lambda v: v.rank(pct=True) * 100).rename(output_name(x, "pctrank"))
    ranked = skip_gaps(x, params.window, "percentile_rank", lambda v: v.rolling(params.window).rank(pct=True) * 100)
    return ranked.rename(output_name(x, f"pctrank_{params.window}"))


class ResampleParams(Params):
    rule: ResampleRule = Field(description="target frequency: W (weeks ending Friday), M (months), Q (quarters), A (years)")
    how: ResampleHow = Field("mean", description="how to combine a period's observations: mean, last, first, sum, max or min")
    partial: Literal["drop", "keep"] = Field("drop", description="the last period when the data stops before it ends: 'drop' it (default) or 'keep' its partial aggregate")


def aggregate(values: pd.Series, rule: ResampleRule, how: ResampleHow, partial: str) -> pd.Series:
    """Aggregate observations to ``rule``'s periods, stamped at the period's first day (weeks: Friday)."""
    if rule == "W":
        grouped = values.resample(_RULES[rule])
        out = grouped.sum(min_count=1) if how == "sum" else getattr(grouped, how)()
    else:  # group by period key: pandas' month-start ranges are built one date at a time
        keys = period_keys(values.index, _RULE_UNITS[rule])
        by_key = values.groupby(keys)
        out = by_key.sum(min_count=1) if how == "sum" else getattr(by_key, how)()
        out.index = period_starts(out.index.to_numpy(), _RULE_UNITS[rule])
    out = out.dropna()
    if partial == "drop" and len(out):
        unit = _RULE_UNITS[rule]
        done = complete_periods(values.index, frequency_of(values.index), period_keys(values.index, unit), unit)
        if not done[-1] and period_keys(out.index[-1:], unit)[0] == np.unique(period_keys(values.index, unit))[-1]:
            out = out.iloc[:-1]
    return out


@operation("resample", family="stats")
def resample(x: pd.Series, *, params: ResampleParams) -> pd.Series:
    """Aggregate a series to a lower frequency (weekly, monthly, quarterly or annual).

    Months, quarters and years are stamped at their first day, as FRED stamps them (January 2024
    is 2024-01-01); weeks end on Friday and are stamped with that Friday. Periods without any
    observation are left out. Resampling to a higher frequency than the series has is an error.

    The last period is often unfinished (daily yields to 20 August make a partial August). By
    default (``partial: drop``) it is left out, so a monthly average is always a whole month's;
    it counts as finished when the series' next observation (the next weekday for daily data)
    would fall in the following period. ``partial: keep`` keeps it.

    Returns
    -------
    series at the new frequency, named ``<source>_<rule>_<how>``.
    """
    require_dates(x, "resample")
    values = observations(x, 1, "resample")
    if len(values) > 1:
        spacing = float(np.median(np.diff(values.index.asi8))) / 86_400e9
        if spacing > _RULE_DAYS[params.rule] * 1.1:
            raise OperationError(
                f"'resample' only aggregates to a lower frequency: observations here are about {spacing:.0f} days apart, "
                f"already sparser than {_RULE_NAMES[params.rule]} ('{params.rule}'); choose a longer rule among W, M, Q, A."
            )
    out = aggregate(values, params.rule, params.how, params.partial)
    if out.empty:
        raise OperationError(f"'resample' has no complete {_RULE_NAMES[params.rule]} period in the range; widen the date range or set partial to 'keep'.")
    return out.rename(output_name(x, f"{params.rule}_{params.how}"))


class ShiftParams(Params):
    periods: int = Field(description="how far to shift: positive moves values later (a lag), negative earlier (a lead)")
    unit: WindowUnit = Field("observations", description="what 'periods' counts: observations (default; the dates stay), or calendar days, weeks, months, quarters or years (the dates move)")


@operation("shift", family="stats")
def shift(x: pd.Series, *, params: ShiftParams) -> pd.Series:
    """Lag (or lead) a series by a number of observations, or move its dates by calendar periods.

    By observations (the default) the dates stay and the values move: ``periods = 1`` puts the
    previous observation's value on each date; gaps are skipped (the value before a gap is the
    last observation before it) and the first point becomes a gap.

    With a calendar ``unit`` the values stay and the dates move: ``periods: 12, unit: months``
    dates each value twelve months later, e.g. to show a forecast made in a month at the month it
    is about (the New York Fed's recession probability). Month ends stay month ends (31 January
    plus one month is 28 or 29 February).

    Returns
    -------
    series named ``<source>_shift_<periods>`` (``..._shift_12m`` for calendar shifts).
    """
    if params.unit != "observations":
        require_dates(x, "shift")
        moved = x.copy()
        moved.index = x.index + calendar_offset(params.periods, params.unit)  # type: ignore[arg-type]
        return moved.rename(output_name(x, f"shift_{params.periods}{_UNIT_SUFFIX[params.unit]}"))
    shifted = skip_gaps(x, abs(params.periods) + 1, "shift", lambda v: v.shift(params.periods))
    return shifted.rename(output_name(x, f"shift_{params.periods}"))


class DiffParams(Params):
    periods: int = Field(1, ge=1, description="difference with the value this many observations earlier")
    yoy: bool = Field(False, description="difference with the value one calendar year earlier, matched by date (year over year)")


@operation("diff", family="stats")
def diff(x: pd.Series, *, params: DiffParams) -> pd.Series:
    """Change from an earlier value, in the series' own units: ``x[t] - x[t - periods]``.

    Counts observations (gaps are skipped, as in ``shift``). With ``yoy`` the earlier value is the
    one a calendar year before, found by date as ``percent_change`` does: the same month or quarter
    a year earlier, 52 weeks earlier for weekly data, the same date (or the last observation before
    it, within a week) for daily data.

    Returns
    -------
    series on the input's dates (the first ``periods`` are gaps), named ``<source>_diff_<periods>``
    or ``<source>_yoy_diff``.
    """
    if params.yoy:
        if params.periods != 1:
            raise OperationError("'diff' takes either 'periods' or 'yoy', not both; drop 'periods' for a year-over-year change.")
        require_dates(x, "diff")
        changed = skip_gaps(x, 2, "diff", lambda v: v - year_ago_values(v, "diff"))
        return changed.rename(output_name(x, "yoy_diff"))
    changed = skip_gaps(x, params.periods + 1, "diff", lambda v: v.diff(params.periods))
    return changed.rename(output_name(x, f"diff_{params.periods}"))


@operation("last", family="stats")
def last(x: pd.Series, *, params: NoParams) -> float:
    """The latest non-missing value of a series, as a headline number."""
    return float(observations(x, 1, "last").iloc[-1])


@operation("mean_value", family="stats")
def mean_value(x: pd.Series, *, params: NoParams) -> float:
    """The average of a series' non-missing values, as a single number."""
    return float(observations(x, 1, "mean_value").mean())


@operation("summary", family="stats")
def summary(x: pd.Series, *, params: NoParams) -> Record:
    """Summary statistics of a series: latest value and date, mean, std, min, max, count.

    Returns
    -------
    record with ``latest``, ``latest_date``, ``mean``, ``std``, ``min``, ``max``, ``count``, and
    ``share_negative``: the fraction (0 to 1, not percent) of observations below zero, e.g. the
    share of days a yield spread was inverted; format it with ``.1%``.
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
        share_negative=float((values < 0).mean()),
    )
