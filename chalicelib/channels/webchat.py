"""Web chat answers: the widget fetches them (short polling), so sending one is recording it
delivered; a person's answer goes also to the e-mail or phone the visitor left, if any.

Only a person's answers go to that address: the visitor typed it and nobody checked it is
theirs, so nothing automatic (acknowledgement, survey) is ever sent there, and a copy that
cannot be delivered never hides the answer from the panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.channels.port import Answer, Mailer, SendProgress, TextMessenger
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.mail import OutgoingEmail, new_message_id

log = logging.getLogger(__name__)

COPY_FOOTER = (
    "\n\n--\nYou wrote to {store} in the chat on its website. Reply to this e-mail, or "
    "continue in the chat: the conversation is there."
)


class WebChannel:
    """`contact(store_id, customer)`: the address the visitor left, read at send time."""

    acknowledges_in_response = False
    """The acknowledgement is recorded by its job, so that it is in the conversation the
    widget reads back (the send's response carries a copy for at once)."""
    threads_by_message_id = True
    """Each answer gets a Message-ID: the e-mailed copy's reply finds the thread."""

    def __init__(
        self,
        contact: Callable[[str, str], str | None],
        mailer: Callable[[], Mailer],
        messenger: Callable[[], TextMessenger],
    ) -> None:
        self._contact = contact
        self._mailer = mailer
        self._messenger = messenger

    def send_answer(self, answer: Answer, progress: SendProgress) -> str:
        store = answer.store
        message_id = answer.email_message_id or new_message_id(store.support_address)
        if answer.automatic:
            return message_id
        contact = self._contact(store.store_id, answer.customer)
        if not contact:
            return message_id
        try:
            if "@" in contact:
                self._mail(answer, contact, message_id)
            elif store.phone_numbers and answer.parts_sent == 0:
                sid = self._messenger().send(
                    sender=sorted(store.phone_numbers)[0], to=contact, body=answer.body
                )
                progress.part_sent(1, sid)
        except DeliveryError as exc:
            if not exc.permanent:
                raise  # retried; the panel shows the answer once it is delivered
            log.warning("web chat: the copy to the visitor's address failed: %s", exc.code)
        return message_id

    def _mail(self, answer: Answer, contact: str, message_id: str) -> None:
        store = answer.store
        self._mailer().send(
            OutgoingEmail(
                from_email=store.support_address,
                from_name=f"{answer.author_name} ({store.name})"
                if answer.author_name
                else store.name,
                to=(contact,),
                subject=f"{store.name}: your chat",
                text=answer.body + COPY_FOOTER.format(store=store.name),
                headers={"Message-ID": message_id},
            )
        )
