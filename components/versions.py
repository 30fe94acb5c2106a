"""The model page's versions (issue 13): history, the diff between two versions as a reader wants it,
opening and restoring an earlier version, comparing two versions' results, and fork lineage.

The pure parts (the diff's lines, the comparison's frames and figures) come first and take no
Streamlit; the rest renders them. Every piece of user-written text (changelogs, names, parameter
values) goes through ``escape``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.charts import plotly_text, thin
from components.model_card import MODEL_PAGE
from components.plotly_view import show_chart
from components.run_panel import last_run
from components.session import current_user, get_services, require_user
from components.text import escape, escape_table
from contracts.errors import AusterError
from contracts.records import Lineage, ModelVersion
from services.versions import MISSING, Comparison, ItemDiff, SeriesPair, TableDiff, VersionDiff

KIND_NAMES = {"step": "Step", "input": "Input", "series": "Series", "tables": "Table", "metrics": "Metric"}
STATUS_WORDS = {"added": ":green[added]", "removed": ":red[removed]", "changed": ":orange[changed]"}
CHANGED_CELL = "background-color: #fff3bf"
ONLY_NEW_ROW = "background-color: #d3f9d8"
ONLY_OLD_ROW = "background-color: #ffe3e3"
OLD_DASH = "dot"
VALUE_CHARS = 120  # a parameter value longer than this is cut in the diff (the DSL tab shows it whole)


# ------------------------------------------------------------------------------------- pure pieces
def value_text(value: Any) -> str:
    """A parameter or attribute value as a reader sees it: JSON for structures, quoted text for strings."""
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, (int, float)) or isinstance(value, bool) else f"{value:g}"
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def change_line(path: str, before: Any, after: Any) -> str:
    """``window: 5 → 20``, ``align: added "inner"``, ``label: removed``: markdown with the values escaped."""
    name = f"`{path}`" if path.replace(".", "").replace("_", "").isalnum() else escape(path)
    if before is MISSING:
        return f"{name}: set to {escape(value_text(after))}"
    if after is MISSING:
        return f"{name}: removed (was {escape(value_text(before))})"
    return f"{name}: {escape(value_text(before))} → {escape(value_text(after))}"


def item_lines(item: ItemDiff) -> list[str]:
    """One line for the item, then one per changed attribute (markdown)."""
    head = f"**{KIND_NAMES.get(item.kind, item.kind)} `{item.id}`** {STATUS_WORDS[item.status]}"
    if item.summary:
        head += f" · {escape(item.summary)}"
    return [head] + [f"- {change_line(c.path, c.before, c.after)}" for c in item.changes]


def item_markdown(item: ItemDiff) -> str:
    """The item's line, then its changes as a list under it (markdown, values escaped)."""
    head, *changes = item_lines(item)
    return "\n".join([head, "", *changes]) if changes else head


def diff_summary(diff: VersionDiff, old_name: str | None = None, new_name: str | None = None) -> str:
    """``3 differences from version 1 to version 3: 2 added, 1 changed`` (or that they are the same)."""
    old_name, new_name = old_name or f"version {diff.old}", new_name or f"version {diff.new}"
    if diff.empty:
        return f"{old_name[:1].upper()}{old_name[1:]} and {new_name} are the same model: no step, input or output differs."
    counts = {k: v for k, v in diff.counts().items() if v}
    total = sum(counts.values())
    return f"{total} {'difference' if total == 1 else 'differences'} from {old_name} to {new_name}: " + ", ".join(f"{n} {k}" for k, n in counts.items())


def overlay_figure(pair: SeriesPair, old: int, new: int) -> go.Figure:
    """The two versions' series on one chart: the newer solid, the older dotted."""
    fig = go.Figure()
    for entry, version, dash, colour in ((pair.old, old, OLD_DASH, "#7f7f7f"), (pair.new, new, "solid", "#1f77b4")):
        if entry is None:
            continue
        x, y = thin(list(entry.get("x") or []), list(entry.get("y") or []))
        name = plotly_text(f"v{version}: {entry.get('label') or pair.id}")
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line={"dash": dash, "color": colour, "width": 2}))
    fig.update_layout(
        title=plotly_text(f"{pair.label}: version {old} and version {new}"),
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 60, "l": 10, "r": 10, "b": 10},
        meta="version-overlay",
        template="plotly_white",
    )
    return fig


