"""A local FRED + Polygon/Massive server on 127.0.0.1 that answers in each API's real format.

The answers are built from the real bundled data in ``gateways/sample_data`` (read here straight from
the CSV files, independently of the sample gateway): FRED's XML (``/fred/series/observations``,
``/fred/series``, ``/fred/series/search``; ``.`` for a missing value) and Polygon's JSON with
``next_url`` pagination (``/v2/aggs/ticker/...``, ``/v2/last/trade/...``, ``/v3/reference/options/
contracts``, ``/v3/snapshot/options/...``). Failure modes are switched on per path prefix with
``fail(prefix, mode)``: ``403``, ``404``, ``429`` (with ``Retry-After``), ``500``, ``503``, ``slow``,
``malformed``. ``closed_port_url()`` gives an address where nothing listens (connection refused).

Every request is recorded (path, query, headers) so tests can count upstream calls and check that
keys travel only where each API expects them.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import quoteattr

import pandas as pd

from gateways.transforms import apply_fred_transforms

DATA = Path(__file__).resolve().parents[2] / "gateways" / "sample_data"
FRED_KEY = "fredkey0123456789abcdef0123456789"  # 32 lower-case characters, like a real FRED key
POLYGON_KEY = "PolyKEY_z9y8x7w6v5u4t3s2r1q0"
NEW_YORK = "America/New_York"

FRED_META = {
    "DGS10": ("Market Yield on U.S. Treasury Securities at 10-Year Constant Maturity", "Percent", "Daily", "D"),
    "DGS2": ("Market Yield on U.S. Treasury Securities at 2-Year Constant Maturity", "Percent", "Daily", "D"),
    "T10Y2Y": ("10-Year Treasury Constant Maturity Minus 2-Year Treasury Constant Maturity", "Percent", "Daily", "D"),
    "UNRATE": ("Unemployment Rate", "Percent", "Monthly", "M"),
    "CPIAUCSL": ("Consumer Price Index for All Urban Consumers: All Items in U.S. City Average", "Index 1982-1984=100", "Monthly", "M"),
    "SP500": ("S&P 500", "Index", "Daily, Close", "D"),
}
BAR_FILES = {"SPY": "equities/daily_split_adjusted/SPY.csv.gz", "AAPL": "equities/daily_split_adjusted/AAPL.csv.gz"}
CHAIN_FILES = {"SPY": "options/SPY_chain_2026-05-01_yahoo.csv.gz", "MSFT": "options/MSFT_chain_2026-07-28_ibkr_greeks_with_oi.csv.gz"}
SPOT = {"SPY": 720.65, "MSFT": 394.21}
CHAIN_AS_OF = {"SPY": "2026-05-01T16:00:00-04:00", "MSFT": "2026-07-28T10:10:00-04:00"}


# ----------------------------------------------------------------------------------------------
# The recorded data, read from the bundled files
# ----------------------------------------------------------------------------------------------


@cache
def fred_raw(series_id: str) -> pd.Series:
    """The file as FRED publishes it: blank values stay (FRED sends them as '.')."""
    raw = pd.read_csv(DATA / "fred" / f"{series_id}.csv.gz")
    return pd.Series(pd.to_numeric(raw.iloc[:, 1], errors="coerce").to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(raw.iloc[:, 0])))


@cache
def bars_raw(symbol: str) -> pd.DataFrame:
    raw = pd.read_csv(DATA / BAR_FILES[symbol])
    return raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw["date"])))


@cache
def chain_raw(symbol: str) -> pd.DataFrame:
    return pd.read_csv(DATA / CHAIN_FILES[symbol])


def _ms_midnight_new_york(day: pd.Timestamp) -> int:
    return int(pd.Timestamp(day.date()).tz_localize(NEW_YORK).timestamp() * 1000)


def _ns(iso: str) -> int:
    return int(pd.Timestamp(iso).value)


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """Drop missing fields, as Polygon omits what it does not have."""
    return {k: v for k, v in record.items() if v is not None and not (isinstance(v, float) and v != v)}


@cache
def snapshot_records(symbol: str) -> list[dict[str, Any]]:
    """The bundled chain as Polygon ``/v3/snapshot/options`` results."""
    raw = chain_raw(symbol)
    stamp = _ns(CHAIN_AS_OF[symbol])
    out = []
    for row in raw.to_dict("records"):
        ibkr = "right" in row
        expiry = str(int(row["expiration"])) if ibkr else row["expiry"]
        expiry = f"{expiry[:4]}-{expiry[4:6]}-{expiry[6:]}" if ibkr else expiry
        kind = {"C": "call", "P": "put"}[row["right"]] if ibkr else row["option_type"]
        bid, ask = row["bid"], row["ask"]
        quoted = bid == bid and ask == ask and ask > 0 and bid >= 0 and ask >= bid
        last = row["last"] if ibkr else row["lastPrice"]
        iv = row["iv"] if ibkr else row["impliedVolatility"]
        if not ibkr and iv == iv and iv < 0.01:
            iv = None  # Polygon leaves IV out where it cannot solve it; Yahoo sends a placeholder
        record: dict[str, Any] = {
            "details": {"contract_type": kind, "exercise_style": "american", "expiration_date": expiry, "shares_per_contract": 100,
                        "strike_price": float(row["strike"]), "ticker": f"O:{symbol}{expiry[2:4]}{expiry[5:7]}{expiry[8:]}{kind[0].upper()}{int(row['strike'] * 1000):08d}"},
            "day": _clean({"close": last, "volume": row["volume_x"] if ibkr else row["volume"], "last_updated": stamp}),
            "open_interest": row["openInterest"],
            "implied_volatility": iv,
            "underlying_asset": {"ticker": symbol, "price": SPOT[symbol], "last_updated": stamp, "timeframe": "DELAYED"},
        }
        if quoted:
            record["last_quote"] = {"bid": bid, "ask": ask, "midpoint": (bid + ask) / 2, "last_updated": stamp, "timeframe": "DELAYED"}
        if last == last:
            record["last_trade"] = {"price": last, "size": 1, "sip_timestamp": stamp, "timeframe": "DELAYED"}
        if ibkr:
            record["greeks"] = _clean({g: row[g] for g in ("delta", "gamma", "theta", "vega")})
        out.append(_clean(record))
    return out


# ----------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------


@dataclass
class Failure:
    mode: str
    times: int | None  # None: every request
    retry_after: int = 1
    delay: float = 2.0


class ReplayServer:
    """Start with ``with ReplayServer() as server:``; ``server.url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, page_size: int = 250, bars_page_size: int = 1000):
        self.page_size, self.bars_page_size = page_size, bars_page_size
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.counts: Counter[str] = Counter()
        self.failures: dict[str, Failure] = {}
        self.delay: float = 0.0  # added to every answer (coalescing tests keep the upstream busy)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        for sym in BAR_FILES:  # build the recorded answers before the first (time-limited) request
            _all_aggs(sym)
        for sym in CHAIN_FILES:
            snapshot_records(sym)
        for sid in FRED_META:
            fred_raw(sid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, prefix: str, mode: str, times: int | None = None, retry_after: int = 1, delay: float = 2.0) -> None:
        """Answer requests whose path starts with ``prefix`` with failure ``mode`` (``times`` times)."""
        self.failures[prefix] = Failure(mode, times, retry_after, delay)

    def heal(self) -> None:
        self.failures.clear()

    def hits(self, prefix: str) -> int:
        with self._lock:
            return sum(n for path, n in self.counts.items() if path.startswith(prefix))

    def _record(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Failure | None:
        with self._lock:
            self.requests.append((path, query, headers))
            self.counts[path] += 1
            for prefix, failure in self.failures.items():
                if path.startswith(prefix):
                    if failure.times is not None:
                        if failure.times <= 0:
                            continue
                        failure.times -= 1
                    return failure
        return None


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = parse_qs(parsed.query)
            failure = server._record(parsed.path, query, dict(self.headers.items()))
            if server.delay:
                time.sleep(server.delay)
            is_fred = parsed.path.startswith("/fred")
            if failure is not None:
                return self._fail(failure, is_fred)
            try:
                if is_fred:
                    status, body = _fred(parsed.path, query)
                    return self._send(status, body, "text/xml; charset=UTF-8")
                status, payload = _polygon(server, parsed.path, query, dict(self.headers.items()))
                return self._send(status, json.dumps(payload).encode(), "application/json")
            except Exception as exc:  # a bug in the replay: show it as a 500
                return self._send(500, f"replay error {exc!r}".encode(), "text/plain")

        def _fail(self, failure: Failure, is_fred: bool) -> None:
            mode = failure.mode
            if mode == "slow":
                time.sleep(failure.delay)
                return self._send(200, b"<observations count='0'/>" if is_fred else b'{"status":"OK","results":[]}', "text/plain")
            if mode == "malformed":
                return self._send(200, b"<observations><observation date=" if is_fred else b'{"status": "OK", "results": [{"o": 1', "text/plain")
            status = int(mode)
            headers = {"Retry-After": str(failure.retry_after)} if status in (429, 503) else {}
            if is_fred:
                message = {403: "Forbidden.", 404: "Not Found.", 429: "Too Many Requests.  Exceeded Rate Limit",
                           500: "Internal Server Error.", 503: "Service Unavailable."}[status]
                body = f'<?xml version="1.0" encoding="utf-8" ?>\n<error code="{status}" message={quoteattr(message)}/>'.encode()
                return self._send(status, body, "text/xml; charset=UTF-8", headers)
            status_word = {403: "NOT_AUTHORIZED", 404: "NOT_FOUND", 429: "ERROR", 500: "ERROR", 503: "ERROR"}[status]
            message = {403: "You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing",
                       404: "The requested resource was not found.", 429: "You've exceeded the maximum requests per minute.",
                       500: "Internal server error", 503: "Service unavailable"}[status]
            body = json.dumps({"status": status_word, "request_id": "replay", "message": message}).encode()
            return self._send(status, body, "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            gz = "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024
            if gz:
                body = gzip.compress(body, 1)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if gz:
                self.send_header("Content-Encoding", "gzip")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    return Handler


# ----------------------------------------------------------------------------------------------
# FRED (XML)
# ----------------------------------------------------------------------------------------------


def _fred_error(status: int, message: str) -> tuple[int, bytes]:
    return status, f'<?xml version="1.0" encoding="utf-8" ?>\n<error code="{status}" message={quoteattr(message)}/>'.encode()


def _series_xml(sid: str, raw: pd.Series) -> str:
    title, units, frequency, short = FRED_META[sid]
    return (f"<series id={quoteattr(sid)} realtime_start=\"2026-08-21\" realtime_end=\"2026-08-21\" title={quoteattr(title)} "
            f"observation_start=\"{raw.index[0].date()}\" observation_end=\"{raw.index[-1].date()}\" frequency={quoteattr(frequency)} "
            f"frequency_short=\"{short}\" units={quoteattr(units)} units_short={quoteattr(units[:4])} seasonal_adjustment=\"Not Seasonally Adjusted\" "
            f"seasonal_adjustment_short=\"NSA\" last_updated=\"2026-08-21 15:16:02-05\" popularity=\"90\" notes=\"Replayed from the bundled data.\"/>")


def _fred(path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
    q = {k: v[0] for k, v in query.items()}
    if q.get("api_key") != FRED_KEY:
        return _fred_error(400, "Bad Request.  The value for variable api_key is not registered.  Read https://fred.stlouisfed.org/docs/api/api_key.html for more information.")
    if path == "/fred/series/search":
        text = q.get("search_text", "").lower()
        rows = [sid for sid, meta in FRED_META.items() if text in sid.lower() or text in meta[0].lower()]
        items = "".join(_series_xml(sid, fred_raw(sid)) for sid in rows)
        return 200, f'<?xml version="1.0" encoding="utf-8" ?>\n<seriess realtime_start="2026-08-21" realtime_end="2026-08-21" order_by="search_rank" sort_order="desc" count="{len(rows)}" offset="0" limit="1000">{items}</seriess>'.encode()
    sid = q.get("series_id", "")
    if sid not in FRED_META:
        return _fred_error(400, "Bad Request.  The series does not exist.")
    raw = fred_raw(sid)
    if path == "/fred/series":
        return 200, f'<?xml version="1.0" encoding="utf-8" ?>\n<seriess realtime_start="2026-08-21" realtime_end="2026-08-21">{_series_xml(sid, raw)}</seriess>'.encode()
    if path != "/fred/series/observations":
        return _fred_error(404, "Not Found.")
    units = q.get("units", "lin")
    values = raw
    if q.get("frequency") or units != "lin":
        values = apply_fred_transforms(raw.dropna(), FRED_META[sid][2], units, q.get("frequency"), q.get("aggregation_method"))
    lo, hi = q.get("observation_start"), q.get("observation_end")
    values = values.loc[pd.Timestamp(lo) if lo else None: pd.Timestamp(hi) if hi else None]
    obs = "".join(
        f'<observation realtime_start="2026-08-21" realtime_end="2026-08-21" date="{day.date()}" value="{"." if v != v else repr(float(v))}"/>'
        for day, v in values.items()
    )
    head = (f'<observations realtime_start="2026-08-21" realtime_end="2026-08-21" observation_start="{lo or "1776-07-04"}" '
            f'observation_end="{hi or "9999-12-31"}" units="{units}" output_type="1" file_type="xml" order_by="observation_date" '
            f'sort_order="asc" count="{len(values)}" offset="0" limit="100000">')
    return 200, f'<?xml version="1.0" encoding="utf-8" ?>\n{head}{obs}</observations>'.encode()


# ----------------------------------------------------------------------------------------------
# Polygon / Massive (JSON, next_url pagination)
# ----------------------------------------------------------------------------------------------


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _uncursor(query: dict[str, list[str]]) -> dict[str, Any] | None:
    return json.loads(base64.urlsafe_b64decode(query["cursor"][0])) if "cursor" in query else None


def _page(server: ReplayServer, path: str, items: list[dict[str, Any]], offset: int, size: int, state: dict[str, Any]) -> dict[str, Any]:
    page = items[offset: offset + size]
    payload: dict[str, Any] = {"status": "OK", "request_id": "replay", "results": page}
    if offset + size < len(items):
        payload["next_url"] = f"{server.url}{path}?cursor={_cursor({**state, 'offset': offset + size})}"
    return payload


@cache
def _all_aggs(sym: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    frame = bars_raw(sym)
    stamps = [_ms_midnight_new_york(day) for day in frame.index]
    records = frame.rename(columns={"volume": "v", "wap": "vw", "open": "o", "close": "c", "high": "h", "low": "l", "count": "n"})
    rows = records[["v", "vw", "o", "c", "h", "l", "n"]].to_dict("records")
    return tuple((day.date().isoformat(), _clean({**row, "t": t})) for day, row, t in zip(frame.index, rows, stamps, strict=True))


def _agg_records(sym: str, lo: str, hi: str) -> list[dict[str, Any]]:
    return [record for day, record in _all_aggs(sym) if lo <= day <= hi]


def _polygon(server: ReplayServer, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    if headers.get("Authorization") != f"Bearer {POLYGON_KEY}":
        return 401, {"status": "ERROR", "request_id": "replay", "error": "Unknown API Key"}
    q = {k: v[0] for k, v in query.items()}
    cursor = _uncursor(query)
    parts = path.strip("/").split("/")
    if parts[:3] == ["v2", "aggs", "ticker"] and len(parts) == 5 and parts[4] == "prev":
        sym = parts[3]
        if sym not in BAR_FILES:
            return 200, {"ticker": sym, "queryCount": 0, "resultsCount": 0, "adjusted": True, "status": "OK", "request_id": "replay"}
        day, row = bars_raw(sym).index[-1], bars_raw(sym).iloc[-1]
        result = {"T": sym, "o": row["open"], "h": row["high"], "l": row["low"], "c": row["close"], "v": row["volume"], "t": _ms_midnight_new_york(day)}
        return 200, {"ticker": sym, "queryCount": 1, "resultsCount": 1, "adjusted": True, "results": [result], "status": "OK", "request_id": "replay"}
    if parts[:3] == ["v2", "aggs", "ticker"] and len(parts) == 9:
        sym, lo, hi = parts[3], parts[7], parts[8]
        state = cursor or {"lo": lo, "hi": hi, "offset": 0}
        if sym not in BAR_FILES:
            return 200, {"ticker": sym, "queryCount": 0, "resultsCount": 0, "adjusted": True, "status": "OK", "request_id": "replay"}
        items = _agg_records(sym, state["lo"], state["hi"])
        payload = _page(server, path, items, state["offset"], server.bars_page_size, state)
        payload.update({"ticker": sym, "adjusted": True, "queryCount": len(payload["results"]), "resultsCount": len(payload["results"])})
        return 200, payload
    if parts[:3] == ["v2", "last", "trade"]:
        sym = parts[3]
        if sym not in BAR_FILES:
            return 404, {"status": "NOT_FOUND", "request_id": "replay", "message": "Data not found."}
        day, row = bars_raw(sym).index[-1], bars_raw(sym).iloc[-1]
        stamp = int(pd.Timestamp(f"{day.date()} 15:59:59").tz_localize(NEW_YORK).value)
        return 200, {"status": "OK", "request_id": "replay", "results": {"T": sym, "p": row["close"], "s": 100, "t": stamp, "x": 4, "q": 1}}
    if path == "/v3/reference/options/contracts":
        state = cursor or {"underlying": q.get("underlying_ticker", ""), "offset": 0, "limit": int(q.get("limit", 10))}
        sym = state["underlying"]
        items = []
        if sym in CHAIN_FILES:
            for rec in snapshot_records(sym):
                d = rec["details"]
                items.append({"cfi": "OCASPS", "contract_type": d["contract_type"], "exercise_style": "american", "expiration_date": d["expiration_date"],
                              "primary_exchange": "BATO", "shares_per_contract": 100, "strike_price": d["strike_price"], "ticker": d["ticker"], "underlying_ticker": sym})
            items.sort(key=lambda i: (i["expiration_date"], i["strike_price"]))
        return 200, _page(server, path, items, state["offset"], min(state["limit"], 1000), state)
    if parts[:3] == ["v3", "snapshot", "options"] and len(parts) == 4:
        sym = parts[3]
        state = cursor or {"expiration": q.get("expiration_date"), "offset": 0, "limit": int(q.get("limit", 10))}
        if sym not in CHAIN_FILES:
            return 200, {"status": "OK", "request_id": "replay", "results": []}
        items = [r for r in snapshot_records(sym) if not state["expiration"] or r["details"]["expiration_date"] == state["expiration"]]
        return 200, _page(server, path, items, state["offset"], min(state["limit"], server.page_size), state)
    return 404, {"status": "NOT_FOUND", "request_id": "replay", "message": "The requested resource was not found."}
