"""sheets: a returned workbook's cells read from the XML parts, compared with python-calamine (the
reader collect used before, still the register's) on real files, and the fast reader compared
with the exact one on every sheet: the same values, formula and percent cells.

The files: templates filled with openpyxl (sensible and hostile values), one saved again by
LibreOffice, a book written by xlsxwriter with every kind of value (dates in several formats and
the 1904 date system, booleans, formulas and their results, rich text, escapes), hand-written
parts as other writers spell them (namespace prefixes, cells without an address, phonetic
readings, entities), and mutated returns."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile

import pytest
import xlsxwriter
from conftest import needs_libreoffice, soffice
from python_calamine import CalamineWorkbook
from support.mutations import HOSTILE_TEXT, mutate
from support.returned import YEAR, fill, identity, issue, sensible_values, via_libreoffice
from support.zipbuild import parts_of, zip_of

from plan_xl.collect import sheets
from plan_xl.collect.read import BadFile, _SheetReader, open_workbook, prescan

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DEPARTMENTS = ["市民課", "DX戦略課"]


def ours(data: bytes) -> dict[str, dict]:
    """Every sheet of a workbook as this reader reads it: sheet -> {address: value}."""
    scan, package = prescan(data)
    reader = _SheetReader(scan, package)
    return {name: reader.read(name) for name in scan.sheets}


def calamine(data: bytes) -> dict[str, dict]:
    """The same through python-calamine: the non-empty cells of each sheet's grid."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = {f"{sheets.column_letters(c + 1)}{r + 1}": v for r, row in enumerate(rows)
                     for c, v in enumerate(row) if v != ""}
    return out


def fast_and_exact(data: bytes) -> int:
    """Both readers on every sheet of a file; the number of sheets the fast one took."""
    scan, package = prescan(data)
    reader = _SheetReader(scan, package)
    strings = sheets.shared_strings(package.part(scan.strings_part))
    if strings:
        assert strings == sheets._exact_strings(package.part(scan.strings_part))
    fmt = sheets.formats(package.part(scan.styles_part))
    taken = 0
    for name in scan.sheets:
        xml = reader._xml(name)
        exact = sheets._exact_sheet(xml, strings, fmt, scan.date1904, 20_000, 200)
        try:
            fast = sheets._fast_sheet(xml, strings, fmt, scan.date1904, 20_000, 200)
        except sheets._Odd:
            continue
        assert fast == exact, name
        assert list(fast.cells) == list(exact.cells), name  # reading order too
        taken += 1
    return taken


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    """Filled templates: sensible values, hostile text, and one returned untouched."""
    ws = issue(tmp_path_factory.mktemp("sheets") / "作業フォルダ", DEPARTMENTS)
    templates = [ws.template_path(YEAR, d) for d in DEPARTMENTS]
    ident = identity(templates[0])
    hostile = dict(zip(sensible_values(ident), HOSTILE_TEXT * 5, strict=False))
    return [fill(t) for t in templates] + [fill(templates[0], hostile), templates[1].read_bytes()]


def every_kind_of_value(date_1904: bool = False) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "date_1904": date_1904, "strings_to_numbers": False})
    ws = book.add_worksheet("値")
    formats = ["yyyy/m/d", "yyyy/m/d h:mm", "h:mm", "[h]:mm:ss", 14, 22, 46, "0.0%", 10, "#,##0", '"年"0', "ge.m.d"]
    for r, fmt in enumerate(formats):
        for c, x in enumerate([0.25, 1, 59, 60, 61, 44931, 44931.5, 2958465, 2958466, -3]):
            ws.write_number(r, c, x, book.add_format({"num_format": fmt}))
    texts = ["  前後の空白  ", "改行\nあり", "a_x000D_b", "<&>\"'", "=1+1", "", "漢字とカナ", "\t", "x" * 300]
    for c, text in enumerate(texts):
        ws.write_string(20, c, text)
    ws.write_boolean(21, 0, True)
    ws.write_boolean(21, 1, False)
    ws.write_formula(22, 0, "=1/0", None, "#DIV/0!")
    ws.write_formula(22, 1, '="a"&"b"', None, "ab")
    ws.write_formula(22, 2, "=2*3", None, 6)
    ws.write_formula(22, 3, "=TRUE()", None, True)
    ws.write_rich_string(23, 0, "普通", book.add_format({"bold": True}), "太字", " 後ろ ")
    ws.write_blank(24, 5, None, book.add_format({"num_format": "0%"}))
    book.close()
    return buf.getvalue()


