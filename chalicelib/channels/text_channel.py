"""SMS and WhatsApp answers: the channels' own rules, over any `TextMessenger`.

Never to an opted-out number; in parts when longer than the channel allows; media links
as media where the channel can carry them; WhatsApp free text only within 24 hours of the
customer's last message, the store's approved template outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.channels.port import Answer, SendProgress, TextMessenger
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.outbound import extract_media_urls, split_message

WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_CLOSED_WINDOW = 63016


def whatsapp_window_open(last_inbound_at: datetime, now: datetime) -> bool:
    return now - last_inbound_at < WHATSAPP_WINDOW


class TextChannel:
    """SMS (`whatsapp=False`) or WhatsApp; the messenger is looked up at each send, so
    that it is built only when a message goes out."""

    acknowledges_in_response = True
    threads_by_message_id = False

    def __init__(self, messenger: Callable[[], TextMessenger], *, whatsapp: bool) -> None:
        self._messenger = messenger
        self._whatsapp = whatsapp

    def send_answer(self, answer: Answer, progress: SendProgress) -> str:
        """In as many parts as it takes; returns the last part's id."""
        if progress.opted_out():
            raise DeliveryError("the customer has opted out (STOP)", permanent=True)
        whatsapp = self._whatsapp
        if whatsapp and not whatsapp_window_open(answer.last_inbound_at, progress.now()):
            return self._send_template(answer, progress)
        text, media = extract_media_urls(answer.body)
        if not (whatsapp or answer.store_address.startswith("+1")):
            # MMS exists only on US and Canadian numbers: elsewhere the links stay links.
            text, media = answer.body, ()
        parts: list[tuple[str, tuple[str, ...]]] = [(p, ()) for p in split_message(text) if p]
        if media and whatsapp:
            # WhatsApp carries one media item per message: the first goes with the last text.
            first, rest = (media[:1], media[1:]) if parts else ((), media)
            if parts:
                parts[-1] = (parts[-1][0], first)
            parts += [("", (url,)) for url in rest]
        elif media:
            # MMS carries up to ten, with the last part of the text.
            parts[-1:] = [(parts[-1][0] if parts else "", media)]
        sid = answer.last_part_id or ""
        for number, (body, urls) in enumerate(parts, start=1):
            if number <= answer.parts_sent:
                continue  # sent before a retry
            sid = self._messenger().send(
                sender=answer.store_address, to=answer.customer, body=body, media_urls=urls
            )
            progress.part_sent(number, sid)
        return sid

    def _send_template(self, answer: Answer, progress: SendProgress) -> str:
        template = answer.store.whatsapp_template
        if template is None:
            raise DeliveryError(
                "WhatsApp allows free-form messages only within 24 hours of the customer's "
                "last message, and this store has no approved WhatsApp template to send "
                "instead. Ask the store owner to add `whatsapp_template` to the store "
                "configuration, or answer when the customer writes again.",
                permanent=True,
                code=WHATSAPP_CLOSED_WINDOW,
            )
        values = {
            "customer_name": answer.profile_name or "",
            "store": answer.store.name,
            "agent": answer.author_name or answer.store.name,
            "reply": " ".join(answer.body.split()),
        }
        variables = {key: text.format(**values) for key, text in template.variables.items()}
        sid = self._messenger().send(
            sender=answer.store_address,
            to=answer.customer,
            content_sid=template.content_sid,
            content_variables=variables,
        )
        progress.part_sent(1, sid)
        return str(sid)


class CallerChannel(TextChannel):
    """A caller's thread (channel voice): answered by SMS, acknowledged (the text back)
    by a job, since the call's own answer is speech."""

    acknowledges_in_response = False

    def __init__(self, messenger: Callable[[], TextMessenger]) -> None:
        super().__init__(messenger, whatsapp=False)
