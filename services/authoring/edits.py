"""Every edit the builder offers, as a pure function ``Draft -> Draft`` (some also return a value).

An edit that cannot be made as asked raises ``EditRefused`` with a sentence for the user (an edge
whose types do not fit, a taken id, a cycle); an edit that leaves the model incomplete (a step
missing a parameter) is made, and the validator reports what is missing. Edits never touch parts of
the document they are not about, so unchanged parts keep their exact form.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any, Literal

from contracts.dsl import RELATIVE_DATE, STEP_ID_PATTERN
from contracts.errors import EditRefused
from engine.registry import REGISTRY, ValueType, load_all, slot_for
from engine.validator import static_types
from services.authoring import graph
from services.authoring.document import META_FIELDS, Draft

OUTPUT_KINDS = ("series", "tables", "metrics")
FIELD_TYPES = ("string", "number", "integer", "boolean", "date", "enum", "symbol", "series_id", "expiration")
INPUT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
Dependents = Literal["disconnect", "delete", "reconnect"]
DEPENDENT_CHOICES: dict[str, str] = {
    "disconnect": "Keep them, without this input (fix them afterwards)",
    "reconnect": "Connect them to this step's own input instead",
    "delete": "Delete them too, with everything downstream",
}


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _editable(draft: Draft) -> dict[str, Any]:
    """A copy of the DSL to change, or a refusal when the document is not a model any more."""
    doc = draft.copy_dsl()
    if not isinstance(doc, dict) or not isinstance(doc.get("steps", []), list):
        raise EditRefused("The document is not a model right now (see the JSON tab); fix it there or undo.")
    doc.setdefault("steps", [])
    return doc


def _step(doc: dict[str, Any], step_id: str) -> dict[str, Any]:
    found = graph.find(doc, step_id)
    if found is None:
        raise EditRefused(f"There is no step '{step_id}'.")
    return found[1]


def _outputs(doc: dict[str, Any]) -> dict[str, Any]:
    outputs = doc.get("outputs")
    if not isinstance(outputs, dict):
        outputs = doc["outputs"] = {}
    return outputs


def _fields(schema: Any) -> list[dict[str, Any]]:
    if not isinstance(schema, dict) or not isinstance(schema.get("fields", []), list):
        raise EditRefused("The input schema is not readable right now (see the JSON tab); fix it there or undo.")
    schema.setdefault("fields", [])
    return schema["fields"]


def _unique(base: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "step"
    if not base[0].isalpha():
        base = f"s_{base}"
    base = base[:36]
    if base not in taken:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def suggest_step_id(draft: Draft, operation: str) -> str:
    """A free id named after the operation (``zscore``, ``zscore_2``; fetches by what they fetch: ``series``)."""
    base = operation.removeprefix("fetch_") if operation.startswith("fetch_") else operation
    return _unique(base, set(graph.step_ids(draft.dsl)))


def types_of(draft: Draft) -> dict[str, ValueType]:
    """The value type each step produces, where the graph lets it be known."""
    if not isinstance(draft.dsl, dict):
        return {}
    try:
        return static_types(draft.dsl, draft.input_schema)
    except Exception:  # a document broken in a way the type pass does not expect: types are unknown
        return {}


def _set_or_drop(container: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, or remove it when ``value`` is None (an optional setting back to its default)."""
    if value is None:
        container.pop(key, None)
    else:
        container[key] = value


# ----------------------------------------------------------------------------------------------
# steps
# ----------------------------------------------------------------------------------------------


def add_step(draft: Draft, operation: str, step_id: str | None = None) -> tuple[Draft, str]:
    """Place a step of ``operation`` with its default parameters (nothing written: the defaults apply)."""
    load_all()
    if operation not in REGISTRY:
        raise EditRefused(f"There is no operation '{operation}'.")
    doc = _editable(draft)
    new_id = step_id or suggest_step_id(draft, operation)
    _check_new_id(doc, new_id)
    doc["steps"].append({"id": new_id, "operation": operation, "params": {}})
    return draft.with_dsl(doc), new_id


