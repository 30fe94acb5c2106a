"""The builder's draft: a DSL document, its input schema and the model's metadata, as one value.

A ``Draft`` is never changed in place: every edit (``services.authoring.edits``) returns a new one,
which is what makes undo, redo and autosave simple. The DSL is kept exactly as written (key order,
omitted defaults), so a model loaded and saved unchanged is byte-for-byte the same document.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any

from contracts.dsl import DSL_VERSION
from contracts.records import Model

META_FIELDS = ("name", "slug", "description", "lab_scope", "tags", "difficulty")
EMPTY_META: dict[str, Any] = {"name": "", "slug": "", "description": "", "lab_scope": "econ", "tags": [], "difficulty": "basic"}


def empty_dsl() -> dict[str, Any]:
    """The document a new model starts from (no steps yet: the validator says to add one)."""
    return {"version": DSL_VERSION, "steps": [], "outputs": {"series": [], "tables": [], "metrics": []}}


@dataclass(frozen=True)
class Draft:
    """What the builder edits. ``base`` is the slug of the user's own model being edited (saving adds a
    version to it); ``origin`` the slug of a model this one started from (copied, not forked)."""

    dsl: Any = field(default_factory=empty_dsl)
    input_schema: Any = field(default_factory=lambda: {"fields": []})
    meta: dict[str, Any] = field(default_factory=lambda: dict(EMPTY_META))
    base: str | None = None
    origin: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form (a draft row's document)."""
        return {"dsl": self.dsl, "input_schema": self.input_schema, "meta": self.meta, "base": self.base, "origin": self.origin}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        return cls(
            dsl=data.get("dsl", empty_dsl()),
            input_schema=data.get("input_schema", {"fields": []}),
            meta=EMPTY_META | meta,
            base=data.get("base"),
            origin=data.get("origin"),
        )

    def fingerprint(self) -> str:
        """A stable text of the whole draft (to tell whether anything changed since the last autosave)."""
        return json.dumps(self.to_json(), sort_keys=False, separators=(",", ":"), default=str)

    def copy_dsl(self) -> Any:
        return copy.deepcopy(self.dsl)

    def copy_schema(self) -> Any:
        return copy.deepcopy(self.input_schema)

    def with_dsl(self, dsl: Any) -> Draft:
        return replace(self, dsl=dsl)

    def with_schema(self, input_schema: Any) -> Draft:
        return replace(self, input_schema=input_schema)


def from_model(model: Model, *, own: bool) -> Draft:
    """A draft of ``model``'s current version: to edit it (``own``: saving adds a version) or to start from it."""
    version = model.latest
    dsl = copy.deepcopy(version.dsl) if version else empty_dsl()
    schema = copy.deepcopy(version.input_schema) if version else {"fields": []}
    meta = {"name": model.name, "slug": model.slug, "description": model.description, "lab_scope": model.lab_scope,
            "tags": list(model.tags), "difficulty": model.difficulty}
    if own:
        return Draft(dsl, schema, meta, base=model.slug)
    meta |= {"name": f"{model.name} (my version)"[:120], "slug": ""}
    return Draft(dsl, schema, meta, origin=model.slug)
