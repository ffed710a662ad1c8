"""The deliver flow against in-memory fakes of its ports: no emulator, no socket.

The container's messenger and mailer are replaced by fakes that record what they were
asked to send, and its repository by a dictionary; the channel registry the composition
root builds is the real one. What each test checks is what went out, on which port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.composition import Container
from chalicelib.domain.errors import DeliveryError
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.flows.deliver import deliver
from chalicelib.settings import Settings
from chalicelib.store.models import META, CustomerItem, MessageItem, ThreadItem, thread_pk
from chalicelib.stores import StoreConfig
from tests.conftest import TEST_STORES

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AGENT = "alex@demo.relaydesk.test"


@dataclass
class RecordingMessenger:
    """A `TextMessenger` that records each message; `fail` raises instead."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: DeliveryError | None = None

    def send(
        self,
        *,
        sender: str,
        to: str,
        body: str = "",
        media_urls: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append(
            {
                "sender": sender,
                "to": to,
                "body": body,
                "media_urls": list(media_urls),
                "content_sid": content_sid,
                "content_variables": dict(content_variables or {}),
            }
        )
        return f"SM{len(self.sent)}"


@dataclass
class RecordingMailer:
    """A `Mailer` that records each mail."""

    sent: list[OutgoingEmail] = field(default_factory=list)

    def send(self, mail: OutgoingEmail) -> None:
        self.sent.append(mail)


class FakeRepository:
    """The repository methods the deliver flow calls, over plain attributes."""

    def __init__(self, history: Sequence[MessageItem] = ()) -> None:
        self.customers: dict[str, CustomerItem] = {}
        self.history = list(history)
        self.delivered: list[str] = []
        self.counted: list[object] = []
        self.failed: list[str] = []
        self.reported: list[datetime] = []

    def customer(self, store_id: str, address: str) -> CustomerItem | None:
        return self.customers.get(address)

    def messages(self, store_id: str, thread_id: str) -> list[MessageItem]:
        return self.history

    def claim_sending(self, message: MessageItem, *, take_over: bool) -> bool:
        if message.delivery_status != "queued":
            return False
        message.delivery_status = "sending"
        return True

    def release_sending(self, message: MessageItem) -> None:
        message.delivery_status = "queued"

    def part_sent(self, thread: ThreadItem, message: MessageItem, part: int, sid: str) -> None:
        message.parts_sent, message.outbound_provider_id = part, sid

    def mark_delivered(
        self,
        thread: ThreadItem,
        message: MessageItem,
        *,
        provider_id: str,
        at: datetime,
        counts: object = None,
    ) -> None:
        message.delivery_status = "sent"
        self.delivered.append(provider_id)
        self.counted.append(counts)

    def mark_failed(self, message: MessageItem, reason: str) -> None:
        message.delivery_status, message.delivery_error = "failed", reason
        self.failed.append(reason)

    def failure_reported(self, message: MessageItem, at: datetime) -> None:
        self.reported.append(at)


@dataclass
class Fakes:
    container: Container
    messenger: RecordingMessenger
    mailer: RecordingMailer
    repository: FakeRepository

    @property
    def store(self) -> StoreConfig:
        store = self.container.stores.by_id("demo")
        assert store is not None
        return store


def fakes(history: Sequence[MessageItem] = ()) -> Fakes:
    settings = Settings(
        {
            "STORES_FILE": str(TEST_STORES),
            "PUBLIC_BASE_URL": "https://relaydesk.test",
            "REPLY_DOMAIN": "reply.relaydesk.test",
        }
    )
    container = Container(settings, clock=lambda: NOW)
    found = Fakes(container, RecordingMessenger(), RecordingMailer(), FakeRepository(history))
    # The container's adapters are cached properties: what its instance holds is used.
    container.__dict__.update(
        messenger=found.messenger, mailer=found.mailer, repository=found.repository
    )
    return found


def thread(channel: str, customer: str, store_address: str, **extra: Any) -> ThreadItem:
    extra.setdefault("last_inbound_at", NOW - timedelta(hours=1))
    return ThreadItem(
        thread_pk("demo", "t1"),
        META,
        store_id="demo",
        thread_id="t1",
        channel=channel,
        customer=customer,
        store_address=store_address,
        created_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(hours=1),
        **extra,
    )


def reply(body: str, sk: str = "MSG#2#out", **extra: Any) -> MessageItem:
    return MessageItem(
        thread_pk("demo", "t1"),
        sk,
        message_id="out-1",
        direction="out",
        author=AGENT,
        author_name="Alex",
        body=body,
        created_at=NOW,
        delivery_status="queued",
        **extra,
    )


def test_an_sms_reply_goes_out_in_parts_on_the_messenger_only() -> None:
    f = fakes()
    answer = reply("word " * 400)
    deliver(f.container, f.store, thread("sms", "+420601000001", "+15005550006"), answer)
    assert [m["to"] for m in f.messenger.sent] == ["+420601000001"] * 2
    assert {m["sender"] for m in f.messenger.sent} == {"+15005550006"}
    assert " ".join(m["body"] for m in f.messenger.sent).split() == ["word"] * 400
    assert f.repository.delivered == ["SM2"]
    assert answer.parts_sent == 2
    assert f.mailer.sent == []


def test_an_email_reply_is_threaded_under_the_customers_mail_on_the_mailer_only() -> None:
    customer_mail = reply("Where is my order?", "MSG#1#in", email_message_id="<c1@shop.example>")
    customer_mail.direction = "in"
    f = fakes(history=[customer_mail])
    answer = reply("It left today.", email_message_id="<a1@demo.relaydesk.test>")
    mail_thread = thread(
        "email", "kim@shop.example", "support@demo.relaydesk.test", subject="My order"
    )
    deliver(f.container, f.store, mail_thread, answer)
    [mail] = f.mailer.sent
    assert mail.to == ("kim@shop.example",)
    assert mail.subject == "Re: My order"
    assert mail.headers["Message-ID"] == "<a1@demo.relaydesk.test>"
    assert mail.headers["In-Reply-To"] == "<c1@shop.example>"
    assert f.repository.delivered == ["<a1@demo.relaydesk.test>"]
    assert f.messenger.sent == []


def test_a_whatsapp_reply_after_the_window_without_a_template_is_reported_to_its_agent() -> None:
    f = fakes()
    late = thread(
        "whatsapp",
        "whatsapp:+420601000001",
        "whatsapp:+15005550006",
        last_inbound_at=NOW - timedelta(hours=25),
    )
    answer = reply("Sorry for the wait.")
    deliver(f.container, f.store, late, answer)
    assert f.messenger.sent == []
    assert answer.delivery_status == "failed"
    [report] = f.mailer.sent
    assert report.to == (AGENT,)
    assert report.subject == "Not delivered: your reply to +420601000001"
    assert f.repository.reported == [NOW]


def test_a_transient_vendor_error_releases_the_send_for_the_retry() -> None:
    f = fakes()
    f.messenger.fail = DeliveryError("Twilio could not be reached", permanent=False)
    answer = reply("On its way.")
    with pytest.raises(DeliveryError):
        deliver(f.container, f.store, thread("sms", "+420601000001", "+15005550006"), answer)
    assert answer.delivery_status == "queued"
    assert f.repository.delivered == f.repository.failed == []
    assert f.mailer.sent == []
