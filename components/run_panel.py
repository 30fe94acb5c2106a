"""The run flow on a page: the form, checks before anything is spent, the run with progress, errors as
sentences, the quota, and the results with publishing.

The last result of each model is kept in ``st.session_state[f"{slug}.last_run"]`` so that it stays on
screen while the user saves, rates or publishes it. A run that fails removes it: its error takes the
result's place. Inputs are checked before a run (the schema's own rules, and an expiration the chain
does not list), so a refused input costs no run and starts no guest session; a field's error goes
away as soon as the form is run with the field fixed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date
from typing import Any

import streamlit as st

from components.charts import placeholder_figure
from components.downloads import ResultMeta
from components.plotly_view import show_chart
from components.publish_dialog import publish_controls
from components.results_panel import results_panel
from components.run_form import check_inputs, form_values, parse_schema, run_form, seed_state
from components.session import current_user, get_services, require_user
from components.sidebar import refresh_identity
from components.text import escape
from contracts.errors import AusterError, InputInvalid, QueueUnavailable, RateLimitExceeded, RunFailed
from contracts.rules import daily_limit


def last_run(slug: str) -> dict[str, Any] | None:
    """``{"run_id", "result", "cached", "inputs"}`` of this session's last successful run of ``slug``."""
    return st.session_state.get(f"{slug}.last_run")


def _failed(slug: str, message: str) -> None:
    """A failed or refused run: its sentence replaces the previous result on screen."""
    st.session_state[f"{slug}.error"] = message
    st.session_state.pop(f"{slug}.last_run", None)


QUEUED_PARAM = "run"  # the address names a queued run, so a reload reads its state back


def _queue(slug: str, inputs: dict[str, Any]) -> None:
    """Queue a code model's run (it runs on a worker); the page follows it in ``queued_panel``."""
    user = require_user("run models")
    if user is None:
        return
    st.session_state.pop(QUOTA_KEY, None)
    try:
        state = get_services().queue.submit(user, slug, inputs)
    except InputInvalid as exc:
        st.session_state[f"{slug}.errors"] = dict(exc.fields)
        return
    except AusterError as exc:
        _failed(slug, str(exc))
        return
    st.session_state.pop(f"{slug}.error", None)
    st.session_state.pop(f"{slug}.last_run", None)
    st.session_state[f"{slug}.queued"] = state.run_id
    st.query_params[QUEUED_PARAM] = state.run_id


STATE_LABEL = {"queued": "Queued, waiting for a worker", "running": "Running on a worker", "done": "Done", "failed": "Failed", "cancelled": "Cancelled"}


def _adopt(slug: str, state: Any, version: int | None) -> None:
    """A finished queued run becomes the page's result (or its sentence)."""
    st.session_state.pop(f"{slug}.queued", None)
    if state.state == "done" and state.run is not None and state.run.outputs:
        result = state.run.outputs
        st.session_state.pop(f"{slug}.error", None)
        st.session_state[f"{slug}.last_run"] = {"run_id": state.run_id, "result": result, "cached": bool(state.cached),
                                                "inputs": result.get("inputs") or state.run.inputs, "version": version, "warnings": []}
    else:
        _failed(slug, (state.run.error_message if state.run else None) or STATE_LABEL[state.state] + ".")


def queued_panel(slug: str, version: int | None) -> None:
    """The state of this page's queued run, refreshed every second until it is finished; a Cancel button."""
    run_id = st.session_state.get(f"{slug}.queued") or (st.query_params.get(QUEUED_PARAM) if not last_run(slug) else None)
    if not run_id:
        return
    user = current_user()
    if user is None:
        return

    @st.fragment(run_every=1.0)
    def follow() -> None:
        try:
            state = get_services().queue.status(user, run_id)
        except QueueUnavailable as exc:  # Redis restarting: the run is recorded; keep following it
            st.info(escape(exc), icon=":material/sync_problem:")
            return
        except AusterError as exc:
            st.session_state.pop(f"{slug}.queued", None)
            st.caption(escape(exc))
            return
        if state.finished:
            _adopt(slug, state, version)
            st.rerun()
        st.session_state[f"{slug}.queued"] = run_id
        left, right = st.columns([4, 1])
        left.info(escape(f"{STATE_LABEL[state.state]} · {state.elapsed_s:,.0f} s"), icon=":material/hourglass_top:")
        if right.button("Cancel", key=f"{slug}.cancel", icon=":material/cancel:"):
            get_services().queue.cancel(user, run_id)
            st.rerun()

    follow()


def _run(slug: str, name: str, inputs: dict[str, Any], version: int | None = None, key: str | None = None, queued: bool = False) -> None:
    """Run the model (its ``version``, else the current one) and keep the outcome (or the per-field errors) in
    session state under ``key`` (the slug, or the slug and version for an earlier version); code models go to the
    queue (their current version)."""
    if queued:
        _queue(slug, inputs)
        return
    run_slug, slug = slug, key or slug
    user = require_user("run models")
    if user is None:
        return
    st.session_state.pop(QUOTA_KEY, None)  # the count changes with this run
    with st.status(escape(f"Running {name}…"), expanded=False) as status:
        try:
            outcome = get_services().runs.run_model(user, run_slug, inputs, version=version)
        except InputInvalid as exc:
            status.update(label="Some inputs need fixing.", state="error")
            st.session_state[f"{slug}.errors"] = dict(exc.fields)
            return
        except RateLimitExceeded as exc:
            status.update(label="Run limit reached.", state="error")
            _failed(slug, str(exc))
            return
        except RunFailed as exc:
            status.update(label="The run failed.", state="error")
            _failed(slug, str(exc))
            return
        except AusterError as exc:
            status.update(label="The run could not start.", state="error")
            _failed(slug, str(exc))
            return
        result = outcome.result.to_json()
        label = f"Done in {float(result.get('runtime_ms') or 0):,.0f} ms" + (" (from cache)" if outcome.cached else "")
        status.update(label=escape(label), state="complete")
    st.session_state.pop(f"{slug}.error", None)
    st.session_state[f"{slug}.last_run"] = {
        "run_id": outcome.run_id,
        "result": result,
        "cached": bool(outcome.cached),
        "inputs": result.get("inputs") or inputs,
        "version": outcome.version,
        "warnings": list(getattr(outcome, "warnings", []) or []),
    }