def _check_new_id(doc: dict[str, Any], new_id: str) -> None:
    if not re.match(STEP_ID_PATTERN, new_id):
        raise EditRefused(f"'{new_id}' cannot be a step id: use up to 40 lowercase letters, digits and _, starting with a letter.")
    if new_id in graph.step_ids(doc):
        raise EditRefused(f"A step is already called '{new_id}'.")


def rename_step(draft: Draft, old: str, new: str) -> Draft:
    """Give a step another id, and follow it everywhere it is used (inputs and outputs)."""
    doc = _editable(draft)
    if old == new:
        return draft
    step = _step(doc, old)
    _check_new_id(doc, new)
    step["id"] = new
    for _, other in graph.steps(doc):
        if isinstance(other.get("inputs"), list):
            other["inputs"] = [new if ref == old else ref for ref in other["inputs"]]
    for kind in OUTPUT_KINDS:
        for item in _outputs(doc).get(kind) or []:
            if isinstance(item, dict) and item.get("source") == old:
                item["source"] = new
    return draft.with_dsl(doc)


def set_param(draft: Draft, step_id: str, name: str, value: Any) -> Draft:
    """Write a literal value (a text starting with ``$`` is kept as text: it is written ``$$...``)."""
    doc = _editable(draft)
    step = _step(doc, step_id)
    if isinstance(value, str) and value.startswith("$"):
        value = "$" + value
    params = step.get("params") if isinstance(step.get("params"), dict) else {}
    params[name] = value
    step["params"] = params
    return draft.with_dsl(doc)


def unset_param(draft: Draft, step_id: str, name: str) -> Draft:
    """Remove a parameter so its default applies (the ``params`` object goes when it is empty and was not there)."""
    doc = _editable(draft)
    step = _step(doc, step_id)
    params = step.get("params")
    if isinstance(params, dict) and name in params:
        del params[name]
    return draft.with_dsl(doc)


def bind_param(draft: Draft, step_id: str, name: str, input_name: str) -> Draft:
    """Make a parameter take the run input ``input_name`` (``"$input_name"``); the input must be declared."""
    schema = draft.input_schema if isinstance(draft.input_schema, dict) else {}
    declared = [f.get("name") for f in schema.get("fields") or [] if isinstance(f, dict)]
    if input_name not in declared:
        raise EditRefused(f"There is no input '{input_name}'; add it to the inputs first.")
    doc = _editable(draft)
    step = _step(doc, step_id)
    params = step.get("params") if isinstance(step.get("params"), dict) else {}
    params[name] = f"${input_name}"
    step["params"] = params
    return draft.with_dsl(doc)


def param_value(step: dict[str, Any], name: str) -> tuple[str, Any]:
    """How a parameter is set: ``("unset", None)``, ``("input", "start")`` or ``("value", literal)``."""
    params = step.get("params") if isinstance(step.get("params"), dict) else {}
    if name not in params:
        return "unset", None
    value = params[name]
    if isinstance(value, str) and value.startswith("$$"):
        return "value", value[1:]
    if isinstance(value, str) and value.startswith("$"):
        return "input", value[1:]
    return "value", value


def connect(draft: Draft, source: str, target: str, position: int | None = None) -> Draft:
    """Feed ``source`` into ``target`` (its next free input, or ``position``); refused with a sentence when it cannot fit."""
    load_all()
    doc = _editable(draft)
    _step(doc, source)
    step = _step(doc, target)
    if source == target:
        raise EditRefused(f"A step cannot take its own output: '{source}' into '{target}'.")
    if source in graph.descendants(doc, target):
        raise EditRefused(f"'{source}' already depends on '{target}', so '{target}' cannot take it as an input: that would make a loop.")
    op = REGISTRY.get(step.get("operation", ""))
    if op is None:
        raise EditRefused(f"'{target}' has no known operation yet; choose one before connecting it.")
    inputs = list(graph.inputs_of(step)) if isinstance(step.get("inputs"), list) else []
    at = len(inputs) if position is None else position
    if at > len(inputs) or at < 0:
        raise EditRefused(f"'{target}' has {len(inputs)} input(s); fill them in order.")
    if position is None and source in inputs:
        raise EditRefused(f"'{source}' already feeds '{target}'.")
    if op.max_inputs is not None and at >= op.max_inputs:
        have = ", ".join(f"'{i}'" for i in inputs) or "none"
        raise EditRefused(f"'{target}' ({op.name}) takes at most {op.max_inputs} input(s) and already has {have}; disconnect one first.")
    slot = slot_for(op, at)
    got = types_of(draft).get(source)
    if slot is not None and got is not None and got not in slot.types:
        kinds = " or ".join(sorted(t.value for t in slot.types))
        raise EditRefused(f"'{target}' ({op.name}) takes a {kinds} as its input '{slot.name}', but '{source}' gives a {got.value}.")
    if at == len(inputs):
        inputs.append(source)
    else:
        inputs[at] = source
    step["inputs"] = inputs
    return draft.with_dsl(doc)


