"""The builder's use cases over the store: open a draft (new, one's own model, or a copy of another),
autosave it per user, check a slug, and save it as a new model (private) or a new version."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.drafts import MAX_DRAFT_BYTES, DraftRecord
from contracts.dsl import SLUG_PATTERN
from contracts.errors import ConflictError, InputInvalid, PermissionDenied, ValidationFailed
from contracts.records import User
from contracts.rules import DIFFICULTIES, LAB_SCOPES
from engine.validator import validate
from services.auth import require_user
from services.authoring.document import Draft, from_model
from services.authoring.preview import PreviewService
from services.authoring.session import BuilderSession
from services.registry import ModelsService, RegistryService, slugify
from store.base import Store

NEW = "new"


def draft_key(slug: str | None = None, start_from: str | None = None) -> str:
    """Where a draft is kept: "new", "model:<slug>" (editing one's own model) or "from:<slug>"."""
    if slug:
        return f"model:{slug}"
    if start_from:
        return f"from:{start_from}"
    return NEW


@dataclass(frozen=True)
class SlugCheck:
    ok: bool
    message: str
    suggestion: str | None = None


@dataclass(frozen=True)
class Saved:
    slug: str
    version: int
    created: bool  # a new model (private) rather than a new version


class BuilderService:
    """Open, autosave, discard and save builder drafts; ``preview`` runs a draft up to a step."""

    def __init__(self, store: Store, registry: RegistryService, models: ModelsService, preview: PreviewService, today: date | None = None):
        self._store = store
        self._registry = registry
        self._models = models
        self.preview = preview
        self.today = today

    # -- drafts -----------------------------------------------------------------------------------
    def open(self, user: User | None, slug: str | None = None, start_from: str | None = None) -> BuilderSession:
        """The user's autosaved draft for this page if there is one, else a fresh draft.

        ``slug``: the user's own model (saving adds a version; anyone else's is refused: fork it first).
        ``start_from``: a visible model copied into a new one. Neither: an empty new model.
        """
        key = draft_key(slug, start_from)
        if slug:
            model = self._registry.get_model(slug, user)
            if user is None or model.owner_id != user.id:
                raise PermissionDenied(f"Only its author can edit '{slug}'; use 'Fork and edit' to make your own copy.")
        if user is not None:
            record = self._store.drafts.get_draft(user, key)
            if record is not None:
                return BuilderSession(key, Draft.from_json(record.document), today=self.today, resumed=True)
        if slug:
            return BuilderSession(key, from_model(model, own=True), today=self.today)
        if start_from:
            source = self._registry.get_model(start_from, user)
            draft = from_model(source, own=False)
            draft = Draft(draft.dsl, draft.input_schema, draft.meta | {"slug": self.suggest_slug(draft.meta["name"])}, origin=start_from)
            return BuilderSession(key, draft, today=self.today)
        return BuilderSession(key, Draft(), today=self.today)

    def autosave(self, user: User | None, session: BuilderSession) -> bool:
        """Keep the session's draft under its key if it changed since it was last kept; True when written."""
        if user is None or not session.unsaved:
            return False
        document = session.draft.to_json()
        size = len(json.dumps(document, default=str).encode())
        if size > MAX_DRAFT_BYTES:
            raise InputInvalid({"draft": f"This draft is {size // 1024:,} KB, over the {MAX_DRAFT_BYTES // 1024:,} KB a draft may keep; remove some steps."})
        self._store.drafts.save_draft(user, session.key, document)
        session.saved_fingerprint = session.draft.fingerprint()
        return True

    def discard(self, user: User | None, key: str) -> None:
        if user is not None:
            self._store.drafts.delete_draft(user, key)

    def drafts(self, user: User | None) -> list[DraftRecord]:
        return self._store.drafts.list_drafts(user) if user is not None else []

    # -- saving -----------------------------------------------------------------------------------
    def suggest_slug(self, name: str, taken: str | None = None) -> str:
        """A free slug close to ``name`` (or to a ``taken`` one): ``name``, ``name-2`` ... then a random suffix."""
        base = (taken or slugify(name or "model"))[:72].strip("-") or "model"
        for candidate in [base] + [f"{base}-{n}" for n in range(2, 10)]:
            if re.match(SLUG_PATTERN, candidate) and not self._store.models.slug_taken(candidate):
                return candidate
        return f"{base[:70]}-{secrets.token_hex(3)}"

    def check_slug(self, slug: str) -> SlugCheck:
        """Whether ``slug`` can be the new model's address, with a free one to suggest when it cannot."""
        slug = (slug or "").strip()
        if not re.match(SLUG_PATTERN, slug):
            suggestion = self.suggest_slug(slug or "model")
            return SlugCheck(False, "Use 2 to 80 lowercase letters, digits and dashes, starting with a letter or digit.", suggestion)
        if self._store.models.slug_taken(slug):
            suggestion = self.suggest_slug(slug, taken=slug)
            return SlugCheck(False, f"The address '{slug}' is taken.", suggestion)
        return SlugCheck(True, f"/model?slug={slug} is free.")

    def save(self, user: User | None, session: BuilderSession, changelog: str) -> Saved:
        """Save the draft: a new version of the user's own model, or a new private model. Refused while it has errors."""
        user = require_user(user, "save a model")
        draft = session.draft
        problems = validate(draft.dsl, draft.input_schema, today=self.today)
        if problems:
            raise ValidationFailed(problems)
        changelog = (changelog or "").strip()
        if not changelog:
            raise InputInvalid({"changelog": "Write one line saying what this version changes."})
        if draft.base:
            model = self._registry.get_model(draft.base, user)
            if model.owner_id != user.id:
                raise PermissionDenied(f"Only its author can save a version of '{draft.base}'; fork it to make your own copy.")
            version = self._models.add_version(user, draft.base, draft.dsl, draft.input_schema, changelog)
            saved = Saved(draft.base, version.version, False)
        else:
            meta = self._meta(draft)
            self._models.create(user, meta, visibility="private", changelog=changelog)
            saved = Saved(meta["slug"], 1, True)
        self.discard(user, session.key)
        session.saved_fingerprint = draft.fingerprint()
        return saved

    def _meta(self, draft: Draft) -> dict[str, Any]:
        meta = draft.meta
        fields: dict[str, str] = {}
        name = str(meta.get("name") or "").strip()
        if not name or len(name) > 120:
            fields["name"] = "Give the model a name of 1 to 120 characters."
        slug = str(meta.get("slug") or "").strip()
        check = self.check_slug(slug)
        if not check.ok:
            fields["slug"] = check.message + (f" Try '{check.suggestion}'." if check.suggestion else "")
        if meta.get("lab_scope") not in LAB_SCOPES:
            fields["lab_scope"] = f"Choose a lab among {', '.join(LAB_SCOPES)}."
        if meta.get("difficulty") not in DIFFICULTIES:
            fields["difficulty"] = f"Choose a difficulty among {', '.join(DIFFICULTIES)}."
        if fields:
            if set(fields) == {"slug"} and "taken" in fields["slug"]:
                raise ConflictError(fields["slug"])
            raise InputInvalid(fields)
        tags = [t.strip().lower() for t in meta.get("tags") or [] if str(t).strip()]
        return {"slug": slug, "name": name, "description": str(meta.get("description") or ""), "lab_scope": meta["lab_scope"],
                "tags": tags, "difficulty": meta["difficulty"], "dsl": draft.dsl, "input_schema": draft.input_schema}
