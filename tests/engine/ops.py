"""Call one operation the way the executor does, for the primitive tests."""

from __future__ import annotations

from typing import Any

from engine.registry import REGISTRY, load_all

load_all()


def run(name: str, /, *inputs: Any, **params: Any) -> Any:
    """Run operation ``name`` on ``inputs``, its params passed through its pydantic model."""
    op = REGISTRY[name]
    return op.invoke(list(inputs), op.params_model.model_validate(params))
