"""Read model templates from seeds/*.json (one ModelMeta per file), skipping invalid files with a log line."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from pydantic import ValidationError

from engine.errors import EngineError
from engine.spec import ModelDSL, ModelMeta, output_schema_for

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
    from engine.validator import check

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
