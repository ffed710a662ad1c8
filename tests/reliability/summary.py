"""The reliability run's own summary: with `RELAYDESK_SUMMARY=<path>` (`make soak` sets it),
the session writes a markdown file of what it measured: the burst's figures (from
`figure()`), every hypothesis test's examples and the answers it saw (hypothesis's own
statistics: `event()` counts), and every test's outcome. tests/reliability/README.md links
to that file instead of copying its figures. Without the variable nothing is written.

Hypothesis hands its statistics to `hypothesis.statistics.describe_statistics` (called by
its pytest plugin for every test); `capture_statistics` wraps that function to keep the raw
figures as well, keyed by the test's node id.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.statistics

ROOT = Path(__file__).resolve().parent.parent.parent
SUMMARY_ENV = "RELAYDESK_SUMMARY"
TOP_EVENTS = 6
HYPOTHESIS_OWN_EVENTS = ("Retried draw", "Aborted test", "Rejected draw")
"""Events hypothesis records about its own drawing, not the test's."""


@dataclass
class Fuzzed:
    valid: int
    invalid: int
    failing: int
    generated: int
    """Test cases of the generate phase, which the events are counted over."""
    events: Counter[str]
    stopped_because: str


@dataclass
class Run:
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    clock: float = field(default_factory=time.perf_counter)
    load_start: str = ""
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    fuzzed: dict[str, Fuzzed] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)


RUN = Run()


