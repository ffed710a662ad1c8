"""`make bench` (cold start): the import time of each Lambda entry point, against a floor.

What is measured: for each handler Lambda would load (the API handler `app.app`, the SQS
handlers `app.on_job` and `app.on_timer`), a fresh Python process (`sys.executable -c`,
cwd = the repository root) does what Lambda's bootstrap does, `importlib.import_module`
then `getattr`, and prints the `time.perf_counter()` difference around those two steps:
the interpreter's own start is not counted. Each case gets RUNS fresh processes (default
20), interleaved round by round so that every case sees the same machine noise; the
tables give the median and the p90 (nearest rank).

The floor is measured the same way in the same run: `import chalice`, `import
pynamodb.models`, `import boto3`, which is what any Chalice + PynamoDB handler pays before
a line of ours runs. The targets are ratios to it (API handler median within 1.25 x).

Every child gets the local stack's configuration (`relaydesk.local_env.local_environment`)
with the AWS endpoint and the provider sandbox pointed at unused localhost ports, on top of
a minimal environment (no inherited AWS_*, PYTHON*), and PYTHONPYCACHEPREFIX pointing at a
temporary folder: bytecode is cached there, never in the repository (`chalice package`
zips whatever `__pycache__` it finds under chalicelib/). One more child per entry point runs
with an audit hook that records any `socket.connect`/`getaddrinfo`: importing must not
touch the network.

Second table: the same processes with no cached bytecode for anything outside the
standard library. The deployment and layer zips that `chalice package` builds carry no
`.pyc`, and Lambda's /var/task and /opt are read-only, so on Lambda every cold start
compiles our modules and the layer's from source; the runtime's own standard library is
precompiled. This is emulated by making `cache_from_source` refuse non-stdlib paths
(Python then compiles from source) and not writing bytecode.

Then, for the API handler: where the time goes, from `python -X importtime` (self time
summed by top-level package, the standard library as one row, median of BREAKDOWN_RUNS
processes; importtime's own overhead inflates the total a little). Last, for each entry
point: which modules that only some requests need are loaded once the handler is imported
(`twilio.rest`, `sendgrid`, `python_http_client`, `babel` and any of its locale data,
`mailparser_reply`, `holidays`).
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_COLDSTART_RUNS", "20"))
BREAKDOWN_RUNS = 5
TARGET_RATIO = 1.25
STDLIB = "(standard library, all modules)"
IMPORTTIME_MARKER = "-- timed import starts --"
HEAVY = ("twilio.rest", "sendgrid", "python_http_client", "babel", "mailparser_reply", "holidays")
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


@dataclass(frozen=True)
class Case:
    name: str
    statement: str  # what is timed, as Python source


@dataclass
class Samples:
    warm: list[float] = field(default_factory=list)
    no_bytecode: list[float] = field(default_factory=list)


FLOOR = Case(
    "floor: `import chalice, pynamodb.models, boto3`",
    "import chalice\nimport pynamodb.models\nimport boto3",
)
ENTRY_POINTS = (
    Case("API handler `app.app`", "_h = getattr(importlib.import_module('app'), 'app')"),
    Case("SQS jobs `app.on_job`", "_h = getattr(importlib.import_module('app'), 'on_job')"),
    Case("SQS timers `app.on_timer`", "_h = getattr(importlib.import_module('app'), 'on_timer')"),
)

# Runs before the timer starts: stdlib modules the interpreter has already loaded anyway.
NO_BYTECODE = """
import importlib._bootstrap_external as _be, sysconfig as _sc
_stdlib = _sc.get_paths()['stdlib'] + '/'
_cache_from_source = _be.cache_from_source
def _stdlib_only(path, debug_override=None, *, optimization=None):
    if path.startswith(_stdlib) and 'site-packages' not in path:
        return _cache_from_source(path, debug_override, optimization=optimization)
    raise NotImplementedError  # SourceLoader.get_code then compiles from source
_be.cache_from_source = _stdlib_only
sys.dont_write_bytecode = True
"""

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
print(_json.dumps({{'seconds': _t1 - _t0, 'loaded': _loaded, 'locales': _locales,
                   'network': globals().get('_network', [])}}))
"""


