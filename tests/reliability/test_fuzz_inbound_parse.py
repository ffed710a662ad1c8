"""Fuzzing SendGrid's Inbound Parse webhook through the real app: parsed and raw modes,
HTTP Basic, the optional ECDSA signature, customer mail and agent replies.

Properties, for any body and header set:
- never a 5xx, never an unhandled exception;
- a refusal is a 4xx with a message and leaves the table, the queues and the outbox as
  they were; refused credentials and signatures are logged as security events;
- an authenticated post with fuzzed content is stored (200) or refused as above;
- a reply address only ever lets that store's agents (whose domain did not fail SPF/DKIM)
  or that e-mail thread's customer in.
"""

from __future__ import annotations

import base64
import json
import quopri
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import event, example, given
from hypothesis import strategies as st

from chalicelib.composition import Container
from chalicelib.domain import tokens
from tests.integration.conftest import FakeClock
from tests.reliability.helpers import (
    ACME_AGENT,
    ACME_SUPPORT,
    DEMO_AGENTS,
    DEMO_NUMBER,
    DEMO_SUPPORT,
    REPLY_DOMAIN,
    ParseSigner,
    Snapshot,
    assert_clean_rejection,
    assert_no_crash,
    assert_not_logged,
    basic_auth,
    budget,
    multipart,
    post_parse_body,
    post_parse_fields,
    post_twilio_form,
    security_lines,
)

# What a 200 may say: customer mail's outcomes; an agent reply's are free text ("queued",
# "updated, closed", "rejected: #a is not a command." when the agent is told by e-mail).
CUSTOMER_OUTCOMES = {"stored", "stored-automatic", "stored-unauthenticated", "duplicate", "ignored"}


def outcome_of(response: Any) -> str:
    """The 200's status: a non-empty string."""
    status = json.loads(response.body)["status"]
    assert isinstance(status, str), response.body
    assert status, response.body
    return status


JANA = "jana.novakova@customer.test"

any_text = st.text(st.characters(codec="utf-8"), max_size=200)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)


def mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` about nine times in ten."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda u: usual if u else rare)


customers = st.sampled_from(
    [JANA, "petr@customer.test", "someone@evil.test", "MAILER-DAEMON@mx.example", ""]
)
junk_addresses = st.one_of(
    st.emails().map(str),
    any_text,
    st.sampled_from(["<>", "@", "a@", "@b", "x@y@z", "undisclosed-recipients:;", "a@b,c@d"]),
)
domains = st.sampled_from(
    ["customer.test", "demo.relaydesk.test", "evil.test", "mail.customer.test", "acme.test"]
)
spf_verdicts = st.one_of(
    st.sampled_from(["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]),
    st.sampled_from(["", "PASS", "pass (sender SPF authorized)"]),
    header_text,
)
dkim_verdicts = st.one_of(
    st.just("none"),
    st.lists(
        st.tuples(domains, st.sampled_from(["pass", "fail", "neutral", "temperror"])),
        min_size=1,
        max_size=3,
    ).map(lambda rs: "{" + ", ".join(f"@{d} : {r}" for d, r in rs) + "}"),
    header_text,
)
message_ids = st.one_of(
    st.uuids().map(lambda u: f"<{u.hex}@customer.test>"),
    st.sampled_from(["", "<>", "no-brackets@x", "<a@b> <c@d>", "<" + "x" * 2000 + "@y>"]),
    header_text,
)
HEADER_NAMES = [
    "In-Reply-To",
    "References",
    "Reply-To",
    "X-Original-Sender",
    "Auto-Submitted",
    "Precedence",
    "List-Id",
    "X-Autoreply",
    "Content-Type",
    "Cc",
    "Subject",
    "Date",
    "Return-Path",
]
header_values = st.one_of(
    header_text,
    message_ids,
    st.sampled_from(
        [
            "=?utf-8?b?UMWZw61sacWhIMW+bHXFpW91xI1rw70=?=",
            "=?iso-8859-2?q?=A9koda?=",
            "=?unknown-8bit?q?=FF?=",
            "=?utf-8?b?!!!?=",
            "auto-replied",
            "bulk",
            "multipart/report; report-type=delivery-status",
            'a@b.test, , <c@d.test>, "x" <',
        ]
    ),
)


@st.composite
def header_blocks(draw: st.DrawFn, message_id: str, sender: str, to: str) -> str:
    lines = [f"Message-ID: {message_id}", f"From: {sender}", f"To: {to}"]
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=5)):
        lines.append(f"{name}: {draw(header_values)}")
    if draw(st.sampled_from([False] * 9 + [True])):
        lines.append(draw(any_text))  # not a header at all
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"


envelopes = st.one_of(
    st.builds(
        lambda to, frm: json.dumps({"to": to, "from": frm}),
        st.one_of(st.lists(junk_addresses, max_size=2), st.integers(), st.none(), any_text),
        st.one_of(junk_addresses, st.none(), st.integers()),
    ),
    st.sampled_from(["", "{", "[]", "null", "42", '"x"', '{"to": 5}', '{"to": {"a": 1}}']),
)
attachments = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=30),
        st.binary(max_size=300),
        st.sampled_from(["application/pdf", "image/png", "text/plain", "x/y", ""]),
    ),
    max_size=2,
)


@dataclass(frozen=True)
class Seeds:
    """Threads the fuzzed replies aim at: an SMS thread and an e-mail thread of `demo`, an
    SMS thread of `acme`; seeded again whenever a tidy snapshot emptied the table."""

    sms_reply: str
    email_reply: str
    acme_reply: str
    forged_reply: str
    """The demo SMS thread's token with the store swapped for acme: the MAC cannot match."""


def seed(client: Client, container: Container) -> Seeds:
    def sms(store: str, number: str, to: str) -> str:
        import uuid

        params = {"MessageSid": [f"SM{uuid.uuid4().hex}"], "From": [number], "To": [to]}
        params["Body"] = ["Where is my order?"]
        assert post_twilio_form(client, params).status_code == 200
        pointer = container.repository.customer(store, number)
        assert pointer is not None
        assert pointer.open_thread_id
        return tokens.reply_address(
            container.reply_secret, store, pointer.open_thread_id, REPLY_DOMAIN
        )

    sms_reply = sms("demo", "+420777123456", DEMO_NUMBER)
    acme_reply = sms("acme", "+420777654321", "+15550001111")
    mail = post_parse_fields(
        client,
        {
            "headers": f"Message-ID: <seed@customer.test>\nFrom: {JANA}\nTo: {DEMO_SUPPORT}\n",
            "from": JANA,
            "to": DEMO_SUPPORT,
            "subject": "Order 1042",
            "text": "Where is it?",
            "envelope": json.dumps({"to": [DEMO_SUPPORT], "from": JANA}),
        },
    )
    assert mail.status_code == 200, mail.body
    customer = container.repository.customer("demo", JANA)
    assert customer is not None
    assert customer.open_thread_id
    email_reply = tokens.reply_address(
        container.reply_secret, "demo", customer.open_thread_id, REPLY_DOMAIN
    )
    token = tokens.token_from_address(sms_reply, REPLY_DOMAIN)
    assert token is not None
    forged = f"reply+acme.{token.partition('.')[2]}@{REPLY_DOMAIN}"
    return Seeds(sms_reply, email_reply, acme_reply, forged)


@pytest.fixture
def seeded(
    client: Client, container: Container, snapshot: Callable[..., Snapshot]
) -> Callable[[], tuple[Seeds, Snapshot]]:
    """Before each example: a tidy snapshot, with the seeded threads present."""
    current: list[Seeds] = []

    def before() -> tuple[Seeds, Snapshot]:
        taken = snapshot(tidy=True)
        if not current or not any(
            i["sk"] == "#META" and "#THREAD#" in i["pk"] for i in taken.items
        ):
            current[:] = [seed(client, container)]
            taken = snapshot()
        return current[0], taken

    return before


# -- no credentials ---------------------------------------------------------------------

authorizations = st.one_of(
    st.sampled_from(["", "Bearer abc", "Basic", "Basic ", "Basic %%%", "basic cGFyc2U="]),
    st.sampled_from(
        [
            basic_auth("wrong"),
            basic_auth(user="admin"),
            basic_auth(""),
            basic_auth("local-parse-secret "),  # a trailing space is another password
            "Basic " + base64.b64encode(b"parse:\xff\xfe").decode(),
            "Basic " + base64.b64encode(b"parse").decode(),  # no colon
        ]
    ),
    header_text.map(lambda t: "Basic " + t),
    header_text,
)
content_types = st.one_of(
    st.just("multipart/form-data; boundary=xYzZY"),
    st.sampled_from(
        [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            'multipart/form-data; boundary="a b"',
            "multipart/mixed; boundary=xYzZY",
            "application/x-www-form-urlencoded",
            "text/plain",
        ]
    ),
)


@budget(1.0)
@given(
    authorization=authorizations,
    body=st.one_of(st.binary(max_size=1024), st.just(b"--xYzZY--\r\n")),
    content_type=content_types,
    extra=st.dictionaries(
        st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), header_text, max_size=3
    ),
)
def test_posts_without_the_parse_credentials_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    authorization: str,
    body: bytes,
    content_type: str,
    extra: dict[str, str],
) -> None:
    logs.clear()
    before = snapshot(tidy=True)
    response = post_parse_body(
        client, body, content_type, authorization=authorization or "", headers=extra
    )
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    assert_clean_rejection(response, before, snapshot())
    assert response.status_code in (401, 415), response.body
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert security_lines(logs.records), "refused credentials must be logged (WARNING)"
        assert not any("local-parse-secret" in r.getMessage() for r in logs.records)


# -- garbage bodies, authenticated ------------------------------------------------------


@st.composite
def mangled_multipart(draw: st.DrawFn) -> tuple[bytes, str]:
    """A genuine-looking post cut short, with bytes flipped or the boundary changed."""
    body, content_type = multipart(
        {
            "from": JANA,
            "to": DEMO_SUPPORT,
            "text": draw(any_text),
            "envelope": json.dumps({"to": [DEMO_SUPPORT], "from": JANA}),
        },
        boundary="xYzZY",
    )
    how = draw(st.sampled_from(["truncate", "flip", "boundary", "random"]))
    if how == "truncate":
        body = body[: draw(st.integers(0, len(body)))]
    elif how == "flip":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif how == "boundary":
        content_type = "multipart/form-data; boundary=" + draw(
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80)
        )
    else:
        body = draw(st.binary(max_size=2048))
    return body, content_type


@budget(1.0)
@given(post=mangled_multipart())
@example(post=(b"", "multipart/form-data; boundary=xYzZY"))
@example(post=(b"--xYzZY\r\n\r\n--xYzZY--", "multipart/form-data; boundary=xYzZY"))
def test_authenticated_garbage_bodies_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    post: tuple[bytes, str],
) -> None:
    body, content_type = post
    logs.clear()
    before = snapshot(tidy=True)
    response = post_parse_body(client, body, content_type)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    if response.status_code != 200:
        assert_clean_rejection(response, before, snapshot())
    else:
        assert outcome_of(response) in CUSTOMER_OUTCOMES  # every mangled post is Jana's


# -- parsed mode: every field fuzzed ----------------------------------------------------


@st.composite
def parsed_posts(draw: st.DrawFn, seeds: Seeds) -> dict[str, Any]:
    sender = draw(
        mostly(
            st.sampled_from([JANA, *DEMO_AGENTS, ACME_AGENT, "petr@customer.test"]), junk_addresses
        )
    )
    display = draw(st.sampled_from(["", "Jana Nováková", '"Doe, J."', "=?utf-8?q?J=C3=A1?="]))
    from_header = f"{display} <{sender}>" if display else sender
    to = draw(
        mostly(
            st.sampled_from(
                [
                    DEMO_SUPPORT,
                    ACME_SUPPORT,
                    seeds.sms_reply,
                    seeds.email_reply,
                    seeds.acme_reply,
                    seeds.forged_reply,
                    "nobody@elsewhere.test",
                ]
            ),
            junk_addresses,
        )
    )
    message_id = draw(message_ids)
    fields: dict[str, Any] = {
        "headers": draw(mostly(header_blocks(message_id, from_header, to), any_text)),
        "from": from_header,
        "to": to,
        "envelope": draw(mostly(st.just(json.dumps({"to": [to], "from": sender})), envelopes)),
    }
    optional = {
        "subject": any_text,
        "text": st.one_of(
            any_text,
            st.sampled_from(
                [
                    "#close",
                    "#pending\nI will check.",
                    "#priority urgent\nOn it.",
                    "#priority bogus\nx",
                    "#frobnicate\nx",
                    "#note internal only",
                    "#snooze 4h",
                    "#assign me\nMine.",
                    "> only quoted\n",
                    "Thanks!\n\nOn Fri, Demo Store wrote:\n> Where is it?",
                ]
            ),
        ),
        "html": st.one_of(any_text, st.just("<p>Hello<br><script>x</script></p>")),
        "cc": junk_addresses,
        "SPF": spf_verdicts,
        "dkim": dkim_verdicts,
        "charsets": st.one_of(st.just('{"text":"utf-8"}'), any_text),
        "spam_score": header_text,
        "attachments": header_text,
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=len(optional))):
        fields[name] = draw(optional[name])
    for index, (filename, data, mime) in enumerate(draw(attachments), start=1):
        fields[f"attachment{index}"] = (filename, data, mime) if mime else (filename, data)
    return fields


def _is_reply_address(address: str) -> bool:
    return address.lower().endswith("@" + REPLY_DOMAIN)


@budget(2.0)
@given(data=st.data())
def test_fuzzed_parsed_mode_posts_are_stored_or_cleanly_refused(
    client: Client,
    seeded: Callable[[], tuple[Seeds, Snapshot]],
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    seeds, before = seeded()
    fields = data.draw(parsed_posts(seeds))
    logs.clear()
    response = post_parse_fields(client, fields)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    if response.status_code != 200:
        assert_clean_rejection(response, before, snapshot())
        return
    outcome = outcome_of(response)
    event(f"outcome {outcome.split(',')[0].split(':')[0]}")
    if not _is_reply_address(str(fields["to"])):
        assert outcome in CUSTOMER_OUTCOMES, outcome
    text = fields.get("text")
    assert_not_logged(logs.records, *([text] if isinstance(text, str) else []), JANA)


# -- raw mode: the whole MIME message fuzzed -------------------------------------------


@st.composite
def raw_messages(draw: st.DrawFn, seeds: Seeds) -> bytes:
    """A MIME message written out by hand, so that nothing here validates it: headers
    in any order and repeated, a declared charset that may lie, a transfer encoding that
    may not exist, attachments in a multipart/mixed; or bytes that are not MIME at all."""
    if draw(st.sampled_from([False] * 4 + [True])):
        return draw(st.binary(max_size=2048))
    sender = draw(mostly(st.sampled_from([JANA, *DEMO_AGENTS]), junk_addresses))
    to = draw(
        mostly(st.sampled_from([DEMO_SUPPORT, seeds.sms_reply, seeds.email_reply]), junk_addresses)
    )
    headers = [("From", sender), ("To", to), ("Message-ID", draw(message_ids))]
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=4)):
        headers.append((name, draw(header_values)))
    charset = draw(st.sampled_from(["utf-8", "iso-8859-2", "windows-1256", "us-ascii"]))
    text = draw(any_text)
    try:
        payload = text.encode(charset)
    except UnicodeEncodeError:
        payload = text.encode("utf-8")
    encoding = draw(st.sampled_from(["8bit", "base64", "quoted-printable", "x-junk"]))
    if encoding == "base64":
        payload = base64.encodebytes(payload)
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(payload)
    declared = draw(st.sampled_from([charset, charset, "x-unknown", "utf-7", ""]))
    body = (
        f"Content-Type: text/plain; charset={declared}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + payload
    files = draw(attachments)
    if files:
        parts = [body]
        for filename, data, mime in files:
            parts.append(
                f"Content-Type: {mime or 'application/octet-stream'}\r\n"
                f'Content-Disposition: attachment; filename="{filename}"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n".encode()
                + base64.encodebytes(data)
            )
        boundary = b"=_relaydesk_fuzz"
        body = (
            b'Content-Type: multipart/mixed; boundary="=_relaydesk_fuzz"\r\n\r\n'
            + b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
            + b"--"
            + boundary
            + b"--\r\n"
        )
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("utf-8") + b"MIME-Version: 1.0\r\n" + body


@budget(1.0)
@given(data=st.data())
def test_fuzzed_raw_mode_posts_are_stored_or_cleanly_refused(
    client: Client,
    seeded: Callable[[], tuple[Seeds, Snapshot]],
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    seeds, before = seeded()
    raw = data.draw(raw_messages(seeds))
    envelope_to = data.draw(st.sampled_from([DEMO_SUPPORT, seeds.sms_reply, "x@y.test"]))
    fields: dict[str, Any] = {"email": raw, "envelope": json.dumps({"to": [envelope_to]})}
    for name, strategy in [("SPF", spf_verdicts), ("dkim", dkim_verdicts)]:
        if data.draw(st.booleans()):
            fields[name] = data.draw(strategy)
    logs.clear()
    response = post_parse_fields(client, fields)
    event(f"HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    if response.status_code != 200:
        assert_clean_rejection(response, before, snapshot())
    else:
        event(f"outcome {outcome_of(response).split(',')[0].split(':')[0]}")


# -- reply addresses: who gets in -------------------------------------------------------


@budget(1.5)
@given(data=st.data())
def test_a_reply_address_admits_only_its_stores_authenticated_agents_or_its_customer(
    client: Client,
    seeded: Callable[[], tuple[Seeds, Snapshot]],
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    seeds, before = seeded()
    target = data.draw(st.sampled_from(["sms_reply", "email_reply", "acme_reply", "forged_reply"]))
    address = getattr(seeds, target)
    sender = data.draw(
        st.sampled_from(
            [*DEMO_AGENTS, ACME_AGENT, JANA, "mallory@evil.test", "ALEX@Demo.Relaydesk.TEST"]
        )
    )
    envelope_from = data.draw(st.sampled_from([sender, "bounce@evil.test", ""]))
    fields: dict[str, Any] = {
        "headers": f"Message-ID: {data.draw(message_ids)}\n",
        "from": f"Someone <{sender}>",
        "to": address,
        "subject": "Re: [Demo Store]",
        "text": data.draw(
            st.sampled_from(["On it, ships today.", "#pending\nChecking.", "#close"])
        ),
        "envelope": json.dumps({"to": [address], "from": envelope_from}),
    }
    # The verdicts are drawn as labels (whose domain signed, with what result), so that
    # whether an agent may get in follows from the labels (`mail_auth_fails`, the rule as
    # the README states it), not from the production reading under test.
    spf = data.draw(st.sampled_from([None, *SPF_WORDS]))
    dkim = data.draw(st.one_of(st.none(), st.just("none"), st.lists(signatures, max_size=3)))
    from_domain = sender.rpartition("@")[2].lower()
    if spf is not None:
        fields["SPF"] = spf
    if dkim is not None:
        fields["dkim"] = dkim if isinstance(dkim, str) else dkim_field(dkim, from_domain)
    logs.clear()
    response = post_parse_fields(client, fields)
    event(f"{target} from {sender.split('@')[0].lower()}: HTTP {response.status_code}")
    assert_no_crash(response, logs.records)

    lowered = sender.lower()
    store_agents = {
        "sms_reply": DEMO_AGENTS,
        "email_reply": DEMO_AGENTS,
        "acme_reply": (ACME_AGENT,),
        "forged_reply": (),
    }[target]
    spf_aligned = envelope_from.rpartition("@")[2].lower() == from_domain and "@" in envelope_from
    failed = mail_auth_fails(spf, spf_aligned, dkim)
    event(f"mail authentication {'failed' if failed else 'not failed'}")
    agent_ok = lowered in store_agents and not failed
    customer_ok = target == "email_reply" and lowered == JANA
    if agent_ok or customer_ok:
        assert response.status_code in (200, 400), response.body  # 400: e.g. nothing to send
    else:
        assert response.status_code == 403, response.body
        assert_clean_rejection(response, before, snapshot())
        assert security_lines(logs.records), "a refused reply must be logged (WARNING)"
    assert_not_logged(logs.records, JANA, "mallory@evil.test", "On it, ships today.")


SPF_WORDS = ("pass", "fail", "softfail", "neutral", "none", "temperror")
# Who signed: From's own domain, a subdomain of it (aligned, relaxed), or someone else.
signatures = st.tuples(
    st.sampled_from(["from", "subdomain", "other"]),
    st.sampled_from(["pass", "fail", "neutral", "temperror"]),
)


def dkim_field(signed: list[tuple[str, str]], from_domain: str) -> str:
    domains = {"from": from_domain, "subdomain": f"mail.{from_domain}", "other": "esp.evil.test"}
    return "{" + ", ".join(f"@{domains[who]} : {result}" for who, result in signed) + "}"


def mail_auth_fails(
    spf: str | None, spf_aligned: bool, dkim: str | list[tuple[str, str]] | None
) -> bool:
    """The rule (README, "SPF/DKIM"), on the drawn labels: a failure is reported verdicts
    with nothing that authenticates From (an aligned SPF pass, or a pass signed by From's
    domain or a subdomain of it) and at least one of: SPF fail/softfail, a failed
    signature of From's domain, or a pass for someone else."""
    signed = dkim if isinstance(dkim, list) else []
    ours = [result for who, result in signed if who != "other"]
    if spf is None and dkim is None:
        return False  # nothing reported
    if (spf == "pass" and spf_aligned) or "pass" in ours:
        return False  # authenticated
    someone_else_passed = spf == "pass" or any(result == "pass" for _, result in signed)
    return spf in ("fail", "softfail") or "fail" in ours or someone_else_passed


def test_the_mail_authentication_oracle_matches_the_readme_examples() -> None:
    """The test's own rule, on the README's cases, so that it is not a copy of nothing."""
    assert not mail_auth_fails(None, False, None)  # no verdicts: accepted as before
    assert not mail_auth_fails("none", False, "none")  # `none` everywhere
    assert mail_auth_fails("fail", True, None)  # SPF fail, no DKIM
    assert mail_auth_fails("softfail", True, "none")
    assert mail_auth_fails("pass", False, None)  # SPF only for an unaligned envelope
    assert mail_auth_fails(None, False, [("other", "pass")])  # signed by someone else
    assert mail_auth_fails(None, False, [("from", "fail")])  # From's own signature failed
    assert not mail_auth_fails("fail", False, [("subdomain", "pass")])  # forwarding
    assert not mail_auth_fails("neutral", False, [("other", "temperror")])  # inconclusive


# -- the signed webhook (a Parse security policy) --------------------------------------


@budget(1.0)
@given(
    skew=st.one_of(st.integers(-300, 300), st.integers(-86400 * 4, 86400 * 3)),
    tamper=st.sampled_from(["none", "none", "none", "body", "timestamp", "drop", "junk"]),
    text=any_text,
)
@example(skew=-301, tamper="none", text="a SendGrid retry of 5 minutes ago")
@example(skew=-73 * 3600, tamper="none", text="SendGrid's retry window, and an hour more")
@example(skew=-73 * 3600 - 1, tamper="none", text="replayed")
@example(skew=301, tamper="none", text="from the future")
def test_signed_posts_pass_only_within_the_retry_window_and_untouched(
    client: Client,
    signed_parse: Container,
    parse_signer: ParseSigner,
    clock: FakeClock,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    skew: int,
    tamper: str,
    text: str,
) -> None:
    import uuid

    body, content_type = multipart(
        {
            "headers": f"Message-ID: <{uuid.uuid4().hex}@customer.test>\n",
            "from": JANA,
            "to": DEMO_SUPPORT,
            "subject": "Order",
            "text": text,
            "envelope": json.dumps({"to": [DEMO_SUPPORT], "from": JANA}),
        }
    )
    stamp = int(clock.now.timestamp()) + skew
    headers = parse_signer.headers(body, stamp)
    if tamper == "body":
        body += b"\r\n"
    elif tamper == "timestamp":
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(stamp + 1)
    elif tamper == "drop":
        del headers["X-Twilio-Email-Event-Webhook-Signature"]
    elif tamper == "junk":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = "MEUCIQ" + "A" * 90
    logs.clear()
    before = snapshot(tidy=True)
    response = post_parse_body(client, body, content_type, headers=headers)
    # Signed at most 73 hours before (SendGrid retries for 72 and may not sign a retry
    # afresh), at most 5 minutes after our clock (skew).
    fresh = -73 * 3600 <= skew <= 300
    event(f"tamper={tamper} fresh={fresh}: HTTP {response.status_code}")
    assert_no_crash(response, logs.records)
    if tamper == "none" and fresh:
        assert response.status_code == 200, response.body
    else:
        assert response.status_code == 403, response.body
        assert_clean_rejection(response, before, snapshot())
        assert security_lines(logs.records)
