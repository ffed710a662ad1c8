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
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

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
                body = base64.b64decode(body).decode()
            payload = json.loads(body) if body.startswith("{") else {}
            service, _, operation = target.partition(".")
            if service.startswith("DynamoDB"):
                counts["dynamodb requests"] += 1
                wru, rru = dynamodb_units(operation, payload)
                counts["dynamodb wru"] += wru
                counts["dynamodb rru"] += rru
            elif service == "AmazonSQS" and operation != "GetQueueUrl":
                counts["sqs requests"] += 1
        for entry in self.sandbox.entries():
            counts[f"{entry['provider']} calls"] += 1
        return dict(counts)


def main() -> int:
    # moto's recorder writes where this says (by default a file in the working directory),
    # read when moto is first imported.
    os.environ["MOTO_RECORDER_FILEPATH"] = str(Path(tempfile.mkdtemp()) / "aws-calls.jsonl")
    sys.path.insert(0, str(ROOT))
    from relaydesk import emulator, sandbox
    from relaydesk.local_env import (
        LOCAL_PARSE_PASSWORD,
        LOCAL_TWILIO_AUTH_TOKEN,
        local_environment,
    )

    moto_server, aws_url = emulator.start_moto()
    sandbox_server, sandbox_url = sandbox.start_in_thread()
    os.environ.update(
        local_environment(app_url=PUBLIC_URL, aws_url=aws_url, sandbox_url=sandbox_url)
    )
    outputs = emulator.provision(aws_url)

    import boto3
    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from urllib3 import encode_multipart_formdata

    from app import app, on_job, on_timer
    from chalicelib.composition import Container, reset_container
    from chalicelib.settings import Settings
    from relaydesk.workers import QueueWorker

    clock = Clock()
    reset_container(Container(Settings.from_env(), clock=clock))
    meter = Meter(aws_url, sandbox_server.sandbox)
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
            next(
                e["reply_to"]
                for e in reversed(sandbox_server.sandbox.entries())
                if e.get("reply_to")
            )
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

    def measure(name: str, action: Any) -> dict[str, float]:
        meter.start()
        started = time.perf_counter()
        action()
        durations[name] = time.perf_counter() - started
        return meter.stop()

    flows: dict[str, dict[str, float]] = {}
    # SQS keeps its real limits and runs on the bench's clock, which jumps over the waits.
    with emulator.sqs_follows(clock), Client(app) as client:
        sms(client, "warm-up")  # clients built once, as in a warm container
        jobs.poll_once()
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        flows["SMS webhook, new thread"] = measure("sms", lambda: sms(client, "Where is it?"))
        flows["notify-agents job"] = measure("notify", jobs.poll_once)
        clock.now += timedelta(minutes=5)
        flows["SMS webhook, follow-up"] = measure("sms2", lambda: sms(client, "Order 1042"))
        flows["notify-agents job, follow-up"] = measure("notify2", jobs.poll_once)
        address = reply_to()
        flows["agent reply webhook"] = measure("reply", lambda: agent_reply(client, address))
        flows["deliver-reply job (SMS)"] = measure("deliver", jobs.poll_once)
        flows["e-mail webhook, new thread"] = measure(
            "email",
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
        flows["notify + e-mail ack jobs"] = measure(
            "email-jobs", lambda: [jobs.poll_once() for _ in range(3)]
        )
        clock.now += timedelta(hours=3)
        flows["timer firing (reminder)"] = measure("timers", timers.poll_once)

    sandbox_server.shutdown()
    moto_server.stop()

    columns = [
        "dynamodb requests",
        "dynamodb wru",
        "dynamodb rru",
        "sqs requests",
        "twilio calls",
        "sendgrid calls",
    ]
    print("## Requests per flow (measured)\n")
    print("| flow | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, counted in flows.items():
        print(f"| {name} | " + " | ".join(f"{counted.get(c, 0):g}" for c in columns) + " |")

    # One conversation: 3 customer SMS (1 new, 2 follow-ups), 3 notifications, 2 agent
    # replies delivered, timers scheduled once and one reminder fired.
    shape = {
        "SMS webhook, new thread": 1,
        "SMS webhook, follow-up": 2,
        "notify-agents job": 1,
        "notify-agents job, follow-up": 2,
        "agent reply webhook": 2,
        "deliver-reply job (SMS)": 2,
        "timer firing (reminder)": 1,
    }
    total: dict[str, float] = defaultdict(float)
    for name, times in shape.items():
        for key, value in flows[name].items():
            total[key] += value * times
    api_requests = 1 + 2 + 2
    invocations = api_requests + 1 + 2 + 2 + 4  # + notify, deliver jobs and 4 timer deliveries
    seconds = sum(durations.values()) / len(durations)  # mean measured handler time (moto)
    per_conversation = {
        "API Gateway": api_requests * PRICE["api_gateway_request"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda compute": invocations * seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"],
        "DynamoDB": total["dynamodb wru"] * PRICE["dynamodb_wru"]
        + total["dynamodb rru"] * PRICE["dynamodb_rru"],
        "SQS": total["sqs requests"] * PRICE["sqs_request"],
        "CloudWatch Logs": invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"],
    }
    print("\n## What a conversation costs on AWS\n")
    print(
        f"Shape: 3 customer SMS, 2 agent replies, 1 reminder; {api_requests} API requests, "
        f"{invocations} Lambda invocations of {seconds * 1000:.0f} ms mean at 512 MB "
        f"(measured against the emulator: an upper bound), {total['dynamodb wru']:g} WRU, "
        f"{total['dynamodb rru']:g} RRU, {total['sqs requests']:g} SQS requests.\n"
    )
    print("| conversations a month | " + " | ".join(per_conversation) + " | total |")
    print("|---|" + "---|" * (len(per_conversation) + 1))
    for volume in (1_000, 10_000, 100_000):
        costs = [volume * v for v in per_conversation.values()]
        cells = " | ".join(f"${c:,.2f}" for c in costs)
        print(f"| {volume:,} | {cells} | **${sum(costs):,.2f}** |")
    print(
        "\nProvider fees are separate and usually dominate: Twilio bills each SMS segment "
        f"both ways ({total['twilio calls'] / 1:g} outbound + 3 inbound per conversation "
        "here) and WhatsApp per conversation; SendGrid's plan covers the "
        f"{total['sendgrid calls']:g} e-mails per conversation (agent notifications)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
