"""The ``sample`` provider: a bundled snapshot of real FRED series, daily bars and option chains.

This is the embedded default when no FRED or Polygon/Massive key is configured. The files under
``gateways/sample_data`` are copied unchanged (gzip-compressed) from published vendor data; see its
README for sources and quirks. Each dataset keeps its own as-of date, and every result says so.

Query, extract, transform: arguments become a typed query, ``_read_*`` does only I/O, and the
``_transform_*`` functions turn vendor columns into the dataset contracts of ``contracts.data`` (``gateways.conform``).
"""

from __future__ import annotations

import difflib
import functools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from contracts.data import DAILY_BARS, OPTIONS_CHAIN, PRICE_BASES, Fetched, Provenance
from contracts.errors import BadRequest, DataNotFound, NoData
from gateways.conform import conform
from gateways.transforms import apply_fred_transforms

DATA_DIR = Path(__file__).with_name("sample_data")
PROVIDER = "sample"

# FRED metadata for the bundled series (title, units, frequency as FRED publishes them).
FRED_SERIES: dict[str, dict[str, str]] = {
    "BAMLH0A0HYM2": {"title": "ICE BofA US High Yield Index Option-Adjusted Spread", "units": "Percent", "frequency": "Daily"},
    "CPIAUCSL": {"title": "Consumer Price Index for All Urban Consumers: All Items in U.S. City Average", "units": "Index 1982-1984=100", "frequency": "Monthly"},
    "CPILFESL": {"title": "Consumer Price Index for All Urban Consumers: All Items Less Food and Energy", "units": "Index 1982-1984=100", "frequency": "Monthly"},
    "DFF": {"title": "Federal Funds Effective Rate", "units": "Percent", "frequency": "Daily, 7-Day"},
    "DFII10": {"title": "Market Yield on U.S. Treasury Securities at 10-Year Constant Maturity, Inflation-Indexed", "units": "Percent", "frequency": "Daily"},
    "DGS10": {"title": "Market Yield on U.S. Treasury Securities at 10-Year Constant Maturity", "units": "Percent", "frequency": "Daily"},
    "DGS2": {"title": "Market Yield on U.S. Treasury Securities at 2-Year Constant Maturity", "units": "Percent", "frequency": "Daily"},
    "DGS3MO": {"title": "Market Yield on U.S. Treasury Securities at 3-Month Constant Maturity", "units": "Percent", "frequency": "Daily"},
    "FEDFUNDS": {"title": "Federal Funds Effective Rate", "units": "Percent", "frequency": "Monthly"},
    "GDPC1": {"title": "Real Gross Domestic Product", "units": "Billions of Chained 2017 Dollars", "frequency": "Quarterly"},
    "GDPPOT": {"title": "Real Potential Gross Domestic Product", "units": "Billions of Chained 2017 Dollars", "frequency": "Quarterly"},
    "HOUST": {"title": "New Privately-Owned Housing Units Started: Total Units", "units": "Thousands of Units", "frequency": "Monthly"},
    "ICSA": {"title": "Initial Claims", "units": "Number", "frequency": "Weekly, Ending Saturday"},
    "INDPRO": {"title": "Industrial Production: Total Index", "units": "Index 2017=100", "frequency": "Monthly"},
    "M2SL": {"title": "M2", "units": "Billions of Dollars", "frequency": "Monthly"},
    "NROU": {"title": "Noncyclical Rate of Unemployment", "units": "Percent", "frequency": "Quarterly"},
    "PAYEMS": {"title": "All Employees, Total Nonfarm", "units": "Thousands of Persons", "frequency": "Monthly"},
    "PCEPILFE": {"title": "Personal Consumption Expenditures Excluding Food and Energy (Chain-Type Price Index)", "units": "Index 2017=100", "frequency": "Monthly"},
    "SP500": {"title": "S&P 500", "units": "Index", "frequency": "Daily, Close"},
    "T10Y2Y": {"title": "10-Year Treasury Constant Maturity Minus 2-Year Treasury Constant Maturity", "units": "Percent", "frequency": "Daily"},
    "T10Y3M": {"title": "10-Year Treasury Constant Maturity Minus 3-Month Treasury Constant Maturity", "units": "Percent", "frequency": "Daily"},
    "T10YIE": {"title": "10-Year Breakeven Inflation Rate", "units": "Percent", "frequency": "Daily"},
    "UMCSENT": {"title": "University of Michigan: Consumer Sentiment", "units": "Index 1966:Q1=100", "frequency": "Monthly"},
    "UNRATE": {"title": "Unemployment Rate", "units": "Percent", "frequency": "Monthly"},
    "VIXCLS": {"title": "CBOE Volatility Index: VIX", "units": "Index", "frequency": "Daily, Close"},
}

