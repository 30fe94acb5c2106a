"""User code as the engine sees it: the bundle a version carries and the runner that executes it.

A code model is a DSL document whose fetch steps run on the trusted side (provenance, caching, rate
limits and the no-network rule all hold) and whose one ``code`` step hands their values to the user's
``run(inputs)``. The engine knows only this protocol; the services compose it with the sandbox
(``services.code.SandboxCodeRunner``), so the engine never imports ``sandbox``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.limits import Limits

CODE_RUNTIMES: tuple[str, ...] = ("python", "js")
# The run inputs (the form's values) reach the code as one flat record under this key, beside the
# values of the code step's input steps (keyed by their step ids).
ARGS_KEY = "args"
MAX_CODE_CHARS = 100_000


@dataclass(frozen=True)
class CodeBundle:
    """The code of one version: its runtime (``python`` or ``js``), its source and declared dependencies."""

    runtime: str
    source: str
    dependencies: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """The hash reviews and audit records name the code by."""
        return code_hash(self.source)


def code_hash(source: str) -> str:
    """SHA-256 of the source as UTF-8, hex."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class CodeRunner(Protocol):
    """Runs ``entrypoint(inputs)`` of a bundle in isolation and returns a pandas Series, DataFrame, float or
    flat dict; raises ``contracts.errors.CodeFailed`` (one sentence) for anything else."""

    def run(self, bundle: CodeBundle, entrypoint: str, inputs: dict[str, Any], limits: Limits) -> Any: ...
