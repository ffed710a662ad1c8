"""`make bench` (part 3): AWS and provider requests per flow, and what a month costs.

Every flow runs through the app's own handlers (the Lambda handler via Chalice's test
client, the SQS handlers via the local workers) against moto's server over HTTP. The
emulator's recorder logs every AWS request, whichever client made it; the sandbox records
every Twilio and SendGrid call. From the counts of one typical conversation (3 customer
messages, 2 agent replies, 1 reminder) and AWS list prices, a cost per 1,000 conversations
follows. Prices are inputs, stated below with their date: check them against the AWS
pricing pages for your region before you rely on the totals.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bench.local import start_local_stack
from bench.report import Section, emit, table

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://127.0.0.1:8000"

# us-east-1 list prices (USD), as published in 2026; free tiers ignored.
PRICE = {
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 million a month
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}
LAMBDA_MEMORY_GB = 0.5  # .chalice/config.json: lambda_memory_size 512
LOG_BYTES_PER_INVOCATION = 1500  # START/END/REPORT lines plus our INFO lines, measured locally


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Prague

    def __call__(self) -> datetime:
        return self.now


def dynamodb_units(operation: str, payload: dict[str, Any]) -> tuple[float, float]:
    """(write units, read units) of one request, for items under 1 KB / 4 KB (ours are)."""
    if operation == "TransactWriteItems":
        return 2.0 * len(payload["TransactItems"]), 0.0  # transactional writes cost double
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 1.0, 0.0
    if operation == "BatchGetItem":
        keys = sum(len(t["Keys"]) for t in payload["RequestItems"].values())
        return 0.0, 0.5 * keys  # eventually consistent
    if operation in ("GetItem", "Query"):
        return 0.0, 1.0  # strongly consistent, one 4 KB unit (a thread's page of messages)
    return 0.0, 0.0


class Meter:
    """Counts, per flow, the AWS requests (moto's recorder) and provider calls (sandbox)."""

    def __init__(self, aws_url: str, sandbox: Any) -> None:
        self.aws_url = aws_url
        self.sandbox = sandbox

    def start(self) -> None:
        requests.post(f"{self.aws_url}/moto-api/recorder/reset-recording", timeout=10)
        requests.post(f"{self.aws_url}/moto-api/recorder/start-recording", timeout=10)
        self.sandbox.clear()

    def stop(self) -> dict[str, float]:
        requests.post(f"{self.aws_url}/moto-api/recorder/stop-recording", timeout=10)
        text = requests.get(f"{self.aws_url}/moto-api/recorder/download-recording", timeout=10).text
        counts: dict[str, float] = defaultdict(float)
        for line in filter(None, text.splitlines()):
            entry = json.loads(line)
            target = entry["headers"].get("X-Amz-Target", "")
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode(errors="replace")  # a WAV is bytes
            payload = json.loads(body) if body.startswith("{") else {}
            service, _, operation = target.partition(".")
            if service.startswith("DynamoDB"):
                counts["dynamodb requests"] += 1
                wru, rru = dynamodb_units(operation, payload)
                counts["dynamodb wru"] += wru
                counts["dynamodb rru"] += rru
            elif service == "AmazonSQS" and operation != "GetQueueUrl":
                counts["sqs requests"] += 1
            elif not target and "/s3/aws4_request" in entry["headers"].get("Authorization", ""):
                counts["s3 requests"] += 1
        for entry in self.sandbox.entries():
            counts[f"{entry['provider']} calls"] += 1
        return dict(counts)


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    outputs = stack.outputs
    import boto3
    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from urllib3 import encode_multipart_formdata

    from app import app, on_job, on_timer
    from chalicelib.composition import Container, reset_container
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_PARSE_PASSWORD, LOCAL_TWILIO_AUTH_TOKEN
    from relaydesk.workers import QueueWorker

    clock = Clock()
    reset_container(Container(Settings.from_env(), clock=clock))
    meter = Meter(aws_url, stack.sandbox)
    jobs = QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], on_job)
    timers = QueueWorker(boto3.client("sqs"), outputs["TimersQueueUrl"], on_timer)
    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    durations: dict[str, float] = {}

    def sms(client: Client, body: str) -> None:
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "From": "+420777123456",
            "To": "+15005550006",
            "Body": body,
        }
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

    def parse(client: Client, fields: dict[str, str]) -> None:
        body, content_type = encode_multipart_formdata(fields)
        auth = base64.b64encode(f"parse:{LOCAL_PARSE_PASSWORD}".encode()).decode()
        response = client.http.post(
            "/webhooks/sendgrid/inbound",
            headers={"Content-Type": content_type, "Authorization": f"Basic {auth}"},
            body=body,
        )
        assert response.status_code == 200, response.body

    def reply_to() -> str:
        return str(
            next(e["reply_to"] for e in reversed(stack.sandbox.entries()) if e.get("reply_to"))
        )

    def agent_reply(client: Client, address: str) -> None:
        parse(
            client,
            {
                "headers": f"Message-ID: <{uuid.uuid4().hex}@agent>\n",
                "from": "alex@demo.relaydesk.test",
                "to": address,
                "subject": "Re",
                "text": "It left today.",
            },
        )

    flows: dict[str, dict[str, float]] = {}

    def measure(name: str, action: Any) -> None:
        meter.start()
        started = time.perf_counter()
        action()
        durations[name] = time.perf_counter() - started
        flows[name] = meter.stop()

    # SQS keeps its real limits and runs on the bench's clock, which jumps over the waits.
    with emulator.sqs_follows(clock), Client(app) as client:
        sms(client, "warm-up")  # clients built once, as in a warm container
        jobs.poll_once()
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        measure("SMS webhook, new thread", lambda: sms(client, "Where is it?"))
        measure("answer job, then the agents' notification", jobs.poll_once)
        clock.now += timedelta(minutes=5)
        measure("SMS webhook, follow-up", lambda: sms(client, "Order 1042"))
        measure("notify-agents job, follow-up", jobs.poll_once)
        address = reply_to()
        measure("agent reply webhook", lambda: agent_reply(client, address))
        measure("deliver-reply job (SMS)", jobs.poll_once)
        measure(
            "e-mail webhook, new thread",
            lambda: parse(
                client,
                {
                    "headers": "Message-ID: <m1@customer.example>\n",
                    "from": "jana@customer.example",
                    "to": "support@demo.relaydesk.test",
                    "subject": "Order 1042",
                    "text": "Where is it?",
                },
            ),
        )
        measure("notify + e-mail ack jobs", lambda: [jobs.poll_once() for _ in range(3)])
        clock.now += timedelta(hours=3)
        measure("timer firing (reminder)", timers.poll_once)

    stack.stop()
    emit(render(flows, durations))
    return 0


