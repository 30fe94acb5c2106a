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


_WEB_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def _link(url: str) -> str:
    """A Markdown link to ``url`` whose text is the address itself, escaped; its destination in angle brackets
    with every character that could end or bend it percent-encoded."""
    destination = url.replace("%", "%25").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20").replace("\\", "%5C")
    return f"[{escape(url)}](<{destination}>)"


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


def user_text(text: object, caption: bool = False) -> None:
    """Render one piece of user-written text literally."""
    if caption:
        st.caption(escape(text))
    else:
        st.markdown(escape(text))
