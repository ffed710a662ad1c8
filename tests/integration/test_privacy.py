"""GDPR export and erasure of one customer, and the retention TTL of closed threads,
against the emulated table filled through the real webhooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.composition import Container
from chalicelib.domain import tokens
from chalicelib.settings import ConfigError
from chalicelib.store import privacy
from chalicelib.store.models import thread_pk
from chalicelib.stores import parse_store
from relaydesk.workers import QueueWorker
from tests.conftest import ROOT, TEST_STORES
from tests.integration.conftest import FakeClock, drain, table_items
from tests.integration.email_posts import post_raw
from tests.integration.test_spine import post_parse, post_twilio

PHONE = "+420777123456"
OTHER = "+420608000111"
JANA = "jana.novak@customer.example"
AGENT = "alex@demo.relaydesk.test"
SUPPORT = "support@demo.relaydesk.test"
ACME = "+15550001111"
SMS_TEXT = "My parcel QX-7731 never arrived at Vinohradska 12"
WHATSAPP_TEXT = "Ahoj, kde je moje objednavka 4411?"
PROFILE = "Jana Novakova"
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
ANSWER = "We will send a new parcel to Vinohradska 12 today"
MAIL_TEXT = "The walnut desk arrived scratched, see the photo"
SUBJECT = "Order 55190: scratched desk"


def reply_address(container: Container, store: str, address: str) -> str:
    pointer = container.repository.customer(store, address)
    assert pointer is not None
    assert pointer.open_thread_id
    return tokens.reply_address(
        container.reply_secret, store, pointer.open_thread_id, container.settings.reply_domain
    )


def converse(client: Client, container: Container, worker: QueueWorker) -> None:
    """The customer on SMS (answered by an agent) and WhatsApp; the same number at another
    store; another customer at this store."""
    assert post_twilio(client, sender=PHONE, body=SMS_TEXT, sid="SMprivacy1").status_code == 200
    whatsapp = {"ProfileName": PROFILE, "WaId": PHONE[1:], "NumMedia": "1", "MediaUrl0": MEDIA}
    sent = post_twilio(
        client,
        sender=f"whatsapp:{PHONE}",
        to="whatsapp:+15005550006",
        body=WHATSAPP_TEXT,
        extra=whatsapp,
    )
    assert sent.status_code == 200
    assert post_twilio(client, sender=PHONE, to=ACME, body=SMS_TEXT).status_code == 200
    assert post_twilio(client, sender=OTHER, body="Is the shop open on Sunday?").status_code == 200
    drain(worker)
    to = reply_address(container, "demo", PHONE)
    assert post_parse(client, sender=AGENT, to=to, text=ANSWER).status_code == 200
    drain(worker)


def mail_with_attachment(message_id: str, in_reply_to: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{PROFILE} <{JANA}>"
    mail["To"] = SUPPORT
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    mail.set_content(MAIL_TEXT)
    mail.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="desk.png")
    return bytes(mail)


def items_of(store: str) -> list[dict[str, Any]]:
    return [i for i in table_items() if i["pk"].startswith(f"{store}#")]


def thread_items(store: str) -> list[dict[str, Any]]:
    return [i for i in items_of(store) if "#THREAD#" in i["pk"] and i["sk"] == "#META"]


# -- export --------------------------------------------------------------------------------


def test_export_holds_every_thread_and_message_of_the_customer_and_nothing_else(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    converse(client, container, worker)
    document = privacy.export_customer("demo", "whatsapp:+420 777 123 456")
    json.dumps(document)  # JSON-ready as it is
    assert document["addresses"] == [PHONE, f"whatsapp:{PHONE}"]
    assert {c["pk"] for c in document["customer"]} == {
        f"demo#CUSTOMER#{PHONE}",
        f"demo#CUSTOMER#whatsapp:{PHONE}",
    }
    threads = {t["channel"]: t for t in document["threads"]}
    assert set(threads) == {"sms", "whatsapp"}
    assert all(t["store_id"] == "demo" for t in threads.values())
    sms = [(m["direction"], m["body"]) for m in threads["sms"]["messages"]]
    assert ("in", SMS_TEXT) in sms
    assert ("out", ANSWER) in sms
    [wa] = [m for m in threads["whatsapp"]["messages"] if m["direction"] == "in"]
    assert (wa["body"], wa["profile_name"], wa["media_urls"]) == (WHATSAPP_TEXT, PROFILE, [MEDIA])
    assert threads["whatsapp"]["profile_name"] == PROFILE
    assert "Sunday" not in json.dumps(document)  # another customer's thread
    assert not any("acme" in json.dumps(t) for t in document["threads"])  # another store's


def test_export_of_an_email_customer_includes_the_original_mail(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    assert (
        post_raw(client, mail_with_attachment("<m1@customer.example>"), SUPPORT).status_code == 200
    )
    document = privacy.export_customer("demo", JANA.upper())
    [thread] = document["threads"]
    [message] = [m for m in thread["messages"] if m["direction"] == "in"]
    assert MAIL_TEXT in message["raw_email"]  # decompressed, readable
    assert message["attachments"][0]["filename"] == "desk.png"
    assert thread["subject"] == SUBJECT


# -- erasure -------------------------------------------------------------------------------


def test_erase_removes_texts_and_contact_details_and_keeps_anonymous_counts(
    client: Client, container: Container, worker: QueueWorker, clock: FakeClock
) -> None:
    converse(client, container, worker)
    before = {t["pk"]: t for t in thread_items("demo") if t["customer"].endswith(PHONE)}
    acme_before = items_of("acme")

    erasure = privacy.erase_customer("demo", PHONE, key=container.reply_secret, now=clock())

    assert (erasure.threads, erasure.customers) == (2, 2)
    assert erasure.messages >= 4  # both customer messages, the acknowledgements, the answer
    assert erasure.markers >= 2
    assert erasure.pseudonym.startswith("erased:")
    assert erasure.pseudonym == privacy.pseudonym(container.reply_secret, "demo", PHONE)
    left = json.dumps(items_of("demo"), default=str)
    for gone in (PHONE[1:], PHONE[4:], SMS_TEXT, WHATSAPP_TEXT, PROFILE, MEDIA, ANSWER):
        assert gone not in left
    assert "Sunday" in left  # the other customer keeps everything
    assert items_of("acme") == acme_before  # and so does the other store
    assert container.repository.customer("demo", PHONE) is None
    assert container.repository.customer("demo", f"whatsapp:{PHONE}") is None

    after = {t["pk"]: t for t in thread_items("demo") if t["pk"] in before}
    assert len(before) == 2  # the SMS and the WhatsApp thread: the loop below sees both
    assert after.keys() == before.keys()
    for pk, thread in after.items():
        assert thread["customer"] == erasure.pseudonym  # the same for SMS and WhatsApp
        assert thread["status"] == "closed"
        for kept in ("message_count", "created_at", "first_response_at", "response_due_at"):
            assert thread.get(kept) == before[pk].get(kept)
        messages = [i for i in items_of("demo") if i["pk"] == pk and i["sk"] != "#META"]
        assert messages
        assert all(m["body"] == "" and m["dropped"].startswith("erased") for m in messages)
        assert all(m["author"] != PHONE and "wa_id" not in m for m in messages)

    again = privacy.erase_customer("demo", PHONE, key=container.reply_secret, now=clock())
    assert (again.threads, again.messages, again.markers, again.customers) == (0, 0, 0, 0)
    assert privacy.export_customer("demo", PHONE)["threads"] == []
    # The customer writing again starts afresh, acknowledged, on a new thread.
    assert post_twilio(client, sender=PHONE, body="Hello again").status_code == 200
    [fresh] = privacy.find_threads("demo", PHONE)
    assert thread_pk("demo", fresh.thread_id) not in before


def test_erase_of_an_email_customer_removes_the_original_and_its_threading(
    client: Client, container: Container, worker: QueueWorker, clock: FakeClock
) -> None:
    assert (
        post_raw(client, mail_with_attachment("<m1@customer.example>"), SUPPORT).status_code == 200
    )
    drain(worker)  # the acknowledgement, with a Message-ID of ours
    [erased] = privacy.find_threads("demo", JANA)
    erasure = privacy.erase_customer("demo", JANA, key=container.reply_secret, now=clock())
    assert erasure.threads == 1
    left = json.dumps(items_of("demo"), default=str)
    for gone in (JANA, "jana.novak", SUBJECT, MAIL_TEXT, "desk.png", "m1@customer.example"):
        assert gone not in left
    messages = [i for i in items_of("demo") if i["pk"] == erased.pk and i["sk"] != "#META"]
    assert len(messages) >= 2  # her mail and our acknowledgement, at least
    assert all("raw_email" not in m and "attachments" not in m for m in messages)
    # Her answer to the old mail can no longer join the erased thread: it starts a new one.
    answer = mail_with_attachment("<m2@customer.example>", in_reply_to="<m1@customer.example>")
    assert post_raw(client, answer, SUPPORT).status_code == 200
    [fresh] = privacy.find_threads("demo", JANA)
    assert fresh.thread_id != erased.thread_id


def test_pseudonyms_are_keyed_stable_and_per_store() -> None:
    key = b"k" * 32
    first = privacy.pseudonym(key, "demo", PHONE)
    assert first == privacy.pseudonym(key, "demo", f"whatsapp:{PHONE}")
    assert first != privacy.pseudonym(key, "acme", PHONE)
    assert first != privacy.pseudonym(b"x" * 32, "demo", PHONE)
    assert privacy.address_forms(" Jana.Novak@Customer.Example ") == [JANA]


def test_the_cli_exports_and_erases_only_when_told_to(
    client: Client, container: Container, worker: QueueWorker, moto_url: str
) -> None:
    converse(client, container, worker)
    environ = {**os.environ, "STORES_FILE": str(TEST_STORES)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "relaydesk.cli", "customer", *args, "--endpoint-url", moto_url],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )

    exported = cli("export", "demo", PHONE)
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["threads"]) == 2
    assert cli("export", "nosuchstore", PHONE).returncode == 2
    dry = cli("erase", "demo", PHONE)
    assert dry.returncode == 1
    assert "2 thread(s)" in dry.stderr
    assert len(privacy.find_threads("demo", PHONE)) == 2  # nothing erased yet
    erased = cli("erase", "demo", PHONE, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["threads"] == 2
    assert privacy.find_threads("demo", PHONE) == []


# -- retention -----------------------------------------------------------------------------


def ttl_of(store: str, thread_id: str) -> list[Any]:
    """expires_at of the thread and each of its messages, thread first."""
    items = sorted(
        (i for i in table_items() if i["pk"] == thread_pk(store, thread_id)),
        key=lambda i: i["sk"] != "#META",
    )
    return [i.get("expires_at") for i in items]


def test_a_closed_thread_and_its_messages_expire_after_the_retention_and_a_reopen_keeps_them(
    client: Client, container: Container, worker: QueueWorker, clock: FakeClock
) -> None:
    converse(client, container, worker)
    repository = container.repository
    [thread] = [t for t in privacy.find_threads("demo", PHONE) if t.channel == "sms"]
    assert not repository.expire_closed_thread("demo", thread.thread_id, clock(), 30)  # open
    assert set(ttl_of("demo", thread.thread_id)) == {None}

    repository.close_thread(thread, clock())
    closed = repository.thread("demo", thread.thread_id)
    assert closed is not None
    assert closed.closed_at is not None
    assert repository.expire_closed_thread("demo", thread.thread_id, closed.closed_at, 30)
    expected = int((closed.closed_at + timedelta(days=30)).timestamp())
    ttls = ttl_of("demo", thread.thread_id)
    assert len(ttls) >= 3
    assert ttls == [expected] * len(ttls)
    assert repository.expire_closed_thread("demo", thread.thread_id, closed.closed_at, 30)  # again
    others = [i for i in table_items() if i["pk"] != thread_pk("demo", thread.thread_id)]
    # Markers, the store's hourly counters and its report counters (store/counters.py,
    # KEEP_DAYS) expire on their own schedule.
    kept = [
        i
        for i in others
        if "#PROVIDER#" not in i["pk"] and not i["pk"].endswith(("#STORE", "#REPORT"))
    ]
    assert kept
    assert not any("expires_at" in i for i in kept)

    repository.keep_thread("demo", thread.thread_id)
    assert set(ttl_of("demo", thread.thread_id)) == {None}
    repository.keep_thread("demo", thread.thread_id)  # idempotent
    assert not repository.expire_closed_thread("demo", "no-such-thread", clock(), 30)
    assert ttl_of("demo", "no-such-thread") == []  # nothing created


def store_config(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(TEST_STORES.read_text())["stores"][0]
    return {**raw, **changes}


def test_retention_days_defaults_to_a_year_and_is_validated() -> None:
    assert parse_store(store_config()).retention_days == 365
    assert parse_store(store_config(retention_days=30)).retention_days == 30
    for wrong in (0, -1, "30", True, 10**6):
        with pytest.raises(ConfigError, match="retention_days"):
            parse_store(store_config(retention_days=wrong))
