"""`make lint`: the shape of `chalicelib/` that the design promises, checked from the source.

- No import cycle between modules of `chalicelib/`, nor between its packages (`store/`,
  `flows/`, ... and top-level modules such as `logs.py`). Imports inside functions count: a
  lazy import hides a cycle, it does not remove it. Imports under `if TYPE_CHECKING:` do
  not, as they never run.
- `chalicelib/domain/` stays pure: it imports nothing from the rest of `chalicelib/` and no
  library that does I/O (AWS, the providers' SDKs, HTTP, the web framework).

Run: `python -m relaydesk.layering [root]`; exit status 1 with one line per finding.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "chalicelib"
DOMAIN = f"{PACKAGE}.domain"
IMPURE = ("boto3", "botocore", "pynamodb", "twilio", "sendgrid", "requests", "chalice", "urllib3")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, module: str) -> Iterator[str]:
    """Every module the code may import when it runs (absolute names)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield source
            # `from chalicelib.domain import tokens` imports the module chalicelib.domain.tokens
            yield from (f"{source}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def graph(root: Path) -> dict[str, set[str]]:
    """Module -> the chalicelib modules it imports."""
    modules = {module_name(root, path): path for path in sorted((root / PACKAGE).rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges[name] = {t for t in imports(tree, name) if t in modules and t != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def impurities(root: Path) -> Iterator[str]:
    for path in sorted((root / PACKAGE / "domain").rglob("*.py")):
        name = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target in sorted(set(imports(tree, name))):
            top = target.split(".")[0]
            inside = target.startswith(f"{PACKAGE}.") or target == PACKAGE
            if top in IMPURE or (inside and not target.startswith(DOMAIN)):
                yield f"{name} imports {target}: domain/ does no I/O and knows no adapter"


def packages(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph between `chalicelib`'s sub-packages and top-level modules."""

    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    collapsed: dict[str, set[str]] = {}
    for source, targets in edges.items():
        collapsed.setdefault(unit(source), set()).update(
            unit(t) for t in targets if unit(t) != unit(source)
        )
    return collapsed


def findings(root: Path) -> list[str]:
    edges = graph(root)
    problems = [f"import cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    problems += [
        f"import cycle between packages: {' <-> '.join(c)}" for c in cycles(packages(edges))
    ]
    return problems + list(impurities(root))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    problems = findings(root)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{PACKAGE}/: no import cycle, domain/ pure")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
