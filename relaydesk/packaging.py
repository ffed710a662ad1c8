"""`relaydesk package OUT`: `chalice package`, then what Chalice has no switch for.

The timers handler reports partial batch failures (held and failed timers stay on the
queue); Lambda honours that only when the event source has
`FunctionResponseTypes: [ReportBatchItemFailures]`. Deploy the patched template
(`aws cloudformation deploy --template-file OUT/sam.json ...`), not `chalice deploy`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

BATCH_FAILURE_QUEUES = ("relaydesk-timers",)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def written_languages() -> frozenset[str]:
    """The built-in acknowledgement languages and every store's own template languages."""
    from chalicelib.config import DEFAULT_STORES_FILE, load_stores
    from chalicelib.domain.ack import BUILTIN_LANGUAGES

    stores = load_stores(DEFAULT_STORES_FILE)
    own = {lang.split("_")[0] for store in stores.all() for lang in store.ack_templates}
    return frozenset(
        BUILTIN_LANGUAGES | own | {store.locale.split("_")[0] for store in stores.all()}
    )


def package(out: Path, stage: str = "dev") -> int:
    chalice = Path(sys.executable).with_name("chalice")
    out = out.resolve()
    subprocess.run(  # noqa: S603 - chalice, from this venv, in the project it packages
        [str(chalice), "package", "--stage", stage, str(out)], check=True, cwd=PROJECT_ROOT
    )
    sam = out / "sam.json"
    template = json.loads(sam.read_text())
    changed = enable_batch_item_failures(template, BATCH_FAILURE_QUEUES)
    if changed != len(BATCH_FAILURE_QUEUES):
        raise SystemExit(
            f"expected {len(BATCH_FAILURE_QUEUES)} timer event source(s), found {changed}"
        )
    sam.write_text(json.dumps(template, indent=2))
    print(f"{sam}: ReportBatchItemFailures enabled for {', '.join(BATCH_FAILURE_QUEUES)}")
    layer = out / "layer-deployment.zip"
    if layer.exists():
        before, after = slim_layer(layer, written_languages())
        print(
            f"{layer}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB (runtime-provided boto3 "
            "stack and unused Babel locales left out)"
        )
    return 0
