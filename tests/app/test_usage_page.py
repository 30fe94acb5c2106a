"""The owner's usage page (issue 13) through AppTest: numbers, charts, top inputs and CSV; refused to others."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tests.app.test_pages import YIELD_CURVE, no_failure, texts
from tests.store.conftest import SPREAD_SEED


def page_as(user: Any, **query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = user
    at.run()
    at.query_params.update(query)
    at.switch_page("views/analytics.py").run()
    return at


def test_the_owner_sees_runs_users_cache_hits_and_the_inputs_used(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", "a long passphrase", display_name="Ana")
    svc.models.create(ana, {**SPREAD_SEED, "slug": "my-spread"}, visibility="public")
    reader = svc.auth.guest()
    svc.runs.run_model(ana, "my-spread", {"start": "2024-01-01"})
    svc.runs.run_model(reader, "my-spread", {"start": "2024-01-01"})  # served from the cache
    at = page_as(ana, slug="my-spread")
    no_failure(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "1" and metrics["Cache-hit share"] == "50.0%" and metrics["Error rate"] == "0.0%"
    assert metrics["Runtime p50"].endswith(" ms") and "the most in one day: 2" in texts(at)
    usage = [c for c in at.get("plotly_chart") if '"meta":"usage"' in c.proto.spec.replace(" ", "")]
    assert len(usage) == 3
    inputs = at.table[0].value
    assert ("start", "2024-01-01", 2) in set(map(tuple, inputs[["Input", "Value", "Runs"]].values.tolist()))
    assert len(at.get("download_button")) == 2


def test_someone_elses_model_usage_is_one_sentence(svc) -> None:
    at = page_as(svc.auth.guest(), slug=YIELD_CURVE)
    assert [e.value for e in at.error] == ["Only the model's owner (or an administrator) can see its usage."]


def test_the_admin_page_shows_the_sites_usage(svc) -> None:
    svc.auth.sign_up("root@example.com", "a long passphrase", display_name="Root")
    root = svc.store.users.set_profile("root@example.com", role="admin")
    svc.runs.run_model(svc.auth.guest(), YIELD_CURVE, {})
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = root
    at.run()
    at.switch_page("views/admin.py").run()
    no_failure(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "1" and metrics["Active users"] == "1"
    top = at.table[0].value
    assert list(top.columns) == ["Address", "Model", "Runs", "Served from the cache", "Failed runs", "User-days"]  # readable labels
    assert [shown(a) for a in top["Address"]] == [YIELD_CURVE]


def shown(cell: Any) -> Any:
    """A table cell as the reader sees it (the table's text is escaped Markdown)."""
    return cell.replace("\\", "") if isinstance(cell, str) else cell


def test_the_admin_page_shows_the_providers_health_and_the_errors_by_operation(svc) -> None:
    from services.health import TALLY

    TALLY.drain()  # only this test's runs
    svc.auth.sign_up("root@example.com", "a long passphrase", display_name="Root")
    root = svc.store.users.set_profile("root@example.com", role="admin")
    ana = svc.auth.sign_up("ana@example.com", "a long passphrase", display_name="Ana")
    svc.models.create(ana, {**SPREAD_SEED, "slug": "my-spread"}, visibility="public")
    svc.runs.run_model(svc.auth.guest(), "my-spread", {"start": "2024-01-01", "end": "2024-06-30"})
    broken = {**SPREAD_SEED["dsl"], "steps": [{**SPREAD_SEED["dsl"]["steps"][0], "params": {"series_id": "NOSUCHSERIES"}}, *SPREAD_SEED["dsl"]["steps"][1:]]}
    svc.models.create(ana, {**SPREAD_SEED, "slug": "broken-spread", "dsl": broken}, visibility="public")
    try:
        svc.runs.run_model(ana, "broken-spread", {"start": "2024-01-01"})
    except Exception as exc:  # the failure is the point: what matters is how it is recorded
        assert "NOSUCHSERIES" in str(exc)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = root
    at.run()
    at.switch_page("views/admin.py").run()
    no_failure(at)
    health = [c for c in at.get("plotly_chart") if '"meta":"health"' in c.proto.spec.replace(" ", "")]
    assert len(health) == 2
    tables = [t.value.rename(columns=shown) for t in at.table]
    providers = next(t for t in tables if "Hit share" in t.columns)
    sample = providers[providers["Provider"] == "sample"].iloc[0]
    assert int(sample["Cache hits"]) + int(sample["Fetches"]) >= 3  # two series for the spread, one (failing) for the broken copy
    failures = next(t for t in tables if "Event" in t.columns)
    assert ("sample", "Provider errors", "E_DATA_NOT_FOUND") in {tuple(map(shown, row)) for row in failures[["Provider", "Event", "Error code"]].values.tolist()}
    errors = next(t for t in tables if "Operation" in t.columns)
    assert [shown(cell) for cell in errors[["Operation", "Error code", "Failed runs"]].values.tolist()[0]] == ["fetch_series", "E_DATA_NOT_FOUND", 1]
    assert "Last failure (UTC)" in errors.columns
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Provider events (CSV)", "Errors by operation (CSV)"} <= set(labels)


def test_count_charts_show_whole_numbers_from_zero_never_negative_or_half_counts() -> None:
    from datetime import date

    from components.usage_dashboard import runs_figure, social_figure
    from services.analytics import build_dashboard

    quiet = build_dashboard("m", "Model", {"since": "2026-11-25", "daily": [{"date": "2026-11-27", "runs": 1, "unique_users": 1}]},
                            date(2026, 11, 27))
    social = social_figure(quiet).layout.yaxis  # nobody saved, forked or rated: 0 to 1, not -1 to 1
    assert tuple(social.range) == (0, 1) and social.tickformat == ",d" and social.dtick == 1
    runs = runs_figure(quiet).layout.yaxis  # one run: ticks of one run, not 0.2
    assert runs.rangemode == "tozero" and runs.tickformat == ",d" and runs.dtick == 1 and runs.range is None
