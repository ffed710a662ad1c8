"""`relaydesk`: run the local stack and drive it like Twilio and SendGrid would.

relaydesk stack                                  the local stack (what `make run` runs)
relaydesk simulate sms --from +420777123456 "Where is my order?"
relaydesk simulate whatsapp --from +420777123456 "Hi"
relaydesk simulate messenger --from 24680135792468 "Hi"      (instagram: the same, on Instagram)
relaydesk simulate call --from +420777123456 [--voicemail "Please call me back"] [--answer]
                                                 a call to the demo number, Twilio's part played
relaydesk simulate email --from jana@example.com --subject "Order 1042" "Where is it?"
                 [--attach photo.jpg ...]        attachments: posted to the S3 route
relaydesk simulate agent-reply "It ships today."  (replies to the latest notification)
relaydesk simulate shopify-event --order 1050 --status DELAYED [--event-id ID]
                                                 a signed Shopify webhook about a demo order
relaydesk simulate woo-event --order 1050 --status cancelled   the same from WooCommerce
relaydesk answers try demo --from +420777123456 "Where is my order?"
                                                 what automation would answer (a dry run)
relaydesk commerce subscribe demo [--url URL] [--dry-run]   the shop's webhooks to relaydesk
relaydesk providers sync [--stage STAGE] [--url URL] [--dry-run]
                                                 the Twilio numbers and SendGrid Inbound Parse
                                                 settings pointed at relaydesk
relaydesk outbox [--clear]                       what was sent through the sandbox
relaydesk customer export demo +420777123456     all held about a customer, as JSON (GDPR)
relaydesk customer erase demo +420777123456 --yes   erase it, keeping anonymous counts
relaydesk report demo [--week 2026-W48] [--html report.html | --csv dir | --mail]
                                                 the weekly report (text, HTML or CSV)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from xml.etree import ElementTree

import requests

from chalicelib import routes
from chalicelib.domain.voice import CALL_ENDED_DELAY_SECONDS
from relaydesk.local_env import (
    DEMO_AGENT,
    DEMO_INSTAGRAM_ID,
    DEMO_NUMBER,
    DEMO_PAGE_ID,
    DEMO_SHOPIFY_SHOP,
    DEMO_SUPPORT,
    DEMO_WOO_URL,
    LOCAL_META_APP_SECRET,
    LOCAL_PARSE_PASSWORD,
    LOCAL_PARSE_USER,
    LOCAL_SHOPIFY_WEBHOOK_SECRET,
    LOCAL_TWILIO_AUTH_TOKEN,
    LOCAL_WOO_WEBHOOK_SECRET,
    local_environment,
)

TWILIO_PATH = routes.TWILIO_MESSAGING
SENDGRID_PATH = routes.SENDGRID_INBOUND
MB = 1024 * 1024


def sign_twilio(auth_token: str, url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(auth_token).compute_signature(url, params))


def send_message(
    *,
    app_url: str,
    public_url: str,
    channel: str,
    sender: str,
    to: str,
    body: str,
    auth_token: str = LOCAL_TWILIO_AUTH_TOKEN,
    message_sid: str | None = None,
    profile_name: str | None = None,
) -> requests.Response:
    """A Twilio messaging webhook, signed as Twilio signs it."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    params = {
        "MessageSid": message_sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": prefix + sender,
        "To": prefix + to,
        "Body": body,
        "NumMedia": "0",
    }
    if channel == "whatsapp":
        params["ProfileName"] = profile_name or ""
        params["WaId"] = sender.lstrip("+")
    signature = sign_twilio(auth_token, public_url.rstrip("/") + TWILIO_PATH, params)
    return requests.post(
        app_url.rstrip("/") + TWILIO_PATH,
        data=params,
        headers={"X-Twilio-Signature": signature},
        timeout=30,
    )


