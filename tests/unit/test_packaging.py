from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from relaydesk.packaging import enable_batch_item_failures, slim_layer, written_languages


def sqs_function(queue: str) -> dict[str, Any]:
    """The shape `chalice package` writes for an `@app.on_sqs_message` handler."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Events": {
                "Source": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": {
                            "Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}"
                            f":${{AWS::AccountId}}:{queue}"
                        },
                        "BatchSize": 10,
                    },
                }
            }
        },
    }


def test_only_the_timer_queues_event_source_reports_batch_failures() -> None:
    template = {
        "Resources": {
            "OnTimer": sqs_function("relaydesk-timers"),
            "OnJob": sqs_function("relaydesk-jobs"),
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {}},
        }
    }
    assert enable_batch_item_failures(template, ("relaydesk-timers",)) == 1
    timer = template["Resources"]["OnTimer"]["Properties"]["Events"]["Source"]["Properties"]
    job = template["Resources"]["OnJob"]["Properties"]["Events"]["Source"]["Properties"]
    assert timer["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "FunctionResponseTypes" not in job


def test_the_layer_leaves_out_the_runtimes_boto3_and_unused_locales(tmp_path: Path) -> None:
    layer = tmp_path / "layer-deployment.zip"
    site = "python/lib/python3.11/site-packages/"
    kept = [
        f"{site}pynamodb/models.py",
        f"{site}babel/locale-data/root.dat",
        f"{site}babel/locale-data/cs.dat",
        f"{site}babel/locale-data/en_CZ.dat",
        f"{site}urllib3/__init__.py",
        f"{site}sixpack/x.py",
    ]
    dropped = [
        f"{site}botocore/data/s3/2006-03-01/service-2.json.gz",
        f"{site}boto3/__init__.py",
        f"{site}botocore-1.44.5.dist-info/METADATA",
        f"{site}six.py",
        f"{site}dateutil/tz/tz.py",
        f"{site}babel/locale-data/ja.dat",
    ]
    with zipfile.ZipFile(layer, "w") as archive:
        for name in kept + dropped:
            archive.writestr(name, "x" * 100)
    slim_layer(layer, frozenset({"en", "cs"}))
    with zipfile.ZipFile(layer) as archive:
        assert sorted(archive.namelist()) == sorted(kept)


def test_the_languages_kept_cover_the_built_in_wording() -> None:
    assert {"en", "cs", "pl", "de", "fr", "es", "ar", "fa"} <= written_languages()
