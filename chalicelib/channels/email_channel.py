"""E-mail answers: threaded in the customer's client, over any `Mailer`.

`Re:` subject, In-Reply-To the customer's latest mail, References the chain, our own
Message-ID (decided before sending, so that the customer's reply finds the thread), and
RFC 3834's `Auto-Submitted` on what a machine wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.channels.port import Answer, Mailer, SendProgress
from chalicelib.domain.mail import OutgoingEmail, new_message_id

MAX_REFERENCES_HEADER = 10


class EmailChannel:
    """The mailer is looked up at each send, so that it is built only when mail goes out."""

    acknowledges_in_response = False
    threads_by_message_id = True

    def __init__(self, mailer: Callable[[], Mailer]) -> None:
        self._mailer = mailer

    def send_answer(self, answer: Answer, progress: SendProgress) -> str:
        """Returns the Message-ID the mail went out with."""
        earlier = progress.earlier_email_ids()
        store = answer.store
        message_id = answer.email_message_id or new_message_id(store.support_address)
        headers = {"Message-ID": message_id}
        latest_customer = next((mid for inbound, mid in reversed(earlier) if inbound), None)
        if latest_customer:
            headers["In-Reply-To"] = latest_customer
        if earlier:
            chain = [mid for _, mid in earlier]
            headers["References"] = " ".join(chain[-MAX_REFERENCES_HEADER:])
        if answer.automatic:
            headers["Auto-Submitted"] = "auto-replied"
        subject = answer.subject
        if not subject.lower().startswith("re:"):
            subject = f"Re: {subject}".strip()
        self._mailer().send(
            OutgoingEmail(
                from_email=store.support_address,
                from_name=f"{answer.author_name} ({store.name})"
                if answer.author_name
                else store.name,
                to=(answer.customer,),
                subject=subject,
                text=answer.body,
                headers=headers,
            )
        )
        return message_id
