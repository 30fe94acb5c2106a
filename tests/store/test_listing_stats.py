"""The registry listing's figures (Supabase migration 20250101000047): runs in the last 30 days and ratings come from
model_listing_stats(), a definer function, so they must be the same figures as before and told only about models the
caller may read (tested by attack: another user, anon)."""

from __future__ import annotations

import json

from tests.store.supabase_pg import as_role, as_service, create_auth_user
from tests.store.test_supabase_sql import conn, pg, world  # noqa: F401  (fixtures)


def test_the_listing_counts_runs_of_30_days_and_every_rating(conn, world) -> None:  # noqa: F811
    rater = create_auth_user(conn, f"rater-{world['tag']}@example.com")
    with as_service(conn):
        for _ in range(2):
            run = conn.execute("select reserve_run(%s, %s, %s, '{}', %s)", (rater, world["public_id"], world["public_v"], f"h-{_}")).fetchone()[0]
            conn.execute("select finish_run(%s, %s, 'success', %s, 5, null)", (rater, run, json.dumps({"outputs": {}, "provenance": []})))
        conn.execute("insert into model_usage_daily (model_id, date, runs) values (%s, current_date - 31, 50)", (world["public_id"],))  # too old
    for who in (rater, world["ana"]):
        with as_role(conn, who):
            conn.execute("insert into model_ratings (user_id, model_id, rating, review) values (%s, %s, %s, '')", (who, world["public_id"], 3 if who == rater else 4))
    for who in (world["bob"], None):
        with as_role(conn, who):
            row = conn.execute("select runs_30d, rating_avg, rating_count from model_listing where id = %s", (world["public_id"],)).fetchone()
        assert row == (2, 3.5, 2)


def test_a_private_models_figures_are_told_to_its_owner_alone(conn, world) -> None:  # noqa: F811
    with as_role(conn, world["ana"]):
        (own,) = conn.execute("select runs_30d from model_listing where id = %s", (world["private_id"],)).fetchone()
        assert own == 1
    for who in (world["bob"], None):
        with as_role(conn, who):
            assert conn.execute("select count(*) from model_listing where id = %s", (world["private_id"],)).fetchone()[0] == 0
            assert conn.execute("select * from model_listing_stats(%s)", (world["private_id"],)).fetchone() == (0, None, 0)

