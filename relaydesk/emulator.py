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
    wsgi.app = DynamoDBOneAtATime(wsgi.app)
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


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


def provision(endpoint_url: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Create infra/template.yaml as a CloudFormation stack on the emulator; its outputs."""
    from relaydesk.deploy import deploy_stack

    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    return deploy_stack(cloudformation, STACK_NAME, parameters or {})


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
