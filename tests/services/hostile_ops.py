"""Two deliberately hostile operations for the runner tests, registered only inside worker processes
(imported through the pool's ``preload``) and subprocesses, never in the test process itself.

``test_sleep`` is one step that never returns within the budget (the engine cannot stop a step it is
inside); ``test_hog`` allocates memory in one step, past any cap.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from pydantic import Field

from engine.registry import Params, operation


class SleepParams(Params):
    seconds: float = Field(60.0, ge=0)


@operation("test_sleep", family="stats")
def test_sleep(*, params: SleepParams) -> pd.Series:
    """Sleep inside one step, then return a tiny series."""
    time.sleep(params.seconds)
    return pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-02"]))


class HogParams(Params):
    megabytes: int = Field(4096, ge=1)


@operation("test_hog", family="stats")
def test_hog(*, params: HogParams) -> pd.Series:
    """Allocate ``megabytes`` of memory, touching every page, in steps of 64 MB."""
    chunks = [np.ones(8 * 1024 * 1024) for _ in range(params.megabytes // 64)]
    return pd.Series([float(len(chunks))], index=pd.DatetimeIndex(["2024-01-02"]))
