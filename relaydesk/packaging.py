"""`relaydesk package OUT`: `chalice package`, then what Chalice has no switch for.

What `build` does after `chalice package --stage S OUT` (and what `make deploy` ships):

1. `OUT/sam.json`: the timers and jobs handlers report partial batch failures (held and
   failed timers, and jobs held as long as a provider asked, stay on the queue without
   counting as the function's errors); Lambda honours that only when the event source has
   `FunctionResponseTypes: [ReportBatchItemFailures]`, so that is switched on. Each function
   gets the name `chalice deploy` would give it (`relaydesk-<stage>`, `relaydesk-<stage>-on_job`,
   `relaydesk-<stage>-on_timer`), and the REST API is named `relaydesk-<stage>`: the alarms
   in infra/template.yaml watch them by these names. The REST API gets the large-mail route
   (routes.SENDGRID_MAIL: API Gateway's own S3 integration behind app.py's authorizer) and
   every function the mail bucket's name (`add_mail_route`), both imported from the data
   stack's exports.
2. `OUT/layer-deployment.zip` leaves out what the Lambda Python runtime already provides
   (boto3 and what it needs) and Babel locale data for languages we never write in.
3. Both zips get bytecode: for every module, `__pycache__/<name>.cpython-311.pyc`, compiled
   by this interpreter (which must be the runtime's Python: chalice picks the runtime from
   it) as an *unchecked-hash* pyc (PEP 552). Lambda's /var/task and /opt are read-only, so
   without shipped bytecode every cold start compiles every module it imports, and never
   keeps the result. Timestamp pycs would not help: a pyc records its source's mtime and
   size, and zip entries carry their own dates (chalice writes 1980-01-01) and only to two
   seconds, so the interpreter would find them stale and compile anyway. An unchecked-hash
   pyc is used without looking at the source at all, which is right for an archive that
   cannot change once deployed. Code objects name the file where Lambda will find it
   (/var/task/..., /opt/python/...), so tracebacks read as on Lambda. The sources stay
   in the zips (tracebacks show their lines). Twilio's REST domains other than `api`
   (`Client.messages` lives there; the others load only when touched, which the app never
   does) are left as source: their bytecode would add some 5 MB to the zip for nothing.
4. The zips together must stay under the project's budget (BUDGET_BYTES, compressed).
5. The queue functions get PUBLIC_BASE_URL from the API's own URL in the same template
   (`derive_public_base_url`): one deploy, no URL pasted back into the config.

Deploy the result with `relaydesk deploy` (CloudFormation, see relaydesk/deploy.py), or by
hand: upload the zips, point `CodeUri`/`ContentUri` at them, deploy `sam.json`.
"""

from __future__ import annotations

import hashlib
import json
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.settings import DEFAULT_JOBS_QUEUE, DEFAULT_TIMERS_QUEUE

BATCH_FAILURE_QUEUES = (DEFAULT_TIMERS_QUEUE, DEFAULT_JOBS_QUEUE)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
BUDGET_BYTES = 30 * MB  # both zips, compressed: the project's target (issue #8)
# Where Lambda unpacks each zip: the function's code, and the layers.
TASK_ROOT = "/var/task"
LAYER_ROOT = "/opt"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the date chalice gives every entry
CACHE_TAG = sys.implementation.cache_tag  # cpython-311: the runtime's, checked in build()


def enable_batch_item_failures(template: dict[str, Any], queues: tuple[str, ...]) -> int:
    """Turn on ReportBatchItemFailures for the SQS events of these queues; how many."""
    changed = 0
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = json.dumps(event["Properties"].get("Queue"))
            if any(f":{name}" in queue for name in queues):
                event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
                changed += 1
    return changed


def name_functions(template: dict[str, Any], app_name: str, stage: str) -> dict[str, str]:
    """Give each function the name `chalice deploy` gives it; {logical id: name}."""
    names = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        handler = properties["Handler"].rsplit(".", 1)[-1]
        name = f"{app_name}-{stage}" if handler == "app" else f"{app_name}-{stage}-{handler}"
        properties["FunctionName"] = names[logical_id] = name
    return names


