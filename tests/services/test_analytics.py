"""The owner's dashboard numbers (issue 13): days without activity are zeros, shares are of what was served."""

from __future__ import annotations

from datetime import date

from services.analytics import build_dashboard

RAW = {
    "since": "2026-11-25",
    "daily": [{"date": "2026-11-25", "runs": 4, "unique_users": 2, "errors": 1, "cache_hits": 4}, {"date": "2026-11-27", "runs": 0, "unique_users": 1, "errors": 0, "cache_hits": 2}],
    "runtime": {"p50": 12.0, "p95": 30.5, "n": 3},
    "top_inputs": [{"name": "start", "value": "2024-01-01", "runs": 5}],
    "saves": [{"date": "2026-11-26", "count": 2}],
    "forks": [],
    "ratings": [{"date": "2026-11-27", "count": 1, "average": 5.0}],
}


def test_every_day_of_the_period_is_a_row_and_the_shares_add_up() -> None:
    board = build_dashboard("m", "Model", RAW, date(2026, 11, 27))
    assert [d["date"] for d in board.daily] == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert [d["runs"] for d in board.daily] == [4, 0, 0] and [d["saves"] for d in board.daily] == [0, 2, 0] and board.daily[2]["ratings"] == 1
    assert board.cache_hit_share == 6 / 10 and board.error_rate == 1 / 4
    assert board.daily_csv().decode().splitlines()[:2] == ["date,runs,unique_users,cache_hits,errors,saves,forks,ratings", "2026-11-25,4,2,4,1,0,0,0"]


def test_no_activity_gives_no_shares_rather_than_zero() -> None:
    board = build_dashboard("m", "Model", {"since": "2026-11-27"}, date(2026, 11, 27))
    assert board.cache_hit_share is None and board.error_rate is None and board.runtime_p50_ms is None


def test_input_values_typed_by_other_users_reach_the_owners_csv_as_text_never_as_formulas() -> None:
    """Anyone who may run a model chooses its input values; the owner opens the dashboard's CSV in a spreadsheet."""
    raw = RAW | {"top_inputs": [{"name": "label", "value": '=HYPERLINK("http://127.0.0.1/x","open")', "runs": 3},
                                {"name": "start", "value": "2024-01-01", "runs": 2}]}
    lines = build_dashboard("m", "Model", raw, date(2026, 11, 27)).inputs_csv().decode().splitlines()
    assert lines[0] == "name,value,runs"
    assert lines[1] == 'label,"\'=HYPERLINK(""http://127.0.0.1/x"",""open"")",3'
    assert lines[2] == "start,2024-01-01,2"
