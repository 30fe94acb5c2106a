"""Command line for operators and scripts: ``python -m services init | users add | models list | run | publish | artifact``.

Uses the configured backend (``AUSTER_DB_PATH`` selects the sqlite file). A refusal prints its
sentence on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

from contracts.errors import AusterError, NotFoundError, StoreUnavailable
from services.runner import InlineRunner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services", description="Auster Models: store and run flow.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create or migrate the database and load the seed models")

    users = sub.add_parser("users", help="manage accounts").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create an account")
    add.add_argument("email")
    add.add_argument("--tier", choices=["free", "paid"], default="free")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--password", help="default: a random one, printed once")

    models = sub.add_parser("models", help="the registry").add_subparsers(dest="action", required=True)
    listing = models.add_parser("list", help="list public models")
    listing.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run a model as a user")
    run.add_argument("slug")
    run.add_argument("--as", dest="email", required=True)
    run.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--json", action="store_true")

    publish = sub.add_parser("publish", help="publish a run as an artifact")
    publish.add_argument("run_id")
    publish.add_argument("--title", required=True)
    publish.add_argument("--summary", default="")
    publish.add_argument("--visibility", choices=["public", "unlisted"], default="public")
    publish.add_argument("--json", action="store_true")

    artifact = sub.add_parser("artifact", help="show an artifact")
    artifact.add_argument("slug")
    artifact.add_argument("--json", action="store_true")
    return parser


def _operator(store: Any, name: str) -> Any:
    method = getattr(store, name, None)
    if method is None:
        raise StoreUnavailable(f"'{name}' needs the sqlite backend; with Supabase, do this from the app as the user.")
    return method


def _inputs(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--input takes NAME=VALUE, got '{pair}'")
        values[name.strip()] = value
    return values


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import services

    # Only ``run`` executes a model: it gets the supervised worker pool. Every other command runs no model, so it
    # starts no pool (starting and stopping one took seconds per command).
    overrides: dict[str, Any] = {} if args.command == "run" else {"runner": InlineRunner()}
    try:
        svc = services.build(**overrides)
    except AusterError as exc:
        print(exc, file=sys.stderr)
        return 1
    out = sys.stdout
    try:
        if args.command == "init":
            count = len(svc.registry.list_models(None, limit=200))
            where = svc.settings.db_path if svc.store.kind == "sqlite" else svc.settings.supabase_url
            print(f"{svc.store.kind} store ready at {where}: {count} public models.", file=out)
        elif args.command == "users":
            password = args.password or secrets.token_urlsafe(12)
            user = svc.auth.sign_up(args.email, password)
            if args.tier != "free" or args.admin:
                user = svc.store.users.set_profile(args.email, tier=args.tier, role="admin" if args.admin else None)
            print(f"Created {user.email} (tier {user.tier}, role {user.role}).", file=out)
            if not args.password:
                print(f"Password: {password}", file=out)
        elif args.command == "models":
            models = svc.registry.list_models(None, sort="newest", limit=200)
            if args.json:
                json.dump([{"slug": m.slug, "name": m.name, "lab_scope": m.lab_scope, "tags": list(m.tags), "difficulty": m.difficulty} for m in models], out, indent=2)
                print(file=out)
            else:
                for m in models:
                    print(f"{m.slug:40} {m.lab_scope:12} {m.difficulty:13} {m.name}", file=out)
        elif args.command == "run":
            user = _operator(svc.store.users, "user_by_email")(args.email)
            if user is None:
                raise NotFoundError(f"No account uses {args.email}; create it with: python -m services users add {args.email}")
            outcome = svc.runs.run_model(user, args.slug, _inputs(args.input))
            if args.json:
                body = {"run_id": outcome.run_id, "cached": outcome.cached, "model": outcome.model_slug, "version": outcome.version, "warnings": outcome.warnings}
                json.dump(body | {"result": outcome.result.to_json()}, out, indent=2)
                print(file=out)
            else:
                print(f"run {outcome.run_id} ({'cached' if outcome.cached else f'{outcome.result.runtime_ms:.0f} ms'})", file=out)
                for metric in outcome.result.outputs.get("metrics", []):
                    print(f"  {metric.get('label', metric.get('id'))}: {metric.get('value')}", file=out)
                for warning in outcome.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
        elif args.command == "publish":
            user = _operator(svc.store.users, "owner_of_run")(args.run_id)
            if user is None:
                raise NotFoundError(f"No run {args.run_id}.")
            art = svc.publishing.publish(user, args.run_id, args.title, args.summary, args.visibility)
            if args.json:
                json.dump(art.to_json(), out, indent=2)
                print(file=out)
            else:
                print(art.slug, file=out)
        elif args.command == "artifact":
            art = svc.publishing.get_artifact(args.slug, None, count_view=False)
            if args.json:
                json.dump(art.to_json(), out, indent=2)
                print(file=out)
            else:
                content = art.content
                print(f"{art.title} ({art.visibility}, {art.views} views)\n{content.model.name} v{content.version.version}", file=out)
                print(f"inputs: {json.dumps(content.inputs)}", file=out)
    except AusterError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        svc.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
