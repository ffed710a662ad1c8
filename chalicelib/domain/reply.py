"""The new text of an e-mailed reply: quoted history and signature removed.

Stripping is done by `mail-parser-reply` (maintained, multi-language); it is imported
on first use so that the webhook's cold start does not pay for its regexes. The few rules
below only cover the library's known gaps; each one is exercised by
`tests/unit/test_reply_conformance.py`.
"""

from __future__ import annotations

import re
from dataclasses import replace

# Languages whose quote headers, sign-offs and "sent from" lines the library (v1.36) knows.
# It has no patterns for "ar", "fa" or "pt" (and drops unknown codes silently): for those,
# `>` quotes, the address rule (_ATTRIBUTION) and _SENT_FROM still apply.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "cs", "pl", "nl", "sv")

# Gmail's "[image: x.png]" and Outlook's "[cid:image001.png@...]" stand-ins for inline images.
_IMAGE_PLACEHOLDER = re.compile(r"\[(?:image: |cid:)[^\]\n]*\]")
# A quote header in any language or client: an address in angle brackets, then a colon
# ("... <a@b.c> wrote:", "... (<a@b.c>) escribió:", "كتب ... <a@b.c>:", "<a@b.c>于…写道："),
# also when the client wrapped the header just after its "<". It counts only when a `>`
# quote follows or it says "wrote:", so that "write to <a@b.c>:" does not cut an answer.
_ATTRIBUTION = re.compile(r"(?:<|^)[^\s<>@]+@[^\s<>]+>[^<>]{0,40}[:：][\W_]*$")
# A line that is only a rule: "--" left over from a signature, Outlook's "-----" or "____".
_RULE = re.compile(r"[-_=*~]{2,}")
# A last line naming the device or app it was sent from, in the languages we serve; the
# library knows only "Sent from my ..." and one phrase per language.
_SENT_FROM = re.compile(
    r"(?=.*(?:iphone|ipad|android|blackberry|galaxy|samsung|huawei|xiaomi|outlook|mail|mobile))"
    r"(?:sent from|get outlook for|envoyé de(?:puis)?|von meinem .* gesendet|gesendet (?:von|mit)|"
    r"enviado desde|inviato da|odesláno z|wysłane z|wysłano z|verstuurd vanaf|"
    r"verzonden (?:vanaf|met)|skickat från|أُ?رسلت من|ارسال[\u200c ]?شده از)(?:\s+\S+){0,6}",
    re.IGNORECASE,
)
# A sign-off opens a signature only if its line is short and not a sentence:
# "Thanks," or "Best regards, Alex" is one; "Thanks, your refund is on its way." is not.
_SIGN_OFF_MAX_WORDS = 6
# Each search runs to the end of the text, so a body of many "Thanks, ..." sentences
# must not cost one search per line.
_SIGN_OFF_TRIES = 8


def _signature(pattern: re.Pattern[str], text: str) -> str:
    """The library's signature match, skipping matches that start with a sentence."""
    pos = 0
    for _ in range(_SIGN_OFF_TRIES):
        if (match := pattern.search(text, pos)) is None:
            break
        block = match.group().strip()
        first_line = block.split("\n", 1)[0]
        if len(first_line.split()) <= _SIGN_OFF_MAX_WORDS and not first_line.endswith(
            (".", "!", "?")
        ):
            return block
        pos = text.index(first_line, match.start()) + len(first_line)
    return ""


def _is_quote_header(lines: list[str], index: int) -> bool:
    if not _ATTRIBUTION.search(lines[index]):
        return False
    after = index + 1
    while after < len(lines) and not lines[after]:
        after += 1
    following = lines[after] if after < len(lines) else ""
    return lines[index].endswith("wrote:") or following.startswith(">")


def visible_reply(text: str) -> str:
    from mailparser_reply import EmailMessage

    text = text.replace("\r\n", "\n").replace("\u200b", "").replace("\ufeff", "")
    message = EmailMessage(
        text=_IMAGE_PLACEHOLDER.sub("", text),
        languages=list(REPLY_LANGUAGES),
        keep_hyphen_lists=True,  # "- step one" lines are content, not a "-Name" signature
    ).read()
    first = message.replies[0]  # read() always yields at least one reply
    body: str = replace(first, signatures=_signature(message.SIGNATURE_REGEX, first.content)).body

    lines: list[str] = []
    body_lines = body.splitlines()
    for index, line in enumerate(body_lines):
        if _is_quote_header(body_lines, index):
            if lines and lines[-1].endswith("<"):
                lines.pop()  # the first half of a wrapped header
            break
        if not line.startswith(">"):  # quoted lines (the library keeps a wholly quoted reply)
            lines.append(line)
    while lines and (
        not lines[-1] or _RULE.fullmatch(lines[-1]) or _SENT_FROM.fullmatch(lines[-1])
    ):
        lines.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
