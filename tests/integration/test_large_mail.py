"""Issue #12 part 2: a customer's e-mail with photos, too big for a Lambda payload, comes in
through the mail route: API Gateway's part (relaydesk/apigateway.py, the same steps as the
route `relaydesk package` declares) stores the post in moto's S3 after the authorizer in
app.py, moto's S3 event reaches the inbox queue, `on_parked` takes it, and the agents'
notification links each photo; the links work, and expire."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from urllib3 import encode_multipart_formdata

from chalicelib.composition import Container, reset_container
from chalicelib.flows.receive_stored_mail import receive_stored_mail
from chalicelib.settings import Settings
from relaydesk import apigateway
from relaydesk.local_env import LOCAL_PARSE_PASSWORD
from relaydesk.sandbox import Sandbox
from relaydesk.workers import QueueWorker
from tests.integration.conftest import drain, table_items

JANA = "jana@customer.example"
SUPPORT = "support@demo.relaydesk.test"
MB = 1024 * 1024
LINK = "open (link valid 7 days): "


def photo(n: int, size: int = 3 * MB) -> bytes:
    """A phone photo's worth of incompressible bytes behind a JPEG signature."""
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4) + bytes([n])


def post_body(
    photos: dict[str, bytes], message_id: str | None = None, text: str = "It came crushed."
) -> tuple[bytes, str]:
    """Inbound Parse's parsed mode, as SendGrid posts a mail with attachments."""
    message_id = message_id or f"<{uuid.uuid4().hex}@customer.example>"
    fields: dict[str, Any] = {
        "headers": f"From: Jana <{JANA}>\nTo: {SUPPORT}\nSubject: Damaged parcel\n"
        f"Message-ID: {message_id}\n",
        "from": f"Jana <{JANA}>",
        "to": SUPPORT,
        "subject": "Damaged parcel",
        "text": text,
        "envelope": json.dumps({"to": [SUPPORT], "from": JANA}),
        "attachments": str(len(photos)),
    }
    for n, (name, data) in enumerate(photos.items(), start=1):
        fields[f"attachment{n}"] = (name, data, "image/jpeg")
    return encode_multipart_formdata(fields)


def basic(password: str = LOCAL_PARSE_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"parse:{password}".encode()).decode()


def store(
    bucket: str, body: bytes, content_type: str, **headers: str
) -> tuple[int, dict[str, str]]:
    """The route's answer, as API Gateway gives it."""
    from app import sendgrid_parse_auth

    sent = {"Content-Type": content_type, "Authorization": basic(), **headers}
    sent = {name: value for name, value in sent.items() if value}
    return apigateway.store_post(
        apigateway.upload_client(), bucket, sendgrid_parse_auth, sent, body
    )


def objects(bucket: str, prefix: str = "") -> dict[str, int]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


def post_event(aws: dict[str, str]) -> dict[str, Any]:
    """The S3 event of the post just stored (not S3's test event before it)."""
    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=aws["InboxQueueUrl"], MaxNumberOfMessages=10)
    [event] = [m for m in found["Messages"] if "ObjectCreated" in m["Body"]]
    return dict(event)


@pytest.fixture
def mail_worker(aws: dict[str, str], container: Container) -> QueueWorker:
    from app import on_parked

    return QueueWorker(
        boto3.client("sqs"), aws["InboxQueueUrl"], on_parked, retry_backoff_seconds=0
    )


def test_a_12_mb_mail_with_photos_reaches_the_agents_with_links_that_work_and_expire(
    aws: dict[str, str],
    container: Container,
    client: Any,
    mail_worker: QueueWorker,
    worker: QueueWorker,
    outbox: Sandbox,
) -> None:
    bucket = aws["MailBucketName"]
    photos = {"parcel-1.jpg": photo(1), "parcel-2.jpg": photo(2), "parcel-3.jpg": photo(3)}
    body, content_type = post_body(photos)
    # 9 MB of photos is a 12 MB mail in the customer's mailbox (MIME's base64), and a
    # post over twice what fits in a Lambda event: the webhook could not take it.
    assert len(body) > 9 * MB
    assert sum(len(p) for p in photos.values()) * 4 // 3 > 12 * MB
    assert store(bucket, body, content_type) == (200, {"status": "received"})
    [raw] = objects(bucket, "raw/")
    assert objects(bucket, "raw/")[raw] == len(body)  # byte for byte

    assert drain(mail_worker) == 1  # moto's S3 event, on the inbox queue
    assert objects(bucket, "raw/") == {}  # taken, then deleted
    kept = objects(bucket, "attachments/")
    assert sorted(kept.values()) == sorted(len(p) for p in photos.values())
    [message] = [i for i in table_items() if i.get("direction") == "in"]
    listed = json.loads(message["attachments"])
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        (name, "image/jpeg", len(data)) for name, data in photos.items()
    ]
    assert sorted(a["key"] for a in listed) == sorted(kept)
    assert "dropped" not in message  # the contents are kept too, in the bucket

    drain(worker)  # the acknowledgement and the agents' notification
    [notice] = [m for m in outbox.entries(provider="sendgrid") if m.get("reply_to")]
    text = notice["text"]
    assert "It came crushed." in text
    links = [line.split(LINK, 1)[1] for line in text.splitlines() if LINK in line]
    assert len(links) == 3
    for link, (name, data) in zip(links, photos.items(), strict=True):
        assert f"attachment: {name} (image/jpeg, {len(data)} bytes)" in text
        fetched = requests.get(link, timeout=30)  # no credentials: the link is enough
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == data
        assert name in fetched.headers["Content-Disposition"]
        assert "X-Amz-Expires=604800" in link  # 7 days
    # A link expires: the same link, signed for one second, is refused once it passed.
    key = next(iter(kept))
    short = container.mail_files.link(key, "parcel-1.jpg", timedelta(seconds=1))
    assert requests.get(short, timeout=30).status_code == 200
    time.sleep(2.1)
    expired = requests.get(short, timeout=30)
    assert expired.status_code == 403
    assert "Request has expired" in expired.text