def table_frame(table: TableDiff, old: int, new: int) -> pd.DataFrame:
    """The table's rows (newer values, then rows only the older version has) with a ``change`` column saying
    what differs; a changed cell reads ``new (vOLD: old)``."""
    rows = []
    for index, row in enumerate(table.rows):
        if index in table.only_new:
            change = f"only in v{new}"
        elif index in table.only_old:
            change = f"only in v{old}"
        else:
            cells = [c for c in table.columns if (index, c) in table.changed]
            change = f"{len(cells)} changed" if cells else ""
        shown = {"change": change}
        for column in table.columns:
            value = row.get(column)
            if (index, column) in table.changed:
                before = (table.old_rows[index] or {}).get(column)
                shown[column] = f"{_cell(value)} (v{old}: {_cell(before)})"
            else:
                shown[column] = _cell(value)
        rows.append(shown)
    return pd.DataFrame(rows, columns=["change", *table.columns])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def table_styles(table: TableDiff) -> pd.DataFrame:
    """CSS per cell of ``table_frame``: changed cells and rows only one version has, highlighted."""
    styles = pd.DataFrame("", index=range(len(table.rows)), columns=["change", *table.columns])
    for index in range(len(table.rows)):
        if index in table.only_new:
            styles.loc[index, :] = ONLY_NEW_ROW
        elif index in table.only_old:
            styles.loc[index, :] = ONLY_OLD_ROW
    for index, column in table.changed:
        styles.loc[index, column] = CHANGED_CELL
    return styles


def metrics_frame(comparison: Comparison) -> pd.DataFrame:
    old, new = comparison.old.version, comparison.new.version
    rows = [
        {"metric": m.label, f"v{old}": (m.old or {}).get("text", ""), f"v{new}": (m.new or {}).get("text", ""), "same": "yes" if m.same else "no"}
        for m in comparison.metrics
    ]
    return pd.DataFrame(rows, columns=["metric", f"v{old}", f"v{new}", "same"])


def lineage_text(lineage: Lineage) -> str | None:
    """``Forked from **Spread** (spread-x), version 3, by Ana`` (markdown, escaped), or None for no fork."""
    if lineage.source is None:
        return "Forked from a model that is no longer visible to you." if lineage.source_hidden else None
    src = lineage.source
    text = f"Forked from **{escape(src.name)}**"
    if src.version is not None:
        text += f", version {src.version}"
    if src.is_template:
        text += ", an Auster template"
    elif src.owner_name:
        text += f", by {escape(src.owner_name)}"
    return text


# ------------------------------------------------------------------------------------------- pages
def _flash(key: str) -> None:
    message = st.session_state.pop(key, None)
    if message:
        (st.success if message[0] == "ok" else st.error)(escape(message[1]))


def lineage_line(model: Any) -> Lineage | None:
    """Under the title: where a fork came from, with a link to its source."""
    try:
        lineage = get_services().versions.lineage(current_user(), model.slug)
    except AusterError:
        return None
    text = lineage_text(lineage)
    if text:
        row = st.container(horizontal=True, gap="small", vertical_alignment="center")
        with row:
            st.markdown(lineage_text(lineage), width="content")
            if lineage.source is not None:
                query = {"slug": lineage.source.slug} | ({"version": str(lineage.source.version)} if lineage.source.version else {})
                st.page_link(MODEL_PAGE, label=escape(f"Open {lineage.source.slug}"), query_params=query, icon=":material/call_split:", width="content")
    return lineage


def earlier_version(model: Any, requested: str | None) -> ModelVersion | None:
    """The version named by ``?version=N`` when it is not the current one (an error sentence when there is none)."""
    if not requested:
        return None
    try:
        number = int(requested)
        version = get_services().versions.get(current_user(), model.slug, number)
    except ValueError:
        st.error(f"'{escape(requested)}' is not a version number; the current version is shown.")
        return None
    except AusterError as exc:
        st.error(escape(str(exc) + " The current version is shown."))
        return None
    if model.latest is not None and version.id == model.latest.id:
        return None
    current = model.latest.version if model.latest else "none"
    when = version.created_at.strftime("%Y-%m-%d")
    st.info(escape(f"You are looking at version {version.version} of this model ({when}); the current version is {current}. Runs here run version {version.version}."))
    st.page_link(MODEL_PAGE, label="Open the current version", query_params={"slug": model.slug}, icon=":material/update:")
    return version


