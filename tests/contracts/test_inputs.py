"""Run inputs against their schema: a blank required field is an error, dates follow each other, windows fit."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.dsl import InputSchema
from contracts.errors import InputInvalid, RateLimitExceeded
from contracts.inputs import resolve_inputs

TODAY = date(2026, 8, 21)
SCHEMA = InputSchema.model_validate({"fields": [
    {"name": "symbol", "type": "symbol", "default": "SPY", "required": True, "label": "Symbol"},
    {"name": "start", "type": "date", "default": "today-5y", "label": "Start date", "required": True},
    {"name": "end", "type": "date", "default": "today", "label": "End date", "required": True, "after": "start",
     "min_span": {"field": "window", "unit": "trading_days"}},
    {"name": "window", "type": "integer", "default": 252, "label": "Window (trading days)", "min": 5},
    {"name": "expiration", "type": "expiration", "label": "Expiration"},
]})


def fields(raw: dict) -> dict[str, str]:
    with pytest.raises(InputInvalid) as caught:
        resolve_inputs(SCHEMA, raw, TODAY)
    return caught.value.fields


def test_missing_inputs_take_their_defaults():
    assert resolve_inputs(SCHEMA, {}, TODAY) == {"symbol": "SPY", "start": "2021-08-21", "end": "2026-08-21", "window": 252, "expiration": None}


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_required_symbol_is_an_error_never_silently_spy(blank):
    assert fields({"symbol": blank}) == {"symbol": "Symbol is required."}


def test_a_blank_optional_field_takes_its_default():
    assert resolve_inputs(SCHEMA, {"expiration": ""}, TODAY)["expiration"] is None


def test_end_must_be_after_start():
    assert fields({"start": "2026-01-01", "end": "2025-06-30"}) == {"end": "End date (2025-06-30) must be after the start date (2026-01-01)."}


def test_the_range_must_be_longer_than_the_window():
    problem = fields({"start": "2026-01-02", "end": "2026-06-01", "window": 252})["end"]
    assert problem.startswith("From the start date to the end date is 150 days, shorter than the window of 252 trading days (about 365 days)")
    assert problem.endswith("pick an earlier start date or a shorter window.")
    assert resolve_inputs(SCHEMA, {"start": "2026-01-02", "end": "2026-06-01", "window": 63}, TODAY)["window"] == 63


def test_a_fixed_minimum_span_is_checked_in_its_unit():
    schema = InputSchema.model_validate({"fields": [
        {"name": "start", "type": "date"}, {"name": "end", "type": "date", "after": "start", "min_span": {"value": 2, "unit": "years"}}]})
    with pytest.raises(InputInvalid, match="the 2 years this model needs"):
        resolve_inputs(schema, {"start": "2025-01-01", "end": "2026-01-01"}, TODAY)
    assert resolve_inputs(schema, {"start": "2024-01-01", "end": "2026-01-01"}, TODAY)["end"] == "2026-01-01"


def test_the_daily_limit_sentence_names_the_way_out_that_exists():
    text = str(RateLimitExceeded("daily", 10, TODAY, "free"))
    assert "Admin page" in text and "administrator" in text
    assert "Upgrade" not in text and "upgrade" not in text
