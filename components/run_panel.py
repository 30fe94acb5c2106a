"""The run flow on a page: the form, the run with progress, errors as sentences, and the results.

The last result of each model is kept in ``st.session_state[f"{slug}.last_run"]`` so that it stays on
screen while the user saves, rates or publishes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from components.results_panel import results_panel
from components.run_form import run_form
from components.session import get_services, require_user
from contracts.errors import AusterError, InputInvalid, RateLimitExceeded, RunFailed


def last_run(slug: str) -> dict[str, Any] | None:
    """``{"run_id", "result", "cached", "inputs"}`` of this session's last successful run of ``slug``."""
    return st.session_state.get(f"{slug}.last_run")


def _run(slug: str, name: str, inputs: dict[str, Any]) -> None:
    """Run the model and keep the outcome (or the per-field errors) in session state."""
    st.session_state.pop(f"{slug}.errors", None)
    user = require_user("run models")
    if user is None:
        return
    with st.status(f"Running {name}…", expanded=False) as status:
        try:
            outcome = get_services().runs.run_model(user, slug, inputs)
        except InputInvalid as exc:
            status.update(label="Some inputs need fixing.", state="error")
            st.session_state[f"{slug}.errors"] = dict(exc.fields)
            return
        except RateLimitExceeded as exc:
            status.update(label="Run limit reached.", state="error")
            st.session_state[f"{slug}.error"] = str(exc)
            return
        except RunFailed as exc:
            status.update(label="The run failed.", state="error")
            st.session_state[f"{slug}.error"] = str(exc)
            return
        except AusterError as exc:
            status.update(label="The run could not start.", state="error")
            st.session_state[f"{slug}.error"] = str(exc)
            return
        result = outcome.result.to_json()
        label = f"Done in {float(result.get('runtime_ms') or 0):,.0f} ms" + (" (from cache)" if outcome.cached else "")
        status.update(label=label, state="complete")
    st.session_state.pop(f"{slug}.error", None)
    st.session_state[f"{slug}.last_run"] = {
        "run_id": outcome.run_id,
        "result": result,
        "cached": bool(outcome.cached),
        "inputs": result.get("inputs") or inputs,
        "warnings": list(getattr(outcome, "warnings", []) or []),
    }


def run_panel(model: Any, prefill: Mapping[str, Any] | None = None, show_results: bool = True) -> dict[str, Any] | None:
    """Form, run and results for ``model``; returns the last run kept for it (if any)."""
    slug = model.slug
    schema = model.latest.input_schema if model.latest else {"fields": []}
    submitted = run_form(slug, schema, prefill, errors=st.session_state.get(f"{slug}.errors"))
    if submitted is not None:
        st.session_state.pop(f"{slug}.error", None)
        _run(slug, model.name, submitted)
        if st.session_state.get(f"{slug}.errors"):
            st.rerun()  # show the messages under their fields
    if st.session_state.get(f"{slug}.error"):
        st.error(st.session_state[f"{slug}.error"])
    kept = last_run(slug)
    if kept and show_results:
        for warning in kept.get("warnings") or []:
            if warning not in (kept["result"].get("warnings") or []):
                st.warning(str(warning))
        results_panel(kept["result"], key=f"{slug}.result", filename=slug)
    return kept
