"""The data providers' daily event counts and the admins' health report on Supabase (migration 20250101000046):
``record_provider_events()`` with the server-side key (the service role's alone), ``admin_health()`` under the
viewer's JWT (an admin's only)."""

from __future__ import annotations

from typing import Any

from contracts.health import ProviderEventCount
from contracts.records import User
from store.supabase.client import Clients, execute


class SupabaseHealth:
    """``provider_health_daily`` (added to in batches by the server) and failed runs per operation, for admins."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def record_provider_events(self, rows: list[ProviderEventCount]) -> None:
        if not rows:
            return
        batch = [{"provider": r.provider, "kind": r.kind, "date": r.date, "event": r.event, "code": r.code, "count": int(r.count)} for r in rows]
        execute(self._clients.server().rpc("record_provider_events", {"p_rows": batch}))

    def admin_health(self, viewer: User, days: int = 30) -> dict[str, Any]:
        return dict(execute(self._clients.for_viewer(viewer).rpc("admin_health", {"p_days": int(days)})).data or {})
