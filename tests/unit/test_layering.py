"""The layering check of `make lint` (relaydesk/layering.py) on small made-up trees; `make
lint` runs it on the real one."""

from __future__ import annotations

from pathlib import Path

from relaydesk.layering import findings


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"chalicelib/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_cycle_through_a_lazy_import_is_found(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "chalicelib/flows/__init__.py": "",
            "chalicelib/flows/a.py": "from chalicelib.flows.b import g\n",
            "chalicelib/flows/b.py": "def g():\n    from chalicelib.flows import a\n",
        },
    )
    assert findings(root) == ["import cycle: chalicelib.flows.a <-> chalicelib.flows.b"]


def test_type_checking_imports_make_no_cycle(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "chalicelib/composition.py": "from chalicelib.flows import a\n",
            "chalicelib/flows/__init__.py": "",
            "chalicelib/flows/a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from chalicelib.composition import Container\n"
            ),
        },
    )
    assert findings(root) == []


def test_a_cycle_between_packages_is_found_even_when_modules_differ(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "chalicelib/logs.py": "from chalicelib.store.repository import x\n",
            "chalicelib/store/__init__.py": "",
            "chalicelib/store/repository.py": "x = 1\n",
            "chalicelib/store/privacy.py": "from chalicelib.logs import mask\n",
        },
    )
    assert findings(root) == ["import cycle between packages: chalicelib.logs <-> chalicelib.store"]


def test_domain_may_not_do_io_or_know_an_adapter(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "chalicelib/domain/__init__.py": "",
            "chalicelib/domain/ok.py": "import re\nfrom chalicelib.domain import ok2\n",
            "chalicelib/domain/ok2.py": "",
            "chalicelib/domain/bad.py": (
                "def f():\n    import boto3\n    from chalicelib.store import models\n"
            ),
            "chalicelib/store/__init__.py": "",
            "chalicelib/store/models.py": "",
        },
    )
    assert findings(root) == [
        "chalicelib.domain.bad imports boto3: domain/ does no I/O and knows no adapter",
        "chalicelib.domain.bad imports chalicelib.store: domain/ does no I/O and knows no adapter",
        "chalicelib.domain.bad imports chalicelib.store.models: domain/ does no I/O and knows"
        " no adapter",
    ]
