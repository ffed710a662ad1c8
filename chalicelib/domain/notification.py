"""What agents read: the e-mail that tells them a customer is waiting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.headers import header_text
from chalicelib.domain.messages import contact_of
from chalicelib.domain.thread import ThreadStatus

CHANNEL_NAMES = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "email": "e-mail",
    "messenger": "Messenger",
    "instagram": "Instagram",
    "voice": "voicemail",
    "web": "web chat",
}
REPLY_CHANNEL_NAMES = {"voice": "SMS"}
"""Where a channel's answers go when not on itself: a caller is answered by text."""


@dataclass(frozen=True)
class TranscriptLine:
    at: datetime
    author: str
    inbound: bool
    body: str
    media_count: int = 0
    attachments: tuple[str, ...] = ()
    """'name (type, size)' for each attachment; contents are not stored."""
    automatic: str | None = None
    dropped: str | None = None
    kind: str = "message"
    """'message', or an agent's internal 'note', or an 'event' (a change to the thread)."""
    delivery: str | None = None
    """Our answers: queued, sent, delivered, read, failed, undelivered."""
    details: tuple[str, ...] = ()
    """Lines shown under it (a voicemail's recording, transcript, text back)."""


COMMANDS_HINT = (
    "Commands (one per line, above your answer): #note, #close, #reopen, #pending, "
    "#assign <agent|me>, #priority low|normal|high|urgent, #snooze <2h|3d|monday|date>, "
    "#template <name>, #tag <tags>, #order <number>."
)


SUBJECT_WORDS_MAX = 60
"""Characters of the customer's words in the subject: an inbox list shows about this much."""
NAME_MAX = 40
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|odp|tr|rv)\s*(\[\d+\])?\s*:\s*)+", re.I)


def first_words(text: str, limit: int = SUBJECT_WORDS_MAX) -> str:
    """The first non-blank line of `text`, on one line, cut at a word near `limit`."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = header_text(line, 10 * limit)
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def subject_words(*, email_subject: str | None, first_message: str | None, media: bool) -> str:
    """What the customer said first: the e-mail's subject (without Re:/Fwd:), else the first
    line of their first message, else what it was."""
    if email_subject:
        words = first_words(_REPLY_PREFIX.sub("", header_text(email_subject)))
        if words:
            return words
    if first_message and (words := first_words(first_message)):
        return words
    return "(attachment only)" if media else "(no text)"


def notification_subject(
    *,
    store_name: str,
    channel: str,
    words: str,
    who: str,
    thread_id: str,
) -> str:
    """'[Demo Store] Where is my order #1042? (SMS, Jana Nováková, #3f9a1c)'.

    The words and the name come from the customer and the shop: one line each, bounded.
    The thread's short id stays last: two conversations that start with the same words
    ("Hi") are two conversations in a mail client, and 'Also open: … #3f9a1c' in another
    notification finds this one by a search."""
    channel_name = CHANNEL_NAMES.get(channel, channel)
    name = header_text(who, NAME_MAX)
    return header_text(
        f"[{header_text(store_name)}] {header_text(words)} ({channel_name}, {name}, "
        f"#{thread_id[:6]})"
    )


def notification_text(
    *,
    store_name: str,
    channel: str,
    customer: str,
    profile_name: str | None,
    due_at: datetime | None,
    timezone: str,
    transcript: list[TranscriptLine],
    subject: str | None = None,
    status: str = ThreadStatus.OPEN,
    assignee: str | None = None,
    headline: str | None = None,
    context: list[str] | None = None,
) -> str:
    """`context`: the lines about the customer (domain/customer_view.context_lines), shown
    after the thread's own facts and before the conversation."""
    tz = ZoneInfo(timezone)
    channel_name = CHANNEL_NAMES.get(channel, channel)
    who = contact_of(customer) + (f" ({profile_name})" if profile_name else "")
    lines = [headline] if headline else []
    lines.append(f"{channel_name} from {who} to {store_name}.")
    if subject:
        lines.append(f"Subject: {header_text(subject)}")  # one line, as in its headers
    lines.append(f"Status: {status}" + (f", assigned to {assignee}." if assignee else "."))
    if due_at is not None:
        lines.append(f"Answer due by {due_at.astimezone(tz):%a %d %b %H:%M} ({timezone}).")
    if context:
        lines += ["", *context]
    lines += [
        "",
        f"Reply to this e-mail to answer the customer by "
        f"{REPLY_CHANNEL_NAMES.get(channel, channel_name)}.",
        "Only your new text is sent; the quoted conversation and your signature are removed.",
        COMMANDS_HINT,
        "",
        "--- Conversation ---",
    ]
    for line in transcript:
        stamp = line.at.astimezone(tz).strftime("%a %d %b %H:%M")
        author = contact_of(line.author)
        media = f" [{line.media_count} attachment(s)]" if line.media_count else ""
        if line.kind == "event":
            lines.append(f"[{stamp}] * {author}: {line.body}")
            continue
        arrow = {"note": "(internal note) ", "message": "" if line.inbound else "-> "}[line.kind]
        marker = f" [{automatic_label(line.automatic)}]" if line.automatic else ""
        delivery = f" [{line.delivery}]" if line.delivery else ""
        lines.append(f"[{stamp}] {arrow}{author}{marker}{delivery}: {line.body}{media}")
        lines.extend(f"    attachment: {a}" for a in line.attachments)
        lines.extend(f"    {detail}" for detail in line.details)
        if line.dropped:
            lines.append(f"    not stored: {line.dropped}")
    return "\n".join(lines) + "\n"


def automatic_label(why: str) -> str:
    """How the transcript marks a machine-written line: our automatic answer by what it
    answered ('answer:order_status'), else why it is automatic (an auto-reply we got,
    our acknowledgement, the survey)."""
    kind, _, answered = why.partition(":")
    if kind == "answer" and answered:
        return f"answered automatically: {answered.replace('_', ' ')}"
    return f"automatic: {why}"


def delivery_failure_text(*, customer: str, channel: str, reason: str, body: str) -> str:
    channel_name = CHANNEL_NAMES.get(channel, channel)
    return (
        f"Your reply could not be delivered to {contact_of(customer)} "
        f"by {channel_name}, and it will not be retried.\n"
        f"Reason: {reason}\n\nYour reply was:\n{body}\n"
    )
