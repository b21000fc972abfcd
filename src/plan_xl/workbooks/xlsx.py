"""What every workbook plan-xl writes shares: the one way to start an xlsxwriter workbook, the
A4 page setup of every printed sheet, column letters and Excel's limit on a cell's text.

Every writer (register, templates, report, status workbook, open data) starts its workbook with
`new_workbook`, so text from a department or a register cell is always written as text: it never
becomes a formula, a link or a number (tests/test_house.py checks that no module bypasses it).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import BinaryIO

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.exceptions import DuplicateWorksheetName
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .cells import CellsSheet

EXCEL_MAX_TEXT = 32_767  # characters in one cell (Excel's specification)
# The document time of outputs that must be byte-for-byte the same on every run.
FIXED_TIME = dt.datetime(2022, 4, 1, 0, 0, 0)
# Untrusted strings stay strings: "=1+1" is not a formula, "http://x" not a link, "0012" not 12.
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
A4 = 9  # xlsxwriter's paper index


class _DeflatingText(StringIO):
    """One part of the package (a sheet's XML): taken by xlsxwriter as one of its in-memory parts
    (a StringIO), but deflated as it is written, a batch of text at a time, into what a zip
    member holds, so that it goes into the file as it is (`_PackingZipFile`). xlsxwriter keeps
    every in-memory part as text (Japanese at two or four bytes a character) until the zip is
    written, then deflates it; or else it writes each through a temporary file (an open and a
    remove each, ~1.5 ms apiece on a busy disk, a thousand in a report of 1,000 plans)."""

    BATCH = 1 << 18  # characters held before they are deflated

    def __init__(self) -> None:
        super().__init__()
        self.data: _Deflated | None = None
        self._deflate = None  # made at the first batch, let go at the end (~0.3 MB each)
        self._text, self._held, self._out = [], 0, []
        self._crc = self._size = 0

    def write(self, text: str) -> int:
        if self.data is not None:
            raise ValueError("write to a finished workbook part")
        self._text.append(text)
        self._held += len(text)
        if self._held >= self.BATCH:
            self._deflate_held()
        return len(text)

    def _deflate_held(self) -> None:
        if self._deflate is None:  # level 1: a third of the time of zip's default 6 (xlsxwriter's), ~25 % larger
            self._deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
        data = "".join(self._text).encode("utf-8")
        self._crc, self._size = zlib.crc32(data, self._crc), self._size + len(data)
        self._out.append(self._deflate.compress(data))
        self._text, self._held = [], 0

    def finish(self) -> None:
        """The part is complete: the rest deflated, and closed, so that a late write fails loudly."""
        if self.data is None:
            self._deflate_held()
            self.data = _Deflated(b"".join([*self._out, self._deflate.flush()]), self._crc, self._size)
            self._out, self._deflate = [], None
            self.close()

    def take(self, part: _DeflatingText) -> bool:
        """Hold `part`'s deflated data as this part's own, if nothing was written to this one yet
        (a sheet written early going into the package at close): not inflated to be deflated again."""
        if self.data is not None or self._text or self._out:
            return False
        self.data = part.getvalue()
        self.close()
        return True

    def getvalue(self) -> _Deflated:
        self.finish()
        return self.data

    def text(self) -> str:
        self.finish()
        return zlib.decompress(self.data, -15).decode("utf-8")


class _Deflated(bytes):
    """A part as deflated for its zip member, with the CRC-32 and size of the text it holds. All
    xlsxwriter does with a part's `getvalue()` is `.encode("utf-8")` and `writestr` the result
    into its zip, which `_PackingZipFile` takes as it is."""

    def __new__(cls, data: bytes, crc: int, size: int) -> _Deflated:
        part = super().__new__(cls, data)
        part.crc, part.size = crc, size
        return part

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError(f"a workbook part is UTF-8, not {encoding}")
        return self


class _PackingZipFile(zipfile.ZipFile):
    """The zip xlsxwriter writes a compact workbook into: a part deflated as it was written goes
    in as it is (the same member zipfile writes, header, CRC and sizes included), instead of
    being inflated to be deflated again; anything else as zipfile writes it."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(data, _Deflated) or not isinstance(zinfo_or_arcname, zipfile.ZipInfo) \
                or max(data.size, len(data)) >= zipfile.ZIP64_LIMIT:
            if isinstance(data, _Deflated):
                data = zlib.decompress(data, -15)
            return super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)
        zinfo = zinfo_or_arcname
        zinfo.compress_type, zinfo.CRC, zinfo.file_size, zinfo.compress_size = (
            zipfile.ZIP_DEFLATED, data.crc, data.size, len(data))
        with self._lock:  # as ZipFile.mkdir writes a member whose content it knows
            if self._seekable:
                self.fp.seek(self.start_dir)
            zinfo.header_offset = self.fp.tell()
            self._writecheck(zinfo)
            self._didModify = True
            self.filelist.append(zinfo)
            self.NameToInfo[zinfo.filename] = zinfo
            self.fp.write(zinfo.FileHeader(False))
            self.fp.write(data)
            self.start_dir = self.fp.tell()
        return None


