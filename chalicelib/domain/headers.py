"""Header values built from outside input (a customer's subject, a display name) are made
safe in one place before any mail leaves: no CR, LF or other control character (an RFC 2047
encoded word can carry `\\r\\nBcc: ...`, and a header injection needs nothing more), and a
bounded length."""

from __future__ import annotations

import re
import unicodedata

HEADER_MAX_CHARS = 255
"""Room for any real subject or name; RFC 5322 caps a line at 998 octets, and providers
shorten long subjects anyway."""

HEADER_LINE_MAX_CHARS = 998
"""RFC 5322's line limit: for the other headers (References, In-Reply-To), which we build
from bounded lists of ids and which must not be cut short of that."""

_SPACES = re.compile(r"\s+")


def header_text(value: str, limit: int = HEADER_MAX_CHARS) -> str:
    """`value` on one line: control and line/paragraph separator characters become spaces,
    runs of white space one space, and the result is cut to `limit` characters (with an
    ellipsis when cut)."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned
