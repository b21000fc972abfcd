"""Stage 2, read: a returned workbook, safely: limits before parsing, then its values.

Returned workbooks come from outside the coordinating section and are untrusted. `prescan`
checks the zip container against the limits below with zipfile and plain byte scans, and reads
the workbook's structure (sheets, defined names, document properties); each XML part is inflated
once, when first needed, and refused if it carries a DTD, before any parser sees it (without a
DTD no entity can be declared, so the standard library's expat parser is safe to use). The
sheets are then read by sheets.py: the identification sheet first, then the sheets it names,
each in one pass that also holds every cell position to the limits; the other sheets (the
記入要領, any a department added) are only checked against the limits.

Resource limits, in one place. Each has a reason and the message a clerk sees when it is hit.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field

from .. import messages as M
from ..workbooks.identity import ID_SHEET, PROPERTY_PREFIX, Identity, from_rows
from ..workbooks.xlsx import EXCEL_MAX_TEXT
from . import sheets
from .verdict import Verdict

# name: (limit, reason)
LIMITS = {
    "file_bytes": (20 * 1024 * 1024, "調査票は通常 1MB 未満。20MB を超えるものは別の内容か画像の貼り付け"),
    "zip_entries": (1_000, "調査票の部品は 50 前後。多すぎるものは zip 爆弾の疑い（Apache POI と同じ上限）"),
    "uncompressed_bytes": (200 * 1024 * 1024, "展開後の合計。これを超えると読み込みでメモリを使い果たすおそれ"),
    "ratio": (100, "100KiB を超える部品の圧縮率の上限（Apache POI と同じ）。超えるものは zip 爆弾の疑い"),
    "rows": (20_000, "調査票は数百行。大きすぎる行番号は読み込みソフトの異常終了を招く"),
    "columns": (200, "調査票は 12 列。大きすぎる列番号は読み込みソフトの異常終了を招く"),
    "text_chars": (EXCEL_MAX_TEXT, "Excel の 1 セルの文字数の上限"),
}
RATIO_MIN_BYTES = 100 * 1024

# A DTD in any part read (entity expansion, external entities) is refused before any parser sees
# it; a part that is not UTF-8 (which Excel and LibreOffice always write) could hide one.
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
MAIN_NS = sheets.MAIN_NS
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


class BadFile(Exception):
    """A file that cannot be accepted as a workbook at all, with its verdict."""

    def __init__(self, verdict: Verdict, message: M.Text):
        super().__init__(message)
        self.verdict = verdict
        self.message = message


@dataclass
class Scan:
    """What the pre-scan and the reading learned: sheet name → part, formula and percent cells
    per sheet, defined names, properties."""

    sheets: dict[str, str] = field(default_factory=dict)  # sheet name -> xl/worksheets/sheetN.xml
    hidden: dict[str, str] = field(default_factory=dict)  # sheet name -> visible/hidden/veryHidden
    formulas: dict[str, set[str]] = field(default_factory=dict)  # sheet name -> {"K20", …}
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # defined name -> (sheet, cell)
    properties: dict[str, str] = field(default_factory=dict)  # custom properties plan_xl_*
    percent: dict[str, set[str]] = field(default_factory=dict)  # sheet name -> cells shown as %
    macros: bool = False  # a macro-enabled book (.xlsm): read as values only
    date1904: bool = False  # dates counted from 1904 (a Mac workbook setting)
    strings_part: str = "xl/sharedStrings.xml"
    styles_part: str = "xl/styles.xml"


def sniff(data: bytes) -> str | None:
    """A BadFile verdict for bytes that are not an xlsx zip at all, else None."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000] or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in data:
            raise BadFile(Verdict.PASSWORD, M.F001())
        raise BadFile(Verdict.LEGACY_XLS, M.F002())
    if not data.startswith(b"PK"):
        if not data:
            raise BadFile(Verdict.EMPTY, M.F003())
        head = data[:2048].lower()
        if b"<html" in head or b"<?xml" in head:
            raise BadFile(Verdict.NOT_XLSX, M.F004())
        raise BadFile(Verdict.NOT_XLSX, M.F005())
    return None


