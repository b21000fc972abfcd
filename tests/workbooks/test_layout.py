"""layout: the printed plan sheet shared by templates and the report. Text measures (width,
lines, height), numbers as printed, sheet names within Excel's rules; and on a real template
(xlsxwriter, read back by openpyxl) the columns, the input boxes, their heights and the page."""

from __future__ import annotations

import unicodedata

import openpyxl
import pytest
from support.returned import YEAR, editable, identity, issue

from plan_xl.workbooks import layout
from plan_xl.workbooks.identity import ID_SHEET
from plan_xl.workbooks.layout import (
    COLUMN_WIDTHS,
    INPUT_FILL,
    LINE_HEIGHT,
    MAX_ROW_HEIGHT,
    amount_format,
    contribution_text,
    display_width,
    format_amount,
    input_height,
    sheet_name,
    text_height,
    text_lines,
)

DX = "DX戦略課"


@pytest.mark.parametrize("text, width", [("abc", 3), ("あいう", 6), ("ＡB", 3), ("", 0), ("①ｱ", 3)])
def test_display_width_counts_full_width_twice(text, width):
    assert display_width(text) == width


def test_wide_runs_are_wide_by_unicodedata():
    """The regex that counts runs of wide characters at once matches only characters
    east_asian_width calls wide, so a width is the same as counting one character at a time."""
    matched = [chr(c) for c in range(0x110000) if layout._WIDE_RUN.fullmatch(chr(c))]
    assert len(matched) > 20_000 and all(unicodedata.east_asian_width(ch) in "FW" for ch in matched)
    text = "●計画ＡB「説明会」を３回、①ｱ ×2\tです。\u303f"
    assert display_width(text) == sum(2 if unicodedata.east_asian_width(ch) in "FWA" else 1 for ch in text)


def test_lines_grow_with_text_and_shrink_with_width():
    short, long = "説明会を開催した。", "説明会を開催した。" * 20
    assert text_lines(short, 40) == 1
    assert text_lines(long, 40) > text_lines(long, 80) >= 2
    assert text_lines(f"{short}\n{short}\n{short}", 40) == 3  # every line break is a line
    assert text_lines(short + "\n", 40) == 2
    assert text_height(long, 40) > text_height(short, 40) == LINE_HEIGHT + 3.0
    assert text_height(long, 40, size=12) > text_height(long, 40)  # a larger font: more and taller lines


@pytest.mark.parametrize("value, text, number_format", [(12179.0, "12,179", "#,##0"), (5.75, "5.75", "#,##0.00"),
                                                        (1234567.5, "1,234,567.5", "#,##0.0"), (0.0, "0", "#,##0")])
def test_amounts_print_as_their_format_shows_them(value, text, number_format):
    assert format_amount(value) == text
    assert amount_format(value) == number_format
    assert format_amount(None) == ""


def test_sheet_names_keep_excels_rules(source_register):
    names = [sheet_name(p) for p in source_register.plans]
    assert len(set(names)) == len(names)
    for plan, name in zip(source_register.plans, names, strict=True):
        assert name.startswith(plan.id + " ") and len(name) <= 31
        assert not set(name) & set("[]:*?/\\") and name == name.rstrip()


def test_a_name_with_forbidden_characters(source_register):
    plan = source_register.plans[0]
    plan = type(plan)(plan.id, "電子申請/オンライン化 [第2期]: 推進*?", plan.departments)
    assert sheet_name(plan) == f"{plan.id} 電子申請・オンライン化 ・第2期・・ 推進・・"
    long = type(plan)(plan.id, "あ" * 40, plan.departments)
    assert sheet_name(long) == f"{plan.id} " + "あ" * (31 - len(plan.id) - 1)


def test_contribution_text_labels_the_co_owner():
    assert contribution_text("人事課", "研修を実施") == "＜人事課＞\n研修を実施"
    assert contribution_text("人事課", "") == "＜人事課＞"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    ws = issue(tmp_path_factory.mktemp("layout") / "作業フォルダ", [DX])
    path = ws.template_path(YEAR, DX)
    return ws.load(), path, openpyxl.load_workbook(path), identity(path)


def test_plan_sheets_are_named_and_ordered_as_the_register(template):
    reg, _, book, _ = template
    plans = [sheet_name(p) for p in reg.plans_of(DX)]
    assert [n for n in book.sheetnames if n not in ("記入要領", ID_SHEET)] == plans


def test_columns_are_as_designed(template):
    _, _, book, ident = template
    sheet = book[ident.fields[0].sheet]
    widths = {}
    for dim in sheet.column_dimensions.values():
        for col in range(dim.min, dim.max + 1):
            widths[col] = dim.width
    assert sorted(widths) == list(range(1, len(COLUMN_WIDTHS) + 1))
    for col, width in widths.items():  # xlsxwriter stores Excel's width: the digits plus 5 px of padding
        assert width == pytest.approx(COLUMN_WIDTHS[col - 1] + 5 / 7, abs=0.01), col


def test_input_boxes_are_yellow_and_tall_enough(template):
    reg, _, book, ident = template
    for spec in editable(ident):
        cell = book[spec.sheet][spec.cell]
        assert cell.fill.fgColor.rgb == "FF" + INPUT_FILL.lstrip("#").upper(), spec.key
        assert cell.protection.locked is False, spec.key
    texts = [f for f in editable(ident) if f.field.kind in ("results", "revision")]
    assert texts
    for spec in texts:
        height = book[spec.sheet].row_dimensions[book[spec.sheet][spec.cell].row].height
        assert min(input_height(reg), MAX_ROW_HEIGHT) <= height <= MAX_ROW_HEIGHT, spec.key


def test_every_plan_sheet_prints_a4_landscape_one_page_wide(template):
    _, _, book, _ = template
    for sheet in book.worksheets:
        if sheet.title == ID_SHEET:
            continue
        assert sheet.page_setup.paperSize == 9 and sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0, sheet.title
