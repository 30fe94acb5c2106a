"""The payload of a published artifact: everything needed to render a run without re-running it.

Built in one shape by both backends (the sqlite store in Python with ``ArtifactPayload.to_json``, the
Supabase migrations in SQL, ``public.artifact_payload``; a test compares the two) and read one way,
``ArtifactPayload.from_json``, by the app and the command line. It is a snapshot taken at publishing:
the model's name and description as they were then, never as they are now.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtifactModel:
    id: str
    slug: str
    name: str
    description: str
    lab_scope: str
    tags: list[str] = field(default_factory=list)
    difficulty: str = ""


@dataclass(frozen=True)
class ArtifactVersion:
    id: str
    version: int
    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    changelog: str = ""


@dataclass(frozen=True)
class ArtifactRun:
    id: str
    created_at: str
    runtime_ms: float | None
    cached: bool = False


@dataclass(frozen=True)
class ArtifactPayload:
    """``{"model", "version", "inputs", "result", "run"}``; ``result`` is ``RunResult.to_json()``."""

    model: ArtifactModel
    version: ArtifactVersion
    inputs: dict[str, Any]
    result: dict[str, Any]
    run: ArtifactRun

    KEYS = ("model", "version", "inputs", "result", "run")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactPayload:
        model, version, run = dict(data["model"]), dict(data["version"]), dict(data["run"])
        return cls(
            model=ArtifactModel(**{k: model.get(k) for k in ArtifactModel.__dataclass_fields__ if k in model}),
            version=ArtifactVersion(**{k: version.get(k) for k in ArtifactVersion.__dataclass_fields__ if k in version}),
            inputs=dict(data.get("inputs") or {}),
            result=dict(data["result"]),
            run=ArtifactRun(**{k: run.get(k) for k in ArtifactRun.__dataclass_fields__ if k in run}),
        )
