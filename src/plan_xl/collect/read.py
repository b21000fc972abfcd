"""Stage 2, read: a returned workbook, safely: limits before parsing, then python-calamine for values.

Returned workbooks come from outside the coordinating section and are untrusted. Before any
parser touches a file, `prescan` checks it with zipfile and plain byte scans against the limits
below; only then is it opened with python-calamine (fast; it would abort the whole process on
absurd sheet dimensions, which the pre-scan rules out first).

Resource limits, in one place. Each has a reason and the message a clerk sees when it is hit.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook

from .. import messages as M
from ..workbooks.identity import ID_SHEET, PROPERTY_PREFIX, Identity, from_rows
from ..workbooks.xlsx import EXCEL_MAX_TEXT
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

# A cell whose own content holds an <f> element. An empty self-closing cell (<c r="J20" s="1"/>,
# as Excel and LibreOffice write blank input cells) must not borrow the next cell's formula.
_FORMULA_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br\s*=\s*["\']([A-Za-z]{1,3}[0-9]{1,7})["\'][^>]*?(?<!/)>'
                           rb'(?:(?!</?(?:\w+:)?c[\s>/]).){0,4000}?<(?:\w+:)?f[\s>/]', re.DOTALL)
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
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
    """What the pre-scan learned: sheet name → part, formula cells per sheet, defined names."""

    sheets: dict[str, str] = field(default_factory=dict)  # sheet name -> xl/worksheets/sheetN.xml
    hidden: dict[str, str] = field(default_factory=dict)  # sheet name -> visible/hidden/veryHidden
    formulas: dict[str, set[str]] = field(default_factory=dict)  # sheet name -> {"K20", …}
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # defined name -> (sheet, cell)
    properties: dict[str, str] = field(default_factory=dict)  # custom properties plan_xl_*
    percent: dict[str, set[str]] = field(default_factory=dict)  # sheet name -> cells shown as %
    macros: bool = False  # a macro-enabled book (.xlsm): read as values only


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


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


def prescan(data: bytes) -> Scan:
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
    parts = {i.filename: _inflate(data, zf, i) for i in infos if i.filename.endswith((".xml", ".rels"))}
    for xml in parts.values():  # every XML part inflated once, for this check and what follows
        if _DOCTYPE.search(xml):
            raise BadFile(Verdict.BAD_XML, M.F014())
    return _read_structure(zf, infos, parts)


def _read_structure(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], parts: dict[str, bytes]) -> Scan:
    """The workbook's sheets, names, formula and percent cells and properties, from the XML parts
    the pre-scan inflated (`parts`); each sheet's XML is searched without being parsed."""
    names = [i.filename for i in infos]
    scan = Scan()
    # A macro-enabled book is read as values only; no macro is ever run or kept (judge says so).
    scan.macros = "xl/vbaProject.bin" in names or b"macroEnabled" in _read(zf, "[Content_Types].xml")
    workbook_xml = parts.get("xl/workbook.xml") or _read(zf, "xl/workbook.xml")
    if STRICT_NS.encode() in workbook_xml:
        raise BadFile(Verdict.STRICT, M.F015())
    try:
        wb_root = SafeET.fromstring(workbook_xml)
        rels_root = SafeET.fromstring(parts.get("xl/_rels/workbook.xml.rels", b""))
    except Exception:  # defusedxml raises several types for hostile or broken XML
        raise BadFile(Verdict.BROKEN, M.F016()) from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels_root.iter(f"{{{PKG_REL_NS}}}Relationship")}
    for sh in wb_root.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets.get(sh.get(f"{{{REL_NS}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        scan.sheets[sh.get("name", "")] = part
        scan.hidden[sh.get("name", "")] = sh.get("state", "visible")
    for dn in wb_root.iter(f"{{{MAIN_NS}}}definedName"):
        ref = _parse_ref(dn.text or "")
        if ref and not dn.get("localSheetId"):
            scan.names[dn.get("name", "")] = ref
    percent_styles = _percent_styles(parts["xl/styles.xml"]) if "xl/styles.xml" in parts else set()
    for name, part in scan.sheets.items():
        if part not in names:
            raise BadFile(Verdict.BROKEN, M.F017(name=name))
        xml = parts[part] if part in parts else _read(zf, part)
        scan.formulas[name] = _scan_sheet(xml, name)
        scan.percent[name] = _styled_cells(xml, percent_styles) if percent_styles else set()
    for i in infos:  # every shared-strings part, whatever the relationships point to
        if i.filename.lower().endswith("sharedstrings.xml"):
            _check_shared_strings(parts.get(i.filename) or _read(zf, i.filename))
    if "docProps/custom.xml" in names:
        try:
            root = SafeET.fromstring(parts["docProps/custom.xml"])
            for prop in root:
                pname = prop.get("name", "")
                if pname.startswith(PROPERTY_PREFIX):
                    scan.properties[pname[len(PROPERTY_PREFIX):]] = "".join(prop.itertext())
        except Exception:  # an unreadable property part only loses the second copy of the identity
            pass
    return scan


# Built-in number formats that show a percent sign (ECMA-376 18.8.30): 0%, 0.00%.
_PERCENT_FORMAT_IDS = {9, 10}
_CELL_STYLE = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*?\bs="([0-9]{1,6})"'
                         rb'|<(?:\w+:)?c\s[^>]*?\bs="([0-9]{1,6})"[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"')


def _percent_styles(styles_xml: bytes) -> set[int]:
    """Indexes of the cell formats (cellXfs) whose number format shows a value as a percentage:
    what Excel and LibreOffice give a cell typed as 「62.5%」 (stored as 0.625). python-calamine
    does not expose formats, so they are read here from xl/styles.xml."""
    if b"%" not in styles_xml and b'numFmtId="9"' not in styles_xml and b'numFmtId="10"' not in styles_xml:
        return set()
    try:
        root = SafeET.fromstring(styles_xml)
    except Exception:  # noqa: BLE001 - unreadable styles only lose the percent detection
        return set()
    percent_ids = set(_PERCENT_FORMAT_IDS)
    for fmt in root.iter(f"{{{MAIN_NS}}}numFmt"):
        code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", fmt.get("formatCode", ""))  # quoted text is not a sign
        if "%" in code:
            percent_ids.add(int(fmt.get("numFmtId", "-1")))
    out = set()
    for xfs in root.iter(f"{{{MAIN_NS}}}cellXfs"):
        for n, xf in enumerate(xfs.iter(f"{{{MAIN_NS}}}xf")):
            if int(xf.get("numFmtId", "0")) in percent_ids:
                out.add(n)
    return out


def _styled_cells(xml: bytes, styles: set[int]) -> set[str]:
    """Cells of a sheet whose style is one of `styles`."""
    out = set()
    for m in _CELL_STYLE.finditer(xml):
        cell, style = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if int(style) in styles:
            out.add(cell.decode())
    return out


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


# Every <row>, <c> and <dimension> tag, with any namespace prefix, as a reader sees it. The cell
# positions a reader will use are followed exactly: a tag's own r/ref attribute (any quoting,
# spacing, case, leading zeros or character references), else the next row / the next column.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""(?:^|\s)(?:[A-Za-z_][\w.-]*:)?(r|ref)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_A1 = re.compile(r"^\$?([A-Za-z]{1,10})\$?([0-9]{1,20})$")
_SST_COUNT = re.compile(rb"""\buniqueCount\s*=\s*["']\s*([0-9]+)""")


def _not_beyond(top: str, alphabet: str) -> str:
    """A pattern for the words over `alphabet` that do not come after `top` when ordered first by
    length, then letter by letter: column letters up to "GR", decimal numbers up to "20000"."""
    first, last, k = alphabet[0], alphabet[-1], len(top)
    alternatives = [f"[{first}-{last}]{{1,{k - 1}}}"] if k > 1 else []
    for i, ch in enumerate(top):
        if (pos := alphabet.index(ch)) > 0:
            rest = f"[{first}-{last}]{{{k - i - 1}}}" if k - i - 1 else ""
            alternatives.append(f"{top[:i]}[{first}-{alphabet[pos - 1]}]{rest}")
    return "(?:" + "|".join([*alternatives, top]) + ")"


def _check_positions(sheet: str, tags) -> None:
    """Reject a sheet whose cells a reader would place beyond LIMITS rows/columns. `tags`: the
    sheet's <row>, <c> and <dimension> tags (_TAG matches) in document order."""
    max_rows, max_cols = LIMITS["rows"][0], LIMITS["columns"][0]

    def too_big(where: str) -> BadFile:
        return BadFile(Verdict.TOO_BIG, M.F019(sheet=sheet, where=where[:30], max_rows=max_rows,
                                               max_cols=max_cols))

    def unreadable(what: str, text: str) -> BadFile:
        return BadFile(Verdict.BROKEN, M.F020(sheet=sheet, what=what, text=text[:30]))

    def ref(value: bytes) -> tuple[int, int]:
        text = html.unescape(value.decode("utf-8", "replace")).strip()
        m = _A1.match(text)
        if not m:
            raise unreadable("セル番地", text)
        return int(m.group(2)), _col_number(m.group(1).upper().encode())

    row = col = 0
    for tag in tags:
        kind = tag.group(1)
        attrs = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
                 for m in _ATTR.finditer(tag.group(2))}
        if kind == b"dimension":
            for part in (attrs.get(b"ref") or b"A1").split(b":"):
                r, c = ref(part)
                if r > max_rows or c > max_cols:
                    raise too_big(part.decode("utf-8", "replace"))
            continue
        if kind == b"row":
            raw = attrs.get(b"r")
            text = html.unescape(raw.decode("utf-8", "replace")).strip() if raw is not None else ""
            if raw is not None and not text.isdigit():
                raise unreadable("行番号", text)
            row, col = (int(text) if raw is not None else row + 1), 0
        elif attrs.get(b"r") is not None:
            row, col = ref(attrs[b"r"])
        else:
            col += 1
        if row > max_rows or col > max_cols:
            raise too_big(f"{_column_letters(col)}{row}")


