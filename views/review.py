"""/review : the admins' queue of code versions waiting for review (issue 15).

For each one: its code, a diff against the model's last approved version, its dependencies, a trial run
in the sandbox on the sample data, and approve or reject with a note. Listed only for admins.
"""

import streamlit as st

from components.code_review import LANGUAGE
from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError

st.title("Code review")
admin = current_user()
if admin is None or not admin.is_admin:
    st.info("This page is for administrators.")
    st.stop()

svc = get_services()
try:
    queue = svc.review.queue(admin)
except AusterError as exc:
    st.error(escape(exc))
    st.stop()
if not queue:
    st.success("Nothing is waiting for review.")
    st.stop()

st.caption(f"{len(queue)} code version(s) waiting, oldest first. Nobody but their authors sees or runs them until you approve.")
labels = {i.version.id: f"{i.model.name} ({i.model.slug}) · v{i.version.version} · {i.version.runtime}" for i in queue}
chosen = st.selectbox("Version", list(labels), format_func=lambda vid: labels[vid], key="review.version")
view = svc.review.open(admin, chosen)
version = view.item.version
st.markdown(f"**{escape(view.item.model.name)}**, " + escape(f"version {version.version}: {version.changelog or 'no changelog'}"))
st.caption(escape(f"Dependencies: {', '.join(version.dependencies) or 'none'} · code SHA-256 {view.bundle.sha256[:16]}"))

code, diff, trial = st.tabs(["Code", "Changes since the last approved version", "Trial run"])
with code:
    st.code(view.bundle.source, language=LANGUAGE.get(version.runtime, "text"), line_numbers=True)
with diff:
    if view.item.last_approved is None:
        st.caption("No earlier version of this model was approved: all of the code is new.")
    st.code(view.diff or "(no change to the code)", language="diff")
with trial:
    st.caption("Runs this version once in the sandbox on the sample data with its default inputs; nothing is recorded.")
    if st.button("Trial run", key="review.trial", icon=":material/play_arrow:"):
        with st.spinner("Running in the sandbox..."):
            st.session_state[f"review.trial.{chosen}"] = svc.review.trial(admin, chosen)
    result = st.session_state.get(f"review.trial.{chosen}")
    if result is not None:
        if result.error:
            st.error(escape(result.error))
        else:
            outputs = result.result.outputs
            st.success(f"Done: {len(outputs['series'])} series, {len(outputs['tables'])} table(s), {len(outputs['metrics'])} metric(s).")
        st.caption(escape(f"Limits: {result.limits['max_runtime_ms'] / 1000:g} s, {result.limits['max_memory_mb']} MB, {result.limits['max_output_kb']} KB of output"
                   + (f" · used {result.runtime_ms:,.0f} ms, peak {result.peak_memory_mb or 0:,.0f} MB" if result.runtime_ms else "")))
        st.text_area("Standard output", result.stdout, disabled=True, key=f"review.stdout.{chosen}")
        st.text_area("Standard error", result.stderr, disabled=True, key=f"review.stderr.{chosen}")

with st.form("review.decide"):
    note = st.text_area("Note to the author (required to reject)", key="review.note", max_chars=4000)
    left, right = st.columns(2)
    approve = left.form_submit_button("Approve", type="primary", icon=":material/verified:")
    reject = right.form_submit_button("Reject", icon=":material/block:")
if approve or reject:
    try:
        svc.review.decide(admin, chosen, "approved" if approve else "rejected", note, view.bundle.sha256)
    except AusterError as exc:
        st.error(escape(exc))
    else:
        st.session_state.pop(f"review.trial.{chosen}", None)
        st.success(escape(f"{'Approved' if approve else 'Rejected'}: {view.item.model.name} v{version.version}."))
        st.rerun()
