"""`make bench` (part 9): what the weekly report's counters add to a conversation, and what
one report costs.

One conversation of the demo store through the app's own handlers (Chalice's test client)
and the local workers, against moto's server over HTTP and the sandbox: a customer's SMS
(acknowledged), the agents' notification, an agent's reply that closes the thread, its
delivery, the survey and the customer's rating. It runs twice, once as shipped and once
with the counters switched off (`report_counts.counts_at` returning nothing: every write takes
its path without counters), and the emulator's recorder counts the AWS requests of each
step (bench/flows.py's Meter, which prices a transaction's item at 2 write units).

Then a week of such conversations, and the Monday schedule's run for the store
(`send_weekly_reports` at Monday 07:30 in Prague): its requests, the counters it reads, and
what a report costs on AWS. A report reads two weeks of counter items (14 days x 4 shards
at most) with one Query, whatever the store's traffic.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bench.flows import LAMBDA_MEMORY_GB, LOG_BYTES_PER_INVOCATION, PRICE, Meter
from bench.local import start_local_stack
from bench.report import Section, emit, table

PUBLIC_URL = "http://127.0.0.1:8000"
STEPS = (
    "SMS webhook, new thread",
    "answer job (acknowledgement, notification)",
    "agent reply webhook (#close)",
    "deliver job (answer, survey queued)",
    "deliver job (survey)",
    "SMS webhook, the rating",
    "retention jobs",
)
CONVERSATIONS_A_WEEK = 10


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Prague

    def __call__(self) -> datetime:
        return self.now


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    outputs = stack.outputs
    import base64

    import boto3
    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from urllib3 import encode_multipart_formdata

    from app import app, on_job
    from chalicelib.composition import Container, reset_container
    from chalicelib.domain import report_counts, tokens
    from chalicelib.flows.report import send_weekly_reports
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_PARSE_PASSWORD, LOCAL_TWILIO_AUTH_TOKEN
    from relaydesk.workers import QueueWorker

    clock = Clock()
    container = Container(Settings.from_env(), clock=clock)
    reset_container(container)
    meter = Meter(aws_url, stack.sandbox)
    jobs = QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], on_job)
    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    counts_at = report_counts.counts_at

    def sms(client: Client, sender: str, body: str) -> None:
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": "+15005550006"}
        params["Body"] = body
        signature = validator.compute_signature(PUBLIC_URL + "/webhooks/twilio/messaging", params)
        response = client.http.post(
            "/webhooks/twilio/messaging",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            body=urlencode(params),
        )
        assert response.status_code == 200, response.body

    def agent_reply(client: Client, sender: str) -> None:
        pointer = container.repository.customer("demo", sender)
        assert pointer is not None
        assert pointer.open_thread_id
        address = tokens.reply_address(
            container.reply_secret, "demo", pointer.open_thread_id, container.settings.reply_domain
        )
        fields = {
            "headers": f"Message-ID: <{uuid.uuid4().hex}@agent>\n",
            "from": "alex@demo.relaydesk.test",
            "to": address,
            "subject": "Re",
            "text": "#close\nIt is gift-wrapped now.",
        }
        body, content_type = encode_multipart_formdata(fields)
        auth = base64.b64encode(f"parse:{LOCAL_PARSE_PASSWORD}".encode()).decode()
        response = client.http.post(
            "/webhooks/sendgrid/inbound",
            headers={"Content-Type": content_type, "Authorization": f"Basic {auth}"},
            body=body,
        )
        assert response.status_code == 200, response.body

    def conversation(client: Client, sender: str, metered: bool) -> dict[str, dict[str, float]]:
        steps: dict[str, dict[str, float]] = {}

        def step(name: str, action: Any) -> None:
            if metered:
                meter.start()
            action()
            if metered:
                steps[name] = meter.stop()

        step(STEPS[0], lambda: sms(client, sender, "Can you gift-wrap my order, please?"))
        step(STEPS[1], jobs.poll_once)
        clock.now += timedelta(minutes=20)
        step(STEPS[2], lambda: agent_reply(client, sender))
        step(STEPS[3], jobs.poll_once)
        step(STEPS[4], jobs.poll_once)
        clock.now += timedelta(minutes=10)
        step(STEPS[5], lambda: sms(client, sender, "5"))
        step(STEPS[6], lambda: [jobs.poll_once() for _ in range(3)])
        return steps

    with emulator.sqs_follows(clock), Client(app) as client:
        conversation(client, "+420777100000", metered=False)  # warm-up: clients built once
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        with_counters = conversation(client, "+420777100001", metered=True)
        report_counts.counts_at = lambda *args, **kwargs: None
        without = conversation(client, "+420777100002", metered=True)
        report_counts.counts_at = counts_at
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        # A week: conversations on every weekday, then the Monday morning run.
        for n in range(CONVERSATIONS_A_WEEK):
            clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(
                days=n % 5, hours=n // 5
            )
            conversation(client, f"+4207772000{n:02d}", metered=False)
        clock.now = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # Monday 07:30 in Prague
        meter.start()
        started = time.perf_counter()
        assert send_weekly_reports(container) == ["demo"]
        seconds = time.perf_counter() - started
        scheduled = meter.stop()
        table_items = boto3.resource("dynamodb").Table("relaydesk").scan()["Items"]

    stack.stop()

    counter_items = [i for i in table_items if str(i["pk"]) == "demo#REPORT"]
    day_items = [i for i in counter_items if str(i["sk"]).startswith("DAY#")]
    item_bytes = [len(json.dumps(i, default=str)) for i in day_items]
    query_rru = max(1, -(-sum(item_bytes) // 4096))  # strongly consistent: 4 KB a unit

    columns = ["dynamodb requests", "dynamodb wru", "dynamodb rru", "sqs requests"]
    rows = []
    for name in STEPS:
        on, off = with_counters.get(name, {}), without.get(name, {})
        rows.append(
            [name] + [f"{on.get(c, 0):g} ({on.get(c, 0) - off.get(c, 0):+g})" for c in columns]
        )
    extra_wru = sum(
        with_counters[s].get("dynamodb wru", 0) - without[s].get("dynamodb wru", 0) for s in STEPS
    )
    total_wru = sum(with_counters[s].get("dynamodb wru", 0) for s in STEPS)
    extra_requests = sum(
        with_counters[s].get("dynamodb requests", 0) - without[s].get("dynamodb requests", 0)
        for s in STEPS
    )
    report_wru = scheduled.get("dynamodb wru", 0)
    report_rru = scheduled.get("dynamodb rru", 0) - 1 + query_rru  # the Query at its size
    per_report = (
        PRICE["lambda_request"]
        + seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"]
        + report_wru * PRICE["dynamodb_wru"]
        + report_rru * PRICE["dynamodb_rru"]
        + LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"]
    )
    idle_runs = 47  # the other hourly runs of Sunday and Monday (UTC): no store is due
    idle = idle_runs * (
        PRICE["lambda_request"]
        + 0.05 * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"]
        + LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"]
    )
    body = [
        (__doc__ or "").split("\n\n", 1)[1].strip(),
        "### What the counters add to one conversation (measured)",
        "Each cell: the step's requests or units with the counters, and (in brackets) the "
        "difference to the same step without them.",
        table(["step", *columns], rows),
        f"Per conversation of this shape the counters add **{extra_wru:g} write units** "
        f"({total_wru:g} in all, {extra_wru / total_wru:.0%}) and **{extra_requests:+g} "
        "requests**: each increment is one more item (2 write units) in a transaction that "
        "was there already: the inbound message's, the rating's, the survey's (its marker's), "
        "and a person's answer's delivery (message and thread). The SMS webhook stays at 2 "
        "DynamoDB requests and 1 SQS request. Not in this conversation: an automatic "
        "answer's delivery turns its single update into a three-item transaction (message, "
        "the thread's `counted` key, the day's counter: +5 write units); a breach timer's "
        "claim and an agent's `#close` with a resolution target running become two-item "
        "transactions (thread and counter: +3 each, once per promise); the notify-agents "
        "and acknowledgement jobs add nothing.",
        "### One weekly report (measured)",
        f"{CONVERSATIONS_A_WEEK} conversations on five days, then the Monday 07:30 run for "
        f"the demo store: {len(day_items)} counter items over the two weeks "
        f"({sum(item_bytes):,} bytes, at most {max(item_bytes, default=0):,} bytes each).",
        table(
            ["requests", "count"],
            [
                ["DynamoDB (claim, Query, sent)", f"{scheduled.get('dynamodb requests', 0):g}"],
                ["DynamoDB write units", f"{report_wru:g}"],
                [
                    "DynamoDB read units (the Query at its size)",
                    f"{report_rru:g}",
                ],
                ["SendGrid (the e-mail)", f"{scheduled.get('sendgrid calls', 0):g}"],
                ["SQS", f"{scheduled.get('sqs requests', 0):g}"],
            ],
        ),
        f"Cost of one store's report on AWS: **${per_report:.8f}** (one Lambda run of "
        f"{seconds * 1000:.0f} ms at 512 MB against the emulator, an upper bound, plus its "
        f"DynamoDB units; SendGrid's own price not included). The schedule's other "
        f"{idle_runs} hourly runs a week, in which no store is due, cost "
        f"${idle:.8f} together. A year of weekly reports for one store: "
        f"${52 * (per_report + idle):.6f}. The charts are table cells: no image library, "
        "so nothing is added to the package or to any cold start (Babel, already a "
        "dependency, formats the numbers; only the schedule imports it).",
    ]
    emit(
        Section(
            "Weekly report: the counters' cost per conversation, and one report's",
            "\n\n".join(body),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
