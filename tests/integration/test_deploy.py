"""The deploy steps that can run offline, against moto's CloudFormation, S3, SSM and Lambda.

moto creates a change set of the app's SAM template but cannot execute it (it has no SAM
transform): the change-set deploy itself is tested with a plain template, the app's
template up to its change set (`--dry-run`)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.settings import ConfigError, Secrets
from relaydesk import deploy, emulator, sandbox
from relaydesk.packaging import Package
from tests.conftest import ROOT


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
    bucket = boto3.client("s3").get_bucket_encryption(Bucket=outputs["DeploymentBucketName"])
    rule = bucket["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
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
    # Each connected store's shop credentials are secrets of their own.
    assert deploy.put_secrets(ssm, "prod", {"SHOPIFY_ACCESS_TOKEN_DEMO": "shpat_x"}) == [
        "/relaydesk/prod/SHOPIFY_ACCESS_TOKEN_DEMO"
    ]
    assert "WOOCOMMERCE_CONSUMER_SECRET_DEMO_WOO" in deploy.shop_secret_names()
    # So is the web chat identity secret of a store that signs its customers in.
    assert "WEBCHAT_IDENTITY_SECRET_DEMO" in deploy.shop_secret_names()


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


def queue_template(visibility: int) -> dict[str, Any]:
    return {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": "changeset-test", "VisibilityTimeout": visibility},
            }
        },
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
    }


def test_a_change_set_creates_updates_and_redeploys_a_stack_without_changes(
    fresh_aws: str,
) -> None:
    cloudformation, sqs = boto3.client("cloudformation"), boto3.client("sqs")

    def visibility() -> str:
        url = sqs.get_queue_url(QueueName="changeset-test")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        return str(attributes["Attributes"]["VisibilityTimeout"])

    def live_stacks() -> set[str]:
        summaries = cloudformation.list_stacks()["StackSummaries"]
        return {s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}

    # A dry run on a stack that does not exist yet lists the changes and leaves nothing.
    dry = deploy.deploy_change_set(cloudformation, "app", queue_template(30), execute=False)
    assert dry == ({}, ["Add AWS::SQS::Queue Queue"])
    assert "app" not in live_stacks()

    # (moto leaves the outputs of a stack made by a change set empty; AWS fills them.)
    outputs, changes = deploy.deploy_change_set(cloudformation, "app", queue_template(30))
    assert changes == ["Add AWS::SQS::Queue Queue"]
    assert visibility() == "30"

    _, changes = deploy.deploy_change_set(cloudformation, "app", queue_template(60), execute=False)
    assert [change.split()[:2] for change in changes] == [["Modify", "AWS::SQS::Queue"]]
    assert visibility() == "30"  # a dry run changes nothing

    again, changes = deploy.deploy_change_set(cloudformation, "app", queue_template(60))
    assert again == outputs
    assert visibility() == "60"

    # Nothing to change is not an error, and leaves no change set behind.
    again, changes = deploy.deploy_change_set(cloudformation, "app", queue_template(60))
    assert (again, changes) == (outputs, [])
    left = cloudformation.list_change_sets(StackName="app")["Summaries"]
    assert {s["ExecutionStatus"] for s in left} <= {"EXECUTE_COMPLETE"}  # AWS drops even those


def test_packages_are_uploaded_once_by_content_and_the_template_points_at_them(
    fresh_aws: str, tmp_path: Path
) -> None:
    outputs = deploy.deploy_stack(boto3.client("cloudformation"), "relaydesk-prod-data", {})
    bucket = outputs["DeploymentBucketName"]
    zips = []
    for name, content in (("deployment.zip", "app"), ("layer-deployment.zip", "deps")):
        zips.append(tmp_path / name)
        with zipfile.ZipFile(zips[-1], "w") as archive:
            archive.writestr("x.py", content)
    built = Package(tmp_path, tmp_path / "sam.json", zips[0], zips[1], {})
    s3 = boto3.client("s3")
    puts: list[str] = []
    s3.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append("put"))
    uris = deploy.upload_package(s3, bucket, "prod", built)
    assert set(uris) == {"./deployment.zip", "./layer-deployment.zip"}
    assert uris["./deployment.zip"].startswith(f"s3://{bucket}/prod/")
    assert len(puts) == 2
    assert deploy.upload_package(s3, bucket, "prod", built) == uris
    assert len(puts) == 2  # the same bytes are not uploaded again

    template = {
        "Resources": {
            "Layer": {"Properties": {"ContentUri": "./layer-deployment.zip"}},
            "Fn": {"Properties": {"CodeUri": "./deployment.zip", "Runtime": "python3.11"}},
        }
    }
    assert deploy.point_at_uploads(template, uris) == 2
    assert template["Resources"]["Fn"]["Properties"]["CodeUri"] == uris["./deployment.zip"]
    with pytest.raises(ValueError, match="was not uploaded"):
        deploy.point_at_uploads({"Resources": {"F": {"Properties": {"CodeUri": "./x.zip"}}}}, {})


def test_make_deploy_dry_run_against_the_emulator(
    fresh_aws: str,
    capsys: pytest.CaptureFixture[str],
    sandbox_url: str,
    outbox: sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relaydesk.cli import main

    # What `make secrets` stores; the providers' calls go to the sandbox (--endpoint-url).
    deploy.put_secrets(
        boto3.client("ssm"),
        "prod",
        {
            "TWILIO_AUTH_TOKEN": "prod-twilio-token",
            "SENDGRID_API_KEY": "SG.prod",
            "INBOUND_PARSE_PASSWORD": "prod-parse-password",
        },
    )
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "2" * 32)
    outbox.accounts.reset()
    argv = ["--sandbox-url", sandbox_url, "deploy", "--stage", "prod"]
    assert main([*argv, "--endpoint-url", fresh_aws, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "infra: table relaydesk" in out
    stacks = boto3.client("cloudformation").describe_stacks(StackName="relaydesk-prod-data")
    assert stacks["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

    # What would be deployed: the slim package with bytecode, uploaded, and pointed at.
    deployed = json.loads((deploy.BUILD_ROOT / "prod" / "deployed.json").read_text())
    resources = deployed["Resources"]
    bucket = stacks["Stacks"][0]["Outputs"]
    bucket = next(o["OutputValue"] for o in bucket if o["OutputKey"] == "DeploymentBucketName")
    s3 = boto3.client("s3")
    for uri in (
        resources["APIHandler"]["Properties"]["CodeUri"],
        resources["ManagedLayer"]["Properties"]["ContentUri"],
    ):
        assert uri.startswith(f"s3://{bucket}/prod/")
        key = uri.removeprefix(f"s3://{bucket}/")
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        assert 0 < size < 30 * 1024 * 1024
    timers = resources["OnTimer"]["Properties"]
    assert timers["FunctionName"] == "relaydesk-prod-on_timer"
    [event] = timers["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    [event] = resources["OnJob"]["Properties"]["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert resources["APIHandler"]["Properties"]["FunctionName"] == "relaydesk-prod"

    assert "dry run: would deploy" in out
    assert "as the stack relaydesk-prod-app" in out
    assert "Add AWS::Serverless::Function OnTimer" in out
    names = {
        s["StackName"]
        for s in boto3.client("cloudformation").list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    assert "relaydesk-prod-app" not in names  # nothing deployed on the Lambda side

    # The queue functions get the API's URL from the same template; the API reads requests.
    derived = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    for name in ("OnTimer", "OnJob", "OnParked"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["PUBLIC_BASE_URL"] == derived
    assert (
        "PUBLIC_BASE_URL" not in resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    )

    # The providers' wiring it would make (no API yet: its URL as a placeholder), unmade.
    base = "https://<api-id>.execute-api.<region>.amazonaws.com/api"
    assert f"providers sync for {base} (dry run, nothing is changed):" in out
    assert "  twilio +15005550006 (store demo): would change" in out
    assert f"      sms_fallback_url: '' -> '{base}/webhooks/twilio/fallback'" in out
    assert f"      voice_url: '' -> '{base}/webhooks/twilio/voice'" in out
    assert f"      voice_fallback_url: '' -> '{base}/webhooks/twilio/voice/fallback'" in out
    assert "  sendgrid inbound parse reply.example.com (the reply domain): would create" in out
    assert "prod-parse-password" not in out
    assert outbox.accounts.changes() == []


def test_plain_chalice_deploy_stops_before_it_changes_anything(fresh_aws: str) -> None:
    """`chalice deploy` imports app.py to validate it before its first AWS call: refused
    there, the emulated account has no function, role or API afterwards."""
    import os
    import subprocess
    import sys

    chalice = Path(sys.executable).with_name("chalice")
    environ = {**os.environ, "AWS_ENDPOINT_URL": fresh_aws}
    done = subprocess.run(  # noqa: S603 - this venv's chalice, in the project
        [str(chalice), "deploy", "--stage", "dev"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode != 0
    assert "plain `chalice deploy` is not supported, and nothing was changed" in done.stderr
    assert "make deploy STAGE=<stage>" in done.stderr
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("apigateway").get_rest_apis()["items"] == []
    roles = boto3.client("iam").list_roles()["Roles"]
    assert [r["RoleName"] for r in roles if r["RoleName"].startswith("relaydesk")] == []
