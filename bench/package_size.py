"""`make bench` (package size): what `relaydesk package --stage prod` ships to Lambda,
which is what `make deploy` uploads.

What is measured: the command runs into a fresh temporary folder (it wraps `chalice
package`, which downloads the Lambda-platform wheels for `requirements.txt` from PyPI
unless Chalice's cache under `.chalice/deployments/` already has them, then slims the
layer and adds bytecode: relaydesk/packaging.py). Then, for `deployment.zip` (the
function's code) and `layer-deployment.zip` (the dependencies, as a Lambda layer): the
zip's size on disk, the total uncompressed size of its entries, and the number of entries;
and what the bytecode (`__pycache__/*.pyc`) in each adds.

The budget: the project target is **under 30 MB for the two zips together, compressed**
(what is uploaded and what a cold start fetches). AWS's hard limits are shown next to it:
50 MB zipped for a direct upload of one zip, 250 MB unzipped for a function and all its
layers together.

The layer's contents are grouped by top-level name: the first path component after the
layer's site-packages prefix (found in the zip, e.g. `python/lib/python3.11/site-packages/`),
with a module's file extension dropped (`six.py` -> `six`) and every `*.dist-info` and `*.data`
folder counted in one metadata row. Each name is attributed to its distribution through the
`RECORD` files in the zip, and each distribution to whoever requires it (the
`Requires-Dist` of the other distributions in the zip, extras left out; `requirements.txt`
for the direct ones). Last, the avoidable parts that can be read off the zip, with the
uncompressed bytes each would save: what the Lambda Python runtime already provides (the
boto3 stack), package test suites and docs, AWS service models the app never calls, and
babel's territory/script locale variants; rows that `relaydesk package` already leaves out
(nothing left to save) are not shown.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from bench.report import Section, Target, emit

ROOT = Path(__file__).resolve().parent.parent
STAGE = "prod"
MB = 1024 * 1024
DIRECT_UPLOAD_MB = 50
UNZIPPED_MB = 250
TOP = 15
METADATA = "(*.dist-info, *.data: metadata)"
SITE_PACKAGES = re.compile(r"^(python/lib/python3\.\d+/site-packages/|python/)")
# Distributions the Lambda Python runtime ships (boto3 and what it pulls in).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")
# botocore service models the app calls (DynamoDB through PynamoDB, SQS, SSM for secrets).
SERVICES_USED = ("dynamodb", "sqs", "ssm", "sts")
# twilio's asyncio HTTP client (twilio.http.async_http_client) and what it pulls in.
ASYNC_ONLY = ("aiohttp", "aiohttp-retry")
TEST_DIRS = frozenset({"tests", "test", "testing", "docs", "examples"})


@dataclass(frozen=True)
class ZipSize:
    name: str
    compressed: int  # the file on disk
    uncompressed: int
    entries: int


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return normalize(match.group(1)) if match else None


def build_package(out: Path) -> float:
    relaydesk = Path(sys.executable).with_name("relaydesk")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own CLI, from this venv
        [str(relaydesk), "package", "--stage", STAGE, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"relaydesk package failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - start


def zip_size(path: Path) -> ZipSize:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    return ZipSize(path.name, path.stat().st_size, sum(i.file_size for i in infos), len(infos))


def top_level(relative: str) -> str:
    first = relative.split("/", 1)[0]
    if first.endswith((".dist-info", ".data")):
        return METADATA
    if "/" not in relative:  # a single-file module or extension: six.py, _cffi_backend.*.so
        return first.split(".", 1)[0]
    return first


@dataclass(frozen=True)
class Entry:
    path: str  # after the layer's site-packages prefix
    size: int  # uncompressed
    compressed: int


@dataclass
class Layer:
    prefix: str
    entries: list[Entry]
    owner: dict[str, str]  # top-level name -> distribution (normalized)
    versions: dict[str, str]  # distribution (normalized) -> "Name version"
    required_by: dict[str, set[str]]  # distribution -> distributions, or REQUIREMENTS

    def by_top_level(self) -> dict[str, Entry]:
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for entry in self.entries:
            total = totals[top_level(entry.path)]
            total[0] += entry.size
            total[1] += entry.compressed
        return {name: Entry(name, size, packed) for name, (size, packed) in totals.items()}

    def name(self, dist: str) -> str:
        return dist if dist == REQUIREMENTS else self.versions.get(dist, dist).split()[0]


REQUIREMENTS = "requirements.txt"


def read_layer(path: Path, direct: set[str]) -> Layer:
    entries: list[Entry] = []
    owner: dict[str, str] = {}
    versions: dict[str, str] = {}
    requires: dict[str, set[str]] = {}
    prefixes: set[str] = set()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            match = SITE_PACKAGES.match(info.filename)
            prefix = match.group(1) if match else ""
            prefixes.add(prefix)
            relative = info.filename[len(prefix) :]
            if not relative or info.is_dir():
                continue
            entries.append(Entry(relative, info.file_size, info.compress_size))
            folder, _, leaf = relative.partition("/")
            if not folder.endswith(".dist-info"):
                continue
            text = archive.read(info).decode("utf-8", "replace")
            if leaf == "METADATA":
                headers = HeaderParser().parsestr(text)
                dist = normalize(headers["Name"])
                versions[dist] = f"{headers['Name']} {headers['Version']}"
                requires[dist] = {
                    name
                    for line in headers.get_all("Requires-Dist") or []
                    if "extra ==" not in line and (name := requirement_name(line))
                }
            elif leaf == "RECORD":
                dist = normalize(folder.removesuffix(".dist-info").rsplit("-", 1)[0])
                for row in text.splitlines():
                    recorded = row.split(",", 1)[0]
                    name = top_level(recorded) if recorded else METADATA
                    if name != METADATA and not recorded.startswith(".."):
                        owner.setdefault(name, dist)
    required_by: dict[str, set[str]] = defaultdict(set)
    for dist, needs in requires.items():
        for need in needs & versions.keys():
            required_by[need].add(dist)
    for dist in direct & versions.keys():
        required_by[dist].add(REQUIREMENTS)
    prefix = ", ".join(f"`{p or '(none)'}`" for p in sorted(prefixes))
    return Layer(prefix, entries, owner, versions, dict(required_by))


def only_for(layer: Layer, roots: set[str]) -> set[str]:
    """The distributions in the layer that nothing outside `roots`' dependencies needs."""
    closure = roots & layer.versions.keys()
    while True:
        more = {
            dist
            for dist, needed_by in layer.required_by.items()
            if dist not in closure and needed_by and needed_by <= closure
        }
        if not more:
            return closure
        closure |= more


