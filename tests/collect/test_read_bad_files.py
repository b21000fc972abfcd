"""A generated corpus of bad and odd files: each gets its own verdict, none stops the batch,
and a run that accepts nothing leaves the register byte-for-byte as it was.

The batch runs in a child process (`python -m plan_xl collect`), so that a reader aborting the
process (python-calamine on an absurd sheet size) would fail the test instead of killing pytest.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib

import openpyxl
import pytest
import xlsxwriter
from support.returned import ISSUED, YEAR, fill, identity, issue, typical_values
from support.zipbuild import zip_of

from plan_xl.workbooks.identity import FORMAT_VERSION, ID_SHEET
from plan_xl.workbooks.templates import TemplateOptions, build_template

BROKEN = "壊れたファイル"
NOT_XLSX = "xlsx ではない"
ZIP = "zip の異常"
TOO_BIG = "大きすぎる"
XML = "不正な XML"
NOT_TEMPLATE = "調査票ではない"
REJECTED = "差戻し"
DX = "DX戦略課"

# --- building blocks ----------------------------------------------------------------------
CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
      'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
      'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
      'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
      'officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
             'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
             'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>')
# a defined name points at Sheet1, so that it is read for values (and its shared strings with it)
WORKBOOK_NAMED = WORKBOOK.format(ns=MAIN).replace("</sheets>", "</sheets><definedNames><definedName "
                                                  "name=\"入力\">Sheet1!$A$1</definedName></definedNames>")
WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
           'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
           'officeDocument/2006/relationships/worksheet" Target="{target}"/></Relationships>')
SHEET = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}">{dim}<sheetData>{data}</sheetData></worksheet>'


def mini_xlsx(data: str = '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>', dim: str = "",
              ns: str = MAIN, workbook: str | None = None, sheet: str | None = None,
              target: str = "worksheets/sheet1.xml", extra: dict[str, bytes] | None = None) -> bytes:
    """A hand-written xlsx of one sheet, so that each part can be made hostile on its own."""
    parts = {"[Content_Types].xml": CT, "_rels/.rels": ROOT_RELS,
             "xl/workbook.xml": workbook or WORKBOOK.format(ns=ns),
             "xl/_rels/workbook.xml.rels": WB_RELS.format(target=target),
             "xl/" + target: sheet or SHEET.format(ns=ns, dim=dim, data=data)}
    return zip_of({**{k: v.encode() for k, v in parts.items()}, **(extra or {})})


def rezip(data: bytes, change=None, add: dict[str, bytes] | None = None, drop: str = "",
          compression=zipfile.ZIP_DEFLATED) -> bytes:
    """Copy a zip, changing parts on the way (`change(name, bytes) -> bytes`)."""
    parts = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name != drop:
                parts[name] = change(name, z.read(name)) if change else z.read(name)
    return zip_of({**parts, **(add or {})}, compression)


def ole(stream_names: list[str]) -> bytes:
    """A Compound File (OLE2) with a directory of the given streams: the container of a legacy
    .xls and of a password-protected .xlsx (EncryptionInfo + EncryptedPackage)."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<II", header, 44, 1, 1)  # one FAT sector, directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)
    struct.pack_into("<I", header, 76, 0)  # DIFAT[0] = sector 0 (the FAT)
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, 0xFFFFFFFF)
    fat = bytearray(b"\xff" * 512)
    struct.pack_into("<II", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE)
    directory = bytearray()
    for i, name in enumerate(["Root Entry", *stream_names]):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\0\0"
        entry[0:len(encoded)] = encoded
        struct.pack_into("<HBB", entry, 64, len(encoded), 5 if i == 0 else 2, 1)
        struct.pack_into("<III", entry, 68, 0xFFFFFFFF, 0xFFFFFFFF, 1 if i == 0 else 0xFFFFFFFF)
        directory += entry
    directory += b"\0" * (-len(directory) % 512)
    return bytes(header + fat + directory)


