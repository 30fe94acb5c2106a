"""Show user-written text (names, descriptions, reviews, titles) as text, never as markup or HTML.

``st.markdown`` renders Markdown (and Streamlit's ``:color[...]`` directives); without
``unsafe_allow_html`` it does not run HTML, but a ``<script>`` tag or a ``[link](javascript:...)``
would still be interpreted as markup. ``escape`` backslash-escapes every punctuation character that
can start or close markup anywhere in a line (CommonMark allows a backslash before any of them), and
those that only count at the start of a line (list markers, ordered-list numbers, setext underlines)
where they stand there, so the text reads exactly as written. Harmless marks (parentheses, commas,
hyphens and full stops inside a line, quotes, slashes) stay as they are: Streamlit also uses a widget's
label as its accessible name, which a screen reader reads backslashes and all.

Two things happen after parsing, where escapes no longer count: GitHub-style autolinks (``https://``,
``www.`` and ``name@host`` become links) and ``:shortcode:`` emoji and icons. So ``escape`` also puts
an invisible word joiner (U+2060) after a colon that touches text and before ``@`` and ``www``'s dot,
which those patterns do not match; the text looks the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

_PUNCTUATION = re.compile("([" + re.escape("\\`*_[]<>!~|$:#&{}") + "])")  # markup wherever it stands
_LINE_START = re.compile(r"^([ \t]*)(\d*)([-+=.)])", re.MULTILINE)  # markup only where a line starts
JOINER = "\u2060"  # WORD JOINER: invisible, and not part of any autolink or shortcode pattern
_AFTER_PARSING = re.compile(r"(?<=:)(?=\S)|(?=@)|(?<=www)(?=\.)", re.IGNORECASE)


def _line_start(match: re.Match[str]) -> str:
    """``- item``, ``+ item``, ``===`` and ``1. item`` / ``1) item`` at a line's start: escape the mark."""
    indent, number, mark = match.groups()
    if (number and mark in ".)") or (not number and mark in "-+="):
        return f"{indent}{number}\\{mark}"
    return match.group(0)


def escape(text: object) -> str:
    """Markdown-escape ``text`` so it renders literally; newlines become hard line breaks."""
    plain = _AFTER_PARSING.sub(JOINER, str(text if text is not None else ""))
    escaped = _PUNCTUATION.sub(r"\\\1", plain)
    escaped = _LINE_START.sub(_line_start, escaped)
    return escaped.replace("\n", "  \n")


_WEB_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def _link(url: str) -> str:
    """A Markdown link to ``url`` whose text is the address itself, escaped; its destination in angle brackets
    with every character that could end or bend it percent-encoded."""
    destination = url.replace("%", "%25").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20").replace("\\", "%5C")
    # no word joiner in a link's text: links do not nest, so nothing there can become an autolink, and the
    # joiner would end up in the link's accessible name and in what a reader copies
    return f"[{escape(url).replace(JOINER, '')}](<{destination}>)"


def linked_text(text: object) -> str:
    """Like ``escape``, except that http and https addresses become links (nothing else does: a ``javascript:``
    or ``data:`` address stays text). Punctuation that ends a sentence stays out of the link."""
    source = str(text if text is not None else "")
    out, last = [], 0
    for match in _WEB_LINK.finditer(source):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        out.append(escape(source[last : match.start()]))
        out.append(_link(url))
        last = match.start() + len(url)
    out.append(escape(source[last:]))
    return "".join(out)


def escape_table(frame: pd.DataFrame, formats: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``(frame, formats)`` for ``st.table``, which reads Markdown in every cell and header: text cells and
    column labels escaped, and the per-column ``formats`` keyed by the escaped labels."""
    shown = frame.rename(columns=lambda c: escape(c)).copy()
    for column in shown.columns:
        if shown[column].dtype == object:
            shown[column] = shown[column].map(lambda v: escape(v) if isinstance(v, str) else v)
    return shown, {escape(k): v for k, v in (formats or {}).items()}


def user_text(text: object, caption: bool = False) -> None:
    """Render one piece of user-written text literally."""
    if caption:
        st.caption(escape(text))
    else:
        st.markdown(escape(text))
