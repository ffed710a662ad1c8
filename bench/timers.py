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

import math
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.flows import PRICE
from bench.local import start_local_stack
from bench.report import Section, Target, emit, table
from chalicelib.queues import HOLD_MARGIN_SECONDS, MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS

ROOT = Path(__file__).resolve().parent.parent
DELAYS = {
    "15 min": timedelta(minutes=15),
    "4 h": timedelta(hours=4),
    "3 days": timedelta(days=3),
    "14 days": timedelta(days=14),
}
MAX_DELAY = timedelta(seconds=MAX_DELAY_SECONDS)
VISIBILITY_CAP = timedelta(seconds=MAX_VISIBILITY_SECONDS)
MESSAGE_SPAN = VISIBILITY_CAP - timedelta(seconds=HOLD_MARGIN_SECONDS)
"""The longest one message waits: its delay and a hold, within the cap counted from the send."""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def main() -> int:
    stack = start_local_stack("http://x")
    outputs = stack.outputs
    from chalicelib.composition import Container
    from chalicelib.flows.timers import run_timer_batch
    from chalicelib.queues import Timer, TimerKind
    from chalicelib.settings import Settings
    from relaydesk import emulator

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

    stack.stop()
    emit(
        render([Measured(label, DELAYS[label], by_api, naive) for label, by_api, _, naive in rows])
    )
    return 0


@dataclass(frozen=True)
class Measured:
    label: str
    delay: timedelta
    by_api: dict[str, int]
    naive: int

    @property
    def total(self) -> int:
        return sum(self.by_api.values())

    @property
    def per_timer(self) -> int:
        """Without GetQueueUrl, which a Lambda container pays once, not per timer."""
        return self.total - self.by_api.get("GetQueueUrl", 0)


def expected(delay: timedelta) -> int:
    """The design's count: m messages, each sent, delivered twice (held, then carried on
    or fired) and deleted; a timer within one delay is never held."""
    messages = math.ceil(delay / MESSAGE_SPAN)
    return 5 * messages - (2 if delay <= MAX_DELAY else 0)


METHOD = """\
How a timer waits (`chalicelib/flows/timers.py`, `JobQueue.wait_longer` in
`chalicelib/queues.py`): it is sent with `DelaySeconds` up to SQS's maximum ({max_delay}); if
it arrives early, the handler keeps it invisible for the rest of the wait with one
`ChangeMessageVisibility` and reports it as a batch item failure so that Lambda does not
delete it. SQS caps a message's total visibility at {cap} from its receipt (and refuses
more); the allowance is counted from the send (never later than the receipt; moto counts from
the send too) less a margin, so one message waits at most {span}. When it comes back still
early, a fresh copy is sent and the old one deleted. When it is due it acts (or does nothing,
if the promise was kept) and Lambda deletes it.

So, for a delay D: m = ceil(D / {span}) messages, each sent once (the first send shared by
all timers of one promise, one `SendMessageBatch`), delivered twice (held, then carried on
or fired) and deleted once: 5 m requests, less a hold and a delivery when D is within one
delay. Every message is received at most twice, so the timers queue's `maxReceiveCount` is
left whole to real failures (`tests/integration/test_long_timers.py` checks a 6-day promise
and a 14-day snooze end to end).

Measured: real SQS calls on the emulator, with SQS's real limits, through the app's own
`run_timer_batch`, counted with botocore hooks; only the waiting is simulated (the
emulator's SQS runs on the bench's clock, which jumps by the `DelaySeconds` or
`VisibilityTimeout` asked for). The naive floor re-sends the timer every 15 minutes until it
is due (send, receive, delete per hop). GetQueueUrl is paid once per Lambda container, not
per timer: it is left out of "per timer".
"""


def hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def render(rows: list[Measured]) -> Section:
    price = PRICE["sqs_request"]
    body = [
        METHOD.format(
            max_delay=f"{int(MAX_DELAY.total_seconds() // 60)} minutes",
            cap=hours(VISIBILITY_CAP),
            span=hours(MESSAGE_SPAN),
        ),
        table(
            (
                "delay",
                "requests (by API)",
                "total",
                "per timer",
                "by the design's count",
                "re-send every 15 min (naive floor)",
                f"SQS cost per timer (${price * 1e6:.2f} per million)",
            ),
            (
                (
                    r.label,
                    ", ".join(f"{k} {v}" for k, v in sorted(r.by_api.items())),
                    r.total,
                    r.per_timer,
                    expected(r.delay),
                    r.naive,
                    f"${r.per_timer * price:.7f}",
                )
                for r in rows
            ),
        ),
    ]
    targets = tuple(
        Target(
            f"{r.label}: SQS requests per timer as designed (5 per message)",
            str(r.per_timer),
            str(expected(r.delay)),
            r.per_timer <= expected(r.delay),
        )
        for r in rows
    )
    return Section(
        "SLA timers: SQS requests per timer, whatever its delay", "\n\n".join(body), targets
    )


if __name__ == "__main__":
    sys.exit(main())