# What xlsxwriter's _write_si may change in a shared string: &, < and > escaped, control
# characters and the literal text of their escapes (_xHHHH_, hence any underscore) escaped as
# _xHHHH_, the two non-characters. A string with none of them is written as it is.
_MAY_NEED_ESCAPE = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")


class _SharedStrings(SharedStrings):
    """xlsxwriter's shared-strings part, the same bytes, but a string with nothing to escape
    (almost every one) written by one format and one join, not through xlsxwriter's escaping
    and tag writing a string at a time: ~5x quicker, ~1.2 ms of a report of 20 plans, whose ~570
    strings are nearly all different (a larger report repeats its labels and texts)."""

    def _write_sst_strings(self) -> None:
        write, plain = self.fh.write, []
        for string in self.string_table.string_array:
            if _MAY_NEED_ESCAPE.search(string):  # and a rich string ("<r>…"): xlsxwriter's own
                write("".join(plain))
                plain = []
                self._write_si(string)
            elif string[:1].isspace() or string[-1:].isspace():  # as its _preserve_whitespace
                plain.append(f'<si><t xml:space="preserve">{string}</t></si>')
            else:
                plain.append(f"<si><t>{string}</t></si>")
        write("".join(plain))


class _Packager(Packager):
    """xlsxwriter's packager, with the quicker shared strings (`_SharedStrings`)."""

    def _write_shared_strings_file(self) -> None:
        if self.workbook.str_table.count:
            sst = _SharedStrings()
            sst.string_table = self.workbook.str_table
            sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
            sst._assemble_xml_file()


class _CompactPackager(_Packager):
    """The packager with every part a `_DeflatingText`, finished when the next one starts
    (xlsxwriter writes its parts one after the other)."""

    def _filename(self, xml_filename):
        if self.filenames and isinstance(self.filenames[-1][0], _DeflatingText):
            self.filenames[-1][0].finish()
        part = _DeflatingText()
        self.filenames.append((part, xml_filename, False))
        return part


class _Workbook(xlsxwriter.Workbook):
    """xlsxwriter's workbook, with a new sheet's name checked for a clash against a set of the
    names taken: xlsxwriter compares it with every earlier sheet, which is quadratic in the
    sheets (a report has one per plan item: ~1 s at 1,000 sheets, a third of the time at 5,000).
    Its other checks (length, characters, apostrophes) are its own. `compact`: its parts are
    deflated as they are written (`_CompactPackager`)."""

    def __init__(self, filename, options: dict, compact: bool = False):
        super().__init__(filename, options)
        self.compact = compact

    def _get_packager(self):
        return _CompactPackager() if self.compact else _Packager()

    def _store_workbook(self) -> None:
        """xlsxwriter's own, with a compact workbook's parts zipped as deflated (`_PackingZipFile`
        stands in for the ZipFile xlsxwriter's module names, for this call only)."""
        if not self.compact:
            super()._store_workbook()
            return
        xlsxwriter.workbook.ZipFile = _PackingZipFile
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = zipfile.ZipFile

    def _check_sheetname(self, sheetname, is_chartsheet=False):
        sheets, self.worksheets_objs = self.worksheets_objs, []  # no earlier sheet to compare with
        try:
            name = super()._check_sheetname(sheetname, is_chartsheet)
        finally:
            self.worksheets_objs = sheets
        taken = self.__dict__.setdefault("_taken_names", set())
        if name.lower() in taken:  # case ignored, as Excel does
            raise DuplicateWorksheetName(f"Sheetname '{name}', with case ignored, is already in use.")
        taken.add(name.lower())
        return name


