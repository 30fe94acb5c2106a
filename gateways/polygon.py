"""The ``polygon`` provider: daily bars, quotes and option chains from Polygon (now Massive).

Uses polygon-api-client's ``RESTClient`` as published, with three fixes applied to the instance:
its urllib3 pool gets a real timeout (the client builds one and never passes it), the retry policy is
explicit (the client retries 429 and 5xx; we keep that, with a configurable back-off, and remember the
last ``Retry-After``), and JSON that cannot be decoded raises instead of silently becoming "no data".
Pagination is bounded by a maximum number of records per call.

Query, extract, transform: arguments become typed parameters, the client's iterators do the I/O, and
``_transform_*`` map Polygon's records onto ``BAR_COLUMNS`` and ``CHAIN_COLUMNS``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import certifi
import pandas as pd
import urllib3
from polygon import RESTClient
from polygon.exceptions import BadResponse
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from contracts.data import BAR_COLUMNS, CHAIN_COLUMNS, DAILY_BARS, OPTIONS_CHAIN, Fetched, Provenance
from contracts.errors import BadRequest, DataError, DataNotFound, NoData, NotEntitled, UpstreamRateLimited, UpstreamUnavailable
from gateways.cache import note_upstream
from gateways.conform import conform

PROVIDER = "polygon"
VENDOR = "Polygon/Massive"
DEFAULT_BASE_URL = "https://api.polygon.io"
NEW_YORK = "America/New_York"
RETRY_STATUSES = (413, 429, 499, 500, 502, 503, 504)  # the client's own list
log = logging.getLogger(__name__)


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and any ``apiKey=``/``Bearer`` value replaced."""
    if secret:
        text = text.replace(secret, "REDACTED")
    text = re.sub(r"(?i)(api_?key=)[^&\s'\"]+", r"\1REDACTED", text)
    return re.sub(r"(?i)(bearer\s+)\S+", r"\1REDACTED", text)


class MalformedBody(Exception):
    """Polygon sent a body that is not JSON (deliberately not a ``ValueError``: the client swallows those)."""


class _StrictJson:
    """A ``json`` stand-in for the client's ``custom_json`` that raises ``MalformedBody`` on bad input."""

    @staticmethod
    def loads(text: str | bytes) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise MalformedBody("the body is not JSON") from None


class _RetryRememberingWait(Retry):
    """urllib3's ``Retry`` that attaches the last ``Retry-After`` and status to ``MaxRetryError``, and reports each
    rate limit it retries to the cache's events (the one it gives up on becomes the fetch's failure)."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[override]
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exc:
            exc.retry_after = response.headers.get("Retry-After") if response is not None else None  # type: ignore[attr-defined]
            exc.status = response.status if response is not None else None  # type: ignore[attr-defined]
            raise
        if response is not None and response.status == 429:
            note_upstream("rate_limited", UpstreamRateLimited.code)
        return retry


def _ns_to_iso(ns: float | None) -> str | None:
    if not ns:
        return None
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").tz_convert(NEW_YORK).isoformat()


def _now_new_york() -> str:
    """The current time in New York, where US options trade and expire.

    The engine reads the date of an as-of time to choose the nearest expiration and to count days to
    expiry; in UTC, an evening in New York is already the next day, which skipped the next expiration.
    """
    return pd.Timestamp.now(tz=NEW_YORK).isoformat(timespec="seconds")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


# ----------------------------------------------------------------------------------------------
# Transform
# ----------------------------------------------------------------------------------------------


def _transform_bars(aggs: Iterable[Any]) -> pd.DataFrame:
    """Polygon daily aggregates (timestamp = midnight New York, in ms) as standard bars."""
    rows = [(a.timestamp, a.open, a.high, a.low, a.close, a.volume) for a in aggs if a.timestamp is not None]
    frame = pd.DataFrame(rows, columns=["t", *BAR_COLUMNS])
    stamps = pd.to_datetime(frame["t"].astype("int64"), unit="ms", utc=True).dt.tz_convert(NEW_YORK)
    index = pd.DatetimeIndex(stamps.dt.tz_localize(None).dt.normalize(), name="date")
    bars = conform(frame.set_index(index), DAILY_BARS, PROVIDER)
    return bars[~bars.index.duplicated(keep="last")].sort_index()


def _transform_chain(symbol: str, snapshots: Iterable[Any], fetched_at: str) -> tuple[pd.DataFrame, str]:
    """Option contract snapshots as ``CHAIN_COLUMNS``; returns the frame and the snapshot's as-of time."""
    rows, stamps = [], []
    for s in snapshots:
        d, day, q, t, g, u = s.details, s.day, s.last_quote, s.last_trade, s.greeks, s.underlying_asset
        if d is None or d.expiration_date is None or d.strike_price is None:
            continue
        bid = _num(q.bid) if q else math.nan
        ask = _num(q.ask) if q else math.nan
        mid = _num(q.midpoint) if q else math.nan
        if math.isnan(mid) and ask > 0 and bid >= 0 and ask >= bid:
            mid = (bid + ask) / 2
        close = _num(day.close) if day else math.nan
        if math.isnan(mid):
            mid = close  # no quote: the day's close stands in for the mid
        last = _num(t.price) if t else math.nan
        rows.append({
            "underlying": symbol,
            "expiration": pd.Timestamp(d.expiration_date),
            "type": (d.contract_type or "").lower(),
            "strike": _num(d.strike_price),
            "bid": bid, "ask": ask, "mid": mid,
            "last": close if math.isnan(last) else last,
            "volume": _num(day.volume) if day else math.nan,
            "open_interest": _num(s.open_interest),
            "iv": _num(s.implied_volatility),
            "delta": _num(g.delta) if g else math.nan,
            "gamma": _num(g.gamma) if g else math.nan,
            "theta": _num(g.theta) if g else math.nan,
            "vega": _num(g.vega) if g else math.nan,
            "underlying_price": _num(u.price) if u else math.nan,
        })
        stamps += [x for x in ((q.last_updated if q else None), (day.last_updated if day else None)) if x]
    as_of = _ns_to_iso(max(stamps)) if stamps else fetched_at
    frame = pd.DataFrame(rows, columns=[c for c in CHAIN_COLUMNS if c != "as_of"])
    frame["as_of"] = as_of
    return conform(frame, OPTIONS_CHAIN, PROVIDER), as_of


