"""The emulated AWS side of the local stack: moto's server, provisioned from infra/."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
STACK_NAME = "relaydesk"


def start_moto(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def provision(endpoint_url: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Create infra/template.yaml as a CloudFormation stack on the emulator; its outputs."""
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
        ],
    )
    deadline = time.monotonic() + 30
    while True:
        stack: Any = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if stack["StackStatus"].endswith("FAILED") or time.monotonic() > deadline:
            raise RuntimeError(f"local stack not created: {stack['StackStatus']}")
        time.sleep(0.1)


def reset(endpoint_url: str) -> None:
    """Forget every emulated resource (moto's own reset API)."""
    import requests

    requests.post(f"{endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