def form_today() -> date:
    """What "today" means for the form's relative dates: the data's reference date (the sample's as-of date on
    sample data, so "today" is the newest observation rather than a day the data does not reach), else today."""
    return get_services().runs.reference_date or date.today()


def _check(slug: str, schema: Any) -> dict[str, str]:
    """The form's values against the schema and the data (a listed expiration); per-field sentences."""
    canonical, errors = check_inputs(schema, form_values(slug, schema), form_today())
    if errors:
        return errors
    try:
        return get_services().labs.listed_expiration_problems(schema, canonical)
    except AusterError:
        return {}  # the run itself will say what is wrong with the data


QUOTA_KEY = "auster.quota"
QUOTA_TTL_S = 60.0  # an admin's tier change shows within a minute; the session's own runs show at once


def quota_text(user: Any) -> str:
    """``7 of 10 runs left today`` for a signed-in user (or a guest); what a visitor will get otherwise.
    Kept for a minute per session (and dropped after each run), so a widget change costs no store call."""
    if user is None:
        return f"Running starts a guest session with {daily_limit('free')} runs a day."
    kept = st.session_state.get(QUOTA_KEY)
    if kept and kept[0] == user.id and time.monotonic() - kept[1] < QUOTA_TTL_S:
        return kept[2]
    try:
        remaining = get_services().runs.remaining_today(user)
        limit = get_services().auth.refresh(user).daily_limit
    except AusterError:
        return ""
    text = f"{remaining} of {limit} {'run' if limit == 1 else 'runs'} left today (they reset at 00:00 UTC; a repeated run from the cache is free)."
    st.session_state[QUOTA_KEY] = (user.id, time.monotonic(), text)
    return text


def state_key(slug: str, version: int | None = None) -> str:
    """Where a model's form and last run live in session state: its slug, with ``@vN`` for an earlier version
    (so an earlier version's form and result never mix with the current one's)."""
    return f"{slug}@v{version}" if version is not None else slug


def run_panel(
    model: Any, prefill: Mapping[str, Any] | None = None, show_results: bool = True, publish: bool = True, earlier: bool = False
) -> dict[str, Any] | None:
    """Form, checks, run, quota and results for ``model``; returns the last run kept for it (if any). With
    ``earlier`` the model's ``latest`` is an earlier version, which is what runs (/model?slug=X&version=N)."""
    run_slug = model.slug
    version = model.latest.version if model.latest else None
    slug = state_key(run_slug, version if earlier else None)
    schema = parse_schema(model.latest.input_schema if model.latest else None)
    problems = seed_state(slug, schema, prefill or {}, form_today())
    pressed = bool(st.session_state.get(f"{slug}.run"))
    if pressed:
        st.session_state[f"{slug}.errors"] = _check(slug, schema)
    errors = st.session_state.get(f"{slug}.errors") or {}
    submitted = run_form(slug, schema, prefill, errors={**problems, **errors}, seed=False)
    if submitted is not None and not errors:
        st.session_state.pop(f"{slug}.error", None)
        was_anonymous = current_user() is None
        _run(run_slug, model.name, submitted, version=version, key=slug, queued=bool(model.latest and model.latest.is_code and not earlier))
        if was_anonymous and current_user() is not None:
            refresh_identity()  # the run started a guest session: the sidebar says so now
        if st.session_state.get(f"{slug}.errors"):
            st.rerun()  # the run flow refused a field the form could not check: show it under the field
    queued_panel(slug, model.latest.version if model.latest else None)
    quota = quota_text(current_user())
    if quota:
        st.caption(escape(quota))
    if st.session_state.get(f"{slug}.error"):
        st.error(escape(st.session_state[f"{slug}.error"]))
    kept = last_run(slug)
    draws_charts = bool(((model.latest.dsl if model.latest else {}) or {}).get("outputs", {}).get("series"))
    if show_results and draws_charts and not kept and not st.session_state.get(f"{slug}.error"):
        show_chart(placeholder_figure(), key=f"{slug}.placeholder", config={"staticPlot": True, "displayModeBar": False})
    if kept and show_results:
        for warning in kept.get("warnings") or []:
            if warning not in (kept["result"].get("warnings") or []):
                st.warning(escape(warning))
        meta = ResultMeta(slug=run_slug, name=model.name, version=kept.get("version") or (model.latest.version if model.latest else None), run_id=kept.get("run_id"))
        results_panel(kept["result"], key=f"{slug}.result", filename=run_slug if not earlier else f"{run_slug}-v{version}", meta=meta, cache_key=kept.get("run_id"))
        if publish:
            publish_controls(slug, kept.get("run_id"), model.name)
    return kept
