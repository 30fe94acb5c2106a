"""Analysis operations: correlations, OLS regressions and market beta between series.

Two series are aligned once, by ``engine.primitives.align`` (``align``: ``inner`` keeps the dates
both have and refuses different frequencies; ``mean``, ``last``, ``sum`` aggregate the
higher-frequency series to the other's periods; ``ffill`` and ``same_period`` carry the
lower-frequency one onto the other's dates), and every statistic is then computed on those pairs.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from contracts.errors import OperationError
from engine.primitives.align import ALIGN_HELP, Align, align_pair
from engine.primitives.calendar import describe, frequency_of
from engine.registry import Params, Record, operation

Method = Literal["pearson", "spearman", "kendall"]
FIT_COLUMNS = ["x", "y", "fitted", "residual"]
MIN_PAIRS = 3


def _name(x: pd.Series, fallback: str) -> str:
    return str(x.name) if x.name is not None and str(x.name) != "" else fallback


def _pairs(a: pd.Series, b: pd.Series, how: Align, op: str, needed: int = MIN_PAIRS) -> tuple[pd.Series, pd.Series]:
    """Align two series (once) and check there are enough common dates and that neither is flat."""
    left, right = align_pair(a, b, how, op)
    return _checked(left, right, op, needed)


def _checked(left: pd.Series, right: pd.Series, op: str, needed: int) -> tuple[pd.Series, pd.Series]:
    """Check aligned pairs: enough of them, and neither side flat."""
    if len(left) < needed:
        raise OperationError(f"'{op}' needs at least {needed} dates the two series share, got {len(left)}; widen the date range.")
    for series, which in ((left, "first"), (right, "second")):
        if series.nunique() < 2:
            raise OperationError(f"'{op}': the {which} series is flat on the common dates, so it cannot co-move with anything.")
    return left, right


class CorrelationParams(Params):
    method: Method = Field("pearson", description="pearson (linear), spearman (rank) or kendall (rank concordance)")
    align: Align = Field("inner", description=ALIGN_HELP)


@operation("correlation", family="analysis")
def correlation(a: pd.Series, b: pd.Series, *, params: CorrelationParams) -> float:
    """Correlation coefficient (-1 to 1) of two series over their common dates.

    Correlate returns or changes rather than price levels: trending levels correlate spuriously.
    Spearman ranks ties by their average rank; Kendall's is tau-b (adjusted for ties), as scipy
    computes them.

    Returns
    -------
    scalar between -1 and 1.
    """
    left, right = _pairs(a, b, params.align, "correlation")
    return pair_correlation(left.to_numpy(dtype=float), right.to_numpy(dtype=float), params.method)


def pair_correlation(x: np.ndarray, y: np.ndarray, method: Method) -> float:
    """Pearson, Spearman (ranks, ties averaged) or Kendall's tau-b of two aligned arrays."""
    from scipy import stats

    if method == "pearson":
        return float(np.corrcoef(x, y)[0, 1])
    if method == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    return float(stats.kendalltau(x, y).statistic)


class RollingCorrelationParams(Params):
    window: int = Field(ge=3, description="common observations per window, e.g. 63 trading days")
    align: Align = Field("inner", description=ALIGN_HELP)


@operation("rolling_correlation", family="analysis")
def rolling_correlation(a: pd.Series, b: pd.Series, *, params: RollingCorrelationParams) -> pd.Series:
    """Pearson correlation of two series over a moving window of their common dates.

    A window in which either series is flat gives a gap.

    Returns
    -------
    series between -1 and 1 on the common dates (the first ``window - 1`` are gaps), named
    ``corr_<a>_<b>_<window>``.
    """
    left, right = _pairs(a, b, params.align, "rolling_correlation", params.window)
    out = left.rolling(params.window).corr(right).replace([np.inf, -np.inf], np.nan)
    return out.rename(f"corr_{_name(a, 'a')}_{_name(b, 'b')}_{params.window}")


class CorrelationMatrixParams(Params):
    method: Method = Field("pearson", description="pearson (linear), spearman (rank) or kendall (rank concordance)")
    labels: list[str] | None = Field(None, description="names for the rows and columns, one per input in order (default: the series' own names)")
    dates: Literal["common", "pairwise"] = Field("common", description="'common': every pair on the dates all series share (default); 'pairwise': each pair on the dates those two share")


