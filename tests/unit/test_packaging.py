from __future__ import annotations

from typing import Any

from relaydesk.packaging import enable_batch_item_failures


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