def simulate_call(
    *,
    app_url: str,
    public_url: str,
    sandbox_url: str,
    caller: str,
    to: str,
    voicemail: str | None,
    answer: bool,
    caller_country: str,
    auth_token: str = LOCAL_TWILIO_AUTH_TOKEN,
    hang_up_early: bool = False,
) -> int:
    """A call as Twilio makes it (relaydesk/sandbox/twilio_voice.py): every step signed,
    each answer printed; 0 when every step was answered 2xx."""
    from relaydesk.sandbox.twilio_voice import play_call

    public = public_url.rstrip("/")

    def post(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        response = requests.post(
            app_url.rstrip("/") + url.removeprefix(public),
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=30,
        )
        return response.status_code, response.text

    steps = play_call(
        post,
        auth_token=auth_token,
        voice_url=public + routes.TWILIO_VOICE,
        fallback_url=public + routes.TWILIO_VOICE_FALLBACK,  # as `providers sync` sets it
        status_callback_url=public + routes.TWILIO_VOICE_STATUS,  # likewise
        hang_up_early=hang_up_early,
        sandbox_url=sandbox_url,
        caller=caller,
        number=to,
        voicemail=voicemail,
        answer_forward=answer,
        caller_country=caller_country,
    )
    for step in steps:
        print(f"{step.name}: HTTP {step.status}")
        print(step.body.strip(), flush=True)
    return 0 if steps and all(200 <= step.status < 300 for step in steps) else 1


def latest_notification(sandbox_url: str, agent: str | None) -> tuple[str, str]:
    """(agent, reply address) of the latest notification, to `agent` or to anyone:
    threads are assigned round-robin, so the latest may have gone to another agent."""
    outbox = requests.get(f"{sandbox_url}/outbox", params={"provider": "sendgrid"}, timeout=10)
    outbox.raise_for_status()
    for entry in reversed(outbox.json()):
        if entry.get("reply_to") and agent in (None, entry.get("to")):
            return str(entry["to"]), str(entry["reply_to"])
    raise SystemExit(f"no agent notification to {agent or 'any agent'} in the outbox yet")


def post_inbound_parse(
    app_url: str,
    fields: dict[str, str],
    password: str,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    path: str = SENDGRID_PATH,
) -> requests.Response:
    """A multipart post with HTTP Basic credentials, as SendGrid Inbound Parse sends it:
    text fields, then each attachment as a file part (parsed mode, not "Send Raw")."""
    parts: dict[str, Any] = {name: (None, value) for name, value in fields.items()}
    parts.update(files or {})
    return requests.post(
        app_url.rstrip("/") + path,
        files=parts,
        auth=(LOCAL_PARSE_USER, password),
        timeout=60,
    )


def attachment_parts(paths: list[str]) -> dict[str, tuple[str, bytes, str]]:
    """Files as Inbound Parse posts them: `attachment1`, `attachment2`, ... with their
    names and guessed types."""
    import mimetypes
    from pathlib import Path

    parts = {}
    for n, name in enumerate(paths, start=1):
        path = Path(name)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        parts[f"attachment{n}"] = (path.name, path.read_bytes(), kind)
    return parts


def mime_size(headers: list[str], text: str, files: dict[str, tuple[str, bytes, str]]) -> int:
    """The bytes of the mail as the customer's program sent it (MIME, attachments in
    base64): what a mailbox's size limit counts, about 4/3 of the files."""
    from email.message import EmailMessage

    message = EmailMessage()
    for line in headers:
        name, _, value = line.partition(": ")
        message[name] = value
    message.set_content(text)
    for filename, data, kind in files.values():
        main, _, sub = kind.partition("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return len(message.as_bytes())


def send_agent_reply(
    *,
    app_url: str,
    sender: str,
    to: str,
    text: str,
    quoted: str = "",
    password: str = LOCAL_PARSE_PASSWORD,
    message_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> requests.Response:
    """An Inbound Parse post (parsed mode), as SendGrid sends it for a reply e-mail."""
    message_id = message_id or f"<{uuid.uuid4().hex}@mail.example>"
    header_lines = [
        f"From: {sender}",
        f"To: {to}",
        "Subject: Re: your customer",
        f"Message-ID: {message_id}",
        *(f"{k}: {v}" for k, v in (extra_headers or {}).items()),
    ]
    body = text
    if quoted:
        body += "\n\nOn Mon, 23 Nov 2026 at 10:00, Demo Store wrote:\n" + "\n".join(
            f"> {line}" for line in quoted.splitlines()
        )
    fields = {
        "headers": "\n".join(header_lines) + "\n",
        "from": sender,
        "to": to,
        "subject": "Re: your customer",
        "text": body,
        "envelope": json.dumps({"to": [to], "from": sender}),
        "charsets": json.dumps({"text": "UTF-8", "from": "UTF-8", "to": "UTF-8"}),
        "SPF": "pass",
    }
    return post_inbound_parse(app_url, fields, password)


def send_customer_email(
    *,
    app_url: str,
    sender: str,
    to: str,
    subject: str,
    text: str,
    in_reply_to: str | None = None,
    password: str = LOCAL_PARSE_PASSWORD,
    attach: list[str] | None = None,
    path: str = SENDGRID_PATH,
    log: Callable[[str], None] | None = None,
) -> requests.Response:
    """A customer's e-mail to a store's support address, as Inbound Parse posts it, with
    the files `attach` names as its attachments, to the route `path`."""
    message_id = f"<{uuid.uuid4().hex}@customer.example>"
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    files = attachment_parts(attach or [])
    fields = {
        "headers": "\n".join(headers) + "\n",
        "from": sender,
        "to": to,
        "subject": subject,
        "text": text,
        "envelope": json.dumps({"to": [to], "from": sender}),
    }
    if files:
        fields["attachments"] = str(len(files))
        fields["attachment-info"] = json.dumps(
            {
                part: {"filename": name, "name": name, "type": kind}
                for part, (name, _, kind) in files.items()
            }
        )
        if log is not None:
            total = sum(len(data) for _, data, _ in files.values())
            log(
                f"mail of {mime_size(headers, text, files) / MB:.1f} MB as sent (MIME), "
                f"{len(files)} attachment(s) of {total / MB:.1f} MB, posted to {path}"
            )
    return post_inbound_parse(app_url, fields, password, files, path)


def twiml_messages(xml: str) -> list[str]:
    root = ElementTree.fromstring(xml)  # noqa: S314 - our own app's response
    return [m.text or "" for m in root.iter("Message")]


def _print_response(response: requests.Response, then: Callable[[], None] | None = None) -> int:
    """The webhook's answer; `then` runs when it acknowledged nothing in the response."""
    print(f"HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "")
    if "xml" in content_type and response.ok:
        messages = twiml_messages(response.text)
        print("acknowledgement: " + (messages[0] if messages else "(none)"), flush=True)
        if not messages and then is not None:
            then()
    else:
        print(response.text)
    return 0 if response.ok else 1


def print_job_reply(sandbox_url: str, customer: str, seen: int, wait: float) -> None:
    """A store that answers automatically replies from a job, by the provider's API: show
    what reaches the customer within `wait` seconds (the sandbox records it)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        entries = _sent_to(sandbox_url, customer)
        if len(entries) > seen:
            for entry in entries[seen:]:
                print(f"sent by the answer job: {entry['body']}")
            return
        time.sleep(0.25)
    print(f"nothing sent to {customer} within {wait:g} s (see `relaydesk outbox`)")


def _sent_to(sandbox_url: str, customer: str) -> list[dict[str, Any]]:
    try:
        response = requests.get(f"{sandbox_url}/outbox", params={"to": customer}, timeout=5)
        response.raise_for_status()
    except requests.RequestException:
        return []
    entries: list[dict[str, Any]] = response.json()
    return entries


def shopify_event(
    *, order: str, status: str, event_id: str | None = None, happened_at: str | None = None
) -> tuple[bytes, str, str]:
    """(body, topic, event id) of the webhook Shopify sends for this news about an order:
    a fulfillment event, or the order cancelled, or a refund."""
    from datetime import UTC, datetime

    from relaydesk.sandbox.shop_data import shopify_order_id

    order_id = shopify_order_id(order)
    at = happened_at or datetime.now(UTC).isoformat(timespec="seconds")
    if status == "CANCELLED":
        topic, payload = (
            "orders/cancelled",
            {"id": order_id, "name": f"#{order}", "cancelled_at": at},
        )
    elif status == "REFUNDED":
        topic, payload = "refunds/create", {"id": 1, "order_id": order_id, "created_at": at}
    else:
        topic = "fulfillment_events/create"
        payload = {
            "id": int(uuid.uuid4().int % 10**12),
            "fulfillment_id": 1,
            "order_id": order_id,
            "status": status.lower(),
            "happened_at": at,
        }
    return json.dumps(payload).encode(), topic, event_id or str(uuid.uuid4())


def tell_shop_news(sandbox_url: str | None, order: str, status: str) -> None:
    """The sandbox's shops learn the order's news first, so that the job re-reads it there
    (no sandbox: a real shop already knows)."""
    if sandbox_url:
        requests.post(
            f"{sandbox_url}/sandbox/shop/news", json={"order": order, "event": status}, timeout=10
        ).raise_for_status()


def send_shopify_event(
    *,
    app_url: str,
    sandbox_url: str | None,
    order: str,
    status: str,
    event_id: str | None = None,
    shop: str = DEMO_SHOPIFY_SHOP,
    secret: str = LOCAL_SHOPIFY_WEBHOOK_SECRET,
) -> requests.Response:
    """Tell the sandbox's shop the news first (so that the job re-reads it there), then post
    the webhook signed as Shopify signs it (a repeated `event_id` is a redelivery)."""
    from chalicelib.commerce.shopify_webhook import sign

    body, topic, event = shopify_event(order=order, status=status, event_id=event_id)
    tell_shop_news(sandbox_url, order, status)
    return requests.post(
        app_url.rstrip("/") + routes.SHOPIFY,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": sign(secret, body),
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Event-Id": event,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2025-07",
        },
        timeout=30,
    )


def send_woo_event(
    *,
    app_url: str,
    sandbox_url: str | None,
    order: str,
    status: str,
    delivery_id: str | None = None,
    site: str = DEMO_WOO_URL,
    secret: str = LOCAL_WOO_WEBHOOK_SECRET,
) -> requests.Response:
    """The sandbox shop's news first, then WooCommerce's `order.updated`, signed as it signs
    it (a repeated `delivery_id` is a redelivery)."""
    from datetime import UTC, datetime

    from chalicelib.commerce.signing import sign

    tell_shop_news(sandbox_url, order, status)
    woo_status = {"CANCELLED": "cancelled", "REFUNDED": "refunded"}.get(status, "completed")
    payload = {
        "id": int(order),
        "number": order,
        "status": woo_status,
        "date_modified_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    body = json.dumps(payload).encode()
    return requests.post(
        app_url.rstrip("/") + routes.WOOCOMMERCE,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": f"{site}/",
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "updated",
            "X-WC-Webhook-Signature": sign(secret, body),
            "X-WC-Webhook-ID": "1",
            "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
        },
        timeout=30,
    )


def print_proactive(sandbox_url: str, order: str, seen: int, wait: float) -> None:
    """What the proactive job sent to the order's customer within `wait` seconds."""
    from relaydesk.sandbox.shop_data import demo_orders

    customer = next((o.customer for o in demo_orders() if o.number == order), None)
    if customer is None:
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        entries = _sent_to(sandbox_url, customer.phone) + _sent_to(sandbox_url, customer.email)
        if len(entries) > seen:
            for entry in entries[seen:]:
                text = entry.get("body") or entry.get("text")
                print(f"sent by the proactive job to {entry['to']}: {text}")
            return
        time.sleep(0.25)
    print(f"nothing sent to {customer.name} within {wait:g} s (see `relaydesk outbox`)")


def customer_command(
    action: str,
    store_id: str,
    address: str,
    *,
    endpoint_url: str | None,
    stage: str | None,
    yes: bool,
) -> int:
    """`relaydesk customer export|erase <store> <address>` (chalicelib/store/privacy.py).

    Against AWS with the environment's credentials (`--stage` names the SSM prefix of the
    reply-token secret, which keys the erased address's pseudonym); `--endpoint-url` for
    the local stack, whose settings and secrets are fixed (relaydesk/local_env.py)."""
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        for name, value in local_environment(
            app_url="", aws_url=endpoint_url, sandbox_url=""
        ).items():
            os.environ.setdefault(name, value)
    if stage and not os.environ.get("SECRETS_SSM_PREFIX"):
        os.environ["SECRETS_SSM_PREFIX"] = f"/relaydesk/{stage}"
    # Imported only now: the table's endpoint is read when the models are defined.
    from chalicelib.settings import ConfigError, Secrets, Settings
    from chalicelib.store import privacy
    from chalicelib.store.repository import StorageError
    from chalicelib.stores import load_stores

    try:
        stores = load_stores(Settings.from_env().stores_file)
        if stores.by_id(store_id) is None:
            known = ", ".join(s.store_id for s in stores.all())
            print(f"no store {store_id!r} is configured (known: {known})", file=sys.stderr)
            return 2
        if action == "export":
            document = privacy.export_customer(store_id, address)
            print(json.dumps(document, indent=2, ensure_ascii=False))
            return 0
        if not yes:
            threads = privacy.find_threads(store_id, address)
            print(
                f"would erase {address} from store {store_id}: {len(threads)} thread(s) and "
                "the customer's profile; run again with --yes to do it",
                file=sys.stderr,
            )
            return 1
        key = Secrets(os.environ).get("REPLY_TOKEN_SECRET").encode()
        erasure = privacy.erase_customer(
            store_id, address, key=key, delete_file=_mail_file_deleter()
        )
        print(json.dumps(vars(erasure), indent=2))
        return 0
    except (ConfigError, StorageError) as exc:
        print(f"relaydesk customer {action}: {exc}", file=sys.stderr)
        return 1


def simulate_meta(args: argparse.Namespace) -> int:
    """A customer's Messenger or Instagram message, posted and signed as Meta posts it."""
    from relaydesk.sandbox.meta import messaging_event, post_webhook, webhook_body

    instagram = args.kind == "instagram"
    account = args.to or (DEMO_INSTAGRAM_ID if instagram else DEMO_PAGE_ID)
    image = [{"type": "image", "payload": {"url": args.image}}] if args.image else []
    sender, recipient = (account, args.sender) if args.echo else (args.sender, account)
    event = messaging_event(
        sender=sender,
        recipient=recipient,
        text=args.body,
        mid=args.mid,
        attachments=image,
        echo=args.echo,
    )
    body = webhook_body("instagram" if instagram else "page", {account: [event]})
    seen = len(_sent_to(args.sandbox_url, args.sender))
    status, text = post_webhook(args.app_url.rstrip("/") + routes.META, body, args.secret)
    print(f"HTTP {status}")
    print(text)
    if 200 <= status < 300 and args.wait and not args.echo:
        print_job_reply(args.sandbox_url, args.sender, seen, args.wait)
    return 0 if 200 <= status < 300 else 1


def _mail_file_deleter() -> Callable[[str], None] | None:
    """Deletes an attachment from the mail bucket (MAIL_BUCKET), when one is set."""
    bucket = os.environ.get("MAIL_BUCKET")
    if not bucket:
        return None
    import boto3

    from chalicelib.mail_files import MailFiles

    client = boto3.client("s3")
    return MailFiles(lambda: client, bucket).delete


def add_conversation_args(
    parser: argparse.ArgumentParser,
    sender: str,
    to: str | None,
    to_help: str,
    wait: str | None = None,
) -> None:
    """`simulate`'s common options: who writes (`--from`, required), to which of the store's
    addresses (`--to`), and how long to wait for what comes back (`--wait`; None: none)."""
    parser.add_argument("--from", dest="sender", required=True, help=sender)
    parser.add_argument("--to", default=to, help=to_help)
    if wait is not None:
        parser.add_argument("--wait", type=float, default=5.0, help=wait)


def add_order_event_args(
    parser: argparse.ArgumentParser, events: Sequence[str], *, secret: str, what: str
) -> None:
    """The shops' `simulate` options: which demo order, its news, the signing secret."""
    parser.add_argument("--order", required=True, help="the demo order's number, e.g. 1050")
    parser.add_argument("--status", required=True, type=str.upper, choices=events)
    parser.add_argument("--secret", default=secret, help=what)
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the message")


def main(argv: list[str] | None = None) -> int:
    from relaydesk.sandbox.control import NEWS_EVENTS  # the news the sandbox's shops can tell

    parser = argparse.ArgumentParser(
        prog="relaydesk", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--app-url", default=os.environ.get("RELAYDESK_APP_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--sandbox-url", default=os.environ.get("RELAYDESK_SANDBOX_URL", "http://127.0.0.1:8025")
    )
    commands = parser.add_subparsers(dest="command", required=True)

    stack = commands.add_parser("stack", help="run the local stack in the foreground")
    stack.add_argument("--app-port", type=int, default=8000)
    stack.add_argument("--sandbox-port", type=int, default=8025)
    stack.add_argument("--aws-port", type=int, default=5050)

    simulate = commands.add_parser("simulate", help="send a signed provider webhook")
    kinds = simulate.add_subparsers(dest="kind", required=True)
    for channel in ("sms", "whatsapp"):
        sub = kinds.add_parser(channel, help=f"a customer's {channel} message")
        wait = "seconds to wait for a reply sent by a job (0: do not wait)"
        add_conversation_args(sub, "customer's number", DEMO_NUMBER, "the store's number", wait)
        sub.add_argument("--sid", default=None, help="MessageSid (repeat one to redeliver)")
        sub.add_argument("--name", default=None, help="WhatsApp profile name")
        sub.add_argument("body")
    for channel in ("messenger", "instagram"):
        sub = kinds.add_parser(channel, help=f"a customer's {channel} message, signed as Meta")
        page = "the page's / Instagram account's id"
        add_conversation_args(
            sub, "customer's scoped id", None, page, "seconds to wait for a reply"
        )
        sub.add_argument("--mid", default=None, help="message id (repeat one to redeliver)")
        sub.add_argument("--image", default=None, help="an image attachment's URL")
        sub.add_argument("--echo", action="store_true", help="the page's own message (echo)")
        sub.add_argument("--secret", default=LOCAL_META_APP_SECRET, help="the app secret")
        sub.add_argument("body")
    call = kinds.add_parser("call", help="a call to the store's number (Twilio Voice)")
    wait = "seconds to wait for the text back"
    add_conversation_args(call, "the caller's number", DEMO_NUMBER, "the store's number", wait)
    call.add_argument(
        "--voicemail", default=None, help="what the caller says after the tone (none: hangs up)"
    )
    call.add_argument("--answer", action="store_true", help="someone takes the forwarded call")
    call.add_argument(
        "--hang-up-early",
        action="store_true",
        help="the caller hangs up during the greeting (a missed call, from the StatusCallback)",
    )
    call.add_argument("--country", default="CZ", help="the caller's country (FromCountry)")
    email = kinds.add_parser("email", help="a customer's e-mail to the support address")
    add_conversation_args(email, "customer's address", DEMO_SUPPORT, "the store's support address")
    email.add_argument("--subject", required=True)
    email.add_argument("--in-reply-to", default=None, help="Message-ID this mail answers")
    email.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach FILE (again for more); such a mail goes to the large-mail route",
    )
    email.add_argument(
        "--route",
        choices=("auto", "webhook", "s3"),
        default="auto",
        help=f"webhook: {SENDGRID_PATH} (up to ~4.5 MB); s3: {routes.SENDGRID_MAIL} "
        "(up to 10 MB, stored in S3 then taken); auto: s3 when there are attachments",
    )
    email.add_argument("text")
    reply = kinds.add_parser("agent-reply", help="an agent's e-mail reply via Inbound Parse")
    reply.add_argument(
        "--from", dest="sender", default=None, help="agent (default: the latest one notified)"
    )
    reply.add_argument(
        "--to", default=None, help="reply+<token>@... address (default: latest notification's)"
    )
    reply.add_argument(
        "--quote",
        default="Where is my order?",
        help="text to quote below the reply, as mail clients do",
    )
    reply.add_argument("text")
    shopify = kinds.add_parser("shopify-event", help="a Shopify webhook about a demo order")
    add_order_event_args(
        shopify, NEWS_EVENTS, secret=LOCAL_SHOPIFY_WEBHOOK_SECRET, what="the app secret"
    )
    shopify.add_argument("--event-id", default=None, help="X-Shopify-Event-Id (repeat: redelivery)")
    shopify.add_argument("--shop", default=DEMO_SHOPIFY_SHOP)
    woo = kinds.add_parser("woo-event", help="a WooCommerce order.updated about a demo order")
    add_order_event_args(
        woo, NEWS_EVENTS, secret=LOCAL_WOO_WEBHOOK_SECRET, what="the webhook's secret"
    )
    woo.add_argument("--delivery-id", default=None, help="X-WC-Webhook-Delivery-ID")

    for name, text in (("secrets", "store the secrets in SSM"), ("deploy", "deploy to AWS")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--stage", default="dev")
        sub.add_argument("--endpoint-url", default=None, help="an emulator instead of AWS")
        if name == "deploy":
            sub.add_argument("--alarm-email", default="")
            sub.add_argument("--dry-run", action="store_true")

    packaged = commands.add_parser("package", help="chalice package + timer batch failures")
    packaged.add_argument("out", help="output folder for sam.json and the deployment zip")
    packaged.add_argument("--stage", default="dev")

    answers = commands.add_parser("answers", help="automatic answers")
    tries = answers.add_subparsers(dest="action", required=True)
    attempt = tries.add_parser(
        "try", help="what automation would do with a message: nothing is stored or sent"
    )
    attempt.add_argument("store", help="store id, e.g. demo")
    attempt.add_argument("message", nargs="?", help="the customer's message (or --batch)")
    attempt.add_argument("--from", dest="sender", default=None, help="phone or e-mail address")
    attempt.add_argument("--channel", choices=("sms", "whatsapp", "email"), default=None)
    attempt.add_argument("--json", action="store_true", help="one JSON object per message")
    attempt.add_argument(
        "--batch", action="store_true", help="messages one per line on standard input"
    )
    attempt.add_argument("--stage", default=None, help="AWS: the SSM prefix /relaydesk/<stage>")

    commerce = commands.add_parser("commerce", help="the stores' shops")
    shop_actions = commerce.add_subparsers(dest="action", required=True)
    subscribe = shop_actions.add_parser(
        "subscribe", help="subscribe relaydesk to the store's shop's webhooks"
    )
    subscribe.add_argument("store", help="store id, e.g. demo")
    subscribe.add_argument("--url", default=None, help="relaydesk's base URL (PUBLIC_BASE_URL)")
    subscribe.add_argument("--dry-run", action="store_true", help="show, change nothing")
    subscribe.add_argument("--stage", default=None, help="AWS: the SSM prefix /relaydesk/<stage>")

    providers = commands.add_parser("providers", help="Twilio's and SendGrid's settings")
    provider_actions = providers.add_subparsers(dest="action", required=True)
    sync = provider_actions.add_parser(
        "sync", help="point the stores' Twilio numbers and SendGrid Inbound Parse at relaydesk"
    )
    sync.add_argument("--stage", default=None, help="AWS: the deployed stage (else: local)")
    sync.add_argument("--url", default=None, help="relaydesk's base URL (default: derived)")
    sync.add_argument("--dry-run", action="store_true", help="print the differences only")
    sync.add_argument("--endpoint-url", default=None, help="an emulator instead of AWS")

    outbox = commands.add_parser("outbox", help="print what the sandbox recorded")
    outbox.add_argument("--clear", action="store_true")

    gdpr = commands.add_parser("customer", help="GDPR: export or erase a customer's data")
    actions = gdpr.add_subparsers(dest="action", required=True)
    for action, text in (
        ("export", "print everything held about the customer as JSON"),
        ("erase", "erase bodies and contact details, keep anonymous counts"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("store", help="store id, e.g. demo")
        sub.add_argument("address", help="phone number (SMS and WhatsApp) or e-mail address")
        sub.add_argument("--endpoint-url", default=None, help="the local stack's emulator")
        sub.add_argument("--stage", default=None, help="SSM prefix /relaydesk/<stage>")
        if action == "erase":
            sub.add_argument("--yes", action="store_true", help="really erase")

    weekly = commands.add_parser("report", help="the weekly report of a store")
    weekly.add_argument("store", help="store id, e.g. demo")
    weekly.add_argument("--week", default=None, help="YYYY-Www (default: this week so far)")
    written = weekly.add_mutually_exclusive_group()
    written.add_argument("--html", default=None, help="write the e-mail's HTML to this file")
    written.add_argument("--csv", dest="csv_dir", default=None, help="write CSV tables here")
    written.add_argument("--mail", action="store_true", help="e-mail it to report_to now")
    weekly.add_argument("--endpoint-url", default=None, help="the local stack's emulator")
    weekly.add_argument("--stage", default=None, help="SSM prefix /relaydesk/<stage>")

    args, rest = parser.parse_known_args(argv)
    if args.command == "answers" and args.message is None and len(rest) == 1:
        # argparse gives an optional positional its chance before the options that
        # follow the store (`try demo --from +420… "message"`): the message is left over.
        args.message, rest = rest[0], []
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "stack":
        from relaydesk.stack import run

        run(app_port=args.app_port, sandbox_port=args.sandbox_port, aws_port=args.aws_port)
        return 0
    if args.command == "secrets":
        from relaydesk.deploy import secrets_command

        return secrets_command(args.stage, args.endpoint_url)
    if args.command == "deploy":
        from relaydesk.deploy import deploy_command

        return deploy_command(
            args.stage,
            args.alarm_email,
            args.endpoint_url,
            args.dry_run,
            sandbox_url=args.sandbox_url if args.endpoint_url else None,
        )
    if args.command == "package":
        from pathlib import Path

        from relaydesk.packaging import package

        return package(Path(args.out), args.stage)
    if args.command == "report":
        from relaydesk.report_cli import report_command

        return report_command(
            args.store,
            week=args.week,
            html=args.html,
            csv_dir=args.csv_dir,
            mail=args.mail,
            endpoint_url=args.endpoint_url,
            stage=args.stage,
            sandbox_url=args.sandbox_url,
        )
    if args.command == "customer":
        return customer_command(
            args.action,
            args.store,
            args.address,
            endpoint_url=args.endpoint_url,
            stage=args.stage,
            yes=getattr(args, "yes", False),
        )
    if args.command == "commerce":
        from relaydesk.commerce_subscribe import subscribe_command

        return subscribe_command(args, sandbox_url=args.sandbox_url)
    if args.command == "providers":
        from relaydesk.providers_sync import sync_command

        return sync_command(args)
    if args.command == "answers":
        from relaydesk.answers_try import try_command

        return try_command(args, sandbox_url=args.sandbox_url)
    if args.command == "outbox":
        if args.clear:
            requests.delete(f"{args.sandbox_url}/outbox", timeout=10).raise_for_status()
            return 0
        response = requests.get(f"{args.sandbox_url}/outbox", timeout=10)
        print(json.dumps(response.json(), indent=2, ensure_ascii=False))
        return 0
    public_url = os.environ.get("PUBLIC_BASE_URL", args.app_url)
    if args.kind in ("shopify-event", "woo-event"):
        from relaydesk.sandbox.shop_data import demo_orders

        who = next((o.customer for o in demo_orders() if o.number == args.order), None)
        seen = (
            len(_sent_to(args.sandbox_url, who.phone) + _sent_to(args.sandbox_url, who.email))
            if who
            else 0
        )
        response = (
            send_shopify_event(
                app_url=args.app_url,
                sandbox_url=args.sandbox_url,
                order=args.order,
                status=args.status,
                event_id=args.event_id,
                shop=args.shop,
                secret=args.secret,
            )
            if args.kind == "shopify-event"
            else send_woo_event(
                app_url=args.app_url,
                sandbox_url=args.sandbox_url,
                order=args.order,
                status=args.status,
                delivery_id=args.delivery_id,
                secret=args.secret,
            )
        )
        code = _print_response(response)
        if response.ok and args.wait:
            print_proactive(args.sandbox_url, args.order, seen, args.wait)
        return code
    if args.kind in ("sms", "whatsapp"):
        number = args.sender.removeprefix("whatsapp:")
        recipient = f"whatsapp:{number}" if args.kind == "whatsapp" else number  # as recorded
        seen = len(_sent_to(args.sandbox_url, recipient))
        return _print_response(
            send_message(
                app_url=args.app_url,
                public_url=public_url,
                channel=args.kind,
                sender=args.sender,
                to=args.to,
                body=args.body,
                message_sid=args.sid,
                profile_name=args.name,
            ),
            then=lambda: print_job_reply(args.sandbox_url, recipient, seen, args.wait),
        )
    if args.kind in ("messenger", "instagram"):
        return simulate_meta(args)
    if args.kind == "call":
        seen = len(_sent_to(args.sandbox_url, args.sender))
        code = simulate_call(
            app_url=args.app_url,
            public_url=public_url,
            sandbox_url=args.sandbox_url,
            caller=args.sender,
            to=args.to,
            voicemail=args.voicemail,
            answer=args.answer,
            caller_country=args.country,
            hang_up_early=args.hang_up_early,
        )
        if code == 0 and args.hang_up_early:
            print(
                f"the missed call is stored {CALL_ENDED_DELAY_SECONDS} s after the call ended "
                "(time for a recording callback); its text back follows"
            )
        elif code == 0 and args.wait and not args.answer:
            print_job_reply(args.sandbox_url, args.sender, seen, args.wait)
        return code
    if args.kind == "email":
        via_s3 = args.route == "s3" or (args.route == "auto" and bool(args.attach))
        response = send_customer_email(
            app_url=args.app_url,
            sender=args.sender,
            to=args.to,
            subject=args.subject,
            text=args.text,
            in_reply_to=args.in_reply_to,
            attach=args.attach,
            path=routes.SENDGRID_MAIL if via_s3 else SENDGRID_PATH,
            log=print,
        )
        if via_s3 and response.ok:
            print("stored; the mail worker takes it from S3 (see `relaydesk outbox`)")
        return _print_response(response)
    if args.to:
        sender, to = args.sender or DEMO_AGENT, args.to
    else:
        sender, to = latest_notification(args.sandbox_url, args.sender)
    result: Any = send_agent_reply(
        app_url=args.app_url, sender=sender, to=to, text=args.text, quoted=args.quote
    )
    return _print_response(result)


if __name__ == "__main__":
    sys.exit(main())
