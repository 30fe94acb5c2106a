"""/workspace : my models, saved models, my runs (open a run's results) and my artifacts."""

import pandas as pd
import streamlit as st

from components.artifact_view import artifact_card
from components.builder.links import new_model_link
from components.downloads import ResultMeta
from components.model_card import card_grid
from components.results_panel import results_panel
from components.session import current_user, get_services
from components.text import escape, escape_table
from contracts.errors import AusterError

st.title("Workspace")
user = current_user()
if user is None:
    st.info("Sign in or continue as a guest to keep models, runs and artifacts here.")
    st.page_link("views/account.py", label="Go to your account", icon=":material/login:")
    st.stop()

svc = get_services()
mine, saved, runs, artifacts = st.tabs(["My models", "Saved", "Runs", "Artifacts"])
try:
    with mine:
        new_model_link("workspace")
        models = svc.models.list_mine(user)
        if models:
            card_grid(models, key="mine")
        else:
            st.info("Models you fork or create appear here.")
    with saved:
        saved_models = svc.social.list_saved(user)
        if saved_models:
            card_grid(saved_models, key="saved")
        else:
            st.info("Press Save on a model to keep it here.")
    with runs:
        records = svc.runs.list_runs(user, limit=50)
        if not records:
            st.info("Your runs appear here after you run a model.")
        else:
            rows = [
                {"When (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"), "Model": r.model_slug or "", "Status": r.status,
                 "Runtime (ms)": None if r.runtime_ms is None else round(r.runtime_ms), "From cache": "yes" if r.cached else "no",
                 "Inputs": ", ".join(f"{k}={'' if v is None else v}" for k, v in (r.inputs or {}).items()), "Error": r.error_message or ""}
                for r in records
            ]
            frame, formats = escape_table(pd.DataFrame(rows), {"Runtime (ms)": lambda v: "" if v is None or v != v else f"{v:,.0f}"})
            st.table(frame.style.format(formats), hide_index=True,
                     height="content" if len(rows) <= 12 else 420)
            labels = {r.id: f"{r.created_at:%Y-%m-%d %H:%M:%S} · {r.model_slug} · {r.status}" for r in records}
            chosen = st.selectbox("Open a run's results", list(labels), format_func=labels.get, index=None, key="workspace.run")
            if chosen:
                record = svc.runs.get_run(user, chosen)
                if record.outputs:
                    meta = ResultMeta(slug=record.model_slug or "", name=record.model_slug or "", run_id=record.id)
                    results_panel(record.outputs, key=f"run.{record.id}", filename=f"{record.model_slug}-run", meta=meta, cache_key=f"run:{record.id}")
                else:
                    st.error(escape(record.error_message or "This run produced no results."))
    with artifacts:
        published = svc.publishing.list_artifacts(user, mine=True)
        for artifact in published:
            artifact_card(artifact)
        if not published:
            st.info("Publish a run from a model page to share it.")
except AusterError as exc:
    st.error(escape(exc))