def finish_sheet(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
    """`ws` will not change again: in a compact workbook its XML is written (deflated) now and
    its cells let go, instead of every sheet's cells being held until the workbook is closed
    (most of a report's memory: a sheet per plan item). Only for a sheet whose cells nothing
    reads at close: no chart plots them, and it is not the sheet the workbook opens on."""
    if not (isinstance(book, xlsxwriter.Workbook) and getattr(book, "compact", False)) or ws.selected or ws.active:
        return
    part = _DeflatingText()
    ws._set_xml_writer(part)
    ws._assemble_xml_file()
    part.finish()
    ws.table, ws.merge, ws.merged_cells, ws.row_info = defaultdict(dict), [], {}, {}
    if isinstance(ws, CellsSheet):
        ws.cells, ws.merged_columns = {}, {}
    ws._assemble_xml_file = functools.partial(_write_finished, ws, part)


def _write_finished(ws: Worksheet, part: _DeflatingText) -> None:
    """At close, into the part the packager gives the sheet: the deflated part as it is, when
    that is a fresh `_DeflatingText` (not inflated only to be deflated again); else its text."""
    if not (isinstance(ws.fh, _DeflatingText) and ws.fh.take(part)):
        ws.fh.write(part.text())


def new_workbook(target: Path | BinaryIO, title: str, created: dt.datetime = FIXED_TIME,
                 in_memory: bool = True, **properties: str) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook that writes text as text. Built in memory: no temporary file per
    sheet (the outputs are a few MB at most); `in_memory=False` for one that grows without bound
    (the register, with every past submission; the report, a sheet per plan item), whose sheets
    are then deflated as each is complete instead of being held whole, as text, until the zip is
    written (through xlsxwriter's temporary files instead: 1,000 plans × 10 years ~6 % less
    memory, 15-25 % more time). The document time is
    `created`, never the clock's, unless a caller passes it: the same input gives the same file."""
    book = _Workbook(str(target) if isinstance(target, Path) else target, {**SAFE_OPTIONS, "in_memory": True},
                     compact=not in_memory)
    book.set_properties({"title": title, "created": created, **properties})
    return book


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a large workbook is written (~10 % of a report's
    time: every full collection walks the register and the millions of cells written so far,
    none of which is garbage yet). Safe: reference counting still frees everything acyclic at
    once; the only cyclic garbage is xlsxwriter's workbook itself (its sheets hold bound methods
    of themselves), unreachable only after the block, when the collector runs again. Nothing is
    lost, only postponed; nested blocks leave it to the outermost."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def print_a4(ws: Worksheet, repeat_rows: tuple[int, int] | None = None, numbered: bool = False) -> None:
    """A4 landscape, one page wide and as many pages long as it takes; `repeat_rows` printed on
    every page; `numbered`: the plan sheets' margins and 「n / N ページ」 footer."""
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    if numbered:
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&C&P / &N ページ")
    if repeat_rows:
        ws.repeat_rows(*repeat_rows)


def column_letter(index: int) -> str:
    """The letters of a zero-based column index: 0 → A, 27 → AB."""
    return xl_col_to_name(index)


def cell_address(row: int, col: int) -> str:
    """The A1 address of a zero-based row and column, as a clerk finds it in Excel."""
    return f"{column_letter(col)}{row + 1}"
