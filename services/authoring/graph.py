"""Reading a model's step graph as it stands, valid or not: steps by id, edges, dependents, depths.

The builder edits documents that are often invalid mid-way (a step without inputs, a JSON tab being
typed into), so nothing here assumes the validator has passed: malformed steps are skipped, unknown
references ignored, and a cycle never loops forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def raw_steps(doc: Any) -> list[Any]:
    """The ``steps`` list of a document, or an empty list when there is none."""
    if isinstance(doc, dict) and isinstance(doc.get("steps"), list):
        return doc["steps"]
    return []


def steps(doc: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, step)`` for every step that is an object with a text id, in document order."""
    for index, step in enumerate(raw_steps(doc)):
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            yield index, step


def step_ids(doc: Any) -> list[str]:
    """Every step id, in document order (a repeated id once)."""
    seen: dict[str, None] = {}
    for _, step in steps(doc):
        seen.setdefault(step["id"], None)
    return list(seen)


def find(doc: Any, step_id: str) -> tuple[int, dict[str, Any]] | None:
    """The first step with this id and its index, or None."""
    return next(((i, s) for i, s in steps(doc) if s["id"] == step_id), None)


def inputs_of(step: dict[str, Any]) -> list[str]:
    """The step's input references that are text (anything else is the validator's to report)."""
    value = step.get("inputs")
    return [ref for ref in value if isinstance(ref, str)] if isinstance(value, list) else []


def edges(doc: Any) -> list[tuple[str, str, int]]:
    """``(source, target, position)`` for every input that names an existing step."""
    known = set(step_ids(doc))
    found = []
    for _, step in steps(doc):
        for position, ref in enumerate(inputs_of(step)):
            if ref in known:
                found.append((ref, step["id"], position))
    return found


def dependents(doc: Any, step_id: str) -> list[str]:
    """The steps that take ``step_id`` as an input, directly, in document order."""
    return [s["id"] for _, s in steps(doc) if step_id in inputs_of(s)]


def descendants(doc: Any, step_id: str) -> set[str]:
    """Every step downstream of ``step_id`` (not itself, unless there is a cycle through it)."""
    children: dict[str, list[str]] = {}
    for source, target, _ in edges(doc):
        children.setdefault(source, []).append(target)
    found: set[str] = set()
    pending = list(children.get(step_id, []))
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(children.get(current, []))
    return found


def ancestors(doc: Any, step_id: str) -> set[str]:
    """Every step upstream of ``step_id`` (what must run before it)."""
    parents = {s["id"]: inputs_of(s) for _, s in reversed(list(steps(doc)))}
    found: set[str] = set()
    pending = list(parents.get(step_id, []))
    while pending:
        current = pending.pop()
        if current not in found and current in parents:
            found.add(current)
            pending.extend(parents[current])
    return found


def depths(doc: Any) -> dict[str, int]:
    """Each step's column on the canvas: 0 for a step without inputs, else one more than its deepest input.

    Computed over the acyclic part only: an input that would close a cycle counts as absent.
    """
    parents = {s["id"]: inputs_of(s) for _, s in reversed(list(steps(doc)))}
    depth: dict[str, int] = {}
    for root in parents:
        if root in depth:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_path: set[str] = set()
        while stack:
            node, state = stack.pop()
            if state == 0:
                if node in depth:
                    continue
                on_path.add(node)
                stack.append((node, 1))
                for ref in parents.get(node, []):
                    if ref in parents and ref not in depth and ref not in on_path:
                        stack.append((ref, 0))
            else:
                on_path.discard(node)
                known = [depth[ref] for ref in parents.get(node, []) if ref in depth]
                depth[node] = 1 + max(known) if known else 0
    return depth


def layout(doc: Any) -> dict[str, tuple[int, int]]:
    """``step id -> (column, row)``: columns by depth, left to right; rows in document order within a column."""
    depth = depths(doc)
    rows: dict[int, int] = {}
    placed: dict[str, tuple[int, int]] = {}
    for step_id in step_ids(doc):
        column = depth.get(step_id, 0)
        placed[step_id] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return placed
