"""Pydantic models of the DSL v1.0, the input schema and the seed (model template) file."""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.rules import Difficulty, LabScope

DSL_VERSION = "1.0"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,79}$"
ChartKind = Literal["line", "bar", "area", "scatter", "band", "heatmap"]
FieldType = Literal["string", "number", "integer", "boolean", "date", "enum", "symbol", "series_id", "expiration"]
RELATIVE_DATE = re.compile(r"^today(?:-(\d+)([ymwd]))?$")
# In output labels, ``{name}`` shows the run's value of input ``name`` ("Headline CPI ({series_id})"); ``{{`` is a brace.
LABEL_INPUT = re.compile(r"(?<!\{)\{([a-z][a-z0-9_]{0,39})\}(?!\})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(_Strict):
    """One node of the dataflow."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    operation: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)


class SeriesOutput(_Strict):
    """A chart series: the value of step ``source`` (a series, or columns of a frame).

    ``shade: true`` marks a 0/1 series (such as the ``recession_indicator`` operation's NBER
    recessions) to be drawn as shaded vertical spans across the whole plot wherever it is 1, behind
    the chart's other series, rather than as a line. Its JSON entry carries ``"shade": true`` and
    ``"spans": [[start, end], ...]``: ISO dates, ``start`` the first date of a run of 1s and ``end``
    the first date after it (the next observation's date, or one period after the last), so a span
    covers whole months. Use it with ``chart: "band"`` and ``axis: "right"``: an app that does not
    know shading still draws the indicator as a 0-to-1 band.
    """

    id: str = Field(pattern=STEP_ID_PATTERN)
    source: str
    label: str
    color: str | None = None
    chart: ChartKind = "line"
    x: str | None = None  # frame column for the x axis (default: the index)
    y: str | list[str] | None = None  # frame column(s) to plot (default: every numeric column)
    axis: Literal["left", "right"] = "left"
    shade: bool = False

    @property
    def y_columns(self) -> list[str] | None:
        if self.y is None:
            return None
        return [self.y] if isinstance(self.y, str) else list(self.y)


class TableOutput(_Strict):
    """A table: a frame's columns, a record's fields (``metric, value``) or a series (``date, value``)."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    source: str
    columns: list[str] | None = None
    label: str | None = None


class MetricOutput(_Strict):
    """A headline number: a scalar, or one field of a record."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    source: str
    field: str | None = None
    label: str
    format: str | None = None  # a Python format spec such as ".2f", ".1%", ",.0f"

    @field_validator("format")
    @classmethod
    def _format_spec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                format(1.5, value)
            except ValueError as exc:
                raise ValueError(f"'{value}' is not a number format such as '.2f' or '.1%'") from exc
        return value


class Outputs(_Strict):
    series: list[SeriesOutput] = Field(default_factory=list)
    tables: list[TableOutput] = Field(default_factory=list)
    metrics: list[MetricOutput] = Field(default_factory=list)


class ModelDSL(_Strict):
    """A model's dataflow: versioned steps and the outputs shown to the user."""

    version: Literal["1.0"]
    steps: list[Step] = Field(min_length=1)
    outputs: Outputs = Field(default_factory=Outputs)


class InputField(_Strict):
    """One run input, rendered as a form widget."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: FieldType
    required: bool = False
    default: Any = None
    label: str | None = None
    help: str | None = None
    options: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    # A date that must come after the date input of this name ("end" after "start"); the form says so under the field.
    after: str | None = None

    def default_value(self, today: date) -> Any:
        """The default with relative dates (``today-5y``) resolved against ``today``."""
        if self.type == "date" and isinstance(self.default, str):
            return resolve_relative_date(self.default, today)
        return self.default


class InputSchema(_Strict):
    fields: list[InputField] = Field(default_factory=list)

    def field(self, name: str) -> InputField | None:
        return next((f for f in self.fields if f.name == name), None)


class ModelMeta(_Strict):
    """A seed file: the model's metadata plus its DSL, input schema and output schema."""

    slug: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    description: str
    lab_scope: LabScope
    tags: list[str] = Field(default_factory=list)
    difficulty: Difficulty
    dsl: dict[str, Any]
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"fields": []})
    output_schema: dict[str, Any] = Field(default_factory=dict)


@functools.lru_cache(maxsize=1024)
def resolve_relative_date(text: str, today: date) -> str:
    """``today``, ``today-5y``, ``today-6m``, ``today-2w``, ``today-30d`` -> ISO date; other text unchanged."""
    match = RELATIVE_DATE.match(text.strip())
    if not match:
        return text
    import pandas as pd

    amount, unit = match.groups()
    stamp = pd.Timestamp(today)
    if amount:
        n = int(amount)
        offset = {"y": pd.DateOffset(years=n), "m": pd.DateOffset(months=n), "w": pd.DateOffset(weeks=n), "d": pd.DateOffset(days=n)}[unit]
        stamp = stamp - offset
    return stamp.date().isoformat()


def output_schema_for(dsl: ModelDSL) -> dict[str, Any]:
    """The output schema implied by a DSL's outputs: ids, labels and kinds, as stored with a version."""
    return {
        "series": [{"id": s.id, "label": s.label, "chart": s.chart, **({"shade": True} if s.shade else {})} for s in dsl.outputs.series],
        "tables": [{"id": t.id, "label": t.label or t.id, "columns": t.columns} for t in dsl.outputs.tables],
        "metrics": [{"id": m.id, "label": m.label, "format": m.format} for m in dsl.outputs.metrics],
    }