def disconnect(draft: Draft, source: str, target: str) -> Draft:
    """Remove ``source`` from ``target``'s inputs (the later inputs move up one place)."""
    doc = _editable(draft)
    step = _step(doc, target)
    inputs = step.get("inputs") if isinstance(step.get("inputs"), list) else []
    if source not in inputs:
        raise EditRefused(f"'{source}' does not feed '{target}'.")
    inputs.remove(source)
    if inputs:
        step["inputs"] = inputs
    else:
        step.pop("inputs", None)
    return draft.with_dsl(doc)


def set_input(draft: Draft, target: str, position: int, source: str | None) -> Draft:
    """Set input ``position`` of ``target`` (the step editor's choice), or clear it with ``None``."""
    doc = _editable(draft)
    step = _step(doc, target)
    inputs = graph.inputs_of(step)
    if source is None:
        if position < len(inputs):
            return disconnect(draft, inputs[position], target)
        return draft
    if position < len(inputs) and inputs[position] == source:
        return draft
    return connect(draft, source, target, min(position, len(inputs)))


def input_slots(draft: Draft, step_id: str) -> list[tuple[int, str, str, str | None]]:
    """``(position, slot name, accepted types, current source)`` for the step editor: every fixed slot,
    and for a variadic one each filled place plus one more."""
    load_all()
    found = graph.find(draft.dsl, step_id)
    op = REGISTRY.get(found[1].get("operation", "")) if found else None
    if op is None:
        return []
    current = graph.inputs_of(found[1])
    rows = []
    for position, slot in enumerate(op.inputs):
        kinds = " or ".join(sorted(t.value for t in slot.types))
        if slot.variadic:
            for extra in range(position, max(len(current) + 1, op.min_inputs)):
                rows.append((extra, f"{slot.name} {extra - position + 1}", kinds, current[extra] if extra < len(current) else None))
            break
        rows.append((position, slot.name + ("" if not slot.optional else " (optional)"), kinds, current[position] if position < len(current) else None))
    return rows


def input_candidates(draft: Draft, target: str, position: int) -> list[str]:
    """The steps that may fill input ``position`` of ``target``: not downstream of it, and of a type that fits."""
    load_all()
    found = graph.find(draft.dsl, target)
    if found is None:
        return []
    op = REGISTRY.get(found[1].get("operation", ""))
    slot = slot_for(op, position) if op else None
    blocked = graph.descendants(draft.dsl, target) | {target}
    types = types_of(draft)
    return [sid for sid in graph.step_ids(draft.dsl)
            if sid not in blocked and (slot is None or types.get(sid) is None or types[sid] in slot.types)]