@operation("correlation_matrix", family="analysis")
def correlation_matrix(*xs: pd.Series, params: CorrelationMatrixParams) -> pd.DataFrame:
    """Correlations of every pair of two or more series, as a square table (for a heatmap).

    With ``dates: common`` (the default) every pair is measured over the same dates, those all
    the series have, so the entries describe one period and the matrix is a proper correlation
    matrix (positive semi-definite). ``pairwise`` lets each pair use the dates those two share,
    so a short series does not shorten the others (the entries then describe different periods).
    The series must share a frequency (resample first). Series that share a name get a number
    suffix (``SPY``, ``SPY_2``).

    Returns
    -------
    frame with one row and one column per series (the index is named ``series``), 1 on the diagonal.
    """
    if len(xs) < 2:
        raise OperationError(f"'correlation_matrix' needs at least 2 series, got {len(xs)}.")
    if params.labels is not None:
        if len(params.labels) != len(xs) or len(set(params.labels)) != len(xs):
            raise OperationError(f"'correlation_matrix' got {len(params.labels)} labels for {len(xs)} series; give one distinct label per input.")
        xs = tuple(x.rename(label) for x, label in zip(xs, params.labels, strict=True))
    names: list[str] = []
    for position, x in enumerate(xs, start=1):
        base = _name(x, f"x{position}")
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}_{count}"
        names.append(name)
    frequencies = {name: frequency_of(x.dropna().index) for name, x in zip(names, xs, strict=True)}
    if len({f for f in frequencies.values() if f is not None}) > 1:
        listed = ", ".join(f"{n} {describe(f)}" for n, f in frequencies.items())
        raise OperationError(f"'correlation_matrix' needs series of one frequency, got {listed}; resample them to one frequency first.")
    frame = pd.concat([x.rename(n) for x, n in zip(xs, names, strict=True)], axis=1)
    if params.dates == "common":
        frame = frame.dropna()
        if len(frame) < MIN_PAIRS:
            raise OperationError(
                f"'correlation_matrix': the {len(names)} series share {len(frame)} dates, fewer than {MIN_PAIRS}; "
                "align their date ranges, or set dates to 'pairwise'."
            )
    for name in names:
        if frame[name].dropna().nunique() < 2:
            raise OperationError(f"'correlation_matrix': the series '{name}' is flat or empty, so it has no correlation with anything.")
    if params.dates == "pairwise":
        common = frame.notna().astype(int)
        shared = common.T @ common
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                if shared.loc[first, second] < MIN_PAIRS:
                    raise OperationError(
                        f"'correlation_matrix': '{first}' and '{second}' share {shared.loc[first, second]} dates, fewer than {MIN_PAIRS}; "
                        "align their date ranges or frequencies (resample) first."
                    )
    matrix = frame.corr(method=params.method, min_periods=MIN_PAIRS)
    matrix.index.name = "series"
    return matrix


class RegressionParams(Params):
    align: Align = Field("inner", description=ALIGN_HELP)


def _ols(y: pd.Series, x: pd.Series) -> Any:
    """statsmodels OLS of y on x with an intercept (imported here: it costs seconds at start-up)."""
    import statsmodels.api as sm

    design = sm.add_constant(x.to_numpy(dtype=float), has_constant="add")
    return sm.OLS(y.to_numpy(dtype=float), design).fit()


@operation("regression", family="analysis")
def regression(y: pd.Series, x: pd.Series, *, params: RegressionParams) -> Record:
    """Ordinary least squares of ``y`` on ``x`` with an intercept: ``y = alpha + beta * x + error``.

    Fitted with statsmodels OLS on the common dates (e.g. Okun's law: change in unemployment on
    GDP growth).

    Returns
    -------
    record with ``alpha``, ``beta``, ``r2``, ``n`` (observations), the standard errors ``se_alpha``
    and ``se_beta``, the t statistics ``t_alpha`` and ``t_beta``, and ``p_beta`` (two-sided p-value
    of beta = 0).
    """
    left, right = _pairs(y, x, params.align, "regression")
    fit = _ols(left, right)
    return Record(
        alpha=float(fit.params[0]), beta=float(fit.params[1]), r2=float(fit.rsquared), n=float(fit.nobs),
        se_alpha=float(fit.bse[0]), se_beta=float(fit.bse[1]),
        t_alpha=float(fit.tvalues[0]), t_beta=float(fit.tvalues[1]), p_beta=float(fit.pvalues[1]),
    )


