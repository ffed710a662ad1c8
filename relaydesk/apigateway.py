"""The one API Gateway route that is not a Lambda, played locally: routes.SENDGRID_MAIL.

In AWS (relaydesk/packaging.py declares it) API Gateway calls app.py's token authorizer
with the Authorization header, refuses the request (401 without the header, 403 when the
policy does not allow it), refuses a body over 10 MB (413), and otherwise PUTs the body
to the mail bucket under raw/<request id> as application/octet-stream, its Content-Type
and SendGrid's signature headers as the object's metadata, with the data stack's
MailUploadRole. Here the same steps run in the local server's request handler, against
moto's S3, whose event notification then reaches the inbox queue and `on_parked` as in AWS.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from collections.abc import Callable
from typing import Any

from chalice.local import ChaliceRequestHandler

from chalicelib import routes
from chalicelib.channels.sendgrid_inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER
from chalicelib.mail_files import (
    CONTENT_TYPE_METADATA,
    RAW_PREFIX,
    SIGNATURE_METADATA,
    TIMESTAMP_METADATA,
)

API_GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024
UPLOAD_USER_AGENT = "relaydesk-local-apigateway"
"""Marks the emulated MailUploadRole's requests in moto's recording (tests/e2e: the stage
policy test checks them against that role, not against the functions' policy)."""
METHOD_ARN = f"arn:aws:execute-api:us-east-1:123456789012:local/api/POST{routes.SENDGRID_MAIL}"

Authorizer = Callable[[dict[str, Any], Any], dict[str, Any]]


def allowed(policy: dict[str, Any], method_arn: str) -> bool:
    """Whether an authorizer's IAM policy allows `method_arn`, as API Gateway reads it."""
    allow = deny = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            allow |= statement.get("Effect") == "Allow"
            deny |= statement.get("Effect") == "Deny"
    return allow and not deny


def store_post(
    s3: Any, bucket: str, authorizer: Authorizer, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str]]:
    """API Gateway's answer to one POST of routes.SENDGRID_MAIL: (status, JSON body)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    token = lowered.get("authorization")
    if not token:
        return 401, {"message": "Unauthorized"}
    event = {"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}
    try:
        policy = authorizer(event, None)
    except Exception:
        return 500, {"message": None}  # type: ignore[dict-item]  # API Gateway's own body
    if not allowed(policy, METHOD_ARN):
        return 403, {"Message": "User is not authorized to access this resource"}
    if len(body) > API_GATEWAY_PAYLOAD_LIMIT:
        return 413, {"message": "Request Too Long"}
    metadata = {
        name: value
        for name, value in (
            (CONTENT_TYPE_METADATA, lowered.get("content-type")),
            (SIGNATURE_METADATA, lowered.get(SIGNATURE_HEADER)),
            (TIMESTAMP_METADATA, lowered.get(TIMESTAMP_HEADER)),
        )
        if value
    }
    try:
        s3.put_object(
            Bucket=bucket,
            Key=f"{RAW_PREFIX}{uuid.uuid4()}",
            Body=body,
            ContentType="application/octet-stream",
            Metadata=metadata,
        )
    except Exception:
        return 503, {"error": "temporarily unavailable, please retry"}
    return 200, {"status": "received"}


def upload_client() -> Any:
    """An S3 client whose requests moto's recording tells apart (UPLOAD_USER_AGENT)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(user_agent_extra=UPLOAD_USER_AGENT))


def handler_class(bucket: str, authorizer: Authorizer) -> type[ChaliceRequestHandler]:
    """The local server's request handler, with routes.SENDGRID_MAIL played as above."""
    s3 = upload_client()

    class Handler(ChaliceRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != routes.SENDGRID_MAIL:
                super().do_POST()
                return
            length = int(self.headers.get("content-length", "0"))
            if length > API_GATEWAY_PAYLOAD_LIMIT:
                self.rfile.read(length)  # read it all, as API Gateway would, then refuse
                status, answer = 413, {"message": "Request Too Long"}
            else:
                body = self.rfile.read(length) if length else b""
                status, answer = store_post(s3, bucket, authorizer, dict(self.headers), body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
