"""The injected data-access object: the only way operations reach data.

It holds one gateway per kind (macro, market, derivatives), unwraps each ``Fetched`` into its pandas
value and records the provenance of every fetch, so a run can say exactly where its numbers came
from. The engine never imports a gateway; the services build a ``DataAccess`` over gateways and pass it in.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from contracts.data import DerivativesGateway, Fetched, MacroGateway, MarketGateway, Provenance


class DataAccess:
    """Gateways for one run (or one session), with a provenance log."""

    def __init__(self, macro: MacroGateway, market: MarketGateway, derivatives: DerivativesGateway):
        self.macro = macro
        self.market = market
        self.derivatives = derivatives
        self.provenance: list[Provenance] = []

    def fresh(self) -> DataAccess:
        """A copy sharing the gateways with an empty provenance log (one per run)."""
        return DataAccess(self.macro, self.market, self.derivatives)

    def _keep(self, fetched: Fetched[Any]) -> Any:
        self.provenance.append(fetched.provenance)
        return fetched.value

    def series(self, series_id: str, start: date | None = None, end: date | None = None, **fred: str | None) -> pd.Series:
        return self._keep(self.macro.series(series_id, start, end, **fred))

    def series_info(self, series_id: str) -> dict[str, Any]:
        return self._keep(self.macro.series_info(series_id))

    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None, basis: str = "price") -> pd.DataFrame:
        if basis == "price":
            return self._keep(self.market.daily_bars(symbol, start, end))
        return self._keep(self.market.daily_bars(symbol, start, end, basis=basis))

    def quote(self, symbol: str) -> dict[str, Any]:
        return self._keep(self.market.quote(symbol))

    def expirations(self, symbol: str) -> list[date]:
        return self._keep(self.derivatives.expirations(symbol))

    def options_chain(self, symbol: str, expiration: date | None = None) -> pd.DataFrame:
        return self._keep(self.derivatives.options_chain(symbol, expiration))

    def reference_date(self) -> date | None:
        """The date relative inputs (``today-5y``) resolve against: the sample snapshot's as-of date when
        every kind of data comes from the bundled sample, otherwise None (the wall clock applies).

        The run flow passes it as ``today`` to ``resolve_inputs`` and ``execute``; ``execute`` uses it
        itself when no ``today`` is given.
        """
        dates = []
        for gateway in (self.macro, self.market, self.derivatives):
            method = getattr(gateway, "reference_date", None)
            found = method() if callable(method) else None
            if found is None:
                return None
            dates.append(found)
        return max(dates)

    def describe(self) -> dict[str, str]:
        """Which provider serves each kind of data (for the UI's data-mode badge)."""
        return {"macro": self.macro.name, "market": self.market.name, "derivatives": self.derivatives.name}