def test_the_route_refuses_before_storing_without_credentials_or_over_10_mb(
    aws: dict[str, str], container: Container, mail_worker: QueueWorker
) -> None:
    bucket = aws["MailBucketName"]
    body, content_type = post_body({"parcel.jpg": photo(1, MB)})
    from app import sendgrid_parse_auth

    upload = apigateway.upload_client()
    assert apigateway.store_post(upload, bucket, sendgrid_parse_auth, {}, body)[0] == 401
    wrong = {"Authorization": basic("guess"), "Content-Type": content_type}
    assert apigateway.store_post(upload, bucket, sendgrid_parse_auth, wrong, body)[0] == 403
    huge, huge_type = post_body({"a.jpg": photo(1, 6 * MB), "b.jpg": photo(2, 5 * MB)})
    assert store(bucket, huge, huge_type) == (413, {"message": "Request Too Long"})
    assert objects(bucket) == {}
    assert drain(mail_worker) == 0
    assert [i for i in table_items() if i.get("direction") == "in"] == []


def test_a_redelivered_event_stores_the_mail_once(
    aws: dict[str, str], container: Container, mail_worker: QueueWorker
) -> None:
    bucket = aws["MailBucketName"]
    body, content_type = post_body({"parcel.jpg": photo(1, MB)})
    store(bucket, body, content_type)
    event = post_event(aws)
    assert receive_stored_mail(container, event["Body"]) == ["stored"]
    assert receive_stored_mail(container, event["Body"]) == ["gone"]  # SQS delivered twice
    assert len([i for i in table_items() if i.get("direction") == "in"]) == 1
    # S3's test event, sent when a notification is configured, is not a post.
    from chalicelib.flows.inbox import take_parked

    assert take_parked(container, json.dumps({"Event": "s3:TestEvent", "Bucket": bucket})) == []


@pytest.fixture
def signed(
    aws: dict[str, str], container: Container
) -> tuple[ec.EllipticCurvePrivateKey, Container]:
    """The container with SendGrid's signature required (a Parse security policy)."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = base64.b64encode(der).decode()
    environ = {**container.settings.environ, "SENDGRID_PARSE_PUBLIC_KEY": key}
    built = Container(Settings(environ), clock=container.clock)
    reset_container(built)
    return private, built


def signature_headers(
    private: ec.EllipticCurvePrivateKey, body: bytes, at: datetime
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


@pytest.mark.parametrize(
    ("signed_before", "taken"),
    [
        (timedelta(0), True),
        # A SendGrid retry that carries its first attempt's signature (issue #12 part 6).
        (timedelta(hours=3), True),
        (timedelta(hours=74), False),  # past SendGrid's 72-hour retries: a replay
    ],
)
def test_the_signature_is_checked_as_of_when_the_post_was_stored(
    aws: dict[str, str],
    signed: tuple[ec.EllipticCurvePrivateKey, Container],
    mail_worker: QueueWorker,
    signed_before: timedelta,
    taken: bool,
) -> None:
    private, built = signed
    bucket = aws["MailBucketName"]
    body, content_type = post_body({"parcel.jpg": photo(1, MB)})
    headers = signature_headers(private, body, datetime.now(UTC) - signed_before)
    assert store(bucket, body, content_type, **headers)[0] == 200
    event = post_event(aws)
    assert receive_stored_mail(built, event["Body"]) == ["stored" if taken else "refused"]
    assert objects(bucket, "raw/") == {}  # taken or refused, never left behind
    stored = [i for i in table_items() if i.get("direction") == "in"]
    assert len(stored) == (1 if taken else 0)
    assert bool(objects(bucket, "attachments/")) == taken


def test_a_forged_signature_stores_nothing(
    aws: dict[str, str], signed: tuple[ec.EllipticCurvePrivateKey, Container]
) -> None:
    private, built = signed
    bucket = aws["MailBucketName"]
    body, content_type = post_body({"parcel.jpg": photo(1, MB)})
    other, _ = post_body({"parcel.jpg": photo(2, MB)})
    store(bucket, body, content_type, **signature_headers(private, other, datetime.now(UTC)))
    event = post_event(aws)
    assert receive_stored_mail(built, event["Body"]) == ["refused"]
    assert objects(bucket) == {}
    assert [i for i in table_items() if i.get("direction") == "in"] == []


def test_erasing_the_customer_deletes_their_photos_from_the_bucket(
    aws: dict[str, str], container: Container, mail_worker: QueueWorker
) -> None:
    from chalicelib.store import privacy

    bucket = aws["MailBucketName"]
    body, content_type = post_body({"a.jpg": photo(1, MB), "b.jpg": photo(2, MB)})
    store(bucket, body, content_type)
    drain(mail_worker)
    assert len(objects(bucket, "attachments/")) == 2
    erasure = privacy.erase_customer(
        "demo", JANA, key=b"local-reply-token-secret", delete_file=container.mail_files.delete
    )
    assert erasure.files == 2
    assert objects(bucket) == {}
    [message] = [i for i in table_items() if i.get("direction") == "in"]
    assert "attachments" not in message
