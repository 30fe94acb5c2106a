"""Authoring: the builder's logic, with no Streamlit.

- ``checks``: parse, validate and describe DSL documents (problems keep tuple paths such as
  ``("steps", 2, "params", "window")`` so an editor can put each one on its node and field).
- ``document``: the ``Draft`` value (DSL, input schema, metadata); ``edits``: every builder action
  as a pure function over it (add, connect, bind, remove with a choice for dependents, outputs,
  inputs, the whole document); ``history``: undo and redo; ``session``: one editing session with its
  validation per change.
- ``graph`` (the step graph of a document, valid or not), ``canvas`` (nodes by depth, edges),
  ``problems`` (where each problem belongs), ``forms`` (parameter widgets from JSON schema),
  ``palette`` (operations by family, searchable).
- ``preview``: run a draft up to a step (not recorded, own rate limit, the runner's caps);
  ``service``: open, autosave, check a slug and save (``Services.builder``).
"""

from services.authoring.checks import check, operations, output_schema, parse, step_types
from services.authoring.document import Draft, from_model

__all__ = ["Draft", "check", "from_model", "operations", "output_schema", "parse", "step_types"]
