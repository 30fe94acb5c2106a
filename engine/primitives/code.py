"""User code as a step: the ``code`` operation (phase 3).

The model's fetch steps run on the trusted side like any other step; the one ``code`` step receives
their values and runs the version's Python or JavaScript in the sandbox the services composed.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field

from engine.code import CodeCall
from engine.registry import Params, Record, ValueType, operation


class CodeParams(Params):
    returns: Literal["series", "frame", "scalar", "record"] = Field(
        description="what the code returns: a series (dates and numbers), a frame (a table), a scalar (one number) or a record (named values)"
    )
    entrypoint: str = Field("run", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$", description="the function of the code to call with the inputs")


def _declared(params: dict[str, Any]) -> ValueType | None:
    try:
        return ValueType(params.get("returns"))
    except ValueError:
        return None  # reported by the params check


@operation("code", family="code", min_inputs=0, output_from_params=_declared)
def code(*values: pd.Series | pd.DataFrame | float | Record, params: CodeParams, code: CodeCall) -> pd.Series | pd.DataFrame | float | Record:
    """Run the model's own Python or JavaScript on the values of its input steps.

    The code's ``run(inputs)`` receives a mapping: each input step's value under that step's id (a
    series as dates and numbers, a frame as a table, a scalar as a number, a record as named values)
    and the run's inputs as one record under ``args``. It returns the kind of value ``returns``
    declares, which the outputs use as any step's. The code runs isolated: no network, no files,
    limited time and memory, approved packages only (numpy, pandas, scipy, statsmodels).
    """
    return code(values, params.entrypoint, ValueType(params.returns))
