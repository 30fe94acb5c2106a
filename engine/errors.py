"""Typed engine errors. ``str(error)`` is always a sentence a user can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One validation problem: a stable code, a JSON path into the document, a message and a hint."""

    code: str
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.code} at {self.path}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "E_ENGINE"


class ValidationFailed(EngineError):
    """The document (or the run's inputs) has problems; all of them are listed at once."""

    code = "E_INVALID"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} error{'s' if count != 1 else ''} found"
        super().__init__(head + ": " + "; ".join(str(p) for p in self.problems))


class InputError(EngineError):
    """A run input is missing or has the wrong type; ``fields`` maps field name to a sentence."""

    code = "E_INPUT"

    def __init__(self, fields: dict[str, str]):
        self.fields = dict(fields)
        super().__init__(" ".join(f"{name}: {message}" for name, message in self.fields.items()))


class OperationError(EngineError):
    """Raised inside a primitive when its inputs cannot produce a result (too short, wrong column...)."""

    code = "E_OPERATION"


class StepFailed(EngineError):
    """A step failed while running; names the step and operation and explains the cause."""

    code = "E_STEP"

    def __init__(self, step_id: str, operation: str, cause: str, cause_code: str = "E_OPERATION"):
        self.step_id = step_id
        self.operation = operation
        self.cause = cause
        self.cause_code = cause_code
        super().__init__(f"Step '{step_id}' ({operation}) failed: {cause}")


class LimitExceeded(EngineError):
    """A run went past a configured limit (steps, points per value, time budget, output size)."""

    code = "E_LIMIT"
