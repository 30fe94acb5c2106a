"""Reproduce the parts of Supabase the migrations rely on, on a fresh PostgreSQL database.

Supabase gives every project an ``auth`` schema with ``auth.users`` and ``auth.uid()`` (the ``sub``
claim of the request's JWT, read from the ``request.jwt.claims`` setting PostgREST sets per
transaction), the roles ``anon``, ``authenticated`` and ``service_role`` (the last bypasses RLS), and
default privileges granting those roles everything on new objects in ``public`` so that RLS is the
only barrier. PostgREST runs each request in a transaction as
``set local role authenticated; select set_config('request.jwt.claims', '<json>', true)``;
``as_role`` does exactly that for a user or a visitor, and ``as_service`` for the app server's
service-role key (the only role that may record runs, usage and views).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"

ROLES_SQL = """
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
exception when duplicate_object or unique_violation then null;  -- another test session created them first
end $$;
"""

AUTH_SQL = """
create schema if not exists auth;
create table auth.users (
    id uuid primary key default gen_random_uuid(),
    email text unique,
    is_anonymous boolean not null default false,
    raw_user_meta_data jsonb not null default '{}',
    created_at timestamptz not null default now()
);
create or replace function auth.jwt() returns jsonb language sql stable as $$
    select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
create or replace function auth.uid() returns uuid language sql stable as $$
    select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
    select nullif(auth.jwt() ->> 'role', '')
$$;
grant usage on schema auth to anon, authenticated, service_role;
grant execute on all functions in schema auth to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
"""


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS.glob("*.sql"))


def bootstrap(conn: psycopg.Connection) -> None:
    """Supabase's roles and auth pieces, before any migration."""
    conn.execute(ROLES_SQL)
    conn.execute(AUTH_SQL)


def apply_files(conn: psycopg.Connection, paths: list[Path]) -> None:
    """Apply these migration files in order, then give the service role what Supabase gives it."""
    for path in paths:
        conn.execute(path.read_text())
    conn.execute("grant execute on all functions in schema public to service_role")
    conn.execute("grant all on all tables in schema public to service_role")


def apply_all(conn: psycopg.Connection) -> None:
    """Bootstrap Supabase's auth pieces and apply every migration, in order."""
    bootstrap(conn)
    apply_files(conn, migration_files())


@contextmanager
def fresh_database(admin_dsn: str) -> Iterator[str]:
    """Create a uniquely named database, yield its DSN, drop it afterwards."""
    name = f"auster_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)
    try:
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def create_auth_user(conn: psycopg.Connection, email: str | None, *, anonymous: bool = False) -> str:
    """Insert into auth.users as Supabase Auth does (the trigger makes the profile)."""
    row = conn.execute(
        "insert into auth.users (email, is_anonymous) values (%s, %s) returning id", (email, anonymous)
    ).fetchone()
    assert row is not None
    return str(row[0])


@contextmanager
def as_service(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """One transaction as PostgREST runs a request made with the service-role key."""
    with conn.transaction():
        conn.execute("set local role service_role")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"role": "service_role"}),))
        yield conn


@contextmanager
def as_role(conn: psycopg.Connection, user_id: str | None) -> Iterator[psycopg.Connection]:
    """One transaction as PostgREST runs a request: role and JWT claims set locally."""
    role = "authenticated" if user_id else "anon"
    claims = {"role": role} | ({"sub": user_id} if user_id else {})
    with conn.transaction():
        conn.execute(f"set local role {role}")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn
