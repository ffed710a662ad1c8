"""Shared test helpers: where the shared corpus lives (CI has it beside the clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
TEST_STORES = Path(__file__).resolve().parent / "fixtures" / "stores.json"


def corpus_path(*parts: str) -> Path:
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (it sits beside the clone in CI)")
    return path
