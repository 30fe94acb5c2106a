"""The Supabase migrations on the machine's real PostgreSQL, with Supabase's auth pieces reproduced.

Every query that matters is made the way PostgREST makes it: inside a transaction, ``set local role``
and the JWT claims in ``request.jwt.claims`` (see tests/store/supabase_pg.py). Runs are recorded by
the server (``as_service``); users read them and publish them (``as_role``). The walls of issue 9
are attacked at the end of this file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator

import psycopg
import pytest

from store.sqlite.db import statements
from store.sqlite.schema import MIGRATIONS, SQLITE_ONLY_TABLES
from tests.store.conftest import SPREAD_SEED
from tests.store.supabase_pg import apply_all, as_role, as_service, create_auth_user, fresh_database

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def pg(postgres_dsn: str) -> Iterator[str]:
    """A fresh database with the auth bootstrap and every migration applied; dropped afterwards."""
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            apply_all(conn)
        yield dsn


@pytest.fixture
def conn(pg: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg, autocommit=True) as connection:
        yield connection


def add_model(conn: psycopg.Connection, author: str | None, slug: str, visibility: str) -> tuple[str, str]:
    """As the service role would (seed loading): a model and its published version 1."""
    model_id = conn.execute(
        "insert into models (slug, name, description, owner_id, lab_scope, tags, difficulty, visibility)"
        " values (%s, %s, %s, %s, 'econ', %s, 'basic', %s) returning id",
        (slug, slug, "desc", author, ["rates"], visibility),
    ).fetchone()[0]
    version_id = conn.execute(
        "insert into model_versions (model_id, version, dsl_json, input_schema, created_by) values (%s, 1, %s, %s, %s) returning id",
        (model_id, json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"]), author),
    ).fetchone()[0]
    conn.execute("update models set current_version_id = %s where id = %s", (version_id, model_id))
    return str(model_id), str(version_id)


@pytest.fixture
def world(conn: psycopg.Connection) -> dict[str, str]:
    """Ana owns a private, an unlisted and a public model, a run, a save, a draft and artifacts; Bob owns nothing."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    ana = create_auth_user(conn, f"ana-{tag}@example.com")
    bob = create_auth_user(conn, f"bob-{tag}@example.com")
    private_id, private_v = add_model(conn, ana, f"private-{tag}", "private")
    unlisted_id, _ = add_model(conn, ana, f"unlisted-{tag}", "unlisted")
    public_id, public_v = add_model(conn, None, f"public-{tag}", "public")
    # Ana's own public model, with a draft version 2
    own_public, _ = add_model(conn, ana, f"ownpub-{tag}", "public")
    with as_service(conn):
        run_id = conn.execute("select reserve_run(%s, %s, %s, '{}', 'h')", (ana, private_id, private_v)).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', %s, 5, null)", (ana, run_id, json.dumps({"outputs": {}, "provenance": []})))
    with as_role(conn, ana):
        conn.execute("insert into model_versions (model_id, version, dsl_json, status, created_by) values (%s, 2, '{}', 'draft', %s)", (own_public, ana))
        conn.execute("insert into model_saves (user_id, model_id) values (%s, %s)", (ana, public_id))
        public_art = conn.execute("select slug from publish_artifact(%s, %s, 'Public one', '', 'public')", (run_id, f"pub-{tag}")).fetchone()[0]
        unlisted_art = conn.execute("select slug from publish_artifact(%s, %s, 'Secret-ish', '', 'unlisted')", (run_id, f"unl-{tag}")).fetchone()[0]
    return {
        "ana": ana,
        "bob": bob,
        "tag": tag,
        "private_id": private_id,
        "private_v": private_v,
        "unlisted_id": unlisted_id,
        "public_id": public_id,
        "public_v": public_v,
        "own_public": own_public,
        "run_id": str(run_id),
        "public_art": public_art,
        "unlisted_art": unlisted_art,
    }


