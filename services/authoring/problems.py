"""Where each validation problem belongs in the builder: on a step (and which of its fields), on an
output, on an input of the schema, or on the document as a whole. Paths stay tuples until here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.errors import Problem
from services.authoring import graph


@dataclass(frozen=True)
class Located:
    """A problem and its place: ``area`` is "step", "output", "input" or "document"; ``key`` the step id,
    ``(kind, index)`` of an output or the index of an input; ``field`` the rest of the path ("params.window")."""

    problem: Problem
    area: str
    key: Any
    field: str

    @property
    def text(self) -> str:
        hint = f" ({self.problem.hint})" if self.problem.hint else ""
        return f"{self.problem.message}{hint}"


def _rest(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in parts)


def locate(dsl: Any, problems: list[Problem]) -> list[Located]:
    """Each problem with its place in ``dsl``."""
    raw = graph.raw_steps(dsl)
    located = []
    for problem in problems:
        where = problem.where
        if len(where) >= 2 and where[0] == "steps" and isinstance(where[1], int):
            step = raw[where[1]] if where[1] < len(raw) else None
            step_id = step.get("id") if isinstance(step, dict) and isinstance(step.get("id"), str) else f"#{where[1] + 1}"
            located.append(Located(problem, "step", step_id, _rest(where[2:])))
        elif len(where) >= 3 and where[0] == "outputs" and isinstance(where[2], int):
            located.append(Located(problem, "output", (where[1], where[2]), _rest(where[3:])))
        elif len(where) >= 3 and where[0] == "input_schema" and isinstance(where[2], int):
            located.append(Located(problem, "input", where[2], _rest(where[3:])))
        else:
            located.append(Located(problem, "document", None, _rest(where)))
    return located


def on_step(located: list[Located], step_id: str) -> list[Located]:
    return [item for item in located if item.area == "step" and item.key == step_id]


def on_field(located: list[Located], step_id: str, field: str) -> list[Located]:
    """The problems of one field of a step (``params.window`` also takes ``params.window.0``)."""
    return [item for item in on_step(located, step_id) if item.field == field or item.field.startswith(field + ".")]


def by_step(located: list[Located]) -> dict[str, list[Located]]:
    grouped: dict[str, list[Located]] = {}
    for item in located:
        if item.area == "step":
            grouped.setdefault(item.key, []).append(item)
    return grouped
