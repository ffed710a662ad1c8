"""A customer's mail too large to take is not dropped in silence: what its first bytes
say (sender, recipients, subject, Message-ID) and its size are stored as a message on the
customer's thread, so that the agents are told as for any mail, with the customer's
context, and can answer to ask for it again. It is not acknowledged: we did not get it.

Only mail to a store's support address: an agent's reply too large to take is refused
as before (the agent sees SendGrid's silence, and a reply is never made of a notice).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.errors import MalformedRequest

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

HEAD_BYTES = 256 * 1024
"""How much of a refused post is read for its fields: SendGrid's text fields come first."""
NOT_ACKNOWLEDGED = "too large to take, not acknowledged"


def refusal_text(size: int, limit: int, route: str) -> str:
    """What the agents read in place of the mail."""
    return (
        f"[relaydesk] This e-mail could not be taken: it was {size:,} bytes "
        f"({size / 1048576:.1f} MB), over the {limit:,} bytes that {route} accepts. "
        "Its text and attachments are lost; only its sender, subject and size are known. "
        "Ask the customer to send it again in smaller parts (or see the README, "
        '"E-mails with photos", for the route that takes up to 10 MB).'
    )


def record_too_large(
    c: Container,
    *,
    body: bytes,
    headers: Mapping[str, str],
    received_at: datetime,
    limit: int,
    route: str,
) -> str:
    """Store the refusal as the customer's message; its outcome ("unrecorded" when the
    first bytes name no sender or no support address of ours). SendGrid's signature, when
    configured, is checked first (VerificationFailed: nothing stored). Infrastructure
    failures raise, so that the provider retries and the refusal is recorded then."""
    from chalicelib.channels.sendgrid_inbound import head_form, to_inbound_email
    from chalicelib.flows.receive_email import receive_customer_email

    c.sendgrid_stored_posts.verify(body, headers, received_at)
    size = len(body)
    form = head_form(headers.get("content-type"), body[:HEAD_BYTES])
    fields = {**form.fields, "text": refusal_text(size, limit, route)}
    fields.pop("html", None)
    try:
        email = to_inbound_email(replace(form, fields=fields))
    except MalformedRequest as exc:
        log.warning("mail too large, not recorded: bytes=%d reason=%s", size, exc)
        return "unrecorded"
    store = c.stores.by_support_address(email.recipients)
    if store is None or not email.sender:
        log.warning("mail too large, not recorded: bytes=%d (no sender or store)", size)
        return "unrecorded"
    outcome = receive_customer_email(c, store, email, not_acknowledged=NOT_ACKNOWLEDGED)
    log.warning(
        "mail too large, recorded for the agents: store=%s bytes=%d outcome=%s",
        store.store_id,
        size,
        outcome,
    )
    return outcome