def figure(name: str, **values: Any) -> None:
    """Record one measured figure of this run (for the summary) and print it (`pytest -s`)."""
    RUN.figures[name] = values
    print(f"\nFIGURE {name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def capture_statistics() -> None:
    original = hypothesis.statistics.describe_statistics
    if getattr(original, "_relaydesk", False):
        return

    def describe(stats: Any) -> str:
        generate = stats.get("generate-phase", {})
        cases = generate.get("test-cases", [])
        every = [c for phase in ("reuse", "generate", "shrink") for c in _cases(stats, phase)]
        statuses = Counter(c["status"] for c in every)
        RUN.fuzzed[stats.get("nodeid", "?")] = Fuzzed(
            valid=statuses["valid"],
            invalid=statuses["invalid"] + statuses["overrun"],
            failing=statuses["interesting"],
            generated=len(cases),
            events=Counter(
                e for c in cases for e in c["events"] if not e.startswith(HYPOTHESIS_OWN_EVENTS)
            ),
            stopped_because=str(stats.get("stopped-because", "")),
        )
        return str(original(stats))

    describe._relaydesk = True  # type: ignore[attr-defined]
    hypothesis.statistics.describe_statistics = describe  # type: ignore[assignment]


def _cases(stats: Any, phase: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = stats.get(f"{phase}-phase", {}).get("test-cases", [])
    return cases


def _git(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 - git, on this repository
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _short(nodeid: str) -> str:
    return nodeid.removeprefix("tests/reliability/")


def render(run: Run, *, commit: str, dirty: bool, load_end: str, seconds: float) -> str:
    profile = hypothesis.settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "relaydesk"))
    outcomes = Counter(run.outcomes.values())
    parts = [
        "# Reliability run: figures",
        "Written by the run itself (tests/reliability/summary.py, with "
        f"`{SUMMARY_ENV}` set: `make soak` does); re-run to replace it, do not edit it. "
        "What each test proves is in tests/reliability/README.md.",
        _table(
            ("run", ""),
            [
                ("date (UTC)", run.started.strftime("%Y-%m-%d %H:%M")),
                (
                    "commit",
                    f"`{commit or 'unknown'}` "
                    f"({'with uncommitted changes' if dirty else 'clean tree'})",
                ),
                (
                    "hypothesis profile",
                    f"`{os.environ.get('HYPOTHESIS_PROFILE', 'relaydesk')}` "
                    f"(max_examples {profile.max_examples})",
                ),
                ("RELAYDESK_SOAK", os.environ.get("RELAYDESK_SOAK", "unset")),
                ("machine", f"{os.cpu_count()} cores, {platform.machine()}"),
                ("load average (1, 5, 15 min) at start", run.load_start),
                ("load average (1, 5, 15 min) at end", load_end),
                ("Python, hypothesis", f"{platform.python_version()}, {hypothesis.__version__}"),
                ("tests", ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none"),
                ("wall time", f"{seconds:.0f} s"),
            ],
        ),
    ]
    burst = run.figures.get("burst")
    if burst:
        parts += [
            "## Burst (`test_storms.py::test_burst_of_webhooks_from_many_customers`)",
            _table(
                (
                    "webhooks",
                    "customers",
                    "in flight",
                    "posting s",
                    "jobs drained s",
                    "re-posts after a 5xx",
                    "most attempts",
                    "acknowledgements",
                    "hourly cap",
                    "lost",
                ),
                [
                    (
                        f"{burst['webhooks']:,}",
                        f"{burst['customers']:,}",
                        burst["in_flight"],
                        f"{burst['posting_s']:.1f}",
                        f"{burst['jobs_s']:.1f}",
                        burst["reposts"],
                        burst["most_attempts"],
                        burst["acknowledgements"],
                        burst["cap"],
                        burst["lost"],
                    )
                ],
            ),
        ]
    if run.fuzzed:
        rows: list[tuple[object, ...]] = []
        for nodeid, f in sorted(run.fuzzed.items()):
            top = ", ".join(
                f"{event} {100 * count / max(1, f.generated):.0f} %"
                for event, count in f.events.most_common(TOP_EVENTS)
            )
            rows.append(
                (
                    f"`{_short(nodeid)}`",
                    run.outcomes.get(nodeid, "?"),
                    f.valid,
                    f.invalid,
                    f.failing,
                    top or "-",
                    f"{run.durations.get(nodeid, 0.0):.0f}",
                )
            )
        total = sum(f.valid for f in run.fuzzed.values())
        parts += [
            "## Property tests (hypothesis)",
            "Examples run per test (valid: run to the end; invalid: rejected by `assume` or "
            "a filter; failing: found a failure) and the answers seen (`event()`, share of the "
            f"generated examples; the {TOP_EVENTS} most frequent). {total:,} valid examples "
            f"in {len(run.fuzzed)} tests.",
            _table(
                ("test", "outcome", "valid", "invalid", "failing", "answers seen", "s"),
                rows,
            ),
        ]
    others = {name: values for name, values in run.figures.items() if name != "burst"}
    if others:
        parts += [
            "## Other figures",
            "\n".join(
                f"- {name}: " + ", ".join(f"{k} {v}" for k, v in values.items())
                for name, values in others.items()
            ),
        ]
    failed = sorted(n for n, o in run.outcomes.items() if o == "failed")
    parts += ["## Failures", "\n".join(f"- `{_short(n)}`" for n in failed) or "None."]
    return "\n\n".join(parts) + "\n"


def write(path: Path) -> None:
    text = render(
        RUN,
        commit=_git("rev-parse", "--short", "HEAD"),
        dirty=bool(_git("status", "--porcelain", "--untracked-files=no")),
        load_end=_load(),
        seconds=time.perf_counter() - RUN.clock,
    )
    path.write_text(text, encoding="utf-8")


def start() -> None:
    RUN.load_start = _load()
    RUN.clock = time.perf_counter()
    capture_statistics()


def note_report(nodeid: str, when: str, outcome: str, duration: float) -> None:
    if when == "call" or (when == "setup" and outcome != "passed"):
        RUN.outcomes[nodeid] = outcome
        RUN.durations[nodeid] = RUN.durations.get(nodeid, 0.0) + duration


def summary_path() -> Path | None:
    value = os.environ.get(SUMMARY_ENV)
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else ROOT / path