def child_source(
    case: Case, *, no_bytecode: bool = False, probe: bool = False, marker: bool = False
) -> str:
    prelude = "import importlib, sys, time\n"
    if marker:  # for -X importtime: what comes after it is the timed import
        prelude += f"sys.stderr.write({IMPORTTIME_MARKER!r} + '\\n'); sys.stderr.flush()\n"
    if no_bytecode:
        prelude += NO_BYTECODE
    if probe:
        prelude += NETWORK_PROBE
    timed = f"_t0 = time.perf_counter()\n{case.statement}\n_t1 = time.perf_counter()\n"
    return prelude + timed + REPORT.format(heavy=HEAVY)


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_environment(pycache: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
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
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_child(source: str, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", source],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"child failed ({result.returncode}):\n{result.stderr}")
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def self_time_by_package(source: str, env: dict[str, str]) -> dict[str, float]:
    """Seconds of import self time per top-level package, from `-X importtime`."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-X", "importtime", "-c", source],
        cwd=ROOT,
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


def breakdown(case: Case, env: dict[str, str]) -> None:
    runs = [
        self_time_by_package(child_source(case, marker=True), env) for _ in range(BREAKDOWN_RUNS)
    ]
    packages = {name for run in runs for name in run}
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in packages}
    total = sum(medians.values())
    print(
        f"\n## Where the API handler's import time goes (`-X importtime`, self time by "
        f"top-level package, median of {BREAKDOWN_RUNS})\n"
    )
    print("| package | ms | share |")
    print("|---|---|---|")
    ranked = sorted(medians.items(), key=lambda item: -item[1])
    for name, value in ranked[:12]:
        print(f"| {name} | {value * 1e3:.1f} | {value / total:.0%} |")
    rest = sum(value for _, value in ranked[12:])
    print(f"| {len(ranked) - 12} others | {rest * 1e3:.1f} | {rest / total:.0%} |")
    print(f"| **total** | {total * 1e3:.1f} | 100% |")


def seconds(report: dict[str, object]) -> float:
    value = report["seconds"]
    assert isinstance(value, float)
    return value


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def table(title: str, samples: dict[Case, list[float]]) -> None:
    floor = samples[FLOOR]
    floor50, floor90 = statistics.median(floor), p90(floor)
    print(f"\n## {title}\n")
    print("| entry point | median ms | p90 ms | median / floor | p90 / floor |")
    print("|---|---|---|---|---|")
    for case, values in samples.items():
        median, tail = statistics.median(values), p90(values)
        print(
            f"| {case.name} | {median * 1e3:.1f} | {tail * 1e3:.1f} | "
            f"{median / floor50:.2f} | {tail / floor90:.2f} |"
        )


def listed(values: object) -> str:
    assert isinstance(values, list)
    return ", ".join(f"`{v}`" for v in values) or "none"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="relaydesk-pycache-") as pycache:
        return measure(child_environment(Path(pycache)))


def measure(env: dict[str, str]) -> int:
    cases = (FLOOR, *ENTRY_POINTS)
    samples = {case: Samples() for case in cases}
    started = time.perf_counter()

    # The probes double as the warm-up: they fill the (empty) bytecode cache.
    probes = {case: run_child(child_source(case, probe=True), env) for case in cases}
    for _ in range(RUNS):
        for case in cases:
            samples[case].warm.append(seconds(run_child(child_source(case), env)))
    for _ in range(RUNS):
        for case in cases:
            source = child_source(case, no_bytecode=True)
            samples[case].no_bytecode.append(seconds(run_child(source, env)))

    print(
        f"# Cold start: import of each Lambda entry point, {RUNS} fresh processes each "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)"
    )
    print(
        "\nTimed inside the child around `importlib.import_module` + `getattr` "
        "(interpreter start excluded); floor measured the same way, interleaved."
    )
    table(
        "With cached bytecode (.pyc, as on a developer machine)",
        {case: samples[case].warm for case in cases},
    )
    table(
        "Without bytecode outside the stdlib (as packaged: the zips carry no .pyc)",
        {case: samples[case].no_bytecode for case in cases},
    )

    api = ENTRY_POINTS[0]
    api_ratio = statistics.median(samples[api].warm) / statistics.median(samples[FLOOR].warm)
    verdict = "met" if api_ratio <= TARGET_RATIO else "NOT met"
    print(
        f"\nTarget: API handler median within {TARGET_RATIO:.2f} x the floor: "
        f"**{api_ratio:.2f} x, {verdict}** (with cached bytecode)."
    )

    breakdown(api, env)

    print("\n## Loaded after import (modules only some requests need; network use)\n")
    print("| entry point | heavy modules loaded | babel locales loaded | network calls |")
    print("|---|---|---|---|")
    for case in ENTRY_POINTS:
        probe = probes[case]
        print(
            f"| {case.name} | {listed(probe['loaded'])} | {listed(probe['locales'])} | "
            f"{listed(probe['network'])} |"
        )
    print(f"\nChecked: {', '.join(f'`{m}`' for m in HEAVY)}; `babel.localedata._cache`.")
    print(f"\nWall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
