"""Show user-written text (names, descriptions, reviews, titles) as text, never as markup or HTML.

``st.markdown`` renders Markdown (and Streamlit's ``:color[...]`` directives); without
``unsafe_allow_html`` it does not run HTML, but a ``<script>`` tag or a ``[link](javascript:...)``
would still be interpreted as markup. ``escape`` backslash-escapes every ASCII punctuation character
(CommonMark allows that for all of them), so the text reads exactly as written.
"""

from __future__ import annotations

import re
import string

import streamlit as st

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def escape(text: object) -> str:
    """Markdown-escape ``text`` so it renders literally; newlines become hard line breaks."""
    escaped = _PUNCTUATION.sub(r"\\\1", str(text if text is not None else ""))
    return escaped.replace("\n", "  \n")


def user_text(text: object, caption: bool = False) -> None:
    """Render one piece of user-written text literally."""
    if caption:
        st.caption(escape(text))
    else:
        st.markdown(escape(text))
