"""`make secrets` and `make deploy`: from a clone to a store's AWS account.

1. `relaydesk secrets --stage prod` puts the four secrets in SSM Parameter Store as
   SecureString under /relaydesk/<stage>/ (prompting for each; the reply-token key is
   generated when left empty).
2. `relaydesk deploy --stage prod` deploys infra/template.yaml (table, queues, dead-letter
   queues, alarms), runs `chalice deploy` with the resource names from its outputs,
   switches on ReportBatchItemFailures for the timers' event source (Chalice has no
   switch for it), and prints the URLs to paste into Twilio and SendGrid.
`--dry-run` deploys nothing to the Lambda side and prints what it would run; with
`--endpoint-url` the infra step runs against an emulator (moto), as the tests do.
"""

from __future__ import annotations

import getpass
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
SECRET_NAMES = (
    "TWILIO_AUTH_TOKEN",
    "SENDGRID_API_KEY",
    "INBOUND_PARSE_PASSWORD",
    "REPLY_TOKEN_SECRET",
)


def deploy_stack(cloudformation: Any, name: str, parameters: dict[str, str]) -> dict[str, str]:
    """Create or update the infra stack and wait for it; its outputs."""
    arguments = {
        "StackName": name,
        "TemplateBody": TEMPLATE.read_text(encoding="utf-8"),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
    }
    try:
        cloudformation.describe_stacks(StackName=name)
        exists = True
    except cloudformation.exceptions.ClientError:
        exists = False
    try:
        if exists:
            cloudformation.update_stack(**arguments)
        else:
            cloudformation.create_stack(**arguments)
    except cloudformation.exceptions.ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise
    deadline = time.monotonic() + 30 * 60
    while True:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if status.endswith(("FAILED", "ROLLBACK_COMPLETE")) or time.monotonic() > deadline:
            raise RuntimeError(f"stack {name}: {status} {stack.get('StackStatusReason', '')}")
        time.sleep(10 if "amazonaws.com" in str(cloudformation.meta.endpoint_url) else 0.1)


def put_secrets(ssm: Any, stage: str, values: dict[str, str]) -> list[str]:
    """SecureString parameters under /relaydesk/<stage>/; the names written."""
    written = []
    for name, value in values.items():
        if name not in SECRET_NAMES:
            raise ValueError(f"unknown secret {name}; expected one of {', '.join(SECRET_NAMES)}")
        path = f"/relaydesk/{stage}/{name}"
        ssm.put_parameter(Name=path, Value=value, Type="SecureString", Overwrite=True)
        written.append(path)
    return written


def enable_timer_batch_failures(lambda_client: Any, stage: str) -> int:
    """ReportBatchItemFailures on the timers handler's event source; how many changed."""
    mappings = lambda_client.list_event_source_mappings(FunctionName=f"relaydesk-{stage}-on_timer")
    changed = 0
    for mapping in mappings["EventSourceMappings"]:
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
            lambda_client.update_event_source_mapping(
                UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"]
            )
            changed += 1
    return changed


def secrets_command(stage: str, endpoint_url: str | None) -> int:
    import boto3

    values = {}
    for name in SECRET_NAMES:
        value = getpass.getpass(
            f"{name} (input hidden{', empty = generate' if name == 'REPLY_TOKEN_SECRET' else ''}): "
        )
        if not value and name == "REPLY_TOKEN_SECRET":
            value = secrets.token_urlsafe(32)
        if not value:
            print(f"{name} is required", file=sys.stderr)
            return 2
        values[name] = value
    for path in put_secrets(boto3.client("ssm", endpoint_url=endpoint_url), stage, values):
        print(f"stored {path} (SecureString)")
    return 0


def deploy_command(stage: str, alarm_email: str, endpoint_url: str | None, dry_run: bool) -> int:
    import boto3

    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    outputs = deploy_stack(
        cloudformation, f"relaydesk-{stage}-data", {"Stage": stage, "AlarmEmail": alarm_email}
    )
    print(
        f"infra: table {outputs['TableName']}, queues {outputs['JobsQueueUrl']}, "
        f"{outputs['TimersQueueUrl']}"
    )
    environment = {
        **os.environ,
        "TABLE_NAME": outputs["TableName"],
        "JOBS_QUEUE_NAME": outputs["JobsQueueUrl"].rsplit("/", 1)[-1],
        "TIMERS_QUEUE_NAME": outputs["TimersQueueUrl"].rsplit("/", 1)[-1],
    }
    chalice = [str(Path(sys.executable).with_name("chalice")), "deploy", "--stage", stage]
    if dry_run:
        print("dry run: would run", " ".join(chalice), "and enable ReportBatchItemFailures")
        return 0
    subprocess.run(chalice, check=True, env=environment)  # noqa: S603 - chalice, from this venv
    changed = enable_timer_batch_failures(boto3.client("lambda", endpoint_url=endpoint_url), stage)
    print(f"timers: ReportBatchItemFailures enabled ({changed} event source(s) changed)")
    url = (
        subprocess.run(  # noqa: S603 - chalice, from this venv
            [chalice[0], "url", "--stage", stage], check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .rstrip("/")
    )
    print(f"""
Twilio (Messaging > the number > "A message comes in", HTTP POST):
  {url}/webhooks/twilio/messaging
  Set PUBLIC_BASE_URL={url} in .chalice/config.json's {stage} stage: signatures are over it.
SendGrid Inbound Parse (for the reply domain and the support domain):
  https://parse:<INBOUND_PARSE_PASSWORD>@{url.removeprefix("https://")}/webhooks/sendgrid/inbound
""")
    return 0
