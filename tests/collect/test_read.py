"""read: a returned workbook's structure and values as plan-xl sees them, from real .xlsx files
(a template filled with openpyxl, a book written by xlsxwriter): sheets, defined names, percent
cells, formulas, the identity; and what is no .xlsx at all is told apart before unzipping."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter
from support.returned import YEAR, fill, identity, issue, typical_values
from support.zipbuild import parts_of, zip_of

from plan_xl.collect.read import BadFile, _inflate, open_workbook, prescan, sniff
from plan_xl.collect.verdict import Verdict
from plan_xl.workbooks.identity import ID_SHEET, PROPERTY_PREFIX

DX = "DX戦略課"


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    ws = issue(tmp_path_factory.mktemp("read") / "作業フォルダ", [DX])
    template = ws.template_path(YEAR, DX)
    values = typical_values(ws.load(), identity(template))
    return template, values, fill(template, values)


def test_values_are_read_at_the_cells_of_the_fields(filled):
    template, values, data = filled
    book = open_workbook(data)
    specs = {f.key: f for f in book.identity.fields}
    for key, value in values.items():
        assert book.cell(specs[key].sheet, specs[key].cell) == value, key
    assert book.cell(specs[key].sheet, "ZZ9999") == ""  # outside the sheet: empty, not an error


def test_the_identity_comes_back_as_issued(filled):
    template, _, data = filled
    issued = open_workbook(template.read_bytes())
    returned = open_workbook(data)
    assert returned.identity == issued.identity
    assert returned.identity.department == DX and returned.identity.year == YEAR
    # the short copy in the document properties
    assert returned.scan.properties["template_id"] == issued.identity.template_id
    assert returned.scan.properties["signature"] == issued.identity.signature
    assert returned.scan.hidden[ID_SHEET] == "veryHidden"


def test_defined_names_point_at_the_input_cells(filled):
    _, _, data = filled
    book = open_workbook(data)
    for spec in book.identity.fields:
        assert book.scan.names[spec.name] == (spec.sheet, spec.cell), spec.name


def test_sheets_formulas_and_percent_cells_of_a_book_written_by_xlsxwriter():
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    first = book.add_worksheet("計画 1")
    first.write_number("B2", 0.625, book.add_format({"num_format": "0.0%"}))
    first.write_number("B3", 0.5, book.add_format({"num_format": 10}))  # built-in 0.00%
    first.write_number("B4", 12, book.add_format({"num_format": "#,##0"}))
    first.write_formula("C5", "=B4*2", None, 24)
    second = book.add_worksheet("隠し")
    second.hide()
    second.write_string("A1", "x")
    book.define_name("入力_1", "='計画 1'!$B$2")
    book.close()
    read = open_workbook(buf.getvalue())
    assert list(read.scan.sheets) == ["計画 1", "隠し"]
    assert read.scan.hidden == {"計画 1": "visible", "隠し": "hidden"}
    assert read.scan.percent["計画 1"] == {"B2", "B3"}
    assert read.scan.formulas == {"計画 1": {"C5"}, "隠し": set()}
    assert read.scan.names["入力_1"] == ("計画 1", "B2")
    assert read.cell("計画 1", "C5") == 24  # the saved result, never recomputed
    assert read.identity is None  # no identification sheet: not one of ours


def test_a_broken_identification_sheet_is_no_identity(filled):
    _, _, data = filled
    parts = parts_of(data)
    assert any(b"plan-xl identification" in body for _, body in parts)
    broken = zip_of([(n, body.replace(b"plan-xl identification", b"something else")) for n, body in parts])
    assert open_workbook(broken).identity is None
    assert open_workbook(data).scan.properties  # the rest of the file still reads


@pytest.mark.parametrize("data, verdict", [
    (b"", Verdict.EMPTY),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, Verdict.LEGACY_XLS),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"), Verdict.PASSWORD),
    ("所管課,実績\r\n".encode("cp932"), Verdict.NOT_XLSX),
    (b"<html><body>x</body></html>", Verdict.NOT_XLSX),
])
def test_what_is_no_xlsx_is_told_before_unzipping(data, verdict):
    with pytest.raises(BadFile) as e:
        sniff(data)
    assert e.value.verdict == verdict
    with pytest.raises(BadFile) as again:
        open_workbook(data)
    assert again.value.verdict == verdict


def test_a_zip_is_left_to_the_next_checks(filled):
    assert sniff(filled[2]) is None
    assert sniff(zip_of({"a.txt": b"x"})) is None
    with pytest.raises(BadFile) as e:
        prescan(zip_of({"a.txt": b"x"}))
    assert e.value.verdict == Verdict.NOT_XLSX


def test_document_properties_are_read_without_their_prefix(filled):
    _, _, data = filled
    props = open_workbook(data).scan.properties
    assert props and all(not k.startswith(PROPERTY_PREFIX) for k in props)  # the prefix is taken off


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_are_inflated_as_zipfile_reads_them(filled, compression):
    """The pre-scan inflates members from the file's bytes itself: the same bytes as zipfile's,
    and a damaged member (CRC) or a local header naming another file is a broken file, as with
    zipfile."""
    data = zip_of(parts_of(filled[2]), compression)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert all(_inflate(data, zf, i) == zf.read(i.filename) for i in zf.infolist())
    info = zf.getinfo("xl/workbook.xml")
    start = info.header_offset + 30 + len(info.filename)
    flipped = data[:start + 40] + bytes([data[start + 40] ^ 0xFF]) + data[start + 41:]
    renamed = data[:info.header_offset + 30] + b"xl/workbooX.xml" + data[info.header_offset + 45:]
    for damaged in (flipped, renamed):
        with pytest.raises(BadFile) as e:
            _inflate(damaged, zipfile.ZipFile(io.BytesIO(damaged)), info)
        assert e.value.verdict == Verdict.BROKEN
