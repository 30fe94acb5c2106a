"""A loopback imitation of a Supabase project's REST API (PostgREST) and Auth API (GoTrue), over the real
migrations on the machine's PostgreSQL, for driving the real supabase-py client in tests.

It listens on 127.0.0.1 only, on a free port, and speaks the part of both protocols the app uses:

PostgREST (``/rest/v1``):
- ``GET``/``HEAD``/``POST``/``PATCH``/``DELETE`` on the tables and views of the exposed schema
  (``public``), with ``select`` (columns, ``*``, aliases, casts), horizontal filters (``eq neq gt gte lt
  lte like ilike match imatch in is isdistinct cs cd ov`` and ``not.``), logic trees (``or=(...)``,
  ``and=(...)``, nested, negated, double-quoted values), ``order`` (``asc desc nullsfirst
  nullslast``), ``limit``/``offset``, ``columns``, ``on_conflict`` and the ``Prefer`` preferences
  supabase-py sends (``return=representation|minimal``, ``count=exact``, ``resolution=merge-duplicates|
  ignore-duplicates``, ``missing=default``), answered with ``Content-Range`` and ``Preference-Applied``.
- ``POST /rpc/<function>`` with arguments by name (a JSON object), matched as PostgREST matches an
  overloaded function against the argument names (required arguments all present, optional ones
  among the rest), called with named notation, and answered in PostgREST's shapes: a scalar as a JSON
  value, a single composite as an object, ``setof``/``table`` as an array, ``void`` as 204.
- Every request in one transaction that first does what PostgREST's pre-request does: ``set_config(
  'search_path', ...)``, ``set_config('role', <the JWT's role claim, or anon>, true)`` (that is
  ``SET LOCAL ROLE``), ``set_config('request.jwt.claims', <the claims with role>, true)``,
  ``request.method``, ``request.path`` and ``request.headers``; read-only for ``GET``/``HEAD`` and
  for stable or immutable functions. The connection logs in as a non-superuser ``authenticator``
  role that may only switch into ``anon``, ``authenticated`` and ``service_role``, as Supabase's does.
- Errors as PostgREST reports them: PostgreSQL's own errors forwarded with their code, message,
  details and hint under PostgREST's status mapping (``42501`` is 403 with a JWT role other than the
  anonymous one, else 401; ``P0001`` 400; ``23505`` 409; ...), and PostgREST's own codes: PGRST100
  (query string, with Parsec's positions: postgrest_grammar.py), PGRST102 (body), PGRST202 (no
  function with those argument names, with PostgREST's message and details), PGRST204 (unknown column
  in a payload), PGRST205 (unknown table), PGRST301 (a JWT that does not verify) and PGRST303 (JWT
  claims: expired, with PostgREST's 30 seconds of allowed clock skew).
- A schema cache read at start, reloaded by ``reload_schema()`` (PostgREST's ``NOTIFY pgrst, 'reload
  schema'``), so a migration applied after start is invisible until then, as on a real project.

GoTrue (``/auth/v1``): ``POST /signup`` (email and password; anonymous when neither is given),
``POST /token?grant_type=password`` and ``?grant_type=refresh_token`` (refresh tokens rotate; a used
one is refused), ``GET /user``, ``PUT /user`` (a new password), ``POST /logout?scope=global|local|others``
(204). ``auth_failure`` makes every auth request answer a given status and error code (a stand-in for
GoTrue's rate limits, 429, or an outage, 5xx). Access tokens are
HS256 JWTs with Supabase's claims (``sub``, ``role`` ``authenticated``, ``aud``, ``exp``, ``iat``,
``session_id``, ``is_anonymous``, ...). Errors follow API version 2024-01-01 when the client sends
``X-Supabase-Api-Version`` (supabase-py does): ``{"code": "<error_code>", "message": ...}``. Users
are rows of ``auth.users`` (the migrations' trigger makes their profiles); sessions and refresh tokens
live in this process. Email confirmation is off and anonymous sign-ins are on unless told otherwise.

Both sit behind Supabase's API gateway rule that every request carries an ``apikey`` (the anon or
the service-role key, themselves long-lived JWTs with ``role`` ``anon`` and ``service_role``).

Documented behaviour followed (read, not copied):
- PostgREST: docs.postgrest.org/en/latest/references/ api/tables_views.html (read, operators, logical
  operators, ordering, limits, insert/upsert/update/delete), api/functions.html (functions, arguments
  by name, overloading), api/preferences.html (Prefer), api/pagination_count.html (Content-Range),
  auth.html (JWT, role switching, ``exp`` with 30 s skew, ``request.jwt.claims``), transactions.html
  (the per-request transaction and its settings), schema_cache.html (``NOTIFY pgrst``), errors.html
  (HTTP status per SQLSTATE, PGRST codes: PGRST301 "Provided JWT couldn't be decoded or it is
  invalid", PGRST303 "JWT claims validation or parsing failed"). Messages of PostgREST's own errors
  are those of its source (src/PostgREST/Error.hs, github.com/PostgREST/postgrest).
- GoTrue (github.com/supabase/auth): openapi.yaml and internal/api (signup.go, anonymous.go, token.go,
  logout.go, errors.go, apierrors/errorcode.go) for endpoints, bodies, status codes and error codes
  (``invalid_credentials`` "Invalid login credentials", ``user_already_exists`` "User already
  registered", ``anonymous_provider_disabled``, ``refresh_token_not_found``, ``refresh_token_already_used``,
  ``bad_jwt``, ``session_not_found``, ``weak_password``).
- Supabase: supabase.com/docs/guides/api/api-keys (the anon and service_role keys are JWTs carrying a
  ``role``; service_role bypasses RLS) and .../database/secure-data (never expose the service key).

Not imitated (the app does not use them): resource embedding, aggregates, CSV and other media
types, ``Range`` headers, ``Prefer: tx``/``handling=strict``/``max-affected``, ``PUT``, OpenAPI at
``/``, GoTrue's email flows, MFA, OAuth and rate limits, bcrypt (passwords are PBKDF2 here).
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt as pyjwt
import psycopg
from psycopg import sql

from tests.store import postgrest_grammar as g

SCHEMA = "public"
ANON_ROLE = "anon"
JWT_SKEW_S = 30  # PostgREST allows 30 seconds of clock skew on exp, iat and nbf
API_VERSION = "2024-01-01"
AUTHENTICATOR_SQL = """
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;
grant anon, authenticated, service_role to authenticator;
"""
AUTH_COLUMNS_SQL = """
alter table auth.users add column if not exists encrypted_password text;
alter table auth.users add column if not exists last_sign_in_at timestamptz;
"""


# ----------------------------------------------------------------------------- errors
class HttpError(Exception):
    """An HTTP answer that is an error: status, JSON body, extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def pgrst(status: int, code: str, message: str, details: Any = None, hint: Any = None, headers: dict[str, str] | None = None) -> HttpError:
    """A PostgREST error body: ``{"code", "details", "hint", "message"}``."""
    return HttpError(status, {"code": code, "details": details, "hint": hint, "message": message}, headers)


