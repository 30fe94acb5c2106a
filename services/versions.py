"""Versions of a model (issue 13): history, a structural diff between any two, restoring one as a new
version, comparing the results of two versions run with the same inputs, and fork lineage (where a
fork came from, its source's forks, and taking a newer source version into a fork).

The diff is structural, the way a reader of a model thinks of it: steps (keyed by their id) added,
removed or changed down to each parameter, inputs (keyed by name) and outputs (keyed by kind and id)
added, removed or changed attribute by attribute. A comparison runs both versions through the normal
run flow (limits, cache and history apply) and pairs their series, tables and metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.errors import InputInvalid, NotFoundError, PermissionDenied
from contracts.records import Lineage, ModelVersion, User
from services.auth import require_user
from services.registry import ModelsService, RegistryService
from services.runs import RunOutcome, RunsService
from store.base import Store

Status = Literal["added", "removed", "changed"]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(none)"})()
OUTPUT_KINDS = ("series", "tables", "metrics")
REL_TOLERANCE = 1e-9  # two numbers closer than this (relative) are the same value in a comparison


# ----------------------------------------------------------------------------------------- the diff
@dataclass(frozen=True)
class Change:
    """One attribute that differs: ``path`` names it (``window``, ``inputs``, ``default``), MISSING on one side
    when it exists only on the other."""

    path: str
    before: Any
    after: Any

    @property
    def status(self) -> Status:
        return "added" if self.before is MISSING else "removed" if self.after is MISSING else "changed"


@dataclass(frozen=True)
class ItemDiff:
    """A step, an input field or an output that was added, removed or changed (with its changes)."""

    kind: str  # "step", "input", "series", "tables", "metrics"
    id: str
    status: Status
    summary: str  # a step's operation and inputs, a field's type, an output's source
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class VersionDiff:
    """What changed from version ``old`` to version ``new``."""

    old: int
    new: int
    steps: tuple[ItemDiff, ...]
    inputs: tuple[ItemDiff, ...]
    outputs: tuple[ItemDiff, ...]

    @property
    def empty(self) -> bool:
        return not (self.steps or self.inputs or self.outputs)

    def counts(self) -> dict[str, int]:
        """How many items were added, removed and changed, over steps, inputs and outputs."""
        items = [*self.steps, *self.inputs, *self.outputs]
        return {s: sum(1 for i in items if i.status == s) for s in ("added", "removed", "changed")}


def _step_summary(step: dict[str, Any]) -> str:
    inputs = step.get("inputs") or []
    return f"{step.get('operation', '?')}" + (f" of {', '.join(map(str, inputs))}" if inputs else "")


def _changes(before: dict[str, Any], after: dict[str, Any], skip: tuple[str, ...] = ()) -> tuple[Change, ...]:
    """Attribute by attribute, in the order a reader meets them (the old order, then what is new)."""
    keys = [k for k in before if k not in skip] + [k for k in after if k not in before and k not in skip]
    return tuple(Change(k, before.get(k, MISSING), after.get(k, MISSING)) for k in keys if before.get(k, MISSING) != after.get(k, MISSING))


def _keyed(items: list[dict[str, Any]] | None, key: str) -> dict[str, dict[str, Any]]:
    return {str(item.get(key)): item for item in items or [] if isinstance(item, dict)}


def _diff_items(kind: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], summary: Any, detail: Any) -> list[ItemDiff]:
    out: list[ItemDiff] = []
    for key, item in old.items():
        if key not in new:
            out.append(ItemDiff(kind, key, "removed", summary(item)))
    for key, item in new.items():
        if key not in old:
            out.append(ItemDiff(kind, key, "added", summary(item)))
        else:
            changes = detail(old[key], item)
            if changes:
                out.append(ItemDiff(kind, key, "changed", summary(item), changes))
    return out


def _step_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    """A step's operation and inputs, then each of its parameters (``params.window``)."""
    top = _changes(before, after, skip=("id", "params"))
    params = _changes(before.get("params") or {}, after.get("params") or {})
    return top + tuple(Change(f"params.{c.path}", c.before, c.after) for c in params)


def diff_versions(old: ModelVersion, new: ModelVersion) -> VersionDiff:
    """The structural diff from ``old`` to ``new`` (any two versions, of one model or of a fork and its source)."""
    steps = _diff_items("step", _keyed(old.dsl.get("steps"), "id"), _keyed(new.dsl.get("steps"), "id"), _step_summary, _step_changes)
    fields = _diff_items(
        "input", _keyed(old.input_schema.get("fields"), "name"), _keyed(new.input_schema.get("fields"), "name"),
        lambda f: str(f.get("type", "")), lambda a, b: _changes(a, b, skip=("name",)),
    )
    outputs: list[ItemDiff] = []
    for kind in OUTPUT_KINDS:
        before = _keyed((old.dsl.get("outputs") or {}).get(kind), "id")
        after = _keyed((new.dsl.get("outputs") or {}).get(kind), "id")
        outputs += _diff_items(kind, before, after, lambda o: f"from {o.get('source', '?')}", lambda a, b: _changes(a, b, skip=("id",)))
    return VersionDiff(old.version, new.version, tuple(steps), tuple(fields), tuple(outputs))


