"""Inbound Parse: one address space, three meanings.

`reply+<token>@<reply domain>`: an agent answering a thread (or the thread's customer
writing to it); a store's support address: a customer's e-mail; anything else: not ours.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib import logs
from chalicelib.domain import tokens
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.errors import MalformedRequest, UnknownDestination, VerificationFailed
from chalicelib.domain.mail import InboundEmail
from chalicelib.domain.messages import Channel, InboundMessage
from chalicelib.domain.reply import visible_reply
from chalicelib.domain.thread import Awaiting
from chalicelib.flows.agent_reply import accept_agent_reply
from chalicelib.flows.receive_inbound import store_inbound
from chalicelib.store.models import ThreadItem
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def route_email(c: Container, email: InboundEmail) -> str:
    if not email.sender:
        # A bounce without a From (Postfix does this) has no customer to file it under.
        if reason := automatic_reason(email.headers, "unknown@invalid"):
            log.info("mail without a From address ignored: %s", reason)
            return "ignored"
        raise MalformedRequest("the mail has no From address")
    domain = c.settings.reply_domain
    token = next(
        (t for r in email.recipients if (t := tokens.token_from_address(r, domain)) is not None),
        None,
    )
    if token is not None:
        verified = tokens.verify(c.reply_secret, token)
        if verified is None:
            raise VerificationFailed("the reply address's token does not verify")
        store_id, thread_id = verified
        store = c.stores.by_id(store_id)
        thread = c.repository.thread(store_id, thread_id) if store else None
        if store is None or thread is None:
            raise VerificationFailed("the reply address names no thread of ours")
        if store.is_agent(email.sender):
            if email.authentication.failed:
                # A From header is free text: without its domain's SPF/DKIM, anyone who
                # saw a reply address could post as the agent. Only when SendGrid reported
                # a failure: a domain that publishes nothing cannot be judged either way.
                raise VerificationFailed(
                    "the sender's domain failed SPF/DKIM as SendGrid reported them: "
                    + email.authentication.summary()
                )
            return accept_agent_reply(c, store, thread, email)
        if thread.channel == "email" and email.sender == thread.customer:
            return receive_customer_email(c, store, email, joined=thread)
        raise VerificationFailed("the sender is not an agent of this thread's store")
    store = c.stores.by_support_address(email.recipients)
    if store is None:
        raise UnknownDestination("no store's support address or reply address is a recipient")
    return receive_customer_email(c, store, email)


def _continues_chat(c: Container, thread: ThreadItem, sender: str) -> bool:
    """A web chat visitor answering, by e-mail, the copy of an answer sent where they asked."""
    from chalicelib.flows.webchat import continues_by_email

    return continues_by_email(c, thread, sender)


def receive_customer_email(
    c: Container,
    store: StoreConfig,
    email: InboundEmail,
    joined: ThreadItem | None = None,
    not_acknowledged: str | None = None,
) -> str:
    """Store a customer's mail on the thread it answers, or a new thread; acknowledge it
    (in a job) unless a machine wrote it or we did, or `not_acknowledged` says why not
    (a mail too large to take: flows/refused_mail.py)."""
    logs.bind_message(store.store_id, email.message_id)
    automatic = not_acknowledged or automatic_reason(
        email.headers, email.sender, store.no_reply_senders
    )
    if automatic is None and (
        c.stores.is_own_address(email.sender)
        or email.sender.endswith("@" + c.settings.reply_domain)
    ):
        automatic = "sent from one of our own addresses"
    unauthenticated = automatic is None and email.authentication.failed
    if unauthenticated:
        # Stored and shown to the agents, but never acknowledged. Customer mail is not
        # refused for SPF/DKIM alone (forwarders, mailing lists and misconfigured small
        # domains fail them every day, and a lost customer is worse than spam in the
        # queue), but an automatic answer to a From that its own domain disowns would
        # let anyone aim our acknowledgements at a victim's address (backscatter).
        automatic = "sender not authenticated (SPF/DKIM failed), not acknowledged"
        log.warning(
            "security: customer mail from an unauthenticated sender stored without "
            "acknowledgement: store=%s %s",
            store.store_id,
            email.authentication.summary(),
        )
    if joined is None:
        thread_id = c.repository.thread_for_message_ids(store.store_id, email.references)
        joined = c.repository.thread(store.store_id, thread_id) if thread_id else None
    customer = email.reply_address
    if (
        joined is not None
        and joined.customer != customer
        and not _continues_chat(c, joined, customer)
    ):
        joined = None  # someone else answering a quoted thread starts their own
    now = c.clock()
    previous = None
    window = timedelta(days=store.reopen_window_days)
    if joined is not None and joined.closed_at is not None and now - joined.closed_at > window:
        previous, joined = joined.thread_id, None
    visible = visible_reply(email.text) or email.text.strip()
    message = InboundMessage(
        channel=Channel.EMAIL,
        provider_id=email.message_id,
        sender=customer,
        recipient=store.support_address,
        body=visible,
        received_at=now,
        profile_name=email.sender_name or None,
        subject=email.subject,
        attachments=email.attachments,
        automatic=automatic,
        raw=email.raw,
    )
    pending = joined.response_due_at if joined and joined.awaiting == Awaiting.AGENT else None
    stored = store_inbound(
        c,
        store,
        message,
        thread_id=joined.thread_id if joined else None,
        pending_due=pending,
        answered_before=bool(joined and joined.first_response_at),
        priority=joined.priority if joined else None,
        previous_thread_id=previous,
    )
    if stored.rating is not None:
        return f"rated {stored.rating}"
    if stored.plan is None:
        return "duplicate"
    if unauthenticated:
        return "stored-unauthenticated"
    if automatic:
        log.info("automatic mail stored, not acknowledged: %s", automatic)
        return "stored-automatic"
    return "stored"