COLUMNS = (
    "dynamodb requests",
    "dynamodb wru",
    "dynamodb rru",
    "sqs requests",
    "twilio calls",
    "sendgrid calls",
)
WEBHOOKS = ("SMS webhook, new thread", "SMS webhook, follow-up", "agent reply webhook")
# One conversation: 3 customer SMS (1 new, answered or acknowledged by the answer job;
# 2 follow-ups), 3 notifications, 2 agent
# replies delivered, and one reminder fired.
SHAPE = {
    "SMS webhook, new thread": 1,
    "SMS webhook, follow-up": 2,
    "answer job, then the agents' notification": 1,
    "notify-agents job, follow-up": 2,
    "agent reply webhook": 2,
    "deliver-reply job (SMS)": 2,
    "timer firing (reminder)": 1,
}
HELD_TIMER_DELIVERIES = 3
"""Lambda invocations of the timers queue that only hold a timer (it arrived early), besides
the reminder that fires: the conversation's other timers are kept or cancelled on time."""
VOLUMES = (1_000, 10_000, 100_000)

METHOD = """\
Every flow runs through the app's own handlers (the Lambda handler through Chalice's test
client, the SQS handlers through the local workers) against moto's server over HTTP, with
SQS's real limits on the bench's clock. AWS requests are counted by the emulator's recorder
(every client, every call; `GetQueueUrl`, paid once per container, left out), provider calls
by the sandbox. DynamoDB units assume items under 1 KB (writes) and 4 KB (reads),
transactional writes at 2 units per item, strongly consistent reads at 1 unit, a
`BatchGetItem` key at half a unit."""

COST_METHOD = """\
The cost of a conversation is computed from the table above and the shape below (how many
times each flow runs in one conversation), with these prices: us-east-1 list prices, free
tiers ignored, inputs in `bench/flows.py` (`PRICE`; check them for your region). Lambda time
is the mean handler time of the conversation's flows measured here, against the emulator,
which is slower than DynamoDB: an upper bound."""


def conversation(flows: dict[str, dict[str, float]]) -> dict[str, float]:
    """The conversation's totals: each flow's counts times how often it runs."""
    total: dict[str, float] = defaultdict(float)
    for name, times in SHAPE.items():
        for key in COLUMNS:
            total[key] += flows[name].get(key, 0.0) * times
    return dict(total)