def name_api(template: dict[str, Any], app_name: str, stage: str) -> str:
    """Name the REST API `<app>-<stage>` (SAM would use the stack's name): the API Gateway
    alarms in infra/template.yaml find its metrics by this ApiName."""
    name = f"{app_name}-{stage}"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Api":
            resource.setdefault("Properties", {})["Name"] = name
    return name


MAIL_AUTHORIZER = "sendgrid_parse_auth"  # app.py's authorizer, by its function's name


def mail_route(stage: str) -> dict[str, Any]:
    """routes.SENDGRID_MAIL: API Gateway itself writes the post to the mail bucket's raw/
    (an S3 service integration with the data stack's MailUploadRole), after app.py's
    authorizer checked HTTP Basic. No Lambda carries the body, so the limit is API
    Gateway's 10 MB, not Lambda's 6 MB event. The key is API Gateway's request id; the
    Content-Type (with its boundary) and SendGrid's signature headers go with the object
    as its metadata (the object is application/octet-stream). Any S3 failure is a 503:
    SendGrid retries 5xx, and drops 4xx."""
    from chalicelib.channels.sendgrid_inbound import SIGNATURE_HEADER, TIMESTAMP_HEADER
    from chalicelib.mail_files import CONTENT_TYPE_METADATA, SIGNATURE_METADATA, TIMESTAMP_METADATA

    def imported(name: str) -> dict[str, str]:
        return {"Fn::ImportValue": f"relaydesk-{stage}-{name}"}

    headers = {
        f"x-amz-meta-{CONTENT_TYPE_METADATA}": "Content-Type",
        f"x-amz-meta-{SIGNATURE_METADATA}": SIGNATURE_HEADER,
        f"x-amz-meta-{TIMESTAMP_METADATA}": TIMESTAMP_HEADER,
    }
    return {
        "post": {
            "consumes": ["multipart/form-data"],
            "produces": ["application/json"],
            "parameters": [
                {
                    "name": header,
                    "in": "header",
                    "required": header == "Content-Type",
                    "type": "string",
                }
                for header in headers.values()
            ],
            "security": [{MAIL_AUTHORIZER: []}],
            "responses": {
                "200": {"description": "stored", "schema": {"$ref": "#/definitions/Empty"}},
                "503": {"description": "not stored, retry"},
            },
            "x-amazon-apigateway-integration": {
                "type": "aws",
                "httpMethod": "PUT",
                "uri": {
                    "Fn::Sub": [
                        "arn:${AWS::Partition}:apigateway:${AWS::Region}:s3:path/${Bucket}/raw/{key}",
                        {"Bucket": imported("MailBucketName")},
                    ]
                },
                "credentials": imported("MailUploadRoleArn"),
                "passthroughBehavior": "when_no_templates",
                "requestParameters": {
                    "integration.request.path.key": "context.requestId",
                    "integration.request.header.Content-Type": "'application/octet-stream'",
                    **{
                        f"integration.request.header.{target}": f"method.request.header.{source}"
                        for target, source in headers.items()
                    },
                },
                "responses": {
                    "2\\d{2}": {
                        "statusCode": "200",
                        "responseTemplates": {"application/json": '{"status": "received"}'},
                    },
                    "default": {
                        "statusCode": "503",
                        "responseTemplates": {
                            "application/json": '{"error": "temporarily unavailable, please retry"}'
                        },
                    },
                },
            },
        }
    }


