"""One builder session: the draft being edited, its undo/redo history, the selected step, and its
validation, computed once per change. Kept per browser session by the page (``st.session_state``),
but plain Python: every builder action is an edit applied here, testable without Streamlit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.errors import Problem
from engine.validator import validate
from services.authoring import graph
from services.authoring.document import Draft
from services.authoring.edits import types_of
from services.authoring.history import History
from services.authoring.problems import Located, locate


@dataclass(frozen=True)
class Checked:
    """The validation of one revision of the draft."""

    problems: tuple[Problem, ...]
    located: tuple[Located, ...]
    types: dict[str, str]

    @property
    def count(self) -> int:
        return len(self.problems)


class BuilderSession:
    """The draft under ``key`` ("new", "model:<slug>", "from:<slug>") and everything about editing it."""

    def __init__(self, key: str, draft: Draft, *, history_limit: int = 100, today: date | None = None, resumed: bool = False):
        self.key = key
        self.draft = draft
        self.history: History[Draft] = History(history_limit)
        self.selected: str | None = None
        self.revision = 0  # every change
        self.resets = 0  # changes not made through the editor's own widgets (undo, redo, the JSON tab)
        self.saved_fingerprint: str | None = draft.fingerprint() if resumed else None
        self.resumed = resumed
        self.today = today
        self._checked: tuple[int, Checked] | None = None

    # -- editing ---------------------------------------------------------------------------------
    def apply(self, edit: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Apply one edit (``services.authoring.edits``); returns what the edit returns besides the draft.

        A refusal (``EditRefused``) propagates with its sentence and changes nothing.
        """
        result = edit(self.draft, *args, **kwargs)
        new, value = result if isinstance(result, tuple) else (result, None)
        self._set(new)
        return value

    def replace(self, draft: Draft) -> None:
        """Take a whole new draft (the JSON tab): an undoable change the widgets must re-read."""
        self._set(draft)
        self.resets += 1

    def _set(self, new: Draft) -> None:
        if new == self.draft:
            return
        self.history.push(self.draft)
        self._become(new)

    def _become(self, new: Draft) -> None:
        self.draft = new
        self.revision += 1
        if self.selected is not None and graph.find(new.dsl, self.selected) is None:
            self.selected = None

    def undo(self) -> bool:
        previous = self.history.undo(self.draft)
        if previous is None:
            return False
        self._become(previous)
        self.resets += 1
        return True

    def redo(self) -> bool:
        following = self.history.redo(self.draft)
        if following is None:
            return False
        self._become(following)
        self.resets += 1
        return True

    def select(self, step_id: str | None) -> None:
        self.selected = step_id if step_id is None or graph.find(self.draft.dsl, step_id) else None

    # -- reading ---------------------------------------------------------------------------------
    def check(self) -> Checked:
        """Every problem of the current draft with its place, and the steps' types (cached per revision)."""
        if self._checked is not None and self._checked[0] == self.revision:
            return self._checked[1]
        problems = validate(self.draft.dsl, self.draft.input_schema, today=self.today)
        types = {k: v.value for k, v in types_of(self.draft).items()}
        checked = Checked(tuple(problems), tuple(locate(self.draft.dsl, problems)), types)
        self._checked = (self.revision, checked)
        return checked

    @property
    def unsaved(self) -> bool:
        """Whether the draft changed since it was last autosaved (or loaded)."""
        return self.draft.fingerprint() != self.saved_fingerprint and (self.revision > 0 or self.resumed)
