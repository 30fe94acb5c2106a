"""The ``fred`` provider: economic series from FRED through fredapi.

fredapi is used as published, with its one HTTP call replaced (``FredClient._Fred__fetch_data``) so
that every request goes through a process-wide throttle (FRED allows about 2 requests per second), has
an explicit timeout, and turns FRED's errors into the typed errors of ``contracts.errors``. fredapi puts
the API key in the URL; no message, log line or exception raised here ever carries it.

Query, extract, transform: arguments are checked and turned into FRED's parameters, the client does
the I/O, and ``_transform_*`` turn FRED's records into the same shapes the sample provider returns.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from fredapi import Fred

from contracts.data import Fetched, Provenance
from contracts.errors import BadRequest, DataError, DataNotFound, NoData, NotEntitled, UpstreamRateLimited, UpstreamUnavailable
from gateways.transforms import AGGREGATIONS, FREQUENCIES, UNITS

PROVIDER = "fred"
DEFAULT_BASE_URL = "https://api.stlouisfed.org/fred"
log = logging.getLogger(__name__)


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and any ``api_key=...`` / ``apiKey=...`` query value replaced."""
    if secret:
        text = text.replace(secret, "REDACTED")
    return re.sub(r"(?i)(api_?key=)[^&\s'\"]+", r"\1REDACTED", text)


class TokenBucket:
    """A thread-safe token bucket: at most ``rate`` requests per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the time waited in seconds."""
        with self._lock:  # callers queue here, so waits are handed out in order
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if wait:
                self._sleep(wait)
                self._stamp = self._clock()
                self._tokens = 0.0
            else:
                self._tokens -= 1
            return wait


# One bucket per process: FRED's limit is per key, and a process serves one deployment's key.
# 1.8 per second with a burst of 2 keeps under "about 2 requests per second" with a margin.
FRED_THROTTLE = TokenBucket(rate=1.8, burst=2)


