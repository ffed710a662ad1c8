"""`make secrets` and `make deploy`: from a clone to a store's AWS account.

1. `relaydesk secrets --stage prod` puts the four secrets in SSM Parameter Store as
   SecureString under /relaydesk/<stage>/ (prompting for each; the reply-token key is
   generated when left empty), then each connected store's shop credentials (optional).
2. `relaydesk deploy --stage prod`:
   - deploys infra/template.yaml as the stack `relaydesk-<stage>-data` (table, queues,
     dead-letter queues, alarms, and the bucket the Lambda packages go to);
   - builds the package as `relaydesk package` does (relaydesk/packaging.py: `chalice
     package`, the slim layer, bytecode, ReportBatchItemFailures for the timers' event
     source, the functions' names) into build/deploy/<stage>/;
   - uploads the two zips to the bucket, keyed by their SHA-256, and points the template
     at them (build/deploy/<stage>/deployed.json);
   - deploys that template as the stack `relaydesk-<stage>-app` through a CloudFormation
     change set (the SAM transform needs one), checks the timers' and jobs' event sources,
     and points the stores' Twilio numbers and SendGrid Inbound Parse at the API
     (`relaydesk providers sync --stage <stage>`, relaydesk/providers_sync.py).
   Plain `chalice deploy` is refused (chalicelib/chalice_deploy.py): it would upload the
   full dependency layer, with the boto3 stack the runtime already has and without
   bytecode, could not switch on ReportBatchItemFailures, and would leave the queue
   functions without PUBLIC_BASE_URL.
`--dry-run` does everything up to the app stack, then creates its change set, prints the
changes it holds and deletes it, and prints the providers' settings that would change;
with `--endpoint-url` all of it runs against an emulator (moto) and the providers' calls go
to the sandbox, as the tests do (moto creates change sets of a SAM template but cannot
execute them).
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import sys
import time
from typing import Any

from chalicelib import routes
from relaydesk.packaging import PROJECT_ROOT, Package, build, digest

TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
BUILD_ROOT = PROJECT_ROOT / "build" / "deploy"
TEMPLATE_BODY_LIMIT = 51_200  # bytes, CloudFormation's limit for TemplateBody
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


def shop_secret_names() -> tuple[str, ...]:
    """Each connected store's shop credentials (SHOPIFY_ACCESS_TOKEN_<STORE>, ...), from the
    stores' configuration: one set per store, so that no store's token opens another's shop;
    and the web chat identity secret of each store that signs its customers in."""
    from chalicelib.commerce.config import secret_name, secret_names, webhook_secret_name
    from chalicelib.settings import DEFAULT_STORES_FILE
    from chalicelib.stores import load_stores

    stores = load_stores(DEFAULT_STORES_FILE).all()
    shops = tuple(
        name
        for store in stores
        if store.commerce is not None
        for name in (
            *secret_names(store.store_id, store.commerce),
            webhook_secret_name(store.store_id, store.commerce),
        )
    )
    # The web chat's identity secret, shared with the shop's theme (README, "Web chat").
    widgets = tuple(
        secret_name("WEBCHAT_IDENTITY_SECRET", store.store_id)
        for store in stores
        if store.webchat.enabled and store.webchat.identity
    )
    return shops + widgets


META_SECRET_NAMES = ("META_APP_SECRET", "META_VERIFY_TOKEN")
"""The deployment's Meta app: asked for when a store has a page or Instagram account."""


def meta_secret_names() -> tuple[str, ...]:
    """The Meta app's two secrets and each connected store's page token
    (META_PAGE_TOKEN_<STORE>); none when no store has a `meta` section."""
    from chalicelib.domain.meta_config import page_token_name
    from chalicelib.settings import DEFAULT_STORES_FILE
    from chalicelib.stores import load_stores

    stores = [s for s in load_stores(DEFAULT_STORES_FILE).all() if s.meta is not None]
    if not stores:
        return ()
    return (*META_SECRET_NAMES, *(page_token_name(s.store_id) for s in stores))


def mail_retention_days() -> str:
    """The mail bucket's attachments expire after the longest retention_days of the
    configured stores (one bucket-wide rule: a store that keeps less has its threads
    expire first, and their links with them)."""
    from chalicelib.settings import DEFAULT_STORES_FILE
    from chalicelib.stores import load_stores

    return str(max(store.retention_days for store in load_stores(DEFAULT_STORES_FILE).all()))


def put_secrets(ssm: Any, stage: str, values: dict[str, str]) -> list[str]:
    """SecureString parameters under /relaydesk/<stage>/; the names written."""
    known = SECRET_NAMES + shop_secret_names() + meta_secret_names()
    written = []
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"unknown secret {name}; expected one of {', '.join(known)}")
        path = f"/relaydesk/{stage}/{name}"
        ssm.put_parameter(Name=path, Value=value, Type="SecureString", Overwrite=True)
        written.append(path)
    return written


