"""`make bench` (automatic answers, part 2): from the webhook's receipt to the answer
accepted by the (sandbox) Twilio API, against a floor measured in the same run.

One sample: Jana texts "Where is my order #1042?" to the demo store; the webhook stores it
(Chalice's test client, the Lambda handler); the jobs queue is read as Lambda's poller
would (ReceiveMessage) and the answer job runs (the same `on_job` handler): it looks the
order up in the sandbox's Shopify shop over HTTP, checks who asks, records and sends the
answer through the real twilio SDK, and the message is deleted from the queue. The time
stops when the sandbox has accepted the SMS. Lambda's own poller delay (up to a second or
so between a SendMessage and the job's start on AWS) is not in it.

The floor does the round trips an automatic answer cannot do without, by hand, in the same
process and against the same emulator and sandbox: the webhook's GetItem,
TransactWriteItems (four items) and SendMessage; ReceiveMessage; one GraphQL request to
the sandbox shop; one PutItem (the answer); one Twilio Messages.create (through the app's own
client); DeleteMessage.
The table shows, beside the times, how many requests of each kind the real flow made.

Each sample starts from an empty table and queues (the customer is new every time, as a
WISMO question opens a conversation). ANSWER_SAMPLES (environment `BENCH_ANSWER_SAMPLES`,
default 100) samples of each.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from contextlib import redirect_stderr
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bench.report import Section, emit, table
from bench.webhook import PUBLIC_URL, ROOT, forget, fresh_state, moto_process, percentile

SAMPLES = int(os.environ.get("BENCH_ANSWER_SAMPLES", "100"))
JANA = "+420777123456"
QUESTION = "Where is my order #1042?"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from relaydesk import sandbox
    from relaydesk.local_env import local_environment

    sandbox_server, sandbox_url = sandbox.start_in_thread()
    with moto_process() as aws_url:
        os.environ.update(
            local_environment(app_url=PUBLIC_URL, aws_url=aws_url, sandbox_url=sandbox_url)
        )
        timed = measure(sandbox_server.sandbox, sandbox_url)
    sandbox_server.shutdown()
    emit(render(timed))
    return 0


def measure(outbox: Any, sandbox_url: str) -> Timed:
    import boto3
    import requests
    from chalice.test import Client
    from twilio.request_validator import RequestValidator

    from app import app, on_job
    from chalicelib.composition import Container, container, reset_container
    from chalicelib.settings import Settings
    from chalicelib.store.models import (
        CounterItem,
        CustomerItem,
        MarkerItem,
        MessageItem,
        ThreadItem,
    )
    from relaydesk.local_env import (
        DEMO_SHOPIFY_SHOP,
        LOCAL_SHOPIFY_ACCESS_TOKEN,
        LOCAL_TWILIO_AUTH_TOKEN,
    )
    from relaydesk.workers import QueueWorker

    outputs = fresh_state(os.environ["AWS_ENDPOINT_URL"])
    table, jobs_url = outputs["TableName"], outputs["JobsQueueUrl"]
    queues = [jobs_url, outputs["TimersQueueUrl"]]
    validator = RequestValidator(LOCAL_TWILIO_AUTH_TOKEN)
    url = PUBLIC_URL + "/webhooks/twilio/messaging"
    reset_container(Container(Settings.from_env()))
    aws_requests: Counter[str] = Counter()

    def count(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        aws_requests[target.rpartition(".")[2] or "sqs"] += 1

    def answered(client: Client, worker: QueueWorker) -> float:
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": JANA, "To": "+15005550006"}
        params["Body"] = QUESTION
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        start = time.perf_counter()
        response = client.http.post(
            "/webhooks/twilio/messaging", headers=headers, body=urlencode(params)
        )
        assert response.status_code == 200, response.body
        assert worker.poll_once() == 1
        elapsed = time.perf_counter() - start
        [sms] = outbox.entries(provider="twilio")
        assert sms["body"].startswith("Order #1042 is on its way"), sms["body"]
        return elapsed

    graphql = f"{sandbox_url}/shopify/{DEMO_SHOPIFY_SHOP}/admin/api/2025-07/graphql.json"
    shop_session = requests.Session()

    def floor(dynamodb: Any, sqs: Any, twilio: Any) -> float:
        key = {"pk": {"S": f"floor#{uuid.uuid4().hex}"}}

        def put(sk: str) -> dict[str, Any]:
            return {"Put": {"TableName": table, "Item": {**key, "sk": {"S": sk}}}}

        start = time.perf_counter()
        dynamodb.get_item(TableName=table, Key={**key, "sk": {"S": "c"}})
        dynamodb.transact_write_items(TransactItems=[put("m"), put("t"), put("c"), put("x")])
        sqs.send_message(QueueUrl=jobs_url, MessageBody="{}")
        [message] = sqs.receive_message(QueueUrl=jobs_url, MaxNumberOfMessages=10)["Messages"]
        shop_session.post(
            graphql,
            json={"query": '{ orders(first: 1, query: "name:1042") { nodes { name } } }'},
            headers={"X-Shopify-Access-Token": LOCAL_SHOPIFY_ACCESS_TOKEN},
            timeout=10,
        ).raise_for_status()
        dynamodb.put_item(TableName=table, Item={**key, "sk": {"S": "a"}})
        twilio.send(sender="+15005550006", to=JANA, body="Order #1042 ...")
        sqs.delete_message(QueueUrl=jobs_url, ReceiptHandle=message["ReceiptHandle"])
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"answer": [], "floor": []}
    flow_counts: Counter[str] = Counter()
    flow_http: Counter[str] = Counter()
    with Client(app) as client, open(os.devnull, "w") as devnull, redirect_stderr(devnull):
        worker = QueueWorker(boto3.client("sqs"), jobs_url, on_job)
        answered(client, worker)  # every client built, every lazy import done
        c = container()
        dynamodb, sqs = c.repository.connection.client, c.jobs._client
        models = (ThreadItem, MessageItem, CustomerItem, MarkerItem, CounterItem)
        clients = [m._get_connection().connection.client for m in models]
        clients += [dynamodb, sqs, worker._sqs]
        for botocore_client in {id(x): x for x in clients}.values():
            botocore_client.meta.events.register("before-send", count)
        twilio = c.messenger  # the app's own twilio Client, pointed at the sandbox
        floor(dynamodb, sqs, twilio)
        for n in range(SAMPLES):
            if n % 20 == 0:
                fresh_state(os.environ["AWS_ENDPOINT_URL"])
            forget(dynamodb, table, sqs, queues)
            outbox.clear()
            aws_requests.clear()
            times["answer"].append(answered(client, worker))
            flow_counts.update(aws_requests)
            flow_http.update(e["provider"] for e in outbox.entries())
            forget(dynamodb, table, sqs, queues)
            outbox.clear()
            times["floor"].append(floor(dynamodb, sqs, twilio))
    return Timed(
        answer=times["answer"],
        floor=times["floor"],
        requests_per_answer={
            name: total / SAMPLES for name, total in sorted({**flow_counts, **flow_http}.items())
        },
    )


FLOOR_STEPS = (
    "GetItem",
    "TransactWriteItems (four items)",
    "SendMessage",
    "ReceiveMessage",
    "the shop's GraphQL order query",
    "PutItem (the answer)",
    "Twilio Messages.create",
    "DeleteMessage",
)


@dataclass(frozen=True)
class Timed:
    answer: list[float]
    floor: list[float]
    requests_per_answer: dict[str, float]


def render(timed: Timed) -> Section:
    floor50 = percentile(timed.floor, 0.5)
    rows = []
    for samples, label in (
        (timed.answer, "webhook -> answer job -> SMS accepted by the sandbox"),
        (timed.floor, f"floor: the necessary round trips by hand ({len(FLOOR_STEPS)} requests)"),
    ):
        p50, p90 = percentile(samples, 0.5), percentile(samples, 0.9)
        rows.append((label, f"{p50 * 1e3:.1f}", f"{p90 * 1e3:.1f}", f"{p50 / floor50:.2f}"))
    body = [
        METHOD.format(samples=len(timed.answer), steps="; ".join(FLOOR_STEPS)),
        table(("case", "p50 ms", "p90 ms", "p50 / floor"), rows),
        table(
            ("request", "per answer, as the flow made them"),
            ((name, f"{count:g}") for name, count in timed.requests_per_answer.items()),
        ),
    ]
    return Section("Time to an automatic answer", "\n\n".join(body))


METHOD = """\
One sample: a customer texts an order-status question to the demo store; the webhook stores
it (Chalice's test client, the Lambda handler); the jobs queue is read as Lambda's poller
would (ReceiveMessage) and the answer job runs (the same `on_job` handler): it looks the
order up in the sandbox's Shopify shop over HTTP, checks who asks, records and sends the
answer through the real twilio SDK, and the message is deleted from the queue. The time
stops when the sandbox has accepted the SMS. Lambda's own poller delay between a
SendMessage and the job's start on AWS is not in it. Each sample starts from an empty table
and queues (a new customer, as a WISMO question opens a conversation); {samples} samples of
each (`BENCH_ANSWER_SAMPLES`).

The floor does the round trips an automatic answer cannot do without, by hand, in the same
process, against the same emulator and sandbox, interleaved with the samples: {steps}.
The second table counts the requests the real flow made, by kind (AWS requests by
operation, provider calls by provider)."""


if __name__ == "__main__":
    sys.exit(main())
