"""`plan-xl report --pdf`: the FY2022 report as a PDF made by LibreOffice holds every text the
workbook holds, one plan per page run, A4 landscape, fonts embedded, a bookmark per sheet."""

from __future__ import annotations

import re
import subprocess

import pytest
from click.testing import CliRunner
from conftest import needs_libreoffice
from python_calamine import CalamineWorkbook
from support.rendering import flat, needs_poppler, pdf_pages

from plan_xl.cli import main
from plan_xl.workbooks import pdf as pdf_module
from plan_xl.workbooks.layout import sheet_name
from plan_xl.workspace import Workspace


def workbook_fragments(path) -> list[tuple[str, str]]:
    """Every line of every text cell of every sheet, as (sheet, text without whitespace)."""
    wb = CalamineWorkbook.from_path(str(path))
    out = []
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False):
            out += [(name, flat(line)) for v in row if isinstance(v, str) for line in v.split("\n") if flat(line)]
    return out


def in_order(fragment: str, text: str, gap: int = 40) -> bool:
    """`fragment` in `text`, or its characters in order with short gaps: LibreOffice draws the
    wrapped lines of neighbouring cells of one row line by line, so a cell's second line may
    follow its neighbour's first."""
    if fragment in text:
        return True
    start = text.find(fragment[:4])
    while start != -1:
        pos, ok = start + 4, True
        for ch in fragment[4:]:
            nxt = text.find(ch, pos, pos + gap + 1)
            if nxt == -1:
                ok = False
                break
            pos = nxt + 1
        if ok:
            return True
        start = text.find(fragment[:4], start + 1)
    return False


@pytest.fixture(scope="module")
def fy2022_pdf(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("pdf") / "作業フォルダ")
    ws.create()
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "report", "--year", "2022", "--pdf"])
    assert result.exit_code == 0, result.output
    pdf = ws.report_path(2022).with_suffix(".pdf")
    assert f"PDF を作成しました: {pdf}" in result.output
    return ws, ws.report_path(2022), pdf


@needs_libreoffice
@needs_poppler
def test_the_pdf_holds_every_text_of_the_workbook(fy2022_pdf):
    _, workbook, pdf = fy2022_pdf
    text = flat("".join(pdf_pages(pdf)))
    fragments = workbook_fragments(workbook)
    assert len(fragments) > 1500
    assert [(sheet, f) for sheet, f in fragments if not in_order(f, text)] == []
    exact = sum(f in text for _, f in fragments)
    assert exact >= len(fragments) - 5  # only interleaved wrapped lines need the ordered match


def bookmarks(pdf) -> dict[str, int]:
    """Outline title -> index of the page it points at (LibreOffice writes a flat page tree and
    plain outline objects: /Title<UTF-16 hex> /Dest[n 0 R ...])."""
    raw = pdf.read_bytes()
    kids = [int(n) for n in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\[([^\]]*)\]", raw)[1])]
    return {bytes.fromhex(title.decode()).decode("utf-16"): kids.index(int(ref))
            for title, ref in re.findall(rb"/Title<([0-9A-F]+)>\s*/Dest\[(\d+) 0 R", raw)}


@needs_libreoffice
@needs_poppler
def test_every_plan_starts_on_its_own_page_with_a_bookmark(fy2022_pdf):
    ws, workbook, pdf = fy2022_pdf
    reg = ws.load()
    pages = pdf_pages(pdf)
    marks = bookmarks(pdf)
    sheets = CalamineWorkbook.from_path(str(workbook)).sheet_names
    assert list(marks) == sheets  # a bookmark per sheet, so one per plan
    starts = [marks[s] for s in sheets]
    assert starts[0] == 0 and all(a < b for a, b in zip(starts, starts[1:], strict=False))  # own pages
    assert "評価の概要" in pages[starts[1]] and "目次" in pages[starts[2]]  # the report opens with 評価
    ends = starts[1:] + [len(pages)]
    n_plans = len(reg.plans)
    plan_pages = 0
    for plan in reg.plans:
        n = sheets.index(sheet_name(plan))
        first = flat(pages[starts[n]])
        assert flat(f"{plan.mark} 実施計画名") in first and flat(plan.name) in first, plan.id
        assert flat(f"重点推進目標{plan.goal}") in first
        for page in pages[starts[n]:ends[n]]:  # every page of the plan repeats its title row
            assert flat(f"{plan.mark} 実施計画名") in flat(page), plan.id
        plan_pages += ends[n] - starts[n]
    # measured with LibreOffice 7.4: 27 plan pages for 20 plans, 35 pages in all
    assert n_plans <= plan_pages <= 2 * n_plans
    assert len(pages) == starts[sheets.index(sheet_name(reg.plans[0]))] + plan_pages


@needs_libreoffice
@needs_poppler
def test_fonts_are_embedded(fy2022_pdf):
    _, _, pdf = fy2022_pdf
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" == row[-5] for row in rows), fonts  # the 'emb' column


def test_without_libreoffice_the_message_names_the_package(workspace, monkeypatch):
    monkeypatch.setattr(pdf_module, "find_soffice", lambda: None)
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "report", "--year", "2022", "--pdf"])
    assert result.exit_code == 1
    assert "報告書を作成しました" in result.output  # the workbook is made all the same
    assert "LibreOffice" in result.output and "libreoffice-calc" in result.output
    assert not workspace.report_path(2022).with_suffix(".pdf").exists()