BATCH_FAILURE_HANDLERS = ("on_timer", "on_job")
"""The handlers that return batchItemFailures (app.py): their event sources must say so."""


def enable_batch_failures(
    lambda_client: Any, stage: str, handlers: tuple[str, ...] = BATCH_FAILURE_HANDLERS
) -> int:
    """ReportBatchItemFailures on these handlers' event sources; how many changed. Without
    it Lambda deletes a whole batch whose handler returned: held timers and held jobs."""
    changed = 0
    for handler in handlers:
        mappings = lambda_client.list_event_source_mappings(
            FunctionName=f"relaydesk-{stage}-{handler}"
        )
        for mapping in mappings["EventSourceMappings"]:
            if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
                lambda_client.update_event_source_mapping(
                    UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"]
                )
                changed += 1
    return changed


def enable_timer_batch_failures(lambda_client: Any, stage: str) -> int:
    """ReportBatchItemFailures on the timers handler's event source; how many changed."""
    return enable_batch_failures(lambda_client, stage, ("on_timer",))


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
    for name in (*shop_secret_names(), *meta_secret_names()):
        # Optional: a store whose shop is not connected yet is answered as before (the
        # acknowledgement and the agents), and the answer flow says why in the logs.
        value = getpass.getpass(f"{name} (input hidden, empty = not now): ")
        if value:
            values[name] = value
    for path in put_secrets(boto3.client("ssm", endpoint_url=endpoint_url), stage, values):
        print(f"stored {path} (SecureString)")
    return 0


def upload_package(s3: Any, bucket: str, stage: str, built: Package) -> dict[str, str]:
    """Put each zip in the bucket under its SHA-256 (not again if it is there: the build
    is reproducible); the template's relative URI (`./deployment.zip`) -> its `s3://` URI."""
    uris = {}
    for archive in built.zips:
        key = f"{stage}/{digest(archive)}/{archive.name}"
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError:
            s3.upload_file(str(archive), bucket, key)
        uris[f"./{archive.name}"] = f"s3://{bucket}/{key}"
    return uris


def point_at_uploads(template: dict[str, Any], uris: dict[str, str]) -> int:
    """Replace the local `CodeUri`/`ContentUri` of every function and layer with the
    uploaded zip's URI; how many were replaced (a missing upload is an error)."""
    replaced = 0
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            if field in properties:
                local = properties[field]
                if local not in uris:
                    raise ValueError(f"{logical_id}.{field}: {local} was not uploaded")
                properties[field] = uris[local]
                replaced += 1
    return replaced


