"""The deploy steps that can run offline, against moto's CloudFormation, SSM and Lambda."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest

from chalicelib.config import ConfigError, Secrets
from relaydesk import deploy, emulator


@pytest.fixture
def fresh_aws(moto_url: str) -> str:
    emulator.reset(moto_url)
    return moto_url


def test_the_infra_stack_deploys_and_redeploys_for_a_stage(fresh_aws: str) -> None:
    cloudformation = boto3.client("cloudformation")
    parameters = {"Stage": "prod", "AlarmEmail": "ops@shop.example"}
    outputs = deploy.deploy_stack(cloudformation, "relaydesk-prod-data", parameters)
    assert outputs["TableName"] == "relaydesk"
    assert outputs["TimersQueueUrl"].endswith("/relaydesk-timers")
    assert outputs["JobsDeadLetterQueueUrl"].endswith("/relaydesk-jobs-dlq")
    # A second deploy with nothing to change is not an error.
    assert deploy.deploy_stack(cloudformation, "relaydesk-prod-data", parameters) == outputs
    redrive = boto3.client("sqs").get_queue_attributes(
        QueueUrl=outputs["TimersQueueUrl"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]["RedrivePolicy"]
    assert '"maxReceiveCount": 30' in redrive


def test_secrets_round_trip_through_ssm_as_the_app_reads_them(fresh_aws: str) -> None:
    ssm = boto3.client("ssm")
    written = deploy.put_secrets(
        ssm, "prod", {"TWILIO_AUTH_TOKEN": "t0k", "SENDGRID_API_KEY": "SG.x"}
    )
    assert written == ["/relaydesk/prod/TWILIO_AUTH_TOKEN", "/relaydesk/prod/SENDGRID_API_KEY"]
    stored = ssm.get_parameter(Name="/relaydesk/prod/TWILIO_AUTH_TOKEN")["Parameter"]
    assert stored["Type"] == "SecureString"
    secrets = Secrets({"SECRETS_SSM_PREFIX": "/relaydesk/prod"}, ssm_client=ssm)
    assert secrets.get("TWILIO_AUTH_TOKEN") == "t0k"
    assert secrets.get("SENDGRID_API_KEY") == "SG.x"
    with pytest.raises(ConfigError, match="REPLY_TOKEN_SECRET is not set"):
        secrets.get("REPLY_TOKEN_SECRET")
    with pytest.raises(ValueError, match="unknown secret"):
        deploy.put_secrets(ssm, "prod", {"AWS_SECRET": "x"})


def test_batch_item_failures_are_switched_on_for_the_timers_event_source(fresh_aws: str) -> None:
    outputs = emulator.provision(fresh_aws)
    lam, iam = boto3.client("lambda"), boto3.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    lam.create_function(
        FunctionName="relaydesk-prod-on_timer",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    queue_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=outputs["TimersQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="relaydesk-prod-on_timer"
    )
    assert deploy.enable_timer_batch_failures(lam, "prod") == 1
    [mapping] = lam.list_event_source_mappings(FunctionName="relaydesk-prod-on_timer")[
        "EventSourceMappings"
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert deploy.enable_timer_batch_failures(lam, "prod") == 0  # already on


def test_make_deploy_dry_run_against_the_emulator(
    fresh_aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from relaydesk.cli import main

    assert main(["deploy", "--stage", "prod", "--endpoint-url", fresh_aws, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "infra: table relaydesk" in out
    assert "dry run: would run" in out
    assert "deploy --stage prod" in out
    stacks = boto3.client("cloudformation").describe_stacks(StackName="relaydesk-prod-data")
    assert stacks["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
