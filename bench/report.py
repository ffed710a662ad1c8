"""What every bench module hands to the runner (`python -m bench`): one section of
bench/RESULTS.md, rendered from the run's own data, and the targets it checked.

A module run alone (`python -m bench.webhook`) prints its section; run by the runner
(`--section PATH`), it also writes the section as JSON for the runner to assemble.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """One promise and what this run measured against it."""

    what: str
    measured: str
    limit: str
    met: bool


@dataclass(frozen=True)
class Section:
    title: str
    markdown: str
    """The section's body (method, tables, derived figures), without its `##` title."""
    targets: tuple[Target, ...] = field(default_factory=tuple)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; cells are written as given (format numbers before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "**MISSED**"


def targets_table(targets: Sequence[Target]) -> str:
    return table(
        ("target", "measured", "limit", "verdict"),
        ((t.what, t.measured, t.limit, verdict(t.met)) for t in targets),
    )


def emit(section: Section, argv: Sequence[str] | None = None) -> None:
    """Print the section; with `--section PATH`, write it there as JSON too."""
    args = list(sys.argv[1:] if argv is None else argv)
    print(f"## {section.title}\n\n{section.markdown}")
    if section.targets:
        print("\n" + targets_table(section.targets))
    if "--section" in args:
        path = Path(args[args.index("--section") + 1])
        path.write_text(json.dumps(asdict(section)), encoding="utf-8")


def load(path: Path) -> Section:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Section(
        title=data["title"],
        markdown=data["markdown"],
        targets=tuple(Target(**t) for t in data["targets"]),
    )
