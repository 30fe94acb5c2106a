"""The registry: list and search visible models, read one with its versions, create, version and fork.

Listings are cached for a minute per viewer (the key holds the viewer's id, so one user's private
models never reach another user's listing); every write through these services clears the cache.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable
from typing import Any

from cachetools import TTLCache

from contracts.code import CodeBundle
from contracts.dsl import SLUG_PATTERN, ModelDSL, ModelMeta, output_schema_for
from contracts.errors import EngineError, InputInvalid, NotFoundError
from contracts.records import Model, ModelQuery, ModelSummary, ModelVersion, User
from contracts.rules import DIFFICULTIES, LAB_SCOPES, SORTS, VISIBILITIES
from services.auth import require_user
from store.base import Store

LISTING_TTL_S = 60


def slugify(text: str, suffix: bool = False) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60] or "model"
    if len(base) < 2:
        base = f"{base}-x"
    return f"{base}-{secrets.token_hex(3)}" if suffix else base


class RegistryService:
    def __init__(self, store: Store, ttl_s: float = LISTING_TTL_S):
        self._store = store
        self._cache: TTLCache[Any, Any] = TTLCache(maxsize=2048, ttl=ttl_s)
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def _cached(self, key: tuple[Any, ...], compute: Any) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
        return value

    def list_models(
        self,
        user: User | None,
        text: str = "",
        lab_scope: str | None = None,
        tags: Iterable[str] = (),
        difficulty: str | None = None,
        sort: str = "popular",
        limit: int = 60,
        only_mine: bool = False,
        saved_only: bool = False,
    ) -> list[ModelSummary]:
        problems = {}
        if lab_scope and lab_scope not in LAB_SCOPES:
            problems["lab_scope"] = f"Choose a lab among {', '.join(LAB_SCOPES)}."
        if difficulty and difficulty not in DIFFICULTIES:
            problems["difficulty"] = f"Choose a difficulty among {', '.join(DIFFICULTIES)}."
        if sort not in SORTS:
            problems["sort"] = f"Sort by one of {', '.join(SORTS)}."
        if problems:
            raise InputInvalid(problems)
        query = ModelQuery(
            text=(text or "").strip()[:200],
            lab_scope=lab_scope or None,
            tags=tuple(sorted({t.strip().lower() for t in tags if t.strip()})),
            difficulty=difficulty or None,
            sort=sort,
            limit=max(1, min(int(limit), 200)),
            only_mine=only_mine,
            saved_only=saved_only,
        )
        viewer_id = user.id if user else None
        return self._cached(("list", viewer_id, query), lambda: self._store.models.list_models(user, query))

    def get_model(self, slug: str, user: User | None) -> Model:
        viewer_id = user.id if user else None
        model = self._cached(("model", viewer_id, slug), lambda: self._store.models.get_model(slug, user))
        if model is None:
            raise NotFoundError(f"No model '{slug}' is visible to you; check the link or browse the registry.")
        return model

    def list_versions(self, slug: str, user: User | None) -> list[ModelVersion]:
        self.get_model(slug, user)
        return self._store.models.list_versions(slug, user)

    def all_tags(self, user: User | None) -> list[str]:
        models = self.list_models(user, limit=200)
        return sorted({t for m in models for t in m.tags})


class ModelsService:
    """Writes to models: create, add a version, change visibility, fork."""

    def __init__(self, store: Store, registry: RegistryService):
        self._store = store
        self._registry = registry

    def create(
        self, user: User | None, meta: ModelMeta | dict[str, Any], visibility: str = "private", changelog: str = "First version", code: CodeBundle | None = None
    ) -> Model:
        """A new model; with ``code`` a Python or JavaScript model, private and pending review until an admin approves it."""
        user = require_user(user, "create a model")
        if isinstance(meta, dict):
            meta = _parse_meta(meta)
        _check_visibility(visibility)
        _check_dsl(meta.dsl, meta.input_schema)
        _check_code(meta.dsl, code)
        if not meta.output_schema:
            meta = meta.model_copy(update={"output_schema": output_schema_for(ModelDSL.model_validate(meta.dsl))})
        model = self._store.models.create_model(user, meta, visibility, changelog.strip()[:2000] or "First version", code=code)
        self._registry.invalidate()
        return model

    def add_version(
        self, user: User | None, slug: str, dsl: dict[str, Any], input_schema: dict[str, Any] | None = None, changelog: str = "", draft: bool = False,
        code: CodeBundle | None = None,
    ) -> ModelVersion:
        """A new version; a code version goes to review while the last approved one stays what others run."""
        user = require_user(user, "save a version")
        model = self._registry.get_model(slug, user)
        schema = input_schema if input_schema is not None else (model.latest.input_schema if model.latest else {"fields": []})
        _check_dsl(dsl, schema)
        _check_code(dsl, code)
        version = self._store.models.add_version(
            user, model.id, dsl, schema, output_schema_for(ModelDSL.model_validate(dsl)), changelog.strip()[:2000], "draft" if draft else "published",
            code=code,
        )
        self._registry.invalidate()
        return version

    def set_visibility(self, user: User | None, slug: str, visibility: str) -> None:
        user = require_user(user, "change a model")
        _check_visibility(visibility)
        model = self._registry.get_model(slug, user)
        self._store.models.set_visibility(user, model.id, visibility)
        self._registry.invalidate()

    def fork(self, user: User | None, slug: str, new_slug: str | None = None, name: str | None = None) -> Model:
        user = require_user(user, "fork a model")
        source = self._registry.get_model(slug, user)
        target = new_slug or slugify(source.slug, suffix=True)
        if not re.match(SLUG_PATTERN, target):
            raise InputInvalid({"slug": "Use 2-80 lowercase letters, digits and dashes, starting with a letter or digit."})
        model = self._store.models.fork_model(user, source.slug, target, name)
        self._registry.invalidate()
        return model

    def list_mine(self, user: User | None) -> list[ModelSummary]:
        user = require_user(user, "see your models")
        return self._registry.list_models(user, only_mine=True, sort="newest", limit=200)


def _check_code(dsl: dict[str, Any], code: CodeBundle | None) -> None:
    from services.code import check_code_model

    problems = check_code_model(dsl, code)
    if problems:
        raise InputInvalid({"code": " ".join(problems)})


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise InputInvalid({"visibility": f"Choose one of {', '.join(VISIBILITIES)}."})


def _parse_meta(data: dict[str, Any]) -> ModelMeta:
    from pydantic import ValidationError

    try:
        return ModelMeta.model_validate(data)
    except ValidationError as exc:
        raise InputInvalid({".".join(str(p) for p in e["loc"]) or "model": e["msg"] for e in exc.errors()}) from exc


def _check_dsl(dsl: dict[str, Any], input_schema: dict[str, Any]) -> None:
    from engine.validator import check

    try:
        check(dsl, input_schema)
    except EngineError as exc:
        raise InputInvalid({"dsl": str(exc)}) from exc