def mb(size: float) -> str:
    return f"{size / MB:.1f}"


def avoidable(layer: Layer) -> list[tuple[str, list[Entry]]]:
    """What could be left out of the layer, read off the zip, with its entries."""

    def owned_by(dists: set[str]) -> tuple[str, list[Entry]]:
        names = {name for name, dist in layer.owner.items() if dist in dists}
        picked = [e for e in layer.entries if top_level(e.path) in names]
        return ", ".join(sorted(layer.name(d) for d in dists)), picked

    def under(path: str) -> list[str]:
        parts = path.split("/")
        return parts[:-1]

    from chalicelib.domain.ack import BUILTIN_LANGUAGES

    runtime, runtime_entries = owned_by(only_for(layer, {normalize(d) for d in RUNTIME_PROVIDED}))
    asynchronous, async_entries = owned_by(only_for(layer, set(ASYNC_ONLY)))
    keep_locales = {"root", *BUILTIN_LANGUAGES}
    return [
        (f"the boto3 stack the Lambda runtime already provides: {runtime}", runtime_entries),
        (
            "or, keeping our own botocore: its service models other than "
            f"{', '.join(SERVICES_USED)} (`botocore/data/<service>/`)",
            [
                e
                for e in layer.entries
                if e.path.startswith("botocore/data/")
                and e.path.count("/") >= 3
                and e.path.split("/")[2] not in SERVICES_USED
            ],
        ),
        (
            "twilio REST domains other than `twilio/rest/api/` (`Client.messages` is "
            "`client.api.account.messages`; the other domains load lazily)",
            [
                e
                for e in layer.entries
                if e.path.startswith("twilio/rest/")
                and e.path.count("/") >= 3
                and e.path.split("/")[2] != "api"
            ],
        ),
        (
            f"twilio's asyncio client and what only it needs ({asynchronous}); "
            "the app uses twilio's synchronous client",
            async_entries,
        ),
        (
            "babel locale data other than `root` and the built-in acknowledgement "
            f"languages ({', '.join(sorted(BUILTIN_LANGUAGES))}); stores' own template "
            "languages would have to be kept too",
            [
                e
                for e in layer.entries
                if e.path.startswith("babel/locale-data/")
                and e.path.rsplit("/", 1)[-1].removesuffix(".dat") not in keep_locales
            ],
        ),
        (
            f"test suites, docs, examples inside packages ({', '.join(sorted(TEST_DIRS))})",
            [e for e in layer.entries if TEST_DIRS & set(under(e.path))],
        ),
    ]


