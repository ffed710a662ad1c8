"""The private bucket (the only S3 code): Inbound Parse posts that API Gateway wrote there
whole (too big for a Lambda payload), the attachments agents open by link, and the
voicemails we keep (Twilio's copy is deleted) with their transcripts.

Keys: `raw/<API Gateway request id>` for a post as received (its Content-Type and
SendGrid's signature headers in the object's metadata), `attachments/<post>/<n>/<name>`
for each attachment's bytes, `recordings/<store>/<RecordingSid>.wav` for a voicemail,
`transcripts/<store>/<RecordingSid>.json` for what Amazon Transcribe wrote of it. The
bucket's lifecycle rules expire them all (infra/template.yaml); a post is deleted as soon
as it has been taken or refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

RAW_PREFIX = "raw/"
ATTACHMENTS_PREFIX = "attachments/"
RECORDINGS_PREFIX = "recordings/"
TRANSCRIPTS_PREFIX = "transcripts/"
CONTENT_TYPE_METADATA = "content-type"
SIGNATURE_METADATA = "signature"
TIMESTAMP_METADATA = "timestamp"
"""Where API Gateway puts the post's Content-Type (its multipart boundary) and SendGrid's
two signature headers (x-amz-meta-*): see relaydesk/packaging.py, which declares the
route. The object itself is application/octet-stream: it is a body to parse, not a form
for anyone to submit (and moto's server would parse a multipart/form-data PUT as a form)."""

S3_CLIENT_LIMITS: dict[str, Any] = {
    "connect_timeout": 2,
    "read_timeout": 20,
    "retries": {"mode": "standard", "total_max_attempts": 3},
    "signature_version": "s3v4",
}
"""A job's budget (30 s) for a 10 MB object; SigV4 because presigned links need it."""

LINK_LIFETIME = timedelta(days=7)
"""How long an attachment's link in an agent's notification works: SigV4's maximum. A link
signed with a role's temporary credentials (Lambda's) stops working when they expire,
whichever comes first: README, "Large e-mails and attachments"."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MailFilesError(Exception):
    """S3 refused or did not answer: our infrastructure, so the job is retried."""


@dataclass(frozen=True)
class StoredPost:
    key: str
    body: bytes
    headers: dict[str, str]
    """The request headers API Gateway kept: content-type and SendGrid's signature pair,
    under the names the webhook reads them by."""
    received_at: datetime
    """When S3 stored it: the time the post reached us, for the signature's age."""


def attachment_key(post_key: str, index: int, filename: str) -> str:
    """Where an attachment of the post `post_key` goes: the post's id, its place, and a
    name safe in any URL (the real name goes in the link's Content-Disposition)."""
    post = post_key.removeprefix(RAW_PREFIX)
    safe = _UNSAFE.sub("_", filename).strip("._")[:100] or "file"
    return f"{ATTACHMENTS_PREFIX}{post}/{index}/{safe}"


class MailFiles:
    """The bucket, through a boto3 client built on first use (none on the webhook path)."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def stored_post(self, key: str) -> StoredPost | None:
        """The post at `key`; None when it is gone (taken already: a redelivered event)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self._client().get_object(Bucket=self.bucket, Key=key)
            body = got["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise MailFilesError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise MailFilesError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        metadata = {k.lower(): v for k, v in (got.get("Metadata") or {}).items()}
        from chalicelib.channels.sendgrid_inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER

        headers = {"content-type": metadata.get(CONTENT_TYPE_METADATA, "")}
        if signature := metadata.get(SIGNATURE_METADATA):
            headers[SIGNATURE_HEADER] = signature
        if timestamp := metadata.get(TIMESTAMP_METADATA):
            headers[TIMESTAMP_HEADER] = timestamp
        modified = got.get("LastModified")
        received = modified if isinstance(modified, datetime) else datetime.now(UTC)
        return StoredPost(key, body, headers, received.astimezone(UTC))

    def read(self, key: str) -> bytes | None:
        """The object's bytes; None when there is none at `key`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return bytes(self._client().get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise MailFilesError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise MailFilesError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise MailFilesError(f"cannot write s3://{self.bucket}/{key}: {exc}") from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise MailFilesError(f"cannot delete s3://{self.bucket}/{key}: {exc}") from exc

    def link(self, key: str, filename: str, lifetime: timedelta = LINK_LIFETIME) -> str:
        """A pre-signed GET of `key` that works for `lifetime` and downloads as `filename`.
        Signed locally: no request to S3."""
        disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
        url: str = self._client().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=int(lifetime.total_seconds()),
        )
        return url