# ----------------------------------------------------------------------------- schema parity
def pg_columns(conn: psycopg.Connection) -> dict[str, set[str]]:
    rows = conn.execute(
        "select table_name, column_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)"
        " where table_schema = 'public' and t.table_type = 'BASE TABLE'"
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def sqlite_columns() -> dict[str, set[str]]:
    db = sqlite3.connect(":memory:")
    for _, sql in MIGRATIONS:
        db.executescript(sql)
    names = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
    return {n: {r[1] for r in db.execute(f"pragma table_info('{n}')")} for n in names if n not in SQLITE_ONLY_TABLES}


def test_both_backends_have_the_same_tables_and_columns(conn: psycopg.Connection) -> None:
    assert sqlite_columns() == pg_columns(conn)


def sqlite_keys() -> dict[str, set[tuple[str, ...]]]:
    """Per table: its primary key and unique keys, each as a sorted tuple of column names."""
    db = sqlite3.connect(":memory:")
    for _, sql in MIGRATIONS:
        for statement in statements(sql):
            db.execute(statement)
    keys: dict[str, set[tuple[str, ...]]] = {}
    for (table,) in db.execute("select name from sqlite_master where type = 'table'").fetchall():
        if table in SQLITE_ONLY_TABLES:
            continue
        primary = tuple(sorted(r[1] for r in db.execute(f"pragma table_info('{table}')") if r[5]))
        unique = {tuple(sorted(c[2] for c in db.execute(f"pragma index_info('{i[1]}')"))) for i in db.execute(f"pragma index_list('{table}')") if i[2] and i[3] == "u"}
        keys[table] = {("primary", *primary)} | {("unique", *u) for u in unique}
    return keys


def pg_keys(conn: psycopg.Connection) -> dict[str, set[tuple[str, ...]]]:
    rows = conn.execute(
        "select t.relname, c.contype, array(select a.attname from pg_attribute a where a.attrelid = c.conrelid and a.attnum = any(c.conkey) order by a.attname)"
        " from pg_constraint c join pg_class t on t.oid = c.conrelid"
        " where t.relnamespace = 'public'::regnamespace and c.contype in ('p', 'u')"
    ).fetchall()
    keys: dict[str, set[tuple[str, ...]]] = {}
    for table, kind, columns in rows:
        keys.setdefault(table, set()).add(("primary" if kind == "p" else "unique", *columns))
    return keys


def test_both_backends_have_the_same_primary_and_unique_keys(conn: psycopg.Connection) -> None:
    assert sqlite_keys() == pg_keys(conn)


def test_every_table_has_row_level_security(conn: psycopg.Connection) -> None:
    rows = conn.execute("select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'").fetchall()
    assert rows and all(enabled for _, enabled in rows), [name for name, enabled in rows if not enabled]


def test_seed_spec_indexes_exist(conn: psycopg.Connection) -> None:
    names = {r[0] for r in conn.execute("select indexname from pg_indexes where schemaname = 'public'")}
    assert {"models_slug_key", "models_tags_idx", "models_lab_scope_idx", "model_runs_user_created_idx", "published_artifacts_slug_key"} <= names


# ----------------------------------------------------------------------------- visibility
def test_private_models_runs_saves_and_drafts_are_invisible_to_another_user(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_role(conn, world["bob"]):
        models = {r[0] for r in conn.execute("select id::text from models")}
        assert world["private_id"] not in models and world["unlisted_id"] not in models and world["public_id"] in models
        assert conn.execute("select count(*) from model_versions where model_id = %s", (world["private_id"],)).fetchone()[0] == 0
        assert conn.execute("select count(*) from model_versions where model_id = %s and status = 'draft'", (world["own_public"],)).fetchone()[0] == 0
        assert conn.execute("select count(*) from model_runs").fetchone()[0] == 0
        assert conn.execute("select count(*) from model_saves").fetchone()[0] == 0
        assert conn.execute("select count(*) from profiles where id = %s", (world["ana"],)).fetchone()[0] == 0
        listing = {r[0] for r in conn.execute("select slug from model_listing")}
        assert f"private-{world['tag']}" not in listing and f"unlisted-{world['tag']}" not in listing
    with as_role(conn, world["ana"]):
        assert conn.execute("select count(*) from model_runs").fetchone()[0] == 1
        assert conn.execute("select count(*) from model_versions where model_id = %s and status = 'draft'", (world["own_public"],)).fetchone()[0] == 1


def test_another_users_rows_are_unwritable(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_role(conn, world["bob"]):
        assert conn.execute("update models set name = 'pwned' where id = %s", (world["own_public"],)).rowcount == 0
        assert conn.execute("delete from models where id = %s", (world["own_public"],)).rowcount == 0
        assert conn.execute("delete from model_saves where user_id = %s", (world["ana"],)).rowcount == 0
        assert conn.execute("update model_versions set dsl_json = '{}' where model_id = %s", (world["own_public"],)).rowcount == 0
    for statement, params in [
        ("insert into models (slug, name, owner_id, lab_scope, difficulty) values ('bobs-fake', 'x', %s, 'econ', 'basic')", (world["ana"],)),
        ("insert into model_versions (model_id, version, dsl_json, created_by) values (%s, 9, '{}', %s)", (world["own_public"], world["bob"])),
        ("insert into model_saves (user_id, model_id) values (%s, %s)", (world["ana"], world["public_id"])),
        ("insert into model_saves (user_id, model_id) values (%s, %s)", (world["bob"], world["private_id"])),
        ("insert into model_runs (model_id, model_version_id, user_id, inputs_hash, status) values (%s, %s, %s, 'x', 'success')", (world["public_id"], world["public_v"], world["bob"])),
        ("update model_runs set outputs_json = '{}' where id = %s", (world["run_id"],)),
        ("update profiles set tier = 'paid' where id = %s", (world["bob"],)),
        ("insert into models (slug, name, owner_id, lab_scope, difficulty, is_template) values ('bobs-template', 'x', %s, 'econ', 'basic', true)", (world["bob"],)),
        ("update models set is_template = true where owner_id = %s", (world["bob"],)),
        ("insert into model_versions (model_id, version, dsl_json, created_by, runtime, code_bundle) select id, 7, '{}', %s, 'python', 'import os'"
         " from models where owner_id = %s limit 1", (world["ana"], world["ana"])),
        ("insert into published_artifacts (slug, model_run_id, model_id, version_id, owner_id, title, payload) values ('fake', %s, %s, %s, %s, 't', '{}')",
         (world["run_id"], world["public_id"], world["public_v"], world["bob"])),
    ]:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["bob"]):
            conn.execute(statement, params)


def test_a_rating_cannot_be_moved_to_a_model_its_author_cannot_see(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_role(conn, world["bob"]):
        conn.execute("insert into model_ratings (user_id, model_id, rating) values (%s, %s, 3)", (world["bob"], world["public_id"]))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["bob"]):
        conn.execute("update model_ratings set model_id = %s where user_id = %s", (world["private_id"], world["bob"]))


def test_unlisted_artifacts_cannot_be_listed_by_anon_but_open_by_slug(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_role(conn, None):
        listed = {r[0] for r in conn.execute("select slug from published_artifacts")}
        assert world["public_art"] in listed and world["unlisted_art"] not in listed
        assert conn.execute("select count(*) from published_artifacts where visibility = 'unlisted'").fetchone()[0] == 0
        found = conn.execute("select title, payload from get_artifact_by_slug(%s)", (world["unlisted_art"],)).fetchone()
        assert found[0] == "Secret-ish" and found[1]["model"]["slug"] == f"private-{world['tag']}" and "result" in found[1]
        assert conn.execute("select count(*) from get_artifact_by_slug(%s)", (world["unlisted_art"][:-1] + "%",)).fetchone()[0] == 0
        model = conn.execute("select get_model_by_slug(%s)", (f"unlisted-{world['tag']}",)).fetchone()[0]
        assert model["model"]["visibility"] == "unlisted" and len(model["versions"]) == 1
        assert conn.execute("select get_model_by_slug(%s)", (f"private-{world['tag']}",)).fetchone()[0] is None
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, None):  # anon cannot run
        conn.execute("select reserve_run(%s, %s, %s, '{}', 'h')", (world["bob"], world["public_id"], world["public_v"]))


def test_fork_copies_the_current_version_into_a_private_model(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_role(conn, world["bob"]):
        fork = conn.execute("select id, owner_id, visibility, forked_from_id from fork_model(%s, %s, null)", (f"unlisted-{world['tag']}", f"bobfork-{world['tag']}")).fetchone()
        assert str(fork[1]) == world["bob"] and fork[2] == "private" and str(fork[3]) == world["unlisted_id"]
        with pytest.raises(psycopg.errors.RaiseException, match="not_found"):
            conn.execute("select fork_model(%s, %s, null)", (f"private-{world['tag']}", f"steal-{world['tag']}"))


def test_usage_counts_runs_and_unique_users(conn: psycopg.Connection, world: dict[str, str]) -> None:
    for user in (world["bob"], world["bob"]):
        with as_service(conn):
            run = conn.execute("select reserve_run(%s, %s, %s, '{}', 'u')", (user, world["public_id"], world["public_v"])).fetchone()[0]
            conn.execute("select finish_run(%s, %s, 'success', '{}', 1, null)", (user, run))
    runs, users = conn.execute("select runs, unique_users from model_usage_daily where model_id = %s", (world["public_id"],)).fetchone()
    assert (runs, users) == (2, 1)


def test_reserve_run_admits_exactly_the_remaining_quota_under_concurrency(pg: str, conn: psycopg.Connection, world: dict[str, str]) -> None:
    import uuid

    carol = create_auth_user(conn, f"carol-{uuid.uuid4().hex[:6]}@example.com")
    models = [add_model(conn, None, f"q{i}-{world['tag']}", "public") for i in range(8)]
    with as_service(conn):  # 3 runs used already
        for i in range(3):
            conn.execute("select reserve_run(%s, %s, %s, '{}', %s)", (carol, *models[0], f"pre{i}"))
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def attempt(i: int) -> None:
        model_id, version_id = models[1 + i % 7]  # at most 3 attempts per model: the 3/minute/model limit is never the one hit
        with psycopg.connect(pg, autocommit=True) as own:
            barrier.wait()
            try:
                with as_service(own):
                    own.execute("select reserve_run(%s, %s, %s, '{}', %s)", (carol, model_id, version_id, f"c{i}"))
                outcomes.append("ok")
            except psycopg.errors.RaiseException as exc:
                outcomes.append(str(exc).split(":")[1])

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 7 and outcomes.count("rate_limit_daily") == 13, outcomes
    assert conn.execute("select count(*) from model_runs where user_id = %s", (carol,)).fetchone()[0] == 10


# ----------------------------------------------------------------------------- integrity
def test_fork_never_copies_a_version_of_another_model(conn: psycopg.Connection, world: dict[str, str]) -> None:
    """Pointing your own model's current_version_id at someone else's private version and forking it
    must not copy that version."""
    with as_role(conn, world["bob"]):
        own = conn.execute(
            "insert into models (slug, name, owner_id, lab_scope, difficulty) values (%s, 'decoy', %s, 'econ', 'basic') returning id",
            (f"decoy-{world['tag']}", world["bob"]),
        ).fetchone()[0]
        conn.execute("update models set current_version_id = %s where id = %s", (world["private_v"], own))
        with pytest.raises(psycopg.errors.RaiseException, match="no version to fork"):
            conn.execute("select fork_model(%s, %s, null)", (f"decoy-{world['tag']}", f"loot-{world['tag']}"))
    assert conn.execute("select count(*) from models where slug = %s", (f"loot-{world['tag']}",)).fetchone()[0] == 0


# ----------------------------------------------------------------------------- issue 9: the walls
SERVER_ONLY_CALLS = [
    ("reserve_run", "select reserve_run(%(me)s, %(model)s, %(version)s, '{}', 'x')"),
    ("finish_run", "select finish_run(%(me)s, %(run)s, 'success', '{\"outputs\": {\"metrics\": [{\"id\": \"m\", \"text\": \"999\"}]}}', 1, null)"),
    ("find_cached_run", "select * from find_cached_run(%(me)s, %(version)s, 'x')"),
    ("log_cached_run", "select log_cached_run(%(me)s, %(run)s, 'h')"),
    ("sweep_stale_runs", "select sweep_stale_runs(%(me)s, 0)"),
    ("record_artifact_view", "select record_artifact_view(%(artifact)s, 'user:x')"),
    ("reserve_queued_run", "select reserve_queued_run(%(me)s, %(model)s, %(version)s, '{}', 'x')"),
    ("pending_queued_runs", "select * from pending_queued_runs(0, 1000)"),
]


@pytest.mark.parametrize(("name", "call"), SERVER_ONLY_CALLS, ids=[c[0] for c in SERVER_ONLY_CALLS])
@pytest.mark.parametrize("who", ["ana", "bob", None])
def test_users_cannot_call_the_servers_functions(conn: psycopg.Connection, world: dict[str, str], name: str, call: str, who: str | None) -> None:
    """Issue 9: a signed-in user (or a visitor) calling finish_run, reserve_run, the views counter or
    log_cached_run over the REST API, even naming themselves, is refused by the database."""
    artifact = conn.execute("select id from published_artifacts where slug = %s", (world["public_art"],)).fetchone()[0]
    args = {"me": world[who] if who else world["ana"], "model": world["public_id"], "version": world["public_v"], "run": world["run_id"], "artifact": artifact}
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"permission denied for function {name}"), as_role(conn, world[who] if who else None):
        conn.execute(call, args)


@pytest.mark.parametrize("who", ["ana", None])
def test_the_old_user_callable_signatures_are_gone(conn: psycopg.Connection, world: dict[str, str], who: str | None) -> None:
    """The functions users could call before (finishing their own run with any outputs, adding views to
    any slug and learning whether it exists) no longer exist under those signatures."""
    for statement, params in [
        ("select finish_run(%s::uuid, 'success'::text, '{}'::jsonb, 1::float8, null::text)", (world["run_id"],)),
        ("select reserve_run(%s::uuid, %s::uuid, '{}'::jsonb, 'h'::text)", (world["public_id"], world["public_v"])),
        ("select log_cached_run(%s::uuid, '{}'::jsonb)", (world["run_id"],)),
        ("select increment_artifact_views(%s::text)", (world["public_art"],)),
    ]:
        with pytest.raises(psycopg.errors.UndefinedFunction), as_role(conn, world[who] if who else None):
            conn.execute(statement, params)


def test_outputs_cannot_be_forged_by_any_users_path(conn: psycopg.Connection, world: dict[str, str]) -> None:
    """A user holds a pending run: none of the ways a JWT reaches the database writes outputs into it."""
    with as_service(conn):
        pending = conn.execute("select reserve_run(%s, %s, %s, '{}', 'forge')", (world["bob"], world["public_id"], world["public_v"])).fetchone()[0]
    forged = json.dumps({"outputs": {"series": [{"id": "s", "points": [[1, 1]] * 1000}]}, "provenance": [{"provider": "fred"}]})
    for statement, params in [
        ("update model_runs set outputs_json = %s, status = 'success' where id = %s", (forged, pending)),
        ("insert into model_runs (model_id, model_version_id, user_id, inputs_hash, status, outputs_json) values (%s, %s, %s, 'f', 'success', %s)",
         (world["public_id"], world["public_v"], world["bob"], forged)),
        ("select finish_run(%s, %s, 'success', %s, 1, null)", (world["bob"], pending, forged)),
        ("insert into model_usage_daily (model_id, date, runs) values (%s, current_date + 1, 1000)", (world["public_id"],)),
        ("update published_artifacts set views = 2000, payload = %s where slug = %s", (forged, world["public_art"])),
        ("insert into artifact_views (artifact_id, viewer_key, date) select id, 'user:me', current_date from published_artifacts", ()),
    ]:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["bob"]):
            conn.execute(statement, params)
    assert conn.execute("select status, outputs_json from model_runs where id = %s", (pending,)).fetchone() == ("pending", None)
    with pytest.raises(psycopg.errors.RaiseException, match="only a successful run"), as_role(conn, world["bob"]):
        conn.execute("select publish_artifact(%s, 'forged-art', 'Genuine-looking', '', 'public')", (pending,))


def test_views_are_counted_by_the_server_once_per_viewer_per_day(conn: psycopg.Connection, world: dict[str, str]) -> None:
    artifact = conn.execute("select id from published_artifacts where slug = %s", (world["public_art"],)).fetchone()[0]
    before = conn.execute("select views from published_artifacts where id = %s", (artifact,)).fetchone()[0]
    with as_service(conn):
        counts = [conn.execute("select record_artifact_view(%s, %s)", (artifact, key)).fetchone()[0] for key in ["user:a"] * 2000 + ["visitor:b"]]
        assert conn.execute("select record_artifact_view(gen_random_uuid(), 'user:a')").fetchone()[0] == 0  # an unknown id: nothing
    assert counts[-2:] == [before + 1, before + 2] and counts[0] == before + 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["bob"]):
        conn.execute("select count(*) from artifact_views")  # who viewed what is the server's