class FredClient(Fred):
    """fredapi's ``Fred`` with a throttled, time-limited HTTP call and typed, key-free errors."""

    def __init__(self, api_key: str, root_url: str, timeout: float, throttle: TokenBucket, opener: urllib.request.OpenerDirector):
        # fredapi's constructor only stores the key and proxies, but installs a process-wide urllib
        # opener when proxy variables are set; set its two attributes here and use our own opener.
        self.api_key = api_key
        self.proxies = None
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self.throttle = throttle
        self.opener = opener

    def _Fred__fetch_data(self, url: str) -> ET.Element:  # replaces fredapi's private HTTP call
        what = _describe(url)
        self.throttle.acquire()
        full_url = url + "&api_key=" + self.api_key
        log.debug("FRED request %s", what)
        failure: DataError | None = None  # raised outside the handlers, so no exception carrying the URL is chained to it
        body = b""
        try:
            with self.opener.open(full_url, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            failure = self._http_error(exc, url)
        except TimeoutError:
            failure = UpstreamUnavailable(f"FRED did not answer within {self.timeout:g} seconds; try again shortly.")
        except (urllib.error.URLError, OSError) as exc:
            reason = redact(str(getattr(exc, "reason", exc)), self.api_key)
            log.warning("FRED unreachable for %s: %s", what, reason)
            if "timed out" in reason:
                failure = UpstreamUnavailable(f"FRED did not answer within {self.timeout:g} seconds; try again shortly.")
            else:
                failure = UpstreamUnavailable("FRED is unavailable (the connection failed); try again in a few minutes.")
        if failure is not None:
            raise failure
        try:
            return ET.fromstring(body)
        except ET.ParseError:
            log.warning("FRED sent an unreadable body for %s", what)
            raise UpstreamUnavailable("FRED is unavailable: it sent a response that could not be read; try again in a few minutes.") from None

    def _http_error(self, exc: urllib.error.HTTPError, url: str) -> DataError:
        """Map FRED's HTTP error (with its XML ``message``) to a typed error without the key."""
        status = exc.code
        try:
            message = ET.fromstring(exc.read()).get("message") or ""
        except (ET.ParseError, OSError, ValueError):
            message = ""
        message = redact(message, self.api_key)
        log.warning("FRED answered %s for %s: %s", status, _describe(url), message)
        series_id = _query_value(url, "series_id")
        lowered = message.lower()
        if status == 429:
            return UpstreamRateLimited("FRED is rate limiting requests; try again in a minute.")
        if status >= 500:
            return UpstreamUnavailable(f"FRED is unavailable (it answered {status}); try again in a few minutes.")
        if "api_key" in lowered or status in (401, 403):
            return NotEntitled("FRED rejected the API key; check FRED_API_KEY (a free key is at fred.stlouisfed.org).")
        if status == 404 or "does not exist" in lowered:
            return DataNotFound(f"FRED has no series '{series_id}'." if series_id else "FRED has no such series.")
        detail = f": {message}" if message else ""
        return BadRequest(f"FRED rejected the request{detail}")


def _query_value(url: str, name: str) -> str | None:
    match = re.search(rf"[?&]{name}=([^&]*)", url)
    return urllib.request.unquote(match.group(1)) if match else None


def _describe(url: str) -> str:
    """The path and query of a FRED URL without the key (for logs)."""
    return redact(re.sub(r"^https?://[^/]+", "", url), None)


def _check_choice(value: str | None, choices: Any, what: str) -> str | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in choices:
        raise BadRequest(f"{what} '{value}' is not one of {', '.join(choices)}.")
    return lowered


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------------
# Transform
# ----------------------------------------------------------------------------------------------


def _transform_series(raw: pd.Series, series_id: str) -> pd.Series:
    """FRED observations as a float series on a DatetimeIndex named ``date``, missing values dropped."""
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    index = pd.DatetimeIndex(pd.to_datetime(raw.index), name="date")
    series = pd.Series(values.to_numpy(), index=index, name=series_id)
    return series.dropna().sort_index()  # FRED's '.' rows (holidays) are not observations


def _transform_info(raw: pd.Series) -> dict[str, Any]:
    return {str(k): (None if pd.isna(v) else str(v)) for k, v in raw.items()}


def _transform_search(raw: pd.DataFrame | None, limit: int) -> pd.DataFrame:
    columns = ["id", "title", "units", "frequency"]
    if raw is None or raw.empty:
        return pd.DataFrame(columns=columns)
    frame = raw.reset_index(drop=True)
    extra = [c for c in ("observation_start", "observation_end", "popularity") if c in frame]
    out = frame[columns + extra].head(limit).copy()
    for col in ("observation_start", "observation_end"):
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.date.astype(str)
    return out.reset_index(drop=True)


class FredGateway:
    """Macro data from FRED (the ``MacroGateway`` protocol)."""

    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        timeout: float = 10.0,
        throttle: TokenBucket | None = None,
        opener: urllib.request.OpenerDirector | None = None,
    ):
        if not api_key:
            raise NotEntitled("FRED needs an API key; set FRED_API_KEY (a free key is at fred.stlouisfed.org).")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.cache_scope = f"{PROVIDER}@{self.base_url}"
        self._client = FredClient(api_key, self.base_url, timeout, throttle or FRED_THROTTLE, opener or urllib.request.build_opener())

    def __repr__(self) -> str:
        return f"FredGateway(base_url={self.base_url!r})"

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one fredapi call; any error that is not already typed becomes a key-free sentence."""
        try:
            return fn(*args, **kwargs)
        except DataError:
            raise
        except ValueError as exc:  # fredapi's own "No data exists ..." and date parsing
            message = redact(str(exc), self._client.api_key)
            raise BadRequest(f"FRED could not answer {what}: {message}") from None
        except (ET.ParseError, KeyError, TypeError, AttributeError):
            raise UpstreamUnavailable(f"FRED is unavailable: its answer to {what} could not be read; try again in a few minutes.") from None

    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        units: str | None = None,
        frequency: str | None = None,
        aggregation: str | None = None,
    ) -> Fetched[pd.Series]:
        sid = series_id.strip().upper()
        if not re.fullmatch(r"[A-Z0-9_.]{1,40}", sid):
            raise DataNotFound(f"FRED has no series '{series_id}'.")
        extra = {
            "units": _check_choice(units, UNITS, "Units"),
            "frequency": _check_choice(frequency, FREQUENCIES, "Frequency"),
            "aggregation_method": _check_choice(aggregation, AGGREGATIONS, "Aggregation"),
        }
        if start and end and pd.Timestamp(start) > pd.Timestamp(end):
            raise BadRequest(f"The start date {start} is after the end date {end}.")
        raw = self._call(f"series {sid}", self._client.get_series, sid, start, end, **{k: v for k, v in extra.items() if v})
        values = _transform_series(raw, sid)
        if values.empty:
            raise NoData(f"FRED series {sid} has no observations between {start or 'its start'} and {end or 'its end'}.")
        prov = Provenance(
            PROVIDER, "fred_series", sid, _now(), live=True,
            detail={"vendor": "FRED", "units": units or "lin", "frequency": frequency or "native",
                    "observation_end": values.index[-1].date().isoformat()},
        )
        return Fetched(values, prov)

    def series_info(self, series_id: str) -> Fetched[dict[str, Any]]:
        sid = series_id.strip().upper()
        if not re.fullmatch(r"[A-Z0-9_.]{1,40}", sid):
            raise DataNotFound(f"FRED has no series '{series_id}'.")
        info = _transform_info(self._call(f"series {sid}", self._client.get_series_info, sid))
        return Fetched(info, Provenance(PROVIDER, "fred_series_info", sid, _now(), live=True))

    def search(self, text: str, limit: int = 20) -> Fetched[pd.DataFrame]:
        if not 1 <= limit <= 1000:
            raise BadRequest(f"The search limit {limit} must be between 1 and 1000.")
        raw = self._call(f"the search '{text}'", self._client.search, text.strip(), limit=limit)
        return Fetched(_transform_search(raw, limit), Provenance(PROVIDER, "fred_search", text, _now(), live=True))
