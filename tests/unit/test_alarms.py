"""Every alarm in infra/template.yaml can fire: it watches a metric, namespace and set of
dimensions that something really publishes (an alarm sees only the exact dimension set it
names, so a mismatch is an alarm that stays quiet for ever)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load

from chalicelib.metrics import NAMESPACE, PUBLISHED
from relaydesk.packaging import name_api, name_functions

# Importing the app imports botocore, whose vendored urllib3 probes for IPv6 with a socket
# (refused here, and caught by urllib3).
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE: dict[str, Any] = load(str(ROOT / "infra" / "template.yaml"))
ALARMS = {
    name: r["Properties"]
    for name, r in TEMPLATE["Resources"].items()
    if r["Type"] == "AWS::CloudWatch::Alarm"
}
CHALICE = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGE = "dev"  # the Sub strings name ${Stage}; what holds for one stage holds for both

# What AWS publishes for each namespace we alarm on, and by which dimensions.
AWS_METRICS = {
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible"}, ("QueueName",)),
    "AWS/Lambda": ({"Errors", "Throttles"}, ("FunctionName",)),
    "AWS/ApiGateway": ({"5XXError", "4XXError", "Latency", "Count"}, ("ApiName", "Stage")),
}


def rendered(value: Any) -> Any:
    """A dimension value as CloudFormation would render it for STAGE."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${Stage}", STAGE)
    return value


def packaged_names() -> tuple[set[str], str]:
    """The function and API names `relaydesk package` gives the app's resources."""
    from app import app

    handlers = {"app"} | {source.name for source in app.event_sources}
    template = {
        "Resources": {
            **{
                h: {"Type": "AWS::Serverless::Function", "Properties": {"Handler": f"app.{h}"}}
                for h in handlers
            },
            "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {}},
        }
    }
    functions = set(name_functions(template, CHALICE["app_name"], STAGE).values())
    return functions, name_api(template, CHALICE["app_name"], STAGE)


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_each_alarm_watches_what_is_published(alarm: str) -> None:
    properties = ALARMS[alarm]
    dimensions = {d["Name"]: rendered(d["Value"]) for d in properties.get("Dimensions", [])}
    namespace, metric = properties["Namespace"], properties["MetricName"]
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    if namespace == NAMESPACE:
        published = {(m.name, s) for m in PUBLISHED for s in m.dimension_sets}
        assert (metric, tuple(sorted(dimensions))) in published
        return
    names, keys = AWS_METRICS[namespace]
    assert metric in names
    assert tuple(sorted(dimensions)) == tuple(sorted(keys))
    functions, api = packaged_names()
    if namespace == "AWS/SQS":
        [queue] = dimensions.values()
        assert queue["Fn::GetAtt"][1] == "QueueName"
        assert TEMPLATE["Resources"][queue["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    elif namespace == "AWS/Lambda":
        assert dimensions["FunctionName"] in functions
    else:
        stages = {s["api_gateway_stage"] for s in CHALICE["stages"].values()}
        assert (dimensions["ApiName"], {dimensions["Stage"]}) == (api, stages)


def test_every_function_queue_and_metric_has_an_alarm() -> None:
    watched = {
        (
            p["Namespace"],
            p["MetricName"],
            rendered(d["Value"])
            if not isinstance(d["Value"], dict) or "Fn::Sub" in d["Value"]
            else d["Value"]["Fn::GetAtt"][0],
        )
        for p in ALARMS.values()
        for d in p.get("Dimensions", [{"Value": ""}])
    }
    functions, api = packaged_names()
    for function in functions:
        assert ("AWS/Lambda", "Errors", function) in watched
        assert ("AWS/Lambda", "Throttles", function) in watched
    for queue in ("JobsDeadLetterQueue", "TimersDeadLetterQueue"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue) in watched
    assert ("AWS/ApiGateway", "5XXError", api) in watched
    assert ("AWS/ApiGateway", "Latency", api) in watched
    for metric in PUBLISHED:
        assert (NAMESPACE, metric.name, "") in watched