def add_mail_route(template: dict[str, Any], stage: str) -> None:
    """Declare routes.SENDGRID_MAIL and its authorizer in the REST API's definition, and
    give every function the mail bucket's name (MAIL_BUCKET). Chalice declares the
    authorizer's function (app.py) but no route of its own uses it, nor can a Chalice
    route be anything but a Lambda."""
    from chalicelib import routes

    resources = template.get("Resources", {})
    api = resources["RestAPI"]["Properties"]["DefinitionBody"]
    api.setdefault("securityDefinitions", {})[MAIL_AUTHORIZER] = {
        "in": "header",
        "type": "apiKey",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": {
            "type": "token",
            "authorizerUri": {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path"
                "/2015-03-31/functions/${SendgridParseAuth.Arn}/invocations"
            },
            "authorizerResultTtlInSeconds": 300,
        },
    }
    api["paths"][routes.SENDGRID_MAIL] = mail_route(stage)
    for resource in resources.values():
        if resource.get("Type") == "AWS::Serverless::Function":
            variables = (
                resource["Properties"].setdefault("Environment", {}).setdefault("Variables", {})
            )
            variables["MAIL_BUCKET"] = {"Fn::ImportValue": f"relaydesk-{stage}-MailBucketName"}


PLACEHOLDER = "REPLACE-WITH"


def derive_public_base_url(template: dict[str, Any]) -> list[str]:
    """PUBLIC_BASE_URL for the functions that run outside a request: the API's own URL,
    as the template's `EndpointURL` output spells it (`https://${RestAPI}.execute-api...`,
    without its trailing slash), resolved by CloudFormation in the same deploy, so that one
    `make deploy` is enough. The API handler is left without it: API Gateway invokes it, so
    a reference back to the API would be a cycle, and it reads the URL from each request.
    A PUBLIC_BASE_URL set in `.chalice/config.json` (a custom domain) is kept everywhere;
    its placeholder is an error. The logical ids given the derived URL."""
    endpoint = template.get("Outputs", {}).get("EndpointURL", {}).get("Value", {})
    if not isinstance(endpoint, dict) or "Fn::Sub" not in endpoint:
        raise SystemExit("the packaged template has no EndpointURL output to derive the URL from")
    derived = {"Fn::Sub": str(endpoint["Fn::Sub"]).rstrip("/")}
    api = json.dumps(
        [
            r.get("Properties", {})
            for r in template.get("Resources", {}).values()
            if r.get("Type") == "AWS::Serverless::Api"
        ]
    )

    def invoked_by_api(logical_id: str) -> bool:
        """The API's handler or authorizer: the API references it, so it cannot refer back."""
        return f"${{{logical_id}.Arn}}" in api

    given = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        configured = variables.get("PUBLIC_BASE_URL")
        if isinstance(configured, str) and configured.strip():
            if PLACEHOLDER in configured:
                raise SystemExit(
                    "PUBLIC_BASE_URL in .chalice/config.json is still a placeholder: remove it "
                    "(the API's URL is derived) or set the custom domain Twilio calls"
                )
            continue
        if properties["Handler"].rsplit(".", 1)[-1] == "app" or invoked_by_api(logical_id):
            variables.pop("PUBLIC_BASE_URL", None)
            continue
        variables["PUBLIC_BASE_URL"] = derived
        given.append(logical_id)
    return given