class PolygonGateway:
    """Market and derivatives data from Polygon/Massive (``MarketGateway`` and ``DerivativesGateway``)."""

    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_factor: float = 0.1,
        respect_retry_after: bool = True,
        max_bars: int = 20_000,
        max_contracts: int = 20_000,
        page_size: int = 250,
    ):
        if not api_key:
            raise NotEntitled("Polygon/Massive needs an API key; set MASSIVE_API_KEY (or POLYGON_API_KEY).")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.cache_scope = f"{PROVIDER}@{self.base_url}"
        self.timeout = timeout
        self.max_bars, self.max_contracts, self.page_size = max_bars, max_contracts, page_size
        self._key = api_key
        self._last_trade_entitled = True  # flips to False after one NOT_AUTHORIZED; the plan is per key
        self._client = RESTClient(
            api_key=api_key, base=self.base_url, connect_timeout=timeout, read_timeout=timeout,
            retries=retries, custom_json=_StrictJson,
        )
        # The client builds ``self.timeout`` but never hands it to its pool: rebuild the pool with it.
        self._client.client = urllib3.PoolManager(
            num_pools=10,
            headers=self._client.headers,
            ca_certs=certifi.where(),
            cert_reqs="CERT_REQUIRED",
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=_RetryRememberingWait(
                total=retries, status_forcelist=RETRY_STATUSES, backoff_factor=backoff_factor,
                respect_retry_after_header=respect_retry_after, allowed_methods=["GET"],
            ),
        )

    def __repr__(self) -> str:
        return f"PolygonGateway(base_url={self.base_url!r})"

    # --- extract -------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], Any], data_name: str = "this data") -> Any:
        """Run one client call (including draining its iterator); map every failure to a typed error."""
        try:
            return fn()
        except DataError:
            raise
        except BadResponse as exc:
            raise self._bad_response(str(exc), what, data_name) from None
        except MaxRetryError as exc:
            raise self._retries_exhausted(exc, what) from None
        except (ReadTimeoutError, TimeoutError):
            raise UpstreamUnavailable(f"{VENDOR} did not answer within {self.timeout:g} seconds; try again shortly.") from None
        except MalformedBody:
            log.warning("%s sent a body that is not JSON for %s", VENDOR, what)
            raise UpstreamUnavailable(f"{VENDOR} is unavailable: it sent a response that could not be read; try again in a few minutes.") from None
        except (Urllib3Error, ProtocolError, OSError) as exc:
            log.warning("%s unreachable for %s: %s", VENDOR, what, redact(type(exc).__name__, self._key))
            raise UpstreamUnavailable(f"{VENDOR} is unavailable (the connection failed); try again in a few minutes.") from None
        except (KeyError, TypeError, AttributeError, ValueError):
            raise UpstreamUnavailable(f"{VENDOR} is unavailable: its answer for {what} could not be read; try again in a few minutes.") from None

    def _bad_response(self, body: str, what: str, data_name: str) -> DataError:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        status = str(payload.get("status", "")).upper()
        message = redact(str(payload.get("message") or payload.get("error") or ""), self._key)
        log.warning("%s refused %s: %s %s", VENDOR, what, status, message)
        if status == "NOT_AUTHORIZED":
            return NotEntitled(f"Your data plan does not include {data_name} ({VENDOR} refused {what}); upgrade the plan or use sample data.")
        if status in ("AUTH_ERROR", "UNAUTHORIZED") or "api key" in message.lower():
            return NotEntitled(f"{VENDOR} rejected the API key; check MASSIVE_API_KEY (or POLYGON_API_KEY).")
        if status == "NOT_FOUND":
            return DataNotFound(f"{VENDOR} found nothing for {what}; check the symbol.")
        detail = f": {message}" if message else "."
        return BadRequest(f"{VENDOR} rejected the request for {what}{detail}")

    def _retries_exhausted(self, exc: MaxRetryError, what: str) -> DataError:
        reason = exc.reason
        status = getattr(exc, "status", None)
        if status is None and isinstance(reason, ResponseError):
            found = re.search(r"(\d{3}) error", str(reason))
            status = int(found.group(1)) if found else None
        log.warning("%s gave up on %s: %s", VENDOR, what, redact(type(reason).__name__, self._key))
        if status == 429:
            wait = getattr(exc, "retry_after", None)
            when = f"in {wait} seconds" if wait and str(wait).isdigit() else "in a minute"
            return UpstreamRateLimited(f"{VENDOR} is rate limiting requests; try again {when}.")
        if status is not None:
            return UpstreamUnavailable(f"{VENDOR} is unavailable (it answered {status}); try again in a few minutes.")
        if isinstance(reason, ReadTimeoutError | TimeoutError):
            return UpstreamUnavailable(f"{VENDOR} did not answer within {self.timeout:g} seconds; try again shortly.")
        if isinstance(reason, NewConnectionError):
            return UpstreamUnavailable(f"{VENDOR} is unavailable (the connection was refused); try again in a few minutes.")
        return UpstreamUnavailable(f"{VENDOR} is unavailable (the connection failed); try again in a few minutes.")

    def _bounded(self, iterator: Iterable[Any], limit: int) -> tuple[list[Any], bool]:
        """At most ``limit`` records from an auto-paginating iterator, and whether more were left."""
        items = list(itertools.islice(iterator, limit + 1))
        return items[:limit], len(items) > limit

    @staticmethod
    def _symbol(symbol: str) -> str:
        sym = symbol.strip().upper()
        if not re.fullmatch(r"[A-Z0-9.:^-]{1,24}", sym):
            raise DataNotFound(f"'{symbol}' is not a ticker symbol {VENDOR} knows.")
        return {"^SPX": "I:SPX", "SPX": "I:SPX", "^VIX": "I:VIX", "VIX": "I:VIX"}.get(sym, sym)

    # --- market --------------------------------------------------------------------------------
    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None, basis: str = "price") -> Fetched[pd.DataFrame]:
        if basis != "price":
            raise BadRequest(f"{VENDOR} serves daily bars adjusted for splits only, not for dividends; use basis 'price' for every asset of the model.")
        sym = self._symbol(symbol)
        lo = pd.Timestamp(start).date() if start else date(1990, 1, 1)
        hi = pd.Timestamp(end).date() if end else datetime.now(UTC).date()
        if lo > hi:
            raise BadRequest(f"The start date {lo} is after the end date {hi}.")
        what = f"daily bars for {sym}"
        aggs, truncated = self._call(what, lambda: self._bounded(
            self._client.list_aggs(sym, 1, "day", lo.isoformat(), hi.isoformat(), adjusted=True, sort="asc", limit=50_000),
            self.max_bars,
        ), "daily bars")
        bars = _transform_bars(aggs)
        if bars.empty:
            raise NoData(f"{VENDOR} returned no daily bars for {sym} between {lo} and {hi}; check the symbol and the dates.")
        warning = f"Only the first {self.max_bars:,} daily bars of {sym} were fetched; narrow the date range." if truncated else None
        prov = Provenance(
            PROVIDER, "daily_bars", sym, datetime.now(UTC).isoformat(timespec="seconds"), live=True, warning=warning,
            detail={"vendor": VENDOR, "adjusted": "splits", "basis": "price", "last_bar": bars.index[-1].date().isoformat()},
        )
        return Fetched(bars, prov)

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]:
        sym = self._symbol(symbol)
        if self._last_trade_entitled:
            try:
                trade = self._call(f"the last trade of {sym}", lambda: self._client.get_last_trade(sym), "last trades")
                if trade and trade.price is not None:
                    as_of = _ns_to_iso(trade.sip_timestamp) or datetime.now(UTC).isoformat(timespec="seconds")
                    quote = {"symbol": symbol.strip().upper(), "price": float(trade.price), "as_of": as_of, "kind": "last trade"}
                    return Fetched(quote, Provenance(PROVIDER, "quote", sym, as_of, live=True, detail={"vendor": VENDOR}))
            except NotEntitled:
                self._last_trade_entitled = False  # the plan lacks last trades: use the previous close from now on
        prev = self._call(f"the previous close of {sym}", lambda: self._client.get_previous_close_agg(sym, adjusted=True), "previous closes")
        rows = prev if isinstance(prev, list) else [prev] if prev else []
        if not rows or rows[0].close is None:
            raise DataNotFound(f"{VENDOR} has no quote for '{symbol}'; check the symbol.")
        bar = rows[0]
        day = pd.Timestamp(int(bar.timestamp), unit="ms", tz="UTC").tz_convert(NEW_YORK).date().isoformat() if bar.timestamp else None
        quote = {"symbol": symbol.strip().upper(), "price": float(bar.close), "as_of": day, "kind": "previous close"}
        return Fetched(quote, Provenance(PROVIDER, "quote", sym, day or "", live=True, detail={"vendor": VENDOR}))

    # --- derivatives ---------------------------------------------------------------------------
    def expirations(self, symbol: str) -> Fetched[list[date]]:
        sym = self._symbol(symbol)
        contracts, truncated = self._call(f"option contracts on {sym}", lambda: self._bounded(
            self._client.list_options_contracts(underlying_ticker=sym, expired=False, limit=1000, sort="expiration_date", order="asc"),
            self.max_contracts,
        ), "options data")
        days = sorted({date.fromisoformat(c.expiration_date) for c in contracts if c.expiration_date})
        if not days:
            raise DataNotFound(f"{VENDOR} lists no options on '{symbol}'; check the symbol.")
        warning = f"Only the first {self.max_contracts:,} contracts of {sym} were read; later expirations may be missing." if truncated else None
        return Fetched(days, Provenance(PROVIDER, "expirations", sym, _now_new_york(), live=True, warning=warning, detail={"vendor": VENDOR}))

    def options_chain(self, symbol: str, expiration: date | None = None) -> Fetched[pd.DataFrame]:
        sym = self._symbol(symbol)
        params: dict[str, Any] = {"limit": self.page_size}
        if expiration is not None:
            try:
                params["expiration_date"] = pd.Timestamp(expiration).date().isoformat()
            except (ValueError, TypeError):
                raise BadRequest(f"'{expiration}' is not a date; use YYYY-MM-DD.") from None
        what = f"the option chain of {sym}"
        fetched_at = _now_new_york()  # the as-of time when no contract carries a quote or trade time
        snapshots, truncated = self._call(what, lambda: self._bounded(
            self._client.list_snapshot_options_chain(sym, params=params), self.max_contracts,
        ), "options data")
        chain, as_of = _transform_chain(symbol.strip().upper(), snapshots, fetched_at)
        if chain.empty:
            when = f" expiring {params['expiration_date']}" if expiration is not None else ""
            raise DataNotFound(f"{VENDOR} has no options on '{symbol}'{when}; check the symbol and the expiration.")
        detail = {"vendor": VENDOR, "expiration": params.get("expiration_date", "all")}
        if chain["underlying_price"].isna().all():  # plans without the underlying's price in the snapshot
            try:
                chain["underlying_price"] = self.quote(symbol).value["price"]
                detail["underlying_price"] = "quote"
            except DataError:
                detail["underlying_price"] = "missing"
        warning = f"The chain was cut at {self.max_contracts:,} contracts; choose an expiration." if truncated else None
        prov = Provenance(PROVIDER, "options_chain", symbol.strip().upper(), as_of, live=True, warning=warning, detail=detail)
        return Fetched(chain, prov)

