"""`make bench` (part 2): SQS requests per SLA timer, for timers of 15 minutes, 4 hours,
3 days and 14 days (the longest snooze), under SQS's real limits (15-minute delay, 12 hours
of visibility, which moto counts from the send).

The requests are real (boto3 against moto's server, counted with botocore's `before-call`
hook, through the app's own `run_timer_batch`); only the waiting is simulated: the
emulator's SQS runs on the bench's clock (`emulator.sqs_follows`), and where SQS keeps the
message hidden for N seconds (the DelaySeconds or the visibility we asked for) the clock
jumps N seconds. The floor is the naive design counted the same way: re-send the timer
every 15 minutes until it is due.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DELAYS = {
    "15 min": timedelta(minutes=15),
    "4 h": timedelta(hours=4),
    "3 days": timedelta(days=3),
    "14 days": timedelta(days=14),
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from relaydesk import emulator, sandbox
    from relaydesk.local_env import local_environment

    moto_server, aws_url = emulator.start_moto()
    sandbox_server, sandbox_url = sandbox.start_in_thread()
    os.environ.update(
        local_environment(app_url="http://x", aws_url=aws_url, sandbox_url=sandbox_url)
    )
    outputs = emulator.provision(aws_url)

    from chalicelib.composition import Container
    from chalicelib.flows.timers import run_timer_batch
    from chalicelib.queues import Timer, TimerKind
    from chalicelib.settings import Settings

    clock = Clock()
    c = Container(Settings.from_env(), clock=clock)
    queue_url = outputs["TimersQueueUrl"]
    sqs = c.timers._client
    calls: Counter[str] = Counter()
    intended: list[int] = []

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls[model.name] += 1
        if model.name == "SendMessage":
            intended.append(int(params.get("DelaySeconds", 0)))
        if model.name == "ChangeMessageVisibility":
            intended.append(int(params["VisibilityTimeout"]))

    sqs.meta.events.register("provide-client-params.sqs", count)

    def lambda_poll() -> None:
        """What Lambda's SQS poller does: receive, invoke, delete what did not fail."""
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
            }
            for m in response.get("Messages", [])
        ]
        failed = {f["itemIdentifier"] for f in run_timer_batch(c, records)["batchItemFailures"]}
        for m in response.get("Messages", []):
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    def measure(label: str, delay: timedelta) -> tuple[str, dict[str, int], int, int]:
        calls.clear()
        intended.clear()
        start = clock.now
        # A timer for a thread that does not exist: it waits the whole way and then finds
        # nothing to do, which is exactly the request pattern of a kept promise.
        timer = Timer(TimerKind.BREACH, "demo", "bench", 0, start + delay)
        c.timers.send_all([timer], now=start)
        while True:
            asked = len(intended)
            clock.now += timedelta(seconds=intended[-1])  # SQS keeps it hidden this long
            lambda_poll()
            if len(intended) == asked:  # neither held nor sent on: it was due, and deleted
                break
        assert clock.now >= timer.due_at, f"{label}: fired early"
        assert clock.now < timer.due_at + timedelta(minutes=1), f"{label}: fired late"
        naive = 3 * max(1, int(delay / timedelta(minutes=15)))  # send + receive + delete per hop
        clock.now = start
        return label, dict(calls), sum(calls.values()), naive

    with emulator.sqs_follows(clock):
        rows = [measure(label, delay) for label, delay in DELAYS.items()]

    sandbox_server.shutdown()
    moto_server.stop()
    print("## SLA timer: SQS requests per timer (measured)\n")
    print(
        "| delay | requests (by API) | total | re-send every 15 min (floor of the naive design) |"
    )
    print("|---|---|---|---|")
    for label, by_api, total, naive in rows:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(by_api.items()))
        print(f"| {label} | {detail} | {total} | {naive} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
