"""Math operations: element-wise arithmetic with explicit alignment, and simple transforms.

Two series are put on common dates by ``engine.primitives.align`` (``align``: ``inner``, ``mean``,
``last``, ``sum``, ``ffill`` or ``same_period``); series of different frequencies never align
silently.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from contracts.errors import OperationError
from engine.primitives.align import ALIGN_HELP, Align, align_pair
from engine.registry import Params, operation, series_if_any_series


class ArithmeticParams(Params):
    constant: float | None = Field(None, description="use this number as the second operand when only one input is given")
    align: Align = Field("inner", description=ALIGN_HELP)


def _binary(name: str, a: pd.Series | float, b: pd.Series | float | None, params: ArithmeticParams, fn: np.ufunc) -> pd.Series | float:
    if b is None:
        if params.constant is None:
            raise OperationError(f"'{name}' needs two inputs, or one input and the 'constant' parameter.")
        b = params.constant
    elif params.constant is not None:
        raise OperationError(f"'{name}' got two inputs and a constant; give one or the other.")
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        left, right = align_pair(a, b, params.align, name)
        out = pd.Series(fn(left.to_numpy(dtype=float), right.to_numpy(dtype=float)), index=left.index)
        return out.replace([np.inf, -np.inf], np.nan).rename(f"{name}_{a.name}_{b.name}")
    if isinstance(a, pd.Series):
        return pd.Series(fn(a.to_numpy(dtype=float), float(b)), index=a.index, name=a.name).replace([np.inf, -np.inf], np.nan)
    if isinstance(b, pd.Series):
        return pd.Series(fn(float(a), b.to_numpy(dtype=float)), index=b.index, name=b.name).replace([np.inf, -np.inf], np.nan)
    result = float(fn(float(a), float(b)))
    return result if np.isfinite(result) else float("nan")


@operation("add", family="math", output_rule=series_if_any_series)
def add(a: pd.Series | float, b: pd.Series | float | None = None, *, params: ArithmeticParams) -> pd.Series | float:
    """Add two values (series or scalars), or add ``constant`` to one value.

    Two series are aligned on dates first (``align``; see the family's help: different
    frequencies must say how they meet, e.g. ``mean`` to average daily data to months).
    """
    return _binary("add", a, b, params, np.add)


@operation("sub", family="math", output_rule=series_if_any_series)
def sub(a: pd.Series | float, b: pd.Series | float | None = None, *, params: ArithmeticParams) -> pd.Series | float:
    """Subtract the second value (or ``constant``) from the first, e.g. a 10y - 2y yield spread.

    Two series are aligned on dates first (``align``; see the family's help: different
    frequencies must say how they meet, e.g. ``mean`` to average daily data to months).
    """
    return _binary("sub", a, b, params, np.subtract)


@operation("mul", family="math", output_rule=series_if_any_series)
def mul(a: pd.Series | float, b: pd.Series | float | None = None, *, params: ArithmeticParams) -> pd.Series | float:
    """Multiply two values, or one value by ``constant``.

    Two series are aligned on dates first (``align``; see the family's help: different
    frequencies must say how they meet, e.g. ``mean`` to average daily data to months).
    """
    return _binary("mul", a, b, params, np.multiply)


@operation("div", family="math", output_rule=series_if_any_series)
def div(a: pd.Series | float, b: pd.Series | float | None = None, *, params: ArithmeticParams) -> pd.Series | float:
    """Divide the first value by the second (or by ``constant``); division by zero gives a gap (null).

    Two series are aligned on dates first (``align``; see the family's help: different
    frequencies must say how they meet, e.g. ``mean`` to average daily data to months).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _binary("div", a, b, params, np.divide)


@operation("abs", family="math", output_rule=series_if_any_series)
def abs_(x: pd.Series | float) -> pd.Series | float:
    """Absolute value of each point."""
    return x.abs() if isinstance(x, pd.Series) else float(abs(x))


class LogParams(Params):
    base: Literal["e", "10", "2"] = Field("e", description="logarithm base: e, 10 or 2")


@operation("log", family="math", output_rule=series_if_any_series)
def log(x: pd.Series | float, *, params: LogParams) -> pd.Series | float:
    """Logarithm of each point; zero or negative values cannot be logged and are an error."""
    fn = {"e": np.log, "10": np.log10, "2": np.log2}[params.base]
    if isinstance(x, pd.Series):
        if (x.dropna() <= 0).any():
            first = x[x <= 0].index[0]
            raise OperationError(f"cannot take the log of {x[first]:g} at {_label(first)}; log needs positive values.")
        return pd.Series(fn(x.to_numpy(dtype=float)), index=x.index, name=x.name)
    if x <= 0:
        raise OperationError(f"cannot take the log of {x:g}; log needs a positive value.")
    return float(fn(x))


class ScaleParams(Params):
    factor: float = Field(description="multiply by this number, e.g. 100 to turn a fraction into percent")
    offset: float = Field(0.0, description="then add this number")


@operation("scale", family="math", output_rule=series_if_any_series)
def scale(x: pd.Series | float, *, params: ScaleParams) -> pd.Series | float:
    """Linear rescale: ``x * factor + offset`` (e.g. thousands to millions, fraction to percent)."""
    return x * params.factor + params.offset


