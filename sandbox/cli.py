"""Command line, a stable contract for scripts; never prints a traceback.

- ``run --runtime python|js FILE [--inputs JSON_FILE] [--entrypoint run] [--json]``: run FILE's
  ``run(inputs)`` in the sandbox with the limits from ``MODEL_MAX_*``; print ``{"value": ...}`` and exit
  0, or ``{"error": {"code", "message"}}`` and exit 1. ``--json`` prints one compact line and adds the
  run's ``audit`` record; without it the document is indented and a one-line summary goes to stderr.
- ``build-env [--force]``: build the sandbox environment (``AUSTER_SANDBOX_ENV``, default
  /opt/auster-sandbox) from requirements-sandbox.txt; idempotent.
- ``check-deps NAME...``: exit 1 and one line per dependency outside the allowlist.
- ``status``: whether Python and JavaScript can run here, and why not.

Inputs and values in JSON are the JavaScript shapes: a series is ``{"index": [dates], "values": [...]}``,
a frame ``{"index": [...], "columns": {name: [...]}}``, a scalar a number, a record a flat object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from sandbox import allowlist, environment, wire
from sandbox.errors import SandboxError, SandboxInputError
from sandbox.runner import run_code, unavailable_reason


def plain_to_value(name: str, data: Any) -> Any:
    """A JSON input in the JavaScript shapes (or the tagged wire shape) -> pandas / float / dict."""
    where = f"input {name!r}"
    if isinstance(data, bool) or data is None:
        raise wire.WireError(f"{where} is {json.dumps(data)}; give a number, a series, a frame or a record.")
    if isinstance(data, int | float):
        return float(data)
    if not isinstance(data, dict):
        raise wire.WireError(f"{where} is a list or string; give a number, a series, a frame or a record.")
    if "type" in data and data.get("type") in wire.KINDS:
        return wire.decode(data, where)
    if isinstance(data.get("index"), list) and isinstance(data.get("values"), list):
        return wire.decode({"type": "series", "name": data.get("name"), "index": data["index"], "values": data["values"]}, where)
    if isinstance(data.get("columns"), dict):
        tagged = {"type": "frame", "columns": data["columns"]}
        if "index" in data:
            index = data["index"]
            dates = isinstance(index, list) and all(isinstance(v, str) and wire._ISO_DATE.match(v) for v in index)
            tagged.update(index=index, index_type="datetime" if dates else "labels")
        return wire.decode(tagged, where)
    return wire.decode({"type": "record", "value": data}, where)


def value_to_plain(value: Any) -> Any:
    """A value from the sandbox -> the JSON shapes above (NaN as null)."""
    encoded = wire.encode(value)
    if encoded["type"] == "series":
        return {"index": encoded["index"], "values": encoded["values"], "name": encoded["name"]}
    if encoded["type"] == "frame":
        return {"index": encoded["index"], "columns": encoded["columns"]}
    return encoded["value"]


def _read_text(path: str, what: str) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SandboxInputError(f"The {what} {path} cannot be read ({exc.strerror or exc}).") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SandboxInputError(f"The {what} {path} is not UTF-8 text.") from None


def _read_inputs(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    text = _read_text(path, "inputs file")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SandboxInputError(f"The inputs file {path} is not valid JSON{where}.") from None
    if not isinstance(data, dict):
        raise SandboxInputError(f"The inputs file {path} must hold a JSON object of named inputs.")
    try:
        return {name: plain_to_value(name, value) for name, value in data.items()}
    except (wire.WireError, RecursionError) as exc:
        raise SandboxInputError(f"The inputs file {path} has an unusable input: {exc}") from None


def _emit(document: dict[str, Any], compact: bool) -> None:
    text = json.dumps(document, allow_nan=False, separators=(",", ":")) if compact else json.dumps(document, allow_nan=False, indent=2)
    print(text)


def cmd_run(args: argparse.Namespace) -> int:
    os.environ.setdefault("AUSTER_SANDBOX_SPARES", "0")  # one run per command: a warm spare would be wasted
    audit = None
    try:
        code = _read_text(args.file, "code file")
        inputs = _read_inputs(args.inputs)
        result = run_code(args.runtime, code, args.entrypoint, inputs, actor=args.actor)
        audit = result.audit
        document: dict[str, Any] = {"value": value_to_plain(result.value)}
        status = 0
    except SandboxError as error:
        audit = error.audit
        document = {"error": error.to_dict()}
        status = 1
    except (wire.WireError, pd.errors.OutOfBoundsDatetime, OverflowError) as exc:
        document = {"error": {"code": "E_SANDBOX_OUTPUT", "message": f"The value cannot be printed as JSON: {exc}"}}
        status = 1
    if args.json:
        if audit is not None:
            document["audit"] = audit.to_dict()
        _emit(document, compact=True)
    else:
        _emit(document, compact=False)
        if audit is not None:
            print(f"{audit.runtime} run {audit.run_id[:8]}: {audit.exit_cause}, {audit.runtime_ms:.0f} ms ({audit.start} start), "
                  f"peak {audit.peak_memory_mb} MB, code sha256 {audit.code_sha256[:12]}", file=sys.stderr)
    return status


def cmd_build_env(args: argparse.Namespace) -> int:
    root = environment.env_dir()
    try:
        env = environment.build(root, force=args.force)
    except SandboxError as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"The sandbox environment cannot be built at {root}: {exc.strerror or exc}.", file=sys.stderr)
        return 1
    print(f"Sandbox environment ready at {env.root} (Python {env.python_version}; {', '.join(allowlist.approved())}).")
    return 0


def cmd_check_deps(args: argparse.Namespace) -> int:
    problems = allowlist.check_dependencies(args.names)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def cmd_status(_args: argparse.Namespace) -> int:
    status = 0
    for runtime in ("python", "js"):
        reason = unavailable_reason(runtime)
        print(f"{runtime}: {'ready' if reason is None else reason}")
        status |= reason is not None
    return status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(json.dumps({"error": {"code": "E_SANDBOX_USAGE", "message": f"{message[0].upper()}{message[1:]}."}}))
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m sandbox", description="Run user code in the Auster sandbox.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="run FILE's run(inputs) in the sandbox")
    run.add_argument("--runtime", choices=("python", "js"), required=True)
    run.add_argument("file", metavar="FILE")
    run.add_argument("--inputs", metavar="JSON_FILE")
    run.add_argument("--entrypoint", default="run")
    run.add_argument("--actor", default=None, help="who runs it, for the audit record")
    run.add_argument("--json", action="store_true", help="one compact JSON line, with the audit record")
    run.set_defaults(handler=cmd_run)
    build = commands.add_parser("build-env", help="build the sandbox environment from requirements-sandbox.txt")
    build.add_argument("--force", action="store_true", help="rebuild even when the environment is current")
    build.set_defaults(handler=cmd_build_env)
    deps = commands.add_parser("check-deps", help="check declared dependencies against the allowlist")
    deps.add_argument("names", nargs="+")
    deps.set_defaults(handler=cmd_check_deps)
    commands.add_parser("status", help="can Python and JavaScript run here?").set_defaults(handler=cmd_status)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: the contract is "never a traceback"
        print(json.dumps({"error": {"code": "E_SANDBOX_INTERNAL", "message": f"The sandbox failed unexpectedly ({type(exc).__name__})."}}))
        return 1
