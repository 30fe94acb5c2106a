"""Command line: ``python -m engine ops | validate FILE... | run FILE`` (a stable contract).

- ``ops [--json]``: every operation with family, input types, output type, params schema, summary.
- ``validate FILE... [--json]``: exit 0 when every file is valid, 1 otherwise; one line per problem
  (``CODE at PATH: message``) or JSON objects with ``code``, ``path``, ``message``, ``hint``.
- ``run FILE [--input name=value ...] [--data auto|live|sample] [--json]``: run and print the result;
  exit 1 with a sentence on any failure.

A FILE is a bare DSL document or a seed file (metadata + ``dsl`` + ``input_schema``). Bad input never
produces a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.errors import DataError, EngineError, InputInvalid, Problem, StepFailed, ValidationFailed
from engine.document import read_json
from engine.registry import load_all
from engine.validator import validate


def load_document(path: str) -> tuple[dict[str, Any] | Any, Any, list[Problem]]:
    """Read FILE: return (dsl, input_schema, problems reading it)."""
    try:
        raw_bytes = Path(path).read_bytes()
    except OSError as exc:
        return None, None, [Problem("E_FILE", (), f"cannot read {path}: {exc.strerror or exc}")]
    raw, unreadable = read_json(raw_bytes)
    if unreadable:
        return None, None, unreadable
    if isinstance(raw, dict) and "dsl" in raw:
        from contracts.dsl import ModelMeta

        problems: list[Problem] = []
        try:
            ModelMeta.model_validate(raw)
        except Exception as exc:  # pydantic ValidationError: report each field
            from pydantic import ValidationError

            if isinstance(exc, ValidationError):
                for item in exc.errors():
                    loc = tuple(item["loc"])
                    if item["loc"] and item["loc"][0] in ("dsl", "input_schema"):
                        continue
                    problems.append(Problem("E_SEED", loc, item["msg"]))
        return raw.get("dsl"), raw.get("input_schema"), problems
    return raw, None, []


def _parse_inputs(pairs: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--input expects name=value, got '{pair}'")
        inputs[name.strip()] = value
    return inputs


def cmd_ops(args: argparse.Namespace) -> int:
    ops = sorted(load_all().values(), key=lambda op: (op.family, op.name))
    if args.json:
        print(json.dumps([op.describe() for op in ops], indent=2))
        return 0
    width = max(len(op.name) for op in ops)
    for op in ops:
        described = op.describe()
        inputs = ", ".join(
            "|".join(slot["types"]) + ("..." if slot["variadic"] else "?" if slot["optional"] else "") for slot in described["inputs"]
        )
        params = ", ".join(described["params"].get("properties", {}))
        print(f"{op.name:<{width}}  {op.family:<8} ({inputs or '-'}) -> {described['output']:<8} params: {params or '-'}")
        print(f"{'':<{width}}  {op.summary}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    all_ok = True
    report: list[dict[str, Any]] = []
    for path in args.files:
        dsl, schema, problems = load_document(path)
        if dsl is not None or not problems:
            problems = problems + validate(dsl, schema)
        all_ok = all_ok and not problems
        if args.json:
            report.append({"file": path, "valid": not problems, "errors": [p.to_json() for p in problems]})
        elif problems:
            print(f"{path}: {len(problems)} error{'s' if len(problems) != 1 else ''}")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"{path}: valid")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0 if all_ok else 1


def _compose(mode: str) -> tuple[Any, Any]:
    """Data access and limits from the configuration (this entry point is a composition root, like app.py)."""
    from services.config import Settings
    from services.data import data_access

    settings = Settings.load()
    return data_access(settings, mode), settings.limits


def cmd_run(args: argparse.Namespace) -> int:
    from engine.executor import execute

    dsl, schema, problems = load_document(args.file)
    if problems:
        _fail(args, "E_INVALID", f"{args.file} is not a valid model: " + "; ".join(map(str, problems)), problems)
        return 1
    try:
        inputs = _parse_inputs(args.input or [])
        data, limits = _compose(args.data)
        result = execute(dsl, inputs, data, input_schema=schema, limits=limits)
    except ValidationFailed as exc:
        _fail(args, exc.code, str(exc), exc.problems)
        return 1
    except InputInvalid as exc:
        _fail(args, exc.code, "Invalid inputs: " + str(exc), fields=exc.fields)
        return 1
    except StepFailed as exc:
        _fail(args, exc.cause_code, str(exc), step=exc.step_id)
        return 1
    except (EngineError, DataError) as exc:
        _fail(args, getattr(exc, "code", "E_ERROR"), str(exc))
        return 1
    except ValueError as exc:
        _fail(args, "E_USAGE", str(exc))
        return 1
    if args.json:
        print(result.dumps())
    else:
        _print_result(result)
    return 0


def _fail(args: argparse.Namespace, code: str, message: str, problems: list[Problem] | None = None, **extra: Any) -> None:
    if getattr(args, "json", False):
        payload: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
        if problems:
            payload["error"]["problems"] = [p.to_json() for p in problems]
        print(json.dumps(payload))
    else:
        print(f"error: {message}", file=sys.stderr)


def _print_result(result: Any) -> None:
    outputs = result.outputs
    for metric in outputs["metrics"]:
        print(f"{metric['label']}: {metric['text']}")
    for series in outputs["series"]:
        values = [v for v in series["y"] if v is not None]
        last = f"{values[-1]:.4g}" if values else "n/a"
        span = f"{series['x'][0]} .. {series['x'][-1]}" if series["x"] else "empty"
        print(f"series {series['id']} ({series['label']}): {len(series['x'])} points, {span}, last {last}")
    for table in outputs["tables"]:
        print(f"table {table['id']} ({table['label']}): {len(table['rows'])} rows")
        for row in table["rows"][:12]:
            print("  " + ", ".join(f"{k}={_short(v)}" for k, v in row.items()))
    print("trace:")
    for entry in result.trace:
        print(f"  {entry.step:<20} {entry.operation:<22} {entry.ms:9.2f} ms  {entry.rows:>7} rows")
    print("data:")
    for prov in result.provenance:
        flag = "live" if prov["live"] else "sample"
        print(f"  {prov['provider']} ({flag}) {prov['dataset']} {prov['symbol']} as of {prov['as_of']}" + (" [cached]" if prov["cache_hit"] else ""))
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"runtime: {result.runtime_ms:.1f} ms")


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Validate and run Auster Models DSL documents.")
    sub = parser.add_subparsers(dest="command", required=True)
    ops = sub.add_parser("ops", help="list every operation")
    ops.add_argument("--json", action="store_true")
    ops.set_defaults(func=cmd_ops)
    val = sub.add_parser("validate", help="validate DSL or seed files")
    val.add_argument("files", nargs="+")
    val.add_argument("--json", action="store_true")
    val.set_defaults(func=cmd_validate)
    run = sub.add_parser("run", help="run a DSL or seed file")
    run.add_argument("file")
    run.add_argument("--input", action="append", metavar="NAME=VALUE")
    run.add_argument("--data", choices=["auto", "live", "sample"], default="auto")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
