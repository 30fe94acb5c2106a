"""Published artifacts on Supabase: ``publish_artifact`` builds the payload in SQL
(``public.artifact_payload``) under the publisher's JWT, ``get_artifact_by_slug`` reads unlisted ones
by link, and the server counts views (``record_artifact_view``, service role only)."""

from __future__ import annotations

from typing import Any

from contracts.records import Artifact, User
from store.supabase.client import Clients, execute, parse_time


def artifact_from_row(row: dict[str, Any]) -> Artifact:
    """A ``published_artifacts`` row as an ``Artifact``."""
    return Artifact(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        summary=row.get("summary") or "",
        visibility=row["visibility"],
        views=int(row.get("views") or 0),
        model_run_id=row["model_run_id"],
        model_id=row["model_id"],
        version_id=row["version_id"],
        owner_id=row["owner_id"],
        created_at=parse_time(row.get("created_at")),
        payload=row["payload"],
        type=row.get("type") or "model_run",
    )


class SupabaseArtifacts:
    """Publishing, reading by slug, counting views, listing."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def publish(self, viewer: User, run_id: str, slug: str, title: str, summary: str, visibility: str) -> Artifact:
        params = {"p_model_run_id": run_id, "p_slug": slug, "p_title": title, "p_summary": summary, "p_visibility": visibility}
        return artifact_from_row(execute(self._clients.for_viewer(viewer).rpc("publish_artifact", params)).data)

    def get_artifact(self, slug: str, viewer: User | None) -> Artifact | None:
        rows = execute(self._clients.for_viewer(viewer).rpc("get_artifact_by_slug", {"p_slug": slug})).data
        return artifact_from_row(rows[0]) if rows else None

    def count_view(self, artifact_id: str, viewer_key: str) -> int:
        params = {"p_artifact_id": artifact_id, "p_viewer_key": viewer_key}
        return int(execute(self._clients.server().rpc("record_artifact_view", params)).data or 0)

    def list_artifacts(self, viewer: User | None, mine: bool, limit: int = 50) -> list[Artifact]:
        request = self._clients.for_viewer(viewer).table("published_artifacts").select("*")
        request = request.eq("owner_id", viewer.id) if mine and viewer else request.eq("visibility", "public")
        return [artifact_from_row(r) for r in execute(request.order("created_at", desc=True).limit(int(limit))).data]
