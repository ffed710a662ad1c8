"""Is this mail written by a machine? Then nothing may be sent back to it (RFC 3834)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

# X-Loop is how mail systems and helpdesks (procmail, Zendesk, OTRS) mark mail they sent, to
# break loops: answering it is exactly the loop it exists to stop.
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "x-loop")
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
# Feedback-ID is set by bulk senders for the mailbox providers' feedback loops (Amazon SES,
# Mailchimp, ...): transactional or marketing mail from a platform, not a person writing.
_LIST_HEADERS = ("list-id", "list-unsubscribe", "feedback-id")


DEFAULT_NO_REPLY_SENDERS = (
    "noreply",
    "no-reply",
    "no.reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "mailer-daemon",
    "postmaster",
    "abuse",
    "root",
)
"""Mailboxes that nobody reads (a store's `no_reply_senders` setting): their mail is stored
and shown to the agents, but an automatic answer would only bounce or start a loop."""


def automatic_reason(
    headers: Mapping[str, str],
    sender: str,
    no_reply_senders: Collection[str] = DEFAULT_NO_REPLY_SENDERS,
) -> str | None:
    """Why this mail must not get an automatic answer, or None for a person's mail.
    `no_reply_senders` are local parts, compared without case and without a +tag."""
    lowered = {name.lower(): value.strip().lower() for name, value in headers.items()}
    auto_submitted = lowered.get("auto-submitted")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in _AUTO_HEADERS:
        if name in lowered:
            return f"{name} header"
    if lowered.get("precedence") in _BULK_PRECEDENCE:
        return f"Precedence: {lowered['precedence']}"
    for name in _LIST_HEADERS:
        if name in lowered:
            return f"{name} header"
    if "multipart/report" in lowered.get("content-type", ""):
        return "delivery report"
    if not sender:
        return "mail system sender"
    local = sender.partition("@")[0].lower().partition("+")[0]
    if local in no_reply_senders:
        return f"mail system or unattended sender: {local}@"
    return None
