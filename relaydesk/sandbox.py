"""A local stand-in for the Twilio Messages API and the SendGrid v3 Mail Send API.

The real `twilio` and `sendgrid` SDKs are pointed at it (Twilio through
`chalicelib.channels.twilio_messaging.sandbox_http_client(base_url)`, SendGrid through
`SendGridAPIClient(api_key, host=f"{base_url}/sendgrid")`), so the app builds its requests
exactly as in production while nothing leaves the machine. Every accepted message is kept in
an outbox that people (`GET /outbox`) and tests (`Sandbox.entries()`) can inspect.

Routes:
    POST   /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json   (form-encoded)
    POST   /sendgrid/v3/mail/send                                   (JSON)
    GET    /outbox[?provider=&to=&channel=]     DELETE /outbox
    POST   /sandbox/faults {"provider", "status", "count"}     DELETE /sandbox/faults

Twilio's status callbacks: given the auth token (`Sandbox(status_token=...)`, set by the
local stack), a message sent with a `StatusCallback` URL is followed by Twilio-signed
callbacks, `sent` then `delivered`, or `undelivered` (error 30003) for +15005550030.
The signature is computed with twilio's own `RequestValidator`.

Standard library only (and twilio's validator for callbacks), so it runs anywhere the app's
tests run.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import logging
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

log = logging.getLogger(__name__)

PROVIDERS: Final = ("twilio", "sendgrid")
OUTBOX_FILTERS: Final = ("provider", "to", "channel")
TWILIO_API_VERSION: Final = "2010-04-01"
WHATSAPP_PREFIX: Final = "whatsapp:"
MAX_BODY_BYTES: Final = 10 * 1024 * 1024

# Twilio's magic test numbers: with test credentials Twilio answers these with an error.
TWILIO_MAGIC_TO: Final[dict[str, tuple[int, str]]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}

# Twilio calls back after the send has returned; so does the sandbox.
CALLBACK_DELAY_SECONDS: Final = 0.5
# Accepted, then reported undelivered by a status callback: the phone is out of reach.
TWILIO_UNDELIVERED_TO: Final = "+15005550030"

_TWILIO_MESSAGES_PATH = re.compile(
    rf"^/twilio/{TWILIO_API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$"
)
_SENDGRID_SEND_PATH: Final = "/sendgrid/v3/mail/send"


class BadRequest(Exception):
    """A request the sandbox cannot even parse; answered with 400."""


@dataclass
class _Fault:
    status: int
    remaining: int


class Sandbox:
    """The recorded outbox and the pending injected faults, shared by all request threads."""

    def __init__(self, status_token: str | None = None) -> None:
        self._lock = threading.Lock()
        self._outbox: list[dict[str, Any]] = []
        self._faults: dict[str, _Fault] = {}
        self.status_token = status_token
        """Signs status callbacks as Twilio would; None: no callbacks are made."""

    def entries(
        self, *, provider: str | None = None, to: str | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Copies of the recorded entries in arrival order, so callers cannot alter the record."""
        wanted = {"provider": provider, "to": to, "channel": channel}
        with self._lock:
            return [
                copy.deepcopy(entry)
                for entry in self._outbox
                if all(value is None or entry.get(key) == value for key, value in wanted.items())
            ]

    def record(self, entries: list[dict[str, Any]]) -> None:
        """Append entries together, so one email's recipients are never interleaved."""
        with self._lock:
            self._outbox.extend(copy.deepcopy(entries))

    def clear(self) -> None:
        """Forget the outbox (not the faults), as `DELETE /outbox` does."""
        with self._lock:
            self._outbox.clear()

    def set_fault(self, provider: str, status: int, count: int) -> None:
        """Make the next `count` requests to `provider` fail with `status`; replaces any old one."""
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}")
        with self._lock:
            self._faults[provider] = _Fault(status=status, remaining=count)

    def clear_faults(self, provider: str | None = None) -> None:
        """Drop pending faults, for one provider or all."""
        with self._lock:
            if provider is None:
                self._faults.clear()
            else:
                self._faults.pop(provider, None)

    def take_fault(self, provider: str) -> int | None:
        """Consume one pending fault atomically; the HTTP status to fail with, or None."""
        with self._lock:
            fault = self._faults.get(provider)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[provider]
            return fault.status


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _sendgrid_errors(*errors: tuple[str, str | None]) -> dict[str, Any]:
    return {
        "errors": [{"message": message, "field": field, "help": None} for message, field in errors]
    }


