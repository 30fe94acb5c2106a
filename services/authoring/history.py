"""Undo and redo over immutable drafts: two bounded stacks."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class History(Generic[T]):
    """The states before (``undo``) and after (``redo``) the current one; a new edit clears the redo stack."""

    def __init__(self, limit: int = 100):
        self.limit = limit
        self._past: list[T] = []
        self._future: list[T] = []

    def push(self, previous: T) -> None:
        """Record the state an edit replaced."""
        self._past.append(previous)
        del self._past[: -self.limit]
        self._future.clear()

    def undo(self, current: T) -> T | None:
        """The state before ``current`` (which becomes redoable), or None."""
        if not self._past:
            return None
        self._future.append(current)
        return self._past.pop()

    def redo(self, current: T) -> T | None:
        if not self._future:
            return None
        self._past.append(current)
        return self._future.pop()

    @property
    def can_undo(self) -> bool:
        return bool(self._past)

    @property
    def can_redo(self) -> bool:
        return bool(self._future)
