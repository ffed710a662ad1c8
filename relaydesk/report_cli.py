"""`relaydesk report <store> [--week YYYY-Www] [--html out.html | --csv dir]`: the weekly
report of any week, built as the Monday e-mail is (chalicelib/flows/report.py), from the
local stack (`--endpoint-url`) or from AWS (the environment's credentials, `--stage`)."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from relaydesk.local_env import local_environment


def report_command(
    store_id: str,
    *,
    week: str | None,
    html: str | None,
    csv_dir: str | None,
    mail: bool = False,
    endpoint_url: str | None,
    stage: str | None,
    sandbox_url: str = "",
) -> int:
    """Prints the plain-text report, or writes the HTML file or the CSV tables, or mails it
    to the store's `report_to` as the Monday schedule does (`mail`; with `--endpoint-url`,
    through the local stack's sandbox at `sandbox_url`)."""
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        for name, value in local_environment(
            app_url="", aws_url=endpoint_url, sandbox_url=sandbox_url
        ).items():
            os.environ.setdefault(name, value)
    if stage and not os.environ.get("SECRETS_SSM_PREFIX"):
        os.environ["SECRETS_SSM_PREFIX"] = f"/relaydesk/{stage}"
    # Imported only now: the table's endpoint is read when the models are defined.
    from chalicelib.composition import Container
    from chalicelib.domain.errors import DeliveryError
    from chalicelib.domain.report import IsoWeek, this_week
    from chalicelib.domain.report_render import csv_tables, render_html, render_text
    from chalicelib.flows.report import build_report, report_mail
    from chalicelib.settings import ConfigError, Settings
    from chalicelib.store.repository import StorageError

    try:
        c = Container(Settings.from_env())
        store = c.stores.by_id(store_id)
        if store is None:
            known = ", ".join(s.store_id for s in c.stores.all())
            print(f"no store {store_id!r} is configured (known: {known})", file=sys.stderr)
            return 2
        try:
            chosen = IsoWeek.parse(week) if week else this_week(c.clock(), store.calendar.timezone)
        except ValueError as exc:
            print(f"relaydesk report: {exc}", file=sys.stderr)
            return 2
        built = build_report(c, store, chosen)
    except (ConfigError, StorageError) as exc:
        print(f"relaydesk report: {exc}", file=sys.stderr)
        return 1
    if mail:
        if not store.report_to:
            print(f"store {store_id!r} has no report_to addresses", file=sys.stderr)
            return 2
        try:
            c.mailer.send(report_mail(store, built))
        except DeliveryError as exc:
            print(f"relaydesk report: {exc}", file=sys.stderr)
            return 1
        print(f"mailed the report of {chosen} to {', '.join(store.report_to)}")
    elif html:
        Path(html).write_text(render_html(built), encoding="utf-8")
        print(f"wrote {html} ({store_id}, week {chosen})")
    elif csv_dir:
        folder = Path(csv_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in csv_tables(built).items():
            with (folder / name).open("w", newline="", encoding="utf-8") as out:
                csv.writer(out).writerows(rows)
        print(f"wrote {len(csv_tables(built))} CSV files to {folder} ({store_id}, week {chosen})")
    else:
        print(render_text(built), end="")
    return 0