def patch_central_sizes(data: bytes, name: str, compressed: int, uncompressed: int) -> bytes:
    """Make the central directory declare other sizes for one entry (a lying header)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46:pos + 46 + n].decode() == name:
            struct.pack_into("<II", out, pos + 20, compressed, uncompressed)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def crc_error(data: bytes) -> bytes:
    """A stored (uncompressed) copy with one byte of the workbook part flipped."""
    stored = rezip(data, compression=zipfile.ZIP_STORED)
    needle = b"<sheets>"
    pos = stored.find(needle)
    return stored[:pos] + b"<sheetz>" + stored[pos + len(needle):]


def edit_template(template, change) -> bytes:
    wb = openpyxl.load_workbook(template)
    change(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def set_identity(wb, label: str, value: str, column: int = 2) -> None:
    ws = wb[ID_SHEET]
    for row in ws.iter_rows():
        if row[0].value == label:
            row[column - 1].value = value
            return
    raise AssertionError(label)


def make_other_field_editable(wb) -> None:
    ws = wb[ID_SHEET]
    for row in ws.iter_rows():
        if row[0].value == "field" and row[6].value == "0":
            row[5].value, row[6].value = DX, "1"
            return


def not_a_template() -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet("集計").write_string(0, 0, "進捗状況")
    book.close()
    return buf.getvalue()


def fake_id_sheet() -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet(ID_SHEET).write_string(0, 0, "これは識別情報ではありません")
    book.close()
    return buf.getvalue()


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10))
                  + ']><workbook xmlns="' + MAIN + '"><sheets><sheet name="&lol9;" sheetId="1" '
                  'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/>'
                  '</sheets></workbook>')
XXE = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>&xxe;</t></si></sst>')


def with_external_entity(sheet: bytes) -> bytes:
    return (b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + sheet.split(b"?>", 1)[-1]).replace(
        b"</sheetData>", b'<row r="999"><c r="A999" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData>', 1)


def corpus(ws) -> dict[str, tuple[bytes, str]]:
    """file name -> (bytes, expected verdict)."""
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    good = fill(template, typical_values(reg, identity(template)))
    key = ws.key_path.read_bytes()
    other_key_dir = ws.root.parent / "別の作業フォルダ"
    other = issue(other_key_dir)
    wrong_key = fill(other.template_path(YEAR, DX), typical_values(reg, identity(other.template_path(YEAR, DX))))
    assert other.key_path.read_bytes() != key

    def built(year: int = YEAR, revision_bump: int = 0) -> bytes:
        r = ws.load()
        r.meta["revision"] = str(r.register_version + revision_bump)
        path = ws.root.parent / f"built-{year}-{revision_bump}.xlsx"
        from plan_xl.workbooks.identity import load_or_create_key

        build_template(r, DX, TemplateOptions(year, issued=ISSUED), load_or_create_key(ws.key_path), path)
        return path.read_bytes()

    unsigned = edit_template(template, lambda wb: set_identity(wb, "signature", "0" * 64))
    bomb = zip_of({"[Content_Types].xml": CT.encode(), "xl/workbook.xml": b"\0" * (20 * 1024 * 1024)})
    many = zip_of({f"xl/media/image{i}.png": b"x" for i in range(1_001)})
    big_cell = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return {
        "empty.xlsx": (b"", "空のファイル"),
        "text.xlsx": ("所管課の実績です".encode("cp932"), NOT_XLSX),
        "csv_renamed.xlsx": ("所管課,実績\r\n人事課,10\r\n".encode("cp932"), NOT_XLSX),
        "html_renamed.xlsx": (b"<html><body><table><tr><td>1</td></tr></table></body></html>", NOT_XLSX),
        "pdf_renamed.xlsx": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", NOT_XLSX),
        "gzip_renamed.xlsx": (b"\x1f\x8b\x08\x00" + zlib.compress(b"x" * 100), NOT_XLSX),
        "xls_renamed.xlsx": (ole(["Workbook", "\x05SummaryInformation"]), "旧形式（.xls）"),
        "password.xlsx": (ole(["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]), "パスワード付き"),
        "ods_renamed.xlsx": (zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                     "content.xml": b"<office:document-content/>"}), "ODS 形式"),
        "docx_renamed.xlsx": (zip_of({"[Content_Types].xml": CT.encode(), "word/document.xml": b"<w:document/>"}),
                              NOT_XLSX),
        "truncated_half.xlsx": (good[: len(good) // 2], BROKEN),
        "truncated_head.xlsx": (good[:200], BROKEN),
        "crc_error.xlsx": (crc_error(good), BROKEN),
        "missing_sheet_part.xlsx": (rezip(good, drop="xl/worksheets/sheet2.xml"), BROKEN),
        "broken_workbook_xml.xlsx": (rezip(good, lambda n, d: d[:-40] if n == "xl/workbook.xml" else d), BROKEN),
        "strict_open_xml.xlsx": (mini_xlsx(ns="http://purl.oclc.org/ooxml/spreadsheetml/main"), "Strict 形式"),
        # macros are never run or kept: the values are judged like any other return (here the
        # same rejected file as tampered_signature.xlsx), with a notice that macros were ignored
        "macro_enabled.xlsx": (rezip(unsigned, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}), REJECTED),
        "macro_content_type.xlsx": (rezip(unsigned, lambda n, d: d.replace(b"sheet.main+xml",
                                                                           b"sheet.macroEnabled.main+xml")
                                          if n == "[Content_Types].xml" else d), REJECTED),
        "zip_bomb_ratio.xlsx": (bomb, ZIP),
        "zip_bomb_entries.xlsx": (many, ZIP),
        "zip_bomb_declared_size.xlsx": (patch_central_sizes(good, "xl/worksheets/sheet2.xml", 3_000_000,
                                                            250 * 1024 * 1024), TOO_BIG),
        "duplicate_entries.xlsx": (good + b"", ZIP),  # replaced below
        "dimension_XFD1048576.xlsx": (mini_xlsx(dim='<dimension ref="A1:XFD1048576"/>'), TOO_BIG),
        "cell_XFD1048576.xlsx": (mini_xlsx(data=big_cell), TOO_BIG),
        "row_1048576_no_cell_ref.xlsx": (mini_xlsx(data='<row r="1048576"><c><v>1</v></c></row>'), TOO_BIG),
        "cell_single_quoted.xlsx": (mini_xlsx(data="<row r='1'><c r='XFD1'><v>1</v></c></row>"), TOO_BIG),
        "cell_prefixed_ns.xlsx": (mini_xlsx(sheet=f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1">'
                                                  '<x:c r="A1048576"><x:v>1</x:v></x:c></x:row></x:sheetData>'
                                                  '</x:worksheet>'), TOO_BIG),
        "billion_laughs.xlsx": (mini_xlsx(workbook=BILLION_LAUGHS), XML),
        # every part is held to the DTD gate when it is read: here a plan sheet, the entity in a cell
        "external_entity.xlsx": (rezip(good, lambda n, d: with_external_entity(d) if n == "xl/worksheets/sheet2.xml"
                                       else d), XML),
        "external_entity_strings.xlsx": (mini_xlsx(data='<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                                                   workbook=WORKBOOK_NAMED,
                                                   extra={"xl/sharedStrings.xml": XXE.encode()}), XML),
        "doctype_in_sheet.xlsx": (mini_xlsx(sheet='<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "b">]>'
                                                  f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>'), XML),
        "not_a_template.xlsx": (not_a_template(), NOT_TEMPLATE),
        "fake_identification.xlsx": (fake_id_sheet(), NOT_TEMPLATE),
        "openpyxl_blank.xlsx": (edit_template(template, lambda wb: wb.remove(wb[ID_SHEET])), NOT_TEMPLATE),
        "tampered_signature.xlsx": (edit_template(template, lambda wb: set_identity(wb, "signature", "0" * 64)),
                                    REJECTED),
        "tampered_hidden_sheet.xlsx": (edit_template(template, make_other_field_editable), REJECTED),
        "tampered_property.xlsx": (rezip(good, lambda n, d: d.replace(identity(template).template_id.encode(),
                                                                       b"T2023-000000000000")
                                         if n == "docProps/custom.xml" else d), REJECTED),
        "other_working_folder.xlsx": (wrong_key, REJECTED),
        "wrong_year.xlsx": (built(2019), REJECTED),
        "newer_register_revision.xlsx": (built(YEAR, 5), REJECTED),
        "later_identity_format.xlsx": (edit_template(template, lambda wb: set_identity(
            wb, "plan-xl identification", str(FORMAT_VERSION + 1))), REJECTED),
        "進捗.csv": ("所管課,実績\r\n".encode("cp932"), "対象外の形式"),
        "macro_named.xlsm": (unsigned, REJECTED),
    }


def duplicate_entries(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        with pytest.warns(UserWarning):
            zout.writestr("xl/workbook.xml", zin.read("xl/workbook.xml"))
    return buf.getvalue()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every corpus file in one inbox, collected once by the real command in a child process."""
    ws = issue(tmp_path_factory.mktemp("bad") / "作業フォルダ")
    files = corpus(ws)
    files["duplicate_entries.xlsx"] = (duplicate_entries(files["tampered_signature.xlsx"][0]), ZIP)
    for name, (data, _) in files.items():
        (ws.inbox / name).write_bytes(data)
    before = ws.register_path.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "plan_xl", "--dir", str(ws.root), "collect"],
                          capture_output=True, text=True, timeout=120)
    log = [json.loads(line) for line in (ws.state / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()]
    return ws, files, before, proc, {e["file"]: e for e in log}


def test_a_template_of_a_later_plan_xl_says_so(batch):
    entry = batch[4]["later_identity_format.xlsx"]
    assert entry["verdict"] == REJECTED
    codes = [f["code"] for f in entry["findings"]]
    assert "V030" in codes
    assert not {"V001", "C021"} & set(codes)  # not mistaken for a forgery


def test_corpus_is_big_enough(batch):
    assert len(batch[1]) >= 30


def test_batch_never_crashes_and_reports_rejection(batch):
    ws, files, _, proc, verdicts = batch
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "予期しない" not in proc.stderr
    assert set(verdicts) == set(files)


def test_register_unchanged_when_nothing_accepted(batch):
    ws, _, before, proc, verdicts = batch
    assert not any(e["verdict"].startswith("受理") for e in verdicts.values())
    assert ws.register_path.read_bytes() == before
    assert not ws.backups.exists() or not any(ws.backups.iterdir())
    assert "台帳は変更していません" in proc.stdout


def test_every_file_is_archived_unchanged(batch):
    ws, files, *_ = batch
    archived = {p.name.split("_", 1)[1]: p.read_bytes() for p in ws.archive.iterdir()}
    assert archived == {name: data for name, (data, _) in files.items()}


CASES = [
    "empty.xlsx", "text.xlsx", "csv_renamed.xlsx", "html_renamed.xlsx", "pdf_renamed.xlsx", "gzip_renamed.xlsx",
    "xls_renamed.xlsx", "password.xlsx", "ods_renamed.xlsx", "docx_renamed.xlsx", "truncated_half.xlsx",
    "truncated_head.xlsx", "crc_error.xlsx", "missing_sheet_part.xlsx", "broken_workbook_xml.xlsx",
    "strict_open_xml.xlsx", "macro_enabled.xlsx", "macro_content_type.xlsx", "zip_bomb_ratio.xlsx",
    "zip_bomb_entries.xlsx", "zip_bomb_declared_size.xlsx", "duplicate_entries.xlsx",
    "dimension_XFD1048576.xlsx", "cell_XFD1048576.xlsx", "row_1048576_no_cell_ref.xlsx",
    "cell_single_quoted.xlsx", "cell_prefixed_ns.xlsx", "billion_laughs.xlsx", "external_entity.xlsx",
    "external_entity_strings.xlsx",
    "doctype_in_sheet.xlsx", "not_a_template.xlsx", "fake_identification.xlsx", "openpyxl_blank.xlsx",
    "tampered_signature.xlsx", "tampered_hidden_sheet.xlsx", "tampered_property.xlsx",
    "other_working_folder.xlsx", "wrong_year.xlsx", "newer_register_revision.xlsx", "later_identity_format.xlsx",
    "進捗.csv", "macro_named.xlsm",
]


@pytest.mark.parametrize("name", CASES)
def test_verdict(batch, name):
    _, files, _, _, verdicts = batch
    entry = verdicts[name]
    assert entry["verdict"] == files[name][1], entry["message"]
    assert entry["message"] and entry["code"]  # a sentence for the clerk, from the catalogue
    if entry["verdict"] == REJECTED:
        assert entry["findings"] and all(f["severity"] and f["code"] for f in entry["findings"])
    if name in ("macro_enabled.xlsx", "macro_content_type.xlsx"):
        assert any(f["code"] == "C007" for f in entry["findings"])  # read as values, macros never run


def test_cases_cover_the_corpus(batch):
    assert sorted(CASES) == sorted(batch[1])
