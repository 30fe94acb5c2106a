"""Each vocabulary and quota is defined once (contracts.rules); the SQL of both backends must agree with it.

The sqlite schema and the Supabase migrations spell the allowed values in CHECK constraints and the
quotas in SQL functions; these tests read them back from real databases and compare.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts import rules
from store.sqlite import SqliteStore

# (table, column) -> the vocabulary its CHECK constraint must list
CHECKED = {
    ("models", "lab_scope"): rules.LAB_SCOPES,
    ("models", "difficulty"): rules.DIFFICULTIES,
    ("models", "visibility"): rules.VISIBILITIES,
    ("models", "kind"): rules.RUNTIMES,
    ("model_versions", "runtime"): rules.RUNTIMES,
    ("profiles", "tier"): rules.TIERS,
    ("profiles", "role"): rules.ROLES,
    ("model_versions", "status"): rules.VERSION_STATUSES,
    ("published_artifacts", "visibility"): rules.ARTIFACT_VISIBILITIES,
    ("published_artifacts", "type"): rules.ARTIFACT_TYPES,
    ("model_runs", "status"): rules.RUN_STATUSES,
}
IN_LIST = r"{column}\s+in\s*\(([^)]*)\)"


def allowed_values(sql: str, column: str) -> set[str]:
    match = re.search(IN_LIST.format(column=re.escape(column)), sql, re.I)
    assert match, f"no CHECK ({column} IN (...)) found"
    return set(re.findall(r"'([^']*)'", match.group(1)))


@pytest.mark.parametrize(("table", "column"), list(CHECKED))
def test_sqlite_checks_list_the_rules_values(tmp_path: Path, table: str, column: str) -> None:
    store = SqliteStore(tmp_path / "parity.db")
    try:
        sql = store.db.one("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))[0]
    finally:
        store.close()
    assert allowed_values(sql, column) == set(CHECKED[(table, column)])


@pytest.mark.services
def test_postgres_checks_and_quota_functions_match_the_rules(postgres_dsn: str) -> None:
    import psycopg

    from tests.store.supabase_pg import apply_all, fresh_database

    with fresh_database(postgres_dsn) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        apply_all(conn)
        for (table, column), values in CHECKED.items():
            rows = conn.execute(
                "select pg_get_constraintdef(c.oid) from pg_constraint c join pg_class t on t.oid = c.conrelid"
                " where t.relname = %s and c.contype = 'c' and pg_get_constraintdef(c.oid) like %s",
                (table, f"%{column}%"),
            ).fetchall()
            assert rows, f"{table}.{column} has no CHECK constraint"
            found = set(re.findall(r"'([^']*)'", rows[0][0]))
            assert found == set(values), (table, column, found)
        for tier, limit in rules.DAILY_RUNS.items():
            assert conn.execute("select public.daily_run_limit(%s)", (tier,)).fetchone()[0] == limit
        assert conn.execute("select public.daily_run_limit('unknown')").fetchone()[0] == rules.daily_limit("unknown")
        assert conn.execute("select public.runs_per_minute_limit()").fetchone()[0] == rules.RUNS_PER_MINUTE_PER_MODEL
        for tier in rules.TIERS:  # a guest's quota, whatever its tier (issue 9)
            assert conn.execute("select public.daily_run_limit(%s, true)", (tier,)).fetchone()[0] == rules.daily_limit(tier, True) == rules.GUEST_DAILY_RUNS
            assert conn.execute("select public.daily_run_limit(%s, false)", (tier,)).fetchone()[0] == rules.daily_limit(tier)
        assert conn.execute("select extract(epoch from public.execution_cache_ttl())").fetchone()[0] == rules.EXECUTION_CACHE_TTL_S


@pytest.mark.services
def test_postgres_functions_spell_no_quota_of_their_own(postgres_dsn: str) -> None:
    """reserve_run, find_cached_run and log_cached_run take the per-minute limit and the cache's lifetime
    from the one function each (and these functions from the rules above), not from a number of their own."""
    import psycopg

    from tests.store.supabase_pg import apply_all, fresh_database

    with fresh_database(postgres_dsn) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        apply_all(conn)
        bodies = dict(conn.execute(
            "select proname, prosrc from pg_proc where pronamespace = 'public'::regnamespace"
            " and proname in ('reserve_run', 'find_cached_run', 'log_cached_run')"
        ).fetchall())
    assert "runs_per_minute_limit()" in bodies["reserve_run"] and ">= 3" not in bodies["reserve_run"]
    assert "daily_run_limit(v_tier, v_is_guest)" in bodies["reserve_run"]  # the guest quota comes from the one function
    for name in ("find_cached_run", "log_cached_run"):
        assert "execution_cache_ttl()" in bodies[name] and "1 hour" not in bodies[name], name


def test_both_backends_reserve_the_same_template_slugs(tmp_path: Path) -> None:
    """The templates of the release that reserved template slugs (issue 9), listed once per backend."""
    from store.sqlite.schema import RESERVED_TEMPLATE_SLUGS

    migration = Path(__file__).resolve().parents[2] / "supabase" / "migrations" / "20250101000007_reserved_slugs_and_profile_guard.sql"
    block = re.search(r"insert into public\.reserved_slugs \(slug\) values(.*?)on conflict", migration.read_text(), re.S)
    assert block, "the migration lists the reserved slugs"
    assert re.findall(r"\('([a-z0-9-]+)'\)", block.group(1)) == list(RESERVED_TEMPLATE_SLUGS)
    store = SqliteStore(tmp_path / "reserved.db")
    try:
        assert {r[0] for r in store.db.all("SELECT slug FROM reserved_slugs")} == set(RESERVED_TEMPLATE_SLUGS)
    finally:
        store.close()


def test_the_comment_limits_of_the_supabase_sql_are_the_rules() -> None:
    """Issue 13: post_comment() spells the comment window and count as constants; they must be the rules'."""
    import re

    from contracts.rules import COMMENT_MAX_CHARS, COMMENT_REPORT_MAX_CHARS, COMMENT_WINDOW_S, COMMENTS_PER_WINDOW

    sql = (Path(__file__).resolve().parents[2] / "supabase" / "migrations" / "20250101000031_discussions.sql").read_text()
    assert re.search(rf"p_limit constant integer := {COMMENTS_PER_WINDOW};", sql)
    assert re.search(rf"p_window_s constant integer := {COMMENT_WINDOW_S};", sql)
    assert sql.count(f"char_length(v_body) > {COMMENT_MAX_CHARS}") == 2  # posting and editing
    assert f"between 1 and {COMMENT_REPORT_MAX_CHARS}" in sql and f"char_length(v_reason) > {COMMENT_REPORT_MAX_CHARS}" in sql
