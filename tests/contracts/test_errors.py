"""One error taxonomy: every class has its own stable code, and every message is a sentence."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.errors import (
    AusterError,
    DataError,
    DataNotFound,
    EngineError,
    InputInvalid,
    NotFoundError,
    Problem,
    RateLimitExceeded,
    ServiceError,
    StepFailed,
    UpstreamRateLimited,
    error_classes,
    format_path,
)


def test_no_two_error_classes_share_a_code() -> None:
    """Regression (issue 8): E_NOT_FOUND meant both a missing model and a missing FRED series, and
    E_INPUT both a bad run input and a bad form field."""
    codes = [cls.code for cls in error_classes()]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    assert DataNotFound.code != NotFoundError.code
    assert UpstreamRateLimited.code != RateLimitExceeded.code


def test_every_family_derives_from_one_base() -> None:
    for family in (EngineError, DataError, ServiceError, InputInvalid):
        assert issubclass(family, AusterError)
    assert len(error_classes()) >= 20


def test_messages_are_sentences_with_their_details() -> None:
    assert str(InputInvalid({"start": "Start: 'soon' is not a date."})) == "Start: 'soon' is not a date."
    assert str(StepFailed("z", "zscore", "too short.")) == "Step 'z' (zscore) failed: too short."
    daily = RateLimitExceeded("daily", 10, datetime(2026, 1, 2, tzinfo=UTC))
    assert str(daily).startswith("You have used your 10 free runs today")


def test_problem_paths_are_tuples_formatted_only_for_display() -> None:
    problem = Problem("E_PARAM", ("steps", 2, "params", "window"), "must be at least 2", "window length")
    assert problem.where == ("steps", 2, "params", "window")
    assert problem.path == "$.steps[2].params.window" == format_path(problem.where)
    assert str(problem) == "E_PARAM at $.steps[2].params.window: must be at least 2 (window length)"
    assert problem.to_json()["where"] == ["steps", 2, "params", "window"]
    assert format_path(()) == "$"
