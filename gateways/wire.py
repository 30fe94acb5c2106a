"""Cache entries as data, never as code: a JSON header and, for pandas values, an Arrow IPC stream.

Values cached in Redis are read back by every app instance. A pickled value would run code on
unpickling, so anyone able to write to Redis could run code in the app; JSON and Arrow carry data
only. The encoding covers exactly what gateways return: a ``pd.Series`` or ``pd.DataFrame`` (dtypes,
index and NaN kept exactly by Arrow), a flat ``dict`` of JSON values, and a list of dates.
"""

from __future__ import annotations

import json
import struct
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa

from contracts.data import Fetched, Provenance

MAGIC = b"AUS1"
_HEADER = struct.Struct(">4sI")


class UnreadableEntry(ValueError):
    """Bytes that are not an entry this version wrote."""


def _table_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=True)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _frame(blob: bytes) -> pd.DataFrame:
    with pa.ipc.open_stream(blob) as reader:
        return reader.read_all().to_pandas()


def encode(value: Fetched[Any], times: dict[str, float]) -> bytes:
    """``MAGIC``, header length, a JSON header (times, provenance, kind, plain values), then Arrow bytes."""
    payload = value.value
    header: dict[str, Any] = {"times": times, "provenance": value.provenance.to_json()}
    body = b""
    if isinstance(payload, pd.Series):
        header["kind"], header["name"] = "series", None if payload.name is None else str(payload.name)
        body = _table_bytes(payload.to_frame(name="__value__"))
    elif isinstance(payload, pd.DataFrame):
        header["kind"] = "frame"
        body = _table_bytes(payload)
    elif isinstance(payload, list) and all(isinstance(d, date) for d in payload):
        header["kind"], header["value"] = "dates", [d.isoformat() for d in payload]
    elif isinstance(payload, dict):
        header["kind"], header["value"] = "json", payload
    else:
        raise TypeError(f"cannot cache a {type(payload).__name__} in a shared cache")
    head = json.dumps(header, allow_nan=True, default=str).encode("utf-8")
    return _HEADER.pack(MAGIC, len(head)) + head + body


def decode(blob: bytes) -> tuple[Fetched[Any], dict[str, float]]:
    """The value and times ``encode`` stored; ``UnreadableEntry`` for anything else."""
    if len(blob) < _HEADER.size:
        raise UnreadableEntry("too short")
    magic, length = _HEADER.unpack_from(blob)
    if magic != MAGIC or _HEADER.size + length > len(blob):
        raise UnreadableEntry("not an entry of this version")
    try:
        header = json.loads(blob[_HEADER.size : _HEADER.size + length])
        body = blob[_HEADER.size + length :]
        kind = header["kind"]
        if kind == "series":
            value: Any = _frame(body)["__value__"].rename(header["name"])
        elif kind == "frame":
            value = _frame(body)
        elif kind == "dates":
            value = [date.fromisoformat(d) for d in header["value"]]
        elif kind == "json":
            value = dict(header["value"])
        else:
            raise UnreadableEntry(f"unknown kind {kind!r}")
        return Fetched(value, Provenance.from_json(header["provenance"])), dict(header["times"])
    except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
        raise UnreadableEntry(str(exc)) from exc
