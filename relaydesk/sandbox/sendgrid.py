"""SendGrid's v3 Mail Send API, as the `sendgrid` SDK sees it.

    POST /sendgrid/v3/mail/send   (JSON, Bearer auth)

The SDK is pointed here with `SendGridAPIClient(api_key, host=f"{base_url}/sendgrid")`. A mail
is checked as SendGrid checks it (every problem at once), then recorded once per recipient.
"""

from __future__ import annotations

import time
import uuid
from http import HTTPStatus
from typing import Any, Final

from relaydesk.sandbox.base import (
    BadRequest,
    Entry,
    Fault,
    Outbox,
    Request,
    Response,
    iso,
    json_object,
    now,
    phrase,
)

_SEND_PATH: Final = "/sendgrid/v3/mail/send"


def sendgrid_errors(*errors: tuple[str, str | None]) -> dict[str, Any]:
    """SendGrid's error body: (message, field) pairs, which the SDK raises as HTTP errors."""
    return {
        "errors": [{"message": message, "field": field, "help": None} for message, field in errors]
    }


class SendGrid:
    """The Provider for SendGrid's Mail Send API."""

    name: Final = "sendgrid"
    title: Final = "the SendGrid v3 Mail Send API"

    def handles(self, request: Request) -> bool:
        return request.method == "POST" and request.path == _SEND_PATH

    def fault(self, fault: Fault) -> Response:
        """SendGrid's error body (e.g. 401 "Maximum credits exceeded"); `retry_after`: the
        rate-limit headers of a 429, the refresh period ending that many seconds from now."""
        headers = {}
        if fault.retry_after is not None:
            headers = {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + fault.retry_after),
            }
        message = fault.message or phrase(fault.status)
        return Response(fault.status, sendgrid_errors((message, None)), headers=headers)

    def handle(self, request: Request, outbox: Outbox) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            return Response(
                HTTPStatus.UNAUTHORIZED,
                sendgrid_errors(
                    ("The provided authorization grant is invalid, expired, or revoked", None)
                ),
            )
        try:
            mail = json_object(request.body)
        except BadRequest as exc:
            return Response(HTTPStatus.BAD_REQUEST, sendgrid_errors((str(exc), None)))
        errors = validate_mail(mail)
        if errors:
            return Response(HTTPStatus.BAD_REQUEST, sendgrid_errors(*errors))

        message_id = uuid.uuid4().hex
        outbox.record(_entries(mail, message_id, iso(now())))
        return Response(HTTPStatus.ACCEPTED, headers={"X-Message-Id": message_id})


def _entries(mail: dict[str, Any], message_id: str, moment: str) -> list[Entry]:
    """One entry per recipient, recorded together so that one mail is never interleaved."""
    sender = mail["from"]
    reply_to = mail.get("reply_to")
    contents = {item["type"]: item["value"] for item in reversed(mail["content"])}
    text, html = contents.get("text/plain"), contents.get("text/html")
    entries: list[Entry] = []
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
    return entries


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate_mail(mail: dict[str, Any]) -> list[tuple[str, str]]:
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
