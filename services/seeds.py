"""Model templates: read seeds/*.json (one ModelMeta per file, each validated by the engine; invalid files are
skipped with a log line) and load them into the store on first start and whenever a file changes."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from contracts.dsl import ModelDSL, ModelMeta, output_schema_for
from contracts.errors import EngineError
from engine.validator import check
from store.base import ModelsStore

log = logging.getLogger(__name__)
SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"


def seeds_fingerprint(directory: Path | str | None = None) -> str:
    """A hash of every seed file's name and bytes: cheap to compute, changes when any template does."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory or SEEDS_DIR).glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_seeds(directory: Path | str | None = None) -> list[ModelMeta]:
    """Every valid template in ``directory`` (default: the repository's seeds/), sorted by slug."""
    metas = []
    for path in sorted(Path(directory or SEEDS_DIR).glob("*.json")):
        try:
            meta = ModelMeta.model_validate(json.loads(path.read_text()))
            check(meta.dsl, meta.input_schema)
        except (OSError, ValueError, ValidationError, EngineError) as exc:
            log.warning("skipping seed %s: %s", path.name, exc)
            continue
        if not meta.output_schema:
            meta = meta.model_copy(update={"output_schema": output_schema_for(ModelDSL.model_validate(meta.dsl))})
        metas.append(meta)
    return sorted(metas, key=lambda m: m.slug)


class SeededStore(Protocol):
    """A backend that keeps the seeds' fingerprint (the sqlite one)."""

    models: ModelsStore

    def get_setting(self, key: str) -> str | None: ...
    def put_setting(self, key: str, value: str) -> None: ...


def sync_seeds(store: SeededStore, seeds_dir: str | Path | None = None) -> int:
    """Load seed templates on first start, and again whenever a seed file changes (sqlite)."""
    fingerprint = seeds_fingerprint(seeds_dir)
    if store.get_setting("seeds_fingerprint") == fingerprint:
        return 0
    changed = store.models.load_seeds(read_seeds(seeds_dir))
    store.put_setting("seeds_fingerprint", fingerprint)
    if changed:
        log.info("loaded %d seed model(s)", changed)
    return changed
