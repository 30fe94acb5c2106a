"""Markup nobody can inject (issue 9): every text the app hands to Streamlit's Markdown renderer is escaped.

Streamlit reads Markdown (and its ``:color[...]`` directives) in ``st.markdown``, captions, titles, alert
boxes, toasts, status labels, tab, expander and popover labels, widget labels and their help tooltips, and
page-link labels. Text from a link, a model's author, a stored run or an error that quotes any of them must
reach those calls through ``components.text.escape``. These tests read the app's source and refuse any such
call whose text is built from something other than literals, numbers and ``escape(...)``; the browser test
(``tests/e2e/test_markup.py``) checks what Chromium renders for a corpus of payloads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from components.model_card import tags_line
from components.text import JOINER, escape

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([ROOT / "app.py", *(ROOT / "components").rglob("*.py"), *(ROOT / "views").rglob("*.py")])

# Calls whose first argument (or ``body``) is Markdown.
BODY_CALLS = {"markdown", "caption", "error", "warning", "info", "success", "toast", "title", "header", "subheader", "write"}
# Calls whose first argument (or ``label``) is a Markdown label.
LABEL_CALLS = {
    "status", "expander", "popover", "button", "link_button", "download_button", "checkbox", "toggle", "text_input", "text_area",
    "number_input", "date_input", "selectbox", "multiselect", "radio", "slider", "select_slider", "form_submit_button", "metric",
    "badge", "file_uploader", "time_input", "pills", "segmented_control", "color_picker",
}
# Functions that return text already escaped for Markdown (each tested below with the payloads).
ESCAPING_CALLS = {"escape", "tags_line", "linked_text", "comment_body", "comment_caption", "lineage_text", "item_markdown"}
NUMBER_CALLS = {"len", "int", "float"}


def _safe(node: ast.AST) -> bool:
    """True when the text is a literal, a number, escaped text, or put together only from those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in ESCAPING_CALLS | NUMBER_CALLS:
            return True
        if name == "join" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant) and len(node.args) == 1:
            part = node.args[0]
            return isinstance(part, (ast.GeneratorExp, ast.ListComp)) and _safe(part.elt)
        return False
    if isinstance(node, ast.JoinedStr):
        return all(_safe(value) for value in node.values)
    if isinstance(node, ast.FormattedValue):
        return node.format_spec is not None or _safe(node.value)  # a format spec formats a number or a date
    if isinstance(node, ast.BinOp):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    return False


def _called_names(func: ast.AST) -> list[str]:
    """``st.error`` -> ["error"]; ``(st.success if ok else st.error)`` -> ["success", "error"]."""
    if isinstance(func, ast.Attribute):
        if _calls(func.value, "get_services"):  # a use case (``get_services().queue.status(...)``), not Streamlit
            return []
        return [func.attr]
    if isinstance(func, ast.IfExp):
        return _called_names(func.body) + _called_names(func.orelse)
    return []


def _markdown_arguments(call: ast.Call, name: str) -> list[ast.AST]:
    keywords = {k.arg: k.value for k in call.keywords}
    found: list[ast.AST | None] = []
    if name in BODY_CALLS:
        found.append(call.args[0] if call.args else keywords.get("body"))
    if name in LABEL_CALLS or name == "update":  # st.status(...).update(label=...)
        found.append(call.args[0] if call.args else keywords.get("label"))
    if name == "page_link":
        found.append(call.args[1] if len(call.args) > 1 else keywords.get("label"))
    if name == "tabs" and call.args and isinstance(call.args[0], (ast.List, ast.Tuple)):
        found.extend(call.args[0].elts)
    if name in BODY_CALLS | LABEL_CALLS | {"page_link"}:
        found.append(keywords.get("help"))
    return [node for node in found if node is not None]


def _calls(node: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def unescaped_markdown(path: Path) -> list[str]:
    """``file:line: call: text`` for each Markdown text in ``path`` that is not escaped (or escaped twice, which
    shows backslashes), and each ``st.table`` (Markdown in every cell and header) not fed by ``escape_table``."""
    problems = []
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(path.read_text(), filename=str(path))
    scope_of = {id(n): scope for scope in [tree, *(s for s in ast.walk(tree) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))]
                for n in ast.walk(scope)}  # the innermost function (or the module) holding each node
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if getattr(node.func, "id", None) == "escape" and any(_calls(arg, "escape") for arg in node.args):
            problems.append(f"{where}:{node.lineno}: escape(escape(...)) shows backslashes: {ast.unparse(node)[:80]}")
        if isinstance(node.func, ast.Attribute) and node.func.attr == "table" and node.args:
            data = node.args[0]
            if not _calls(data, "escape_table") and not _calls(scope_of[id(node)], "escape_table"):
                problems.append(f"{where}:{node.lineno}: st.table({ast.unparse(data)[:80]}) without escape_table")
        for name in _called_names(node.func):
            if name not in BODY_CALLS | LABEL_CALLS | {"page_link", "tabs", "update"}:
                continue
            if name == "update" and not any(k.arg == "label" for k in node.keywords):
                continue
            for text in _markdown_arguments(node, name):
                if not _safe(text):
                    problems.append(f"{where}:{node.lineno}: st.{name}({ast.unparse(text)[:80]})")
    return sorted(problems, key=lambda problem: int(problem.split(":")[1]))


