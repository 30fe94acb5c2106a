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


def _number_format(value: str | None) -> str | None:
    """A Python format spec such as ".2f", ".1%" or ",.0f" (d3, which Plotly uses, reads the same ones),
    with its width and precision bounded by the grammar ``FORMAT_SPEC``."""
    if value is not None:
        if not FORMAT_SPEC.match(value):
            raise ValueError(f"'{value[:20]}' is not a number format such as '.2f', '.1%' or ',.0f' (width and precision at most 99)")
        try:
            format(1.5, value)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not a number format such as '.2f' or '.1%'") from exc
    return value


class Reference(_Strict):
    """A reference mark on a chart: a line at ``value`` (or at a metric's value), or a shaded range to ``to``.

    ``axis="y"`` draws a horizontal line (the Sahm rule's 0.5, zero); ``axis="x"`` a vertical one (spot on a
    strike axis, a date on a time axis). ``metric`` names one of the model's ``outputs.metrics`` whose value
    places the mark (spot, a gamma flip level), so marks that depend on the data need no constant.
    """

    axis: Literal["x", "y"] = "y"
    value: float | str | None = None  # a number, or an ISO date on a time axis
    metric: str | None = None
    to: float | str | None = None  # with ``to`` or ``to_metric``: a shaded range from the first value to this one
    to_metric: str | None = None
    label: str = Field(min_length=1, max_length=80)

    @model_validator(mode="after")
    def _one_place(self) -> Reference:
        if (self.value is None) == (self.metric is None):
            raise ValueError("give a reference mark exactly one of 'value' and 'metric'")
        if self.to is not None and self.to_metric is not None:
            raise ValueError("give a reference range's end as 'to' or 'to_metric', not both")
        return self


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
    unit: str | None = Field(None, max_length=40)  # the y axis's unit as a reader says it: "%", "pp", "$", "claims"
    format: str | None = Field(None, max_length=20)  # number format of the values, e.g. ".1%" for a volatility stored as 0.124
    x_title: str | None = Field(None, max_length=60)  # the x axis's title when the column name does not say it
    reference: list[Reference] = Field(default_factory=list, max_length=12)

    @field_validator("format")
    @classmethod
    def _format_spec(cls, value: str | None) -> str | None:
        return _number_format(value)

    @property
    def y_columns(self) -> list[str] | None:
        if self.y is None:
            return None
        return [self.y] if isinstance(self.y, str) else list(self.y)


class TableOutput(_Strict):
    """A table: a frame's columns, a record's fields (``metric, value``) or a series (``date, value``).

    ``formats`` maps a column (or, for a record, a field) to a number format such as ``".1%"``; the app
    otherwise formats by the column's name (``iv`` as a percent, ``*_pct`` with a % sign).
    """

    id: str = Field(pattern=STEP_ID_PATTERN)
    source: str = Field(max_length=64)
    columns: list[str] | None = Field(None, max_length=64)
    label: str | None = Field(None, max_length=200)
    formats: dict[str, str] = Field(default_factory=dict, max_length=64)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: dict[str, str]) -> dict[str, str]:
        for spec in value.values():
            _number_format(spec)
        return value


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
        return _number_format(value)


class Outputs(_Strict):
    series: list[SeriesOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)
    tables: list[TableOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)
    metrics: list[MetricOutput] = Field(default_factory=list, max_length=MAX_OUTPUTS)


class ModelDSL(_Strict):
    """A model's dataflow: versioned steps and the outputs shown to the user."""

    version: Literal["1.0"]
    steps: list[Step] = Field(min_length=1)
    outputs: Outputs = Field(default_factory=Outputs)


SpanUnit = Literal["days", "trading_days", "weeks", "months", "years"]
DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "trading_days": 365.25 / 252, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}


class MinSpan(_Strict):
    """How far a date must lie after the one it follows: a fixed length, or the length held by another input."""

    value: int | None = Field(None, ge=1)
    field: str | None = None  # an integer input holding the length (a rolling window)
    unit: SpanUnit = "days"

    @model_validator(mode="after")
    def _one_length(self) -> MinSpan:
        if (self.value is None) == (self.field is None):
            raise ValueError("give a minimum span exactly one of 'value' and 'field'")
        return self


class InputField(_Strict):
    """One run input, rendered as a form widget.

    Constraints the form checks before a run (and ``contracts.inputs`` on every run): ``required`` (a
    blank value is an error, never the default), ``min``/``max`` for numbers, ``after`` (a date that
    must be later than another date input) and ``min_span`` (with ``after``: how far apart the two
    dates must be, e.g. at least the rolling window).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: FieldType
    required: bool = False
    default: Any = None
    label: str | None = Field(None, max_length=200)
    help: str | None = Field(None, max_length=MAX_TEXT)
    options: list[Any] | None = Field(None, max_length=500)
    min: float | None = None
    max: float | None = None
    after: str | None = None
    min_span: MinSpan | None = None

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
