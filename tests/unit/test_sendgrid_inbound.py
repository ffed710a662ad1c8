from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.channels.sendgrid_inbound import (
    FormData,
    check_basic_auth,
    check_signature,
    html_to_text,
    parse_form_data,
    sender_authentication,
    to_inbound_email,
)
from chalicelib.domain.errors import MalformedRequest, NotAuthenticated, VerificationFailed
from chalicelib.domain.mail_auth import SenderAuthentication

BOUNDARY = "xYzZY"


def multipart(fields: dict[str, str]) -> tuple[str, bytes]:
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    body = ("".join(chunks) + f"--{BOUNDARY}--\r\n").encode()
    return f"multipart/form-data; boundary={BOUNDARY}", body


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_accepts_only_the_configured_pair() -> None:
    check_basic_auth(basic("parse", "s3cret"), "parse", "s3cret")
    for header in [
        None,
        "",
        "Bearer x",
        basic("parse", "wrong"),
        basic("other", "s3cret"),
        "Basic %%%",
    ]:
        with pytest.raises(NotAuthenticated):
            check_basic_auth(header, "parse", "s3cret")


def test_parsed_mode_fields() -> None:
    content_type, body = multipart(
        {
            "headers": "Message-ID: <abc@mail.example>\nFrom: Alex <alex@demo.test>\n",
            "from": "Alex <Alex@Demo.test>",
            "to": "reply+demo.t.x@reply.test",
            "cc": "Sam <sam@demo.test>",
            "subject": "Re: order",
            "text": "Příliš žluťoučký kůň",
            "envelope": json.dumps({"to": ["reply+demo.t.x@reply.test"], "from": "alex@demo.test"}),
        }
    )
    email = to_inbound_email(parse_form_data(content_type, body))
    assert email.sender == "alex@demo.test"
    assert email.recipients == ("reply+demo.t.x@reply.test", "sam@demo.test")
    assert email.message_id == "<abc@mail.example>"
    assert email.text == "Příliš žluťoučký kůň"
    assert email.subject == "Re: order"


def test_raw_mode_parses_the_mime_message_and_its_charset() -> None:
    mime = EmailMessage()
    mime["From"] = "Alex <alex@demo.test>"
    mime["To"] = "reply+demo.t.x@reply.test"
    mime["Subject"] = "Re: objednávka"
    mime["Message-ID"] = "<raw@mail.example>"
    mime.set_content("Zásilka odešla dnes.", charset="iso-8859-2")
    content_type, body = multipart({"email": mime.as_string(), "envelope": "{}"})
    email = to_inbound_email(parse_form_data(content_type, body))
    assert email.text.strip() == "Zásilka odešla dnes."
    assert email.subject == "Re: objednávka"
    assert email.message_id == "<raw@mail.example>"


def test_html_only_mail_becomes_text() -> None:
    assert html_to_text("<html><head><style>p{}</style></head><p>Hello&nbsp;there</p><br>Bye") == (
        "Hello there\nBye"
    )


def test_a_mail_without_message_id_gets_a_stable_one() -> None:
    fields = {"from": "a@b.test", "to": "c@d.test", "subject": "s", "text": "t"}
    first, second = to_inbound_email(FormData(fields)), to_inbound_email(FormData(dict(fields)))
    assert first.message_id == second.message_id
    assert first.message_id != to_inbound_email(FormData({**fields, "text": "other"})).message_id


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"from": "a@b.test", "text": "t"}, "recipient"),
        ({"from": "a@b.test", "to": "c@d.test", "envelope": "{"}, "envelope"),
    ],
)
def test_malformed_posts_say_what_is_wrong(fields: dict[str, str], complaint: str) -> None:
    with pytest.raises(MalformedRequest, match=complaint):
        to_inbound_email(FormData(fields))


def test_a_mail_without_from_address_is_parsed_for_the_flow_to_judge() -> None:
    email = to_inbound_email(FormData({"to": "c@d.test", "from": "Mail Delivery System"}))
    assert email.sender == ""


def test_not_multipart_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="multipart"):
        parse_form_data("application/json", b"{}")
    with pytest.raises(MalformedRequest, match="boundary"):
        parse_form_data("multipart/form-data", b"")


SIGNED_AT = datetime(2026, 11, 18, 21, 46, 40, tzinfo=UTC)  # Unix time 1795038400


def signing_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()  # what SendGrid's policy API returns


def sign(private: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def test_signed_webhook_verification_with_sendgrid_key_format() -> None:
    private, public_key = signing_key()
    body, timestamp = b"--b\r\nbinary \xff body\r\n--b--\r\n", str(int(SIGNED_AT.timestamp()))
    signature = sign(private, timestamp, body)
    check_signature(public_key, body, signature, timestamp, now=SIGNED_AT)
    for bad_body, bad_sig, bad_ts in [
        (body + b"x", signature, timestamp),
        (body, signature, str(int(timestamp) + 1)),
        (body, None, timestamp),
        (body, "not-base64!", timestamp),
    ]:
        with pytest.raises(VerificationFailed):
            check_signature(public_key, bad_body, bad_sig, bad_ts, now=SIGNED_AT)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (-timedelta(minutes=4, seconds=59), True),  # our clock behind the signer's
        (-timedelta(minutes=5, seconds=1), False),  # dated ahead: only skew is plausible
        # SendGrid retries a 5xx for 72 hours and does not say that it signs each retry
        # afresh: the first attempt's signature must still be good on its retries.
        (timedelta(minutes=10), True),  # the first hour's retries, every 5-10 minutes
        (timedelta(hours=3), True),
        (timedelta(hours=72), True),  # SendGrid's last retry
        (timedelta(hours=73), True),
        (timedelta(hours=73, seconds=1), False),  # beyond any retry: a replay
        (timedelta(days=30), False),
    ],
)
def test_a_signature_is_good_for_sendgrids_retry_window(offset: timedelta, accepted: bool) -> None:
    private, public_key = signing_key()
    body, timestamp = b"--b\r\nx\r\n--b--\r\n", str(int(SIGNED_AT.timestamp()))
    signature = sign(private, timestamp, body)
    if accepted:
        check_signature(public_key, body, signature, timestamp, now=SIGNED_AT + offset)
    else:
        with pytest.raises(VerificationFailed, match=r"s old, more than|s ahead of our clock"):
            check_signature(public_key, body, signature, timestamp, now=SIGNED_AT + offset)