def runtimes(template: dict[str, Any]) -> set[str]:
    return {
        resource["Properties"]["Runtime"]
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


SITE = "python/lib/python3.11/site-packages/"
# The Lambda Python runtime ships boto3 and what it needs; pynamodb pulls them in again.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py")
RUNTIME_DISTRIBUTIONS = (
    "boto3-",
    "botocore-",
    "s3transfer-",
    "jmespath-",
    "python_dateutil-",
    "six-",
)


def _dropped(name: str, languages: frozenset[str]) -> bool:
    if not name.startswith(SITE):
        return False
    path = name[len(SITE) :]
    top = path.split("/", 1)[0]
    if top in RUNTIME_PROVIDED or (
        top.endswith(".dist-info") and top.startswith(RUNTIME_DISTRIBUTIONS)
    ):
        return True
    if path.startswith("babel/locale-data/") and path.endswith(".dat"):
        locale = path.rsplit("/", 1)[-1].removesuffix(".dat")
        return locale != "root" and locale.split("_", 1)[0] not in languages
    return False


def slim_layer(layer: Path, languages: frozenset[str]) -> tuple[int, int]:
    """Rewrite the layer zip without what the runtime provides and without Babel locale
    data for languages we never write in; (bytes before, bytes after)."""
    before = layer.stat().st_size
    slim = layer.with_suffix(".slim.zip")
    with (
        zipfile.ZipFile(layer) as source,
        zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if not _dropped(info.filename, languages):
                target.writestr(info, source.read(info.filename))
    slim.replace(layer)
    return before, layer.stat().st_size


def source_only(name: str) -> bool:
    """Modules shipped without bytecode: twilio's REST domains the app never loads."""
    prefix = SITE + "twilio/rest/"
    if not name.startswith(prefix):
        return False
    domain, _, rest = name[len(prefix) :].partition("/")
    return bool(rest) and domain != "api"


def _stale_bytecode(name: str) -> bool:
    return name.endswith((".pyc", ".pyo")) or "/__pycache__/" in f"/{name}"


def _compile(job: tuple[str, str, str]) -> bool:
    """One module to an unchecked-hash pyc at an explicit path (whatever
    PYTHONPYCACHEPREFIX says), naming `dfile` as its file; whether it compiled."""
    source, cfile, dfile = job
    try:
        py_compile.compile(
            source,
            cfile=cfile,
            dfile=dfile,
            doraise=True,
            optimize=0,  # Lambda runs python without -O: `<name>.cpython-3xx.pyc`
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        return False
    return True


@dataclass(frozen=True)
class Bytecode:
    compiled: int  # modules that got a pyc
    source_only: int  # modules left as source on purpose
    failed: list[str]  # modules this Python cannot compile (left as source)
    before: int  # zip bytes
    after: int


def add_bytecode(
    archive: Path,
    root: str,
    *,
    skip: Callable[[str], bool] = source_only,
    workers: int = 0,
) -> Bytecode:
    """Rewrite `archive` with an unchecked-hash pyc next to every module (PEP 3147 layout,
    this interpreter's cache tag), code objects naming `root`/<entry> as their file.
    Bytecode already in the zip (timestamp pycs from a developer's tree) is replaced."""
    before = archive.stat().st_size
    with tempfile.TemporaryDirectory(prefix="relaydesk-bytecode-") as tmp:
        tree = Path(tmp) / "tree"
        with zipfile.ZipFile(archive) as source:
            entries = [i for i in source.infolist() if not _stale_bytecode(i.filename)]
            modules = [i.filename for i in entries if i.filename.endswith(".py")]
            wanted = [name for name in modules if not skip(name)]
            jobs = []
            for name in wanted:
                source.extract(name, tree)
                folder, _, leaf = name.rpartition("/")
                cached = f"__pycache__/{leaf.removesuffix('.py')}.{CACHE_TAG}.pyc"
                cached = f"{folder}/{cached}" if folder else cached
                jobs.append((str(tree / name), str(tree / cached), f"{root}/{name}"))
            if workers == 1:
                done = list(map(_compile, jobs))
            else:
                with ProcessPoolExecutor(max_workers=workers or None) as pool:
                    done = list(pool.map(_compile, jobs, chunksize=64))
            pycs = {
                Path(cfile).relative_to(tree).as_posix(): Path(cfile)
                for (_, cfile, _), ok in zip(jobs, done, strict=True)
                if ok
            }
            failed = [name for name, ok in zip(wanted, done, strict=True) if not ok]
            rewritten = Path(tmp) / archive.name
            with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
                for info in entries:
                    target.writestr(info, source.read(info))
                for name, pyc in sorted(pycs.items()):
                    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                    info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
                    info.compress_type = zipfile.ZIP_DEFLATED
                    target.writestr(info, pyc.read_bytes())
        shutil.move(rewritten, archive)
    return Bytecode(
        compiled=len(pycs),
        source_only=len(modules) - len(wanted),
        failed=failed,
        before=before,
        after=archive.stat().st_size,
    )


def written_languages() -> frozenset[str]:
    """The built-in acknowledgement languages and every store's own template languages."""
    from chalicelib.domain.ack import BUILTIN_LANGUAGES
    from chalicelib.settings import DEFAULT_STORES_FILE
    from chalicelib.stores import load_stores

    stores = load_stores(DEFAULT_STORES_FILE)
    own = {lang.split("_")[0] for store in stores.all() for lang in store.ack_templates}
    return frozenset(
        BUILTIN_LANGUAGES | own | {store.locale.split("_")[0] for store in stores.all()}
    )


@dataclass(frozen=True)
class Package:
    directory: Path
    template: Path  # sam.json
    function_zip: Path  # deployment.zip, the code of every function
    layer_zip: Path | None  # layer-deployment.zip, the dependencies
    function_names: dict[str, str]  # logical id -> FunctionName

    @property
    def zips(self) -> list[Path]:
        return [self.function_zip] + ([self.layer_zip] if self.layer_zip else [])

    @property
    def size(self) -> int:
        return sum(z.stat().st_size for z in self.zips)


def app_name() -> str:
    config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
    return str(config["app_name"])


def build(
    out: Path,
    stage: str = "dev",
    environment: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> Package:
    """`chalice package` into `out`, then steps 1-4 of this module's docstring.

    `environment` is the environment `chalice package` runs in: app.py reads the queue
    names from it when Chalice imports the app to find its handlers."""
    chalice = Path(sys.executable).with_name("chalice")
    out = out.resolve()
    subprocess.run(  # noqa: S603 - chalice, from this venv, in the project it packages
        [str(chalice), "package", "--stage", stage, str(out)],
        check=True,
        cwd=PROJECT_ROOT,
        env=dict(environment) if environment is not None else None,
    )
    sam = out / "sam.json"
    template = json.loads(sam.read_text())
    changed = enable_batch_item_failures(template, BATCH_FAILURE_QUEUES)
    if changed != len(BATCH_FAILURE_QUEUES):
        raise SystemExit(
            f"expected {len(BATCH_FAILURE_QUEUES)} SQS event source(s), found {changed}"
        )
    names = name_functions(template, app_name(), stage)
    name_api(template, app_name(), stage)
    add_mail_route(template, stage)
    derived = derive_public_base_url(template)
    sam.write_text(json.dumps(template, indent=2))
    log(f"{sam}: ReportBatchItemFailures enabled for {', '.join(BATCH_FAILURE_QUEUES)}")
    if derived:
        log(f"{sam}: PUBLIC_BASE_URL = the API's EndpointURL for {', '.join(sorted(derived))}")

    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtimes(template) != {runtime}:
        raise SystemExit(
            f"the functions run {', '.join(sorted(runtimes(template)))} but this is {runtime}: "
            "its bytecode would be ignored there; package with the runtime's Python"
        )

    layer = out / "layer-deployment.zip" if (out / "layer-deployment.zip").exists() else None
    if layer:
        before, after = slim_layer(layer, written_languages())
        log(
            f"{layer}: {before / MB:.1f} MB -> {after / MB:.1f} MB (runtime-provided boto3 "
            "stack and unused Babel locales left out)"
        )
    function = out / "deployment.zip"
    for archive, root in ((function, TASK_ROOT), (layer, LAYER_ROOT)):
        if archive is None:
            continue
        result = add_bytecode(archive, root)
        log(
            f"{archive}: {result.before / MB:.1f} MB -> {result.after / MB:.1f} MB with "
            f"unchecked-hash bytecode for {result.compiled} modules ({result.source_only} "
            f"left as source on purpose"
            + (f", {len(result.failed)} not compilable" if result.failed else "")
            + ")"
        )
    built = Package(out, sam, function, layer, names)
    if built.size >= BUDGET_BYTES:
        raise SystemExit(
            f"the zips are {built.size / MB:.1f} MB together, over the "
            f"{BUDGET_BYTES / MB:.0f} MB budget: see bench/package_size.py for what is in them"
        )
    log(f"{out}: {built.size / MB:.1f} MB to upload (budget {BUDGET_BYTES / MB:.0f} MB)")
    return built


def package(out: Path, stage: str = "dev") -> int:
    build(out, stage)
    return 0


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
