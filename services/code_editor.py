"""The code editor's logic (issue 15): start from a template or one's own code model, test-run on the sample
data (not recorded, no quota, the same limits as any code run, the builder's preview limit) and save as a
new model or a new version with a changelog, which goes to review."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.code import CodeBundle
from contracts.errors import InputInvalid, PermissionDenied
from contracts.limits import Limits
from contracts.records import Model, ModelVersion, User
from engine.data import DataAccess
from services.auth import require_user
from services.authoring.preview import PreviewLimiter
from services.code import TrialRun, check_code_model, trial_run
from services.code_templates import TEMPLATES
from services.registry import ModelsService, RegistryService


@dataclass(frozen=True)
class EditorDraft:
    """What the editor holds: the code, its runtime and dependencies, and the DSL around it."""

    runtime: str
    code: str
    dependencies: tuple[str, ...]
    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    slug: str | None = None  # the model being edited (None: a new one)

    @property
    def bundle(self) -> CodeBundle:
        return CodeBundle(self.runtime, self.code, self.dependencies)


def parse_json(text: str, field: str) -> dict[str, Any]:
    """A JSON object typed in the editor, or a sentence for that field."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputInvalid({field: f"This is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."}) from exc
    if not isinstance(value, dict):
        raise InputInvalid({field: "Write a JSON object ({...})."})
    return value


class CodeEditorService:
    """Templates, loading one's code model, test runs and saving."""

    def __init__(self, registry: RegistryService, models: ModelsService, limits: Limits, sample: DataAccess | None, today: date | None = None,
                 limiter: PreviewLimiter | None = None):
        self._registry = registry
        self._models = models
        self._limits = limits
        self._sample = sample
        self._today = today
        self.limiter = limiter or PreviewLimiter()

    @staticmethod
    def from_template(runtime: str) -> EditorDraft:
        template = TEMPLATES[runtime]
        return EditorDraft(runtime, template.code, template.dependencies, copy.deepcopy(template.dsl), copy.deepcopy(template.input_schema))

    def load(self, user: User | None, slug: str) -> EditorDraft:
        """The newest version of the user's own code model."""
        user = require_user(user, "edit a model")
        model = self._registry.get_model(slug, user)
        if model.owner_id != user.id:
            raise PermissionDenied("Only the author can change this model; fork it to make your own copy.")
        ver = model.latest
        if ver is None or not ver.is_code:
            raise InputInvalid({"slug": "This is not a code model; edit it in the builder."})
        return EditorDraft(ver.runtime, ver.code_bundle or "", ver.dependencies, ver.dsl, ver.input_schema, model.slug)

    def trial(self, user: User | None, draft: EditorDraft, inputs: dict[str, Any] | None = None) -> TrialRun:
        """Run the draft once on the sample data in the sandbox for its author: output, logs, limits. Not recorded."""
        user = require_user(user, "test-run code")
        problems = check_code_model(draft.dsl, draft.bundle)
        if problems:
            raise InputInvalid({"code": " ".join(problems)})
        if self._sample is None:
            from services.data import sample_access

            self._sample = sample_access()
        self.limiter.acquire(user.id)
        try:
            return trial_run(draft.dsl, draft.input_schema, draft.bundle, inputs or {}, self._sample.fresh(), self._limits, actor=user.id, today=self._today)
        finally:
            self.limiter.release(user.id)

    def save_new(self, user: User | None, draft: EditorDraft, slug: str, name: str, description: str = "", changelog: str = "First version") -> Model:
        """A new private code model; its first version waits for review."""
        meta = {"slug": slug, "name": name, "description": description, "lab_scope": "econ", "tags": ["code", draft.runtime],
                "difficulty": "advanced", "dsl": draft.dsl, "input_schema": draft.input_schema, "output_schema": {}}
        return self._models.create(user, meta, "private", changelog, code=draft.bundle)

    def save_version(self, user: User | None, draft: EditorDraft, changelog: str) -> ModelVersion:
        """A new version of the user's code model, with its changelog; it waits for review while the last approved one stays live."""
        if not draft.slug:
            raise InputInvalid({"slug": "Save it as a new model first."})
        if not changelog.strip():
            raise InputInvalid({"changelog": "Say what changed in this version."})
        return self._models.add_version(user, draft.slug, draft.dsl, draft.input_schema, changelog, code=draft.bundle)
