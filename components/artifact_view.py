"""Render a published artifact from what was stored (never re-run) and list artifacts as cards."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.downloads import ResultMeta
from components.model_card import MODEL_PAGE
from components.publish_dialog import artifact_url
from components.results_panel import data_mode_text, results_panel
from components.text import escape
from contracts.artifact import ArtifactPayload

ARTIFACT_PAGE = "views/artifact.py"


def _shown(value: Any) -> str:
    """An input's value as a reader wants it: a list comma-separated, nothing as a dash."""
    if value is None or value == "":
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def rerun_query(content: ArtifactPayload) -> dict[str, str]:
    """Query parameters that open the model with the artifact's inputs."""
    inputs = content.inputs
    query = {k: str(v) for k, v in inputs.items() if v is not None and not isinstance(v, (list, dict))}
    query.update({k: ",".join(map(str, v)) for k, v in inputs.items() if isinstance(v, list)})
    return {"slug": content.model.slug, **query}


def artifact_card(artifact: Any) -> None:
    """A bordered card linking to ``/artifact?slug=...``."""
    model_name = artifact.content.model.name
    with st.container(border=True, key=f"artifact-card.{artifact.slug}"):
        st.page_link(ARTIFACT_PAGE, label=escape(artifact.title), query_params={"slug": artifact.slug}, icon=":material/article:")
        if artifact.summary:
            st.markdown(escape(artifact.summary[:300]))
        st.caption(escape(f"{model_name} · {artifact.created_at:%Y-%m-%d} · {artifact.views:,} view{'s' if artifact.views != 1 else ''} · {artifact.visibility}"))


def artifact_view(artifact: Any) -> None:
    """The full artifact page body."""
    content = artifact.content
    model_name, version, result = content.model.name, content.version.version, content.result
    st.title(escape(artifact.title))
    if artifact.summary:
        st.markdown(escape(artifact.summary))
    facts = [f"Model: {model_name}" + (f" (version {version})" if version else ""), f"published {artifact.created_at:%Y-%m-%d %H:%M} UTC"]
    facts.append(f"{artifact.views:,} view{'s' if artifact.views != 1 else ''}")
    facts.append(artifact.visibility)
    st.caption(escape(" · ".join(facts)))
    st.caption(escape(data_mode_text(result.get("provenance") or [])))
    inputs = content.inputs
    if inputs:
        fields = (content.version.input_schema or {}).get("fields") or []
        labels = {f.get("name"): f.get("label") or f.get("name") for f in fields if isinstance(f, dict)}  # as the model's form says them
        st.markdown("**Inputs**  \n" + "  \n".join(f"{escape(labels.get(k) or k)}: {escape(_shown(v))}" for k, v in inputs.items()))
    with st.container(horizontal=True, gap="small"):
        st.page_link(MODEL_PAGE, label="Run this model yourself with the same inputs", query_params=rerun_query(content), icon=":material/play_arrow:")
        with st.popover("Copy link", icon=":material/link:"):  # opened on demand: the code block's script loads only then
            st.code(artifact_url(artifact.slug), language=None)
    meta = ResultMeta(slug=content.model.slug, name=model_name, version=version, run_id=content.run.id)
    results_panel(result, key=f"artifact.{artifact.slug}", filename=artifact.slug, meta=meta, cache_key=f"artifact:{artifact.slug}")