class ClipParams(Params):
    lower: float | None = Field(None, description="values below become this")
    upper: float | None = Field(None, description="values above become this")

    @model_validator(mode="after")
    def _bounds(self) -> ClipParams:
        if self.lower is None and self.upper is None:
            raise ValueError("give a lower bound, an upper bound or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError("lower must not exceed upper")
        return self


@operation("clip", family="math", output_rule=series_if_any_series)
def clip(x: pd.Series | float, *, params: ClipParams) -> pd.Series | float:
    """Limit values to the range [lower, upper] (e.g. a probability to [0, 1])."""
    if isinstance(x, pd.Series):
        return x.clip(lower=params.lower, upper=params.upper)
    return float(np.clip(x, params.lower if params.lower is not None else -np.inf, params.upper if params.upper is not None else np.inf))


def _label(stamp: object) -> str:
    return stamp.date().isoformat() if isinstance(stamp, pd.Timestamp) else str(stamp)


@operation("normal_cdf", family="math", output_rule=series_if_any_series)
def normal_cdf(x: pd.Series | float) -> pd.Series | float:
    """Standard normal cumulative probability Φ(x) of each point (e.g. a probit model's probability).

    The New York Fed recession model is ``normal_cdf(scale(spread, factor=-0.6330, offset=-0.5333))``.
    """
    from scipy.stats import norm

    if isinstance(x, pd.Series):
        return pd.Series(norm.cdf(x.to_numpy(dtype=float)), index=x.index, name=x.name)
    return float(norm.cdf(x))


CombineHow = Literal["difference", "ratio", "sum", "product"]
_COMBINE: dict[str, tuple[str, np.ufunc]] = {"difference": ("sub", np.subtract), "ratio": ("div", np.divide), "sum": ("add", np.add), "product": ("mul", np.multiply)}


class CombineParams(ArithmeticParams):
    how: CombineHow = Field("difference", description="difference (a - b), ratio (a / b), sum or product: lets a model's user choose, e.g. a spread or a ratio of two series")


@operation("combine", family="math", output_rule=series_if_any_series)
def combine(a: pd.Series | float, b: pd.Series | float | None = None, *, params: CombineParams) -> pd.Series | float:
    """Combine two values the way ``how`` names: a difference (spread), ratio, sum or product.

    The same arithmetic as ``sub``, ``div``, ``add`` and ``mul`` (with their alignment rules and a
    gap where a ratio divides by zero), chosen by a parameter so a model can offer the choice as an
    input (an Econ Lab "spread or ratio of two series").
    """
    name, fn = _COMBINE[params.how]
    with np.errstate(divide="ignore", invalid="ignore"):
        return _binary(name, a, b, params, fn)


# FRED's Treasury bill series by how their rates are quoted (FRED series notes): the secondary-market
# and auction bill rates are on a discount basis; the constant-maturity yields already bond-equivalent.
DISCOUNT_BASIS = {"TB3MS": 91, "DTB3": 91, "TB4WK": 28, "DTB4WK": 28, "TB6MS": 182, "DTB6": 182, "TB1YR": 364, "DTB1YR": 364}
BOND_EQUIVALENT = {"DGS1MO", "DGS3MO", "DGS6MO", "DGS1"}


class BondEquivalentParams(Params):
    basis: Literal["auto", "discount", "bond_equivalent"] = Field("auto", description="how the input is quoted: 'auto' reads it from the FRED series id, 'discount' converts, 'bond_equivalent' leaves it as it is")
    days: int | None = Field(None, ge=1, le=182, description="days to maturity of the bill (91 for 3 months); default: from the series id")


@operation("bond_equivalent_yield", family="math")
def bond_equivalent_yield(x: pd.Series, *, params: BondEquivalentParams) -> pd.Series:
    """A Treasury bill rate on a bond-equivalent (coupon-equivalent) basis, in percent.

    Bills are quoted at a discount rate ``d`` on a 360-day year; the bond-equivalent yield of a bill
    of ``t`` days (at most half a year) is ``365 d / (360 - d t)`` (US Treasury, "Interest Rates -
    Frequently Asked Questions": coupon equivalent of bills). The New York Fed's yield-curve
    recession model uses the 3-month bill (TB3MS) on this basis (Estrella and Trubin 2006, "The
    Yield Curve as a Leading Indicator: Some Practical Issues", Current Issues in Economics and
    Finance 12(5)). With ``basis: auto`` the FRED series id says: TB3MS, DTB3 and the other bill
    rates are converted; DGS3MO and the other constant-maturity yields are already bond-equivalent
    and pass unchanged; any other id is an error asking for ``basis``.

    Returns
    -------
    series in percent, named ``<source>_bey``.
    """
    sid = str(x.name or "").upper().split("_")[0]  # "TB3MS_M_mean" after a resample is still TB3MS
    basis = params.basis
    if basis == "auto":
        if sid in DISCOUNT_BASIS:
            basis = "discount"
        elif sid in BOND_EQUIVALENT:
            basis = "bond_equivalent"
        else:
            raise OperationError(f"'bond_equivalent_yield' cannot tell how '{sid or 'the input'}' is quoted; set basis to 'discount' or 'bond_equivalent'.")
    if basis == "bond_equivalent":
        return x.rename(f"{sid}_bey" if sid else "bey")
    days = params.days or DISCOUNT_BASIS.get(sid)
    if days is None:
        raise OperationError("'bond_equivalent_yield' needs the bill's days to maturity for a discount rate; set 'days' (91 for a 3-month bill).")
    d = x.to_numpy(dtype=float) / 100
    with np.errstate(divide="ignore", invalid="ignore"):
        bey = 365 * d / (360 - d * days) * 100
    return pd.Series(bey, index=x.index, name=f"{sid}_bey" if sid else "bey")
