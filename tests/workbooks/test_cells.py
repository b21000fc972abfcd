"""The plan sheets' cells kept compactly (workbooks/cells.py) make the same workbook as
xlsxwriter's own calls: the demo report and its templates written both ways are the same for
openpyxl (values, styles, merges, heights, widths, print settings, validations, names) and
python-calamine, and the same bytes; untrusted text stays text on the compact path."""

from __future__ import annotations

import datetime as dt
import zipfile
from copy import copy
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from test_untrusted_text import PAYLOADS
from xlsxwriter.exceptions import OverlappingRange

from plan_xl.collect import State, department_states
from plan_xl.demo import DEMO_YEAR, run_demo
from plan_xl.workbooks import cells
from plan_xl.workbooks.cells import CellsSheet
from plan_xl.workbooks.report import build_report
from plan_xl.workbooks.templates import TemplateOptions, build_template
from plan_xl.workbooks.xlsx import new_workbook
from plan_xl.workspace import Workspace

TRICKY = [*PAYLOADS, " 前後に空白 ", "http://example.jp/", "mailto:a@b.jp", "a & <b> \"c\"", "行1\n行2",
          "_x0041_ そのまま", "\ufffe", "0012", "1e5", "１２３", "TRUE", "#N/A", "{=1+1}"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "デモ"
    run_demo(root, lambda _: None)
    return Workspace(root)


@pytest.fixture
def both_ways(monkeypatch):
    """write(path) called once per way: xlsxwriter's own calls, then the compact cells (which
    must then have written the plan sheets: else the comparison would prove nothing)."""
    written = []
    real = CellsSheet._write_cells
    monkeypatch.setattr(CellsSheet, "_write_cells", lambda self: (written.append(self.name), real(self))[1])

    def run(write, folder: Path) -> tuple[Path, Path]:
        paths = folder / "xlsxwriter", folder / "compact"
        for path, compact in zip(paths, (False, True), strict=True):
            monkeypatch.setattr(cells, "COMPACT", compact)
            path.mkdir()
            write(path)
            assert bool(written) == compact
        return paths
    return run


def test_the_demo_report_is_the_same_workbook_both_ways(demo, both_ways, tmp_path):
    reg = demo.load()
    returned = {d for d, s in department_states(demo, reg, DEMO_YEAR).items() if s == State.RETURNED}
    old, new = both_ways(lambda folder: build_report(reg, DEMO_YEAR, folder / "報告書.xlsx", issued=dt.date(2024, 6, 10),
                                                     returned=returned), tmp_path)
    a, b = old / "報告書.xlsx", new / "報告書.xlsx"
    assert len(CalamineWorkbook.from_path(str(a)).sheet_names) > len(reg.plans)
    assert_same_workbook(a, b)


def test_the_demo_templates_are_the_same_workbooks_both_ways(demo, both_ways, tmp_path):
    reg = demo.load()
    opts = TemplateOptions(DEMO_YEAR + 1, dt.date(2025, 5, 31), issued=dt.datetime(2025, 4, 1, 9))
    departments = sorted((d.name for d in reg.departments), key=lambda d: -len(reg.plans_of(d)))
    old, new = both_ways(lambda folder: [build_template(reg, d, opts, b"k" * 32, folder / f"{n}.xlsx")
                                         for n, d in enumerate(departments)], tmp_path)
    # the reader's view of the department with the most plans; the bytes of every one
    assert_same_workbook(old / "0.xlsx", new / "0.xlsx")
    for n in range(len(departments)):
        assert same_members(old / f"{n}.xlsx", new / f"{n}.xlsx") == []


def assert_same_workbook(a: Path, b: Path) -> None:
    view_a, view_b = reader_view(a), reader_view(b)
    assert view_a.keys() == view_b.keys()
    for name in view_a:  # sheet by sheet: a failure names the sheet
        assert view_a[name] == view_b[name], name
    assert calamine_values(a) == calamine_values(b)
    assert same_members(a, b) == []


def reader_view(path: Path) -> dict:
    """What openpyxl reads of every sheet, and the workbook's defined names."""
    book = openpyxl.load_workbook(path)
    view = {"": ({n: d.attr_text for n, d in book.defined_names.items()}, book.sheetnames)}
    for ws in book.worksheets:
        view[ws.title] = {
            "cells": {c.coordinate: (c.value, c.data_type, *map(copy, (c.font, c.fill, c.border, c.alignment,
                                                                         c.protection)), c.number_format)
                      for row in ws.iter_rows() for c in row},  # copies: a style proxy equals nothing
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "rows": {r: (d.height, d.customHeight, d.hidden) for r, d in ws.row_dimensions.items()},
            "columns": {k: (d.width, d.hidden) for k, d in ws.column_dimensions.items()},
            "print": (ws.print_area, ws.print_title_rows, ws.page_setup.orientation, ws.page_setup.paperSize,
                      ws.page_setup.fitToWidth, ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr,
                      ws.page_margins, ws.oddFooter.center.text, [b.id for b in ws.row_breaks.brk],
                      ws.sheet_view.showGridLines, ws.freeze_panes),
            "validations": [(v.type, str(v.sqref), v.formula1, v.formula2, v.operator, v.allow_blank, v.prompt,
                             v.error, v.showErrorMessage) for v in ws.data_validations.dataValidation],
            "conditional": [(str(r.sqref), [(x.type, x.formula, x.dxf) for x in r.rules])
                            for r in ws.conditional_formatting],
            "protection": ws.protection,
            "names": {n: d.attr_text for n, d in ws.defined_names.items()},
        }
    return view


def calamine_values(path: Path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def same_members(a: Path, b: Path) -> list[str]:
    """The zip members whose bytes differ (or that one file lacks)."""
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names = sorted({*za.namelist(), *zb.namelist()})
        return [n for n in names if n not in za.namelist() or n not in zb.namelist() or za.read(n) != zb.read(n)]


def _sheet(path: Path, compact: bool, cells) -> None:
    """`cells` (row, col, value, merged to) written on one sheet, either way, formats on some."""
    book = new_workbook(path, "試験")
    bold, number = book.add_format({"bold": True, "border": 1}), book.add_format({"num_format": "#,##0.0"})
    ws = book.add_worksheet("表", CellsSheet if compact else None)
    ws.set_column(0, 3, 20)
    ws.set_row(40, 30)  # a row with a height only, below the cells
    for k, (r, c, value, last) in enumerate(cells):
        fmt = number if isinstance(value, float) else bold if k % 3 else None
        if compact:
            if last:
                ws.put_merge(r, c, *last, fmt)
            ws.put_cell(r, c, value, fmt)
        else:
            if last:
                ws.merge_range(r, c, *last, "", fmt)
            if isinstance(value, float):
                ws.write_number(r, c, value, fmt)
            elif value:
                ws.write_string(r, c, value, fmt)
            else:
                ws.write_blank(r, c, None, fmt)
    book.close()


def test_untrusted_text_stays_text_on_the_compact_path(tmp_path):
    cells = [(r, 1 + r % 3, text, (r + 1, 3) if r % 4 == 0 else None) for r, text in enumerate(TRICKY, 2)
             if r % 4 != 1]  # a merge spans its row and the next: that row stays free
    cells += [(30, 0, 1234.5, None), (31, 0, -0.001, None), (32, 0, "", None), (33, 0, None, (34, 2))]
    _sheet(tmp_path / "a.xlsx", False, cells)
    _sheet(tmp_path / "b.xlsx", True, cells)
    assert same_members(tmp_path / "a.xlsx", tmp_path / "b.xlsx") == []
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["表"]
    values = calamine_values(tmp_path / "b.xlsx")["表"]  # openpyxl leaves _x000D_ escaped
    for r, c, text, _ in cells[:-4]:
        cell = ws.cell(r + 1, c + 1)
        assert cell.data_type == "s" and values[r][c] == text and cell.hyperlink is None
    assert ws["A31"].value == 1234.5 and ws["A31"].number_format == "#,##0.0"
    with zipfile.ZipFile(tmp_path / "b.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "hyperlink" not in sheet


def test_cells_written_both_ways_on_one_sheet_and_overlaps(tmp_path):
    """A compact sheet also takes xlsxwriter's own writes (then assembled on its path), and a
    merge over an earlier one fails as xlsxwriter's does."""
    book = new_workbook(tmp_path / "c.xlsx", "試験")
    ws = book.add_worksheet("表", CellsSheet)
    ws.put_merge(0, 0, 1, 2, None)
    ws.put_cell(0, 0, "結合", None)
    ws.put_cell(3, 1, 12.5, None)
    ws.write_string(2, 4, "xlsxwriter の書き込み")
    with pytest.raises(OverlappingRange):
        ws.put_merge(1, 2, 1, 3, None)
    book.close()
    values = calamine_values(tmp_path / "c.xlsx")["表"]
    assert values[0][0] == "結合" and values[2][4] == "xlsxwriter の書き込み" and values[3][1] == 12.5
    assert [str(r) for r in openpyxl.load_workbook(tmp_path / "c.xlsx")["表"].merged_cells.ranges] == ["A1:C2"]