def test_a_signed_timestamp_that_is_not_a_unix_time_is_refused() -> None:
    private, public_key = signing_key()
    body = b"x"
    for timestamp in ["2026-11-18T21:46:40Z", "1795038400.5", "soon"]:
        with pytest.raises(VerificationFailed, match="Unix time"):
            check_signature(
                public_key, body, sign(private, timestamp, body), timestamp, now=SIGNED_AT
            )


def auth(
    spf: str | None, dkim: str | None, sender: str = "alex@shop.example", envelope: str = ""
) -> SenderAuthentication:
    """The verdicts as SendGrid posts them; the envelope sender is From unless given."""
    fields = {name: value for name, value in (("SPF", spf), ("dkim", dkim)) if value is not None}
    return sender_authentication(fields, sender, envelope or sender)


@pytest.mark.parametrize(
    ("spf", "dkim", "envelope", "authenticated", "failed"),
    [
        # Nothing reported (an old Parse setup, a hand-made post): no verdict either way.
        (None, None, "", False, False),
        # SendGrid's own formats: one signature, several, none.
        ("pass", "{@shop.example : pass}", "", True, False),
        ("softfail", "{@shop.example : pass}", "", True, False),  # forwarded, DKIM intact
        ("fail", "{@mail.shop.example : pass, @esp.example : fail}", "", True, False),
        ("pass", "none", "", True, False),  # SPF for the aligned envelope sender
        ("pass", "none", "bounce@mail.shop.example", True, False),  # a subdomain aligns
        # Failures: SPF fail/softfail with no DKIM for From's domain.
        ("softfail", "none", "", False, True),
        ("fail", None, "", False, True),
        ("Fail", "{@shop.example : fail}", "", False, True),
        ("none", "{@shop.example : fail}", "", False, True),  # From's own signature broke
        # Someone else vouched, not From's domain: the forged-From pattern.
        ("pass", "none", "mallory@evil.example", False, True),
        ("none", "{@evil.example : pass}", "", False, True),
        ("pass", "{@evil.example : pass}", "bounces@evil.example", False, True),
        # Inconclusive: the domain publishes nothing; judged neither way.
        ("none", "none", "", False, False),
        ("neutral", "", "", False, False),
        ("temperror", "{@shop.example : temperror}", "", False, False),
    ],
)
def test_sendgrid_spf_and_dkim_verdicts_are_read_against_the_from_domain(
    spf: str | None, dkim: str | None, envelope: str, authenticated: bool, failed: bool
) -> None:
    verdict = auth(spf, dkim, envelope=envelope)
    assert (verdict.authenticated, verdict.failed) == (authenticated, failed), verdict
    assert "alex" not in verdict.summary()  # domains and verdicts only, never an address


def test_spf_pass_for_an_empty_envelope_sender_does_not_vouch_for_from() -> None:
    """A null sender (MAIL FROM:<>) is checked on HELO: the sending host, not From."""
    verdict = sender_authentication({"SPF": "pass"}, "alex@shop.example", "")
    assert verdict.failed
    assert not verdict.authenticated


def test_both_parse_modes_carry_the_verdicts_to_the_inbound_email() -> None:
    envelope = json.dumps({"to": ["support@shop.example"], "from": "jana@customer.example"})
    parsed = to_inbound_email(
        FormData(
            {
                "from": "Jana <jana@customer.example>",
                "to": "support@shop.example",
                "SPF": "softfail",
                "dkim": "none",
                "envelope": envelope,
            }
        )
    )
    assert parsed.authentication.failed
    raw = to_inbound_email(
        FormData(
            {"SPF": "pass", "dkim": "{@customer.example : pass}", "envelope": envelope},
            raw_email=b"From: jana@customer.example\r\nTo: support@shop.example\r\n\r\nhi",
        )
    )
    assert raw.authentication.authenticated
    assert not to_inbound_email(
        FormData({"from": "a@b.test", "to": "c@d.test"})
    ).authentication.reported


def test_form_data_names_in_raw_utf8_and_rfc2231_are_decoded() -> None:
    """SendGrid sends attachment names as raw UTF-8; RFC 2231 is decoded too."""
    boundary = "xYzZY"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="text"\r\n\r\n'
        "Dobrý den\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="attachment1"; filename="Jiří.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
        "PNG\r\n"
        f"--{boundary}\r\n"
        "Content-Disposition: form-data; name=\"attachment2\"; filename*=UTF-8''%C5%BEluv.txt\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "abc\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    form = parse_form_data(f"multipart/form-data; boundary={boundary}", body)
    assert form.fields == {"text": "Dobrý den"}
    assert [(a.filename, a.content_type, a.size) for a in form.files] == [
        ("Jiří.png", "image/png", 3),
        ("žluv.txt", "text/plain", 3),
    ]
