"""The Supabase backend: supabase-py over PostgREST, with row-level security doing the access control.

Each signed-in user or guest gets their own ``supabase.Client`` (carried on ``User.session``) holding
that user's JWT, so every request runs under their RLS policies; anonymous visitors share one client
that never signs in. The service-role key is used only by admin tasks (``load_seeds``,
``set_profile``), never in a user's path. PostgREST's silent GET retries are turned off
(``postgrest_client_retry=False``) and every request has a timeout. User text that goes into a
PostgREST filter string is escaped (``postgrest_like``, ``postgrest_quote``).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts.dsl import ModelMeta
from contracts.errors import AuthError, AuthRequired, ConflictError, InputInvalid, NotFoundError, RateLimitExceeded, StoreUnavailable
from contracts.records import Artifact, Model, ModelQuery, ModelSummary, ModelVersion, Rating, RatingSummary, RunRecord, User
from store.common import check_credentials, day_start

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SORT_ORDER = {
    "popular": [("runs_30d", True), ("rating_count", True), ("created_at", True)],
    "top_rated": [("rating_avg", True), ("rating_count", True), ("created_at", True)],
    "newest": [("created_at", True)],
}
TAG_WORD = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def postgrest_quote(value: str) -> str:
    """A value safe inside a PostgREST logic tree (``or=(...)``): double-quoted, with ``\\`` and ``"`` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def postgrest_like(text: str) -> str:
    """An ``ilike`` pattern matching ``text`` literally anywhere, quoted for an ``or=`` filter.

    ``%`` and ``_`` are escaped for LIKE; ``*`` (PostgREST's wildcard, which cannot be escaped)
    becomes ``_``, matching any one character; commas, dots, colons and parentheses are safe inside
    the double quotes.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "_")
    return postgrest_quote(f"*{escaped}*")


def _dt(value: str | None) -> datetime:
    if not value:
        return datetime.fromtimestamp(0, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _raise_for(exc: Exception) -> None:
    """Turn a PostgREST / auth / transport failure into a typed store error."""
    from postgrest.exceptions import APIError

    if isinstance(exc, httpx.HTTPError):
        raise StoreUnavailable("The database did not answer; try again in a moment.") from exc
    if isinstance(exc, APIError):
        message = exc.message or ""
        if message.startswith("AUSTER:"):
            _, code, *rest = message.split(":", 3)
            detail = rest[0] if rest else ""
            if code == "auth_required":
                raise AuthRequired(detail or "do this") from exc
            if code == "not_found":
                raise NotFoundError(f"That {detail or 'item'} does not exist or is not visible to you.") from exc
            if code == "rate_limit_daily":
                limit, _, tier = ":".join(rest).partition(":")
                now = datetime.now(UTC)
                raise RateLimitExceeded("daily", int(limit), day_start(now) + timedelta(days=1), tier or "free") from exc
            if code == "rate_limit_minute":
                limit, _, when = ":".join(rest).partition(":")
                raise RateLimitExceeded("minute", int(limit), datetime.fromisoformat(when).replace(tzinfo=UTC)) from exc
            if code == "invalid":
                raise InputInvalid({"request": detail[:1].upper() + detail[1:] + "."}) from exc
        if exc.code == "23505":
            raise ConflictError("That address is taken; choose another.") from exc
        if exc.code in ("42501", "PGRST301", "PGRST302"):
            raise AuthRequired("do this") from exc
        raise StoreUnavailable(f"The database refused the request ({exc.code}).") from exc
    raise exc


class SupabaseStore:
    """Store over a Supabase project; construct once per process, users carry their own clients."""

    kind = "supabase"

    def __init__(
        self,
        url: str,
        anon_key: str,
        *,
        service_role_key: str | None = None,
        http_client_factory: Callable[[], httpx.Client] | None = None,
        auto_refresh_token: bool = True,
    ):
        self.url = url.rstrip("/")
        self._anon_key = anon_key
        self._service_key = service_role_key
        self._http = http_client_factory or (lambda: httpx.Client(timeout=TIMEOUT))
        self._auto_refresh = auto_refresh_token
        self._anon_client: Any = None
        self._admin_client: Any = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- clients
    def new_client(self, key: str | None = None) -> Any:
        """A fresh supabase client (one per browser session) with retries off and a timeout."""
        from supabase.lib.client_options import SyncClientOptions

        from supabase import create_client

        options = SyncClientOptions(
            httpx_client=self._http(),
            postgrest_client_retry=False,
            postgrest_client_timeout=TIMEOUT,
            persist_session=False,
            auto_refresh_token=self._auto_refresh,
        )
        return create_client(self.url, key or self._anon_key, options)

    def _client(self, viewer: User | None) -> Any:
        if viewer is not None and viewer.session is not None:
            return viewer.session
        if viewer is not None:
            raise AuthRequired("do this (your session has ended)")
        with self._lock:
            if self._anon_client is None:
                self._anon_client = self.new_client()
            return self._anon_client

    def _admin(self) -> Any:
        if not self._service_key:
            raise StoreUnavailable("This admin task needs SUPABASE_SERVICE_ROLE_KEY in the environment of the operator running it.")
        with self._lock:
            if self._admin_client is None:
                self._admin_client = self.new_client(self._service_key)
            return self._admin_client

    @staticmethod
    def _run(request: Any) -> Any:
        try:
            return request.execute()
        except Exception as exc:
            _raise_for(exc)
            raise

    # ----------------------------------------------------------------- identity
    def _user_from(self, client: Any, user_id: str) -> User:
        rows = self._run(client.table("profiles").select("*").eq("id", user_id).limit(1)).data
        if not rows:
            raise AuthError("Your account has no profile yet; try signing in again in a moment.")
        row = rows[0]
        return User(row["id"], row.get("email"), row.get("display_name") or "", row["tier"], row["role"], bool(row["is_guest"]), session=client)

    def _auth(self, call: Callable[[Any], Any], refusal: str) -> User:
        from supabase_auth.errors import AuthError as GoTrueError

        client = self.new_client()
        try:
            response = call(client)
        except GoTrueError as exc:
            raise AuthError(refusal if "credentials" in str(exc).lower() else f"{refusal} ({exc})") from exc
        except httpx.HTTPError as exc:
            raise StoreUnavailable("The sign-in service did not answer; try again in a moment.") from exc
        if response.session is None or response.user is None:
            raise AuthError("Check your inbox and confirm your email address, then sign in.")
        return self._user_from(client, response.user.id)

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        email = check_credentials(email, password)
        data = {"display_name": display_name} if display_name else {}
        return self._auth(lambda c: c.auth.sign_up({"email": email, "password": password, "options": {"data": data}}), "Could not create the account")

    def sign_in(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        return self._auth(
            lambda c: c.auth.sign_in_with_password({"email": email, "password": password}),
            "That email and password do not match an account; check them or sign up.",
        )

    def guest(self) -> User:
        return self._auth(lambda c: c.auth.sign_in_anonymously(), "Guest sessions are turned off for this project; sign up instead")

    def sign_out(self, user: User) -> None:
        if user.session is not None:
            with contextlib.suppress(Exception):  # signing out locally is what matters
                user.session.auth.sign_out()

    def refresh_user(self, user: User) -> User:
        return self._user_from(self._client(user), user.id)

    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User:
        changes = {k: v for k, v in (("tier", tier), ("role", role)) if v is not None}
        rows = self._run(self._admin().table("profiles").update(changes).eq("email", (email or "").strip().lower())).data
        if not rows:
            raise NotFoundError(f"No account uses {email}.")
        row = rows[0]
        return User(row["id"], row.get("email"), row.get("display_name") or "", row["tier"], row["role"], bool(row["is_guest"]))

    # ----------------------------------------------------------------- models
    @staticmethod
    def _summary(row: dict[str, Any]) -> ModelSummary:
        return ModelSummary(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            description=row.get("description") or "",
            lab_scope=row["lab_scope"],
            tags=tuple(row.get("tags") or ()),
            difficulty=row["difficulty"],
            visibility=row["visibility"],
            author_id=row.get("author_id"),
            forked_from_id=row.get("forked_from_id"),
            created_at=_dt(row.get("created_at")),
            updated_at=_dt(row.get("updated_at")),
            runs_30d=int(row.get("runs_30d") or 0),
            rating_avg=row.get("rating_avg"),
            rating_count=int(row.get("rating_count") or 0),
        )

    @staticmethod
    def _version(row: dict[str, Any]) -> ModelVersion:
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
            created_at=_dt(row.get("created_at")),
        )

    def list_models(self, viewer: User | None, query: ModelQuery) -> list[ModelSummary]:
        client = self._client(viewer)
        request = client.table("model_listing").select("*")
        if query.only_mine and viewer is not None:
            request = request.eq("author_id", viewer.id)
        if query.saved_only and viewer is not None:
            ids = sorted(self.saved_ids(viewer))
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
        rows = self._run(request.limit(int(query.limit))).data
        return [self._summary(r) for r in rows]

    def _by_slug(self, slug: str, viewer: User | None) -> dict[str, Any] | None:
        data = self._run(self._client(viewer).rpc("get_model_by_slug", {"p_slug": slug})).data
        return data or None

    def get_model(self, slug: str, viewer: User | None) -> Model | None:
        found = self._by_slug(slug, viewer)
        if not found:
            return None
        row = found["model"]
        versions = [self._version(v) for v in found.get("versions") or []]
        latest = next((v for v in versions if v.id == row.get("current_version_id")), None)
        return Model(self._summary(row), latest)

    def list_versions(self, slug: str, viewer: User | None) -> list[ModelVersion]:
        found = self._by_slug(slug, viewer)
        return [self._version(v) for v in (found or {}).get("versions") or []]

    def _insert_model(self, client: Any, author_id: str | None, meta: ModelMeta, visibility: str, changelog: str) -> str:
        row = {
            "slug": meta.slug,
            "name": meta.name,
            "description": meta.description,
            "author_id": author_id,
            "lab_scope": meta.lab_scope,
            "tags": list(meta.tags),
            "difficulty": meta.difficulty,
            "visibility": visibility,
        }
        model_id = self._run(client.table("models").insert(row)).data[0]["id"]
        try:
            version = {
                "model_id": model_id,
                "version": 1,
                "dsl_json": meta.dsl,
                "input_schema": meta.input_schema,
                "output_schema": meta.output_schema,
                "changelog": changelog,
                "status": "published",
                "created_by": author_id,
            }
            version_id = self._run(client.table("model_versions").insert(version)).data[0]["id"]
            self._run(client.table("models").update({"current_version_id": version_id}).eq("id", model_id))
        except Exception:
            self._run(client.table("models").delete().eq("id", model_id))
            raise
        return model_id

    def create_model(self, owner: User | None, meta: ModelMeta, visibility: str = "private") -> Model:
        client = self._client(owner) if owner else self._admin()
        self._insert_model(client, owner.id if owner else None, meta, visibility, "First version")
        model = self.get_model(meta.slug, owner)
        assert model is not None
        return model

    def add_version(
        self, viewer: User, model_id: str, dsl: dict[str, Any], input_schema: dict[str, Any], output_schema: dict[str, Any], changelog: str, status: str = "published"
    ) -> ModelVersion:
        client = self._client(viewer)
        rows = self._run(client.table("model_versions").select("version").eq("model_id", model_id).order("version", desc=True).limit(1)).data
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
        }
        created = self._run(client.table("model_versions").insert(row)).data[0]
        if status == "published":
            self._run(client.table("models").update({"current_version_id": created["id"], "updated_at": datetime.now(UTC).isoformat()}).eq("id", model_id))
        return self._version(created)

    def set_visibility(self, viewer: User, model_id: str, visibility: str) -> None:
        rows = self._run(self._client(viewer).table("models").update({"visibility": visibility}).eq("id", model_id)).data
        if not rows:
            raise NotFoundError("That model does not exist or is not yours.")

    def fork_model(self, viewer: User, source_slug: str, new_slug: str, name: str | None) -> Model:
        self._run(self._client(viewer).rpc("fork_model", {"p_source_slug": source_slug, "p_new_slug": new_slug, "p_name": name}))
        model = self.get_model(new_slug, viewer)
        assert model is not None
        return model

    def load_seeds(self, metas: list[ModelMeta]) -> int:
        admin = self._admin()
        existing = {r["slug"] for r in self._run(admin.table("models").select("slug").in_("slug", [m.slug for m in metas])).data} if metas else set()
        added = 0
        for meta in metas:
            if meta.slug not in existing:
                self._insert_model(admin, None, meta, "public", "Template")
                added += 1
        return added

    # ----------------------------------------------------------------- runs
    def reserve_run(self, viewer: User, model_id: str, version_id: str, inputs: dict[str, Any], inputs_hash: str) -> str:
        params = {"p_model_id": model_id, "p_version_id": version_id, "p_inputs": inputs, "p_inputs_hash": inputs_hash}
        return str(self._run(self._client(viewer).rpc("reserve_run", params)).data)

    def finish_run(self, viewer: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None) -> None:
        params = {"p_run_id": run_id, "p_status": status, "p_outputs": outputs, "p_runtime_ms": runtime_ms, "p_error": error}
        self._run(self._client(viewer).rpc("finish_run", params))

    def find_cached_run(self, viewer: User | None, version_id: str, inputs_hash: str) -> tuple[str, dict[str, Any]] | None:
        rows = self._run(self._client(viewer).rpc("find_cached_run", {"p_version_id": version_id, "p_inputs_hash": inputs_hash})).data
        return (rows[0]["run_id"], rows[0]["outputs"]) if rows else None

    def log_cached_run(self, viewer: User, source_run_id: str, inputs: dict[str, Any]) -> str:
        return str(self._run(self._client(viewer).rpc("log_cached_run", {"p_source_run_id": source_run_id, "p_inputs": inputs})).data)

    def runs_today(self, viewer: User) -> int:
        since = day_start(datetime.now(UTC)).isoformat()
        request = self._client(viewer).table("model_runs").select("id", count="exact", head=True).eq("user_id", viewer.id).eq("cached", False).gte("created_at", since)
        return int(self._run(request).count or 0)

    @staticmethod
    def _run_record(row: dict[str, Any]) -> RunRecord:
        return RunRecord(
            id=row["id"],
            model_id=row["model_id"],
            version_id=row["version_id"],
            user_id=row["user_id"],
            inputs=row.get("inputs") or {},
            outputs=row.get("outputs"),
            runtime_ms=row.get("runtime_ms"),
            status=row["status"],
            error=row.get("error"),
            cached=bool(row.get("cached")),
            created_at=_dt(row.get("created_at")),
            model_slug=(row.get("models") or {}).get("slug"),
        )

    def list_runs(self, viewer: User, limit: int = 50) -> list[RunRecord]:
        request = self._client(viewer).table("model_runs").select("*, models(slug)").eq("user_id", viewer.id).order("created_at", desc=True).limit(int(limit))
        return [self._run_record(r) for r in self._run(request).data]

    def get_run(self, viewer: User, run_id: str) -> RunRecord | None:
        rows = self._run(self._client(viewer).table("model_runs").select("*, models(slug)").eq("id", run_id).limit(1)).data
        return self._run_record(rows[0]) if rows else None

    def usage(self, model_id: str, since: datetime) -> list[dict[str, Any]]:
        request = self._client(None).table("model_usage_daily").select("day, runs, unique_users").eq("model_id", model_id).gte("day", since.date().isoformat()).order("day")
        return list(self._run(request).data)

    # ----------------------------------------------------------------- social
    def save(self, viewer: User, model_id: str) -> None:
        request = self._client(viewer).table("model_saves").upsert({"user_id": viewer.id, "model_id": model_id}, on_conflict="user_id,model_id", ignore_duplicates=True)
        self._run(request)

    def unsave(self, viewer: User, model_id: str) -> None:
        self._run(self._client(viewer).table("model_saves").delete().eq("user_id", viewer.id).eq("model_id", model_id))

    def saved_ids(self, viewer: User) -> set[str]:
        rows = self._run(self._client(viewer).table("model_saves").select("model_id").eq("user_id", viewer.id)).data
        return {r["model_id"] for r in rows}

    @staticmethod
    def _rating(row: dict[str, Any]) -> Rating:
        return Rating(row["user_id"], row["model_id"], int(row["rating"]), row.get("review") or "", _dt(row.get("created_at")), _dt(row.get("updated_at")))

    def rate(self, viewer: User, model_id: str, rating: int, review: str) -> Rating:
        row = {"user_id": viewer.id, "model_id": model_id, "rating": rating, "review": review, "updated_at": datetime.now(UTC).isoformat()}
        rows = self._run(self._client(viewer).table("model_ratings").upsert(row, on_conflict="user_id,model_id")).data
        return self._rating(rows[0])

    def ratings(self, model_id: str, viewer: User | None) -> RatingSummary:
        rows = self._run(self._client(viewer).table("model_ratings").select("*").eq("model_id", model_id).order("updated_at", desc=True)).data
        reviews = tuple(self._rating(r) for r in rows)
        mine = next((r for r in reviews if viewer and r.user_id == viewer.id), None)
        average = round(sum(r.rating for r in reviews) / len(reviews), 2) if reviews else None
        return RatingSummary(average, len(reviews), reviews, mine)

    # ----------------------------------------------------------------- artifacts
    @staticmethod
    def _artifact(row: dict[str, Any]) -> Artifact:
        return Artifact(
            id=row["id"],
            slug=row["slug"],
            title=row["title"],
            summary=row.get("summary") or "",
            visibility=row["visibility"],
            view_count=int(row.get("view_count") or 0),
            run_id=row["run_id"],
            model_id=row["model_id"],
            version_id=row["version_id"],
            created_by=row["created_by"],
            created_at=_dt(row.get("created_at")),
            payload=row["payload"],
        )

    def publish(self, viewer: User, run_id: str, slug: str, title: str, summary: str, visibility: str) -> Artifact:
        params = {"p_run_id": run_id, "p_slug": slug, "p_title": title, "p_summary": summary, "p_visibility": visibility}
        return self._artifact(self._run(self._client(viewer).rpc("publish_artifact", params)).data)

    def get_artifact(self, slug: str, viewer: User | None) -> Artifact | None:
        rows = self._run(self._client(viewer).rpc("get_artifact_by_slug", {"p_slug": slug})).data
        return self._artifact(rows[0]) if rows else None

    def count_view(self, slug: str) -> int:
        return int(self._run(self._client(None).rpc("increment_artifact_views", {"p_slug": slug})).data or 0)

    def list_artifacts(self, viewer: User | None, mine: bool, limit: int = 50) -> list[Artifact]:
        request = self._client(viewer).table("published_artifacts").select("*")
        request = request.eq("created_by", viewer.id) if mine and viewer else request.eq("visibility", "public")
        return [self._artifact(r) for r in self._run(request.order("created_at", desc=True).limit(int(limit))).data]

    def close(self) -> None:
        return None