def test_every_markdown_text_in_the_app_goes_through_escape():
    problems = [problem for path in SOURCES for problem in unescaped_markdown(path)]
    assert not problems, "wrap these in components.text.escape:\n" + "\n".join(problems)


def test_the_audit_catches_what_it_is_for(tmp_path):
    """The audit itself: an error box quoting an exception, a status label with a model name, a tab label
    and a help tooltip from a variable are caught; literals, numbers and escaped text pass."""
    sample = tmp_path / "page.py"
    sample.write_text(
        "st.error(str(exc))\n"
        "with st.status(f'Running {name}…'): pass\n"
        "st.tabs(['Run', title])\n"
        "st.text_input('Symbol', help=field.help)\n"
        "(st.success if ok else st.error)(message)\n"
        "st.caption(f'{len(rows):,} rows from {escape(source)}')\n"
        "st.error(escape(exc))\n"
        "st.markdown('**Inputs**  \\n' + '  \\n'.join(f'{escape(k)}: {escape(v)}' for k, v in items))\n"
        "st.caption(escape(f'Model: {escape(name)}'))\n"
        "def show(frame):\n    st.table(frame.style.format(formats))\n"
        "def shown(frame):\n    safe, formats = escape_table(frame, formats)\n    st.table(safe.style.format(formats))\n"
    )
    found = [problem.split(": ", 1)[1] for problem in unescaped_markdown(sample)]
    assert [problem.split("(")[0] for problem in found] == ["st.error", "st.status", "st.tabs", "st.text_input", "st.success", "st.error", "escape", "st.table"]


PAYLOADS = [
    "[Session expired: sign in again](https://evil.example)",
    "x\n\n[evil](https://evil.example)",  # a blank line used to break out of a tag's code span
    "`code` **bold** _it_ <b>b</b> :red[red] $x^2$",
    "![img](https://evil.example/a.png)",
    "<script>alert(1)</script>",
    "a\\b \\[c\\]",
    "bare https://evil.example/x www.evil.example me@evil.example :warning: :material/home:",  # autolinks and shortcodes
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_text_keeps_every_character_and_no_markup(payload):
    escaped = escape(payload)
    assert escaped.replace("\\", "").replace(JOINER, "").replace("  \n", "\n") == payload.replace("\\", "")
    for i, ch in enumerate(escaped):
        if ch in "[]`*_<>:$!|~#":
            assert escaped[i - 1] == "\\", (payload, escaped)
    seen = escaped.replace("\\", "")
    assert not re.search(r"https?://|www\.|\w@\w|:[\w/+-]+:", seen), "nothing GitHub autolinks or reads as a shortcode after parsing"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_tag_is_one_badge_whatever_it_holds(payload):
    line = tags_line([payload, "rates"])
    assert line.count(":gray-badge[") == 2 and "\n" not in line
    first = line.split(" :gray-badge[")[0]
    assert first.startswith(":gray-badge[") and first.endswith("]") and not first[:-1].endswith("\\\\")


# ----------------------------------------------------------------------------------------------
# On the page (AppTest): what the links above used to do
# ----------------------------------------------------------------------------------------------

YIELD_CURVE = "yield-curve-10y-2y"
LINK_PAYLOAD = "[Session expired: sign in again](https://evil.example)"


def form_errors(at) -> list[str]:
    return [e.value for form in at.get("form") for e in form.error]


def test_a_query_value_echoed_in_the_form_error_is_escaped(open_page):
    """Regression (issue 9): /model?slug=...&start=[Session expired: sign in again](https://...) put a link in the error box."""
    at = open_page("views/model.py", slug=YIELD_CURVE, start=LINK_PAYLOAD)
    assert not at.exception
    [message] = form_errors(at)
    assert escape(LINK_PAYLOAD) in message and message.replace("\\", "").startswith("Start date: ")


def test_an_overflowing_relative_date_in_a_link_is_a_sentence_not_a_traceback(open_page):
    """Regression (issue 9): start=today-99999999999y raised inside the page."""
    at = open_page("views/model.py", slug=YIELD_CURVE, start="today-99999999999y")
    assert not at.exception, [e.value for e in at.exception]
    [message] = form_errors(at)
    assert "the default is shown" in message


def test_the_form_defaults_to_the_data_s_reference_date_not_the_calendar(open_page):
    """On sample data "today" in a default is the snapshot's as-of date (2026-08-21), the newest data there is."""
    at = open_page("views/model.py", slug=YIELD_CURVE)
    assert at.date_input(key=f"{YIELD_CURVE}.end").value.isoformat() == "2026-08-21"
    assert at.date_input(key=f"{YIELD_CURVE}.start").value.isoformat() == "1996-08-21"


@pytest.mark.parametrize(("text", "escaped"), [
    ("Window (trading days)", "Window (trading days)"),  # harmless marks stay: a label is also an accessible name
    ("10y - 2y, in pp.", "10y - 2y, in pp."),
    ("- a list?", "\\- a list?"),
    ("1. first", "1\\. first"),
    ("title\n===", "title  \n\\==="),
    ("[x](y)", "\\[x\\](y)"),
])
def test_only_what_could_be_markup_is_escaped(text, escaped):
    assert escape(text) == escaped
