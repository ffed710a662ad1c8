from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from relaydesk.packaging import (
    SITE,
    add_bytecode,
    enable_batch_item_failures,
    name_functions,
    slim_layer,
    written_languages,
)
from tests.conftest import ROOT


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


def test_functions_get_the_names_chalice_deploy_gives_them_which_the_alarms_watch() -> None:
    template = {
        "Resources": {
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.app"},
            },
            "OnTimer": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.on_timer"},
            },
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {}},
        }
    }
    names = name_functions(template, "relaydesk", "prod")
    assert names == {"APIHandler": "relaydesk-prod", "OnTimer": "relaydesk-prod-on_timer"}
    alarms = (ROOT / "infra" / "template.yaml").read_text()
    for name in ("relaydesk-${Stage}", "relaydesk-${Stage}-on_timer"):
        assert f'Value: !Sub "{name}"' in alarms


SOURCES = {
    "app.py": "from pkg import mod\nVALUE = mod.VALUE\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": "VALUE = 'compiled'\n",
    "pkg/broken.py": "def (:\n",
    "pkg/__pycache__/mod.cpython-311.pyc": "stale timestamp bytecode",
    "pkg/data.json": "{}",
    f"{SITE}twilio/rest/api/__init__.py": "",
    f"{SITE}twilio/rest/__init__.py": "",
    f"{SITE}twilio/rest/studio/__init__.py": "",
}


def test_every_module_gets_unchecked_hash_bytecode_where_lambda_looks(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, text in SOURCES.items():
            zipped.writestr(name, text)
    result = add_bytecode(archive, "/var/task", workers=1)
    tag = sys.implementation.cache_tag
    assert result.compiled == 5
    assert result.source_only == 1  # twilio/rest/studio
    assert result.failed == ["pkg/broken.py"]
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        pyc = zipped.read(f"pkg/__pycache__/mod.{tag}.pyc")
        info = zipped.getinfo(f"pkg/__pycache__/mod.{tag}.pyc")
        code = marshal.loads(zipped.read(f"__pycache__/app.{tag}.pyc")[16:])  # noqa: S302
    assert set(SOURCES) - {"pkg/__pycache__/mod.cpython-311.pyc"} <= names  # sources kept
    assert f"{SITE}twilio/rest/api/__pycache__/__init__.{tag}.pyc" in names
    assert f"{SITE}twilio/rest/studio/__pycache__/__init__.{tag}.pyc" not in names
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source never checked
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert info.external_attr >> 16 == 0o100644
    assert code.co_filename == "/var/task/app.py"  # as Lambda will find it


def test_the_shipped_bytecode_is_what_python_runs_from_a_read_only_tree(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("app.py", "pkg/__init__.py", "pkg/mod.py"):
            zipped.writestr(name, SOURCES[name])
    add_bytecode(archive, "/var/task", workers=1)
    task = tmp_path / "task"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(task)
    # Lambda's zip entries all say 1980; a pyc that checked the source would notice this.
    (task / "pkg" / "mod.py").write_text("VALUE = 'from source'\n")
    # As Lambda runs it: a fresh interpreter, nothing written next to the code (-B).
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import app, pkg.mod; "
    probe += "print(app.VALUE, pkg.mod.__cached__)"
    result = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-I", "-B", "-c", probe, str(task)],
        capture_output=True,
        text=True,
        check=True,
    )
    value, cached = result.stdout.split()
    assert value == "compiled"
    assert cached == str(task / "pkg" / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc")
