"""The canvas: the draft's steps as nodes (left to right by depth, coloured by family, with their output
type and errors) in a React Flow canvas (``streamlit-flow-component``, its built front end shipped in
the wheel). Clicking a node selects it; drawing an edge from a node's right handle to another's left
handle feeds the first into the second (refused with a sentence when the types do not fit); an edge's
menu deletes it. Everything here is also offered by the keyboard in the Steps list."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import streamlit as st
from streamlit_flow import streamlit_flow
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.layouts import ManualLayout
from streamlit_flow.state import StreamlitFlowState

from components.builder.state import act
from components.text import escape
from services.authoring import edits as E
from services.authoring.canvas import Edge, Node, canvas
from services.authoring.session import BuilderSession, Checked

FLOW = "builder.flow"
COLUMN_PX, ROW_PX, NODE_PX = 270, 160, 210
# Background per operation family (light tints; the family's name is in the node's text too).
FAMILY_COLOURS = {
    "fetch": "#dbeafe", "math": "#dcfce7", "stats": "#fef9c3", "returns": "#ffedd5", "analysis": "#ede9fe",
    "filters": "#cffafe", "cycles": "#fce7f3", "options": "#e0e7ff",
}
UNKNOWN_COLOUR = "#f3f4f6"
LEGEND_COLOURS = {"fetch": "blue", "math": "green", "stats": "orange", "returns": "orange", "analysis": "violet",
                  "filters": "blue", "cycles": "red", "options": "violet"}


def node_markdown(node: Node) -> str:
    """A node's text: id, operation and family, output type, errors. Everything is escaped: the node renders Markdown and HTML."""
    lines = [f"**{escape(node.id)}**", f"{escape(node.operation or '(no operation)')} · {escape(node.family or 'unknown')}",
             f"→ {escape(node.output or 'type unknown')}"]
    if node.errors:
        count = len(node.errors)
        lines.append(f"⚠ {count} error{'s' if count != 1 else ''}: {escape(node.errors[0])}")
    return "  \n".join(lines)


def flow_nodes(nodes: list[Node]) -> list[StreamlitFlowNode]:
    """React Flow nodes (the canvas marks the clicked one itself; a red border marks errors)."""
    built = []
    for node in nodes:
        style = {
            "background": FAMILY_COLOURS.get(node.family or "", UNKNOWN_COLOUR),
            "width": f"{NODE_PX}px",
            "fontSize": "12px",
            "textAlign": "left",
            "border": "3px solid #dc2626" if node.errors else "1px solid #6b7280",
            "borderRadius": "6px",
        }
        built.append(StreamlitFlowNode(
            node.id, (node.column * COLUMN_PX, node.row * ROW_PX), {"content": node_markdown(node)}, "default", "right", "left",
            selectable=True, connectable=True, draggable=True, style=style,
        ))
    return built


def flow_edges(edges: list[Edge]) -> list[StreamlitFlowEdge]:
    return [StreamlitFlowEdge(f"{e.source}->{e.target}#{e.position}", e.source, e.target, label=escape(e.slot), marker_end={"type": "arrowclosed"},
                              deletable=True, focusable=True) for e in edges]


def _pairs(edges: list[Any]) -> Counter[tuple[str, str]]:
    return Counter((e.source, e.target) for e in edges)


def canvas_view(session: BuilderSession, checked: Checked) -> None:
    """Draw the canvas and turn what the user did on it into edits."""
    nodes, edges = canvas(session.draft.dsl, checked.types, list(checked.located))
    memo = st.session_state.setdefault(FLOW, {"sig": None, "state": None, "seen": 0})
    # Redrawn only when what it shows changes: each redraw makes the component send its state back (one more
    # rerun), so an edit that leaves every node's text as it was (a window of 60 instead of 20) does not redraw it.
    signature = (session.key, tuple(nodes), tuple(edges), memo.get("force", 0))
    if memo["sig"] != signature:
        stamp = max(int(time.time() * 1000), memo["seen"] + 1)  # newer than anything the canvas sent, whatever the clocks say
        memo.update(sig=signature, state=StreamlitFlowState(flow_nodes(nodes), flow_edges(edges), timestamp=stamp))
    if not nodes:
        st.info("The canvas is empty: add a step from the palette in the sidebar (or in the Steps list).", icon=":material/add_circle:")
        return
    # The component fits its view only when it first draws, so it is drawn afresh (a new key) when the
    # layout's extent changes; otherwise a step placed in a new column could sit outside the view.
    extent = (max(n.column for n in nodes), max(n.row for n in nodes))
    returned = streamlit_flow(
        f"builder.canvas.{extent[0]}x{extent[1]}", memo["state"], height=460, fit_view=True, show_controls=True, show_minimap=False, allow_new_edges=True,
        get_node_on_click=True, get_edge_on_click=False, enable_edge_menu=True, enable_node_menu=False, enable_pane_menu=False,
        hide_watermark=True, layout=ManualLayout(), min_zoom=0.2,
    )
    st.caption("Families: " + " ".join(f":{escape(LEGEND_COLOURS[f])}-background[{escape(f)}]" for f in FAMILY_COLOURS)
               + ". Drag from a step's right handle to another step's left handle to use it as an input; "
               "right-click an edge to delete it. A red border marks a step with errors.")
    if returned is None or returned is memo["state"] or (returned.timestamp or 0) <= memo["seen"]:
        return
    memo["seen"] = returned.timestamp
    _apply(session, memo, edges, returned)


def _apply(session: BuilderSession, memo: dict[str, Any], edges: list[Edge], returned: StreamlitFlowState) -> None:
    """What changed on the canvas, as edits: new edges connect, removed edges disconnect, a click selects."""
    drawn, had = _pairs(returned.edges), _pairs(edges)
    changed = False
    for (source, target), count in (drawn - had).items():
        for _ in range(count):
            before = session.revision
            act(session, E.connect, source, target)
            changed = True
            if session.revision == before:
                memo["force"] = memo.get("force", 0) + 1  # refused: redraw without the edge
    for (source, target), count in (had - drawn).items():
        for _ in range(count):
            act(session, E.disconnect, source, target)
            changed = True
    selected = returned.selected_id
    if selected and selected in {n.id for n in returned.nodes} and selected != session.selected:
        session.select(selected)  # the editor and the list are drawn after the canvas: no second run needed
    if changed:
        st.rerun()
