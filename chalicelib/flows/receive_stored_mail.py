"""Inbound Parse posts too big for a Lambda payload: API Gateway wrote them whole to the
mail bucket (after the HTTP Basic check of `web.sendgrid_parse_authorizer`), S3 told the
inbox queue, and `on_parked` (app.py, flows/inbox.py) runs this for each of its events.

The same processing as the webhook: SendGrid's signature (when configured) as of when
the post was stored, the same parser, `route_email`. The attachments' bytes go to the
bucket, and the message lists them with their keys, so that the agents' notification
links each one. The post is deleted once it is taken or refused; an infrastructure
failure raises, and SQS delivers the event again (then its dead-letter queue).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from chalicelib import routes
from chalicelib.domain.errors import NotAuthenticated, RequestRejected, VerificationFailed
from chalicelib.domain.mail import InboundEmail
from chalicelib.domain.messages import Attachment
from chalicelib.flows.receive_email import route_email
from chalicelib.mail_files import RAW_PREFIX, attachment_key

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)

MAX_STORED_POST = 10 * 1024 * 1024
"""API Gateway's payload limit: no genuine stored post is larger."""


def stored_post_keys(sqs_body: str) -> list[str]:
    """The keys of the posts an S3 event notification (one SQS message) announces; none
    for S3's test event, or for anything that is not an ObjectCreated under raw/."""
    try:
        event = json.loads(sqs_body)
    except json.JSONDecodeError:
        log.warning("inbox queue: an S3 event that is not JSON, ignored")
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    keys = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith(
            "ObjectCreated"
        ):
            continue
        key = unquote_plus(str(record.get("s3", {}).get("object", {}).get("key", "")))
        if key.startswith(RAW_PREFIX):
            keys.append(key)
    return keys


def receive_stored_mail(c: Container, sqs_body: str) -> list[str]:
    """Every post one S3 event names; the outcome of each."""
    return [receive_stored_post(c, key) for key in stored_post_keys(sqs_body)]


def receive_stored_post(c: Container, key: str) -> str:
    post = c.mail_files.stored_post(key)
    if post is None:
        log.info("stored post already taken: key=%s", key)
        return "gone"
    stored: list[str] = []
    try:
        if len(post.body) > MAX_STORED_POST:  # not from API Gateway: recorded, not parsed
            from chalicelib.flows.refused_mail import record_too_large

            outcome = record_too_large(
                c,
                body=post.body,
                headers=post.headers,
                received_at=post.received_at,
                limit=MAX_STORED_POST,
                route=routes.SENDGRID_MAIL,
            )
            c.mail_files.delete(key)
            return outcome
        email, contents = c.sendgrid_stored_posts.receive_stored(
            post.body, post.headers, post.received_at
        )
        email = _with_stored_attachments(c, key, email, contents, stored)
        outcome = route_email(c, email)
    except RequestRejected as exc:
        security = isinstance(exc, NotAuthenticated | VerificationFailed)
        (log.warning if security else log.info)(
            "%sstored post refused: key=%s bytes=%d reason=%s",
            "security: " if security else "",
            key,
            len(post.body),
            exc,
        )
        for attachment in stored:
            c.mail_files.delete(attachment)
        outcome = "refused"
    c.mail_files.delete(key)
    log.info("stored post taken: key=%s bytes=%d outcome=%s", key, len(post.body), outcome)
    return outcome


def _with_stored_attachments(
    c: Container, key: str, email: InboundEmail, contents: tuple[bytes, ...], stored: list[str]
) -> InboundEmail:
    """The mail with each attachment's bytes put in the bucket and its key listed.
    Keys follow from the post's key and the attachment's place: a redelivery writes the
    same objects again, never new ones."""
    from dataclasses import replace

    listed: list[Attachment] = []
    for index, (attachment, data) in enumerate(zip(email.attachments, contents, strict=True)):
        where = attachment_key(key, index, attachment.filename)
        c.mail_files.put(where, data, attachment.content_type or "application/octet-stream")
        stored.append(where)
        listed.append(replace(attachment, key=where))
    return replace(email, attachments=tuple(listed))