def remove_step(draft: Draft, step_id: str, dependents: Dependents = "disconnect") -> Draft:
    """Delete a step; ``dependents`` says what happens to the steps that used it (see ``DEPENDENT_CHOICES``).

    Outputs showing a deleted step go with it.
    """
    doc = _editable(draft)
    step = _step(doc, step_id)
    if dependents not in DEPENDENT_CHOICES:
        raise EditRefused(f"Choose what happens to the steps that use '{step_id}': {', '.join(DEPENDENT_CHOICES)}.")
    removed = {step_id} | (graph.descendants(doc, step_id) if dependents == "delete" else set())
    replacement = graph.inputs_of(step)[:1] if dependents == "reconnect" else []
    doc["steps"] = [s for s in doc["steps"] if not (isinstance(s, dict) and s.get("id") in removed)]
    for _, other in graph.steps(doc):
        if not isinstance(other.get("inputs"), list) or step_id not in other["inputs"]:
            continue
        rewired: list[Any] = []
        for ref in other["inputs"]:
            if ref != step_id:
                rewired.append(ref)
            elif replacement and replacement[0] not in rewired:
                rewired.append(replacement[0])
        if rewired:
            other["inputs"] = rewired
        else:
            other.pop("inputs", None)
    outputs = _outputs(doc)
    for kind in OUTPUT_KINDS:
        if isinstance(outputs.get(kind), list):
            outputs[kind] = [o for o in outputs[kind] if not (isinstance(o, dict) and o.get("source") in removed)]
    return draft.with_dsl(doc)


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------


def add_output(draft: Draft, kind: str, source: str) -> tuple[Draft, int]:
    """Show ``source`` as a series (chart), a table or a metric; returns the new entry's index."""
    if kind not in OUTPUT_KINDS:
        raise EditRefused(f"Outputs are {', '.join(OUTPUT_KINDS)}, not '{kind}'.")
    doc = _editable(draft)
    _step(doc, source)
    outputs = _outputs(doc)
    items = outputs.get(kind) if isinstance(outputs.get(kind), list) else []
    taken = {o.get("id") for o in items if isinstance(o, dict)}
    items.append({"id": _unique(source, taken), "source": source, "label": source})
    outputs[kind] = items
    return draft.with_dsl(doc), len(items) - 1


def update_output(draft: Draft, kind: str, index: int, changes: dict[str, Any]) -> Draft:
    """Change fields of one output (a value of None removes an optional field)."""
    doc = _editable(draft)
    item = _output(doc, kind, index)
    for key, value in changes.items():
        _set_or_drop(item, key, value)
    return draft.with_dsl(doc)


def _output(doc: dict[str, Any], kind: str, index: int) -> dict[str, Any]:
    items = _outputs(doc).get(kind)
    if not isinstance(items, list) or not 0 <= index < len(items) or not isinstance(items[index], dict):
        raise EditRefused(f"There is no {kind} output number {index + 1}.")
    return items[index]


def remove_output(draft: Draft, kind: str, index: int) -> Draft:
    doc = _editable(draft)
    _output(doc, kind, index)
    del _outputs(doc)[kind][index]
    return draft.with_dsl(doc)


def move_output(draft: Draft, kind: str, index: int, delta: int) -> Draft:
    """Move an output up (-1) or down (+1) in its list (the order they are shown in)."""
    doc = _editable(draft)
    _output(doc, kind, index)
    items = _outputs(doc)[kind]
    to = index + delta
    if not 0 <= to < len(items):
        return draft
    items.insert(to, items.pop(index))
    return draft.with_dsl(doc)


# ----------------------------------------------------------------------------------------------
# the input schema
# ----------------------------------------------------------------------------------------------


def _check_default(item: dict[str, Any]) -> None:
    """A date input's default must be a date or a relative date (today, today-5y, today-6m, today-2w, today-30d)."""
    default = item.get("default")
    if item.get("type") != "date" or default is None:
        return
    text = str(default).strip()
    if RELATIVE_DATE.match(text):
        return
    try:
        date.fromisoformat(text)
    except ValueError:
        raise EditRefused(f"'{text}' is not a date: use YYYY-MM-DD, or today, today-5y, today-6m, today-2w, today-30d.") from None


def columns_of(draft: Draft, step_id: str) -> list[str] | None:
    """The columns a step's table has, when its operation declares them (for the output mapper's x and y)."""
    load_all()
    found = graph.find(draft.dsl, step_id)
    op = REGISTRY.get(found[1].get("operation", "")) if found else None
    return list(op.columns) if op is not None and op.columns else None