def test_an_unlisted_artifact_ends_in_128_random_bits_whatever_slug_is_asked(conn: psycopg.Connection, world: dict[str, str]) -> None:
    """Guessing unlisted slugs is infeasible: a user publishing through the REST API with a chosen,
    guessable slug still gets 128 random bits appended by the database."""
    with as_role(conn, world["ana"]):
        slugs = [conn.execute("select slug from publish_artifact(%s, 'guessable', 'Quiet', '', 'unlisted')", (world["run_id"],)).fetchone()[0]
                 for _ in range(2)]
    assert slugs[0] != slugs[1]
    for slug in slugs:
        prefix, _, random_part = slug.rpartition("-")
        assert prefix == "guessable" and len(random_part) == 32 and int(random_part, 16) >= 0
    with as_role(conn, None):
        assert conn.execute("select count(*) from get_artifact_by_slug('guessable')").fetchone()[0] == 0


def test_a_cache_hit_takes_the_source_runs_inputs_verified_by_hash(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with as_service(conn):
        source = conn.execute("select reserve_run(%s, %s, %s, %s, 'k-canon')", (world["ana"], world["public_id"], world["public_v"],
                                                                              json.dumps({"start": "2020-01-01"}))).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', '{\"outputs\": {}}', 1, null)", (world["ana"], source))
    with pytest.raises(psycopg.errors.RaiseException, match="computed for other inputs"), as_service(conn):
        conn.execute("select log_cached_run(%s, %s, 'k-other')", (world["bob"], source))
    with as_service(conn):
        hit = conn.execute("select log_cached_run(%s, %s, 'k-canon')", (world["bob"], source)).fetchone()[0]
    assert conn.execute("select inputs_json, cached_from_run_id::text from model_runs where id = %s", (hit,)).fetchone() == ({"start": "2020-01-01"}, str(source))


def test_failed_runs_cost_no_daily_run_but_count_per_minute(conn: psycopg.Connection, world: dict[str, str]) -> None:
    import uuid

    dave = create_auth_user(conn, f"dave-{uuid.uuid4().hex[:6]}@example.com")
    models = [add_model(conn, None, f"fail{i}-{world['tag']}", "public") for i in range(5)]
    with as_service(conn):
        for model, version in models[:4]:
            for i in range(3):
                run = conn.execute("select reserve_run(%s, %s, %s, '{}', %s)", (dave, model, version, f"f{i}")).fetchone()[0]
                conn.execute("select finish_run(%s, %s, 'error', null, null, 'upstream outage')", (dave, run))
    with pytest.raises(psycopg.errors.RaiseException, match="rate_limit_minute"), as_service(conn):
        conn.execute("select reserve_run(%s, %s, %s, '{}', 'f4')", (dave, *models[0]))
    with as_service(conn):
        conn.execute("select reserve_run(%s, %s, %s, '{}', 'ok')", (dave, *models[4]))  # 12 failures, and still within the 10 a day


def test_cache_hits_count_against_the_per_minute_limit(conn: psycopg.Connection, world: dict[str, str]) -> None:
    import uuid

    erin = create_auth_user(conn, f"erin-{uuid.uuid4().hex[:6]}@example.com")
    with as_service(conn):
        source = conn.execute("select reserve_run(%s, %s, %s, '{}', 'k-minute')", (world["ana"], world["public_id"], world["public_v"])).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', '{}', 1, null)", (world["ana"], source))
        for _ in range(3):
            conn.execute("select log_cached_run(%s, %s, 'k-minute')", (erin, source))
    with pytest.raises(psycopg.errors.RaiseException, match="rate_limit_minute"), as_service(conn):
        conn.execute("select log_cached_run(%s, %s, 'k-minute')", (erin, source))


def test_a_stale_pending_run_is_swept_before_the_next_reservation(conn: psycopg.Connection, world: dict[str, str]) -> None:
    import uuid

    fay = create_auth_user(conn, f"fay-{uuid.uuid4().hex[:6]}@example.com")
    with as_service(conn):
        lost = conn.execute("select reserve_run(%s, %s, %s, '{}', 'lost')", (fay, world["public_id"], world["public_v"])).fetchone()[0]
    conn.execute("update model_runs set created_at = now() - interval '2 hours' where id = %s", (lost,))
    with as_service(conn):
        conn.execute("select reserve_run(%s, %s, %s, '{}', 'next', 3600)", (fay, world["public_id"], world["public_v"]))
    status, message = conn.execute("select status, error_message from model_runs where id = %s", (lost,)).fetchone()
    assert status == "error" and "does not count against your daily runs" in message


def test_publishing_a_run_of_a_model_made_private_since_is_refused(conn: psycopg.Connection, world: dict[str, str]) -> None:
    import uuid

    gus = create_auth_user(conn, f"gus-{uuid.uuid4().hex[:6]}@example.com")
    model, version = add_model(conn, world["ana"], f"shared-{world['tag']}", "public")
    with as_service(conn):
        run = conn.execute("select reserve_run(%s, %s, %s, '{}', 'p')", (gus, model, version)).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', '{\"outputs\": {}}', 1, null)", (gus, run))
    with as_role(conn, world["ana"]):
        conn.execute("update models set visibility = 'private', name = 'Acquisition target', description = 'Do not share' where id = %s", (model,))
    with pytest.raises(psycopg.errors.RaiseException, match="no longer shared with you"), as_role(conn, gus):
        conn.execute("select publish_artifact(%s, %s, 'Leak', '', 'public')", (run, f"leak-{world['tag']}"))
    assert conn.execute("select count(*) from published_artifacts where payload::text like '%%Acquisition target%%'").fetchone()[0] == 0


def test_template_slugs_cannot_be_taken_or_squatted(conn: psycopg.Connection, world: dict[str, str]) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation, match="reserved for a template"), as_role(conn, world["bob"]):
        conn.execute("insert into models (slug, name, owner_id, lab_scope, difficulty) values ('yield-curve-10y-2y', 'x', %s, 'econ', 'basic')", (world["bob"],))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["ana"]):  # a slug is never the author's to change
        conn.execute("update models set slug = 'drawdown' where id = %s", (world["own_public"],))
    with pytest.raises(psycopg.errors.UniqueViolation, match="reserved for a template"), as_service(conn):  # nor anyone's, for a user model
        conn.execute("update models set slug = 'drawdown' where id = %s", (world["own_public"],))
    with pytest.raises(psycopg.errors.UniqueViolation), as_role(conn, world["bob"]):
        conn.execute("select fork_model(%s, 'sahm-rule', null)", (f"public-{world['tag']}",))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, world["bob"]):
        conn.execute("insert into reserved_slugs (slug) values ('squat-me')")  # the list is the server's


