"""Conform a provider's frame to its dataset contract (``contracts.data``): columns, kinds, order."""

from __future__ import annotations

import pandas as pd

from contracts.data import Dataset
from contracts.errors import UpstreamUnavailable


def conform(frame: pd.DataFrame, dataset: Dataset, provider: str) -> pd.DataFrame:
    """``frame`` with exactly the dataset's columns, in order, as their declared kinds, sorted.

    A provider whose answer lacks a column is broken in a way the user cannot fix: that is an
    ``UpstreamUnavailable`` naming the provider and the columns, never a KeyError deep in a step.
    """
    missing = [name for name in dataset.names if name not in frame.columns]
    if missing:
        raise UpstreamUnavailable(f"{provider} answered {dataset.name.replace('_', ' ')} without {', '.join(missing)}; try again later.")
    out = frame[dataset.names].copy()
    for column in dataset.columns:
        if column.kind == "float":
            out[column.name] = pd.to_numeric(out[column.name], errors="coerce").astype(float)
        elif column.kind == "datetime":
            out[column.name] = pd.to_datetime(out[column.name])
    if dataset.sort_by:
        out = out.sort_values(list(dataset.sort_by), kind="stable").reset_index(drop=True)
    if dataset.index is not None:
        out.index.name = dataset.index.name
    return out
