"""Shared fixtures: the shipped register, and fresh working folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plan_xl.source import load_source
from plan_xl.workspace import Workspace

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "000_7eb1be84c99e4e30.txt"


@pytest.fixture(scope="session")
def source_register():
    """The FY2022 register built from the shipped source (do not mutate)."""
    return load_source()


@pytest.fixture
def register(source_register):
    """A fresh copy of the shipped register, safe to change."""
    return load_source()


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    """An empty working folder; its register is built on first load."""
    ws = Workspace(tmp_path / "作業フォルダ")
    ws.root.mkdir()
    return ws


@pytest.fixture(scope="session")
def reference_text() -> str:
    if not REFERENCE.exists():
        pytest.skip("shared/reference is not next to the repository")
    return REFERENCE.read_text(encoding="utf-8")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


needs_libreoffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
