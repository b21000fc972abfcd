"""Correction copies (修正依頼) a department can act on: A4 landscape, printing whole, three
colours told apart, changed pre-filled cells shown and restored, protection back, and every
注意 saying whether anything must be done."""

from __future__ import annotations

import colorsys
import subprocess

import openpyxl
import pytest
from conftest import needs_libreoffice, soffice
from support.returned import YEAR, cell_of, copy_workspace, editable, fill, identity, issue, typical_values

from plan_xl.collect import Verdict, collect
from plan_xl.collect.feedback import CORRECTION_SHEET, ERROR_FILL, HEADER_ROW, INPUT_FILL_RGB, WARNING_FILL

DX = "DX戦略課"


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """DX戦略課 unprotects a sheet and edits a pre-filled cell, forgets a 実績, and types a
    number as full-width text: one correction copy with errors and both kinds of 注意."""
    ws = copy_workspace(issue(tmp_path_factory.mktemp("issued") / "作業フォルダ"),
                        tmp_path_factory.mktemp("corrections") / "作業フォルダ")
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(ws.load(), ident)
    values[editable(ident, "results")[0].key] = None
    number = editable(ident, "actual")[-1]
    values[number.key] = "１２"
    sheet = editable(ident, "results")[0].sheet

    def unprotect_and_edit(wb, ident):
        wb[sheet].protection.sheet = False
        wb[sheet]["C3"] = "書き換えた名称"

    (ws.inbox / f"{YEAR}年度_進捗状況調査票_{DX}.xlsx").write_bytes(fill(template, values, unprotect_and_edit))
    result = collect(ws)
    assert [r.verdict for r in result.results] == [Verdict.REJECTED]
    original = openpyxl.load_workbook(template)[sheet]["C3"].value
    return result.corrections[0], sheet, original, result.results[0]


def rows(path) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[CORRECTION_SHEET].iter_rows(min_row=HEADER_ROW + 1, values_only=True))


def test_the_summary_sheet_is_first_and_set_up_for_a4_landscape(copy):
    path, *_ = copy
    book = openpyxl.load_workbook(path)
    ws = book[CORRECTION_SHEET]
    assert book.sheetnames[0] == CORRECTION_SHEET and ws["A1"].value == f"{YEAR}年度 進捗状況調査票 修正依頼（{DX}）"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_area and ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"


def test_three_colours_told_apart(copy):
    path, *_ = copy

    def hue_and_luminance(rgb: str) -> tuple[float, float]:
        r, g, b = (int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4))
        return colorsys.rgb_to_hls(r, g, b)[0] * 360, 0.2126 * r + 0.7152 * g + 0.0722 * b

    for a, b in ((ERROR_FILL, INPUT_FILL_RGB), (WARNING_FILL, INPUT_FILL_RGB), (ERROR_FILL, WARNING_FILL)):
        (hue_a, lum_a), (hue_b, lum_b) = hue_and_luminance(a), hue_and_luminance(b)
        assert min(abs(hue_a - hue_b), 360 - abs(hue_a - hue_b)) > 40, (a, b)  # FFEB9C/FFF2CC: 3°
        assert abs(lum_a - lum_b) > 0.1, (a, b)  # told apart on a grey printout too
    book = openpyxl.load_workbook(path)
    fills = {c.fill.fgColor.rgb[-6:] for ws in book.worksheets[1:] for row in ws.iter_rows() for c in row
             if c.fill.fill_type == "solid"}
    assert {ERROR_FILL, WARNING_FILL, INPUT_FILL_RGB} <= fills


def test_every_note_says_whether_to_act(copy):
    path, *_ = copy
    actions = {(r[1], r[2]) for r in rows(path) if r[0]}
    assert ("誤り", "修正してください") in actions
    assert ("注意", "対応不要") in actions and ("注意", "確認してください") in actions
    assert all(a in ("修正してください", "確認してください", "対応不要") for _, a in actions)
    for r in rows(path):
        if r[2] == "対応不要":
            assert "対応は不要です" in r[5]


def test_a_changed_prefilled_cell_shows_and_restores_the_original(copy):
    path, sheet, original, _ = copy
    book = openpyxl.load_workbook(path)
    assert book[sheet]["C3"].value == original
    assert "書き換えた名称" in book[sheet]["C3"].comment.text
    changed = next(r for r in rows(path) if r[4] == "C3")
    assert changed[6] == original


def test_protection_is_back_on_every_issued_sheet(copy):
    path, sheet, *_ = copy
    book = openpyxl.load_workbook(path)
    assert book[sheet].protection.sheet  # the department had removed it
    assert all(ws.protection.sheet for ws in book.worksheets if ws.title != CORRECTION_SHEET)
    ident = identity(path)  # the identification survives, so the corrected copy can come back
    assert ident.department == DX
    opened = [cell_of(book, f) for f in editable(ident)]
    assert all(c.protection.locked is False for c in opened)


@needs_libreoffice
def test_the_summary_prints_whole(copy, tmp_path):
    path, *_ = copy
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(path)], check=True, timeout=180, capture_output=True)
    pdf = tmp_path / (path.stem + ".pdf")
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    flat = "".join(first.split())
    assert "読み取った内容のお知らせです。" in flat  # the instruction's last words: not cut
    for r in rows(path):
        if r[0]:
            assert "".join(str(r[5]).split())[-12:] in flat  # every message's end, 内容 on the page
