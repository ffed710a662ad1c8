from __future__ import annotations

import base64
import json
from email.message import EmailMessage

import pytest

from chalicelib.channels.sendgrid_email import (
    FormData,
    check_basic_auth,
    check_signature,
    html_to_text,
    parse_form_data,
    to_inbound_email,
)
from chalicelib.domain.errors import MalformedRequest, NotAuthenticated, VerificationFailed

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


def test_signed_webhook_verification_with_sendgrid_key_format() -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_key = base64.b64encode(der).decode()  # what SendGrid's policy API returns
    body, timestamp = b"--b\r\nbinary \xff body\r\n--b--\r\n", "1795000000"
    signature = base64.b64encode(
        private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    ).decode()
    check_signature(public_key, body, signature, timestamp)
    for bad_body, bad_sig, bad_ts in [
        (body + b"x", signature, timestamp),
        (body, signature, "1795000001"),
        (body, None, timestamp),
        (body, "not-base64!", timestamp),
    ]:
        with pytest.raises(VerificationFailed):
            check_signature(public_key, bad_body, bad_sig, bad_ts)
