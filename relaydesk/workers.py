"""Local SQS workers: poll the emulated queue and call the exact handler Lambda calls.

`chalice local` runs no SQS handlers; these workers build the same event Lambda's SQS
event source builds and call the app's `on_job`. A job that raises stays on the queue
and comes back (locally after a short backoff rather than the full visibility timeout),
until the queue's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


def lambda_sqs_event(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "",
            }
        ]
    }


def _reported_failed(result: Any, message_id: str) -> bool:
    failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
    return any(f.get("itemIdentifier") == message_id for f in failures)


class QueueWorker(threading.Thread):
    def __init__(
        self, sqs: Any, queue_url: str, handler: Handler, *, retry_backoff_seconds: int = 2
    ) -> None:
        super().__init__(daemon=True, name=f"worker:{queue_url.rsplit('/', 1)[-1]}")
        self._sqs = sqs
        self.queue_url = queue_url
        self._handler = handler
        self._backoff = retry_backoff_seconds
        self._stop = threading.Event()
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                log.exception("local worker could not poll %s", self.queue_url)
                self._stop.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Handle what is on the queue now; the number of jobs that succeeded."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        done = 0
        for message in response.get("Messages", []):
            try:
                result = self._handler(lambda_sqs_event(message, self._queue_arn), None)
                if _reported_failed(result, message["MessageId"]):
                    continue  # kept on the queue, as Lambda does with ReportBatchItemFailures
            except Exception as exc:
                log.warning("job failed, it will be retried: %s", exc)
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._backoff,
                )
                continue
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            done += 1
        return done


_RATE = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> int | None:
    """`rate(5 minutes)` in seconds; None for anything else (cron is not played locally)."""
    inner = expression.strip()
    if not (inner.startswith("rate(") and inner.endswith(")")):
        return None
    amount, _, unit = inner[5:-1].strip().partition(" ")
    if not amount.isdigit() or unit.strip() not in _RATE:
        return None
    return int(amount) * _RATE[unit.strip()]


class ScheduledRules(threading.Thread):
    """EventBridge's scheduled rules, played against the emulator: every `rate(...)` rule
    of the template that targets an SQS queue sends its `Input` there on time (moto keeps
    the rules but never fires them). The first send is one period after the start."""

    def __init__(self, events: Any, sqs: Any) -> None:
        super().__init__(daemon=True, name="scheduled-rules")
        self._sqs = sqs
        self._stop = threading.Event()
        self.rules: list[tuple[int, str, str]] = []
        """(period in seconds, queue URL, message body)"""
        for rule in events.list_rules().get("Rules", []):
            period = rate_seconds(rule.get("ScheduleExpression") or "")
            if period is None or rule.get("State") != "ENABLED":
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                arn = str(target.get("Arn", ""))
                if arn.startswith("arn:aws:sqs:"):
                    url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                    self.rules.append((period, url, str(target.get("Input") or "{}")))

    def stop(self) -> None:
        self._stop.set()

    def fire(self, period: int, queue_url: str, body: str) -> None:
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    def run(self) -> None:
        import time

        started = time.monotonic()
        fired = [0] * len(self.rules)
        while not self._stop.wait(1):
            elapsed = time.monotonic() - started
            for i, (period, url, body) in enumerate(self.rules):
                if elapsed >= (fired[i] + 1) * period:
                    fired[i] += 1
                    try:
                        self.fire(period, url, body)
                    except Exception:
                        log.exception("scheduled rule could not send to %s", url)