def report(out: Path, seconds: float) -> Section:
    # chalicelib is imported with it: after main() turned bytecode writing off.
    from relaydesk.packaging import BUDGET_BYTES  # `relaydesk package` refuses to pass it

    target_mb = round(BUDGET_BYTES / MB)
    zips = [zip_size(out / "deployment.zip"), zip_size(out / "layer-deployment.zip")]
    direct = {
        name
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if not line.lstrip().startswith("#") and (name := requirement_name(line))
    }
    layer = read_layer(out / "layer-deployment.zip", direct)
    compressed = sum(z.compressed for z in zips)
    uncompressed = sum(z.uncompressed for z in zips)
    lines: list[str] = [
        METHOD.format(target=target_mb, direct=DIRECT_UPLOAD_MB, unzipped=UNZIPPED_MB)
    ]

    lines.append(f"\n`relaydesk package --stage {STAGE}` took {seconds:.0f} s.\n")
    lines.append("| zip | compressed MB | uncompressed MB | entries |")
    lines.append("|---|---|---|---|")
    for z in zips:
        lines.append(f"| {z.name} | {mb(z.compressed)} | {mb(z.uncompressed)} | {z.entries} |")
    lines.append(
        f"| **total** | **{mb(compressed)}** | **{mb(uncompressed)}** | "
        f"{sum(z.entries for z in zips)} |"
    )
    lines.append("\n| budget | measured | limit | ratio | verdict |")
    lines.append("|---|---|---|---|---|")
    budgets = [
        ("project target: both zips, compressed", compressed, target_mb),
        (
            "AWS: one zip, direct upload (largest zip)",
            max(z.compressed for z in zips),
            DIRECT_UPLOAD_MB,
        ),
        ("AWS: function + layers, unzipped", uncompressed, UNZIPPED_MB),
    ]
    for what, measured, limit in budgets:
        verdict = "within" if measured < limit * MB else "**over**"
        lines.append(
            f"| {what} | {mb(measured)} MB | {limit} MB | {measured / (limit * MB):.2f} | "
            f"{verdict} |"
        )

    lines.append("\n### Bytecode: what the unchecked-hash `.pyc` files add\n")
    lines.append("| zip | .py files | .pyc files | .pyc compressed MB | share of the zip |")
    lines.append("|---|---|---|---|---|")
    for z in zips:
        with zipfile.ZipFile(out / z.name) as archive:
            infos = archive.infolist()
        sources = sum(1 for i in infos if i.filename.endswith(".py"))
        pycs = [i for i in infos if i.filename.endswith(".pyc")]
        packed_pyc = sum(i.compress_size for i in pycs)
        lines.append(
            f"| {z.name} | {sources} | {len(pycs)} | {mb(packed_pyc)} | "
            f"{packed_pyc / z.compressed:.0%} |"
        )

    groups = layer.by_top_level()
    total = sum(g.size for g in groups.values())
    packed = sum(g.compressed for g in groups.values())
    lines.append(
        f"\n### Layer: the {TOP} largest top-level names by uncompressed size\n\n"
        f"Prefix {layer.prefix}; {len(groups)} names, {mb(total)} MB uncompressed, "
        f"{mb(packed)} MB compressed.\n"
    )
    lines.append(
        "| # | top-level | distribution | required by | uncompressed MB | share | "
        "compressed MB | share |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    ranked = sorted(groups.values(), key=lambda g: -g.size)
    for rank, group in enumerate(ranked[:TOP], start=1):
        dist = layer.owner.get(group.path)
        version = layer.versions.get(dist, dist) if dist else "-"
        needed = sorted(layer.name(d) for d in layer.required_by.get(dist or "", set()))
        lines.append(
            f"| {rank} | `{group.path}` | {version} | {', '.join(needed) or '-'} | "
            f"{mb(group.size)} | {group.size / total:.1%} | {mb(group.compressed)} | "
            f"{group.compressed / packed:.1%} |"
        )
    rest = ranked[TOP:]
    size, small = sum(g.size for g in rest), sum(g.compressed for g in rest)
    lines.append(
        f"| | {len(rest)} others | | | {mb(size)} | {size / total:.1%} | {mb(small)} | "
        f"{small / packed:.1%} |"
    )

    lines.append("\n### Still avoidable (not done: what could yet be left out of the layer)\n")
    lines.append("| what | uncompressed MB | compressed MB | share of layer zip |")
    lines.append("|---|---|---|---|")
    for what, entries in avoidable(layer):
        size, small = sum(e.size for e in entries), sum(e.compressed for e in entries)
        if entries:
            lines.append(f"| {what} | {mb(size)} | {mb(small)} | {small / packed:.1%} |")
    targets = tuple(
        Target(what, f"{mb(measured)} MB", f"< {limit} MB", measured < limit * MB)
        for what, measured, limit in budgets
    )
    return Section("Package size: what `make deploy` uploads", "\n".join(lines).strip(), targets)


METHOD = """\
The zips that `relaydesk package --stage prod` writes, which are exactly what `make deploy`
uploads (it builds with the same code, then uploads the zips to the data stack's bucket and
deploys them with CloudFormation). The layer leaves out what the Lambda Python runtime
already provides (boto3, botocore, s3transfer, jmespath, dateutil, six) and Babel locale
data for languages no acknowledgement is written in, and carries bytecode for every module
except twilio's REST domains other than `api` (never loaded by the app; kept as source).
The project's target is under {target} MB for both zips together, compressed (what is
uploaded and what a cold start fetches); AWS's hard limits are shown next to it: {direct} MB
zipped for a direct upload of one zip, {unzipped} MB unzipped for a function and all its
layers. `relaydesk package` (and so `make deploy` and `make lint`) fails if the zips reach
the target. The layer's contents are grouped by top-level name and attributed to their
distribution (the zip's `RECORD` files) and to whoever requires it (`Requires-Dist`, or
`requirements.txt`); the last table is what could yet be left out, read off the zip."""


def main() -> int:
    sys.path.insert(0, str(ROOT))  # chalicelib, for the built-in languages ...
    sys.dont_write_bytecode = True  # ... without a __pycache__ for the next package to ship
    with tempfile.TemporaryDirectory(prefix="relaydesk-package-") as tmp:
        out = Path(tmp) / STAGE
        seconds = build_package(out)
        emit(report(out, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