# -------------------------------------------------------------------------------- comparing results
@dataclass(frozen=True)
class SeriesPair:
    """One series of the two results, either side None when only the other version draws it."""

    id: str
    label: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def same(self) -> bool:
        return self.old is not None and self.new is not None and self.old.get("x") == self.new.get("x") and _same_list(self.old.get("y"), self.new.get("y"))


@dataclass(frozen=True)
class TableDiff:
    """One table of the two results, rows paired (by their first column when it is a unique key, else by
    position); ``changed`` holds (row index, column) of each cell that differs; a row only one side has
    is in ``only_old`` / ``only_new`` (indexes into ``rows``)."""

    id: str
    label: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]  # the new version's values, then the rows only the old one has
    old_rows: tuple[dict[str, Any] | None, ...]
    changed: frozenset[tuple[int, str]]
    only_old: frozenset[int]
    only_new: frozenset[int]

    @property
    def same(self) -> bool:
        return not (self.changed or self.only_old or self.only_new)


@dataclass(frozen=True)
class MetricPair:
    id: str
    label: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def same(self) -> bool:
        return self.old is not None and self.new is not None and _same(self.old.get("value"), self.new.get("value"))


@dataclass
class Comparison:
    """Two versions run with the same inputs, their outputs paired."""

    old: RunOutcome
    new: RunOutcome
    inputs: dict[str, Any]
    series: list[SeriesPair]
    tables: list[TableDiff]
    metrics: list[MetricPair]
    left_out: dict[int, list[str]] = field(default_factory=dict)  # version -> inputs it does not declare

    @property
    def same(self) -> bool:
        return all(s.same for s in self.series) and all(t.same for t in self.tables) and all(m.same for m in self.metrics)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=REL_TOLERANCE, abs_tol=1e-12)
    return a == b


def _same_list(a: list[Any] | None, b: list[Any] | None) -> bool:
    a, b = a or [], b or []
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    before, after = _keyed(old, "id"), _keyed(new, "id")
    ids = list(after) + [k for k in before if k not in after]
    return [(k, before.get(k), after.get(k)) for k in ids]


