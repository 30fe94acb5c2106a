"""What the data providers' cache reports (issue 13, the admin page's providers' health).

The gateways' cache tells a ``GatewayEvents`` listener what happened to each call: served from the cache
(``hit``), fetched from the provider (``miss``), answered with an expired copy because the provider failed
(``stale``), or failed at the provider (``error``, or ``rate_limited`` when the provider refused for too many
requests), each with the call's kind (``series``, ``options_chain``...) and, for failures, the typed error's
code. The gateways know only this protocol; the services count the events and keep them per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PROVIDER_EVENTS: tuple[str, ...] = ("hit", "miss", "stale", "error", "rate_limited")
FAILURE_EVENTS: tuple[str, ...] = ("stale", "error", "rate_limited")  # the events that carry an error code


class GatewayEvents(Protocol):
    """Receives the cache's events; must be cheap (it is called on every cache hit) and never raise."""

    def note(self, provider: str, kind: str, event: str, code: str = "") -> None: ...


@dataclass(frozen=True)
class ProviderEventCount:
    """How many ``event``s one provider's ``kind`` of call had on a UTC ``date`` (ISO), per error ``code`` ('' if none)."""

    provider: str
    kind: str
    date: str
    event: str
    code: str
    count: int

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.provider, self.kind, self.date, self.event, self.code)