def with_sheet(sheet_xml: str, strings: str | None = None) -> bytes:
    """A real book (xlsxwriter) whose one sheet, and shared strings, are replaced by hand-written XML."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet("手書き").write_string("A1", "x")
    book.close()
    parts = dict(parts_of(buf.getvalue()))
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode()
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings.encode()
    return zip_of(list(parts.items()))


SST = (f'<sst xmlns="{MAIN}" count="6" uniqueCount="6"><si><t>  切り詰め  </t></si>'
       '<si><t xml:space="preserve">  保持  </t></si><si><t>行\r\n末\r</t></si>'
       '<si><r><t>漢字</t></r><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve"> 太字 </t></r>'
       '<rPh sb="0" eb="2"><t>カンジ</t></rPh><phoneticPr fontId="1"/></si>'
       '<si><t>_x005F_x000D_ _x000D_ _x3042_ &amp;&#x41;&#66;&lt;</t></si><si/></sst>')
HAND_WRITTEN = {
    "plain": f'<worksheet xmlns="{MAIN}"><dimension ref="A1:F2"/><sheetData><row r="1">'
             + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(6))
             + '</row><row r="2"><c r="A2" t="inlineStr"><is><t> 行内 </t></is></c><c r="B2" t="str">'
               '<f>x</f><v> 式 &amp; </v></c><c r="C2"><v>12</v></c><c r="D2" t="b"><v>1</v></c>'
               '<c r="E2" t="d"><v>2023-01-05</v></c><c r="F2" t="e"><v>#N/A</v></c></row></sheetData></worksheet>',
    "prefixed": f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>3</x:v></x:c>'
                '<x:c r="B1"><x:v>2.5</x:v></x:c></x:row></x:sheetData></x:worksheet>',
    "no addresses": f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="s"><v>0</v></c><c/><c><v>7</v></c></row>'
                    '<row><c t="inlineStr"><is><t>二行目</t></is></c></row></sheetData></worksheet>',
    "single quotes": f"<worksheet xmlns='{MAIN}'><sheetData><row r='3'><c r='b3' t='s'><v>1</v></c>"
                     "<c r = 'C3'><v>15</v></c></row></sheetData></worksheet>",
    "extra attributes": f'<worksheet xmlns="{MAIN}"><sheetData><row r="1" spans="1:2" x14ac:dyDescent="0.2" '
                        'xmlns:x14ac="urn:x"><c r="A1" s="0" t="s" cm="1"><v>4</v></c>'
                        '<c r="B1" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c></row></sheetData>'
                        '</worksheet>',
    "out of order": f'<worksheet xmlns="{MAIN}"><sheetData><row r="2"><c r="B2"><v>2</v></c><c r="A2"><v>1'
                    '</v></c></row><row r="1"><c r="A1" t="s"><v>1</v></c></row></sheetData></worksheet>',
}


def test_filled_templates_read_as_calamine_reads_them(returned):
    for data in returned:
        assert ours(data) == calamine(data)


@needs_libreoffice
def test_a_return_saved_by_libreoffice_reads_as_calamine_reads_it(returned, tmp_path):
    data = via_libreoffice(soffice(), returned[0], tmp_path)
    assert ours(data) == calamine(data)
    assert open_workbook(data).identity == open_workbook(returned[0]).identity


@pytest.mark.parametrize("date_1904", [False, True])
def test_every_kind_of_value_reads_as_calamine_reads_it(date_1904):
    data = every_kind_of_value(date_1904)
    read = ours(data)["値"]
    assert read == calamine(data)["値"]
    if not date_1904:
        assert read["F1"] == dt.date(2023, 1, 5) and read["G2"] == dt.datetime(2023, 1, 5, 12)
    assert read["A3"] == dt.time(6, 0) and read["B4"] == dt.timedelta(days=1)
    assert read["A21"] == "  前後の空白  " and read["D21"] == "<&>\"'" and read["C21"] == "a_x000D_b"
    assert read["A22"] is True and read["B22"] is False and "A23" not in read and read["B23"] == "ab"
    assert read["A24"] == "普通太字 後ろ "


@pytest.mark.parametrize("name", list(HAND_WRITTEN))
def test_hand_written_parts_read_as_calamine_reads_them(name):
    data = with_sheet(HAND_WRITTEN[name], SST)
    assert ours(data)["手書き"] == calamine(data)["手書き"]


def test_what_the_hand_written_parts_say():
    plain = ours(with_sheet(HAND_WRITTEN["plain"], SST))["手書き"]
    assert [plain.get(f"{c}1") for c in "ABCDEF"] == ["切り詰め", "  保持  ", "行\n末", "漢字 太字 ",
                                                     "_x000D_ \r _x3042_ &AB<", None]
    assert plain["A2"] == "行内" and plain["B2"] == " 式 & " and plain["C2"] == 12.0 and plain["D2"] is True
    assert plain["E2"] == dt.date(2023, 1, 5) and "F2" not in plain  # an error value is no value
    assert ours(with_sheet(HAND_WRITTEN["no addresses"], SST))["手書き"] == {"A1": "切り詰め", "C1": 7.0,
                                                                         "A2": "二行目"}


def test_the_fast_reader_and_the_exact_one_agree(returned):
    taken = sum(fast_and_exact(data) for data in [*returned, every_kind_of_value(), every_kind_of_value(True)])
    assert taken >= 12  # the templates' sheets took the fast way
    for xml in HAND_WRITTEN.values():
        fast_and_exact(with_sheet(xml, SST))


def test_formula_and_percent_cells():
    data = every_kind_of_value()
    scan, package = prescan(data)
    reader = _SheetReader(scan, package)
    reader.read("値")
    assert scan.formulas["値"] == {"A23", "B23", "C23", "D23"}
    assert {"A8", "B8", "A9", "B9"} <= scan.percent["値"] and "F25" not in scan.percent["値"]  # blank: no value


@pytest.mark.parametrize("kind, least", [("cell_text", 40), ("hostile_value", 40), ("long_row", 20),
                                         ("mangle_tag", 10), ("random_xml", 10), ("truncate_xml", 10)])
def test_mutated_returns_read_as_calamine_reads_them(returned, kind, least):
    """Where both readers read a mutated return (every sheet of it), they read the same cells.
    (This reader refuses some that calamine reads leniently: broken markup, cells past the limits.)"""
    compared = 0
    for seed in range(40):
        rng = random.Random(seed)
        data = mutate(returned[seed % len(returned)], kind, rng, rng.choice([None, *HOSTILE_TEXT]))
        try:
            mine = ours(data)  # first: calamine must never see a file past the limits (it aborts)
            theirs = calamine(data)
        except Exception:  # noqa: BLE001 - a BadFile here, calamine's own error types there
            continue
        assert mine == theirs, (kind, seed)
        compared += 1
    assert compared >= least


@pytest.mark.parametrize("kind", ["far_cell", "disguised_cell", "entity"])
def test_cells_past_the_limits_and_entities_are_refused(returned, kind):
    for seed in range(20):
        rng = random.Random(seed)
        with pytest.raises(BadFile):
            ours(mutate(returned[seed % len(returned)], kind, rng))


def test_a_sheet_beyond_the_limits_is_refused_by_both_readers():
    far = f'<worksheet xmlns="{MAIN}"><sheetData><row r="5"><c r="GS5"><v>1</v></c></row></sheetData></worksheet>'
    with pytest.raises(sheets.Beyond):
        sheets.read_sheet(far.encode(), [], sheets.NO_FORMATS, False, 20_000, 200)
    with pytest.raises(sheets.Beyond):
        sheets._exact_sheet(far.encode(), [], sheets.NO_FORMATS, False, 20_000, 200)


def test_a_file_read_only_in_part_is_still_checked_whole(returned):
    """Sheets that are not read for values (the 記入要領) are still held to the limits."""
    parts = parts_of(returned[0])
    first = next(n for n, _ in parts if n.endswith("sheet1.xml"))
    far = [(n, b.replace(b"</sheetData>", b'<row r="30000"><c r="A30000"/></row></sheetData>') if n == first else b)
           for n, b in parts]
    with pytest.raises(BadFile):
        open_workbook(zip_of(far))
    assert zipfile.ZipFile(io.BytesIO(returned[0])).read(first)  # the part is there as a sheet
