"""`make bench`: run every bench module and write bench/RESULTS.md from what they measured.

Each module runs in a process of its own (`python -m bench.<module> --section <json>`), one
after another, as each sets up its own emulator, environment and imports. Each renders its
own section (method, tables, derived figures, its targets); this runner adds the header
(when, which commit, on what machine and under what load) and each module's wall time, and
writes the file whole. Nothing in RESULTS.md is written by hand: re-run to replace it.

`python -m bench [module ...]` runs only those modules (and still writes the file);
`--output PATH` writes elsewhere (default bench/RESULTS.md).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.report import Section, Target, load, table, targets_table, verdict

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "webhook",
    "timers",
    "flows",
    "coldstart",
    "package_size",
    "answers",
    "answer_time",
    "proactive",
    "weekly_report",
    "voice",
    "webchat",
)

INTRO = """\
Written by `make bench` (`python -m bench`, bench/__main__.py) from the run itself: every
figure below comes from this run; the prose, which says what each module measures and
how, is in the modules (bench/*.py). Re-run to replace the whole file; do not edit it.

Absolute milliseconds depend on the machine and on whatever else runs on it (see the load
average below: on a shared machine they are inflated and noisy). Where a figure is a ratio
to a floor, the floor was measured in the same run, interleaved with what it is compared
to, so it carries the same load; the ratios and the request counts are what carry over to
AWS."""


@dataclass(frozen=True)
class Ran:
    module: str
    section: Section
    seconds: float


def git(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 - git, on this repository
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_module(module: str, folder: Path) -> Ran:
    out = folder / f"{module}.json"
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and modules
        [sys.executable, "-m", f"bench.{module}", "--section", str(out)],
        cwd=ROOT,
        check=True,
        stdout=sys.stderr,  # the module's own print of its section: progress, not output
    )
    return Ran(module, load(out), time.perf_counter() - started)


def header(
    started: datetime,
    commit: str,
    dirty: bool,
    load_start: str,
    load_end: str,
    seconds: float,
    modules: tuple[str, ...],
) -> str:
    state = "with uncommitted changes" if dirty else "clean tree"
    rows = [
        ("date (UTC)", started.strftime("%Y-%m-%d %H:%M")),
        ("commit", f"`{commit or 'unknown'}` ({state})"),
        (
            "command",
            "`make bench`" if modules == MODULES else f"`python -m bench {' '.join(modules)}`",
        ),
        (
            "settings (environment)",
            ", ".join(f"`{k}={v}`" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_"))
            or "the modules' defaults",
        ),
        ("machine", f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}"),
        ("load average (1, 5, 15 min) at start", load_start),
        ("load average (1, 5, 15 min) at end", load_end),
        ("Python", platform.python_version()),
        ("moto", version("moto")),
        ("total wall time", duration(seconds)),
    ]
    return table(("run", ""), rows)


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def render(
    ran: list[Ran],
    started: datetime,
    commit: str,
    dirty: bool,
    load_start: str,
    load_end: str,
    seconds: float,
) -> str:
    modules = tuple(r.module for r in ran)
    parts = [
        "# Benchmark results",
        INTRO,
        header(started, commit, dirty, load_start, load_end, seconds, modules),
    ]
    targets: list[tuple[str, Target]] = [
        (f"`bench.{r.module}`", t) for r in ran for t in r.section.targets
    ]
    if targets:
        parts.append("## Targets")
        parts.append(
            table(
                ("module", "target", "measured", "limit", "verdict"),
                ((s, t.what, t.measured, t.limit, verdict(t.met)) for s, t in targets),
            )
        )
    for r in ran:
        body = [f"## {r.section.title}", r.section.markdown]
        if r.section.targets:
            body.append(targets_table(r.section.targets))
        body.append(f"Wall time: {duration(r.seconds)} (`python -m bench.{r.module}`).")
        parts.append("\n\n".join(body))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    output = ROOT / "bench" / "RESULTS.md"
    if "--output" in argv:
        at = argv.index("--output")
        output = Path(argv[at + 1])
        del argv[at : at + 2]
    modules = tuple(argv) or MODULES
    unknown = set(modules) - set(MODULES)
    if unknown:
        raise SystemExit(f"unknown bench modules: {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    load_start = load_average()
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        ran = [run_module(module, Path(tmp)) for module in modules]
    text = render(
        ran, started, commit, dirty, load_start, load_average(), time.perf_counter() - clock
    )
    output.write_text(text, encoding="utf-8")
    missed = [t.what for r in ran for t in r.section.targets if not t.met]
    print(f"wrote {output}" + (f"; targets missed: {'; '.join(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