def history_frame(versions: list[ModelVersion], current_id: str | None) -> pd.DataFrame:
    rows = [
        {
            "version": v.version,
            "date": v.created_at.strftime("%Y-%m-%d %H:%M"),
            "author": v.author_name or ("template" if v.created_by is None else "unknown"),
            "changelog": v.changelog,
            "status": ("current" if v.id == current_id else v.status),
        }
        for v in versions
    ]
    return pd.DataFrame(rows, columns=["version", "date", "author", "changelog", "status"])


def versions_tab(model: Any, lineage: Lineage | None = None) -> None:
    """History, open or restore a version, the diff and the comparison of two versions, forks."""
    svc, user, slug = get_services(), current_user(), model.slug
    try:
        versions = svc.versions.history(user, slug)
    except AusterError as exc:
        st.error(escape(exc))
        return
    current_id = model.latest.id if model.latest else None
    st.table(escape_table(history_frame(versions, current_id))[0], hide_index=True)  # static: readable by anyone, light to load
    _flash(f"{slug}.versions.flash")
    numbers = [v.version for v in versions]
    if not numbers:
        return
    _open_or_restore(model, versions, current_id)
    if len(numbers) > 1:
        st.subheader("What changed")
        columns = st.columns(2)
        old = columns[0].selectbox("From version", numbers, index=min(1, len(numbers) - 1), key=f"{slug}.diff.old")
        new = columns[1].selectbox("To version", numbers, index=0, key=f"{slug}.diff.new")
        try:
            show_diff(svc.versions.diff(user, slug, int(old), int(new)))
        except AusterError as exc:
            st.error(escape(exc))
        _compare(model, int(old), int(new))
    _forks(model, lineage)


def show_diff(diff: VersionDiff, old_name: str | None = None, new_name: str | None = None) -> None:
    """The diff as sections of lines a reader scans: steps, inputs, outputs."""
    st.markdown(escape(diff_summary(diff, old_name, new_name)))
    for title, items in (("Steps", diff.steps), ("Inputs", diff.inputs), ("Outputs", diff.outputs)):
        if not items:
            continue
        st.markdown(f"**{escape(title)}**")
        for item in items:
            st.markdown(item_markdown(item))


def _open_or_restore(model: Any, versions: list[ModelVersion], current_id: str | None) -> None:
    svc, user, slug = get_services(), current_user(), model.slug
    numbers = [v.version for v in versions]
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    with row:
        chosen = st.selectbox("Version", numbers, key=f"{slug}.pick", width=160)
    picked = next(v for v in versions if v.version == chosen)
    with row:
        st.page_link(MODEL_PAGE, label=escape(f"Open version {chosen}"), query_params={"slug": slug, "version": str(chosen)}, icon=":material/history:", width="content")
    owner = user is not None and model.owner_id == user.id
    if owner and picked.id != current_id:
        with row:
            if st.button(escape(f"Restore version {chosen} as a new version"), key=f"{slug}.restore", icon=":material/restore:", width="content"):
                try:
                    restored = svc.versions.restore(user, slug, int(chosen))
                    st.session_state[f"{slug}.versions.flash"] = ("ok", f"Version {chosen} is restored as version {restored.version}, now the current one.")
                except AusterError as exc:
                    st.session_state[f"{slug}.versions.flash"] = ("error", str(exc))
                st.rerun()