def status_for_sqlstate(code: str, message: str, authed: bool) -> int:
    """PostgREST's HTTP status for a PostgreSQL error (errors.html, "HTTP Status Codes")."""
    exact = {"23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503, "P0001": 400, "42883": 404, "42P01": 404, "42P17": 500}
    if code == "42501":
        return 403 if authed else 401
    if code == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if code == "22023":
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if code in exact:
        return exact[code]
    prefixes = {"08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500, "39": 500, "3B": 500, "40": 500,
                "53": 503, "54": 500, "55": 500, "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500}
    if code.startswith("PT") and code[2:].isdigit():
        return int(code[2:])
    return prefixes.get(code[:2], 400)


def from_postgres(exc: psycopg.Error, authed: bool) -> HttpError:
    diag = exc.diag
    code = diag.sqlstate or "XX000"
    message = diag.message_primary or str(exc)
    return pgrst(status_for_sqlstate(code, message, authed), code, message, diag.message_detail, diag.message_hint)


def gotrue_error(status: int, error_code: str, message: str, versioned: bool) -> HttpError:
    """GoTrue's error body: ``{"code", "message"}`` for API version 2024-01-01, else the initial shape."""
    if versioned:
        return HttpError(status, {"code": error_code, "message": message}, {"X-Supabase-Api-Version": API_VERSION})
    return HttpError(status, {"code": status, "error_code": error_code, "msg": message})


# ----------------------------------------------------------------------------- schema cache
@dataclass(frozen=True)
class Relation:
    name: str
    columns: dict[str, str]  # name -> formatted type
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Routine:
    name: str
    params: tuple[Param, ...]
    returns: str  # "void", "scalar", "setof scalar", "composite", "setof composite"
    volatile: bool


@dataclass
class SchemaCache:
    relations: dict[str, Relation] = field(default_factory=dict)
    routines: dict[str, list[Routine]] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: psycopg.Connection) -> SchemaCache:
        cache = cls()
        rows = conn.execute(
            "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) from pg_class c join pg_attribute a on a.attrelid = c.oid"
            " where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'v', 'm', 'p', 'f') and a.attnum > 0 and not a.attisdropped"
            " order by c.relname, a.attnum",
            (SCHEMA,),
        ).fetchall()
        columns: dict[str, dict[str, str]] = {}
        for table, column, type_ in rows:
            columns.setdefault(table, {})[column] = type_
        keys = dict(conn.execute(
            "select t.relname, array(select a.attname from pg_attribute a where a.attrelid = c.conrelid and a.attnum = any(c.conkey) order by a.attnum)"
            " from pg_constraint c join pg_class t on t.oid = c.conrelid where t.relnamespace = %s::regnamespace and c.contype = 'p'",
            (SCHEMA,),
        ).fetchall())
        for table, cols in columns.items():
            cache.relations[table] = Relation(table, cols, tuple(keys.get(table) or ()))
        functions = conn.execute(
            "select p.proname, coalesce(p.proargnames, '{}'), array(select format_type(t, null) from unnest(p.proargtypes) t), p.pronargs,"
            " p.pronargdefaults, p.proretset, format_type(p.prorettype, null), ty.typtype,"
            " coalesce(p.proargmodes::text[] && '{t,b,o}', false), p.provolatile"
            " from pg_proc p join pg_type ty on ty.oid = p.prorettype"
            " where p.pronamespace = %s::regnamespace and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype",
            (SCHEMA,),
        ).fetchall()
        for name, arg_names, arg_types, nargs, ndefaults, retset, rettype, typtype, out_args, volatility in functions:
            params = tuple(Param(arg_names[i] if i < len(arg_names) else "", arg_types[i], i < nargs - ndefaults) for i in range(nargs))
            composite = typtype == "c" or out_args
            if rettype == "void":
                returns = "void"
            else:
                returns = ("setof " if retset else "") + ("composite" if composite else "scalar")
            cache.routines.setdefault(name, []).append(Routine(name, params, returns, volatility == "v"))
        return cache


# ----------------------------------------------------------------------------- query building
def ident(*parts: str) -> sql.Composable:
    return sql.Identifier(*parts)


@dataclass
class Query:
    """SQL under construction with its positional parameters (strings go as untyped literals, as PostgREST's)."""

    params: list[Any] = field(default_factory=list)

    def literal(self, value: Any) -> sql.Composable:
        self.params.append(value)
        return sql.Placeholder()


def field_sql(table: str | None, f: g.Field, q: Query, *, as_text: bool = False) -> sql.Composable:
    column = ident(SCHEMA, table, f.name) if table else ident(f.name)
    for arrow, key, is_index in f.json_path:
        operand = sql.SQL("{}::int").format(q.literal(key)) if is_index else q.literal(key)
        column = sql.SQL("{} {} {}").format(column, sql.SQL(arrow), operand)
    return column


def array_literal(values: list[str]) -> str:
    """PostgREST's ``pgBuildArrayLiteral``: every element double-quoted, with ``\\`` and ``"`` escaped."""
    escaped = ['"' + v.replace("\x00", "").replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return "{" + ",".join(escaped) + "}"


SIMPLE_SQL = {"neq": "<>", "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>", "nxr": "&<", "nxl": "&>", "adj": "-|-"}
QUANT_SQL = {"eq": "=", "gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "like": "like", "ilike": "ilike", "match": "~", "imatch": "~*"}
FTS_SQL = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery", "wfts": "websearch_to_tsquery"}
IS_SQL = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}


def filter_sql(table: str | None, flt: g.Filter, q: Query) -> sql.Composable:
    """PostgREST's ``pgFmtFilter``: the column, the operator and the value as an untyped literal."""
    op, column = flt.op, field_sql(table, flt.field, q)
    if op.kind == "simple":
        body = sql.SQL("{} {} {}").format(column, sql.SQL(SIMPLE_SQL[op.operator]), q.literal(op.value))
    elif op.kind == "quant":
        value = op.value.replace("*", "%") if op.operator in ("like", "ilike") else op.value
        operand = q.literal(value)
        if op.quantifier:
            operand = sql.SQL("{}({})").format(sql.SQL(op.quantifier.upper()), operand)
        body = sql.SQL("{} {} {}").format(column, sql.SQL(QUANT_SQL[op.operator]), operand)
    elif op.kind == "is":
        body = sql.SQL("{} IS {}").format(column, sql.SQL(IS_SQL[op.value.lower()]))
    elif op.kind == "isdistinct":
        body = sql.SQL("{} IS DISTINCT FROM {}").format(column, q.literal(op.value))
    elif op.kind == "in":
        body = sql.SQL("{} = ANY('{{}}')").format(column) if op.value == [""] else sql.SQL("{} = ANY ({})").format(column, q.literal(array_literal(op.value)))
    else:  # fts
        language = sql.SQL("{}, ").format(q.literal(op.language)) if op.language else sql.SQL("")
        body = sql.SQL("{} @@ {}({}{})").format(column, sql.SQL(FTS_SQL[op.operator]), language, q.literal(op.value))
    return sql.SQL("NOT {}").format(body) if op.negated else body


def logic_sql(table: str | None, tree: Any, q: Query) -> sql.Composable:
    if isinstance(tree, g.Filter):
        return filter_sql(table, tree, q)
    joined = sql.SQL(f" {tree.operator.upper()} ").join(logic_sql(table, child, q) for child in tree.children)
    return sql.SQL("{}({})").format(sql.SQL("NOT ") if tree.negated else sql.SQL(""), joined)


@dataclass
class ReadRequest:
    select: list[g.SelectItem]
    filters: list[g.Filter]
    logic: list[Any]
    order: list[g.OrderTerm]
    limit: int | None
    offset: int
    columns: list[str] | None
    on_conflict: list[str] | None
    rpc_args: dict[str, str]


def parse_query(query: str, *, rpc_read: bool = False) -> ReadRequest:
    """PostgREST's ``QueryParams.parse``: order, logic trees, columns, select, filters, on_conflict, in that order."""
    pairs = parse_qsl(query, keep_blank_values=True)
    reserved, reserved_embeddable = {"select", "columns", "on_conflict"}, {"order", "limit", "offset", "and", "or"}

    def last(key: str) -> str:
        return key.split(".")[-1]

    def lookup(name: str) -> str | None:
        return next((v for k, v in pairs if k == name), None)

    order = []
    for k, v in pairs:
        if last(k) == "order" and v:
            path = g.run(g.p_tree_path(), f"failed to parse tree path ({k})", k)
            if path[0]:
                raise pgrst(400, "PGRST108", f"'{path[0][0]}' is not an embedded resource in this request", hint=f"Verify that '{path[0][0]}' is included in the 'select' query parameter.")
            order += g.run(g.p_order(), f"failed to parse order ({v})", v)
    logic = []
    for k, v in pairs:
        if last(k) in ("and", "or") and v:
            _path, op = g.run(g.p_logic_path(), f"failed to parse logic path ({k})", k)
            logic.append(g.run(g.p_logic_tree(), f"failed to parse logic tree ({v})", op + v))
    columns = lookup("columns")
    cols = g.run(g.p_columns(), f"failed to parse columns parameter ({columns})", columns) if columns else None
    select_text = lookup("select")
    select = g.run(g.p_select(), f"failed to parse select parameter ({select_text})", select_text if select_text is not None else "*")
    filters, rpc_args = [], {}
    for k, v in pairs:
        if not v or last(k) in reserved_embeddable or k in reserved:
            continue
        path, fld = g.run(g.p_tree_path(), f"failed to parse tree path ({k})", k)
        try:
            op = g.run(g.p_op_expr(g.p_single_val), f"failed to parse filter ({v})", v)
        except g.QueryParamError:
            if rpc_read:
                rpc_args[k] = v
                continue
            raise
        if path:
            raise pgrst(400, "PGRST108", f"'{path[0]}' is not an embedded resource in this request", hint=f"Verify that '{path[0]}' is included in the 'select' query parameter.")
        filters.append(g.Filter(fld, op))
    on_conflict = lookup("on_conflict")
    conflict = g.run(g.p_columns(), f"failed to parse on_conflict parameter ({on_conflict})", on_conflict) if on_conflict else None
    limit = lookup("limit")
    offset = lookup("offset")
    return ReadRequest(
        select, filters, logic, order,
        int(limit) if limit and limit.isdigit() else None, int(offset) if offset and offset.isdigit() else 0, cols, conflict, rpc_args,
    )


def select_sql(table: str | None, items: list[g.SelectItem], q: Query) -> sql.Composable:
    parts: list[sql.Composable] = []
    for item in items:
        if item.relation is not None:
            name = item.relation.removeprefix("...")
            raise pgrst(400, "PGRST200", f"Could not find a relationship between '{table}' and '{name}' in the schema cache",
                        f"Searched for a foreign key relationship between '{table}' and '{name}' in the schema '{SCHEMA}', but no matches were found.")
        if item.aggregate is not None:
            raise pgrst(400, "PGRST123", "Use of aggregate functions is not allowed")
        if item.field is None:
            parts.append(sql.SQL("{}.*").format(ident(SCHEMA, table)) if table else sql.SQL("*"))
            continue
        expression = field_sql(table, item.field, q)
        if item.cast:
            expression = sql.SQL("CAST({} AS {})").format(expression, sql.SQL(item.cast))
        name = item.alias or (item.field.json_path[-1][1] if item.field.json_path else item.field.name)
        parts.append(sql.SQL("{} AS {}").format(expression, ident(name)))
    return sql.SQL(", ").join(parts) if parts else sql.SQL("")


def where_sql(table: str | None, request: ReadRequest, q: Query) -> sql.Composable:
    conditions = [filter_sql(table, f, q) for f in request.filters] + [logic_sql(table, t, q) for t in request.logic]
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")


def order_sql(table: str | None, request: ReadRequest, q: Query) -> sql.Composable:
    terms = []
    for term in request.order:
        if term.relation:
            raise pgrst(400, "PGRST108", f"'{term.relation}' is not an embedded resource in this request",
                        hint=f"Verify that '{term.relation}' is included in the 'select' query parameter.")
        piece = field_sql(table, term.field, q)
        if term.direction:
            piece = sql.SQL("{} {}").format(piece, sql.SQL(term.direction.upper()))
        if term.nulls:
            piece = sql.SQL("{} {}").format(piece, sql.SQL("NULLS FIRST" if term.nulls == "nullsfirst" else "NULLS LAST"))
        terms.append(piece)
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms) if terms else sql.SQL("")


def limit_sql(request: ReadRequest) -> sql.Composable:
    text = f" LIMIT {request.limit}" if request.limit is not None else ""
    return sql.SQL(text + (f" OFFSET {request.offset}" if request.offset else ""))


def parse_prefer(headers: Any) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for raw in headers.get_all("Prefer") or []:
        for item in raw.split(","):
            key, _, value = item.strip().partition("=")
            if key:
                prefs[key] = value
    return prefs


def content_range(lower: int, count: int, total: int | None) -> str:
    """PostgREST's ``contentRangeH``: ``lower-upper/total``, ``*`` for an empty page or an unknown total."""
    upper = lower + count - 1
    span = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    return f"{span}/{total if total is not None else '*'}"


def no_rpc(name: str, keys: list[str], routines: dict[str, list[Routine]]) -> HttpError:
    """PGRST202 with PostgREST's message and details (a POST of JSON); the hint guesses as PostgREST's fuzzy
    search does (here with difflib's ratio, so the guess can differ on close calls)."""
    func = f"{SCHEMA}.{name}"
    listed = ", ".join(sorted(keys))
    message = f"Could not find the function {func}" + (f"({listed})" if keys else " without parameters") + " in the schema cache"
    params = (" with parameter" + ("s " if len(keys) > 1 else " ") + listed) if keys else " without parameters"
    details = f"Searched for the function {func}{params} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."
    hint = None
    if name in routines:
        signatures = ["(" + ", ".join(sorted(p.name for p in r.params)) + ")" for r in routines[name]]
        best = max(signatures, key=lambda s: SequenceMatcher(None, s, "(" + listed + ")").ratio())
        if SequenceMatcher(None, best, "(" + listed + ")").ratio() >= 0.33:
            hint = f"Perhaps you meant to call the function {func}{best}"
    else:
        best = max(routines, key=lambda r: SequenceMatcher(None, r, name).ratio(), default=None)
        if best and SequenceMatcher(None, best, name).ratio() >= 0.75:
            hint = f"Perhaps you meant to call the function {func.rsplit('.', 1)[0]}.{best}"
    return pgrst(404, "PGRST202", message, details, hint)


def find_routine(name: str, keys: set[str], routines: dict[str, list[Routine]]) -> Routine:
    """PostgREST's ``findProc``: the overload whose required arguments are all given and whose others cover the rest."""
    matches = []
    for routine in routines.get(name, []):
        required = {p.name for p in routine.params if p.required}
        optional = {p.name for p in routine.params if not p.required}
        if not routine.params:
            ok = not keys
        else:
            ok = required <= keys and keys - optional == required
        if ok:
            matches.append(routine)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise no_rpc(name, sorted(keys), routines)
    listing = ", ".join(f"{SCHEMA}.{r.name}(" + ", ".join(f"{p.name} => {p.type}" for p in r.params) + ")" for r in matches)
    raise pgrst(300, "PGRST203", f"Could not choose the best candidate function between: {listing}",
                hint="Try renaming the parameters or the function itself in the database so function overloading can be resolved")


# ----------------------------------------------------------------------------- GoTrue's state
@dataclass
class Session:
    id: str
    user_id: str
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> still usable


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    return salt.hex() + "$" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000).hex()


