"""The e2e test proves policy-dev.json against every AWS call the app makes; prod must grant
exactly the same, on its own SSM path."""

from __future__ import annotations

import json

from tests.conftest import ROOT

CHALICE = ROOT / ".chalice"


def test_every_stage_has_a_hand_written_policy_equal_to_dev_but_for_its_secrets() -> None:
    config = json.loads((CHALICE / "config.json").read_text())
    dev = (CHALICE / "policy-dev.json").read_text()
    assert set(config["stages"]) == {"dev", "prod"}  # the loop below checks each
    for stage, settings in config["stages"].items():
        assert settings["autogen_policy"] is False, stage
        policy = (CHALICE / settings["iam_policy_file"]).read_text()
        prefix = settings["environment_variables"]["SECRETS_SSM_PREFIX"]
        assert prefix == f"/relaydesk/{stage}"
        expected = dev.replace("parameter/relaydesk/dev", f"parameter{prefix}")
        # Its own mail bucket (relaydesk-<stage>-mail-<account>-<region>, infra/template.yaml).
        expected = expected.replace(":::relaydesk-dev-mail-", f":::relaydesk-{stage}-mail-")
        assert policy == expected, stage
