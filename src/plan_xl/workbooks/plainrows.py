"""Worksheet rows of plain values, written straight into the sheet's XML when the workbook closes.

xlsxwriter keeps a cell object per value and a shared-string table, about 25 µs a cell; a
register ten years into its plan holds ~300,000 cells (every past submission, progress row and
actual), and collect saves it on every run, with a status workbook listing every file it judged.
Such rows need none of that: each cell is a number or text with its column's format.
`PlainRowsSheet` holds the rows as they are and writes each as inline strings and numbers (what
xlsxwriter's constant_memory mode writes), with the same escaping, in one pass. Excel,
LibreOffice, openpyxl and python-calamine read them as any other cells.
"""

from __future__ import annotations

import math
import re

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x")


def inline_text(text: str) -> str:
    """`text` as the <is> element of an inline string cell, escaped as xlsxwriter escapes it:
    control characters become _xHHHH_ (and a literal _xHHHH_ is protected), then XML markup."""
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    if _SPECIAL.search(text):
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{space}>{text}</t></is>"


def cell_tail(value) -> str:
    """What follows a cell's r and s attributes for a non-empty `value`: its type and content
    (True is written as ○ by the caller, as the register writes flags)."""
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError("NAN/INF not supported in write_number()")  # as xlsxwriter's own
        return f"><v>{value:.16G}</v></c>"
    return f' t="inlineStr">{inline_text(str(value))}</c>'


class PlainRowsSheet(Worksheet):
    """A worksheet whose rows from `first` on are plain values (see the module docstring); rows
    above `first` (a header) are written by xlsxwriter as usual."""

    def __init__(self) -> None:
        super().__init__()
        self.plain_rows: list[list] = []
        self.plain_first = 0
        self.plain_formats: list = []
        self.plain_heights: dict[int, float] = {}
        self.plain_blanks = False

    def add_plain_rows(self, first: int, rows: list[list], formats: list | None = None,
                       heights: dict[int, float] | None = None, blanks: bool = False) -> None:
        """Rows to write from row `first` (zero-based) on; `formats`: each column's format (the
        one its cells take, as with set_column) or None; `heights`: index in `rows` -> height in
        points, for the rows that are not of the default height; `blanks`: empty cells of a
        formatted column are written too (a table's borders), not left to the column's format."""
        self.plain_rows, self.plain_first, self.plain_formats = rows, first, list(formats or [])
        self.plain_heights, self.plain_blanks = dict(heights or {}), blanks
        if rows:  # the <dimension> and the row loop must cover them
            width = max(len(row) for row in rows)
            self.dim_rowmin = first if self.dim_rowmin is None else min(self.dim_rowmin, first)
            self.dim_rowmax = max(self.dim_rowmax or 0, first + len(rows) - 1)
            self.dim_colmin = 0
            self.dim_colmax = max(self.dim_colmax or 0, width - 1)

    def _write_rows(self) -> None:
        if not self.plain_rows:
            super()._write_rows()
            return
        last = self.dim_rowmax
        self.dim_rowmax = self.plain_first - 1
        if self.dim_rowmax >= self.dim_rowmin:
            super()._write_rows()
        self.dim_rowmax = last
        self._write_plain_rows()

    def _write_plain_rows(self) -> None:
        width = max(len(row) for row in self.plain_rows)
        formats = self.plain_formats + [None] * (width - len(self.plain_formats))
        styles = ["" if f is None else f' s="{f._get_xf_index()}"' for f in formats]
        letters = [xl_col_to_name(c) for c in range(width)]
        write, tails, heights = self.fh.write, {}, self.plain_heights  # ids, names, years repeat
        for r, row in enumerate(self.plain_rows, self.plain_first + 1):
            cells = []
            for c, value in enumerate(row):
                if value is None or value is False or value == "":
                    if self.plain_blanks and styles[c]:
                        cells.append(f'<c r="{letters[c]}{r}"{styles[c]}/>')
                    continue
                if value is True:  # equal to 1 as a key
                    value = "○"
                tail = tails.get(value)  # 1 and 1.0 share an entry: both are written as 1
                if tail is None:
                    if len(tails) > _TAILS_KEPT:
                        tails = {}
                    tail = tails[value] = cell_tail(value)
                cells.append(f'<c r="{letters[c]}{r}"{styles[c]}{tail}')
            height = heights.get(r - self.plain_first - 1)
            if height is not None:
                write(f'<row r="{r}" ht="{height:g}" customHeight="1">{"".join(cells)}</row>')
            elif cells:
                write(f'<row r="{r}">{"".join(cells)}</row>')


_TAILS_KEPT = 20_000  # distinct values whose written form is kept for reuse (bounds the memory)
