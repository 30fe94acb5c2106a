"""Published artifacts on sqlite: a successful run frozen with everything needed to render it.

Unlisted artifacts are readable by exact slug and never listed, as with ``get_artifact_by_slug`` in
the Supabase migrations, and their address ends in 128 random bits made here; the payload has the
shape of ``contracts.artifact.ArtifactPayload``, the same as ``public.artifact_payload`` builds in SQL
(a test compares the two). A run whose model is no longer shared with its owner cannot be published.
Views are counted once per viewer per UTC day (``artifact_views``).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC
from typing import Any

from contracts.artifact import ArtifactModel, ArtifactPayload, ArtifactRun, ArtifactVersion
from contracts.errors import ConflictError, InputInvalid, NotFoundError, PermissionDenied
from contracts.records import Artifact, User
from store.common import UNPUBLISHABLE, dt, new_id, ts, unlisted_slug
from store.sqlite.db import Database
from store.sqlite.runs import RESOLVED_RUNS
from store.sqlite.visibility import VISIBLE


def artifact_from_row(row: sqlite3.Row) -> Artifact:
    """A ``published_artifacts`` row as an ``Artifact``."""
    return Artifact(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        summary=row["summary"],
        visibility=row["visibility"],
        views=row["views"],
        model_run_id=row["model_run_id"],
        model_id=row["model_id"],
        version_id=row["version_id"],
        owner_id=row["owner_id"],
        created_at=dt(row["created_at"]),
        payload=json.loads(row["payload"]),
        type=row["type"],
    )


def build_payload(conn: sqlite3.Connection, run: sqlite3.Row) -> dict[str, Any]:
    """The artifact payload of a run of ``RESOLVED_RUNS``: the model and version as they are at publishing, the inputs and the resolved outputs."""
    model = conn.execute("SELECT * FROM models WHERE id = ?", (run["model_id"],)).fetchone()
    version = conn.execute("SELECT * FROM model_versions WHERE id = ?", (run["model_version_id"],)).fetchone()
    return ArtifactPayload(
        model=ArtifactModel(
            id=model["id"], slug=model["slug"], name=model["name"], description=model["description"],
            lab_scope=model["lab_scope"], tags=json.loads(model["tags"]), difficulty=model["difficulty"],
        ),
        version=ArtifactVersion(
            id=version["id"], version=version["version"], dsl=json.loads(version["dsl_json"]),
            input_schema=json.loads(version["input_schema"]), output_schema=json.loads(version["output_schema"]),
            changelog=version["changelog"],
        ),
        inputs=json.loads(run["inputs_json"]),
        result=json.loads(run["resolved_outputs"]),
        run=ArtifactRun(id=run["id"], created_at=run["created_at"], runtime_ms=run["runtime_ms"], cached=bool(run["cached"])),
    ).to_json()


class SqliteArtifacts:
    """Publishing, reading by slug, counting views, listing."""

    def __init__(self, db: Database):
        self._db = db

    def publish(self, viewer: User, run_id: str, slug: str, title: str, summary: str, visibility: str) -> Artifact:
        artifact_id = new_id()
        with self._db.tx() as conn:
            run = conn.execute(f"{RESOLVED_RUNS} WHERE r.id = ? AND r.user_id = ?", (run_id, viewer.id)).fetchone()
            if run is None:
                raise NotFoundError("That run does not exist or is not yours.")
            if conn.execute(f"SELECT 1 FROM models m WHERE m.id = ? AND {VISIBLE}", (run["model_id"], viewer.id)).fetchone() is None:
                raise PermissionDenied(UNPUBLISHABLE)
            if run["status"] != "success" or run["resolved_outputs"] is None:
                raise InputInvalid({"run_id": "Only a successful run can be published; run the model again."})
            payload = build_payload(conn, run)
            if visibility == "unlisted":
                slug = unlisted_slug(slug)
            try:
                conn.execute(
                    "INSERT INTO published_artifacts (id, slug, type, model_run_id, model_id, version_id, owner_id, title, summary, visibility, views,"
                    " payload, created_at) VALUES (?, ?, 'model_run', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    (artifact_id, slug, run_id, run["model_id"], run["model_version_id"], viewer.id, title, summary, visibility, json.dumps(payload),
                     ts(self._db.now())),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"The address '{slug}' is taken.") from exc
        row = self._db.one("SELECT * FROM published_artifacts WHERE id = ?", (artifact_id,))
        assert row is not None
        return artifact_from_row(row)

    def get_artifact(self, slug: str, viewer: User | None) -> Artifact | None:
        row = self._db.one("SELECT * FROM published_artifacts WHERE slug = ?", (slug,))
        return artifact_from_row(row) if row else None

    def count_view(self, artifact_id: str, viewer_key: str) -> int:
        today = self._db.now().astimezone(UTC).date().isoformat()
        with self._db.tx() as conn:
            if conn.execute("SELECT 1 FROM published_artifacts WHERE id = ?", (artifact_id,)).fetchone() is None:
                return 0
            conn.execute("DELETE FROM artifact_views WHERE artifact_id = ? AND date < ?", (artifact_id, today))
            counted = conn.execute(
                "INSERT INTO artifact_views (artifact_id, viewer_key, date) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (artifact_id, viewer_key, today)
            ).rowcount
            if counted:
                conn.execute("UPDATE published_artifacts SET views = views + 1 WHERE id = ?", (artifact_id,))
            row = conn.execute("SELECT views FROM published_artifacts WHERE id = ?", (artifact_id,)).fetchone()
        return int(row[0])

    def list_artifacts(self, viewer: User | None, mine: bool, limit: int = 50) -> list[Artifact]:
        if mine:
            if viewer is None:
                return []
            rows = self._db.all("SELECT * FROM published_artifacts WHERE owner_id = ? ORDER BY created_at DESC LIMIT ?", (viewer.id, int(limit)))
        else:
            rows = self._db.all("SELECT * FROM published_artifacts WHERE visibility = 'public' ORDER BY created_at DESC LIMIT ?", (int(limit),))
        return [artifact_from_row(r) for r in rows]
