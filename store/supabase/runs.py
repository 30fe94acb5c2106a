"""Runs on Supabase. What is recorded is written only by the server: ``reserve_run``, ``finish_run``,
``find_cached_run``, ``log_cached_run`` and the queue's ``reserve_queued_run`` and ``pending_queued_runs``
are executable by the service role alone and are called with the server-side client, naming the acting
user (``p_user_id``). What a user reads goes with their own JWT: ``my_runs`` (which resolves a cache
hit's outputs through the run it reuses, beyond the reach of the caller's RLS on that run) and the count
of today's runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.records import RunRecord, User
from contracts.rules import DAILY_QUOTA_STATUSES
from store.common import STALE_AFTER_S, day_start
from store.supabase.client import Clients, execute, parse_time


def run_from_row(row: dict[str, Any]) -> RunRecord:
    """A row of ``public.my_runs`` as a ``RunRecord``."""
    return RunRecord(
        id=row["id"],
        model_id=row["model_id"],
        model_version_id=row["model_version_id"],
        user_id=row["user_id"],
        inputs=row.get("inputs_json") or {},
        outputs=row.get("outputs_json"),
        runtime_ms=row.get("runtime_ms"),
        status=row["status"],
        error_message=row.get("error_message"),
        cached=bool(row.get("cached")),
        created_at=parse_time(row.get("created_at")),
        model_slug=row.get("model_slug"),
        cached_from_run_id=row.get("cached_from_run_id"),
        queued=bool(row.get("queued")),
    )


class SupabaseRuns:
    """The run flow's persistence, atomic in SQL functions."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def reserve_run(
        self, viewer: User, model_id: str, version_id: str, inputs: dict[str, Any], inputs_hash: str, stale_after_s: float = STALE_AFTER_S,
        *, queued: bool = False,
    ) -> str:
        params = {
            "p_user_id": viewer.id,
            "p_model_id": model_id,
            "p_model_version_id": version_id,
            "p_inputs_json": inputs,
            "p_inputs_hash": inputs_hash,
            "p_stale_after_s": float(stale_after_s),
        }
        return str(execute(self._clients.server().rpc("reserve_queued_run" if queued else "reserve_run", params)).data)

    def finish_run(
        self, viewer: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None,
        *, error_code: str | None = None, error_operation: str | None = None,
    ) -> None:
        params = {
            "p_user_id": viewer.id,
            "p_run_id": run_id,
            "p_status": status,
            "p_outputs_json": outputs,
            "p_runtime_ms": runtime_ms,
            "p_error_message": error,
            "p_error_code": error_code,
            "p_error_operation": error_operation,
        }
        execute(self._clients.server().rpc("finish_run", params))

    def find_cached_run(self, viewer: User | None, version_id: str, inputs_hash: str) -> tuple[str, dict[str, Any]] | None:
        if viewer is None:
            return None  # visitors do not run models
        params = {"p_user_id": viewer.id, "p_model_version_id": version_id, "p_inputs_hash": inputs_hash}
        rows = execute(self._clients.server().rpc("find_cached_run", params)).data
        return (rows[0]["run_id"], rows[0]["outputs_json"]) if rows else None

    def log_cached_run(self, viewer: User, source_run_id: str, inputs_hash: str) -> str:
        """Record a cache hit for the viewer: a reference to the run that holds the outputs (and its inputs), not a copy."""
        params = {"p_user_id": viewer.id, "p_source_run_id": source_run_id, "p_inputs_hash": inputs_hash}
        return str(execute(self._clients.server().rpc("log_cached_run", params)).data)

    def runs_today(self, viewer: User) -> int:
        since = day_start(datetime.now(UTC)).isoformat()
        client = self._clients.for_viewer(viewer)
        request = (
            client.table("model_runs").select("id", count="exact", head=True)
            .eq("user_id", viewer.id).eq("cached", False).in_("status", list(DAILY_QUOTA_STATUSES)).gte("created_at", since)
        )
        return int(execute(request).count or 0)

    def list_runs(self, viewer: User, limit: int = 50) -> list[RunRecord]:
        rows = execute(self._clients.for_viewer(viewer).rpc("my_runs", {"p_run_id": None, "p_limit": int(limit)})).data
        return [run_from_row(r) for r in rows]

    def get_run(self, viewer: User, run_id: str) -> RunRecord | None:
        rows = execute(self._clients.for_viewer(viewer).rpc("my_runs", {"p_run_id": run_id, "p_limit": 1})).data
        return run_from_row(rows[0]) if rows else None

    def pending_queued_runs(self, older_than_s: float, limit: int = 100) -> list[RunRecord]:
        """``pending_queued_runs()`` with the server-side key: it reads every user's runs, so no user's JWT may call it."""
        params = {"p_older_than_s": max(float(older_than_s), 0.0), "p_limit": min(max(int(limit), 1), 1000)}
        return [run_from_row(r) for r in execute(self._clients.server().rpc("pending_queued_runs", params)).data]

    def usage(self, model_id: str, since: datetime) -> list[dict[str, Any]]:
        request = (
            self._clients.for_viewer(None).table("model_usage_daily").select("date, runs, unique_users, errors, cache_hits")
            .eq("model_id", model_id).gte("date", since.date().isoformat()).order("date")
        )
        return list(execute(request).data)

    def model_analytics(self, viewer: User, model_id: str, days: int = 30) -> dict[str, Any]:
        """``model_analytics()`` under the viewer's JWT: the owner's or an admin's, refused to anyone else."""
        return dict(execute(self._clients.for_viewer(viewer).rpc("model_analytics", {"p_model_id": model_id, "p_days": int(days)})).data or {})

    def admin_usage(self, viewer: User, days: int = 30) -> dict[str, Any]:
        """``admin_usage()`` under the viewer's JWT: an admin's only."""
        return dict(execute(self._clients.for_viewer(viewer).rpc("admin_usage", {"p_days": int(days)})).data or {})
