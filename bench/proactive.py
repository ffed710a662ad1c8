"""`make bench` (part 8): requests per shop event (DynamoDB, SQS, the shop, Twilio), and what
1,000 events cost on AWS.

A signed Shopify webhook for demo order #1050 goes through the app's own handler (Chalice's
test client) and its job through the local worker, against moto's server over HTTP and the
sandbox's Shopify; the emulator's recorder counts every AWS request (bench/flows.py's
Meter). Three cases: an event that tells the customer (a new thread, an SMS), the same news
again in a new event (the job re-reads the shop and stays silent), and Shopify's redelivery
of an event (the webhook alone, nothing queued).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.flows import LAMBDA_MEMORY_GB, LOG_BYTES_PER_INVOCATION, PRICE, Clock, Meter
from bench.local import start_local_stack
from bench.report import Section, emit, table

PUBLIC_URL = "http://127.0.0.1:8000"


def main() -> int:
    stack = start_local_stack(PUBLIC_URL)
    aws_url = stack.aws_url
    outputs = stack.outputs
    import boto3
    from chalice.test import Client

    from app import app, on_job
    from chalicelib.commerce.signing import sign
    from chalicelib.composition import Container, reset_container
    from chalicelib.settings import Settings
    from relaydesk import emulator
    from relaydesk.local_env import LOCAL_SHOPIFY_WEBHOOK_SECRET
    from relaydesk.sandbox.shop_data import shopify_order_id
    from relaydesk.workers import QueueWorker

    clock = Clock()  # Tuesday 10:00 in Prague: no quiet hours
    reset_container(Container(Settings.from_env(), clock=clock))
    meter = Meter(aws_url, stack.sandbox)
    jobs = QueueWorker(boto3.client("sqs"), outputs["JobsQueueUrl"], on_job)
    durations: list[float] = []

    def event(client: Client, event_id: str, order: str = "1050") -> None:
        body = json.dumps(
            {
                "order_id": shopify_order_id(order),
                "status": "delayed",
                "happened_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        response = client.http.post(
            "/webhooks/shopify",
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": sign(LOCAL_SHOPIFY_WEBHOOK_SECRET, body),
                "X-Shopify-Topic": "fulfillment_events/create",
                "X-Shopify-Shop-Domain": "demo-store.myshopify.com",
                "X-Shopify-Event-Id": event_id,
            },
            body=body,
        )
        assert response.status_code == 200, response.body

    def measure(action: Any) -> dict[str, float]:
        meter.start()
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
        return meter.stop()

    flows: dict[str, dict[str, float]] = {}
    with emulator.sqs_follows(clock), Client(app) as client:
        event(client, "warm-up", order="1060")  # clients built once, as in a warm container
        jobs.poll_once()
        emulator.reset(aws_url)
        emulator.provision(aws_url)
        told = uuid.uuid4().hex
        flows["Shopify webhook, new event"] = measure(lambda: event(client, told))
        flows["proactive job: tells (new thread, SMS)"] = measure(jobs.poll_once)
        flows["Shopify webhook, redelivered event"] = measure(lambda: event(client, told))
        flows["Shopify webhook, same news again"] = measure(lambda: event(client, uuid.uuid4().hex))
        flows["proactive job: silent (told already)"] = measure(jobs.poll_once)

    stack.stop()

    columns = [
        "dynamodb requests",
        "dynamodb wru",
        "dynamodb rru",
        "sqs requests",
        "shopify calls",
        "twilio calls",
    ]
    rows = [[name, *(f"{counted.get(c, 0):g}" for c in columns)] for name, counted in flows.items()]

    seconds = sum(durations) / len(durations)

    def cost(webhook: str, job: str | None) -> float:
        parts = [flows[webhook], *([flows[job]] if job else [])]
        invocations = len(parts)
        wru = sum(p.get("dynamodb wru", 0) for p in parts)
        rru = sum(p.get("dynamodb rru", 0) for p in parts)
        sqs = sum(p.get("sqs requests", 0) for p in parts)
        return (
            PRICE["api_gateway_request"]
            + invocations * PRICE["lambda_request"]
            + invocations * seconds * LAMBDA_MEMORY_GB * PRICE["lambda_gb_second"]
            + wru * PRICE["dynamodb_wru"]
            + rru * PRICE["dynamodb_rru"]
            + sqs * PRICE["sqs_request"]
            + invocations * LOG_BYTES_PER_INVOCATION / 1e9 * PRICE["logs_gb"]
        )

    told_cost = cost("Shopify webhook, new event", "proactive job: tells (new thread, SMS)")
    silent_cost = cost("Shopify webhook, same news again", "proactive job: silent (told already)")
    again_cost = cost("Shopify webhook, redelivered event", None)
    body = [
        (__doc__ or "").split("\n\n", 1)[1].strip(),
        "### Requests per shop event (measured)",
        table(["flow", *columns], rows),
        "### What 1,000 shop events cost on AWS",
        f"Handler time {seconds * 1000:.0f} ms mean at 512 MB (against the emulator: an upper "
        "bound); us-east-1 list prices as in bench/flows.py; Twilio's SMS fee not included.",
        table(
            ["1,000 events that ...", "AWS cost"],
            [
                ["tell the customer (webhook + job, a new thread)", f"${1000 * told_cost:,.4f}"],
                ["are news already told (webhook + job, silent)", f"${1000 * silent_cost:,.4f}"],
                ["are Shopify's redeliveries (webhook only)", f"${1000 * again_cost:,.4f}"],
            ],
        ),
    ]
    emit(
        Section("Proactive shipment messages: requests and cost per shop event", "\n\n".join(body))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
