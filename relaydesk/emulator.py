"""The emulated AWS side of the local stack: moto's server, provisioned from infra/."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

STACK_NAME = "relaydesk"


def start_moto(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    # The local stack needs no alarms; moto's CloudFormation skips them, noisily.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    wsgi = server._server
    assert wsgi is not None  # start() waits until the server exists
    wsgi.app = PresignedUrlsExpire(DynamoDBOneAtATime(wsgi.app))
    atomic_dynamodb()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def atomic_dynamodb(install: Callable[[Any, str, Any], None] = setattr) -> None:
    """DynamoDB applies each request (a transaction included) atomically. moto's backend
    does not under concurrent requests: a transaction checks its conditions and writes in
    separate steps, and a cancelled one restores a copy of the whole table taken before it
    began, wiping writes made meanwhile. One lock around the backend's requests gives the
    emulator DynamoDB's guarantee, no more (`install` is `setattr`, or a test's
    `monkeypatch.setattr`; installing twice changes nothing).

    Under the lock, moto runs every transaction itself and decides every condition with
    its own code: nothing here judges a condition. Only moto's rollback is replaced: its
    copy of the whole table before each transaction costs time in proportion to the table
    (a burst of new conversations on a table that holds a day of the local stack's work
    queued requests behind it past the clients' read timeouts, as 503s). Instead, the items
    the transaction names are kept (a transaction writes no other item), and when moto
    cancels it they are put back as they were (or deleted, if they did not exist), then
    moto's own exception is raised (tests/reliability/test_storms.py checks this rollback).
    Anything else runs unchanged."""
    from moto.dynamodb import models as moto_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "_relaydesk_atomic", False):
        return
    lock = threading.RLock()
    namespace = vars(moto_models)
    real_copy = namespace["copy"]

    class _NoTableCopy:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else real_copy.deepcopy(value, memo)

    for name in (
        "transact_write_items",
        "put_item",
        "update_item",
        "delete_item",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
    ):
        real = getattr(DynamoDBBackend, name, None)
        if real is None:
            continue

        def locked(*args: Any, __real: Any = real, __name: str = name, **kwargs: Any) -> Any:
            with lock:
                if __name != "transact_write_items":
                    return __real(*args, **kwargs)
                kept = _named_items(*args, **kwargs)
                if kept is None:  # moto refuses it before writing anything; let it say so
                    return __real(*args, **kwargs)
                namespace["copy"] = _NoTableCopy
                try:
                    return __real(*args, **kwargs)
                except Exception:
                    _put_back(args[0], kept)
                    raise
                finally:
                    namespace["copy"] = real_copy

        locked._relaydesk_atomic = True  # type: ignore[attr-defined]
        install(DynamoDBBackend, name, locked)


def _named_items(
    backend: Any, transact_items: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]] | None:
    """(table, key, attributes before or None) of every item the transaction names; None
    when its shape is one moto refuses before any write (checked by moto all the same)."""
    kept = []
    for entry in transact_items:
        if len(entry) != 1:
            return None
        kind, op = next(iter(entry.items()))
        if kind not in ("ConditionCheck", "Put", "Delete", "Update"):
            return None
        table = backend.get_table(op["TableName"])
        if kind == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        current = backend.get_item(op["TableName"], key)
        kept.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
    return kept


def _put_back(backend: Any, kept: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> None:
    """Undo what a cancelled transaction wrote before moto found a failed condition."""
    for table_name, key, attributes in kept:
        if attributes is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attributes)


class DynamoDBOneAtATime:
    """moto's DynamoDB is not safe under concurrent requests: a transaction deep-copies the
    table for its rollback while another request writes to it ("dictionary changed size
    during iteration", a 500, and the webhook's 503). DynamoDB itself is, so the emulator
    takes its DynamoDB requests one at a time; SQS (whose long polls would hold a lock for
    seconds) and the rest stay concurrent."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            # The body is produced inside the lock too: moto's responses are built eagerly,
            # but a lazy iterable would otherwise escape it.
            return list(self._app(environ, start_response))


class PresignedUrlsExpire:
    """S3 refuses a pre-signed URL once its X-Amz-Expires seconds after X-Amz-Date have
    passed (403 AccessDenied, "Request has expired"); moto serves it forever. This plays
    S3's check in front of moto, so that an attachment's link expires locally as in AWS."""

    def __init__(self, app: Any, clock: Callable[[], datetime] | None = None) -> None:
        self._app = app
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from urllib.parse import parse_qs

        query = parse_qs(environ.get("QUERY_STRING", ""))
        signed, lifetime = query.get("X-Amz-Date", [""])[0], query.get("X-Amz-Expires", [""])[0]
        if signed and lifetime.isdigit():
            from datetime import UTC, timedelta

            now = self._clock() if self._clock else datetime.now(UTC)
            try:
                start = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                start = None
            if start is None or now > start + timedelta(seconds=int(lifetime)):
                body = (
                    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                    b"<Message>Request has expired</Message></Error>"
                )
                start_response(
                    "403 Forbidden",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
                )
                return [body]
        return self._app(environ, start_response)


def provision(endpoint_url: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Create infra/template.yaml as a CloudFormation stack on the emulator; its outputs."""
    from relaydesk.deploy import deploy_stack

    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    outputs = deploy_stack(cloudformation, STACK_NAME, parameters or {})
    configure_mail_bucket(boto3.client("s3", endpoint_url=endpoint_url), outputs, parameters or {})
    return outputs


def mail_bucket_configuration(
    outputs: dict[str, str], parameters: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template's MailBucket lifecycle rules and event notifications, in the S3 API's
    shape (moto's CloudFormation creates the bucket but ignores both): (lifecycle,
    notifications). Read from infra/template.yaml, so the local bucket is the deployed one."""
    from cfnlint.decode.cfn_yaml import load

    from relaydesk.deploy import TEMPLATE

    template = load(str(TEMPLATE))
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values = {**defaults, **parameters}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and "Ref" in value:
            return values[value["Ref"]]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return outputs[f"{resource}{attribute}"]
        return value

    properties = template["Resources"]["MailBucket"]["Properties"]
    rules = []
    for rule in properties["LifecycleConfiguration"]["Rules"]:
        converted: dict[str, Any] = {
            "ID": rule["Id"],
            "Status": rule["Status"],
            "Filter": {"Prefix": rule.get("Prefix", "")},
        }
        if "ExpirationInDays" in rule:
            converted["Expiration"] = {"Days": int(resolve(rule["ExpirationInDays"]))}
        if "AbortIncompleteMultipartUpload" in rule:
            converted["AbortIncompleteMultipartUpload"] = dict(
                rule["AbortIncompleteMultipartUpload"]
            )
        rules.append(converted)
    queues = [
        {
            "QueueArn": resolve(queue["Queue"]),
            "Events": [queue["Event"]],
            "Filter": {"Key": {"FilterRules": list(queue["Filter"]["S3Key"]["Rules"])}},
        }
        for queue in properties["NotificationConfiguration"]["QueueConfigurations"]
    ]
    return {"Rules": rules}, {"QueueConfigurations": queues}


def configure_mail_bucket(s3: Any, outputs: dict[str, str], parameters: dict[str, str]) -> None:
    """The template's bucket settings, then the s3:TestEvent that S3 (and moto) sends to
    the inbox queue when its notification is set up is taken off it: in AWS it comes
    once, at the first deploy, and on_parked ignores it (flows/inbox.py); here every
    provisioning would leave one in front of the parked requests that tests count."""
    lifecycle, notifications = mail_bucket_configuration(outputs, parameters)
    bucket = outputs["MailBucketName"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notifications)
    sqs = boto3.client("sqs", endpoint_url=s3.meta.endpoint_url)
    queue = outputs["InboxQueueUrl"]
    found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    for message in found.get("Messages", []):
        if '"s3:TestEvent"' in message["Body"]:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def reset(endpoint_url: str) -> None:
    """Forget every emulated resource (moto's own reset API)."""
    import requests

    requests.post(f"{endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


@contextmanager
def sqs_follows(clock: Callable[[], datetime]) -> Iterator[None]:
    """Run the in-process emulator's SQS on `clock` (plus the real seconds that pass, so
    that long polls still end): delays, visibility and SQS's 12-hour limit keep their real
    values, and a test or bench moves through days of waiting by moving its clock."""
    import time

    from moto.sqs import models

    started = time.monotonic()

    def now() -> float:
        return clock().timestamp() + (time.monotonic() - started)

    real_unix_time = models.unix_time  # type: ignore[attr-defined]
    real_unix_time_millis = models.unix_time_millis  # type: ignore[attr-defined]

    def unix_time(dt: datetime | None = None) -> float:
        return now() if dt is None else float(real_unix_time(dt))

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000

    models.unix_time = unix_time  # type: ignore[attr-defined]
    models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    try:
        yield
    finally:
        models.unix_time = real_unix_time  # type: ignore[attr-defined]
        models.unix_time_millis = real_unix_time_millis  # type: ignore[attr-defined]
