"""Stage 2, read (its second half): a returned workbook's cells, from the XML parts the pre-scan
inflated and checked (read.py), in one pass over each sheet that also finds the formula and
percent cells and holds every cell position to the limits.

python-calamine read the values before: it opened the zip again, inflated the same parts again
and parsed each sheet a second time after the pre-scan's pass over it. Here each part is read
once, from the bytes already in hand. Every part has two readers that give the same values:
- the fast one, for XML as Excel, LibreOffice, xlsxwriter and openpyxl write it (plain tags, no
  namespace prefix, attributes in their usual order): regular expressions, at C speed over the
  cells nobody typed into, a few Python steps for each cell with a value;
- the exact one, for anything else (a namespace prefix, a cell without its address, single
  quotes, entities in attributes, an unusual attribute, a position beyond the limits):
  the standard library's expat parser, streaming. Every part given here has passed read.py's
  gate against DTDs, so no entity can be declared or expanded.
A sheet goes to the exact reader as a whole as soon as the fast one meets a tag it does not
recognise, so no cell is ever skipped. Values are what python-calamine gives for the same cells
(tests/collect/test_sheets.py compares them): text, float, bool, dates as datetime objects by
the cell's number format, "" for an empty cell or an error value. Where the two part ways, this
reader follows XML: it refuses broken markup that calamine reads leniently, and it resolves a
character reference inside a number (<v>&#49;5</v>), which calamine drops.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import re
import xml.etree.ElementTree as ET
from typing import NamedTuple

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PREFIXED = re.compile(r"<[A-Za-z_][\w.-]*:")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class Beyond(Exception):
    """A cell (or the sheet's declared extent) lies beyond the row or column limit."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where = where


class Unreadable(Exception):
    """A cell position that no reader could make sense of: what (セル番地 / 行番号) and the text."""

    def __init__(self, what: str, text: str):
        super().__init__(what, text)
        self.what, self.text = what, text


class Malformed(Exception):
    """A part that is not well-formed XML, or a value its type cannot have."""


class _Odd(Exception):
    """Something the fast reader does not take: the exact reader reads the part instead."""


class Sheet(NamedTuple):
    """One sheet as read: the cells with a value (address -> value, in document order), the
    cells holding a formula and the cells shown as a percentage (addresses like "K28")."""

    cells: dict[str, object]
    formulas: set[str]
    percent: set[str]


class Formats(NamedTuple):
    """What a cell's style index says about its number: shown as a percentage, or a date/time
    (DATE) or an elapsed time (DURATION). python-calamine's rules (calamine/src/formats.rs)."""

    percent: frozenset[str]  # style indexes as the s attribute writes them ("12")
    dates: dict[str, int]


DATE, DURATION = 1, 2
NO_FORMATS = Formats(frozenset(), {})


# --- positions -------------------------------------------------------------------------------
def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    letters = ""
    while n > 0 and len(letters) < 12:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters or "A"


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


class _Patterns(NamedTuple):
    cell: re.Pattern  # a plainly written cell with content, the extent, or a tag to look at closely
    notable: re.Pattern  # for a sheet not read: a tag whose position needs a closer look


@functools.lru_cache(maxsize=4)
def _patterns(max_rows: int, max_cols: int) -> _Patterns:
    """The fast reader's patterns for these limits. A row or cell written plainly (`<row r="12"`,
    `<c r="L12"`, as Excel, LibreOffice and xlsxwriter write them) within the limits needs no
    Python step unless the cell has content; any other <row>, <c> or <dimension> tag is found."""
    rows = _not_beyond(str(max_rows), "0123456789")
    columns = _not_beyond(column_letters(max_cols), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    address = f"{columns}(?=[1-9]){rows}"  # no leading zero: the address is the cell's key
    blank = f'c r="{address}"(?: s="[0-9]{{1,6}}")?(?: t="[a-zA-Z]{{1,9}}")? ?/>'  # openpyxl: " />"
    cell = re.compile(
        f'<c r="({address})"(?: s="([0-9]{{1,6}})")?(?: t="([a-zA-Z]{{1,9}})")?>(?:<v>([^<&\r]+)</v>|(.*?))</c>'
        f'|<dimension ref="([A-Z0-9:$]*)"'
        f'|<(?!{blank}|row r="(?=[1-9]){rows}"|dimension ref=")(?:[A-Za-z_][\\w.-]*:)?(row|c|dimension)(?=[\\s/>])',
        re.DOTALL)
    notable = re.compile(f'<(?!c r="{columns}0*{rows}"|row r="0*{rows}")'
                         r"(?:[A-Za-z_][\w.-]*:)?(row|c|dimension|f)(?=[\s/>])".encode())
    return _Patterns(cell, notable)


# Every <row>, <c> and <dimension> tag, with any namespace prefix, as a reader sees it. The cell
# positions a reader will use are followed exactly: a tag's own r/ref attribute (any quoting,
# spacing, case, leading zeros or character references), else the next row / the next column.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""(?:^|\s)(?:[A-Za-z_][\w.-]*:)?(r|ref)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_A1 = re.compile(r"^\$?([A-Za-z]{1,10})\$?([0-9]{1,20})$")
_ENTITY = re.compile(r"&(#[0-9]{1,8}|#x[0-9A-Fa-f]{1,8}|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _a1(text: str) -> tuple[int, int]:
    m = _A1.match(text.strip())
    if not m:
        raise Unreadable("セル番地", text.strip())
    return int(m.group(2)), column_number(m.group(1).upper())


def _check_positions(tags, max_rows: int, max_cols: int) -> None:
    """Raise Beyond for a cell a reader would place beyond the limits. `tags`: the sheet's <row>,
    <c> and <dimension> tags (_TAG matches) in document order."""
    row = col = 0
    for tag in tags:
        kind = tag.group(1)
        attrs = {m.group(1): html.unescape((m.group(2) if m.group(2) is not None else m.group(3))
                                           .decode("utf-8", "replace")) for m in _ATTR.finditer(tag.group(2))}
        if kind == b"dimension":
            for part in (attrs.get(b"ref") or "A1").split(":"):
                r, c = _a1(part)
                if r > max_rows or c > max_cols:
                    raise Beyond(part.strip())
            continue
        if kind == b"row":
            text = attrs.get(b"r", "").strip()
            if b"r" in attrs and not text.isdigit():
                raise Unreadable("行番号", text)
            row, col = (int(text) if b"r" in attrs else row + 1), 0
        elif b"r" in attrs:
            row, col = _a1(attrs[b"r"])
        else:
            col += 1
        if row > max_rows or col > max_cols:
            raise Beyond(f"{column_letters(col)}{row}")


def check_sheet(xml: bytes, max_rows: int, max_cols: int) -> set[str]:
    """A sheet that is not read for values: only that its cells lie within the limits (anything
    that opens the file later, such as the correction copy, must not meet an absurd sheet), and
    its formula cells."""
    notable = _patterns(max_rows, max_cols).notable
    kinds, dimensions = set(), []
    for m in notable.finditer(xml):
        kinds.add(m.group(1))
        if m.group(1) == b"dimension":
            dimensions.append(m.start())
        elif m.group(1) != b"f":  # an odd row or cell: every position is followed
            _check_positions(_TAG.finditer(xml), max_rows, max_cols)
            kinds.add(b"f")
            break
    else:
        _check_positions(filter(None, (_TAG.match(xml, start) for start in dimensions)), max_rows, max_cols)
    if b"f" not in kinds:
        return set()
    return {m.group(1).decode().upper() for m in _FORMULA_CELL.finditer(xml)}


# A cell whose own content holds an <f> element. An empty self-closing cell (<c r="J20" s="1"/>)
# must not borrow the next cell's formula.
_FORMULA_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br\s*=\s*["\']([A-Za-z]{1,3}[0-9]{1,7})["\'][^>]*?(?<!/)>'
                           rb'(?:(?!</?(?:\w+:)?c[\s>/]).){0,4000}?<(?:\w+:)?f[\s>/]', re.DOTALL)


# --- text ------------------------------------------------------------------------------------
def _resolve(text: str) -> str:
    """Element text as XML means it: line ends normalised, entities resolved. An entity XML does
    not define (there is no DTD) goes to the exact reader, which refuses it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        resolved, n = _ENTITY.subn(_entity, text)
        if n != text.count("&"):
            raise _Odd()
        text = resolved
    return text


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name[0] != "#":
        return _NAMED[name]
    try:
        return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))
    except (ValueError, OverflowError):
        raise _Odd() from None


_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")


def _finish(text: str, preserve: bool) -> str:
    """A <t> element's text as Excel means it: trimmed unless xml:space="preserve", and the
    _x00HH_ escapes Excel writes for control characters resolved."""
    if not preserve:
        text = text.strip(" \t\r\n")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x00" in text else text


_RUN_TEXT = re.compile(r'<t( xml:space="preserve")?>([^<]*)</t>|<t/>')
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>|<rPh\b[^>]*/>", re.DOTALL)


def _rich(inner: str) -> str:
    """The text of a string item's content (<si>, <is>): its <t> elements, runs joined, the
    phonetic reading (<rPh>, furigana) left out."""
    if "<rPh" in inner:
        inner = _PHONETIC.sub("", inner)
    found = _RUN_TEXT.findall(inner)
    if len(found) != inner.count("<t>") + inner.count("<t ") + inner.count("<t/>") or "<![CDATA[" in inner \
            or _PREFIXED.search(inner):
        raise _Odd()
    return "".join(_finish(_resolve(text), bool(preserve)) for preserve, text in found)


# an item of one plain <t> (no entity, no line end to normalise) is its text as it stands
_STRING_ITEM = re.compile(r'<si>(?:<t>([^<&\r]*)</t>|(.*?))</si>|<si/>', re.DOTALL)


def shared_strings(xml: bytes) -> list[str]:
    """The shared strings table (xl/sharedStrings.xml), in order."""
    if not xml:
        return []
    try:
        text = xml.decode("utf-8")  # once for the table: every item's text is a slice of it
        found = _STRING_ITEM.findall(text)
        if len(found) != xml.count(b"<si") or _PREFIXED.search(text):  # any other <si…, a nested one
            raise _Odd()
        return [(plain.strip(" \t\n") if "_x00" not in plain else _finish(plain, False)) if plain or not rich
                else _rich(rich) for plain, rich in found]
    except (_Odd, UnicodeDecodeError):
        return _exact_strings(xml)


def _exact_strings(xml: bytes) -> list[str]:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise Malformed() from None
    return [_element_text(si) for si in root if _local(si.tag) == "si"]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _element_text(item: ET.Element) -> str:
    """The exact reader's text of a string item: every <t> not inside a phonetic reading."""
    out = []
    for child in item:
        name = _local(child.tag)
        if name == "t":
            out.append(_finish(child.text or "", child.get(_XML_SPACE) == "preserve"))
        elif name != "rPh":
            out.append(_element_text(child))
    return "".join(out)


# --- number formats --------------------------------------------------------------------------
_BUILTIN_DATES = {**dict.fromkeys([*range(14, 23), 45, 47], DATE), 46: DURATION}


def date_kind(code: str) -> int:
    """Whether a number format code shows a date/time, an elapsed time, or neither (0): the
    first section only, quoted text, escapes and colours left out (calamine's rule)."""
    escaped = quoted = ap = hms = False
    brackets, prev = 0, " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return 0
        elif ch == "[":
            brackets += 1
        elif ch == "]" and brackets == 1 and hms:
            return DURATION
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ap and not brackets:
            ap = True
        elif ap and not brackets and ch in "pmPM/":
            return DATE
        elif not ap and not brackets and ch in "dmhysDMHYS":
            return DATE
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return 0


@functools.lru_cache(maxsize=64)  # every template of a year has the same styles part
def formats(styles_xml: bytes) -> Formats:
    """The cell formats (xl/styles.xml cellXfs, by index) that show a percentage or a date.
    Typing 「62.5%」 into a cell stores 0.625 with a percent format; typing 「5/1」 stores a date."""
    if not styles_xml:
        return NO_FORMATS
    try:
        root = ET.fromstring(styles_xml)
    except ET.ParseError:
        return NO_FORMATS  # unreadable styles only lose what formats tell
    codes = {9: "0%", 10: "0.00%"}
    for fmt in root.iter(f"{{{MAIN_NS}}}numFmt"):
        try:
            codes[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
        except ValueError:
            continue
    percent, dates = set(), {}
    for xfs in root.iter(f"{{{MAIN_NS}}}cellXfs"):
        for n, xf in enumerate(xfs.iter(f"{{{MAIN_NS}}}xf")):
            try:
                number = int(xf.get("numFmtId", "0"))
            except ValueError:
                continue
            code = codes.get(number, "")
            if "%" in re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code):  # quoted text is not a sign
                percent.add(str(n))
            if kind := (date_kind(code) if code else _BUILTIN_DATES.get(number, 0)):
                dates[str(n)] = kind
    return Formats(frozenset(percent), dates)


# --- values ----------------------------------------------------------------------------------
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?i:nan|inf|infinity)")
_EPOCH = dt.datetime(1899, 12, 30)


def _date(x: float, kind: int, date1904: bool):
    """An Excel serial number shown as a date, as python-calamine gives it: a timedelta for an
    elapsed time, a time below 1, a date when whole, else a datetime (the float when out of range)."""
    try:
        if kind == DURATION:
            return dt.timedelta(milliseconds=round(x * 86_400_000))
        f = x + 1462 if date1904 else x
        when = _EPOCH + dt.timedelta(milliseconds=round((f if f >= 60 else f + 1) * 86_400_000))
    except (OverflowError, ValueError):
        return x
    if x < 1:
        return when.time()
    return when.date() if x == int(x) else when


def _iso(text: str):
    try:
        if "T" in text:
            return dt.datetime.fromisoformat(text)
        return dt.time.fromisoformat(text) if ":" in text else dt.date.fromisoformat(text)
    except ValueError:
        return text


def _value(kind: str, raw: str, style: str, strings: list[str], fmt: Formats, date1904: bool):
    """A cell's value from its type (t), its <v> text as in the XML, and its style."""
    if not raw:
        return ""
    if kind == "s":
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            raise Malformed() from None
    if kind == "str":
        return _finish(raw, True)
    if kind in ("", "n"):
        if not _FLOAT.fullmatch(raw):
            if kind:
                raise Malformed()
            return raw
        x = float(raw)
        date = fmt.dates.get(style)
        return _date(x, date, date1904) if date else x
    if kind == "b":
        if raw not in ("0", "1"):
            raise Malformed()
        return raw == "1"
    if kind == "e":
        return ""
    if kind == "d":
        return _iso(raw)
    raise Malformed()


_FORMULA = re.compile(r"<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)")
_VALUE = re.compile(r"<v>([^<]*)</v>|<v/>")


def read_sheet(xml: bytes, strings: list[str], fmt: Formats, date1904: bool,
               max_rows: int, max_cols: int) -> Sheet:
    """The cells of a sheet with a value, its formula and percent cells; Beyond for a cell past
    the limits, Unreadable for a position no reader can place, Malformed for broken XML."""
    try:
        return _fast_sheet(xml, strings, fmt, date1904, max_rows, max_cols)
    except _Odd:
        return _exact_sheet(xml, strings, fmt, date1904, max_rows, max_cols)


def _fast_sheet(xml, strings, fmt, date1904, max_rows, max_cols) -> Sheet:
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError:
        raise _Odd() from None
    if "<<" in text:  # no tag starts with "<": broken markup, for the exact reader to refuse
        raise _Odd()
    start, end = text.find("<sheetData>"), text.find("</sheetData>")  # cells count only in there
    if start < 0 or end < start or text.count("<sheetData") != 1 or text.count("</sheetData") != 1:
        if "<sheetData/>" in text and "sheetData" not in text.replace("<sheetData/>", ""):
            start = end = text.index("<sheetData/>")
        else:
            raise _Odd()
    dimension = text.find("<dimension ", 0, start)
    cells, formulas, percent = {}, set(), set()
    pattern = _patterns(max_rows, max_cols).cell
    found = pattern.findall(text, start, end)
    if dimension >= 0:
        found += pattern.findall(text, dimension, text.find(">", dimension) + 1)
    for ref, style, kind, v, inner, extent, odd in found:
        if odd:
            raise _Odd()
        if extent:  # the sheet's declared extent: python-calamine would size the sheet by it
            for part in extent.split(":"):
                row, col = _a1(part)
                if row > max_rows or col > max_cols:
                    raise Beyond(part)
            continue
        if v and kind == "s":  # most cells: a shared string
            try:
                value = strings[int(v)]
            except (ValueError, IndexError):
                raise Malformed() from None
        elif v:
            value = _cell_value(kind, v, None, style, strings, fmt, date1904)
        elif not inner:
            continue
        else:
            value = _cell_value(kind, *_inner(inner, ref, formulas), style, strings, fmt, date1904)
        if value != "":
            cells[ref] = value
            if style in fmt.percent:
                percent.add(ref)
    return Sheet(cells, formulas, percent)


def _inner(inner: str, address: str, formulas: set[str]) -> tuple[str, str | None]:
    """The content of a plainly written cell other than a lone <v> (a formula, its value, an
    inline string): its <v> text and its inline string (None when it has none)."""
    if inner.startswith("<f"):
        m = _FORMULA.match(inner)
        if not m:
            raise _Odd()
        formulas.add(address)
        inner = inner[m.end():]
    if inner.startswith("<is>") and inner.endswith("</is>"):
        return "", _rich(inner[4:-5])
    m = _VALUE.fullmatch(inner)
    if m:
        return _resolve(m.group(1) or ""), None
    if inner:
        raise _Odd()
    return "", None


def _cell_value(kind: str, raw: str, inline: str | None, style: str, strings, fmt: Formats, date1904: bool):
    """A cell's value, for both readers: its inline string whatever its type says, nothing for
    an inline-string cell without one (its <v> is redundant), else its <v> by its type."""
    if inline is not None:
        return inline
    if kind in ("inlineStr", "is"):
        return ""
    return _value(kind, raw, style, strings, fmt, date1904)


def _exact_sheet(xml, strings, fmt, date1904, max_rows, max_cols) -> Sheet:
    """Any well-formed sheet, through expat: positions as any reader places them (a tag's own
    address, else the next row or column), checked against the limits as they come."""
    _check_positions(_TAG.finditer(xml), max_rows, max_cols)  # every tag, before any parser
    cells, formulas, percent = {}, set(), set()
    row = col = 0
    data = None
    try:
        for event, el in ET.iterparse(io.BytesIO(xml), events=("start", "end")):
            name = _local(el.tag)
            if data is None:
                data = el if event == "start" and name == "sheetData" else None
            elif event == "start" and name in ("row", "c"):
                r = el.get("r")
                if name == "row":
                    row, col = (int(r.strip()) if r is not None else row + 1), 0
                else:
                    row, col = _a1(r) if r is not None else (row, col + 1)
                if row > max_rows or col > max_cols:
                    raise Beyond(f"{column_letters(col)}{row}")
            elif event == "end" and name == "c":
                _exact_cell(el, f"{column_letters(col)}{row}", Sheet(cells, formulas, percent),
                            strings, fmt, date1904)
            elif event == "end" and name == "row":
                data.clear()  # the row is done: its elements go
            elif event == "end" and name == "sheetData":
                break
    except (ET.ParseError, ValueError):
        raise Malformed() from None
    return Sheet(cells, formulas, percent)  # in document order, as the fast reader gives them


@functools.lru_cache(maxsize=4096)  # every identification sheet has its cells in the same places
def position(address: str) -> tuple[int, int]:
    """(row, column) of an address like "K28", both from 1."""
    letters = address.rstrip("0123456789")
    return int(address[len(letters):]), column_number(letters)


def _exact_cell(el: ET.Element, address: str, out: Sheet, strings, fmt, date1904) -> None:
    """One cell as the exact reader sees it, with the fast reader's rules for its value."""
    kind, style = el.get("t", ""), el.get("s", "").strip()
    style = str(int(style)) if style.isdigit() else ""
    raw, text = "", None
    for child in el:
        name = _local(child.tag)
        if name == "f":
            out.formulas.add(address)
        elif name == "v":
            raw = child.text or ""
        elif name == "is":
            text = _element_text(child)
    value = _cell_value(kind, raw, text, style, strings, fmt, date1904)
    if value != "":
        out.cells[address] = value
        if style in fmt.percent:
            out.percent.add(address)
