"""An agent's answer made fit for SMS and WhatsApp: split to Twilio's limit, media pulled out.

Twilio refuses a body longer than `SMS_LIMIT`, so a long answer goes as several messages,
each ending where a reader would pause (a sentence or a paragraph) rather than mid-word.
Nothing is lost or merged: the words of the parts, read in order, are the words of the
answer. Inside a part the agent's line breaks stay, because lists and addresses need them.

A picture or document link on a line of its own becomes an attachment (Twilio's MediaUrl),
which the customer sees as the file instead of as a link.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

SMS_LIMIT = 1600
"""Twilio's body limit for SMS and WhatsApp."""

MEDIA_EXTENSIONS = (
    *(".jpg", ".jpeg", ".png", ".gif", ".webp"),
    *(".pdf", ".mp4", ".mp3", ".ogg", ".amr"),
)
"""Pictures, documents, video and audio that WhatsApp and MMS show as attachments."""

# A sentence end (with any closing quotes or brackets) followed by whitespace; the Latin,
# CJK full-width and Arabic forms. Or a paragraph break (a blank line).
_SENTENCE_END = re.compile(r"[.!?…。！？｡؟]+[\"'”’»)\]）」』]*(?=\s)")
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n")
_URL_LINE = re.compile(r"https://\S+", re.IGNORECASE)
# Skin-tone modifiers attach to the emoji before them.
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_ZWJ = "\u200d"


def split_message(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """`text` as one part if it fits, else parts of at most `limit` characters.

    Parts are stripped and never empty (a blank text gives no parts: there is nothing to
    send). A word longer than `limit` is cut, the only case where a part ends inside a word.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return [text] if text.strip() else []
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _break(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _break(text: str, limit: int) -> int:
    """Where the first part ends: `text` is longer than `limit` and starts with a letter.

    A sentence or paragraph end is preferred if it leaves the part at least half full (a
    short first part would cost the customer an extra message for little gain); then the
    last whitespace; then a hard cut.
    """
    window = text[: limit + 1]  # a break at index `limit` still gives `limit` characters
    pauses = [m.end() for m in _SENTENCE_END.finditer(window)]
    pauses += [m.start() for m in _PARAGRAPH.finditer(window)]
    good = [cut for cut in pauses if max(1, limit // 2) <= cut <= limit]
    if good:
        return max(good)
    for cut in range(limit, 0, -1):
        if text[cut].isspace():
            return cut
    return _hard_cut(text, limit)


def _hard_cut(text: str, limit: int) -> int:
    """Cut a word, but not between a letter and its accent or inside an emoji sequence."""
    cut = limit
    while cut > 1 and _attached(text, cut):
        cut -= 1
    return cut if cut > 1 or not _attached(text, cut) else limit


def _attached(text: str, cut: int) -> bool:
    after, before = text[cut], text[cut - 1]
    return (
        unicodedata.category(after).startswith("M")
        or ord(after) in _EMOJI_MODIFIERS
        or _ZWJ in (after, before)
    )


def extract_media_urls(text: str, max_count: int = 10) -> tuple[str, tuple[str, ...]]:
    """(the text without its media lines, stripped; the media URLs in order).

    A media line is one https:// URL alone on its line whose path ends in a picture,
    document, video or audio extension. At most `max_count` are taken (Twilio accepts
    10 per message); any further ones stay in the text as links.
    """
    kept: list[str] = []
    media: list[str] = []
    for line in text.splitlines(keepends=True):
        candidate = line.strip()
        if len(media) < max_count and _is_media_url(candidate):
            media.append(candidate)
        else:
            kept.append(line)
    return "".join(kept).strip(), tuple(media)


def _is_media_url(candidate: str) -> bool:
    if not _URL_LINE.fullmatch(candidate):
        return False
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. a malformed IPv6 host
        return False
    return bool(parts.hostname) and parts.path.lower().endswith(MEDIA_EXTENSIONS)