def deploy_change_set(
    cloudformation: Any,
    name: str,
    template: dict[str, Any],
    *,
    execute: bool = True,
    poll_seconds: float | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Deploy `template` as the stack `name` through a change set, as `aws cloudformation
    deploy` does (the SAM transform needs one); (its outputs, its changes as "Action Type
    Resource" lines). Nothing to change is not an error. With execute=False the change set
    is described, then deleted (with the empty stack a first one creates): a dry run."""
    poll = poll_seconds
    if poll is None:
        poll = 5 if "amazonaws.com" in str(cloudformation.meta.endpoint_url) else 0.1
    status = _status(cloudformation, name)
    if status == "ROLLBACK_COMPLETE" and execute:  # a first deploy failed: start over
        cloudformation.delete_stack(StackName=name)
        while (status := _status(cloudformation, name)) not in (None, "DELETE_COMPLETE"):
            if status == "DELETE_FAILED":
                raise RuntimeError(f"stack {name}: DELETE_FAILED, see its events")
            time.sleep(poll)
    new = status in (None, "REVIEW_IN_PROGRESS", "DELETE_COMPLETE")
    change_set = f"relaydesk-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    body = json.dumps(template, separators=(",", ":"))
    if len(body) > TEMPLATE_BODY_LIMIT:
        raise ValueError(
            f"the template is {len(body)} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT} "
            "for an inline template"
        )
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="CREATE" if new else "UPDATE",
        TemplateBody=body,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + 10 * 60
    while True:
        described = cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"change set {change_set} of {name}: {described['Status']}")
        time.sleep(poll)
    changes = [
        " ".join(
            str(part)
            for part in (
                change["ResourceChange"].get("Action", ""),
                change["ResourceChange"].get("ResourceType", ""),
                change["ResourceChange"].get("PhysicalResourceId")
                or change["ResourceChange"].get("LogicalResourceId", ""),
            )
        )
        for change in described.get("Changes", [])
    ]
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        if new:  # creating the change set created an empty stack to hold it
            cloudformation.delete_stack(StackName=name)
        if "didn't contain changes" in reason or "No updates are to be performed" in reason:
            return (_outputs(cloudformation, name) if not new else {}), []
        raise RuntimeError(f"change set {change_set} of {name} failed: {reason}")
    if not execute:
        cloudformation.delete_change_set(StackName=name, ChangeSetName=change_set)
        if new:
            cloudformation.delete_stack(StackName=name)
        return {}, changes
    cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
    deadline = time.monotonic() + 30 * 60
    while True:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return _outputs(cloudformation, name), changes
        if status.endswith(("FAILED", "ROLLBACK_COMPLETE")) or time.monotonic() > deadline:
            raise RuntimeError(f"stack {name}: {status} {stack.get('StackStatusReason', '')}")
        time.sleep(poll)


def _status(cloudformation: Any, name: str) -> str | None:
    try:
        return str(cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except cloudformation.exceptions.ClientError:
        return None


def _outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy_command(
    stage: str,
    alarm_email: str,
    endpoint_url: str | None,
    dry_run: bool,
    sandbox_url: str | None = None,
) -> int:
    """`sandbox_url`: with `endpoint_url` (an emulator), the providers are the sandbox's."""
    import boto3

    from relaydesk.providers_sync import sync

    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    outputs = deploy_stack(
        cloudformation,
        f"relaydesk-{stage}-data",
        {"Stage": stage, "AlarmEmail": alarm_email, "MailRetentionDays": mail_retention_days()},
    )
    print(
        f"infra: table {outputs['TableName']}, queues {outputs['JobsQueueUrl']}, "
        f"{outputs['TimersQueueUrl']}, packages in s3://{outputs['DeploymentBucketName']}"
    )
    # app.py names the queues its SQS handlers listen to from these, when chalice imports it.
    environment = {
        **os.environ,
        "TABLE_NAME": outputs["TableName"],
        "JOBS_QUEUE_NAME": outputs["JobsQueueUrl"].rsplit("/", 1)[-1],
        "TIMERS_QUEUE_NAME": outputs["TimersQueueUrl"].rsplit("/", 1)[-1],
        "INBOX_QUEUE_NAME": outputs["InboxQueueUrl"].rsplit("/", 1)[-1],
    }
    out = BUILD_ROOT / stage
    shutil.rmtree(out, ignore_errors=True)
    built = build(out, stage, environment)
    template = json.loads(built.template.read_text())
    uris = upload_package(
        boto3.client("s3", endpoint_url=endpoint_url),
        outputs["DeploymentBucketName"],
        stage,
        built,
    )
    point_at_uploads(template, uris)
    deployed = built.directory / "deployed.json"
    deployed.write_text(json.dumps(template, indent=2))
    for uri in uris.values():
        print(f"package: {uri}")
    name = f"relaydesk-{stage}-app"
    app_outputs, changes = deploy_change_set(cloudformation, name, template, execute=not dry_run)
    if dry_run:
        print(f"dry run: would deploy {deployed} as the stack {name}:")
        for change in changes or ["(no changes)"]:
            print(f"  {change}")
        # The providers' wiring as it would change (the API's URL as deployed, if it is).
        return sync(
            stage=stage,
            base_url=None,
            dry_run=True,
            sandbox_url=sandbox_url,
            endpoint_url=endpoint_url,
        )
    for change in changes or ["no changes"]:
        print(f"app: {change}")
    # The template already asks for it; this checks that the deployed event sources have it.
    changed = enable_batch_failures(boto3.client("lambda", endpoint_url=endpoint_url), stage)
    print(
        "timers and jobs: ReportBatchItemFailures on"
        + (f" (had to switch it on for {changed} event source(s))" if changed else "")
    )
    url = app_outputs["EndpointURL"].rstrip("/")
    print(f"app: the API is at {url}")
    print(f"""
Meta (the app's Messenger and Instagram webhooks, set by hand in the Meta app: Callback URL,
Verify token = META_VERIFY_TOKEN; fields messages, messaging_postbacks, message_echoes):
  {url}{routes.META}
""")
    # Twilio's numbers and SendGrid's Inbound Parse pointed at it (relaydesk/providers_sync.py).
    wired = sync(
        stage=stage,
        base_url=None,
        dry_run=False,
        sandbox_url=sandbox_url,
        endpoint_url=endpoint_url,
    )
    if wired != 0:
        print(
            "The app is deployed, but the providers are not all wired to it: fix what is said "
            f"above, then run `.venv/bin/relaydesk providers sync --stage {stage}`."
        )
    return wired
