"""Shared fixtures: the shipped register, and fresh working folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.returned import copy_workspace, issue

from plan_xl.register.source import load_source
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
    """A new working folder: the register as `plan-xl init` makes it, nothing else."""
    ws = Workspace(tmp_path / "作業フォルダ")
    ws.create()
    return ws


@pytest.fixture(scope="session")
def issued(tmp_path_factory):
    """A working folder with every department's FY2023 template issued (never changed: copy it)."""
    return issue(tmp_path_factory.mktemp("issued") / "作業フォルダ")


@pytest.fixture
def ws(issued, tmp_path):
    """A fresh copy of `issued`, to collect into."""
    return copy_workspace(issued, tmp_path / "作業フォルダ")


@pytest.fixture(scope="session")
def reference_text() -> str:
    if not REFERENCE.exists():
        pytest.skip("shared/reference is not next to the repository")
    return REFERENCE.read_text(encoding="utf-8")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


needs_libreoffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")


LABELS = ("事業概要 目指す姿（目標） 5レス 5スレ レス 5 カウンター キャッシュ ペーパー ファイル ムーブ 情報公開 "
          "市ウェブサイト その他 市ウェブページ 取組内容 行動計画 2025年度末までの目標値 進捗状況 年度 実績 "
          "計画の見直し 実施計画名 所管課 ○").split()


def reference_fragments(reference_text: str, aliases: dict[str, str],
                        departments: set[str] = frozenset()) -> list[tuple[str, str]]:
    """Every piece of content of the reference: each table cell with HTML markup removed, split
    at list separators (・、), without the table's own labels; as (printed text, identity key).
    `aliases` maps the key of a printed variant (D X戦略課) to the canonical name; a cell made
    of `departments` separated by spaces is split into them."""
    import html
    import re

    from plan_xl.register.model import name_key

    labels = {name_key(x) for x in LABELS}
    departments = {name_key(d) for d in departments}
    out = []
    for line in reference_text.splitlines():
        for cell in re.sub(r"<[^>]+>", "\t", line).split("\t"):
            text = re.sub(r"^[①-⑳]?\s*(実施計画名|所管課)\s*", "", html.unescape(cell).replace("**", "").strip())
            parts = re.split(r"[・、]", text)
            words = text.split()
            if len(words) > 1 and all(name_key(aliases.get(name_key(w), w)) in departments for w in words):
                parts = words  # 「DX戦略課 政策統計課」: departments separated by a space
            for part in parts:
                key = name_key(part).strip("-")
                key = name_key(aliases.get(key, key))
                if len(key) < 2 or key in labels or re.fullmatch(r"\d{4}年度([(（]令和\d年度[)）])?", key) \
                        or key.startswith(("重点推進目標", "取組事項")):
                    continue
                out.append((part, key))
    return out
