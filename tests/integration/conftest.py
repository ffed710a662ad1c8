"""Integration fixtures: moto's server over HTTP, provisioned from infra/template.yaml, the
provider sandbox, and the app called through Chalice's test client (the Lambda handler)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from chalice.test import Client

from chalicelib.composition import Container, reset_container
from chalicelib.settings import Settings
from relaydesk import emulator, sandbox
from relaydesk.local_env import (
    LOCAL_SHOPIFY_ACCESS_TOKEN,
    LOCAL_SHOPIFY_WEBHOOK_SECRET,
    local_environment,
)
from relaydesk.workers import QueueWorker
from tests.conftest import TEST_STORES

PUBLIC_URL = "https://hooks.example.test/api"


class FakeClock:
    """Starts on Friday 20 Nov 2026, 16:30 in Prague; tests move it by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    url = os.environ["AWS_ENDPOINT_URL"]
    parts = urlsplit(url)
    server, bound = emulator.start_moto(parts.hostname or "127.0.0.1", parts.port or 0)
    yield bound
    server.stop()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[sandbox.SandboxServer]:
    server, _ = sandbox.start_in_thread()
    yield server
    server.shutdown()


@pytest.fixture
def sandbox_url(sandbox_server: sandbox.SandboxServer) -> str:
    sandbox_server.sandbox.clear()
    host, port = sandbox_server.server_address[:2]
    return f"http://{host!s}:{port}"


@pytest.fixture
def outbox(sandbox_server: sandbox.SandboxServer) -> sandbox.Sandbox:
    return sandbox_server.sandbox


@pytest.fixture
def aws(moto_url: str) -> dict[str, str]:
    """A fresh table and queues for every test, created from the real template."""
    emulator.reset(moto_url)
    return emulator.provision(moto_url)


@pytest.fixture
def clock(moto_url: str) -> Iterator[FakeClock]:
    """The app's clock, and the emulated SQS's: delays and holds keep SQS's real limits and
    pass when the test moves the clock."""
    fake = FakeClock()
    with emulator.sqs_follows(fake):
        yield fake


@pytest.fixture
def container(aws: dict[str, str], sandbox_url: str, clock: FakeClock) -> Iterator[Container]:
    environ = {
        **os.environ,
        **local_environment(
            app_url=PUBLIC_URL, aws_url=os.environ["AWS_ENDPOINT_URL"], sandbox_url=sandbox_url
        ),
        "STORES_FILE": str(TEST_STORES),
        "MAIL_BUCKET": aws["MailBucketName"],
        # The fixture store `answers` reads the sandbox's demo Shopify shop.
        "SHOPIFY_ACCESS_TOKEN_ANSWERS": LOCAL_SHOPIFY_ACCESS_TOKEN,
        "SHOPIFY_WEBHOOK_SECRET_ANSWERS": LOCAL_SHOPIFY_WEBHOOK_SECRET,
        # The fixture store `acme` has a Facebook page too (the demo's token is local_env's).
        "META_PAGE_TOKEN_ACME": "EAAlocal-acme-page-token",
    }
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(None)


@pytest.fixture
def client(container: Container) -> Iterator[Client]:
    from app import app

    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def worker(aws: dict[str, str], container: Container) -> QueueWorker:
    from app import on_job

    return QueueWorker(boto3.client("sqs"), aws["JobsQueueUrl"], on_job, retry_backoff_seconds=0)


@pytest.fixture
def timer_worker(aws: dict[str, str], container: Container) -> QueueWorker:
    from app import on_timer

    return QueueWorker(
        boto3.client("sqs"), aws["TimersQueueUrl"], on_timer, retry_backoff_seconds=0
    )


def drain(worker: QueueWorker, rounds: int = 10) -> int:
    """Run queued jobs until the queue is quiet; how many succeeded."""
    done = 0
    for _ in range(rounds):
        handled = worker.poll_once()
        done += handled
        if handled == 0 and not queue_depth(worker):
            break
    return done


DEPTH = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def queue_depth(worker: QueueWorker) -> int:
    """Every message on the queue: visible, in flight (held) or still delayed."""
    attributes: Any = boto3.client("sqs").get_queue_attributes(
        QueueUrl=worker.queue_url, AttributeNames=list(DEPTH)
    )["Attributes"]
    return sum(int(attributes[name]) for name in DEPTH)


def table_items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table("relaydesk")
    return list(table.scan()["Items"])


def conversation(container: Container, thread_id: str, store: str = "demo") -> list[Any]:
    """What the customer and the store said to each other: no notes, no events."""
    return [
        m for m in container.repository.messages(store, thread_id) if m.direction in ("in", "out")
    ]