def diff_table(table_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> TableDiff:
    """Pair two versions of a table's rows and mark every cell that differs."""
    old_rows = list((old or {}).get("rows") or [])
    new_rows = list((new or {}).get("rows") or [])
    columns = list((new or old or {}).get("columns") or [])
    for extra in (old or {}).get("columns") or []:
        if extra not in columns:
            columns.append(extra)
    label = str((new or old or {}).get("label") or table_id)
    key = columns[0] if columns else None
    old_keys = [r.get(key) for r in old_rows] if key else []
    new_keys = [r.get(key) for r in new_rows] if key else []
    keyed = bool(key) and len(set(map(repr, old_keys))) == len(old_keys) and len(set(map(repr, new_keys))) == len(new_keys)
    paired: list[tuple[dict[str, Any] | None, dict[str, Any] | None]]
    if keyed:
        by_key = {repr(k): r for k, r in zip(old_keys, old_rows, strict=True)}
        paired = [(by_key.pop(repr(r.get(key)), None), r) for r in new_rows]
        paired += [(r, None) for r in by_key.values()]
    else:
        paired = [(old_rows[i] if i < len(old_rows) else None, new_rows[i] if i < len(new_rows) else None) for i in range(max(len(old_rows), len(new_rows)))]
    rows, olds, changed, only_old, only_new = [], [], set(), set(), set()
    for index, (before, after) in enumerate(paired):
        rows.append(after if after is not None else before or {})
        olds.append(before)
        if before is None:
            only_new.add(index)
        elif after is None:
            only_old.add(index)
        else:
            changed |= {(index, c) for c in columns if not _same(before.get(c), after.get(c))}
    return TableDiff(table_id, label, tuple(columns), tuple(rows), tuple(olds), frozenset(changed), frozenset(only_old), frozenset(only_new))


def pair_results(old: RunOutcome, new: RunOutcome, inputs: dict[str, Any], left_out: dict[int, list[str]] | None = None) -> Comparison:
    """Pair the outputs of two runs by id."""
    a, b = old.result.outputs, new.result.outputs
    series = [SeriesPair(k, str((n or o or {}).get("label") or k), o, n) for k, o, n in _pairs(a.get("series") or [], b.get("series") or [])]
    tables = [diff_table(k, o, n) for k, o, n in _pairs(a.get("tables") or [], b.get("tables") or [])]
    metrics = [MetricPair(k, str((n or o or {}).get("label") or k), o, n) for k, o, n in _pairs(a.get("metrics") or [], b.get("metrics") or [])]
    return Comparison(old, new, dict(inputs), series, tables, metrics, dict(left_out or {}))


# ------------------------------------------------------------------------------------------ service
@dataclass(frozen=True)
class SourceUpdates:
    """For a fork's owner: the source's versions newer than the one the fork follows, each with its diff
    from the fork's current version."""

    source_slug: str
    following: int | None
    newer: tuple[tuple[ModelVersion, VersionDiff], ...]


class VersionsService:
    """History, diff, restore, compare and lineage over the registry, the models service and the run flow."""

    def __init__(self, store: Store, registry: RegistryService, models: ModelsService, runs: RunsService):
        self._store = store
        self._registry = registry
        self._models = models
        self._runs = runs

    def history(self, user: User | None, slug: str) -> list[ModelVersion]:
        """Every version the user may see, newest first (drafts only for the author)."""
        return self._registry.list_versions(slug, user)

    def get(self, user: User | None, slug: str, number: int) -> ModelVersion:
        """Version ``number`` of the model, or ``NotFoundError`` with a sentence."""
        found = next((v for v in self.history(user, slug) if v.version == int(number)), None)
        if found is None:
            raise NotFoundError(f"Model '{slug}' has no version {number} that you can see; its history lists the versions there are.")
        return found

    def diff(self, user: User | None, slug: str, old: int, new: int) -> VersionDiff:
        """The structural diff from version ``old`` to version ``new`` of one model."""
        return diff_versions(self.get(user, slug, old), self.get(user, slug, new))

    def restore(self, user: User | None, slug: str, number: int) -> ModelVersion:
        """Make version ``number`` the current one again, as a new version (history is never rewritten)."""
        user = require_user(user, "restore a version")
        model = self._registry.get_model(slug, user)
        if model.owner_id != user.id:
            raise PermissionDenied("Only the author can restore a version of this model; fork it to make your own copy.")
        old = self.get(user, slug, number)
        if model.latest is not None and model.latest.id == old.id:
            raise InputInvalid({"version": f"Version {number} is already the current version."})
        return self._models.add_version(user, slug, old.dsl, old.input_schema, changelog=f"Restored version {number}")

    def compare(self, user: User | None, slug: str, old: int, new: int, inputs: dict[str, Any] | None = None) -> Comparison:
        """Run versions ``old`` and ``new`` with the same inputs (each keeps only the inputs it declares; the
        rest take their defaults) and pair their outputs."""
        user = require_user(user, "compare versions")
        if int(old) == int(new):
            raise InputInvalid({"version": "Choose two different versions to compare."})
        given = dict(inputs or {})
        outcomes, left_out = [], {}
        for number in (int(old), int(new)):
            version = self.get(user, slug, number)
            declared = {f.get("name") for f in version.input_schema.get("fields") or []}
            kept = {k: v for k, v in given.items() if k in declared}
            if len(kept) < len(given):
                left_out[number] = sorted(set(given) - set(kept))
            outcomes.append(self._runs.run_model(user, slug, kept, version=number))
        return pair_results(outcomes[0], outcomes[1], given, left_out)

    def lineage(self, user: User | None, slug: str) -> Lineage:
        """Where the model came from and its forks the user may list."""
        found = self._store.models.lineage(slug, user)
        if found is None:
            raise NotFoundError(f"No model '{slug}' is visible to you; check the link or browse the registry.")
        return found

    def source_updates(self, user: User | None, slug: str) -> SourceUpdates | None:
        """For the owner of a fork: the source's newer versions with their diffs; None for anyone else, or when
        the model is no fork or its source is hidden."""
        if user is None:
            return None
        model = self._registry.get_model(slug, user)
        if model.owner_id != user.id or not model.forked_from_id or model.latest is None:
            return None
        lineage = self.lineage(user, slug)
        if lineage.source is None:
            return None
        following = lineage.source.version
        newer = [v for v in self.history(user, lineage.source.slug) if v.status == "published" and (following is None or v.version > following)]
        newer.sort(key=lambda v: v.version)
        return SourceUpdates(lineage.source.slug, following, tuple((v, diff_versions(model.latest, v)) for v in newer))

    def take(self, user: User | None, fork_slug: str, number: int) -> ModelVersion:
        """Take version ``number`` of the fork's source as a new version of the fork (its owner only)."""
        user = require_user(user, "take a version")
        version = self._store.models.take_source_version(user, fork_slug, int(number))
        self._registry.invalidate()
        return version
