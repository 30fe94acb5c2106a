"""Authoring: parse, validate and describe DSL documents, for the builder and any editor of models.

No Streamlit. Problems keep their paths as tuples (``("steps", 2, "params", "window")``) so an editor
can put each one on its node and field.
"""

from __future__ import annotations

from typing import Any

from contracts.dsl import ModelDSL, output_schema_for
from contracts.errors import Problem
from engine.document import read_json
from engine.registry import load_all
from engine.validator import static_types, validate


def parse(text: str | bytes) -> tuple[Any, list[Problem]]:
    """JSON text -> (document, problems reading it): strict and bounded (``engine.document.read_json``)."""
    return read_json(text)


def check(doc: Any, input_schema: Any = None) -> list[Problem]:
    """Every problem of the document and its input schema at once (empty when it can be saved)."""
    return validate(doc, input_schema)


def step_types(doc: dict[str, Any], input_schema: Any = None) -> dict[str, str]:
    """The value type each step produces (``series``, ``frame``, ``scalar``, ``record``), where known."""
    return {step: kind.value for step, kind in static_types(doc, input_schema).items()}


def operations() -> list[dict[str, Any]]:
    """Every operation: name, family, inputs, output, params JSON schema and help text (the palette)."""
    return [op.describe() for op in sorted(load_all().values(), key=lambda op: (op.family, op.name))]


def output_schema(doc: dict[str, Any]) -> dict[str, Any]:
    """The output schema stored with a version of a valid document."""
    return output_schema_for(ModelDSL.model_validate(doc))
