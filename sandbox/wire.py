"""Values as data across the sandbox boundary: pandas objects <-> plain JSON, both directions, never pickles.

This module is used by the host *and* copied read-only into the Python sandbox, so it imports nothing
but the standard library, numpy and pandas. Shapes (``type`` tags):

* ``series``: ``{"type": "series", "name": str|null, "index": [ISO dates], "values": [number|null]}``
* ``frame``:  ``{"type": "frame", "index": [...], "index_type": "datetime"|"range"|"labels",
  "columns": {name: [values]}, "dtypes": {name: "float"|"int"|"bool"|"string"|"datetime"}}``
* ``scalar``: ``{"type": "scalar", "value": number|null}``
* ``record``: ``{"type": "record", "value": {name: number|string|bool|null}}``

NaN and infinities travel as ``null`` (JSON has neither). Decoding checks every field and raises
``WireError`` with a sentence; it never evaluates, imports or unpickles anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("series", "frame", "scalar", "record")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$")
_MAX_NAME = 200


class WireError(ValueError):
    """A value that cannot cross the boundary; the message is a sentence naming what is wrong."""


# ---------------------------------------------------------------------------------------------- encode


def _numbers(values: Any) -> list[float | None]:
    array = np.asarray(values, dtype="float64")
    out = array.astype(object)
    out[~np.isfinite(array)] = None
    return out.tolist()


def _dates(index: pd.DatetimeIndex) -> list[str]:
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    values = index.values.astype("datetime64[ns]")
    if len(index) and bool((index == index.normalize()).all()):
        return np.datetime_as_string(values, unit="D").tolist()
    return np.datetime_as_string(values, unit="ms").tolist()


def _scalar(value: Any, where: str) -> float | int | str | bool | None:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        number = int(value)
        return number if abs(number) < 2**53 else float(number)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat()
    raise WireError(f"{where} is a {type(value).__name__}; a record holds numbers, strings, booleans or None.")


def _column(series: pd.Series, name: str) -> tuple[list[Any], str]:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return [bool(v) for v in series.tolist()], "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return [int(v) for v in series.tolist()], "int"
    if pd.api.types.is_float_dtype(dtype):
        return _numbers(series.to_numpy()), "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.DatetimeIndex(series)
        text = _dates(stamps)
        return [None if missing else value for value, missing in zip(text, stamps.isna(), strict=True)], "datetime"
    values = []
    for value in series.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values.append(None)
        elif isinstance(value, str):
            values.append(value)
        else:
            raise WireError(f"Column {name!r} holds a {type(value).__name__}; frame columns hold numbers, strings, booleans or dates.")
    return values, "string"


def encode(value: Any, where: str = "the value") -> dict[str, Any]:
    """Turn a series, frame, scalar or record into its JSON shape, or raise ``WireError``."""
    if isinstance(value, pd.Series):
        if not isinstance(value.index, pd.DatetimeIndex):
            raise WireError(f"{where} is a series whose index is not dates; a series must be indexed by dates.")
        if not (pd.api.types.is_numeric_dtype(value.dtype) and not pd.api.types.is_bool_dtype(value.dtype)):
            raise WireError(f"{where} is a series of {value.dtype}; a series holds numbers.")
        name = value.name if isinstance(value.name, str) else (None if value.name is None else str(value.name))
        return {"type": "series", "name": name, "index": _dates(value.index), "values": _numbers(value.to_numpy())}
    if isinstance(value, pd.DataFrame):
        if isinstance(value.index, pd.DatetimeIndex):
            index, index_type = _dates(value.index), "datetime"
        elif isinstance(value.index, pd.RangeIndex) and value.index.start == 0 and value.index.step == 1:
            index, index_type = list(range(len(value.index))), "range"
        else:
            index, index_type = [_scalar(v, f"an index label of {where}") for v in value.index.tolist()], "labels"
        columns: dict[str, list[Any]] = {}
        dtypes: dict[str, str] = {}
        for label in value.columns:
            name = str(label)
            if name in columns:
                raise WireError(f"{where} has two columns named {name!r}.")
            columns[name], dtypes[name] = _column(value[label], name)
        return {"type": "frame", "index": index, "index_type": index_type, "columns": columns, "dtypes": dtypes}
    if isinstance(value, Mapping):
        record = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError(f"{where} is a record with a key of type {type(key).__name__}; record keys are strings.")
            record[key] = _scalar(item, f"field {key!r} of {where}")
        return {"type": "record", "value": record}
    if isinstance(value, bool | np.bool_):
        raise WireError(f"{where} is a boolean; return a number, a series, a frame or a record.")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return {"type": "scalar", "value": number if math.isfinite(number) else None}
    raise WireError(f"{where} is a {type(value).__name__}; return a series, a frame, a number or a record (a flat dict).")


# ---------------------------------------------------------------------------------------------- decode


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise WireError(message)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _parse_dates(values: Any, where: str) -> pd.DatetimeIndex:
    _need(isinstance(values, list), f"The index of {where} is not a list.")
    _need(all(isinstance(v, str) and _ISO_DATE.match(v) for v in values), f"The index of {where} holds something other than ISO dates (YYYY-MM-DD).")
    try:
        return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"))
    except (ValueError, OverflowError) as exc:
        raise WireError(f"The index of {where} holds a date that does not exist ({exc}).") from None


def _float_array(values: Any, where: str) -> np.ndarray:
    _need(isinstance(values, list), f"The values of {where} are not a list.")
    _need(all(_is_number(v) for v in values), f"The values of {where} hold something other than numbers or null.")
    try:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    except OverflowError:
        raise WireError(f"The values of {where} hold a number too large for a float.") from None


def _decode_column(values: Any, dtype: Any, name: str, length: int) -> Any:
    _need(isinstance(values, list) and len(values) == length, f"Column {name!r} does not have one value per row.")
    if dtype is None:
        if all(_is_number(v) for v in values):
            dtype = "float"
        elif all(isinstance(v, bool) for v in values):
            dtype = "bool"
        else:
            dtype = "string"
    if dtype == "float":
        return _float_array(values, f"column {name!r}")
    if dtype == "int":
        _need(all(isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63 for v in values), f"Column {name!r} is declared int but holds other values.")
        return np.array(values, dtype="int64")
    if dtype == "bool":
        _need(all(isinstance(v, bool) for v in values), f"Column {name!r} is declared bool but holds other values.")
        return np.array(values, dtype=bool)
    if dtype == "datetime":
        _need(all(v is None or (isinstance(v, str) and _ISO_DATE.match(v)) for v in values), f"Column {name!r} is declared datetime but holds other values.")
        return pd.to_datetime(values, format="ISO8601")
    if dtype == "string":
        _need(all(v is None or isinstance(v, str | int | float | bool) for v in values), f"Column {name!r} holds nested objects.")
        return np.array(values, dtype=object)
    raise WireError(f"Column {name!r} has an unknown type {dtype!r}.")


def _decode_label(value: Any) -> Any:
    _need(value is None or isinstance(value, str | int | float | bool), "A frame's index holds nested objects.")
    return value


def decode(data: Any, where: str = "the value") -> Any:
    """Turn a JSON shape back into a pandas series or frame, a float or a dict, or raise ``WireError``."""
    _need(isinstance(data, dict), f"{where} is not an object with a 'type'.")
    kind = data.get("type")
    _need(kind in KINDS, f"{where} has type {str(kind)[:40]!r}; expected one of {', '.join(KINDS)}.")
    if kind == "scalar":
        _need(set(data) <= {"type", "value"} and _is_number(data.get("value")), f"{where} is a scalar without a number.")
        value = data.get("value")
        return math.nan if value is None else float(value)
    if kind == "record":
        record = data.get("value")
        _need(isinstance(record, dict), f"{where} is a record without a mapping.")
        for key, item in record.items():
            _need(len(key) <= _MAX_NAME, f"{where} has a field name longer than {_MAX_NAME} characters.")
            _need(item is None or isinstance(item, str | int | float | bool), f"Field {key[:40]!r} of {where} is not a number, string, boolean or null.")
        return dict(record)
    if kind == "series":
        _need(set(data) <= {"type", "name", "index", "values"}, f"{where} is a series with unknown fields.")
        name = data.get("name")
        _need(name is None or (isinstance(name, str) and len(name) <= _MAX_NAME), f"{where} has a name that is not a short string.")
        index = _parse_dates(data.get("index"), where)
        values = _float_array(data.get("values"), where)
        _need(len(index) == len(values), f"{where} has {len(index)} dates but {len(values)} values.")
        return pd.Series(values, index=index, name=name)
    _need(set(data) <= {"type", "index", "index_type", "columns", "dtypes"}, f"{where} is a frame with unknown fields.")
    columns = data.get("columns")
    _need(isinstance(columns, dict), f"{where} is a frame without a 'columns' mapping.")
    dtypes = data.get("dtypes") or {}
    _need(isinstance(dtypes, dict), f"{where} has 'dtypes' that is not a mapping.")
    raw_index = data.get("index")
    index_type = data.get("index_type") or ("range" if raw_index is None else "labels")
    if index_type == "range":
        length = len(next(iter(columns.values()), [])) if raw_index is None else len(raw_index) if isinstance(raw_index, list) else -1
        _need(length >= 0, f"The index of {where} is not a list.")
        index: pd.Index = pd.RangeIndex(length)
    elif index_type == "datetime":
        index = _parse_dates(raw_index, where)
    elif index_type == "labels":
        _need(isinstance(raw_index, list), f"The index of {where} is not a list.")
        index = pd.Index([_decode_label(v) for v in raw_index])
    else:
        raise WireError(f"{where} has an unknown index type {str(index_type)[:40]!r}.")
    decoded = {}
    for name, values in columns.items():
        _need(len(name) <= _MAX_NAME, f"{where} has a column name longer than {_MAX_NAME} characters.")
        decoded[name] = _decode_column(values, dtypes.get(name), name, len(index))
    return pd.DataFrame(decoded, index=index)


def encode_inputs(inputs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Encode every named input; names must be strings."""
    encoded = {}
    for name, value in inputs.items():
        if not isinstance(name, str):
            raise WireError(f"Input names must be strings, not {type(name).__name__}.")
        encoded[name] = encode(value, f"input {name!r}")
    return encoded


def decode_inputs(data: Any) -> dict[str, Any]:
    """Decode a mapping of named inputs."""
    _need(isinstance(data, dict), "The inputs are not a mapping of names to values.")
    return {name: decode(value, f"input {name!r}") for name, value in data.items()}