def add_field(draft: Draft, name: str, type_: str = "string", **extra: Any) -> Draft:
    """Declare a run input (a form field); ``extra`` may set label, default, required, options, help, min, max, after."""
    schema = draft.copy_schema() if isinstance(draft.input_schema, dict) else {"fields": []}
    fields = _fields(schema)
    if not INPUT_NAME.match(name or ""):
        raise EditRefused(f"'{name}' cannot be an input name: use up to 40 lowercase letters, digits and _, starting with a letter.")
    if any(isinstance(f, dict) and f.get("name") == name for f in fields):
        raise EditRefused(f"An input is already called '{name}'.")
    if type_ not in FIELD_TYPES:
        raise EditRefused(f"Input types are {', '.join(FIELD_TYPES)}.")
    item = {"name": name, "type": type_}
    for key, value in extra.items():
        _set_or_drop(item, key, value)
    _check_default(item)
    fields.append(item)
    return draft.with_schema(schema)


def update_field(draft: Draft, index: int, changes: dict[str, Any]) -> Draft:
    """Change one input's settings (None removes an optional one); a new name follows into every ``$name``."""
    schema = draft.copy_schema()
    fields = _fields(schema)
    if not 0 <= index < len(fields) or not isinstance(fields[index], dict):
        raise EditRefused(f"There is no input number {index + 1}.")
    item = fields[index]
    old_name = item.get("name")
    new_name = changes.get("name", old_name)
    result = draft
    if new_name != old_name:
        if not INPUT_NAME.match(new_name or ""):
            raise EditRefused(f"'{new_name}' cannot be an input name: use up to 40 lowercase letters, digits and _, starting with a letter.")
        if any(isinstance(f, dict) and f.get("name") == new_name for f in fields):
            raise EditRefused(f"An input is already called '{new_name}'.")
        result = _rebind(draft, old_name, new_name)
    if "type" in changes and changes["type"] not in FIELD_TYPES:
        raise EditRefused(f"Input types are {', '.join(FIELD_TYPES)}.")
    for key, value in changes.items():
        if key == "name":
            item["name"] = new_name
        else:
            _set_or_drop(item, key, value)
    _check_default(item)
    return result.with_schema(schema)


def _rebind(draft: Draft, old: str, new: str) -> Draft:
    doc = draft.copy_dsl()
    for _, step in graph.steps(doc):
        params = step.get("params")
        if isinstance(params, dict):
            for key, value in params.items():
                if value == f"${old}":
                    params[key] = f"${new}"
    return draft.with_dsl(doc)


def remove_field(draft: Draft, index: int) -> Draft:
    """Remove an input (parameters still bound to it are reported by the validator)."""
    schema = draft.copy_schema()
    fields = _fields(schema)
    if not 0 <= index < len(fields):
        raise EditRefused(f"There is no input number {index + 1}.")
    del fields[index]
    return draft.with_schema(schema)


def move_field(draft: Draft, index: int, delta: int) -> Draft:
    """Move an input up (-1) or down (+1): the run form shows them in this order."""
    schema = draft.copy_schema()
    fields = _fields(schema)
    to = index + delta
    if not (0 <= index < len(fields) and 0 <= to < len(fields)):
        return draft
    fields.insert(to, fields.pop(index))
    return draft.with_schema(schema)


# ----------------------------------------------------------------------------------------------
# the whole document and the metadata
# ----------------------------------------------------------------------------------------------


def replace_dsl(draft: Draft, doc: Any) -> Draft:
    """The JSON tab's edit: the document as typed (the validator reports what is wrong with it)."""
    return draft.with_dsl(doc)


def replace_input_schema(draft: Draft, schema: Any) -> Draft:
    return draft.with_schema(schema)


def set_meta(draft: Draft, **changes: Any) -> Draft:
    """Name, slug, description, lab scope, tags and difficulty of the model to save."""
    unknown = set(changes) - set(META_FIELDS)
    if unknown:
        raise EditRefused(f"Unknown model setting(s): {', '.join(sorted(unknown))}.")
    return replace(draft, meta=draft.meta | changes)
