"""The labs' and the builder's use cases, without Streamlit, on the bundled sample data."""

from __future__ import annotations

from datetime import date

from services import authoring
from services.facade import Services
from services.labs import sample_as_of, smile_points, spot_price


def test_the_econ_lab_reports_an_unknown_series_on_its_own(svc: Services) -> None:
    fetched = svc.labs.series(["DGS10", "NOPE"], date(2024, 1, 1), date(2024, 3, 31))
    assert list(fetched.values) == ["DGS10"] and len(fetched.values["DGS10"]["x"]) > 50
    assert "NOPE" in fetched.errors and "The sample data has no FRED series 'NOPE'" in fetched.errors["NOPE"]
    assert [p["symbol"] for p in fetched.provenance] == ["DGS10"] and fetched.provenance[0]["provider"] == "sample"


def test_the_derivatives_lab_gets_a_chain_with_its_provenance(svc: Services) -> None:
    assert svc.labs.symbols() == ["SPY", "AAPL", "MSFT"]
    expirations = svc.labs.expirations("SPY")
    chain, provenance = svc.labs.chain("SPY", expirations[0])
    assert spot_price(chain) == 720.65
    assert provenance[0]["dataset"] == "options_chain" and provenance[0]["as_of"] == "2026-05-01"
    calls = smile_points(chain[chain["type"] == "call"])
    assert len(calls["strike"]) == len(calls["iv"]) > 10


def test_the_data_mode_names_the_sample_and_its_date(svc: Services) -> None:
    mode = svc.labs.data_mode()
    assert not mode.live and mode.providers == {"macro": "sample", "market": "sample", "derivatives": "sample"}
    assert sample_as_of() in mode.sentence and sample_as_of() >= "2026-08-20"


def test_authoring_reports_every_problem_with_tuple_paths() -> None:
    doc, problems = authoring.parse('{"version": "1.0", "steps": [{"id": "a", "operation": "rolling_men", "inputs": []}]}')
    assert problems == []
    found = authoring.check(doc)
    where = {p.code: p.where for p in found}
    assert where["E_UNKNOWN_OP"] == ("steps", 0, "operation")
    assert "rolling_mean" in next(p.hint for p in found if p.code == "E_UNKNOWN_OP")
    _, broken = authoring.parse("{nope")
    assert broken[0].code == "E_JSON"


def test_authoring_describes_operations_and_types() -> None:
    palette = {op["name"]: op for op in authoring.operations()}
    assert {"fetch_series", "zscore", "calculate_expected_move"} <= set(palette)
    assert palette["zscore"]["family"] == "stats" and palette["zscore"]["summary"]
    doc = {"version": "1.0", "steps": [{"id": "s", "operation": "fetch_series", "params": {"series_id": "DGS10"}},
                                        {"id": "z", "operation": "zscore", "inputs": ["s"]}],
           "outputs": {"series": [{"id": "z", "source": "z", "label": "z"}]}}
    assert authoring.step_types(doc) == {"s": "series", "z": "series"}
    assert authoring.output_schema(doc)["series"][0]["id"] == "z"


def test_every_seed_file_loads() -> None:
    """Regression: a seed with a value outside the rules (a difficulty of 'beginner' after the rename to
    'basic') was skipped with only a log line, and its model silently missing from the registry."""
    from pathlib import Path

    from services.seeds import SEEDS_DIR, read_seeds

    assert {m.slug for m in read_seeds()} == {p.stem for p in Path(SEEDS_DIR).glob("*.json")}


def test_relative_defaults_resolve_against_the_sample_as_of_date(svc: Services) -> None:
    """On sample data 'today-5y' means five years before the snapshot, in any year the app runs."""
    from gateways.sample import as_of_date

    assert svc.runs.reference_date == as_of_date()
    user = svc.auth.guest()
    svc.models.create(user, {
        "slug": "relative-start", "name": "Relative start", "description": "d", "lab_scope": "econ", "difficulty": "basic",
        "dsl": {"version": "1.0", "steps": [{"id": "s", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "$start"}}],
                "outputs": {"series": [{"id": "s", "source": "s", "label": "10y"}]}},
        "input_schema": {"fields": [{"name": "start", "type": "date", "default": "today-1y"}]},
    })
    outcome = svc.runs.run_model(user, "relative-start")
    expected = as_of_date().replace(year=as_of_date().year - 1).isoformat()
    assert outcome.result.inputs["start"] == expected
    assert outcome.result.outputs["series"][0]["x"][0] >= expected


def test_the_labs_recession_spans_are_the_engines_shaded_spans():
    """The Econ Lab shades the same months a model's recession_indicator output does (1960 to 2025)."""
    import pandas as pd

    from engine.outputs import shade_spans
    from engine.primitives.cycles import RecessionParams, recession_indicator
    from services.labs import recession_spans

    months = pd.Series(1.0, index=pd.date_range("1960-01-01", "2025-12-01", freq="MS"))
    expected = shade_spans(recession_indicator(months, params=RecessionParams()))
    assert recession_spans(date(1960, 1, 1), date(2025, 12, 31)) == expected
    assert len(expected) == 9 and expected[-1] == ["2020-03-01", "2020-05-01"]
