"""Show user-written text (names, descriptions, reviews, titles) as text, never as markup or HTML.

``st.markdown`` renders Markdown (and Streamlit's ``:color[...]`` directives); without
``unsafe_allow_html`` it does not run HTML, but a ``<script>`` tag or a ``[link](javascript:...)``
would still be interpreted as markup. ``escape`` backslash-escapes every ASCII punctuation character
(CommonMark allows that for all of them), so the text reads exactly as written.

Two things happen after parsing, where escapes no longer count: GitHub-style autolinks (``https://``,
``www.`` and ``name@host`` become links) and ``:shortcode:`` emoji and icons. So ``escape`` also puts
an invisible word joiner (U+2060) after a colon that touches text and before ``@`` and ``www``'s dot,
which those patterns do not match; the text looks the same.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
JOINER = "\u2060"  # WORD JOINER: invisible, and not part of any autolink or shortcode pattern
_AFTER_PARSING = re.compile(r"(?<=:)(?=\S)|(?=@)|(?<=www)(?=\.)", re.IGNORECASE)


def escape(text: object) -> str:
    """Markdown-escape ``text`` so it renders literally; newlines become hard line breaks."""
    plain = _AFTER_PARSING.sub(JOINER, str(text if text is not None else ""))
    escaped = _PUNCTUATION.sub(r"\\\1", plain)
    return escaped.replace("\n", "  \n")


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
