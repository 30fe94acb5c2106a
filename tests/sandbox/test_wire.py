"""The wire format: values cross as plain JSON data in both directions, and decoding refuses anything else."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sandbox import wire


@pytest.fixture
def series() -> pd.Series:
    return pd.Series([1.5, np.nan, np.inf, -2.0], index=pd.date_range("2024-01-01", periods=4), name="x")


def roundtrip(value):
    return wire.decode(json.loads(json.dumps(wire.encode(value), allow_nan=False)))


def test_series_round_trip_turns_nan_and_inf_into_missing(series):
    back = roundtrip(series)
    assert back.index.equals(series.index) and back.name == "x"
    assert back.isna().tolist() == [False, True, True, False]


def test_intraday_timestamps_keep_their_time():
    series = pd.Series([1.0], index=pd.DatetimeIndex(["2024-01-02 15:30:00"]))
    assert wire.encode(series)["index"] == ["2024-01-02T15:30:00.000"]
    assert roundtrip(series).index[0] == pd.Timestamp("2024-01-02 15:30")


def test_frame_round_trip_keeps_types():
    frame = pd.DataFrame({"f": [1.0, None], "i": [1, 2], "b": [True, False], "s": ["a", None], "d": pd.to_datetime(["2024-01-01", None])})
    back = roundtrip(frame)
    assert back["i"].dtype == "int64" and back["b"].dtype == bool and back["s"].tolist() == ["a", None]
    assert back["d"].iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(back["d"].iloc[1])
    assert isinstance(back.index, pd.RangeIndex)


def test_scalar_and_record():
    assert roundtrip(np.float32(2.5)) == 2.5 and math.isnan(roundtrip(float("nan")))
    assert roundtrip({"a": 1, "b": "x", "c": None, "d": np.int64(3), "e": float("inf")}) == {"a": 1, "b": "x", "c": None, "d": 3, "e": None}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (pd.Series([1.0], index=[0]), "not dates"),
        (pd.Series(["a"], index=pd.date_range("2024-01-01", periods=1)), "holds numbers"),
        ({"nested": {"a": 1}}, "record holds numbers"),
        ({1: 2}, "keys are strings"),
        ([1, 2], "list"),
        (True, "boolean"),
        (object(), "object"),
    ],
)
def test_encoding_refuses_what_is_not_a_value(value, fragment):
    with pytest.raises(wire.WireError, match=fragment):
        wire.encode(value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"type": "pickle", "data": "gASV"}, "expected one of"),
        ({"type": "series", "index": ["2024-01-01"], "values": [1, 2]}, "1 dates but 2 values"),
        ({"type": "series", "index": ["tomorrow"], "values": [1]}, "ISO dates"),
        ({"type": "series", "index": ["2024-02-30"], "values": [1]}, "does not exist"),
        ({"type": "series", "index": ["2024-01-01"], "values": ["1"]}, "numbers or null"),
        ({"type": "series", "index": [], "values": [], "__class__": "os.system"}, "unknown fields"),
        ({"type": "record", "value": {"a": [1]}}, "not a number"),
        ({"type": "frame", "columns": {"a": [1, 2]}, "index": [0], "index_type": "labels"}, "one value per row"),
        ({"type": "frame", "columns": {"a": [{"x": 1}]}, "dtypes": {"a": "string"}}, "nested objects"),
        ({"type": "scalar", "value": "1"}, "without a number"),
        ([1], "not an object"),
    ],
)
def test_decoding_refuses_crafted_data(data, fragment):
    with pytest.raises(wire.WireError, match=fragment):
        wire.decode(data)


def test_the_codec_cannot_run_code():
    tree = ast.parse(Path(wire.__file__).read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not names & {"eval", "exec", "compile", "__import__", "getattr"}
    assert imported <= {"__future__", "math", "re", "collections", "typing", "numpy", "pandas"}
    assert wire.decode({"type": "record", "value": {"code": "__import__('os').system('id')"}}) == {"code": "__import__('os').system('id')"}
