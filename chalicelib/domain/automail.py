"""Is this mail written by a machine? Then nothing may be sent back to it (RFC 3834)."""

from __future__ import annotations

from collections.abc import Mapping

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
# Feedback-ID is set by bulk senders for the mailbox providers' feedback loops (Amazon SES,
# Mailchimp, ...): transactional or marketing mail from a platform, not a person writing.
_LIST_HEADERS = ("list-id", "list-unsubscribe", "feedback-id")


def automatic_reason(headers: Mapping[str, str], sender: str) -> str | None:
    """Why this mail must not get an automatic answer, or None for a person's mail."""
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
    local = sender.partition("@")[0].lower()
    if local in ("mailer-daemon", "postmaster") or not sender:
        return "mail system sender"
    return None