@operation("regression_fit", family="analysis", columns=FIT_COLUMNS)
def regression_fit(y: pd.Series, x: pd.Series, *, params: RegressionParams) -> pd.DataFrame:
    """The points and fitted line of the OLS regression of ``y`` on ``x`` (for a scatter chart).

    Returns
    -------
    frame indexed by the common dates (index ``date``) with columns ``x``, ``y``, ``fitted``
    (``alpha + beta * x``) and ``residual`` (``y - fitted``).
    """
    left, right = _pairs(y, x, params.align, "regression_fit")
    fit = _ols(left, right)
    fitted = np.asarray(fit.fittedvalues, dtype=float)
    frame = pd.DataFrame({"x": right.to_numpy(dtype=float), "y": left.to_numpy(dtype=float), "fitted": fitted}, index=left.index)
    frame["residual"] = frame["y"] - frame["fitted"]
    frame.index.name = "date"
    return frame


class BetaParams(Params):
    returns: bool = Field(True, description="true: the inputs are prices, turned into simple daily returns first; false: they are returns already")
    trading_days: int = Field(252, ge=1, description="periods per year, for annualising alpha")
    align: Align = Field("inner", description=ALIGN_HELP)


def _return_pairs(asset: pd.Series, market: pd.Series, returns: bool, align: Align, op: str, needed: int) -> tuple[pd.Series, pd.Series]:
    """Aligned asset and market returns; prices are aligned first, so both returns span the same days."""
    left, right = align_pair(asset, market, align, op)
    if returns:
        for series, which in ((left, "asset"), (right, "market")):
            if (series <= 0).any():
                raise OperationError(f"'{op}': the {which} has zero or negative prices; set returns to false if the inputs are already returns.")
        a, m = left.to_numpy(dtype=float), right.to_numpy(dtype=float)
        index = left.index[1:]
        left = pd.Series(a[1:] / a[:-1] - 1, index=index, name=left.name)
        right = pd.Series(m[1:] / m[:-1] - 1, index=index, name=right.name)
    return _checked(left, right, op, needed)


@operation("beta", family="analysis")
def beta(asset: pd.Series, market: pd.Series, *, params: BetaParams) -> Record:
    """Market beta of an asset: the slope of its returns on the market's returns (OLS with intercept).

    With ``returns`` (the default) both inputs are prices, aligned on common dates and turned into
    simple daily returns. Alpha is the intercept per period, annualised as
    ``alpha * trading_days * 100`` percent.

    Returns
    -------
    record with ``beta``, ``alpha_annual_pct``, ``r2``, ``correlation`` and ``n`` (return pairs).
    """
    left, right = _return_pairs(asset, market, params.returns, params.align, "beta", MIN_PAIRS)
    fit = _ols(left, right)
    return Record(
        beta=float(fit.params[1]),
        alpha_annual_pct=float(fit.params[0]) * params.trading_days * 100,
        r2=float(fit.rsquared),
        correlation=pair_correlation(left.to_numpy(dtype=float), right.to_numpy(dtype=float), "pearson"),
        n=float(fit.nobs),
    )


class RollingBetaParams(Params):
    window: int = Field(63, ge=3, description="return pairs per window (63 is about a quarter of trading days)")
    returns: bool = Field(True, description="true: the inputs are prices, turned into simple daily returns first; false: they are returns already")
    align: Align = Field("inner", description=ALIGN_HELP)


@operation("rolling_beta", family="analysis")
def rolling_beta(asset: pd.Series, market: pd.Series, *, params: RollingBetaParams) -> pd.Series:
    """Market beta over a moving window: covariance with the market over the market's variance.

    Returns
    -------
    series on the common return dates (the first ``window - 1`` are gaps), named
    ``beta_<asset>_<market>_<window>``.
    """
    left, right = _return_pairs(asset, market, params.returns, params.align, "rolling_beta", params.window)
    out = left.rolling(params.window).cov(right) / right.rolling(params.window).var()
    return out.replace([np.inf, -np.inf], np.nan).rename(f"beta_{_name(asset, 'asset')}_{_name(market, 'market')}_{params.window}")
