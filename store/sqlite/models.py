"""Models and their versions on sqlite: listing and search, reading by slug, creating, versioning,
forking, and loading the seed templates."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, timedelta
from typing import Any

from contracts.code import CodeBundle
from contracts.dsl import ModelMeta
from contracts.errors import ConflictError, InputInvalid, NotFoundError, PermissionDenied
from contracts.records import ForkEntry, ForkSource, Lineage, Model, ModelQuery, ModelSummary, ModelVersion, User
from store.common import ADD_VERSION_REFUSED, CODE_LISTING_REFUSED, TAKE_VERSION_REFUSED, dt, fork_name, like_pattern, new_id, squatter_slug, ts
from store.sqlite.db import Database
from store.sqlite.visibility import LISTABLE, VERSION_SHOWN, VISIBLE, viewer_id

LISTING_SQL = """
SELECT m.*,
       COALESCE((SELECT SUM(u.runs) FROM model_usage_daily u WHERE u.model_id = m.id AND u.date >= ?), 0) AS runs_30d,
       (SELECT ROUND(AVG(r.rating), 2) FROM model_ratings r WHERE r.model_id = m.id) AS rating_avg,
       (SELECT COUNT(*) FROM model_ratings r WHERE r.model_id = m.id) AS rating_count
FROM models m
"""

ORDER = {
    "popular": "runs_30d DESC, rating_count DESC, m.created_at DESC",
    "top_rated": "rating_avg IS NULL, rating_avg DESC, rating_count DESC, m.created_at DESC",
    "newest": "m.created_at DESC",
}

VERSION_WITH_AUTHOR = "SELECT v.*, p.display_name AS author_name FROM model_versions v LEFT JOIN profiles p ON p.id = v.created_by"

INSERT_VERSION = (
    "INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by, created_at,"
    " runtime, code_bundle, dependencies, review_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def code_columns(code: CodeBundle | None) -> tuple[str, str | None, str, str | None]:
    """runtime, code_bundle, dependencies and review_status of a new version: a code version waits for review."""
    if code is None:
        return ("dsl", None, "[]", None)
    return (code.runtime, code.source, json.dumps(list(code.dependencies)), "pending")


def summary_from_row(row: sqlite3.Row) -> ModelSummary:
    """A ``models`` row (with the listing's numbers when present) as a ``ModelSummary``."""
    keys = row.keys()
    return ModelSummary(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        lab_scope=row["lab_scope"],
        tags=tuple(json.loads(row["tags"])),
        difficulty=row["difficulty"],
        visibility=row["visibility"],
        owner_id=row["owner_id"],
        forked_from_id=row["forked_from_id"],
        created_at=dt(row["created_at"]),
        updated_at=dt(row["updated_at"]),
        runs_30d=int(row["runs_30d"]) if "runs_30d" in keys else 0,
        rating_avg=row["rating_avg"] if "rating_avg" in keys else None,
        rating_count=int(row["rating_count"]) if "rating_count" in keys else 0,
        is_template=bool(row["is_template"]),
    )


def version_from_row(row: sqlite3.Row) -> ModelVersion:
    """A ``model_versions`` row as a ``ModelVersion``."""
    return ModelVersion(
        id=row["id"],
        model_id=row["model_id"],
        version=row["version"],
        dsl=json.loads(row["dsl_json"]),
        input_schema=json.loads(row["input_schema"]),
        output_schema=json.loads(row["output_schema"]),
        changelog=row["changelog"],
        status=row["status"],
        created_by=row["created_by"],
        created_at=dt(row["created_at"]),
        runtime=row["runtime"],
        code_bundle=row["code_bundle"],
        dependencies=tuple(json.loads(row["dependencies"])),
        review_status=row["review_status"],
        author_name=row["author_name"] if "author_name" in set(row.keys()) else None,  # sqlite3.Row's `in` looks at values
    )


class SqliteModels:
    """The registry's reads and the authors' writes."""

    def __init__(self, db: Database):
        self._db = db

    def _since_30d(self) -> str:
        return (self._db.now().astimezone(UTC).date() - timedelta(days=30)).isoformat()

    def list_models(self, viewer: User | None, query: ModelQuery) -> list[ModelSummary]:
        who = viewer_id(viewer)
        where = [LISTABLE]
        params: list[Any] = [self._since_30d(), who]
        if query.only_mine:
            where.append("m.owner_id = ?")
            params.append(who)
        if query.saved_only:
            where.append("EXISTS (SELECT 1 FROM model_saves s WHERE s.model_id = m.id AND s.user_id = ?)")
            params.append(who)
        if query.lab_scope:
            where.append("m.lab_scope IN (?, 'both')")
            params.append(query.lab_scope)
        if query.difficulty:
            where.append("m.difficulty = ?")
            params.append(query.difficulty)
        for tag in query.tags:
            where.append("EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?)")
            params.append(tag)
        for word in query.text.split():
            pattern = like_pattern(word)
            where.append(
                "(m.name LIKE ? ESCAPE '\\' OR m.description LIKE ? ESCAPE '\\' OR m.slug LIKE ? ESCAPE '\\'"
                " OR EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?))"
            )
            params += [pattern, pattern, pattern, word.lower()]
        order = ORDER.get(query.sort)
        if order is None:
            raise InputInvalid({"sort": f"Sort by one of {', '.join(ORDER)}."})
        sql = f"{LISTING_SQL} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        params.append(int(query.limit))
        return [summary_from_row(row) for row in self._db.all(sql, params)]

    def _model_row(self, slug: str, viewer: User | None) -> sqlite3.Row | None:
        return self._db.one(f"{LISTING_SQL} WHERE m.slug = ? AND {VISIBLE}", (self._since_30d(), slug, viewer_id(viewer)))

    def get_model(self, slug: str, viewer: User | None) -> Model | None:
        row = self._model_row(slug, viewer)
        if row is None:
            return None
        latest = None
        own = viewer is not None and row["owner_id"] == viewer.id
        if row["kind"] != "dsl" and not own:  # others run the newest approved version; a new one waits for review
            vrow = self._db.one(
                f"{VERSION_WITH_AUTHOR} WHERE v.model_id = ? AND v.status = 'published' AND {VERSION_SHOWN} ORDER BY v.version DESC LIMIT 1",
                (row["id"],),
            )
            latest = version_from_row(vrow) if vrow else None
        elif row["current_version_id"]:
            vrow = self._db.one(f"{VERSION_WITH_AUTHOR} WHERE v.id = ?", (row["current_version_id"],))
            latest = version_from_row(vrow) if vrow else None
        return Model(summary_from_row(row), latest)

    def list_versions(self, slug: str, viewer: User | None) -> list[ModelVersion]:
        row = self._model_row(slug, viewer)
        if row is None:
            return []
        own = viewer is not None and row["owner_id"] == viewer.id
        rows = self._db.all(
            f"{VERSION_WITH_AUTHOR} WHERE v.model_id = ? AND ((v.status = 'published' AND {VERSION_SHOWN}) OR ?) ORDER BY v.version DESC",
            (row["id"], int(own)),
        )
        return [version_from_row(r) for r in rows]

    def _insert_model(
        self,
        conn: sqlite3.Connection,
        owner_id: str | None,
        meta: ModelMeta,
        visibility: str,
        forked_from: str | None,
        changelog: str,
        *,
        template: bool = False,
        code: CodeBundle | None = None,
        forked_from_version: str | None = None,
    ) -> str:
        if code is not None and visibility != "private":
            raise PermissionDenied(CODE_LISTING_REFUSED)
        model_id, version_id = new_id(), new_id()
        stamp = ts(self._db.now())
        try:
            conn.execute(
                "INSERT INTO models (id, slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template, forked_from_id,"
                " forked_from_version_id, current_version_id, kind, review_status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (model_id, meta.slug, meta.name, meta.description, owner_id, meta.lab_scope, json.dumps(meta.tags), meta.difficulty, visibility,
                 int(template), forked_from, forked_from_version, code.runtime if code else "dsl", "pending" if code else None, stamp, stamp),
            )
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"The address '{meta.slug}' is taken; choose another slug.") from exc
        conn.execute(
            INSERT_VERSION,
            (version_id, model_id, 1, json.dumps(meta.dsl), json.dumps(meta.input_schema), json.dumps(meta.output_schema), changelog, "published", owner_id, stamp,
             *code_columns(code)),
        )
        conn.execute("UPDATE models SET current_version_id = ? WHERE id = ?", (version_id, model_id))
        return model_id

    def create_model(
        self, owner: User | None, meta: ModelMeta, visibility: str = "private", changelog: str = "First version", code: CodeBundle | None = None
    ) -> Model:
        with self._db.tx() as conn:
            self._insert_model(conn, owner.id if owner else None, meta, visibility, None, changelog, code=code)
        model = self.get_model(meta.slug, owner)
        assert model is not None
        return model

    def slug_taken(self, slug: str) -> bool:
        """Whether any model, visible to the asker or not, already has this slug (the builder checks before saving)."""
        return self._db.one("SELECT 1 FROM models WHERE slug = ?", (slug,)) is not None

    def _own_model(self, viewer: User, model_id: str) -> sqlite3.Row:
        """The viewer's own model, or ``PermissionDenied`` (the same for another's model, visible or not, and for no model)."""
        row = self._db.one("SELECT * FROM models WHERE id = ?", (model_id,))
        if row is None or row["owner_id"] != viewer.id:
            raise PermissionDenied(ADD_VERSION_REFUSED)
        return row

    def add_version(
        self, viewer: User, model_id: str, dsl: dict[str, Any], input_schema: dict[str, Any], output_schema: dict[str, Any], changelog: str, status: str = "published",
        code: CodeBundle | None = None,
    ) -> ModelVersion:
        model = self._own_model(viewer, model_id)
        if (code is None) != (model["kind"] == "dsl") or (code is not None and code.runtime != model["kind"]):
            raise PermissionDenied(f"This is a {model['kind']} model; a new version must be {model['kind']} too (fork it to change the language).")
        version_id = new_id()
        stamp = ts(self._db.now())
        with self._db.tx() as conn:
            number = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?", (model_id,)).fetchone()[0]
            conn.execute(
                INSERT_VERSION,
                (version_id, model_id, number, json.dumps(dsl), json.dumps(input_schema), json.dumps(output_schema), changelog, status, viewer.id, stamp,
                 *code_columns(code)),
            )
            if code is not None:  # back to review; the last approved version (if any) stays what others run
                conn.execute("UPDATE models SET review_status = 'pending' WHERE id = ? AND review_status IS NOT 'approved'", (model_id,))
            if status == "published":
                conn.execute("UPDATE models SET current_version_id = ?, updated_at = ? WHERE id = ?", (version_id, stamp, model_id))
        row = self._db.one("SELECT * FROM model_versions WHERE id = ?", (version_id,))
        assert row is not None
        return version_from_row(row)

    def set_visibility(self, viewer: User, model_id: str, visibility: str) -> None:
        model = self._own_model(viewer, model_id)
        if visibility != "private" and model["kind"] != "dsl" and model["review_status"] != "approved":
            raise PermissionDenied(CODE_LISTING_REFUSED)
        with self._db.tx() as conn:
            conn.execute("UPDATE models SET visibility = ?, updated_at = ? WHERE id = ?", (visibility, ts(self._db.now()), model_id))

    def fork_model(self, viewer: User, source_slug: str, new_slug: str, name: str | None) -> Model:
        source = self.get_model(source_slug, viewer)
        if source is None or source.latest is None:
            raise NotFoundError(f"No model '{source_slug}' is visible to you.")
        ver = source.latest
        meta = ModelMeta(
            slug=new_slug,
            name=(name or "").strip() or fork_name(source.name),
            description=source.description,
            lab_scope=source.lab_scope,
            tags=list(source.tags),
            difficulty=source.difficulty,
            dsl=ver.dsl,
            input_schema=ver.input_schema,
            output_schema=ver.output_schema,
        )
        code = CodeBundle(ver.runtime, ver.code_bundle or "", ver.dependencies) if ver.is_code else None
        with self._db.tx() as conn:
            self._insert_model(conn, viewer.id, meta, "private", source.id, f"Forked from {source.slug} v{ver.version}", code=code,
                               forked_from_version=ver.id)
        model = self.get_model(new_slug, viewer)
        assert model is not None
        return model

    def lineage(self, slug: str, viewer: User | None) -> Lineage | None:
        """The model's source and its listable forks (None when the model is not visible to the viewer)."""
        who = viewer_id(viewer)
        me = self._db.one(f"SELECT m.* FROM models m WHERE m.slug = ? AND {VISIBLE}", (slug, who))
        if me is None:
            return None
        source = None
        if me["forked_from_id"]:
            row = self._db.one(
                "SELECT m.slug, m.name, m.is_template, p.display_name AS owner_name, sv.version FROM models m"
                " LEFT JOIN profiles p ON p.id = m.owner_id LEFT JOIN model_versions sv ON sv.id = ? AND sv.model_id = m.id"
                f" WHERE m.id = ? AND {VISIBLE}",
                (me["forked_from_version_id"], me["forked_from_id"], who),
            )
            if row is not None:
                source = ForkSource(row["slug"], row["name"], row["version"], row["owner_name"], bool(row["is_template"]))
        forks = self._db.all(
            "SELECT m.slug, m.name, m.created_at, p.display_name AS owner_name, fv.version FROM models m"
            " LEFT JOIN profiles p ON p.id = m.owner_id LEFT JOIN model_versions fv ON fv.id = m.forked_from_version_id AND fv.model_id = ?"
            f" WHERE m.forked_from_id = ? AND {LISTABLE} ORDER BY m.created_at, m.slug",
            (me["id"], me["id"], who),
        )
        entries = tuple(ForkEntry(r["slug"], r["name"], r["owner_name"], dt(r["created_at"]), r["version"]) for r in forks)
        return Lineage(source, entries, source_hidden=bool(me["forked_from_id"]) and source is None)

    def take_source_version(self, viewer: User, fork_slug: str, version: int) -> ModelVersion:
        """Copy a published version of the fork's source (visible to the viewer) into the fork as its new current
        version, and remember it as the source version the fork follows; only the fork's owner may."""
        who = viewer.id
        with self._db.tx() as conn:
            fork = conn.execute("SELECT * FROM models WHERE slug = ?", (fork_slug,)).fetchone()
            if fork is None or fork["owner_id"] != who:
                raise PermissionDenied(TAKE_VERSION_REFUSED)
            src = conn.execute(f"SELECT m.* FROM models m WHERE m.id = ? AND {VISIBLE}", (fork["forked_from_id"], who)).fetchone()
            if src is None:
                raise NotFoundError("That source model does not exist or is not visible to you.")
            ver = conn.execute(  # another author's code version only once approved
                f"SELECT v.* FROM model_versions v WHERE v.model_id = ? AND v.version = ? AND ((v.status = 'published' AND {VERSION_SHOWN}) OR ?)",
                (src["id"], int(version), int(src["owner_id"] == who)),
            ).fetchone()
            if ver is None:
                raise NotFoundError("That source version does not exist or is not visible to you.")
            number = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?", (fork["id"],)).fetchone()[0]
            version_id, stamp = new_id(), ts(self._db.now())
            conn.execute(
                INSERT_VERSION,
                (version_id, fork["id"], number, ver["dsl_json"], ver["input_schema"], ver["output_schema"], f"Took {src['slug']} v{ver['version']}",
                 "published", who, stamp, ver["runtime"], ver["code_bundle"], ver["dependencies"], None if ver["runtime"] == "dsl" else "pending"),
            )
            conn.execute(
                "UPDATE models SET current_version_id = ?, forked_from_version_id = ?, updated_at = ? WHERE id = ?", (version_id, ver["id"], stamp, fork["id"])
            )
        row = self._db.one(f"{VERSION_WITH_AUTHOR} WHERE v.id = ?", (version_id,))
        assert row is not None
        return version_from_row(row)

    def load_seeds(self, metas: list[ModelMeta]) -> int:
        """Reserve the templates' slugs, insert templates that are missing, add a version to a template whose
        file changed. Return the changes. A user's model that took a template's slug before it was
        reserved is moved aside to ``<slug>-<its id>`` first, so the template is never hidden."""
        changed = 0
        for meta in metas:
            with self._db.tx() as conn:
                conn.execute("INSERT INTO reserved_slugs (slug, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (meta.slug, ts(self._db.now())))
                squatter = conn.execute("SELECT id FROM models WHERE slug = ? AND is_template = 0", (meta.slug,)).fetchone()
                if squatter is not None:
                    conn.execute("UPDATE models SET slug = ? WHERE id = ?", (squatter_slug(meta.slug, squatter["id"]), squatter["id"]))
            row = self._db.one("SELECT id, is_template, current_version_id FROM models WHERE slug = ?", (meta.slug,))
            if row is None:
                with self._db.tx() as conn:
                    self._insert_model(conn, None, meta, "public", None, "Template", template=True)
                changed += 1
                continue
            current = self._db.one("SELECT dsl_json, input_schema FROM model_versions WHERE id = ?", (row["current_version_id"],))
            if current and json.loads(current["dsl_json"]) == meta.dsl and json.loads(current["input_schema"]) == meta.input_schema:
                continue
            stamp = ts(self._db.now())
            with self._db.tx() as conn:
                number = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?", (row["id"],)).fetchone()[0]
                version_id = new_id()
                conn.execute(
                    INSERT_VERSION,
                    (version_id, row["id"], number, json.dumps(meta.dsl), json.dumps(meta.input_schema), json.dumps(meta.output_schema),
                     "Template updated", "published", None, stamp, *code_columns(None)),
                )
                conn.execute(
                    "UPDATE models SET current_version_id = ?, name = ?, description = ?, lab_scope = ?, tags = ?, difficulty = ?, updated_at = ? WHERE id = ?",
                    (version_id, meta.name, meta.description, meta.lab_scope, json.dumps(meta.tags), meta.difficulty, stamp, row["id"]),
                )
            changed += 1
        return changed
