"""Models and their versions on Supabase: the ``model_listing`` view, ``get_model_by_slug``, inserts
under the author's RLS policies, ``fork_model``, and the templates loaded with the service-role key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.code import CodeBundle
from contracts.dsl import ModelMeta
from contracts.errors import PermissionDenied
from contracts.records import ForkEntry, ForkSource, Lineage, Model, ModelQuery, ModelSummary, ModelVersion, User
from store.common import ADD_VERSION_REFUSED, CODE_LISTING_REFUSED, squatter_slug
from store.supabase.client import Clients, execute, parse_time
from store.supabase.filters import TAG_WORD, postgrest_like

SORT_ORDER = {
    "popular": [("runs_30d", True), ("rating_count", True), ("created_at", True)],
    "top_rated": [("rating_avg", True), ("rating_count", True), ("created_at", True)],
    "newest": [("created_at", True)],
}


def summary_from_row(row: dict[str, Any]) -> ModelSummary:
    """A ``model_listing`` row as a ``ModelSummary``."""
    return ModelSummary(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row.get("description") or "",
        lab_scope=row["lab_scope"],
        tags=tuple(row.get("tags") or ()),
        difficulty=row["difficulty"],
        visibility=row["visibility"],
        owner_id=row.get("owner_id"),
        forked_from_id=row.get("forked_from_id"),
        created_at=parse_time(row.get("created_at")),
        updated_at=parse_time(row.get("updated_at")),
        runs_30d=int(row.get("runs_30d") or 0),
        rating_avg=row.get("rating_avg"),
        rating_count=int(row.get("rating_count") or 0),
        is_template=bool(row.get("is_template")),
    )


def version_from_row(row: dict[str, Any]) -> ModelVersion:
    """A ``model_versions`` row as a ``ModelVersion``."""
    return ModelVersion(
        id=row["id"],
        model_id=row["model_id"],
        version=row["version"],
        dsl=row["dsl_json"],
        input_schema=row.get("input_schema") or {"fields": []},
        output_schema=row.get("output_schema") or {},
        changelog=row.get("changelog") or "",
        status=row.get("status", "published"),
        created_by=row.get("created_by"),
        created_at=parse_time(row.get("created_at")),
        runtime=row.get("runtime") or "dsl",
        code_bundle=row.get("code_bundle"),
        dependencies=tuple(row.get("dependencies") or ()),
        review_status=row.get("review_status"),
        author_name=row.get("author_name"),
    )


def code_columns(code: CodeBundle | None) -> dict[str, Any]:
    """The code columns of a new version: a code version waits for review."""
    if code is None:
        return {}
    return {"runtime": code.runtime, "code_bundle": code.source, "dependencies": list(code.dependencies), "review_status": "pending"}


class SupabaseModels:
    """The registry's reads and the authors' writes, under row-level security."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def list_models(self, viewer: User | None, query: ModelQuery) -> list[ModelSummary]:
        client = self._clients.for_viewer(viewer)
        request = client.table("model_listing").select("*")
        if query.only_mine and viewer is not None:
            request = request.eq("owner_id", viewer.id)
        if query.saved_only and viewer is not None:
            saved = execute(client.table("model_saves").select("model_id").eq("user_id", viewer.id)).data
            ids = sorted({r["model_id"] for r in saved})
            if not ids:
                return []
            request = request.in_("id", ids)
        if query.lab_scope:
            request = request.in_("lab_scope", [query.lab_scope, "both"])
        if query.difficulty:
            request = request.eq("difficulty", query.difficulty)
        if query.tags:
            request = request.contains("tags", list(query.tags))
        for word in query.text.split():
            pattern = postgrest_like(word)
            clauses = [f"name.ilike.{pattern}", f"description.ilike.{pattern}", f"slug.ilike.{pattern}"]
            if TAG_WORD.match(word.lower()):
                clauses.append(f"tags.cs.{{{word.lower()}}}")
            request = request.or_(",".join(clauses))
        for column, desc in SORT_ORDER.get(query.sort, SORT_ORDER["popular"]):
            request = request.order(column, desc=desc, nullsfirst=False)
        rows = execute(request.limit(int(query.limit))).data
        return [summary_from_row(r) for r in rows]

    def _by_slug(self, slug: str, viewer: User | None) -> dict[str, Any] | None:
        data = execute(self._clients.for_viewer(viewer).rpc("get_model_by_slug", {"p_slug": slug})).data
        return data or None

    def get_model(self, slug: str, viewer: User | None) -> Model | None:
        found = self._by_slug(slug, viewer)
        if not found:
            return None
        row = found["model"]
        versions = [version_from_row(v) for v in found.get("versions") or []]
        own = viewer is not None and row.get("owner_id") == viewer.id
        if (row.get("kind") or "dsl") != "dsl" and not own:  # others run the newest approved version (the only ones they see)
            latest = next((v for v in versions if v.status == "published"), None)
        else:
            latest = next((v for v in versions if v.id == row.get("current_version_id")), None)
        return Model(summary_from_row(row), latest)

    def list_versions(self, slug: str, viewer: User | None) -> list[ModelVersion]:
        found = self._by_slug(slug, viewer)
        return [version_from_row(v) for v in (found or {}).get("versions") or []]

    def _insert_model(
        self, client: Any, owner_id: str | None, meta: ModelMeta, visibility: str, changelog: str, *, template: bool = False, code: CodeBundle | None = None
    ) -> str:
        if code is not None and visibility != "private":
            raise PermissionDenied(CODE_LISTING_REFUSED)
        row = {
            "slug": meta.slug,
            "name": meta.name,
            "description": meta.description,
            "owner_id": owner_id,
            "lab_scope": meta.lab_scope,
            "tags": list(meta.tags),
            "difficulty": meta.difficulty,
            "visibility": visibility,
            "is_template": template,
        }
        if code is not None:
            row |= {"kind": code.runtime, "review_status": "pending"}
        model_id = execute(client.table("models").insert(row)).data[0]["id"]
        try:
            version = {
                "model_id": model_id,
                "version": 1,
                "dsl_json": meta.dsl,
                "input_schema": meta.input_schema,
                "output_schema": meta.output_schema,
                "changelog": changelog,
                "status": "published",
                "created_by": owner_id,
            } | code_columns(code)
            version_id = execute(client.table("model_versions").insert(version)).data[0]["id"]
            execute(client.table("models").update({"current_version_id": version_id}).eq("id", model_id))
        except Exception:
            execute(client.table("models").delete().eq("id", model_id))
            raise
        return model_id

    def create_model(
        self, owner: User | None, meta: ModelMeta, visibility: str = "private", changelog: str = "First version", code: CodeBundle | None = None
    ) -> Model:
        client = self._clients.for_viewer(owner) if owner else self._clients.admin()
        self._insert_model(client, owner.id if owner else None, meta, visibility, changelog, code=code)
        model = self.get_model(meta.slug, owner)
        assert model is not None
        return model

    def slug_taken(self, slug: str) -> bool:
        """Whether any model already has this slug (``model_slug_taken()`` answers yes or no, never which model)."""
        return bool(execute(self._clients.for_viewer(None).rpc("model_slug_taken", {"p_slug": slug})).data)

    def add_version(
        self, viewer: User, model_id: str, dsl: dict[str, Any], input_schema: dict[str, Any], output_schema: dict[str, Any], changelog: str, status: str = "published",
        code: CodeBundle | None = None,
    ) -> ModelVersion:
        client = self._clients.for_viewer(viewer)
        kind = self._require_author(client, viewer, model_id)
        if (code is None) != (kind == "dsl") or (code is not None and code.runtime != kind):
            raise PermissionDenied(f"This is a {kind} model; a new version must be {kind} too (fork it to change the language).")
        rows = execute(client.table("model_versions").select("version").eq("model_id", model_id).order("version", desc=True).limit(1)).data
        number = (rows[0]["version"] if rows else 0) + 1
        row = {
            "model_id": model_id,
            "version": number,
            "dsl_json": dsl,
            "input_schema": input_schema,
            "output_schema": output_schema,
            "changelog": changelog,
            "status": status,
            "created_by": viewer.id,
        } | code_columns(code)
        created = execute(client.table("model_versions").insert(row)).data[0]
        if status == "published":
            execute(client.table("models").update({"current_version_id": created["id"], "updated_at": datetime.now(UTC).isoformat()}).eq("id", model_id))
        return version_from_row(created)

    @staticmethod
    def _require_author(client: Any, viewer: User, model_id: str) -> str:
        """The model's kind, or ``PermissionDenied`` unless the viewer owns it (RLS shows them their own models)."""
        rows = execute(client.table("models").select("owner_id,kind").eq("id", model_id).limit(1)).data
        if not rows or rows[0].get("owner_id") != viewer.id:
            raise PermissionDenied(ADD_VERSION_REFUSED)
        return rows[0].get("kind") or "dsl"

    def set_visibility(self, viewer: User, model_id: str, visibility: str) -> None:
        if visibility != "private":
            mine = execute(self._clients.for_viewer(viewer).table("models").select("kind,review_status,owner_id").eq("id", model_id).limit(1)).data
            if mine and mine[0].get("owner_id") == viewer.id and (mine[0].get("kind") or "dsl") != "dsl" and mine[0].get("review_status") != "approved":
                raise PermissionDenied(CODE_LISTING_REFUSED)
        rows = execute(self._clients.for_viewer(viewer).table("models").update({"visibility": visibility}).eq("id", model_id)).data
        if not rows:
            raise PermissionDenied(ADD_VERSION_REFUSED)

    def fork_model(self, viewer: User, source_slug: str, new_slug: str, name: str | None) -> Model:
        execute(self._clients.for_viewer(viewer).rpc("fork_model", {"p_source_slug": source_slug, "p_new_slug": new_slug, "p_name": name}))
        model = self.get_model(new_slug, viewer)
        assert model is not None
        return model

    def lineage(self, slug: str, viewer: User | None) -> Lineage | None:
        """``model_lineage()``: the model's source and its listable forks (None when the model is not visible)."""
        data = execute(self._clients.for_viewer(viewer).rpc("model_lineage", {"p_slug": slug})).data
        if not data:
            return None
        src = data.get("source")
        source = ForkSource(src["slug"], src["name"], src.get("version"), src.get("owner_name"), bool(src.get("is_template"))) if src else None
        forks = tuple(
            ForkEntry(f["slug"], f["name"], f.get("owner_name"), parse_time(f.get("created_at")), f.get("version")) for f in data.get("forks") or []
        )
        return Lineage(source, forks, source_hidden=bool(data.get("source_id")) and source is None)

    def take_source_version(self, viewer: User, fork_slug: str, version: int) -> ModelVersion:
        """``take_source_version()``: the source's version copied into the fork, atomically, under the owner's JWT."""
        row = execute(self._clients.for_viewer(viewer).rpc("take_source_version", {"p_fork_slug": fork_slug, "p_version": int(version)})).data
        if isinstance(row, list):
            row = row[0]
        return version_from_row({**row, "author_name": viewer.display_name})

    def load_seeds(self, metas: list[ModelMeta]) -> int:
        """Reserve the templates' slugs and insert the templates that are missing (service-role key); return how many.

        A user's model that took a template's slug before it was reserved is moved aside to
        ``<slug>-<its id>`` first, so the template is never hidden.
        """
        if not metas:
            return 0
        admin = self._clients.admin()
        slugs = [m.slug for m in metas]
        execute(admin.table("reserved_slugs").upsert([{"slug": s} for s in slugs], on_conflict="slug", ignore_duplicates=True))
        rows = execute(admin.table("models").select("id, slug, is_template").in_("slug", slugs)).data
        for row in rows:
            if not row["is_template"]:
                execute(admin.table("models").update({"slug": squatter_slug(row["slug"], row["id"])}).eq("id", row["id"]))
        existing = {r["slug"] for r in rows if r["is_template"]}
        added = 0
        for meta in metas:
            if meta.slug not in existing:
                self._insert_model(admin, None, meta, "public", "Template", template=True)
                added += 1
        return added