def test_tier_role_and_email_hold_even_under_a_looser_grant(conn: psycopg.Connection, world: dict[str, str]) -> None:
    """Column privileges alone protected profiles; a trigger now refuses what a looser grant would allow."""
    conn.execute("grant update (tier, role, email, is_guest) on public.profiles to authenticated")
    try:
        for change in ("tier = 'paid'", "role = 'admin'", "email = 'boss@example.com'", "is_guest = true"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only the display name"), as_role(conn, world["bob"]):
                conn.execute(f"update profiles set {change} where id = %s", (world["bob"],))
        with as_role(conn, world["bob"]):
            assert conn.execute("update profiles set display_name = 'Bobby' where id = %s", (world["bob"],)).rowcount == 1
        conn.execute("grant insert on public.profiles to authenticated")
        conn.execute("create policy loose_insert on public.profiles for insert to authenticated with check (true)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="created by the server"), as_role(conn, world["bob"]):
            conn.execute("insert into profiles (id, tier, role) values (gen_random_uuid(), 'paid', 'admin')")
    finally:
        conn.execute("drop policy if exists loose_insert on public.profiles")
        conn.execute("revoke insert, update on public.profiles from authenticated")
        conn.execute("grant update (display_name) on public.profiles to authenticated")
    assert conn.execute("select tier, role from profiles where id = %s", (world["bob"],)).fetchone() == ("free", "user")
    with as_service(conn):  # the server (an admin's tier change) still may
        conn.execute("update profiles set tier = 'paid' where id = %s", (world["bob"],))
    conn.execute("update profiles set tier = 'free' where id = %s", (world["bob"],))


# ----------------------------------------------------------------------------- issue 15: my_runs() says which runs were queued
def test_my_runs_says_whether_a_run_was_queued_with_its_rights_and_grants_unchanged(postgres_dsn: str) -> None:
    """20250101000048 recreates my_runs() with one more column, queued: the function's definer rights, search_path
    and grants must be exactly those it had, and each user still reads only their own runs through it."""
    from tests.store.supabase_pg import apply_files, bootstrap, migration_files

    files = migration_files()
    cut = [p.name for p in files].index("20250101000048_my_runs_queued.sql")
    rights = ("select prosecdef, proconfig, array(select a::text from unnest(proacl) a order by 1)"
              " from pg_proc where proname = 'my_runs' and pronamespace = 'public'::regnamespace")
    with fresh_database(postgres_dsn) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        bootstrap(conn)
        apply_files(conn, files[:cut])
        before = conn.execute(rights).fetchall()
        for path in files[cut:]:
            conn.execute(path.read_text())
        assert conn.execute(rights).fetchall() == before and len(before) == 1
        ana, bob = create_auth_user(conn, "ana-queued@example.com"), create_auth_user(conn, "bob-queued@example.com")
        model, version = add_model(conn, None, "queued-mark", "public")
        with as_service(conn):
            queued = conn.execute("select reserve_queued_run(%s, %s, %s, '{}', 'q')", (ana, model, version)).fetchone()[0]
            in_place = conn.execute("select reserve_run(%s, %s, %s, '{}', 'p')", (ana, model, version)).fetchone()[0]
        with as_role(conn, ana):
            assert dict(conn.execute("select id, queued from my_runs(null, 50)").fetchall()) == {queued: True, in_place: False}
        with as_role(conn, bob):
            assert conn.execute("select count(*) from my_runs(null, 50)").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, None):
            conn.execute("select * from my_runs(null, 50)")