def costs(flows: dict[str, dict[str, float]], durations: dict[str, float]) -> dict[str, float]:
    """USD per conversation, by service, from the measured table."""
    total = conversation(flows)
    api_requests = sum(SHAPE[name] for name in WEBHOOKS)
    invocations = sum(SHAPE.values()) + HELD_TIMER_DELIVERIES
    seconds = mean_seconds(durations)
    return {
        "API Gateway": api_requests * PRICE["api_gateway_request"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda compute": invocations * seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"],
        "DynamoDB": total["dynamodb wru"] * PRICE["dynamodb_wru"]
        + total["dynamodb rru"] * PRICE["dynamodb_rru"],
        "SQS": total["sqs requests"] * PRICE["sqs_request"],
        "CloudWatch Logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"],
    }


def mean_seconds(durations: dict[str, float]) -> float:
    """Mean handler time over one conversation's invocations (weighted by the shape)."""
    return sum(durations[name] * times for name, times in SHAPE.items()) / sum(SHAPE.values())


def render(flows: dict[str, dict[str, float]], durations: dict[str, float]) -> Section:
    total = conversation(flows)
    api_requests = sum(SHAPE[name] for name in WEBHOOKS)
    invocations = sum(SHAPE.values()) + HELD_TIMER_DELIVERIES
    seconds = mean_seconds(durations)
    per_conversation = costs(flows, durations)
    customer_sms = SHAPE["SMS webhook, new thread"] + SHAPE["SMS webhook, follow-up"]
    body = [
        METHOD,
        "### Requests per flow (measured)",
        table(
            ("flow", *COLUMNS, "handler ms"),
            (
                (name, *(f"{counted.get(c, 0):g}" for c in COLUMNS), f"{durations[name] * 1e3:.0f}")
                for name, counted in flows.items()
            ),
        ),
        "### What a conversation costs on AWS",
        COST_METHOD,
        table(
            ("flow", "times per conversation", *COLUMNS),
            [
                *(
                    (name, times, *(f"{flows[name].get(c, 0) * times:g}" for c in COLUMNS))
                    for name, times in SHAPE.items()
                ),
                (
                    "**one conversation**",
                    sum(SHAPE.values()),
                    *(f"**{total[c]:g}**" for c in COLUMNS),
                ),
            ],
        ),
        f"So one conversation is {api_requests} API requests, {invocations} Lambda invocations "
        f"(the {sum(SHAPE.values())} flows above and {HELD_TIMER_DELIVERIES} timer deliveries "
        f"that only hold a timer) of {seconds * 1e3:.0f} ms mean at "
        f"{LAMBDA_MEMORY_GB * 1024:.0f} MB, {total['dynamodb wru']:g} WRU, "
        f"{total['dynamodb rru']:g} RRU and {total['sqs requests']:g} SQS requests, with "
        f"{LOG_BYTES_PER_INVOCATION:,} bytes of logs per invocation.",
        table(
            ("price", "USD"),
            (
                (
                    "API Gateway REST, per million requests",
                    f"{PRICE['api_gateway_request'] * 1e6:.2f}",
                ),
                ("Lambda, per million requests", f"{PRICE['lambda_request'] * 1e6:.2f}"),
                ("Lambda, per GB-second", f"{PRICE['lambda_gb_second']:.10f}"),
                (
                    "DynamoDB on demand, per million write units",
                    f"{PRICE['dynamodb_wru'] * 1e6:.3f}",
                ),
                (
                    "DynamoDB on demand, per million read units",
                    f"{PRICE['dynamodb_rru'] * 1e6:.3f}",
                ),
                ("SQS, per million requests", f"{PRICE['sqs_request'] * 1e6:.2f}"),
                ("CloudWatch Logs, per GB ingested", f"{PRICE['logs_gb']:.2f}"),
            ),
        ),
        table(
            ("conversations a month", *per_conversation, "total"),
            (
                (
                    f"{volume:,}",
                    *(f"${volume * v:,.2f}" for v in per_conversation.values()),
                    f"**${volume * sum(per_conversation.values()):,.2f}**",
                )
                for volume in VOLUMES
            ),
        ),
        "Provider fees are separate and usually dominate: Twilio bills each SMS segment both "
        f"ways ({total['twilio calls']:g} outbound + {customer_sms} inbound per conversation "
        "here) and WhatsApp per conversation; SendGrid's plan covers the "
        f"{total['sendgrid calls']:g} e-mails per conversation (agent notifications).",
    ]
    return Section("Requests per flow and the cost of a conversation", "\n\n".join(body))


if __name__ == "__main__":
    sys.exit(main())