# Bars by price basis (``contracts.data.PRICE_BASES``). "price": closes adjusted for splits only
# (Interactive Brokers, to 2026-08-21; indices have no dividends). "total_return": closes adjusted for
# splits and dividends (Yahoo, to 2026-06-05, dividends added back up to 2026-03-06; the other ETFs
# from the one-year file of adjusted closes, to 2026-08-21).
_IBKR = "equities/daily_split_adjusted"
_YAHOO = "equities/daily_yahoo_adjusted"
PRICE_FILES: dict[str, tuple[str, str]] = {
    "SPY": (f"{_IBKR}/SPY.csv.gz", "Interactive Brokers, split-adjusted"),
    "QQQ": (f"{_IBKR}/QQQ.csv.gz", "Interactive Brokers, split-adjusted"),
    "AAPL": (f"{_IBKR}/AAPL.csv.gz", "Interactive Brokers, split-adjusted"),
    "MSFT": (f"{_IBKR}/MSFT.csv.gz", "Interactive Brokers, split-adjusted"),
    "NVDA": (f"{_IBKR}/NVDA.csv.gz", "Interactive Brokers, split-adjusted"),
    "AMZN": (f"{_IBKR}/AMZN.csv.gz", "Interactive Brokers, split-adjusted"),
    "TSLA": (f"{_IBKR}/TSLA.csv.gz", "Interactive Brokers, split-adjusted"),
    "SPX": (f"{_IBKR}/SPX_index.csv.gz", "Interactive Brokers, index"),
    "VIX": (f"{_YAHOO}/VIX_index.csv.gz", "Yahoo, index"),
}
TOTAL_RETURN_FILES: dict[str, tuple[str, str]] = {
    "SPY": (f"{_YAHOO}/SPY.csv.gz", "Yahoo, adjusted for splits and dividends to 2026-03-06"),
    "QQQ": (f"{_YAHOO}/QQQ.csv.gz", "Yahoo, adjusted for splits and dividends to 2026-03-06"),
    "IWM": (f"{_YAHOO}/IWM.csv.gz", "Yahoo, adjusted for splits and dividends to 2026-03-06"),
    "TLT": (f"{_YAHOO}/TLT.csv.gz", "Yahoo, adjusted for splits and dividends to 2026-03-06"),
    "GLD": (f"{_YAHOO}/GLD.csv.gz", "Yahoo, adjusted for splits and dividends to 2026-03-06"),
    "VIX": (f"{_YAHOO}/VIX_index.csv.gz", "Yahoo, index"),
}
BAR_FILES = PRICE_FILES  # the split-adjusted files (kept for callers that read the old name)
ETF_CLOSES_FILE = "equities/ETF_adjusted_closes_2025-08-22_to_2026-08-21.csv.gz"
SYMBOL_ALIASES = {"I:SPX": "SPX", "^SPX": "SPX", "^GSPC": "SPX", "I:VIX": "VIX", "^VIX": "VIX"}

# Option chain snapshots: file, vendor, as-of (the snapshot's own time) and underlying price.
CHAIN_FILES: dict[str, dict[str, Any]] = {
    "SPY": {"file": "options/SPY_chain_2026-05-01_yahoo.csv.gz", "vendor": "Yahoo", "as_of": "2026-05-01", "spot": None},
    "AAPL": {"file": "options/AAPL_chain_2026-07-31_yahoo_exp2026-08-28.csv.gz", "vendor": "Yahoo", "as_of": "2026-07-31", "spot": None},
    "MSFT": {"file": "options/MSFT_chain_2026-07-28_ibkr_greeks_with_oi.csv.gz", "vendor": "Interactive Brokers", "as_of": "2026-07-28T10:10:00-04:00", "spot": 394.21},
}
# Yahoo reports placeholder implied volatilities (about 0.00001 to 0.01) for illiquid contracts.
PLACEHOLDER_IV = 0.01


