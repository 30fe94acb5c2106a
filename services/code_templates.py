"""Starter templates for code models, one per runtime: the 10y-2y yield-curve spread, as the seed computes it.

A template is what the editor starts from: the DSL around the code (fetch steps on the trusted side, the
``code`` step, a summary and the outputs), the input schema and the code itself. Both compute the
seed ``yield-curve-10y-2y``'s spread, so their numbers can be checked against the seed's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

PYTHON_SPREAD = '''\
import pandas as pd


def run(inputs):
    """The 10-year minus 2-year Treasury spread in percentage points, on the dates both are quoted.

    inputs["dgs10"], inputs["dgs2"]: pandas Series on dates (the fetch steps' values);
    inputs["args"]: the run's inputs (start, end) as text.
    """
    spread = inputs["dgs10"] - inputs["dgs2"]
    return spread.dropna().rename("spread")
'''

JS_SPREAD = '''\
// The 10-year minus 2-year Treasury spread in percentage points, on the dates both are quoted.
// inputs.dgs10 and inputs.dgs2 are series: {index: [ISO dates], values: [numbers, NaN when missing]};
// inputs.args holds the run's inputs (start, end). Return a series as {index, values}.
function run(inputs) {
  const twoYear = new Map();
  inputs.dgs2.index.forEach((day, i) => twoYear.set(day, inputs.dgs2.values[i]));
  const index = [];
  const values = [];
  inputs.dgs10.index.forEach((day, i) => {
    const spread = inputs.dgs10.values[i] - twoYear.get(day);
    if (Number.isFinite(spread)) {
      index.push(day);
      values.push(spread);
    }
  });
  return { index, values };
}
'''

_DSL: dict[str, Any] = {
    "version": "1.0",
    "steps": [
        {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "$start", "end": "$end"}},
        {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "$start", "end": "$end"}},
        {"id": "spread", "operation": "code", "inputs": ["dgs10", "dgs2"], "params": {"returns": "series"}},
        {"id": "stats", "operation": "summary", "inputs": ["spread"]},
    ],
    "outputs": {
        "series": [{"id": "spread", "source": "spread", "label": "10y - 2y (pp)", "chart": "area"}],
        "tables": [{"id": "stats", "source": "stats", "label": "Spread statistics", "columns": ["metric", "value"]}],
        "metrics": [{"id": "latest", "source": "stats", "field": "latest", "label": "Latest spread (pp)", "format": "+.2f"}],
    },
}

_INPUTS: dict[str, Any] = {
    "fields": [
        {"name": "start", "type": "date", "default": "today-30y", "label": "Start date", "required": True},
        {"name": "end", "type": "date", "default": "today", "label": "End date", "required": True},
    ]
}


@dataclass(frozen=True)
class CodeTemplate:
    """A starter code model: its runtime, code, DSL around the code and input schema."""

    runtime: str
    label: str
    code: str
    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    dependencies: tuple[str, ...] = ()

    def meta(self, slug: str, name: str, description: str = "") -> dict[str, Any]:
        """A model document (as ``ModelsService.create`` takes it) for a new model from this template."""
        return {
            "slug": slug, "name": name, "description": description or self.label, "lab_scope": "econ",
            "tags": ["code", self.runtime], "difficulty": "advanced",
            "dsl": copy.deepcopy(self.dsl), "input_schema": copy.deepcopy(self.input_schema), "output_schema": {},
        }


TEMPLATES: dict[str, CodeTemplate] = {
    "python": CodeTemplate("python", "Yield curve spread in Python (pandas)", PYTHON_SPREAD, _DSL, _INPUTS, ("pandas",)),
    "js": CodeTemplate("js", "Yield curve spread in JavaScript", JS_SPREAD, _DSL, _INPUTS),
}
