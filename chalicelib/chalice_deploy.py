"""Plain `chalice deploy` stops before it changes anything; `make deploy` is the way.

Chalice has no switch for what relaydesk's deployment needs (relaydesk/packaging.py):
the timers' and jobs' SQS event sources must report batch item failures, or Lambda deletes
every timer the handler holds for later (reminders and breaches more than 15 minutes away
would never fire) and every job held while a provider asks us to wait; and the queue
functions need the API's URL (PUBLIC_BASE_URL), which only exists once the API does.
`chalice deploy` imports app.py before its first AWS call, to validate the app, so
refusing here leaves the account as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

REFUSAL = """relaydesk: plain `chalice deploy` is not supported, and nothing was changed.
It would deploy the timers and jobs handlers with SQS event sources that do not report
batch item failures: timers held for later would be deleted instead, so reminders and
breaches further away than 15 minutes would silently never fire. It would also leave the
queue functions without PUBLIC_BASE_URL. Deploy with

    make deploy STAGE=<stage>        (or: .venv/bin/relaydesk deploy --stage <stage>)

which packages with `chalice package`, switches ReportBatchItemFailures on, derives the
API's URL, deploys through CloudFormation and wires Twilio and SendGrid to it (README,
"Deploying to a store's AWS account")."""


def is_plain_chalice_deploy(argv: Sequence[str]) -> bool:
    """Whether this process is `chalice deploy` (the console script, or `python -m chalice`)."""
    if not argv:
        return False
    program = PurePath(argv[0])
    chalice = program.name == "chalice" or (
        program.name == "__main__.py" and program.parent.name == "chalice"
    )
    return chalice and "deploy" in argv[1:]


def refuse_plain_chalice_deploy(argv: Sequence[str]) -> None:
    """Raise SystemExit with the reason and the command to use, under `chalice deploy`."""
    if is_plain_chalice_deploy(argv):
        raise SystemExit(REFUSAL)