def _closest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean {close[0]}?" if close else ""


def _as_timestamp(value: date | str | None) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"'{value}' is not a date; use YYYY-MM-DD.") from exc


def _clip(obj: pd.Series | pd.DataFrame, start: date | str | None, end: date | str | None) -> pd.Series | pd.DataFrame:
    lo, hi = _as_timestamp(start), _as_timestamp(end)
    if lo is not None and hi is not None and lo > hi:
        raise BadRequest(f"The start date {lo.date()} is after the end date {hi.date()}.")
    return obj.loc[lo:hi]


# ----------------------------------------------------------------------------------------------
# Extract: file I/O only, cached per process (the files are immutable).
# ----------------------------------------------------------------------------------------------


@functools.cache
def _read_fred(series_id: str) -> pd.Series:
    raw = pd.read_csv(DATA_DIR / "fred" / f"{series_id}.csv.gz")
    dates = pd.to_datetime(raw.iloc[:, 0])
    values = pd.to_numeric(raw.iloc[:, 1], errors="coerce")
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(dates, name="date"), name=series_id)
    return series.dropna()  # FRED's blank holiday rows are not observations


@functools.cache
def _read_bars(symbol: str, basis: str = "price") -> pd.DataFrame:
    files = PRICE_FILES if basis == "price" else TOTAL_RETURN_FILES
    if symbol in files:
        raw = pd.read_csv(DATA_DIR / files[symbol][0])
        raw.columns = [c.lower() for c in raw.columns]
        frame = raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw["date"])))
        return conform(frame, DAILY_BARS, PROVIDER)
    wide = _read_etf_closes()
    close = wide[symbol].dropna()
    frame = pd.DataFrame({"open": np.nan, "high": np.nan, "low": np.nan, "close": close, "volume": np.nan})
    return conform(frame, DAILY_BARS, PROVIDER)


def _bases(symbol: str) -> tuple[str, ...]:
    """The price bases the sample holds for ``symbol``."""
    found = []
    if symbol in PRICE_FILES:
        found.append("price")
    if symbol in TOTAL_RETURN_FILES or symbol in _read_etf_closes().columns:
        found.append("total_return")
    return tuple(found)


@functools.lru_cache(maxsize=1)
def _read_etf_closes() -> pd.DataFrame:
    raw = pd.read_csv(DATA_DIR / ETF_CLOSES_FILE)
    return raw.set_index(pd.DatetimeIndex(pd.to_datetime(raw["date"]), name="date")).drop(columns="date")


@functools.cache
def _read_chain(symbol: str) -> pd.DataFrame:
    meta = CHAIN_FILES[symbol]
    raw = pd.read_csv(DATA_DIR / meta["file"])
    return _transform_chain(symbol, raw, meta)


def warm_up() -> None:
    """Read every bundled file once (worker processes forked afterwards share the parsed data)."""
    for series_id in FRED_SERIES:
        _read_fred(series_id)
    for symbol in BAR_FILES:
        _read_bars(symbol)
    for symbol in CHAIN_FILES:
        _read_chain(symbol)


# ----------------------------------------------------------------------------------------------
# Transform: vendor columns to standard columns.
# ----------------------------------------------------------------------------------------------


