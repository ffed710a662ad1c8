"""The emulated AWS side of the local stack: moto's server, provisioned from infra/."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

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
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


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