class Package:
    """The zip's members, each inflated once when first asked for and held to the DTD gate."""

    def __init__(self, data: bytes, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]):
        self.data, self.zf = data, zf
        self.infos = {i.filename: i for i in infos}
        self._parts: dict[str, bytes] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def part(self, name: str) -> bytes:
        """A member's bytes (b"" when there is none), refused if it carries a DTD."""
        if name not in self._parts:
            xml = _inflate(self.data, self.zf, self.infos[name]) if name in self.infos else b""
            if _DOCTYPE.search(xml):
                raise BadFile(Verdict.BAD_XML, M.F014())
            encoding = _ENCODING.match(xml)
            if b"\x00" in xml[:4] or xml[:2] in (b"\xff\xfe", b"\xfe\xff") or \
                    (encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8")):
                raise BadFile(Verdict.BROKEN, M.F016())
            self._parts[name] = xml
        return self._parts[name]


def prescan(data: bytes) -> tuple[Scan, Package]:
    """Check the zip container against the limits and read the workbook's structure.
    Raises BadFile with a clerk-readable verdict."""
    if len(data) > LIMITS["file_bytes"][0]:
        raise BadFile(Verdict.TOO_BIG, M.F006(size_mb=len(data) / 1024 / 1024,
                                              limit_mb=LIMITS["file_bytes"][0] // 1024 // 1024))
    sniff(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise BadFile(Verdict.BROKEN, M.F007()) from None
    if len(infos) > LIMITS["zip_entries"][0]:
        raise BadFile(Verdict.BAD_ZIP, M.F008(count=len(infos), limit=LIMITS["zip_entries"][0]))
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise BadFile(Verdict.BAD_ZIP, M.F009())
    total = 0
    for i in infos:
        total += i.file_size
        if i.file_size > RATIO_MIN_BYTES and i.file_size > LIMITS["ratio"][0] * max(i.compress_size, 1):
            raise BadFile(Verdict.BAD_ZIP, M.F010(ratio=LIMITS["ratio"][0]))
    if total > LIMITS["uncompressed_bytes"][0]:
        raise BadFile(Verdict.TOO_BIG, M.F011(size_mb=total / 1024 / 1024,
                                              limit_mb=LIMITS["uncompressed_bytes"][0] // 1024 // 1024))
    if "mimetype" in names and b"opendocument" in _read(zf, "mimetype"):
        raise BadFile(Verdict.ODS, M.F012())
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise BadFile(Verdict.NOT_XLSX, M.F013())
    package = Package(data, zf, infos)
    return _read_structure(package), package


def _read_structure(package: Package) -> Scan:
    """The workbook's sheets, defined names and properties."""
    scan = Scan()
    # A macro-enabled book is read as values only; no macro is ever run or kept (judge says so).
    scan.macros = "xl/vbaProject.bin" in package or b"macroEnabled" in package.part("[Content_Types].xml")
    workbook_xml = package.part("xl/workbook.xml")
    if STRICT_NS.encode() in workbook_xml:
        raise BadFile(Verdict.STRICT, M.F015())
    try:
        wb_root = ET.fromstring(workbook_xml)
        rels_root = ET.fromstring(package.part("xl/_rels/workbook.xml.rels") or b"<none/>")
    except ET.ParseError:
        raise BadFile(Verdict.BROKEN, M.F016()) from None
    targets = {}
    for rel in rels_root.iter(f"{{{PKG_REL_NS}}}Relationship"):
        target = rel.get("Target", "")
        targets[rel.get("Id")] = part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        kind = rel.get("Type", "").rpartition("/")[2]
        if kind == "sharedStrings":
            scan.strings_part = part
        elif kind == "styles":
            scan.styles_part = part
    for sh in wb_root.iter(f"{{{MAIN_NS}}}sheet"):
        scan.sheets[sh.get("name", "")] = targets.get(sh.get(f"{{{REL_NS}}}id"), "xl/")
        scan.hidden[sh.get("name", "")] = sh.get("state", "visible")
    for pr in wb_root.iter(f"{{{MAIN_NS}}}workbookPr"):
        scan.date1904 = pr.get("date1904", "").lower() in ("1", "true")
    for dn in wb_root.iter(f"{{{MAIN_NS}}}definedName"):
        ref = _parse_ref(dn.text or "")
        if ref and not dn.get("localSheetId"):
            scan.names[dn.get("name", "")] = ref
    if "docProps/custom.xml" in package:
        try:
            for prop in ET.fromstring(package.part("docProps/custom.xml")):
                pname = prop.get("name", "")
                if pname.startswith(PROPERTY_PREFIX):
                    scan.properties[pname[len(PROPERTY_PREFIX):]] = "".join(prop.itertext())
        except ET.ParseError:  # an unreadable property part only loses the second copy of the identity
            pass
    return scan


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        return b""
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        # CRC errors (a lying header), truncated data, unknown compression
        raise BadFile(Verdict.BROKEN, M.F018()) from None


def _inflate(data: bytes, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflated straight from the file's bytes and checked as zipfile checks
    them (its name in the local header, size, CRC): zipfile's own reader costs ~30 µs a member on
    top, and a returned file has a dozen. Anything else (encrypted, another compression method,
    a local header that is not plainly this member's) goes through zipfile."""
    head = info.header_offset
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
            or data[head:head + 4] != b"PK\x03\x04":
        return _read(zf, info.filename)
    name_length, extra_length = struct.unpack_from("<HH", data, head + 26)
    name = data[head + 30:head + 30 + name_length]
    if name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
        return _read(zf, info.filename)
    start = head + 30 + name_length + extra_length
    raw = data[start:start + info.compress_size]
    try:
        body = zlib.decompressobj(-15).decompress(raw, info.file_size + 1) if info.compress_type else raw
    except zlib.error:
        raise BadFile(Verdict.BROKEN, M.F018()) from None
    if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
        raise BadFile(Verdict.BROKEN, M.F018())
    return body


_REF = re.compile(r"^=?'?((?:[^']|'')+?)'?!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


def _parse_ref(text: str) -> tuple[str, str] | None:
    m = _REF.match(text.strip())
    if not m:
        return None
    return m.group(1).replace("''", "'"), f"{m.group(2)}{m.group(3)}"


@dataclass
class Workbook:
    """A read returned workbook: its structure, identity and the values of the sheets read."""

    scan: Scan
    identity: Identity | None
    values: dict[str, dict[str, object]]  # sheet name -> {"K28": value} for cells with a value

    def cell(self, sheet: str, address: str):
        return self.values.get(sheet, {}).get(address, "")


def open_workbook(data: bytes) -> Workbook:
    """Pre-scan, then read the identification and the values of the sheets it names (and those
    its defined names point to, should a sheet have been renamed). Every other sheet (the
    記入要領, any a department added) is only held to the limits, never read."""
    scan, package = prescan(data)
    reader = _SheetReader(scan, package)
    identity = None
    if ID_SHEET in scan.sheets:
        try:
            identity = from_rows(_rows(reader.read(ID_SHEET)))
        except (ValueError, KeyError, IndexError):
            identity = None
    wanted = {s for s, _ in scan.names.values()}
    if identity is not None:
        wanted |= {f.sheet for f in identity.fields} | {p.sheet for p in identity.prints}
    for name in scan.sheets:
        if name in wanted:
            reader.read(name)
        elif name != ID_SHEET:
            reader.check(name)
    return Workbook(scan, identity, reader.values)


class _SheetReader:
    """Reads or checks one sheet at a time with sheets.py, turning what it finds into verdicts."""

    def __init__(self, scan: Scan, package: Package):
        self.scan, self.package = scan, package
        self.values: dict[str, dict[str, object]] = {}
        self._strings: list[str] | None = None
        self._formats: sheets.Formats | None = None
        self.limits = LIMITS["rows"][0], LIMITS["columns"][0]

    def _xml(self, name: str) -> bytes:
        part = self.scan.sheets[name]
        if part not in self.package:
            raise BadFile(Verdict.BROKEN, M.F017(name=name))
        return self.package.part(part)

    def read(self, name: str) -> dict[str, object]:
        xml = self._xml(name)
        if self._strings is None:  # read with the first sheet, for all of them
            self._strings = self._guarded(name, sheets.shared_strings, self.package.part(self.scan.strings_part))
            self._formats = sheets.formats(self.package.part(self.scan.styles_part))
        sheet = self._guarded(name, sheets.read_sheet, xml, self._strings, self._formats, self.scan.date1904,
                              *self.limits)
        self.scan.formulas[name], self.scan.percent[name] = sheet.formulas, sheet.percent
        self.values[name] = sheet.cells
        return sheet.cells

    def check(self, name: str) -> None:
        self.scan.formulas[name] = self._guarded(name, sheets.check_sheet, self._xml(name), *self.limits)
        self.scan.percent[name] = set()

    def _guarded(self, name: str, read, *args):
        try:
            return read(*args)
        except sheets.Beyond as e:
            raise BadFile(Verdict.TOO_BIG, M.F019(sheet=name, where=e.where[:30], max_rows=self.limits[0],
                                                  max_cols=self.limits[1])) from None
        except sheets.Unreadable as e:
            raise BadFile(Verdict.BROKEN, M.F020(sheet=name, what=e.what, text=e.text[:30])) from None
        except (sheets.Malformed, RecursionError):
            raise BadFile(Verdict.BROKEN, M.F022()) from None


def _rows(cells: dict[str, object]) -> list[list]:
    """A sheet's cells as rows of values from column A (the identification sheet's form)."""
    grid: dict[int, dict[int, object]] = {}
    for address, value in cells.items():
        row, col = sheets.position(address)
        grid.setdefault(row, {})[col] = value
    return [[line.get(c, "") for c in range(1, max(line) + 1)] for _, line in sorted(grid.items())]