def _compare(model: Any, old: int, new: int) -> None:
    """Run both versions with the same inputs (the last run's on this page, else the defaults) and show them."""
    slug = model.slug
    st.subheader("Compare results")
    kept = last_run(slug)
    inputs = dict((kept or {}).get("inputs") or {})
    st.caption(
        escape(f"Runs version {old} and version {new} with the same inputs ("
        + ("those of your last run on this page" if inputs else "each input's default")
        + "); each run counts like any other, and a repeated one comes from the cache.")
    )
    if old == new:
        st.caption("Choose two different versions above to compare their results.")
        return
    if st.button(escape(f"Compare results of v{old} and v{new}"), key=f"{slug}.compare", icon=":material/compare_arrows:"):
        user = require_user("compare versions")
        if user is not None:
            with st.spinner(f"Running versions {old} and {new}…"):
                try:
                    st.session_state[f"{slug}.comparison"] = get_services().versions.compare(user, slug, old, new, inputs)
                    st.session_state.pop(f"{slug}.compare.error", None)
                except AusterError as exc:
                    st.session_state.pop(f"{slug}.comparison", None)
                    st.session_state[f"{slug}.compare.error"] = str(exc)
    if st.session_state.get(f"{slug}.compare.error"):
        st.error(escape(st.session_state[f"{slug}.compare.error"]))
    comparison: Comparison | None = st.session_state.get(f"{slug}.comparison")
    if comparison is not None:
        show_comparison(slug, comparison)


def show_comparison(slug: str, comparison: Comparison) -> None:
    old, new = comparison.old.version, comparison.new.version
    if comparison.same:
        st.success(escape(f"Versions {old} and {new} give the same results for these inputs."))
    else:
        differing = sum(not s.same for s in comparison.series) + sum(not t.same for t in comparison.tables) + sum(not m.same for m in comparison.metrics)
        st.warning(escape(f"Versions {old} and {new} give different results for these inputs: {differing} of their outputs differ."))
    for version, names in comparison.left_out.items():
        st.caption(escape(f"Version {version} takes no input {', '.join(names)}; it ran without it."))
    if comparison.metrics:
        st.table(escape_table(metrics_frame(comparison))[0], hide_index=True)
    for i, pair in enumerate(comparison.series):
        show_chart(overlay_figure(pair, old, new), key=f"{slug}.compare.series.{i}")
    for table in comparison.tables:
        st.markdown(f"**{escape(table.label)}**" + ("" if not table.same else " (the same in both versions)"))
        frame = table_frame(table, old, new)
        shown, _ = escape_table(frame)
        styles = table_styles(table)
        styles.columns, styles.index = shown.columns, shown.index  # the same cells, under their escaped labels
        st.table(shown.style.apply(lambda _, css=styles: css, axis=None), hide_index=True)


def _forks(model: Any, lineage: Lineage | None) -> None:
    """The forks the viewer may list, and for a fork's owner the source's newer versions to take."""
    svc, user, slug = get_services(), current_user(), model.slug
    if lineage is not None and lineage.forks:
        st.subheader(f"Forks ({len(lineage.forks)})")
        for fork in lineage.forks:
            label = f"{fork.name} by {fork.owner_name or 'someone'}" + (f" (from version {fork.version})" if fork.version else "")
            st.page_link(MODEL_PAGE, label=escape(label), query_params={"slug": fork.slug}, icon=":material/call_split:")
    try:
        updates = svc.versions.source_updates(user, slug)
    except AusterError:
        updates = None
    if updates is None:
        return
    st.subheader("Updates from the source")
    _flash(f"{slug}.take.flash")
    if not updates.newer:
        st.caption(escape(f"Your fork follows {updates.source_slug} version {updates.following}; the source has no newer version."))
        return
    st.info(escape(f"{updates.source_slug} has {len(updates.newer)} newer version(s) than the one your fork follows (version {updates.following})."))
    for version, diff in updates.newer:
        with st.expander(escape(f"Version {version.version}: {version.changelog or 'no changelog'}"), expanded=version is updates.newer[-1][0]):
            show_diff(diff, "your fork's current version", f"{updates.source_slug} version {version.version}")
            if st.button(escape(f"Take version {version.version} into your fork"), key=f"{slug}.take.{version.version}", icon=":material/download:"):
                try:
                    taken = svc.versions.take(user, slug, version.version)
                    st.session_state[f"{slug}.take.flash"] = ("ok", f"Your fork now runs {updates.source_slug} version {version.version}, as its version {taken.version}.")
                except AusterError as exc:
                    st.session_state[f"{slug}.take.flash"] = ("error", str(exc))
                st.rerun()
