"""The model page's versions (issue 13) through AppTest: history, diff, an earlier version run by link,
restore, compare results, and fork lineage with updates from the source."""

from __future__ import annotations

import copy
from typing import Any

from streamlit.testing.v1 import AppTest

from components.text import escape
from tests.app.conftest import APP
from tests.app.test_pages import charts, no_failure, texts, unescape
from tests.store.conftest import SPREAD_SEED

SLUG = "spread-watch"
PASSWORD = "a long passphrase"


def author_edits_twice(svc: Any) -> Any:
    """Ana's public spread model: v2 adds a 5-day mean, v3 widens it to 20 days."""
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    svc.models.create(ana, {**SPREAD_SEED, "slug": SLUG, "name": "Spread watch"}, visibility="public")
    dsl = copy.deepcopy(SPREAD_SEED["dsl"])
    dsl["steps"].append({"id": "smooth", "operation": "rolling_mean", "inputs": ["spread"], "params": {"window": 5}})
    dsl["outputs"]["series"][0]["source"] = "smooth"
    dsl["steps"][3]["inputs"] = ["smooth"]  # the summary table describes the smoothed spread
    svc.models.add_version(ana, SLUG, dsl, changelog="Smoothed over a week")
    dsl = copy.deepcopy(dsl)
    dsl["steps"][-1]["params"]["window"] = 20
    svc.models.add_version(ana, SLUG, dsl, changelog="Smoothed over a month")
    return ana


def as_user(user: Any, **query: str) -> AppTest:
    """The model page for a signed-in ``user`` (the account as sign-up returned it: no second password hash)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = user
    at.run()
    at.query_params.update(query)
    at.switch_page("views/model.py").run()
    return at


def frame_with(at: AppTest, *columns: str) -> Any:
    """The first data frame on the page that has these columns."""
    return next(d.value for d in at.table if set(columns) <= set(d.value.columns))


def test_the_history_lists_each_version_with_its_author_and_the_diff_shows_the_parameter_that_moved(open_page, svc) -> None:
    author_edits_twice(svc)
    at = open_page("views/model.py", slug=SLUG)
    no_failure(at)
    history = frame_with(at, "version", "author", "changelog")
    assert history[["version", "author", "changelog", "status"]].values.tolist() == [
        [3, "Ana", "Smoothed over a month", "current"], [2, "Ana", "Smoothed over a week", "published"], [1, "Ana", "First version", "published"],
    ]
    page = unescape(texts(at))
    assert "1 difference from version 2 to version 3: 1 changed" in page and "`params.window`: 5 → 20" in page
    at.selectbox(key=f"{SLUG}.diff.old").select(1).run()
    page = unescape(texts(at))
    assert "from version 1 to version 3" in page and "Step `smooth`** :green[added]" in page and "rolling_mean of spread" in page


def test_an_earlier_version_opens_by_link_and_runs_as_it_was(open_page, svc) -> None:
    author_edits_twice(svc)
    at = open_page("views/model.py", slug=SLUG, version="1")
    no_failure(at)
    assert any("You are looking at version 1" in i.value for i in at.info)
    at.button(key=f"{SLUG}@v1.run").click().run()
    no_failure(at)
    kept = at.session_state[f"{SLUG}@v1.last_run"]
    assert kept["version"] == 1 and "rolling_mean" not in [t["operation"] for t in kept["result"]["trace"]]
    assert at.query_params["version"] == "1"  # the shared link keeps naming the version it ran
    assert f"{SLUG}.last_run" not in at.session_state  # the current version's result is kept apart


def test_a_version_that_does_not_exist_falls_back_to_the_current_one_with_a_sentence(open_page, svc) -> None:
    author_edits_twice(svc)
    at = open_page("views/model.py", slug=SLUG, version="7")
    assert any("has no version 7" in e.value for e in at.error) and not at.exception


def test_the_author_restores_an_earlier_version_as_a_new_one(svc) -> None:
    ana = author_edits_twice(svc)
    at = as_user(ana, slug=SLUG)
    at.selectbox(key=f"{SLUG}.pick").select(1).run()
    at.button(key=f"{SLUG}.restore").click().run()
    no_failure(at)
    assert any("Version 1 is restored as version 4" in s.value for s in at.success)
    assert svc.registry.get_model(SLUG, None).latest.version == 4
    reader = as_user(svc.auth.guest(), slug=SLUG)
    reader.selectbox(key=f"{SLUG}.pick").select(2).run()
    assert not [b for b in reader.button if b.key == f"{SLUG}.restore"]  # only the author restores


def test_compare_results_overlays_the_series_and_highlights_the_table(open_page, svc) -> None:
    author_edits_twice(svc)
    at = open_page("views/model.py", slug=SLUG)
    at.selectbox(key=f"{SLUG}.diff.old").select(1).run()
    at.button(key=f"{SLUG}.compare").click().run()
    no_failure(at)
    assert any("give different results" in w.value for w in at.warning)
    overlay = [c for c in charts(at) if "version-overlay" in c.proto.spec]
    assert len(overlay) == 1 and '"v1: 10y - 2y (pp)"' in overlay[0].proto.spec and '"dash":"dot"' in overlay[0].proto.spec.replace(" ", "")
    table = frame_with(at, "change", "metric", "value")
    mean = table[table["metric"] == "mean"].iloc[0]
    assert mean["change"] == "1 changed" and "(v1: " in mean["value"].replace("\\", "")  # the cell as a reader sees it
    assert at.session_state[f"{SLUG}.comparison"].old.version == 1


def test_a_fork_says_where_it_came_from_and_its_owner_takes_a_newer_source_version(open_page, svc) -> None:
    ana = author_edits_twice(svc)
    at = as_user(svc.auth.sign_up("bob@example.com", PASSWORD, display_name="Bob"), slug=SLUG)
    at.button(key=f"{SLUG}.fork").click().run()
    fork_slug = at.session_state[f"{SLUG}.forked"]
    svc.models.set_visibility(at.session_state["auster.user"], fork_slug, "public")
    at.query_params.clear()
    at.query_params.update({"slug": fork_slug})
    at.switch_page("views/model.py").run()
    no_failure(at)
    assert at.title[0].value == escape("Spread watch (fork)")
    assert "Forked from **Spread watch**, version 3, by Ana" in [m.value for m in at.markdown]
    assert any(link.proto.query_string == f"slug={SLUG}&version=3" for link in at.get("page_link"))
    assert "the source has no newer version" in texts(at)

    source = open_page("views/model.py", slug=SLUG)
    assert any(fork_slug in link.proto.query_string and "by Bob" in link.proto.label for link in source.get("page_link"))

    dsl = copy.deepcopy(svc.versions.get(ana, SLUG, 3).dsl)
    dsl["steps"][-1]["params"]["window"] = 60
    svc.models.add_version(ana, SLUG, dsl, changelog="Two months")
    at.run()
    page = unescape(texts(at))
    assert "has 1 newer version(s)" in page and "`params.window`: 20 → 60" in page
    at.button(key=f"{fork_slug}.take.4").click().run()
    no_failure(at)
    assert any(f"now runs {SLUG} version 4, as its version 2" in s.value for s in at.success)
    assert svc.registry.get_model(fork_slug, None).latest.dsl == dsl
