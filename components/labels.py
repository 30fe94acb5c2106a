"""How names and numbers read on screen and in downloads (pure, no Streamlit): readable column labels
instead of snake_case, a number format per column, and values rounded to the data's precision.

Model authors may declare formats (``outputs.tables[].formats``, ``outputs.series[].format``); where they
do not, the column's name decides: an implied volatility (``iv``, ``call_iv``, ``atm_iv``...) is a
fraction shown as a percent, ``*_pct`` is already in percent, counts are whole numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

SIGNIFICANT_DIGITS = 7  # a float32 vendor price (720.6500244) and float64 arithmetic (0.5599999999) both read as written
# Words that are acronyms or symbols on screen.
_WORDS = {
    "iv": "IV", "atm": "ATM", "otm": "OTM", "itm": "ITM", "gex": "GEX", "oi": "OI", "pct": "%", "yoy": "YoY", "ols": "OLS",
    "id": "ID", "r2": "R²", "bs": "BSM", "usd": "USD", "dte": "DTE", "vs": "vs", "p25": "25th pct", "p75": "75th pct",
    "p10": "10th pct", "p90": "90th pct", "p5": "5th pct", "p95": "95th pct", "z": "z",
}
# Whole labels for names whose words alone would read oddly.
_LABELS = {
    "one_sigma_move": "One-sigma move", "move_pct": "Move (%)", "distance_pct": "Distance from spot (%)", "days_to_expiry": "Days to expiry",
    "straddle_price": "Straddle price", "implied_vol": "Implied volatility", "iv": "Implied volatility", "call_iv": "Call IV", "put_iv": "Put IV",
    "atm_iv": "ATM IV", "atm_strike": "ATM strike", "net_gex": "Net GEX", "total_gex": "Total GEX", "call_gex": "Call GEX", "put_gex": "Put GEX",
    "zero_gamma_strike": "Zero-gamma strike", "max_pain_strike": "Max pain strike", "open_interest": "Open interest", "share_negative": "Share negative",
    "max_drawdown_pct": "Max drawdown (%)", "current_drawdown_pct": "Current drawdown (%)", "expected_move_pct": "Expected move (%)",
    "latest_date": "Latest date", "as_of": "As of", "r2": "R²", "std": "Standard deviation", "min": "Minimum", "max": "Maximum",
    "p25": "25th percentile", "p75": "75th percentile", "median": "Median", "current": "Today", "bs_iv": "BSM IV",
    "underlying_price": "Underlying price", "price_source": "Price source", "call_mid": "Call mid", "put_mid": "Put mid",
    "std_err": "Standard error", "n": "Observations", "z": "z (normal quantile)",
}
# Columns whose values are fractions of one, shown as percents (implied volatilities, shares).
_FRACTION_NAMES = re.compile(r"^(iv|implied_vol|iv_calc|bs_iv|(call|put|atm|otm)_iv|(call|put)_25d_iv|share_[a-z_]+|confidence)$")
# Columns already in percent (12.4 means 12.4%).
_PERCENT_NAMES = re.compile(r"(_pct|_percent)$")
# Columns that count things: whole numbers with thousands separators.
_COUNT_NAMES = re.compile(r"^(count|n|observations|days|contracts|volume|open_interest|days_to_expiry|window|n_[a-z_]+|[a-z_]+_count)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+-]+Z?)?$")


def readable(name: object) -> str:
    """``one_sigma_move`` -> ``One-sigma move``; ``atm_iv`` -> ``ATM IV``; text that is not snake_case is kept."""
    text = str(name)
    if text in _LABELS:
        return _LABELS[text]
    if not re.fullmatch(r"[a-z0-9_]+", text):
        return text
    words = [_WORDS.get(part, part) for part in text.split("_") if part]
    if not words:
        return text
    first = words[0]
    words[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(words).replace(" %", " (%)")


def is_fraction(name: object) -> bool:
    """True for a column whose values are fractions shown as a percent (0.124 -> 12.4%)."""
    return bool(_FRACTION_NAMES.match(str(name)))


def default_format(name: object, values: Iterable[Any] = ()) -> str | None:
    """The number format a column named ``name`` reads best in, from its name and its values."""
    text = str(name)
    if is_fraction(text):
        return ".1%"
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if _COUNT_NAMES.match(text) and all(float(v).is_integer() for v in numbers):
        return ",.0f"
    if _PERCENT_NAMES.search(text):
        return ",.2f"
    if numbers and all(float(v).is_integer() for v in numbers):
        return ",.0f" if max(abs(v) for v in numbers) >= 10_000 else ".0f"
    return None


def decimals_for(values: Sequence[float | None]) -> int:
    """Decimals that keep ``SIGNIFICANT_DIGITS`` of the largest value (0.5599999999 -> 0.56 at 2 decimals)."""
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if largest == 0:
        return 0
    return max(0, min(12, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(largest))))


def needed_decimals(values: Sequence[Any], cap: int = 6) -> int:
    """The fewest decimals (at most ``cap``) that show every value of a column as cleaned (0.56 -> 2, 7436 -> 0)."""
    numbers = [v for v in clean_numbers([float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]) if v is not None]
    for places in range(cap + 1):
        if all(abs(round(v, places) - v) <= 1e-12 * max(1.0, abs(v)) for v in numbers):
            return places
    return cap


def display_decimals(values: Sequence[Any]) -> int:
    """Decimals for reading a column: about four significant digits of its typical value, at least two
    (and never more than the values have): 708.2795 -> 708.28, 12.37021 -> 12.37, 0.12395 -> 0.1240, 4.845 -> 4.845."""
    numbers = [abs(float(v)) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v != 0]
    if not numbers:
        return 0
    typical = sorted(numbers)[len(numbers) // 2]
    return min(needed_decimals(values), max(2, 3 - math.floor(math.log10(typical))))


def clean_numbers(values: Sequence[Any]) -> list[Any]:
    """Round a column of numbers to its precision (float noise gone), keeping ``None`` as a gap and text as text."""
    numeric = [v for v in values if isinstance(v, float)]
    if not numeric:
        return list(values)
    places = decimals_for(numeric)
    return [round(v, places) + 0.0 if isinstance(v, float) and math.isfinite(v) else (None if isinstance(v, float) else v) for v in values]


def clean_number(value: Any) -> Any:
    """One number rounded to ``SIGNIFICANT_DIGITS`` (a record's values each have their own scale)."""
    if isinstance(value, float) and math.isfinite(value):
        return clean_numbers([value])[0]
    return None if isinstance(value, float) else value


def is_date_text(value: object) -> bool:
    return isinstance(value, str) and bool(_DATE.match(value))


def format_number(value: Any, spec: str | None) -> str:
    """A number as text with its format; blanks stay blank (never "None")."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if spec:
        return format(value, spec)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:,.{display_decimals([value])}f}"