def _column_letters(n: int) -> str:
    letters = ""
    while n > 0 and len(letters) < 12:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters or "A"


# The one pass over a sheet: every tag that needs a closer look. A row or cell tag written plainly
# (`<row r="12"`, `<c r="L12"`, as Excel, LibreOffice and xlsxwriter write them) within LIMITS
# needs none; anything else (another spelling, a namespace prefix, a position beyond the limits),
# the <dimension> and formula elements (<f>, not a data validation's <formula1>) are found.
_ROW_OK = "0*" + _not_beyond(str(LIMITS["rows"][0]), "0123456789")
_COLUMN_OK = _not_beyond(_column_letters(LIMITS["columns"][0]), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NOTABLE_TAG = re.compile(f'<(?!c r="{_COLUMN_OK}{_ROW_OK}"|row r="{_ROW_OK}")'
                          r"(?:[A-Za-z_][\w.-]*:)?(row|c|dimension|f)(?=[\s/>])".encode())


def _scan_sheet(xml: bytes, sheet: str) -> set[str]:
    """Check that a sheet's cells lie within LIMITS (python-calamine allocates the whole rectangle
    and aborts the process on absurd sizes) and return its formula cells."""
    kinds, dimensions = set(), []
    for m in _NOTABLE_TAG.finditer(xml):
        kinds.add(m.group(1))
        if m.group(1) == b"dimension":
            dimensions.append(m.start())
        elif m.group(1) != b"f":  # an odd row or cell: every position is followed below
            _check_positions(sheet, _TAG.finditer(xml))
            kinds.add(b"f")  # not searched further: the formula search decides
            break
    else:  # every row and cell plain: only the declared extent is left
        _check_positions(sheet, filter(None, (_TAG.match(xml, start) for start in dimensions)))
    if b"f" not in kinds:  # most returned sheets have no formula at all
        return set()
    return {m.group(1).decode().upper() for m in _FORMULA_CELL.finditer(xml)}


def _check_shared_strings(xml: bytes) -> None:
    """A declared number of shared strings larger than the part could hold makes python-calamine
    reserve memory for it up front (and abort): each string takes at least 9 bytes (<si></si>)."""
    for m in _SST_COUNT.finditer(xml[:4096]):
        if int(m.group(1)) > len(xml) // 9 + 1:
            raise BadFile(Verdict.BROKEN, M.F021())


_REF = re.compile(r"^=?'?((?:[^']|'')+?)'?!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


def _parse_ref(text: str) -> tuple[str, str] | None:
    m = _REF.match(text.strip())
    if not m:
        return None
    return m.group(1).replace("''", "'"), f"{m.group(2)}{m.group(3)}"


@dataclass
class Workbook:
    """A pre-scanned returned workbook with its values."""

    scan: Scan
    identity: Identity | None
    values: dict[str, list[list]]  # sheet name -> rows of cell values (0-based grid)

    def cell(self, sheet: str, address: str):
        row, col = cell_index(address)
        rows = self.values.get(sheet, [])
        if row < len(rows) and col < len(rows[row]):
            return rows[row][col]
        return ""


def cell_index(address: str) -> tuple[int, int]:
    m = re.match(r"^([A-Z]{1,3})([0-9]+)$", address)
    if not m:
        raise ValueError(address)
    return int(m.group(2)) - 1, _col_number(m.group(1).encode()) - 1


def open_workbook(data: bytes) -> Workbook:
    """Pre-scan, then read the identification and the values of the sheets it names (and those
    its defined names point to, should a sheet have been renamed) with python-calamine. Other
    sheets (the 記入要領, any a department added) are never read."""
    scan = prescan(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        present = set(book.sheet_names)
        identity = _identity(book) if ID_SHEET in present else None
        wanted = {s for s, _ in scan.names.values()}
        if identity is not None:
            wanted |= {f.sheet for f in identity.fields} | {p.sheet for p in identity.prints}
        values = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                  for name in book.sheet_names if name in wanted}
    except BadFile:
        raise
    except Exception:  # calamine's own error types for damaged content
        raise BadFile(Verdict.BROKEN, M.F022()) from None
    return Workbook(scan, identity, values)


def _identity(book: CalamineWorkbook) -> Identity | None:
    try:
        return from_rows(book.get_sheet_by_name(ID_SHEET).to_python(skip_empty_area=False))
    except (ValueError, KeyError, IndexError):
        return None
