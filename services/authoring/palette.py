"""The builder's palette: every registered operation, grouped by family, searchable by name and help text."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

from engine.registry import REGISTRY, Operation, load_all

FAMILY_ORDER = ("fetch", "math", "stats", "returns", "analysis", "filters", "cycles", "options", "code")


@dataclass(frozen=True)
class OpCard:
    """One operation as the palette shows it."""

    name: str
    family: str
    summary: str
    doc: str
    inputs: str  # "series, series?" (? optional, ... variadic), or "none"
    output: str  # "series", "frame", "scalar", "record" or "same as input"

    @property
    def signature(self) -> str:
        return f"{self.inputs} → {self.output}"


def _inputs_text(op: Operation) -> str:
    parts = []
    for slot in op.inputs:
        kinds = "|".join(sorted(t.value for t in slot.types))
        parts.append(kinds + ("..." if slot.variadic else "?" if slot.optional else ""))
    return ", ".join(parts) or "none"


def card(op: Operation) -> OpCard:
    return OpCard(op.name, op.family, op.summary, inspect.cleandoc(op.doc), _inputs_text(op), _output_text(op))


def _output_text(op: Operation) -> str:
    if op.output is not None:
        return op.output.value
    return "as declared by 'returns'" if op.output_from_params else "same as input"


@functools.cache
def all_cards() -> tuple[OpCard, ...]:
    ops = load_all().values()
    rank = {family: i for i, family in enumerate(FAMILY_ORDER)}
    return tuple(card(op) for op in sorted(ops, key=lambda o: (rank.get(o.family, len(rank)), o.family, o.name)))


def palette(query: str = "") -> dict[str, list[OpCard]]:
    """Cards by family (in ``FAMILY_ORDER``), keeping those whose name or help text holds every word of ``query``."""
    words = query.lower().split()
    grouped: dict[str, list[OpCard]] = {}
    for item in all_cards():
        text = f"{item.name} {item.name.replace('_', ' ')} {item.family} {item.doc}".lower()
        if all(word in text for word in words):
            grouped.setdefault(item.family, []).append(item)
    return grouped


def family_of(operation: str) -> str | None:
    """The family of an operation, or None when it is unknown."""
    op = REGISTRY.get(operation) or load_all().get(operation)
    return op.family if op else None
