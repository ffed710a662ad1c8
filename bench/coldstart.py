"""`make bench` (cold start): the import time of each Lambda entry point, from the package
`make deploy` ships, against a floor.

What is measured: `relaydesk package --stage prod` (relaydesk/packaging.py: `chalice
package`, the slim layer, unchecked-hash bytecode) is built into a temporary folder and
unpacked as Lambda unpacks it: `deployment.zip` as the task root (/var/task on Lambda),
`layer-deployment.zip` as the layer root (/opt). What the Lambda Python runtime provides
itself (boto3, botocore, s3transfer, jmespath, dateutil, six: left out of the layer) comes
from this virtualenv, with its bytecode, as the runtime's own copy would. Then, for each
handler Lambda loads (the API handler `app.app`, the SQS handlers `app.on_job` and
`app.on_timer`), a fresh Python process (`python -I -S -B`: no site-packages, nothing from
the environment's PYTHON* variables, no bytecode written, as on Lambda's read-only file
system) puts those three folders first on `sys.path` as Lambda's bootstrap does, then does
what the bootstrap does, `importlib.import_module` then `getattr`, and prints the
`time.perf_counter()` difference around those two steps (the interpreter's own start is not
counted). A failed import fails the bench: this doubles as a smoke test of the slim package.

The floor is measured the same way, from the same folders, in the same run: `import
chalice` (the copy chalice puts in the package), `import pynamodb.models` (the layer's),
`import boto3` (the runtime's): what any Chalice + PynamoDB handler pays before a line of
ours runs. The targets are ratios to it (API handler median within 1.25 x).

Both packages are measured: as shipped (with bytecode) and the same zips without their
`__pycache__` entries (what `chalice package`/`chalice deploy` ship: every cold start
compiles every module it imports, and cannot keep the result). Each case gets RUNS fresh
processes (default 20), interleaved round by round across cases and packages so that every
one sees the same machine noise; the tables give the median and the p90 (nearest rank).

Then, for the API handler as shipped: where the time goes, from `python -X importtime`
(self time summed by top-level package, the standard library as one row, median of
BREAKDOWN_RUNS processes; importtime's own overhead inflates the total a little). Last, for
each entry point: which modules that only some requests need are loaded once the handler
is imported (`twilio.rest`, `sendgrid`, `python_http_client`, `babel` and any of its locale
data, `mailparser_reply`, `holidays`), and whether importing touched the network (an audit
hook records any `socket.connect`/`getaddrinfo`).

Every child gets the local stack's configuration (`relaydesk.local_env.local_environment`)
with the AWS endpoint and the provider sandbox pointed at unused localhost ports, on top of
a minimal environment (no inherited AWS_*).
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.report import Section, Target, emit

ROOT = Path(__file__).resolve().parent.parent
STAGE = "prod"
RUNS = int(os.environ.get("BENCH_COLDSTART_RUNS", "20"))
BREAKDOWN_RUNS = 5
TARGET_RATIO = 1.25
STDLIB = "(standard library, all modules)"
IMPORTTIME_MARKER = "-- timed import starts --"
HEAVY = ("twilio.rest", "sendgrid", "python_http_client", "babel", "mailparser_reply", "holidays")
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
SHIPPED = "as shipped: unchecked-hash bytecode in the zips (`make deploy`)"
SOURCE = "source only: the same zips without bytecode (`chalice package`/`chalice deploy`)"


@dataclass(frozen=True)
class Case:
    name: str
    statement: str  # what is timed, as Python source


FLOOR = Case(
    "floor: `import chalice, pynamodb.models, boto3`",
    "import chalice\nimport pynamodb.models\nimport boto3",
)
ENTRY_POINTS = (
    Case("API handler `app.app`", "_h = getattr(importlib.import_module('app'), 'app')"),
    Case("SQS jobs `app.on_job`", "_h = getattr(importlib.import_module('app'), 'on_job')"),
    Case("SQS timers `app.on_timer`", "_h = getattr(importlib.import_module('app'), 'on_timer')"),
)
CASES = (FLOOR, *ENTRY_POINTS)

NETWORK_PROBE = """
_network = []
def _audit(event, args):
    if event in ('socket.connect', 'socket.getaddrinfo'):
        _network.append(event + ' ' + repr(args[1:])[:80])
sys.addaudithook(_audit)
"""

REPORT = """
import json as _json
_loaded = sorted(m for m in {heavy!r}
                 if any(k == m or k.startswith(m + '.') for k in sys.modules))
