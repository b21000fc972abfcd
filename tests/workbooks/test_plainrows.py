"""Plain rows (the register's data, the status workbook's tables) are written straight as XML
(workbooks/plainrows.py): the cells must be what xlsxwriter itself writes for the same values, for
openpyxl, python-calamine and LibreOffice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import needs_libreoffice, soffice
from python_calamine import CalamineWorkbook

from plan_xl.register.model import Submission
from plan_xl.register.store import load_register, register_rows, save_register
from plan_xl.workbooks.plainrows import PlainRowsSheet
from plan_xl.workbooks.xlsx import new_workbook

TRICKY = ["所管課", " 前後に空白 ", "=HYPERLINK(\"http://x\",\"y\")", "http://example.jp/", "a & <b> \"c\"",
          "行1\n行2\t列", "制御\x01\x1f文字", "_x0041_ そのまま", "\ufffe", "1-3-9", "0012", "１２３", "○"]
VALUES = [TRICKY, [1, 2.5, -0.1, 10**15 + 0.5, 1e-9, 2023, 0], [True, False, None, "", "x"]]


def _write(path: Path, plain: bool) -> None:
    book = new_workbook(path, "試験")
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2"})
    ids = book.add_format({"num_format": "@", "text_wrap": True})
    ws = book.add_worksheet("表", PlainRowsSheet if plain else None)
    ws.write_string(0, 0, "見出し", head)
    ws.set_column(0, 0, 12, ids)
    formats = [ids] + [None] * (len(TRICKY) - 1)
    if plain:
        ws.add_plain_rows(1, VALUES, formats)
    else:
        for r, row in enumerate(VALUES, 1):
            for c, v in enumerate(row):
                if v is True:
                    ws.write_string(r, c, "○")
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(r, c, v)
                elif v not in (None, "", False):
                    ws.write_string(r, c, v)
    ws.autofilter(0, 0, len(VALUES), len(TRICKY) - 1)
    book.close()


# openpyxl decodes Excel's _xHHHH_ escapes in shared strings but not in inline ones (Excel,
# LibreOffice and python-calamine decode both): those cells' values are compared through calamine
ESCAPED = {"G2", "H2", "I2"}


def _cells(path: Path) -> list:
    ws = openpyxl.load_workbook(path)["表"]
    return [(c.coordinate, None if c.coordinate in ESCAPED else c.value, c.data_type, c.number_format, c.font.b, c.alignment.wrap_text,
             c.fill.fgColor.rgb) for row in ws.iter_rows() for c in row], ws.dimensions


def test_plain_rows_are_the_cells_xlsxwriter_writes(tmp_path):
    _write(tmp_path / "plain.xlsx", True)
    _write(tmp_path / "xlsxwriter.xlsx", False)
    assert _cells(tmp_path / "plain.xlsx") == _cells(tmp_path / "xlsxwriter.xlsx")
    read = [CalamineWorkbook.from_path(str(tmp_path / f)).get_sheet_by_name("表").to_python(skip_empty_area=False)
            for f in ("plain.xlsx", "xlsxwriter.xlsx")]
    assert read[0] == read[1]
    # text stays text: no formula, link or number (U+FFFE, not a character, comes back as _xFFFE_
    # from both writers)
    assert read[0][1][:len(TRICKY)] == [t.replace("\ufffe", "_xFFFE_") for t in TRICKY]


def _table(path: Path, plain: bool) -> None:
    book = new_workbook(path, "試験")
    body = book.add_format({"border": 1, "text_wrap": True})
    ws = book.add_worksheet("表", PlainRowsSheet if plain else None)
    ws.write_string(0, 0, "題")
    rows, heights = [["受理", "", 3], ["", "長い\n内容", ""], ["差戻し", "x", 0]], {1: 30.0}
    if plain:
        ws.add_plain_rows(1, rows, [body, body, None], heights, blanks=True)
    else:
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                fmt = body if c < 2 else None
                if isinstance(v, int):
                    ws.write_number(r + 1, c, v, fmt)
                elif v:
                    ws.write_string(r + 1, c, v, fmt)
                elif fmt:
                    ws.write_blank(r + 1, c, None, fmt)
            if r in heights:
                ws.set_row(r + 1, heights[r])
    book.close()


def test_a_table_keeps_its_row_heights_and_the_borders_of_empty_cells(tmp_path):
    def cells(path):
        ws = openpyxl.load_workbook(path)["表"]
        return ([(c.coordinate, c.value, c.border.left.style) for row in ws.iter_rows() for c in row],
                {r: d.height for r, d in ws.row_dimensions.items() if d.height})

    _table(tmp_path / "plain.xlsx", True)
    _table(tmp_path / "xlsxwriter.xlsx", False)
    plain = cells(tmp_path / "plain.xlsx")
    assert plain == cells(tmp_path / "xlsxwriter.xlsx")
    assert plain[1] == {3: 30.0} and ("B2", None, "thin") in plain[0]


def test_a_too_long_text_is_refused_naming_sheet_and_column(register, tmp_path):
    from plan_xl.errors import RegisterError

    register.plans[0].overview = "あ" * 32_768
    with pytest.raises(RegisterError, match="「計画」シート 事業概要 列"):
        save_register(register, tmp_path / "register.xlsx")
    assert not list(tmp_path.glob("*.xlsx"))


def _with_history(register):
    # U+FFFE (not a character) left out: LibreOffice saves its _xFFFE_ escape back in lower case
    for k, text in enumerate(t for t in TRICKY if t != "\ufffe"):
        register.submissions.append(Submission(f"tpl-{k}", register.departments[k % 5].name, 2022, text,
                                               f"{k:064d}", "2023-04-20T09:00:00", f"{k}.xlsx"))
    return register


@needs_libreoffice
def test_register_saved_again_by_libreoffice_loads_the_same(register, tmp_path):
    save_register(_with_history(register), tmp_path / "register.xlsx")
    out = tmp_path / "lo"
    subprocess.run([soffice(), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                    str(tmp_path / "register.xlsx")], check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mine, theirs = load_register(tmp_path / "register.xlsx"), load_register(out / "register.xlsx")
    assert register_rows(theirs) == register_rows(mine) == register_rows(register)
    assert theirs.saved_tables == mine.saved_tables and mine.saved_tables
