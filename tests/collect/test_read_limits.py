"""Each resource limit in reader.LIMITS is documented and tells the clerk the limit (issue 8)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from support.zipbuild import parts_of, zip_of

from plan_xl import messages as M
from plan_xl.collect import read as reader
from plan_xl.collect.read import LIMITS, BadFile, open_workbook, prescan

DOC = Path(__file__).resolve().parents[2] / "docs" / "LIMITS.md"


def test_every_limit_is_documented_with_its_reason():
    text = DOC.read_text(encoding="utf-8")
    for name, (_, reason) in LIMITS.items():
        assert f"`{name}`" in text, name
        assert reason


BASE = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
        "xl/_rels/workbook.xml.rels": b"<Relationships/>"}


@pytest.mark.parametrize("data, verdict, words", [
    (b"PK" + b"\0" * (LIMITS["file_bytes"][0] + 1), "大きすぎる", ["上限 20MB", "画像"]),
    (zip_of({**BASE, **{f"x/{n}.xml": b"" for n in range(LIMITS["zip_entries"][0])}}), "zip の異常",
     ["上限 1,000 個"]),
    (zip_of({**BASE, "x/bomb.xml": b"\0" * (2 * 1024 * 1024)}), "zip の異常", ["100 倍"]),
])
def test_limit_messages(data, verdict, words):
    with pytest.raises(BadFile) as e:
        prescan(data)
    assert e.value.verdict == verdict
    for w in words:
        assert w in e.value.message, e.value.message


def test_uncompressed_total_message(monkeypatch):
    monkeypatch.setitem(reader.LIMITS, "uncompressed_bytes", (1024 * 1024, "test"))
    data = zip_of({**BASE, "x/a.xml": b"a" * (2 * 1024 * 1024)}, zipfile.ZIP_STORED)
    with pytest.raises(BadFile) as e:
        prescan(data)
    assert e.value.verdict == "大きすぎる" and e.value.message == M.F011(size_mb=2, limit_mb=1)


@pytest.mark.parametrize("xml, where", [
    (b'<dimension ref="A1:XFD1048576"/>', "XFD1048576"),
    (b'<sheetData><row r="20001"><c r="A20001"/></row></sheetData>', "A20001"),
    (b"<sheetData><row r='1'><c r='gs1'/></row></sheetData>", "GS1"),
    (b'<sheetData><row r="1">' + b"<c/>" * 201 + b"</row></sheetData>", "GS1"),
])
def test_rows_and_columns_message(xml, where):
    with pytest.raises(BadFile) as e:
        open_workbook(book_with_sheet(xml))
    assert e.value.verdict == "大きすぎる"
    assert e.value.message == M.F019(sheet="シート1", where=where, max_rows=20_000, max_cols=200)


@pytest.mark.parametrize("cell, within", [
    *[(f"A{row}", True) for row in ("1", "9999", "10000", "19999", "20000", "020000", "0")],
    *[(f"A{row}", False) for row in ("20001", "20010", "20100", "21000", "30000", "99999", "100000", "0020001")],
    *[(f"{col}1", True) for col in ("Z", "AA", "AZ", "FZ", "GA", "GQ", "GR")],
    *[(f"{col}1", False) for col in ("GS", "GZ", "HA", "ZZ", "AAA")],
])
def test_the_limits_hold_however_a_cell_is_written(cell, within):
    """Plainly written cells (as Excel writes them) are checked in one pass, any other spelling
    tag by tag: both reach the same decision at every digit and letter of the limits."""
    row = cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for xml in (f'<sheetData><row r="{row}"><c r="{cell}"/></row></sheetData>',
                f"<sheetData><row r='{row}'><c r='{cell}'/></row></sheetData>",
                f'<x:sheetData><x:row r="{row}"><x:c r="{cell}"/></x:row></x:sheetData>'):
        data = book_with_sheet(xml.encode())
        if within:
            assert open_workbook(data).scan.sheets == {"シート1": "xl/worksheets/sheet1.xml"}
        else:
            with pytest.raises(BadFile) as e:
                open_workbook(data)
            assert e.value.verdict == "大きすぎる", xml


def test_a_template_sized_sheet_passes():
    scan = open_workbook(book_with_sheet(b'<dimension ref="A1:L400"/><sheetData><row r="400"><c r="L400"/></row>'
                                   b"</sheetData>")).scan
    assert scan.sheets == {"シート1": "xl/worksheets/sheet1.xml"}


def book_with_sheet(xml: bytes) -> bytes:
    """A real workbook (xlsxwriter) with one sheet, シート1, whose XML is `xml`."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet("シート1").write_string("A1", "x")
    book.close()
    parts = [(name, xml if name == "xl/worksheets/sheet1.xml" else body) for name, body in parts_of(buf.getvalue())]
    return zip_of(parts)
