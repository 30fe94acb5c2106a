"""Pydantic models of the DSL v1.0, the input schema and the seed (model template) file."""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.rules import Difficulty, LabScope

DSL_VERSION = "1.0"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,79}$"
ChartKind = Literal["line", "bar", "area", "scatter", "band", "heatmap"]
FieldType = Literal["string", "number", "integer", "boolean", "date", "enum", "symbol", "series_id", "expiration"]
RELATIVE_DATE = re.compile(r"^today(?:-(\d{1,6})([ymwd]))?$")
EARLIEST_RELATIVE_YEAR = 1800  # a relative date reaching further back is not a date (today-99999y)
# In output labels, ``{name}`` shows the run's value of input ``name`` ("Headline CPI ({series_id})"); ``{{`` is a brace.
LABEL_INPUT = re.compile(r"(?<!\{)\{([a-z][a-z0-9_]{0,39})\}(?!\})")


# Colours a chart accepts: #rgb, #rrggbb, rgb(r, g, b) or rgba(r, g, b, a). Anything else once reached
# Plotly, which raised inside the page.
COLOUR_PATTERN = r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*(,\s*(0|1|0?\.\d+)\s*)?\))$"
# Bounds on what a document may contain: far above any real model, far below what hurts the server.
MAX_STEP_INPUTS = 32
MAX_PARAMS = 32
MAX_TEXT = 2_000  # characters in one parameter, label or help text
MAX_LIST = 5_000  # items in one list parameter
MAX_OUTPUTS = 64  # per kind (series, tables, metrics)
MAX_FIELDS = 64
# A Python format spec for numbers, with its width and precision bounded (a width of 2,000,000,000
# once made a 2 GB string of one metric).
FORMAT_SPEC = re.compile(r"^(?:.?[<>=^])?[+\- ]?z?#?0?(?P<width>\d{1,2})?[,_]?(?:\.(?P<precision>\d{1,2}))?[eEfFgGn%d]?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _bounded(value: Any, where: str, depth: int = 0) -> None:
    """Refuse parameter values too long, too many or nested too deep to be a real setting."""
    if depth > 3:
        raise ValueError(f"{where} nests too deeply; parameters hold numbers, text, dates and short lists")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ValueError(f"{where} is {len(value):,} characters long; at most {MAX_TEXT:,}")
    if isinstance(value, list | dict):
        if len(value) > MAX_LIST:
            raise ValueError(f"{where} has {len(value):,} items; at most {MAX_LIST:,}")
        for item in value.values() if isinstance(value, dict) else value:
            _bounded(item, where, depth + 1)


class Step(_Strict):
    """One node of the dataflow."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    operation: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, max_length=MAX_STEP_INPUTS)

    @field_validator("params")
    @classmethod
    def _params_bounded(cls, params: dict[str, Any]) -> dict[str, Any]:
        if len(params) > MAX_PARAMS:
            raise ValueError(f"a step takes at most {MAX_PARAMS} parameters, not {len(params)}")
        for name, value in params.items():
            _bounded(value, f"parameter '{name[:40]}'")
        return params

    @field_validator("inputs")
    @classmethod
    def _inputs_distinct(cls, inputs: list[str]) -> list[str]:
        repeated = sorted({ref for ref in inputs if inputs.count(ref) > 1})
        if repeated:
            raise ValueError(f"the step names {', '.join(repr(r[:40]) for r in repeated)} more than once among its inputs")
        return inputs


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
    source: str = Field(max_length=64)
    label: str = Field(max_length=200)
    color: str | None = Field(None, pattern=COLOUR_PATTERN)
    chart: ChartKind = "line"
    x: str | None = Field(None, max_length=64)  # frame column for the x axis (default: the index)
    y: str | list[str] | None = Field(None, max_length=32)  # frame column(s) to plot (default: every numeric column)
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
    source: str = Field(max_length=64)
    columns: list[str] | None = Field(None, max_length=64)
    label: str | None = Field(None, max_length=200)


class MetricOutput(_Strict):
    """A headline number: a scalar, or one field of a record."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    source: str = Field(max_length=64)
    field: str | None = Field(None, max_length=64)
    label: str = Field(max_length=200)
    format: str | None = Field(None, max_length=20)  # a Python format spec such as ".2f", ".1%", ",.0f"

    @field_validator("format")
    @classmethod
    def _format_spec(cls, value: str | None) -> str | None:
        if value is not None:
            if not FORMAT_SPEC.match(value):
                raise ValueError(f"'{value[:20]}' is not a number format such as '.2f', '.1%' or ',.0f' (width and precision at most 99)")
            try:
                format(1.5, value)
            except ValueError as exc:
                raise ValueError(f"'{value}' is not a number format such as '.2f' or '.1%'") from exc
        return value


class Outputs(_Strict):
    series: list[SeriesOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)
    tables: list[TableOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)
    metrics: list[MetricOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)


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
    label: str | None = Field(None, max_length=200)
    help: str | None = Field(None, max_length=MAX_TEXT)
    options: list[Any] | None = Field(None, max_length=500)
    min: float | None = None
    max: float | None = None

    @field_validator("default", "options")
    @classmethod
    def _values_bounded(cls, value: Any) -> Any:
        _bounded(value, "the value")
        return value

    @model_validator(mode="after")
    def _date_default_is_a_date(self) -> InputField:
        if self.type == "date" and isinstance(self.default, str):
            resolved = resolve_relative_date(self.default, date.today())
            try:
                date.fromisoformat(resolved)
            except ValueError:
                raise ValueError(f"the default '{self.default[:40]}' is not a date; use YYYY-MM-DD or a relative date such as today-5y") from None
        return self

    def default_value(self, today: date) -> Any:
        """The default with relative dates (``today-5y``) resolved against ``today``."""
        if self.type == "date" and isinstance(self.default, str):
            return resolve_relative_date(self.default, today)
        return self.default


class InputSchema(_Strict):
    fields: list[InputField] = Field(default_factory=list, max_length=MAX_FIELDS)

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
        try:
            stamp = stamp - offset
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            return text  # not a date: the input check says so in a sentence
        if stamp.year < EARLIEST_RELATIVE_YEAR:
            return text
    return stamp.date().isoformat()


def output_schema_for(dsl: ModelDSL) -> dict[str, Any]:
    """The output schema implied by a DSL's outputs: ids, labels and kinds, as stored with a version."""
    return {
        "series": [{"id": s.id, "label": s.label, "chart": s.chart, **({"shade": True} if s.shade else {})} for s in dsl.outputs.series],
        "tables": [{"id": t.id, "label": t.label or t.id, "columns": t.columns} for t in dsl.outputs.tables],
        "metrics": [{"id": m.id, "label": m.label, "format": m.format} for m in dsl.outputs.metrics],
    }