def check_password(stored: str | None, password: str) -> bool:
    if not stored or "$" not in stored:
        return False
    salt, _ = stored.split("$", 1)
    return secrets.compare_digest(stored, hash_password(password, bytes.fromhex(salt)))


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ----------------------------------------------------------------------------- the server
class LoopbackSupabase:
    """PostgREST and GoTrue on 127.0.0.1 over the database at ``dsn`` (migrated, with the auth bootstrap)."""

    def __init__(self, dsn: str, *, jwt_expiry_s: int = 3600, anonymous_sign_ins: bool = True, pool_size: int = 8):
        self.dsn = dsn
        self.jwt_secret = secrets.token_urlsafe(32)
        self.jwt_expiry_s = jwt_expiry_s
        self.anonymous_sign_ins = anonymous_sign_ins
        self.clock_offset_s = 0.0
        self.auth_failure: tuple[int, str] | None = None  # (status, error code) every auth request answers with, while set
        self.requests: list[tuple[str, str]] = []  # (method, path?query), for tests that look at what was asked
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(AUTHENTICATOR_SQL)
            admin.execute(AUTH_COLUMNS_SQL)
        self.anon_key = self._sign({"role": "anon", "iss": "supabase", "iat": int(time.time()), "exp": int(time.time()) + 10 * 365 * 86400})
        self.service_role_key = self._sign({"role": "service_role", "iss": "supabase", "iat": int(time.time()), "exp": int(time.time()) + 10 * 365 * 86400})
        self._rest_dsn = psycopg.conninfo.make_conninfo(dsn, user="authenticator")
        self._pool: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._pool_size = pool_size
        self._opened = 0
        self._pool_lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._auth_lock = threading.Lock()
        self.reload_schema()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-supabase", daemon=True)
        self._thread.start()

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reload_schema(self) -> None:
        """What ``NOTIFY pgrst, 'reload schema'`` does: read the schema cache again."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            self.schema = SchemaCache.load(conn)

    def advance(self, seconds: float) -> None:
        """Move both servers' clock forward (tokens expire without waiting)."""
        self.clock_offset_s += seconds

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        while not self._pool.empty():
            self._pool.get_nowait().close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            with self._pool_lock:
                grow = self._opened < self._pool_size
                self._opened += grow
            conn = psycopg.connect(self._rest_dsn, autocommit=True) if grow else self._pool.get(timeout=30)
        try:
            yield conn
        finally:
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.close()
                with self._pool_lock:
                    self._opened -= 1
            else:
                self._pool.put(conn)

    # -- JWT --------------------------------------------------------------------------------------
    def _sign(self, claims: dict[str, Any]) -> str:
        return pyjwt.encode(claims, self.jwt_secret, algorithm="HS256")

    def _claims(self, authorization: str | None) -> dict[str, Any]:
        """PostgREST's JWT handling: no token is the anonymous role; a token must verify (PGRST301) and its
        time claims must hold within 30 s of skew (PGRST303)."""
        if authorization is None:
            return {"role": ANON_ROLE}
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return {"role": ANON_ROLE}
        token = token.strip()
        if not token:
            raise self._jwt_error("PGRST301", "Empty JWT is sent in Authorization header")
        parts = token.split(".")
        if len(parts) != 3:
            raise self._jwt_error("PGRST301", f"Expected 3 parts in JWT; got {len(parts)}")
        try:
            claims = pyjwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                                                                       "verify_aud": False})
        except pyjwt.InvalidSignatureError:
            raise self._jwt_error("PGRST301", "JWT cryptographic operation failed") from None
        except pyjwt.PyJWTError:
            raise self._jwt_error("PGRST301", "JWT couldn't be decoded") from None
        now = self.now()
        for key, message, bad in (("exp", "JWT expired", lambda t: now - JWT_SKEW_S > t), ("nbf", "JWT not yet valid", lambda t: now + JWT_SKEW_S < t),
                                  ("iat", "JWT issued at future", lambda t: now + JWT_SKEW_S < t)):
            if key in claims:
                if not isinstance(claims[key], int | float):
                    raise self._jwt_error("PGRST303", f"The JWT '{key}' claim must be a number")
                if bad(claims[key]):
                    raise self._jwt_error("PGRST303", message)
        claims.setdefault("role", ANON_ROLE)
        return claims

    @staticmethod
    def _jwt_error(code: str, message: str) -> HttpError:
        return pgrst(401, code, message, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})

    # -- PostgREST --------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, claims: dict[str, Any], method: str, path: str, headers: dict[str, str], read_only: bool) -> Iterator[psycopg.Connection]:
        """One request's transaction, prepared as PostgREST's ``txVarQuery`` prepares it."""
        authed = claims.get("role") != ANON_ROLE
        with self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED" + (" READ ONLY" if read_only else ""))
            try:
                conn.execute(
                    "select set_config('search_path', %s, true), set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
                    " set_config('request.method', %s, true), set_config('request.path', %s, true), set_config('request.headers', %s, true)",
                    (f'"{SCHEMA}"', claims["role"], json.dumps(claims), method, path, json.dumps({k.lower(): v for k, v in headers.items()})),
                )
                yield conn
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise from_postgres(exc, authed) from exc
            except BaseException:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise

    def rest(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = split.path.removeprefix("/rest/v1")
        claims = self._claims(headers.get("Authorization"))
        prefs = parse_prefer(headers)
        plain_headers = {k: v for k, v in headers.items()}
        if path.startswith("/rpc/"):
            return self._rpc(method, path.removeprefix("/rpc/"), split.query, claims, prefs, plain_headers, body)
        table = path.strip("/")
        relation = self.schema.relations.get(table)
        if relation is None:
            raise pgrst(404, "PGRST205", f"Could not find the table '{SCHEMA}.{table}' in the schema cache", hint=self._table_hint(table))
        request = parse_query(split.query)
        if method in ("GET", "HEAD"):
            return self._read(relation, request, claims, prefs, method, path, plain_headers)
        if method == "POST":
            return self._insert(relation, request, claims, prefs, path, plain_headers, body)
        if method == "PATCH":
            return self._update(relation, request, claims, prefs, path, plain_headers, body)
        if method == "DELETE":
            return self._delete(relation, request, claims, prefs, path, plain_headers)
        raise pgrst(405, "PGRST117", f"Unsupported HTTP method: {method}")

    def _table_hint(self, table: str) -> str | None:
        best = max(self.schema.relations, key=lambda r: SequenceMatcher(None, r, table).ratio(), default=None)
        if best and SequenceMatcher(None, best, table).ratio() >= 0.75:
            return f"Perhaps you meant the table '{SCHEMA}.{best}'"
        return None

    def _answer(self, status: int, body: str | None, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if body is not None:
            headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        return status, headers, (body or "").encode()

    @staticmethod
    def _applied(prefs: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
        applied = [f"{k}={prefs[k]}" for k in keys if k in prefs]
        return {"Preference-Applied": ", ".join(applied)} if applied else {}

    def _read(self, relation: Relation, request: ReadRequest, claims: dict[str, Any], prefs: dict[str, str], method: str, path: str,
              headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        q = Query()
        table = relation.name
        source = sql.SQL("SELECT {} FROM {}{}{}{}").format(
            select_sql(table, request.select, q), ident(SCHEMA, table), where_sql(table, request, q), order_sql(table, request, q), limit_sql(request)
        )
        counting = prefs.get("count") == "exact"
        count_q = Query(list(q.params))
        count_sql = sql.SQL("(SELECT pg_catalog.count(*) FROM {}{})").format(ident(SCHEMA, table), where_sql(table, request, count_q)) if counting else None
        statement = sql.SQL("WITH pgrst_source AS ({}) SELECT {}, pg_catalog.count(_postgrest_t), coalesce(json_agg(_postgrest_t), '[]')::text"
                            " FROM (SELECT * FROM pgrst_source) _postgrest_t").format(source, count_sql or sql.SQL("NULL::bigint"))
        params = q.params + (count_q.params[len(q.params):] if counting else [])
        with self._transaction(claims, method, path, headers, read_only=True) as conn:
            total, page, body = conn.execute(statement, params).fetchone()
        status = 206 if total is not None and page < total and request.offset <= total else 200
        out_headers = {"Content-Range": content_range(request.offset, page, total), **self._applied(prefs, ("count",))}
        return self._answer(status, None if method == "HEAD" else body, out_headers)

    def _payload(self, relation: Relation, body: bytes, columns: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            raise pgrst(400, "PGRST102", "Empty or invalid json") from exc
        rows = data if isinstance(data, list) else [data]
        if not all(isinstance(r, dict) for r in rows):
            raise pgrst(400, "PGRST102", "All object keys must match")
        keys = columns if columns is not None else (list(rows[0]) if rows else [])
        if columns is None and any(set(r) != set(keys) for r in rows):
            raise pgrst(400, "PGRST102", "All object keys must match")
        for key in keys:
            if key not in relation.columns:
                raise pgrst(400, "PGRST204", f"Could not find the '{key}' column of '{relation.name}' in the schema cache")
        return rows, keys

    def _returning(self, prefs: dict[str, str], table: str) -> tuple[bool, sql.Composable]:
        representation = prefs.get("return") == "representation"
        return representation, (sql.SQL(" RETURNING {}.*").format(ident(SCHEMA, table)) if representation else sql.SQL(" RETURNING 1"))

    def _write(self, statement: sql.Composable, params: list[Any], request: ReadRequest, table: str, representation: bool, claims: dict[str, Any],
               method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
        q = Query(list(params))
        if representation:
            shaped = sql.SQL("SELECT {} FROM pgrst_source{}").format(select_sql(None, request.select, q), order_sql(None, request, q))
        else:
            shaped = sql.SQL("SELECT * FROM pgrst_source")
        wrapped = sql.SQL("WITH pgrst_source AS ({}) SELECT pg_catalog.count(_postgrest_t), coalesce(json_agg(_postgrest_t), '[]')::text"
                          " FROM ({}) _postgrest_t").format(statement, shaped)
        with self._transaction(claims, method, path, headers, read_only=False) as conn:
            count, body = conn.execute(wrapped, q.params).fetchone()
        return count, body

    def _insert(self, relation: Relation, request: ReadRequest, claims: dict[str, Any], prefs: dict[str, str], path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        table = relation.name
        rows, keys = self._payload(relation, body, request.columns)
        cols = sql.SQL(", ").join(ident(k) for k in keys)
        q = Query()
        source = sql.SQL("SELECT {} FROM json_populate_recordset(NULL::{}, {}::json) _").format(cols, ident(SCHEMA, table), q.literal(json.dumps(rows)))
        if prefs.get("missing") != "default" and len(rows) > 1:
            pass  # PostgREST fills missing keys of a bulk insert with NULL unless missing=default; every row here has the same keys
        conflict = sql.SQL("")
        resolution = prefs.get("resolution")
        if resolution in ("merge-duplicates", "ignore-duplicates"):
            target = request.on_conflict or list(relation.primary_key)
            target_sql = sql.SQL(", ").join(ident(c) for c in target)
            if resolution == "ignore-duplicates":
                conflict = sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target_sql)
            else:
                sets = sql.SQL(", ").join(sql.SQL("{} = EXCLUDED.{}").format(ident(k), ident(k)) for k in keys)
                conflict = sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(target_sql, sets)
        representation, returning = self._returning(prefs, table)
        statement = sql.SQL("INSERT INTO {} ({}) {}{}{}").format(ident(SCHEMA, table), cols, source, conflict, returning)
        _, result = self._write(statement, q.params, request, table, representation, claims, "POST", path, headers)
        out_headers = {"Content-Range": "*/*", **self._applied(prefs, ("return", "resolution", "missing"))}
        return self._answer(201, result if representation else None, out_headers)

    def _update(self, relation: Relation, request: ReadRequest, claims: dict[str, Any], prefs: dict[str, str], path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        table = relation.name
        rows, keys = self._payload(relation, body, request.columns)
        if not keys:
            return self._answer(204, None, {})
        q = Query()
        sets = sql.SQL(", ").join(sql.SQL("{} = _.{}").format(ident(k), ident(k)) for k in keys)
        payload = q.literal(json.dumps(rows[:1]))
        representation, returning = self._returning(prefs, table)
        statement = sql.SQL("UPDATE {} SET {} FROM (SELECT * FROM json_populate_recordset(NULL::{}, {}::json)) _{}{}").format(
            ident(SCHEMA, table), sets, ident(SCHEMA, table), payload, where_sql(table, request, q), returning
        )
        count, result = self._write(statement, q.params, request, table, representation, claims, "PATCH", path, headers)
        out_headers = {"Content-Range": content_range(0, count, None), **self._applied(prefs, ("return",))}
        return self._answer(200, result, out_headers) if representation else self._answer(204, None, out_headers)

    def _delete(self, relation: Relation, request: ReadRequest, claims: dict[str, Any], prefs: dict[str, str], path: str,
                headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        table = relation.name
        q = Query()
        representation, returning = self._returning(prefs, table)
        statement = sql.SQL("DELETE FROM {}{}{}").format(ident(SCHEMA, table), where_sql(table, request, q), returning)
        count, result = self._write(statement, q.params, request, table, representation, claims, "DELETE", path, headers)
        out_headers = {"Content-Range": content_range(0, count, None), **self._applied(prefs, ("return",))}
        return self._answer(200, result, out_headers) if representation else self._answer(204, None, out_headers)

    def _rpc(self, method: str, name: str, query: str, claims: dict[str, Any], prefs: dict[str, str], headers: dict[str, str],
             body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method not in ("GET", "HEAD", "POST"):
            raise pgrst(405, "PGRST101", f"Cannot use the {method} method on RPC")
        request = parse_query(query, rpc_read=method != "POST")
        if method == "POST":
            try:
                args = json.loads(body or b"{}")
            except ValueError as exc:
                raise pgrst(400, "PGRST102", "Empty or invalid json") from exc
            if not isinstance(args, dict):
                raise pgrst(400, "PGRST102", "Empty or invalid json")
        else:
            args = dict(request.rpc_args)
        routine = find_routine(name, set(args), self.schema.routines)
        q = Query()
        given = [p for p in routine.params if p.name in args]
        named = sql.SQL(", ").join(sql.SQL("{} := pgrst_body.{}").format(ident(p.name), ident(p.name)) for p in given)
        call = sql.SQL("{}({})").format(ident(SCHEMA, routine.name), named)
        scalar = routine.returns in ("scalar", "setof scalar")
        callee = sql.SQL("(SELECT {} pgrst_scalar) pgrst_call").format(call) if scalar else sql.SQL("{} pgrst_call").format(call)
        if given:
            record = sql.SQL(", ").join(sql.SQL("{} {}").format(ident(p.name), sql.SQL(p.type)) for p in given)
            source = sql.SQL("SELECT pgrst_call.* FROM json_to_record({}::json) AS pgrst_body({}), LATERAL {}").format(
                q.literal(json.dumps({p.name: args[p.name] for p in given})), record, callee)
        else:
            source = sql.SQL("SELECT pgrst_call.* FROM {}").format(callee)
        filtered = sql.SQL("SELECT {} FROM ({}) pgrst_source{}{}{}").format(
            select_sql(None, request.select, q) if not scalar else sql.SQL("*"), source, where_sql(None, request, q), order_sql(None, request, q),
            limit_sql(request))
        shape = {
            "composite": "coalesce(json_agg(_postgrest_t)->0, 'null')",
            "scalar": "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')",
            "setof scalar": "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')",
            "setof composite": "coalesce(json_agg(_postgrest_t), '[]')",
            "void": "'null'::json",
        }[routine.returns]
        statement = sql.SQL("WITH pgrst_source AS ({}) SELECT pg_catalog.count(_postgrest_t), ({})::text FROM (SELECT * FROM pgrst_source) _postgrest_t").format(
            filtered, sql.SQL(shape))
        with self._transaction(claims, method, f"/rpc/{name}", headers, read_only=method != "POST" or not routine.volatile) as conn:
            count, result = conn.execute(statement, q.params).fetchone()
        if routine.returns == "void":
            return self._answer(204, None, {"Content-Range": content_range(0, count, None)})
        return self._answer(200, None if method == "HEAD" else result, {"Content-Range": content_range(0, count, None)})

    # -- GoTrue -----------------------------------------------------------------------------------
    def auth(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = split.path.removeprefix("/auth/v1")
        params = dict(parse_qsl(split.query))
        versioned = headers.get("X-Supabase-Api-Version") == API_VERSION
        if self.auth_failure is not None:  # a test's stand-in for GoTrue's rate limits (429) or an outage (5xx)
            status, code = self.auth_failure
            raise gotrue_error(status, code, "Request rate limit reached" if status == 429 else "upstream unavailable", versioned)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise gotrue_error(400, "bad_json", "Could not parse request body as JSON", versioned) from None
        if method == "POST" and path == "/signup":
            return self._json(200, self._signup(data, versioned), versioned)
        if method == "POST" and path == "/token":
            grant = params.get("grant_type")
            if grant == "password":
                return self._json(200, self._password_grant(data, versioned), versioned)
            if grant == "refresh_token":
                return self._json(200, self._refresh_grant(data, versioned), versioned)
            raise gotrue_error(400, "invalid_credentials", "unsupported_grant_type", versioned)
        if method == "GET" and path == "/user":
            claims, user = self._authenticated(headers, versioned)
            return self._json(200, user, versioned)
        if method == "PUT" and path == "/user":  # GoTrue's UserUpdate: the password of the signed-in user
            claims, _ = self._authenticated(headers, versioned)
            password = data.get("password")
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                if password is not None:
                    if len(password) < 6:
                        raise gotrue_error(422, "weak_password", "Password should be at least 6 characters.", versioned)
                    conn.execute("update auth.users set encrypted_password = %s where id = %s", (hash_password(password), claims["sub"]))
                return self._json(200, self._user_json(self._load_user(conn, claims["sub"])), versioned)
        if method == "POST" and path == "/logout":
            claims, _ = self._authenticated(headers, versioned)
            scope = params.get("scope", "global")
            if scope not in ("global", "local", "others"):
                raise gotrue_error(400, "validation_failed", f'Unsupported logout scope "{scope}"', versioned)
            with self._auth_lock:
                sid, uid = claims.get("session_id"), claims["sub"]
                for session_id in list(self._sessions):
                    session = self._sessions[session_id]
                    if session.user_id != uid:
                        continue
                    if scope == "global" or (scope == "local" and session_id == sid) or (scope == "others" and session_id != sid):
                        del self._sessions[session_id]
            return 204, ({"X-Supabase-Api-Version": API_VERSION} if versioned else {}), b""
        raise gotrue_error(404, "not_found", "Not Found", versioned)

    def _json(self, status: int, payload: Any, versioned: bool) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json"}
        if versioned:
            headers["X-Supabase-Api-Version"] = API_VERSION
        return status, headers, json.dumps(payload).encode()

    def _user_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        uid, email, anonymous, meta, created, last_sign_in = row
        stamp = lambda t: t.isoformat() if t else None  # noqa: E731
        provider = "anonymous" if anonymous else "email"
        return {
            "id": str(uid), "aud": "authenticated", "role": "authenticated", "email": email or "", "phone": "",
            "email_confirmed_at": None if anonymous else stamp(created), "confirmed_at": None if anonymous else stamp(created),
            "last_sign_in_at": stamp(last_sign_in), "app_metadata": {"provider": provider, "providers": [provider]},
            "user_metadata": meta or {}, "identities": [], "created_at": stamp(created), "updated_at": stamp(created), "is_anonymous": bool(anonymous),
        }

    def _load_user(self, conn: psycopg.Connection, user_id: str) -> tuple[Any, ...] | None:
        return conn.execute(
            "select id, email, is_anonymous, raw_user_meta_data, created_at, last_sign_in_at from auth.users where id = %s", (user_id,)
        ).fetchone()

    def _issue(self, user: dict[str, Any], method: str, session: Session | None = None) -> dict[str, Any]:
        now = int(self.now())
        with self._auth_lock:
            if session is None:
                session = Session(str(uuid.uuid4()), user["id"])
                self._sessions[session.id] = session
            refresh = secrets.token_urlsafe(16)
            session.refresh_tokens[refresh] = True
        claims = {
            "iss": f"{self.url}/auth/v1", "sub": user["id"], "aud": "authenticated", "exp": now + self.jwt_expiry_s, "iat": now,
            "email": user["email"], "phone": "", "app_metadata": user["app_metadata"], "user_metadata": user["user_metadata"],
            "role": "authenticated", "aal": "aal1", "amr": [{"method": method, "timestamp": now}], "session_id": session.id,
            "is_anonymous": user["is_anonymous"],
        }
        return {"access_token": self._sign(claims), "token_type": "bearer", "expires_in": self.jwt_expiry_s, "expires_at": now + self.jwt_expiry_s,
                "refresh_token": refresh, "user": user}

    def _signup(self, data: dict[str, Any], versioned: bool) -> dict[str, Any]:
        email, password = (data.get("email") or "").strip().lower(), data.get("password") or ""
        meta = data.get("data") or {}
        with psycopg.connect(self.dsn, autocommit=True) as conn:  # GoTrue's own connection (supabase_auth_admin)
            if not email and not data.get("phone"):
                if password:
                    raise gotrue_error(400, "validation_failed", "Signup requires a valid password", versioned)
                if not self.anonymous_sign_ins:
                    raise gotrue_error(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled", versioned)
                row = conn.execute(
                    "insert into auth.users (email, is_anonymous, raw_user_meta_data, last_sign_in_at) values (null, true, %s, now()) returning id",
                    (json.dumps(meta),)).fetchone()
                return self._issue(self._user_json(self._load_user(conn, str(row[0]))), "anonymous")
            if not EMAIL.match(email):
                raise gotrue_error(400, "validation_failed", "Unable to validate email address: invalid format", versioned)
            if len(password) < 6:
                raise gotrue_error(422, "weak_password", "Password should be at least 6 characters.", versioned)
            try:
                row = conn.execute(
                    "insert into auth.users (email, is_anonymous, raw_user_meta_data, encrypted_password, last_sign_in_at) values (%s, false, %s, %s, now())"
                    " returning id", (email, json.dumps(meta), hash_password(password))).fetchone()
            except psycopg.errors.UniqueViolation:
                raise gotrue_error(422, "user_already_exists", "User already registered", versioned) from None
            return self._issue(self._user_json(self._load_user(conn, str(row[0]))), "password")

    def _password_grant(self, data: dict[str, Any], versioned: bool) -> dict[str, Any]:
        email, password = (data.get("email") or "").strip().lower(), data.get("password") or ""
        if not email or not password:
            raise gotrue_error(400, "validation_failed", "missing email or phone", versioned)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            found = conn.execute("select id, encrypted_password from auth.users where email = %s", (email,)).fetchone()
            if found is None or not check_password(found[1], password):
                raise gotrue_error(400, "invalid_credentials", "Invalid login credentials", versioned)
            conn.execute("update auth.users set last_sign_in_at = now() where id = %s", (found[0],))
            return self._issue(self._user_json(self._load_user(conn, str(found[0]))), "password")

    def _refresh_grant(self, data: dict[str, Any], versioned: bool) -> dict[str, Any]:
        token = data.get("refresh_token") or ""
        with self._auth_lock:
            session = next((s for s in self._sessions.values() if token in s.refresh_tokens), None)
            if session is None:
                raise gotrue_error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found", versioned)
            if not session.refresh_tokens[token]:
                raise gotrue_error(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used", versioned)
            session.refresh_tokens[token] = False  # rotated: each refresh token is used once
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = self._load_user(conn, session.user_id)
        if row is None:
            raise gotrue_error(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found", versioned)
        return self._issue(self._user_json(row), "token_refresh", session)

    def _authenticated(self, headers: Any, versioned: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """GoTrue's ``requireAuthentication``: a bearer JWT that verifies, names a user and a live session."""
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise gotrue_error(401, "no_authorization", "This endpoint requires a valid Bearer token", versioned)
        try:
            # time claims are checked below against this server's clock (which tests advance), not PyJWT's
            claims = pyjwt.decode(token.strip(), self.jwt_secret, algorithms=["HS256"],
                                  options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False})
        except pyjwt.PyJWTError as exc:
            raise gotrue_error(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {exc}", versioned) from None
        if claims.get("exp", 0) < self.now():
            raise gotrue_error(403, "bad_jwt", "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired", versioned)
        if not claims.get("sub"):
            raise gotrue_error(403, "bad_jwt", "invalid claim: missing sub claim", versioned)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = self._load_user(conn, claims["sub"])
        if row is None:
            raise gotrue_error(403, "user_not_found", "User from sub claim in JWT does not exist", versioned)
        if claims.get("session_id") and claims["session_id"] not in self._sessions:
            raise gotrue_error(403, "session_not_found", "Session from session_id claim in JWT does not exist", versioned)
        return claims, self._user_json(row)

    # -- HTTP -------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                loopback.requests.append((self.command, self.path))
                try:
                    key = self.headers.get("apikey") or dict(parse_qsl(urlsplit(self.path).query)).get("apikey")
                    if not key:
                        raise HttpError(401, {"message": "No API key found in request"})
                    if key not in (loopback.anon_key, loopback.service_role_key):
                        raise HttpError(401, {"message": "Invalid API key"})
                    if self.path.startswith("/rest/v1/"):
                        status, headers, payload = loopback.rest(self.command, self.path, self.headers, body)
                    elif self.path.startswith("/auth/v1/"):
                        status, headers, payload = loopback.auth(self.command, self.path, self.headers, body)
                    else:
                        raise HttpError(404, {"message": "no Route matched with those values"})
                except g.QueryParamError as exc:
                    status, headers, payload = 400, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(
                        {"code": "PGRST100", "details": exc.details, "hint": None, "message": exc.message}).encode()
                except HttpError as exc:
                    status, headers, payload = exc.status, {"Content-Type": "application/json; charset=utf-8", **exc.headers}, json.dumps(exc.body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
                self.end_headers()
                if self.command != "HEAD" and payload:
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        return Handler