_locales = sorted(getattr(sys.modules.get('babel.localedata'), '_cache', {{}}))
import os as _os
_ours = [m for m in list(sys.modules.values())
         if (getattr(m, '__file__', None) or '').startswith({roots!r})]
_compiled = sorted(m.__name__ for m in _ours if m.__file__.endswith('.py')
                   and not _os.path.exists(m.__cached__))
print(_json.dumps({{'seconds': _t1 - _t0, 'loaded': _loaded, 'locales': _locales,
                   'network': globals().get('_network', []), 'package_modules': len(_ours),
                   'compiled': _compiled}}))
"""


@dataclass(frozen=True)
class Tree:
    """An unpacked package: what Lambda puts on sys.path before its runtime."""

    task: Path
    layer: Path

    @property
    def path(self) -> list[str]:
        site = next(self.layer.glob("python/lib/python3.*/site-packages"))
        return [str(self.task), str(site), str(self.layer / "python")]


def child_source(case: Case, path: list[str], *, probe: bool = False, marker: bool = False) -> str:
    prelude = f"import importlib, sys, time\nsys.path[:0] = {path!r}\n"
    if marker:  # for -X importtime: what comes after it is the timed import
        prelude += f"sys.stderr.write({IMPORTTIME_MARKER!r} + '\\n'); sys.stderr.flush()\n"
    if probe:
        prelude += NETWORK_PROBE
    timed = f"_t0 = time.perf_counter()\n{case.statement}\n_t1 = time.perf_counter()\n"
    return prelude + timed + REPORT.format(heavy=HEAVY, roots=tuple(path[:3]))


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_environment() -> dict[str, str]:
    from relaydesk.local_env import local_environment

    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(
        local_environment(
            app_url="http://127.0.0.1:8000",
            aws_url=f"http://127.0.0.1:{unused_port()}",
            sandbox_url=f"http://127.0.0.1:{unused_port()}",
        )
    )
    env["LOG_LEVEL"] = "INFO"  # .chalice/config.json's value
    return env


# -I: no user site, no PYTHON* variables; -S: no site-packages (the package and the
# runtime's boto3 are all there is); -B: write no bytecode (Lambda's disk is read-only).
PYTHON = (sys.executable, "-I", "-S", "-B")


def run_child(
    source: str, env: dict[str, str], cwd: Path, *, package: list[str] | None = None
) -> dict[str, object]:
    """Run one child; with `package` (its folders), also count the modules imported from
    bytecode found there (`-v` says "# code object from '<pyc>'" for each of them)."""
    flags = ["-v"] if package else []
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [*PYTHON, *flags, "-c", source],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"child failed ({result.returncode}):\n{result.stderr[-5000:]}")
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    if package:
        report["from_bytecode"] = sum(
            1
            for line in result.stderr.splitlines()
            if line.startswith("# code object from ")
            and line.removeprefix("# code object from ").strip("'").startswith(tuple(package))
        )
    return report


def self_time_by_package(source: str, env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Seconds of import self time per top-level package, from `-X importtime`."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [*PYTHON, "-X", "importtime", "-c", source],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    _, _, timed = result.stderr.partition(IMPORTTIME_MARKER)
    for line in timed.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        top = name.strip().split(".")[0]
        top = STDLIB if top in sys.stdlib_module_names else top
        totals[top] = totals.get(top, 0.0) + int(own) / 1e6
    return totals


def breakdown(case: Case, tree: Tree, env: dict[str, str]) -> str:
    source = child_source(case, [*tree.path, str(tree.task.parent / "runtime")], marker=True)
    runs = [self_time_by_package(source, env, tree.task) for _ in range(BREAKDOWN_RUNS)]
    packages = {name for run in runs for name in run}
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in packages}
    total = sum(medians.values())
    out: list[str] = []
    out.append(
        f"\n### Where the API handler's import time goes, as shipped (`-X importtime`, self "
        f"time by top-level package, median of {BREAKDOWN_RUNS})\n"
    )
    out.append("| package | ms | share |")
    out.append("|---|---|---|")
    ranked = sorted(medians.items(), key=lambda item: -item[1])
    for name, value in ranked[:12]:
        out.append(f"| {name} | {value * 1e3:.1f} | {value / total:.0%} |")
    rest = sum(value for _, value in ranked[12:])
    out.append(f"| {len(ranked) - 12} others | {rest * 1e3:.1f} | {rest / total:.0%} |")
    out.append(f"| **total** | {total * 1e3:.1f} | 100% |")
    return "\n".join(out)


def seconds(report: dict[str, object]) -> float:
    value = report["seconds"]
    assert isinstance(value, float)
    return value


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def table(title: str, samples: dict[Case, list[float]]) -> str:
    floor = samples[FLOOR]
    floor50, floor90 = statistics.median(floor), p90(floor)
    out: list[str] = []
    out.append(f"\n### {title}\n")
    out.append("| entry point | median ms | p90 ms | median / floor | p90 / floor |")
    out.append("|---|---|---|---|---|")
    for case, values in samples.items():
        median, tail = statistics.median(values), p90(values)
        out.append(
            f"| {case.name} | {median * 1e3:.1f} | {tail * 1e3:.1f} | "
            f"{median / floor50:.2f} | {tail / floor90:.2f} |"
        )
    return "\n".join(out)


def listed(values: object) -> str:
    assert isinstance(values, list)
    return ", ".join(f"`{v}`" for v in values) or "none"


def unpack(archive: Path, into: Path, *, bytecode: bool) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            if bytecode or "__pycache__/" not in info.filename:
                zipped.extract(info, into)


def runtime_folder(into: Path) -> None:
    """What the Lambda Python runtime provides (and the layer leaves out), from this venv."""
    from relaydesk.packaging import RUNTIME_DISTRIBUTIONS, RUNTIME_PROVIDED

    site = Path(sysconfig.get_paths()["purelib"])
    into.mkdir()
    for entry in site.iterdir():
        if entry.name in RUNTIME_PROVIDED or (
            entry.name.endswith(".dist-info") and entry.name.startswith(RUNTIME_DISTRIBUTIONS)
        ):
            (into / entry.name).symlink_to(entry)


def prepare(tmp: Path) -> tuple[dict[str, Tree], float]:
    from relaydesk.packaging import build

    started = time.perf_counter()
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    built = build(tmp / "package", STAGE, env, log=lambda _: None)
    seconds = time.perf_counter() - started
    assert built.layer_zip is not None
    trees = {}
    for variant, bytecode in ((SHIPPED, True), (SOURCE, False)):
        home = tmp / ("shipped" if bytecode else "source")
        tree = Tree(home / "task", home / "opt")
        unpack(built.function_zip, tree.task, bytecode=bytecode)
        unpack(built.layer_zip, tree.layer, bytecode=bytecode)
        runtime_folder(home / "runtime")
        trees[variant] = tree
    return trees, seconds


def main() -> int:
    sys.path.insert(0, str(ROOT))
    sys.dont_write_bytecode = True  # no __pycache__ in chalicelib for the package to ship
    with tempfile.TemporaryDirectory(prefix="relaydesk-coldstart-") as tmp:
        return measure(Path(tmp))


def measure(tmp: Path) -> int:
    out: list[str] = []
    trees, build_seconds = prepare(tmp)
    env = child_environment()
    paths = {
        variant: [*tree.path, str(tree.task.parent / "runtime")] for variant, tree in trees.items()
    }
    shipped = trees[SHIPPED]

    # The probes double as a warm-up of the file system cache.
    probes = {
        case: run_child(
            child_source(case, paths[SHIPPED], probe=True), env, shipped.task, package=shipped.path
        )
        for case in CASES
    }
    samples: dict[str, dict[Case, list[float]]] = {v: {c: [] for c in CASES} for v in trees}
    for _ in range(RUNS):
        for variant, tree in trees.items():
            for case in CASES:
                report = run_child(child_source(case, paths[variant]), env, tree.task)
                samples[variant][case].append(seconds(report))

    out.append(METHOD.format(runs=RUNS, target=TARGET_RATIO))
    out.append(
        f"\n`relaydesk package --stage {STAGE}` built and unpacked in {build_seconds:.0f} s; "
        f"{RUNS} fresh processes per entry point and package, Python {sys.version.split()[0]}."
    )
    for variant in trees:
        out.append(table(variant.capitalize(), samples[variant]))

    out.append("\n### What the shipped bytecode saves\n")
    out.append(
        "| entry point | source only, median ms | as shipped, median ms | saved ms | ratio |"
    )
    out.append("|---|---|---|---|---|")
    for case in CASES:
        before = statistics.median(samples[SOURCE][case])
        after = statistics.median(samples[SHIPPED][case])
        out.append(
            f"| {case.name} | {before * 1e3:.1f} | {after * 1e3:.1f} | "
            f"{(before - after) * 1e3:.1f} | {after / before:.2f} |"
        )

    api = ENTRY_POINTS[0]
    api_ratio = statistics.median(samples[SHIPPED][api]) / statistics.median(
        samples[SHIPPED][FLOOR]
    )
    api_source = statistics.median(samples[SOURCE][api])
    api_shipped = statistics.median(samples[SHIPPED][api])
    out.append(
        BYTECODE.format(share=api_shipped / api_source, saved=(api_source - api_shipped) * 1e3)
    )

    out.append(breakdown(api, shipped, env))

    out.append(
        "\n### Loaded after import, as shipped (modules only some requests need; network use)\n"
    )
    out.append(
        "| entry point | modules of the package imported | loaded from its bytecode | "
        "compiled at import | heavy modules loaded | babel locales loaded | network calls |"
    )
    out.append("|---|---|---|---|---|---|---|")
    for case in ENTRY_POINTS:
        probe = probes[case]
        out.append(
            f"| {case.name} | {probe['package_modules']} | {probe['from_bytecode']} | "
            f"{listed(probe['compiled'])} | {listed(probe['loaded'])} | "
            f"{listed(probe['locales'])} | {listed(probe['network'])} |"
        )
    out.append(f"\nChecked: {', '.join(f'`{m}`' for m in HEAVY)}; `babel.localedata._cache`.")
    out.append(LAZY.format(heavy=", ".join(f"`{m}`" for m in HEAVY)))
    compiled = [c.name for c in ENTRY_POINTS if probes[c]["compiled"]]
    heavy = [c.name for c in ENTRY_POINTS if probes[c]["loaded"]]
    network = [c.name for c in ENTRY_POINTS if probes[c]["network"]]
    targets = (
        Target(
            "API handler cold start (median, as shipped) over the floor",
            f"{api_ratio:.2f} x",
            f"<= {TARGET_RATIO:.2f} x",
            api_ratio <= TARGET_RATIO,
        ),
        Target(
            "modules of the package compiled at import (all from bytecode)",
            ", ".join(compiled) or "none",
            "none",
            not compiled,
        ),
        Target(
            "modules only some requests need, loaded at cold start",
            ", ".join(heavy) or "none",
            "none",
            not heavy,
        ),
        Target("network calls while importing", ", ".join(network) or "none", "none", not network),
    )
    emit(
        Section(
            "Cold start of each Lambda entry point, from the package `make deploy` ships",
            "\n".join(out).strip(),
            targets,
        )
    )
    return 0


METHOD = """\
`relaydesk package --stage prod` is built and unpacked as Lambda unpacks it
(`deployment.zip` as the task root, `layer-deployment.zip` as /opt); the boto3 stack the
runtime provides comes from the virtualenv. Each handler is imported in fresh
`python -I -S -B` processes that see only those folders (no site-packages, no bytecode
written, as on Lambda's read-only disk), and what is timed, inside the child, is what
Lambda's bootstrap does: `importlib.import_module` then `getattr` (the interpreter's own start
is not counted). The floor, `import chalice, pynamodb.models, boto3`, is what any Chalice +
PynamoDB handler pays before a line of ours runs; it is imported from the same folders, in
the same run, interleaved round by round with the entry points, so that every case sees the
same machine noise. The same zips without their `__pycache__` entries stand for what
`chalice package`/`chalice deploy` ship. A failed import fails the bench: it doubles as a
smoke test of the slim layer. The target is a ratio: the API handler's median within
{target:.2f} x the floor, as shipped."""

BYTECODE = """
With the shipped unchecked-hash `.pyc` files the API handler imports in {share:.2f} of the
time it takes from source ({saved:.0f} ms saved here); the floor gains too, because chalice
and pynamodb are in the package. On Lambda, where a 512 MB function gets a fraction of a
core, the saving in milliseconds is larger; the ratio is what carries over. Why
unchecked-hash: Lambda's /var/task and /opt are read-only, so Python can never cache what it
compiles there, and a default (timestamp) pyc is only used when the source's mtime and size
match what it recorded, while zip entries carry their own dates: shipped timestamp pycs
would be rejected and every module compiled anyway. A hash-based pyc (PEP 552) does not look
at mtimes; the *unchecked* kind does not read the source at all, which is safe for an
archive that cannot change once deployed. They are compiled by the virtualenv's Python,
which must be the runtime's minor version (`relaydesk package` checks it against the
template's `Runtime`), and name /var/task/... and /opt/python/... as their files so that
tracebacks read as on Lambda."""

LAZY = """
The SQS handlers import the same module as the API handler; each imports its own flow (jobs,
timers) on its first message, as the e-mail and status routes do, so what is timed here is
what every function pays before its first request. {heavy} are imported by the first
request that needs them, from their bytecode (`tests/unit/test_cold_path.py` checks that
none is imported at cold start)."""


if __name__ == "__main__":
    sys.exit(main())
