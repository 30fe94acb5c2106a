"""What the canvas draws, computed from a draft: nodes laid out left to right by depth, each with its
operation, family, output type and errors, and the edges from each input to its step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.authoring import graph
from services.authoring.palette import family_of
from services.authoring.problems import Located, by_step


@dataclass(frozen=True)
class Node:
    id: str
    operation: str
    family: str | None
    output: str | None  # value type, when known
    column: int
    row: int
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    position: int
    slot: str


def canvas(dsl: Any, types: dict[str, str], located: list[Located]) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges of the canvas for ``dsl`` (``types``: step id -> value type; ``located`` problems)."""
    from engine.registry import REGISTRY, slot_for

    placed = graph.layout(dsl)
    problems = by_step(located)
    nodes = []
    seen: set[str] = set()
    for _, step in graph.steps(dsl):
        step_id = step["id"]
        if step_id in seen:
            continue
        seen.add(step_id)
        operation = step.get("operation") if isinstance(step.get("operation"), str) else ""
        column, row = placed[step_id]
        errors = tuple(dict.fromkeys(_short(item) for item in problems.get(step_id, [])))
        nodes.append(Node(step_id, operation, family_of(operation), types.get(step_id), column, row, errors))
    edges = []
    for source, target, position in graph.edges(dsl):
        step = graph.find(dsl, target)
        op = REGISTRY.get(step[1].get("operation", "")) if step else None
        slot = slot_for(op, position) if op else None
        edges.append(Edge(source, target, position, slot.name if slot else str(position + 1)))
    return nodes, edges


def _short(item: Located) -> str:
    """A problem as a node shows it: the field (without ``params.``) and the message, without the hint."""
    field = item.field.removeprefix("params.")
    text = f"{field}: {item.problem.message}" if field else item.problem.message
    return text if len(text) <= 80 else text[:79] + "…"