def _transform_chain(symbol: str, raw: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """Map a Yahoo or IBKR chain file onto ``CHAIN_COLUMNS``."""
    out = pd.DataFrame(index=raw.index)
    out["underlying"] = symbol
    if "right" in raw:  # Interactive Brokers
        out["expiration"] = pd.to_datetime(raw["expiration"].astype(str), format="%Y%m%d")
        out["type"] = raw["right"].map({"C": "call", "P": "put"})
        out["last"] = pd.to_numeric(raw["last"], errors="coerce")
        out["volume"] = pd.to_numeric(raw.get("volume_x", raw.get("volume")), errors="coerce")
        out["open_interest"] = pd.to_numeric(raw.get("openInterest"), errors="coerce") if "openInterest" in raw else np.nan
        out["iv"] = pd.to_numeric(raw["iv"], errors="coerce")
        for greek in ("delta", "gamma", "theta", "vega"):
            out[greek] = pd.to_numeric(raw[greek], errors="coerce")
        out["underlying_price"] = float(meta["spot"])
    else:  # Yahoo
        expiry = raw["expiry"]
        out["expiration"] = pd.to_datetime(expiry)
        out["type"] = raw.get("option_type", raw.get("type")).str.lower()
        out["last"] = pd.to_numeric(raw["lastPrice"], errors="coerce")
        out["volume"] = pd.to_numeric(raw["volume"], errors="coerce")
        out["open_interest"] = pd.to_numeric(raw["openInterest"], errors="coerce")
        iv = pd.to_numeric(raw["impliedVolatility"], errors="coerce")
        out["iv"] = iv.where(iv >= PLACEHOLDER_IV)
        for greek in ("delta", "gamma", "theta", "vega"):
            out[greek] = np.nan
        spot_col = "S" if "S" in raw else "spot"
        out["underlying_price"] = pd.to_numeric(raw[spot_col], errors="coerce")
    out["strike"] = pd.to_numeric(raw["strike"], errors="coerce")
    bid = pd.to_numeric(raw["bid"], errors="coerce")
    ask = pd.to_numeric(raw["ask"], errors="coerce")
    out["bid"], out["ask"] = bid, ask
    quoted = (ask > 0) & bid.notna() & (bid >= 0) & (ask >= bid)
    out["mid"] = ((bid + ask) / 2).where(quoted)
    out["as_of"] = meta["as_of"]
    return conform(out, OPTIONS_CHAIN, PROVIDER)


@functools.lru_cache(maxsize=1)
def as_of_date() -> date:
    """The snapshot's as-of date: its newest observation (FRED series and daily bars), 2026-08-21.

    Relative dates (``today-5y``) must resolve against this date on sample data, not the wall clock,
    so a model's defaults keep selecting data in any later year.
    """
    newest = max(_read_fred(sid).index[-1] for sid in ("DGS10", "T10Y2Y", "VIXCLS"))
    bars = max(_read_bars(sym, "price").index[-1] for sym in ("SPY", "QQQ"))
    return max(newest, bars).date()


class SampleGateway:
    """Serves macro, market and derivatives data from the bundled snapshot (all three protocols)."""

    name = PROVIDER

    def reference_date(self) -> date:
        """The date 'today' means for this data: the snapshot's as-of date (see ``as_of_date``)."""
        return as_of_date()

    # --- macro -------------------------------------------------------------------------------
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
        if sid not in FRED_SERIES:
            raise DataNotFound(
                f"The sample data has no FRED series '{series_id}'.{_closest(sid, list(FRED_SERIES))} "
                f"It has: {', '.join(sorted(FRED_SERIES))}. Set FRED_API_KEY for every FRED series."
            )
        full = _read_fred(sid)
        transformed = apply_fred_transforms(full, FRED_SERIES[sid]["frequency"], units, frequency, aggregation)
        values = _clip(transformed, start, end).copy()
        if values.empty:
            raise NoData(
                f"FRED series {sid} has no observations between {start or 'its start'} and {end or 'its end'} "
                f"in the sample data (it covers {full.index[0].date()} to {full.index[-1].date()})."
            )
        values.name = sid
        prov = Provenance(
            PROVIDER, "fred_series", sid, full.index[-1].date().isoformat(),
            detail={"vendor": "FRED", "units": units or "lin", "frequency": frequency or "native"},
        )
        return Fetched(values, prov)

    def series_info(self, series_id: str) -> Fetched[dict[str, Any]]:
        sid = series_id.strip().upper()
        if sid not in FRED_SERIES:
            raise DataNotFound(f"The sample data has no FRED series '{series_id}'.{_closest(sid, list(FRED_SERIES))}")
        full = _read_fred(sid)
        info = {
            "id": sid, **FRED_SERIES[sid],
            "observation_start": full.index[0].date().isoformat(),
            "observation_end": full.index[-1].date().isoformat(),
        }
        return Fetched(info, Provenance(PROVIDER, "fred_series_info", sid, info["observation_end"]))

    def search(self, text: str, limit: int = 20) -> Fetched[pd.DataFrame]:
        needle = text.strip().lower()
        rows = [
            {"id": sid, **meta}
            for sid, meta in FRED_SERIES.items()
            if not needle or needle in sid.lower() or needle in meta["title"].lower()
        ]
        frame = pd.DataFrame(rows, columns=["id", "title", "units", "frequency"]).head(limit)
        return Fetched(frame, Provenance(PROVIDER, "fred_search", text, date.today().isoformat()))

    # --- market ------------------------------------------------------------------------------
    @staticmethod
    def bar_symbols() -> list[str]:
        return sorted(set(PRICE_FILES) | set(TOTAL_RETURN_FILES) | set(_read_etf_closes().columns))

    def _symbol(self, symbol: str) -> str:
        sym = symbol.strip().upper()
        sym = SYMBOL_ALIASES.get(sym, sym)
        known = self.bar_symbols()
        if sym not in known:
            raise DataNotFound(
                f"The sample data has no daily bars for '{symbol}'.{_closest(sym, known)} "
                f"It has: {', '.join(known)}. Set MASSIVE_API_KEY for every US symbol."
            )
        return sym

    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None, basis: str = "price") -> Fetched[pd.DataFrame]:
        sym = self._symbol(symbol)
        if basis not in PRICE_BASES:
            raise BadRequest(f"Price basis '{basis}' is not one of {', '.join(PRICE_BASES)}.")
        held = _bases(sym)
        if basis not in held:
            other = held[0] if held else "none"
            words = {"price": "adjusted for splits only", "total_return": "adjusted for splits and dividends"}
            raise DataNotFound(
                f"The sample data has {sym} only {words.get(other, other)} (basis '{other}'), not {words[basis]}; "
                f"fetch it, and every asset it is compared with, with basis '{other}'."
            )
        full = _read_bars(sym, basis)
        bars = _clip(full, start, end).copy()
        if bars.empty:
            raise NoData(
                f"No daily bars for {sym} between {start or 'the start'} and {end or 'the end'} in the sample "
                f"data (it covers {full.index[0].date()} to {full.index[-1].date()})."
            )
        files = PRICE_FILES if basis == "price" else TOTAL_RETURN_FILES
        vendor = files[sym][1] if sym in files else "Yahoo adjusted closes (close only), adjusted for splits and dividends"
        prov = Provenance(PROVIDER, "daily_bars", sym, full.index[-1].date().isoformat(), detail={"vendor": vendor, "basis": basis})
        return Fetched(bars, prov)

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]:
        sym = self._symbol(symbol)
        bars = _read_bars(sym, _bases(sym)[0])
        last = bars.iloc[-1]
        day = bars.index[-1].date().isoformat()
        quote = {"symbol": sym, "price": float(last["close"]), "as_of": day, "kind": "previous close"}
        return Fetched(quote, Provenance(PROVIDER, "quote", sym, day))

    # --- derivatives -------------------------------------------------------------------------
    def _chain_symbol(self, symbol: str) -> str:
        sym = symbol.strip().upper()
        if sym not in CHAIN_FILES:
            raise DataNotFound(
                f"The sample data has no option chain for '{symbol}'.{_closest(sym, list(CHAIN_FILES))} "
                f"It has: {', '.join(CHAIN_FILES)}. Set MASSIVE_API_KEY for live chains."
            )
        return sym

    def expirations(self, symbol: str) -> Fetched[list[date]]:
        sym = self._chain_symbol(symbol)
        chain = _read_chain(sym)
        days = [stamp.date() for stamp in pd.DatetimeIndex(np.unique(chain["expiration"].to_numpy()))]
        return Fetched(days, Provenance(PROVIDER, "expirations", sym, CHAIN_FILES[sym]["as_of"]))

    def options_chain(self, symbol: str, expiration: date | None = None) -> Fetched[pd.DataFrame]:
        sym = self._chain_symbol(symbol)
        chain = _read_chain(sym)
        meta = CHAIN_FILES[sym]
        if expiration is not None:
            wanted = _as_timestamp(expiration)
            chain = chain[chain["expiration"] == wanted]
            if chain.empty:
                listed = ", ".join(d.isoformat() for d in self.expirations(sym).value)
                raise DataNotFound(f"{sym} has no options expiring {wanted.date()} in the sample data. Expirations: {listed}.")
        prov = Provenance(
            PROVIDER, "options_chain", sym, meta["as_of"],
            detail={"vendor": meta["vendor"], "expiration": str(expiration) if expiration else "all"},
        )
        return Fetched(chain.reset_index(drop=True).copy(), prov)
