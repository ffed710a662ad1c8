"""The new text of an e-mailed reply: quoted history and signature removed.

Stripping is done by `mail-parser-reply` (maintained, multi-language); it is imported
on first use so that the webhook's cold start does not pay for its regexes.
"""

from __future__ import annotations

# Quote-header languages recognised in agents' and customers' mail clients.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "cs", "pl", "nl", "pt", "sv")


def visible_reply(text: str) -> str:
    from mailparser_reply import EmailReplyParser

    message = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(text.replace("\r\n", "\n"))
    if not message.replies:
        return ""
    # The parser keeps a reply that is nothing but quoted lines; those are not new text.
    lines = str(message.replies[0].body).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(">")).strip()
