"""Returns operations: percent and log changes, cumulative returns, drawdowns and realized volatility.

Percentages are in percent (5.0 means 5 %); log returns are natural-log fractions. Prices must be
positive wherever a ratio or a logarithm is taken. Gaps follow the engine's one rule (see
``engine.primitives.stats``): they are skipped, so a change compares each observation with the
previous observation, and stay gaps in the result.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from contracts.errors import OperationError
from engine.primitives.calendar import year_ago_values
from engine.primitives.stats import observations, output_name, require_dates, skip_gaps
from engine.registry import NoParams, Params, Record, operation

VOL_CONE_COLUMNS = ["window", "min", "p25", "median", "p75", "max", "current"]


def _positive(x: pd.Series, op: str) -> pd.Series:
    """The observations of a price series; raise at the first zero or negative price."""
    values = x.dropna()
    bad = values[values <= 0]
    if not bad.empty:
        raise OperationError(f"'{op}' needs positive prices, but the value at {_label(bad.index[0])} is {bad.iloc[0]:g}.")
    return values


def _label(stamp: object) -> str:
    return stamp.date().isoformat() if isinstance(stamp, pd.Timestamp) else str(stamp)


class PercentChangeParams(Params):
    periods: int = Field(1, ge=1, description="compare with the value this many observations earlier")
    yoy: bool = Field(False, description="compare with the value one calendar year earlier, matched by date (year over year)")


def _ratio_change(values: pd.Series, prior: np.ndarray) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (values.to_numpy(dtype=float) / prior - 1) * 100
    change[~np.isfinite(change)] = np.nan
    return pd.Series(change, index=values.index)


@operation("percent_change", family="returns")
def percent_change(x: pd.Series, *, params: PercentChangeParams) -> pd.Series:
    """Percent change from an earlier value: ``(x[t] / x[t - periods] - 1) * 100``.

    Counts observations: gaps are skipped, so the value right after a gap is compared with the
    last observation before it, exactly ``(x / shift(x) - 1) * 100``.

    With ``yoy`` each value is compared with the value one calendar year earlier, found by date
    rather than by counting rows, for every frequency: monthly and quarterly data with the same
    month or quarter a year earlier (CPI for 2022-06 with 2021-06; a month missing a year earlier,
    such as CPI's unpublished 2025-10, gives a gap, not a comparison with the wrong month); weekly
    data with the week 52 weeks earlier; daily data with the same date a year earlier or the last
    observation before it (within a week). A zero earlier value gives a gap.

    Returns
    -------
    series in percent on the input's dates, named ``<source>_pct_change_<periods>`` or
    ``<source>_yoy_pct``.
    """
    if params.yoy:
        if params.periods != 1:
            raise OperationError("'percent_change' takes either 'periods' or 'yoy', not both; drop 'periods' for a year-over-year change.")
        require_dates(x, "percent_change")
        changed = skip_gaps(x, 2, "percent_change", lambda v: _ratio_change(v, year_ago_values(v, "percent_change")))
        return changed.rename(output_name(x, "yoy_pct"))
    changed = skip_gaps(x, params.periods + 1, "percent_change", lambda v: _ratio_change(v, v.shift(params.periods).to_numpy(dtype=float)))
    return changed.rename(output_name(x, f"pct_change_{params.periods}"))


class LogReturnParams(Params):
    periods: int = Field(1, ge=1, description="log return over this many observations")


@operation("log_return", family="returns")
def log_return(x: pd.Series, *, params: LogReturnParams) -> pd.Series:
    """Log return ``ln(x[t] / x[t - periods])`` of a price series, as a fraction (not percent).

    Returns
    -------
    series on the input's dates (the first ``periods`` are gaps), named ``<source>_log_return_<periods>``.
    """
    _positive(x, "log_return")

    def logged_change(values: pd.Series) -> pd.Series:
        logged = np.log(values)
        return logged - logged.shift(params.periods)

    return skip_gaps(x, params.periods + 1, "log_return", logged_change, "prices").rename(output_name(x, f"log_return_{params.periods}"))


@operation("cumulative_return", family="returns")
def cumulative_return(x: pd.Series, *, params: NoParams) -> pd.Series:
    """Growth of a price series since its first value, in percent: ``(x[t] / x[0] - 1) * 100``.

    Returns
    -------
    series in percent, 0 at the first observation, named ``<source>_cum_return``.
    """
    values = _positive(x, "cumulative_return")
    observations(values, 1, "cumulative_return", "prices")
    return ((x / values.iloc[0] - 1) * 100).rename(output_name(x, "cum_return"))


@operation("drawdown", family="returns")
def drawdown(x: pd.Series, *, params: NoParams) -> pd.Series:
    """How far a price series is below its running peak, in percent (0 at a new high, negative below).

    Returns
    -------
    series ``(x[t] / max(x[:t]) - 1) * 100`` (always <= 0), named ``<source>_drawdown``.
    """
    values = _positive(x, "drawdown")
    observations(values, 1, "drawdown", "prices")
    return ((values / values.cummax() - 1) * 100).reindex(x.index).rename(output_name(x, "drawdown"))


@operation("max_drawdown", family="returns")
def max_drawdown(x: pd.Series, *, params: NoParams) -> Record:
    """The deepest peak-to-trough fall of a price series, with its dates and whether it recovered.

    Returns
    -------
    record with ``max_drawdown_pct`` (percent, <= 0), ``peak_date`` (the high before the fall),
    ``trough_date`` (the low), ``recovery_date`` (first date back at or above the peak, or null
    while still below it) and ``current_drawdown_pct`` (the latest value's distance from its peak).
    """
    values = _positive(x, "max_drawdown")
    observations(values, 2, "max_drawdown", "prices")
    peaks = values.cummax()
    under = (values / peaks - 1) * 100
    trough = under.idxmin()
    peak = values.loc[:trough].idxmax()
    after = values.loc[trough:]
    recovered = after[after >= values.loc[peak]]
    return Record(
        max_drawdown_pct=float(under.loc[trough]),
        peak_date=_label(peak),
        trough_date=_label(trough),
        recovery_date=_label(recovered.index[0]) if float(under.loc[trough]) < 0 and not recovered.empty else None,
        current_drawdown_pct=float(under.iloc[-1]),
    )


class RealizedVolParams(Params):
    window: int = Field(21, ge=2, description="log returns per window (21 is about a month of trading days)")
    trading_days: int = Field(252, ge=1, description="trading days per year, for annualising")
    direction: Literal["trailing", "forward"] = Field("trailing", description="'trailing': the window of returns ending on each date; 'forward': the window that followed it (realized over the next 'window' days)")


def _vol_from_returns(log_returns: pd.Series, window: int, trading_days: int) -> pd.Series:
    return log_returns.rolling(window).std() * np.sqrt(trading_days) * 100


@operation("realized_vol", family="returns")
def realized_vol(x: pd.Series, *, params: RealizedVolParams) -> pd.Series:
    """Annualised realized volatility of a price series, in percent, over a rolling window.

    The sample standard deviation (ddof 1) of ``window`` daily log returns, times
    ``sqrt(trading_days)``, times 100: directly comparable with implied volatility and the VIX.

    ``direction`` says which window each date gets:

    - ``trailing`` (default): the returns of the ``window`` days ending on the date, known on it;
    - ``forward``: the returns of the ``window`` days after the date, the volatility that then
      materialised. Implied volatility quoted on a date is a forecast of this one, so the variance
      risk premium is measured against it (Carr and Wu 2009, "Variance Risk Premiums", Review of
      Financial Studies 22(3); Bollerslev, Tauchen and Zhou 2009, Review of Financial Studies 22(11),
      whose premium is implied minus the expected realized variance over the option's life). The
      last ``window`` dates are gaps: their future has not happened.

    Returns
    -------
    series of annualised volatility in percent, named ``<source>_rv_<window>`` or
    ``<source>_rv_fwd_<window>``.
    """
    _positive(x, "realized_vol")
    forward = params.direction == "forward"

    def vol(values: pd.Series) -> pd.Series:
        trailing = _vol_from_returns(np.log(values).diff(), params.window, params.trading_days)
        return trailing.shift(-params.window) if forward else trailing

    name = f"rv_fwd_{params.window}" if forward else f"rv_{params.window}"
    return skip_gaps(x, params.window + 1, "realized_vol", vol, "prices").rename(output_name(x, name))


class VolConeParams(Params):
    windows: list[int] = Field([10, 21, 63, 126, 252], min_length=1, description="window lengths in trading days, one cone row each")
    trading_days: int = Field(252, ge=1, description="trading days per year, for annualising")

    @field_validator("windows")
    @classmethod
    def _windows(cls, windows: list[int]) -> list[int]:
        if any(w < 2 for w in windows):
            raise ValueError("every window must be at least 2 returns")
        if len(set(windows)) != len(windows):
            raise ValueError("windows must not repeat")
        return windows


@operation("vol_cone", family="returns", columns=VOL_CONE_COLUMNS)
def vol_cone(x: pd.Series, *, params: VolConeParams) -> pd.DataFrame:
    """Volatility cone: the range of realized volatility seen at each window length.

    For each window the rolling annualised realized volatility (as ``realized_vol``) is computed
    over the whole history; the row gives its minimum, quartiles, maximum and latest value, so the
    current volatility can be read against its own history at each horizon.

    Returns
    -------
    frame with one row per window: ``window, min, p25, median, p75, max, current`` (percent).
    """
    values = _positive(x, "vol_cone")
    longest = max(params.windows)
    if len(values) < longest + 1:
        short = sorted(w for w in params.windows if len(values) < w + 1)
        raise OperationError(
            f"'vol_cone' needs {longest + 1} prices for its longest window ({longest}), got {len(values)}; "
            f"widen the date range or drop window(s) {', '.join(map(str, short))}."
        )
    log_returns = np.log(values).diff()
    rows = []
    for window in sorted(params.windows):
        vol = _vol_from_returns(log_returns, window, params.trading_days).dropna()
        quartiles = vol.quantile([0.25, 0.5, 0.75])
        rows.append({
            "window": window, "min": float(vol.min()), "p25": float(quartiles.loc[0.25]), "median": float(quartiles.loc[0.5]),
            "p75": float(quartiles.loc[0.75]), "max": float(vol.max()), "current": float(vol.iloc[-1]),
        })
    return pd.DataFrame(rows, columns=VOL_CONE_COLUMNS)


TransformHow = Literal["level", "change", "yoy_change", "percent_change", "yoy_percent", "zscore"]


class TransformParams(Params):
    how: TransformHow = Field("level", description="level (unchanged), change (from the previous observation), yoy_change, percent_change, yoy_percent (percent change from a year earlier) or zscore (over the whole series)")


@operation("transform", family="returns")
def transform(x: pd.Series, *, params: TransformParams) -> pd.Series:
    """One of the usual views of a series, chosen by ``how``, so a model can offer the choice as an input.

    ``level`` is the series itself; ``change`` is ``diff``; ``yoy_change`` is ``diff`` with ``yoy``;
    ``percent_change`` and ``yoy_percent`` are ``percent_change`` (by observation, and by calendar
    year); ``zscore`` is ``zscore`` over the whole series. Each follows its operation's conventions.

    Returns
    -------
    series named as the chosen operation names it.
    """
    from engine.primitives import stats

    if params.how == "level":
        return x
    if params.how == "change":
        return stats.diff(x, params=stats.DiffParams())
    if params.how == "yoy_change":
        return stats.diff(x, params=stats.DiffParams(yoy=True))
    if params.how == "percent_change":
        return percent_change(x, params=PercentChangeParams())
    if params.how == "yoy_percent":
        return percent_change(x, params=PercentChangeParams(yoy=True))
    return stats.zscore(x, params=stats.OptionalWindowParams())
