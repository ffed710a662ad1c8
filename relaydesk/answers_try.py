"""`relaydesk answers try`: what automation would do with a message, before customers ask.

It runs the answer job's own decision (chalicelib/flows/answer.py `automatic_reply`): the
store's configuration, the matcher, the shop (the local sandbox, or the real shop when
`--stage` names a deployment's secrets in SSM) and the identity check. Nothing is stored,
sent or queued: only the shop is read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from relaydesk.local_env import local_environment

if TYPE_CHECKING:
    from chalicelib.composition import Container
    from chalicelib.flows.answer import Outcome
    from chalicelib.stores import StoreConfig


def try_command(args: argparse.Namespace, *, sandbox_url: str) -> int:
    if args.batch == bool(args.message):
        print("give one message, or --batch and messages on standard input", file=sys.stderr)
        return 2
    container = _container(args.stage, sandbox_url)
    store = container.stores.by_id(args.store)
    if store is None:
        known = ", ".join(s.store_id for s in container.stores.all())
        print(f"no store {args.store!r} is configured (known: {known})", file=sys.stderr)
        return 2
    sender = _sender(args.sender, args.channel)
    messages: Iterable[str] = (
        (line.rstrip("\n") for line in sys.stdin if line.strip()) if args.batch else [args.message]
    )
    for message in messages:
        outcome = _try(container, store, sender, message)
        if args.json:
            print(json.dumps(outcome.as_json(), ensure_ascii=False), flush=True)
        else:
            print(_plain(message, outcome), flush=True)
    return 0


def _container(stage: str | None, sandbox_url: str) -> Container:
    """Against AWS with `--stage` (the deployment's secrets); else the local stack's fixed
    settings, with the sandbox's shops."""
    from chalicelib.composition import Container
    from chalicelib.settings import Settings

    environ = dict(os.environ)
    if stage:
        environ.setdefault("SECRETS_SSM_PREFIX", f"/relaydesk/{stage}")
    else:
        local = local_environment(app_url="", aws_url="", sandbox_url=sandbox_url)
        environ = {**local, **{k: v for k, v in environ.items() if k == "STORES_FILE"}}
    return Container(Settings(environ))


def _sender(address: str | None, channel: str | None) -> str | None:
    """The address as that channel's provider gives it ('whatsapp:+420…' on WhatsApp)."""
    if address is None:
        return None
    if channel == "whatsapp" and not address.startswith("whatsapp:"):
        return f"whatsapp:{address}"
    return address


def _try(container: Container, store: StoreConfig, sender: str | None, message: str) -> Outcome:
    from chalicelib.flows.answer import automatic_reply

    return automatic_reply(container, store, sender=sender, body=message)


def _plain(message: str, outcome: Outcome) -> str:
    confidence = "" if outcome.confidence is None else f", confidence {outcome.confidence:.2f}"
    kind = f" {outcome.kind}" if outcome.kind else ""
    lines = [
        f"message:  {message}",
        f"decision: {outcome.decision}{kind} ({outcome.language or 'language unknown'}"
        f"{confidence})",
        *(f"because:  {reason}" for reason in outcome.reasons),
    ]
    if outcome.text:
        lines.append("would send:")
        lines.extend(f"  {line}" for line in outcome.text.splitlines())
    elif outcome.decision == "handoff":
        lines.append("would do: acknowledge, and hand the conversation to the agents")
    else:
        lines.append("would do: the usual acknowledgement, and the agents")
    return "\n".join(lines) + "\n"