class SandboxHandler(BaseHTTPRequestHandler):
    """Routes one request; all state lives on the server's `Sandbox`."""

    server: SandboxServer
    server_version = "relaydesk-sandbox/1"

    # -- plumbing -------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean; the request line carries no credentials."""
        log.debug("%s - " + format, self.address_string(), *args)

    def _read_body(self) -> bytes:
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError as exc:
            raise BadRequest("Content-Length is not a number") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest("Content-Length out of range")
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        payload: Any = None,
        *,
        headers: dict[str, str] | None = None,
        body: bool = True,
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def _not_found(self, *, body: bool = True) -> None:
        self._send(
            HTTPStatus.NOT_FOUND,
            {"error": f"no route for {self.command} {urlsplit(self.path).path}"},
            body=body,
        )

    def _dispatch(self) -> None:
        """Read the whole body first: the connection must be left clean whatever we answer."""
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except BadRequest as exc:
            self.close_connection = True
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        twilio = _TWILIO_MESSAGES_PATH.match(path)
        if self.command == "POST" and twilio:
            self._twilio_send(twilio.group("account"), body)
        elif self.command == "POST" and path == _SENDGRID_SEND_PATH:
            self._sendgrid_send(body)
        elif path == "/outbox" and self.command in ("GET", "DELETE"):
            self._outbox()
        elif path == "/sandbox/faults" and self.command in ("POST", "DELETE"):
            self._faults(body)
        else:
            self._not_found()

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = _dispatch

    def do_HEAD(self) -> None:
        """Nothing is served by HEAD; answer 404 without a body, as HEAD requires."""
        self._not_found(body=False)

    def _injected_fault(self, provider: str) -> bool:
        """Answer with a pending fault if there is one; faults model an outage, before auth."""
        status = self.server.sandbox.take_fault(provider)
        if status is None:
            return False
        phrase = _phrase(status)
        if provider == "twilio":
            self._send(status, _twilio_error(status, 20000 + status, phrase))
        else:
            self._send(status, _sendgrid_errors((phrase, None)))
        return True

    # -- Twilio ---------------------------------------------------------------------------

    def _has_basic_auth(self) -> bool:
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not credentials.strip():
            return False
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, _ = decoded.partition(":")
        return bool(user and sep)

    def _twilio_send(self, account_sid: str, body: bytes) -> None:
        if self._injected_fault("twilio"):
            return
        if not self._has_basic_auth():
            self._send(
                HTTPStatus.UNAUTHORIZED,
                _twilio_error(401, 20003, "Authenticate"),
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
            return
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            self._send(400, _twilio_error(400, 21100, "Request body is not valid form data"))
            return
        sender = (form.get("From") or [""])[0]
        to = (form.get("To") or [""])[0]
        text = (form.get("Body") or [""])[0]
        media = [url for url in form.get("MediaUrl", []) if url]
        content_sid = (form.get("ContentSid") or [""])[0]
        content_variables = (form.get("ContentVariables") or [""])[0]
        callback = (form.get("StatusCallback") or [""])[0]
        problem: tuple[int, str] | None = None
        if not to:
            problem = (21604, "A 'To' phone number is required.")
        elif not sender:
            problem = (21603, "A 'From' phone number is required.")
        elif not text and not media and not content_sid:
            problem = (21602, "Message body is required.")
        else:
            magic = TWILIO_MAGIC_TO.get(to.removeprefix(WHATSAPP_PREFIX))
            if magic is not None:
                problem = (magic[0], magic[1].format(to=to))
        if problem is not None:
            self._send(HTTPStatus.BAD_REQUEST, _twilio_error(400, *problem))
            return

        sid = "SM" + uuid.uuid4().hex
        moment = _now()
        self.server.sandbox.record(
            [
                {
                    "provider": "twilio",
                    "channel": "whatsapp" if to.startswith(WHATSAPP_PREFIX) else "sms",
                    "from": sender,
                    "to": to,
                    "body": text,
                    "media_urls": media,
                    "content_sid": content_sid or None,
                    "content_variables": json.loads(content_variables)
                    if content_variables
                    else None,
                    "status_callback": callback or None,
                    "subject": None,
                    "text": None,
                    "html": None,
                    "reply_to": None,
                    "headers": {},
                    "time": _iso(moment),
                    "id": sid,
                }
            ]
        )
        token = self.server.sandbox.status_token
        if callback and token:
            threading.Thread(
                target=_status_callbacks,
                args=(callback, token, account_sid, sid, sender, to),
                daemon=True,
            ).start()
        uri = f"/{TWILIO_API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
        self._send(
            HTTPStatus.CREATED,
            {
                "sid": sid,
                "account_sid": account_sid,
                "messaging_service_sid": None,
                "from": sender,
                "to": to,
                "body": text,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": str(len(media)),
                "date_created": format_datetime(moment),
                "date_updated": format_datetime(moment),
                "date_sent": None,
                "uri": f"{uri}.json",
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "api_version": TWILIO_API_VERSION,
                "subresource_uris": {"media": f"{uri}/Media.json"},
            },
        )

    # -- SendGrid -------------------------------------------------------------------------

    def _sendgrid_send(self, body: bytes) -> None:
        if self._injected_fault("sendgrid"):
            return
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            self._send(
                HTTPStatus.UNAUTHORIZED,
                _sendgrid_errors(
                    ("The provided authorization grant is invalid, expired, or revoked", None)
                ),
            )
            return
        try:
            mail = _json_object(body)
        except BadRequest as exc:
            self._send(HTTPStatus.BAD_REQUEST, _sendgrid_errors((str(exc), None)))
            return
        errors = _validate_mail(mail)
        if errors:
            self._send(HTTPStatus.BAD_REQUEST, _sendgrid_errors(*errors))
            return

        message_id = uuid.uuid4().hex
        moment = _iso(_now())
        sender = mail["from"]
        reply_to = mail.get("reply_to")
        contents = {item["type"]: item["value"] for item in reversed(mail["content"])}
        text, html = contents.get("text/plain"), contents.get("text/html")
        entries: list[dict[str, Any]] = []
        for personalization in mail["personalizations"]:
            headers = {**(mail.get("headers") or {}), **(personalization.get("headers") or {})}
            for recipient in personalization["to"]:
                entries.append(
                    {
                        "provider": "sendgrid",
                        "channel": "email",
                        "from": sender["email"],
                        "from_name": sender.get("name") or None,
                        "to": recipient["email"],
                        "subject": personalization.get("subject") or mail.get("subject"),
                        "text": text,
                        "html": html,
                        "reply_to": reply_to.get("email") if isinstance(reply_to, dict) else None,
                        "headers": headers,
                        "body": text,
                        "media_urls": [],
                        "time": moment,
                        "id": f"{message_id}.{len(entries)}",
                    }
                )
        self.server.sandbox.record(entries)
        self._send(HTTPStatus.ACCEPTED, headers={"X-Message-Id": message_id})

    # -- sandbox control ------------------------------------------------------------------

    def _outbox(self) -> None:
        if self.command == "DELETE":
            self.server.sandbox.clear()
            self._send(HTTPStatus.NO_CONTENT)
            return
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        unknown = sorted(set(query) - set(OUTBOX_FILTERS))
        if unknown:
            # A mistyped filter silently matching everything would mislead whoever reads it.
            self._send(
                HTTPStatus.BAD_REQUEST,
                {"error": f"unknown filter(s): {', '.join(unknown)}; use {OUTBOX_FILTERS}"},
            )
            return
        filters = {key: values[0] for key, values in query.items()}
        self._send(HTTPStatus.OK, self.server.sandbox.entries(**filters))

    def _faults(self, body: bytes) -> None:
        sandbox = self.server.sandbox
        if self.command == "DELETE":
            sandbox.clear_faults()
            self._send(HTTPStatus.NO_CONTENT)
            return
        try:
            spec = _json_object(body)
        except BadRequest as exc:
            self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        provider = spec.get("provider")
        status, count = _whole(spec.get("status")), _whole(spec.get("count", 1))
        if provider not in PROVIDERS:
            problem = f"provider must be one of {', '.join(PROVIDERS)}"
        elif status is None or not 400 <= status <= 599:
            problem = "status must be an HTTP error status (400-599)"
        elif count is None or count < 1:
            problem = "count must be a positive whole number"
        else:
            sandbox.set_fault(provider, status, count)
            self._send(HTTPStatus.CREATED, {"provider": provider, "status": status, "count": count})
            return
        self._send(HTTPStatus.BAD_REQUEST, {"error": problem})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected fault"


def _whole(value: object) -> int | None:
    """The value if it is a JSON integer (not a bool, which Python counts as one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _validate_mail(mail: dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem at once, as SendGrid does, each naming its field."""
    errors: list[tuple[str, str]] = []
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            (
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        personalizations = []
    for i, personalization in enumerate(personalizations):
        if not isinstance(personalization, dict):
            errors.append(("Each personalization must be an object.", f"personalizations.{i}"))
            continue
        recipients = personalization.get("to")
        if not isinstance(recipients, list) or not recipients:
            errors.append(
                (
                    "The to array is required for all personalization objects, and must have "
                    "at least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                )
            )
            continue
        for j, recipient in enumerate(recipients):
            if not isinstance(recipient, dict) or not _nonempty_str(recipient.get("email")):
                errors.append(
                    (
                        "Each email address in the personalization block should have an email.",
                        f"personalizations.{i}.to.{j}.email",
                    )
                )
        if "headers" in personalization and not isinstance(personalization["headers"], dict):
            errors.append(("Headers must be an object.", f"personalizations.{i}.headers"))
    sender = mail.get("from")
    if not isinstance(sender, dict) or not _nonempty_str(sender.get("email")):
        errors.append(("The from object must be provided for every email send.", "from.email"))
    if not _nonempty_str(mail.get("subject")) and not (
        personalizations
        and all(isinstance(p, dict) and _nonempty_str(p.get("subject")) for p in personalizations)
    ):
        errors.append(
            (
                "The subject is required. You can get around this requirement if every "
                "personalization has a subject defined.",
                "subject",
            )
        )
    content = mail.get("content")
    if not isinstance(content, list) or not content:
        errors.append(("There must be at least one defined content block.", "content"))
    else:
        for i, item in enumerate(content):
            if not (
                isinstance(item, dict)
                and _nonempty_str(item.get("type"))
                and isinstance(item.get("value"), str)
                and item["value"]
            ):
                errors.append(
                    ("Each content block must have a type and a non-empty value.", f"content.{i}")
                )
    if "headers" in mail and not isinstance(mail["headers"], dict):
        errors.append(("Headers must be an object.", "headers"))
    reply_to = mail.get("reply_to")
    if reply_to is not None and (
        not isinstance(reply_to, dict) or not _nonempty_str(reply_to.get("email"))
    ):
        errors.append(("The reply_to email must be a valid email address.", "reply_to.email"))
    return errors


def _status_callbacks(
    url: str, token: str, account_sid: str, sid: str, sender: str, to: str
) -> None:
    """What Twilio does after accepting a message: signed POSTs as its status changes."""
    from urllib.request import Request, urlopen

    from twilio.request_validator import RequestValidator

    final = (
        {"MessageStatus": "undelivered", "ErrorCode": "30003"}
        if to.removeprefix(WHATSAPP_PREFIX) == TWILIO_UNDELIVERED_TO
        else {"MessageStatus": "delivered"}
    )
    for status in ({"MessageStatus": "sent"}, final):
        time.sleep(CALLBACK_DELAY_SECONDS)
        params = {
            "AccountSid": account_sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "From": sender,
            "To": to,
            "ApiVersion": TWILIO_API_VERSION,
            **status,
        }
        request = Request(  # noqa: S310 (the app's own URL, given by the app)
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
            },
        )
        try:
            with urlopen(request, timeout=10) as response:  # noqa: S310
                log.debug("status callback %s: HTTP %s", status, response.status)
        except OSError as exc:
            log.warning("status callback to %s failed: %s", url, exc)
            return


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the `Sandbox` its handlers record into."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of parallel sends (1 s SYN retries).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, SandboxHandler)


def make_server(host: str, port: int, sandbox: Sandbox | None = None) -> SandboxServer:
    """A bound, listening server (port 0 lets the OS pick), not yet serving."""
    return SandboxServer((host, port), sandbox if sandbox is not None else Sandbox())


def _base_url(server: SandboxServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, status_token: str | None = None
) -> tuple[SandboxServer, str]:
    """Serve from a daemon thread, for tests; stop with `shutdown()` then `server_close()`."""
    server = make_server(host, port, Sandbox(status_token))
    # A short poll interval keeps `shutdown()` (a per-test teardown) from costing 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="relaydesk-sandbox", daemon=True
    )
    thread.start()
    return server, _base_url(server)


def main(argv: list[str] | None = None) -> int:
    """Serve in the foreground until Ctrl-C, for trying the app by hand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8025, help="port to listen on (0: any)")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.host, args.port)
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    base = _base_url(server)
    print(f"relaydesk sandbox listening on {base} (outbox: {base}/outbox); Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
