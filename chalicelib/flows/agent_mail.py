"""Every e-mail relaydesk writes to a store's own people (agents, leads), in one envelope:
from the store's support address as '<store> (relaydesk)', marked automatic so that their
out-of-office replies stay quiet (RFC 3834, and Exchange's X-Auto-Response-Suppress), and,
when it concerns a thread, with the Reply-To that answers its customer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from chalicelib.domain import tokens
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container


def mail_staff(
    c: Container,
    store: StoreConfig,
    to: tuple[str, ...],
    subject: str,
    text: str,
    *,
    thread_id: str | None = None,
    auto_submitted: Literal["auto-generated", "auto-replied"] = "auto-generated",
) -> None:
    """`auto-replied` when it answers the agent's own mail, `auto-generated` otherwise."""
    reply_to = (
        tokens.reply_address(c.reply_secret, store.store_id, thread_id, c.settings.reply_domain)
        if thread_id
        else None
    )
    c.mailer.send(
        OutgoingEmail(
            from_email=store.support_address,
            from_name=f"{store.name} (relaydesk)",
            to=to,
            subject=subject,
            text=text,
            reply_to=reply_to,
            headers={"Auto-Submitted": auto_submitted, "X-Auto-Response-Suppress": "All"},
        )
    )
