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
