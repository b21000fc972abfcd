"""A worksheet of formatted cells and merged ranges kept compactly and written straight as the
sheet's XML when the sheet is assembled: the report's sheets and the templates' plan sheets.

xlsxwriter pays per cell: a namedtuple in a dict of dicts and two bounds checks when a cell is
written; its format's xf index looked up (the format's key rebuilt every time), its address
computed and every attribute escaped when the sheet is assembled. `merge_range` also checks
and records every cell of the range in a dict and writes a formatted blank for each. A plan
sheet of a ten-year report has ~440 cells, most of them the blanks of ~70 merged ranges: about
half the time of a report of 1,000 plans went there.

`CellsSheet` keeps each cell as (format, the rest of its <c> element) per row and writes the
XML xlsxwriter writes for the same calls, byte for byte (tests/workbooks/test_cells.py). Text
stays in xlsxwriter's shared-string table, indexed in write order as xlsxwriter does: then the
file is the very same one (compared member for member by the tests and the benchmarks), the
labels repeated on every plan sheet are stored once, and the escaping is xlsxwriter's own.
xf indices are asked for in row-major order at assembly, as xlsxwriter asks; the row spans and
<mergeCell> elements are xlsxwriter's. Rows' heights, columns, print settings and validations
stay with xlsxwriter; so do links, formulas and other rarer cells, and a sheet holding any is
assembled by xlsxwriter's own code (its compact cells moved into xlsxwriter's table first).
"""

from __future__ import annotations

from fractions import Fraction
from math import isinf, isnan

from xlsxwriter.exceptions import OverlappingRange
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name, xl_range
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

# Sheets from `add_sheet` keep their cells compactly; False: xlsxwriter's own path, the
# reference the tests compare them with.
COMPACT = True


def add_sheet(book, name: str) -> Worksheet:
    """`book.add_worksheet(name)`, a CellsSheet unless COMPACT is off or the workbook is not an
    xlsxwriter Workbook (one recorded by benchmarks/replay.py: its calls are replayed, so they
    must be xlsxwriter's own)."""
    if COMPACT and isinstance(book, Workbook):
        return book.add_worksheet(name, CellsSheet)
    return book.add_worksheet(name)


class CellsSheet(Worksheet):
    """A worksheet whose cells are kept compactly (see the module docstring): those of
    `put_cell` and `put_merge`, and of xlsxwriter's write_string, write_number, write_blank,
    write and merge_range."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[int, dict[int, tuple]] = {}  # row -> column -> cell (see _put)
        self.merged_columns: dict[int, int] = {}  # row -> bit mask of its merged columns

    def _initialize(self, init_data) -> None:
        if init_data["constant_memory"]:  # rows written as they come, with inline strings
            raise ValueError("CellsSheet keeps its cells to the end: not for a constant_memory workbook")
        super()._initialize(init_data)

    def put_cell(self, row: int, col: int, value, cell_format) -> None:
        """A number, a text (never a formula or a link), or None or "": a formatted blank (no
        cell at all without a format), as write_number, write_string and write_blank write them."""
        if value is None or value == "":
            self._write_blank(row, col, None, cell_format)
        elif isinstance(value, str):
            self._write_string(row, col, value, cell_format)
        else:
            self._write_number(row, col, value, cell_format)

    # xlsxwriter's write_string, write_number and write_blank, and write() and merge_range(),
    # end in these three: their cells are kept compactly too, with the same results.
    def _write_string(self, row: int, col: int, string: str, cell_format=None) -> int:
        if row < 0 or col < 0 or row >= self.xls_rowmax or col >= self.xls_colmax:
            return -1
        cut = len(string) > self.xls_strmax // 2 and _utf16_len(string) > self.xls_strmax
        if cut:
            string = _utf16_truncate(string, self.xls_strmax)
        self._put(row, col, (cell_format, self.str_table._get_shared_string_index(string)))
        return -2 if cut else 0

    def _write_number(self, row: int, col: int, number, cell_format=None) -> int:
        if isnan(number) or isinf(number) or row < 0 or col < 0 or row >= self.xls_rowmax or col >= self.xls_colmax:
            return super()._write_number(row, col, number, cell_format)  # its error, or its formula
        if number.__class__ is Fraction:
            number = float(number)
        self._put(row, col, (cell_format, number, None))
        return 0

    def _write_blank(self, row: int, col: int, blank, cell_format=None) -> int:
        if cell_format is None:
            return 0
        if row < 0 or col < 0 or row >= self.xls_rowmax or col >= self.xls_colmax:
            return -1
        self._put(row, col, cell_format)
        return 0

    def _put(self, row: int, col: int, cell) -> None:
        """`cell`: a formatted blank is its format; a text (format, index in the shared strings);
        a number (format, number, None). As small as that: the report's sheets other than the
        plan sheets (集計 …) keep their cells until the workbook is closed."""
        if (self.dim_rowmin is None or row < self.dim_rowmin or row > self.dim_rowmax
                or col < self.dim_colmin or col > self.dim_colmax):  # most cells are inside already
            self._extend(row, col, row, col)
        cells = self.cells.get(row)
        if cells is None:
            cells = self.cells[row] = {}
        cells[col] = cell
        written = self.table.get(row)
        if written:  # the last write of a cell wins, whichever way
            written.pop(col, None)

    def put_merge(self, first_row: int, first_col: int, last_row: int, last_col: int, cell_format) -> int:
        """merge_range(…, "", cell_format) of a range given top left to bottom right: merged,
        each of its cells a formatted blank (the caller then puts the first cell's value),
        without xlsxwriter's record of every merged cell. An overlap with an earlier range of
        put_merge fails as in xlsxwriter: Excel would call the file corrupt."""
        if first_row < 0 or first_col < 0 or last_row >= self.xls_rowmax or last_col >= self.xls_colmax:
            return -1
        mask = (1 << (last_col + 1)) - (1 << first_col)
        for row in range(first_row, last_row + 1):
            taken = self.merged_columns.get(row, 0)
            if taken & mask:
                raise OverlappingRange(f"Merge range '{xl_range(first_row, first_col, last_row, last_col)}' "
                                       "overlaps a previous merge range.")
            self.merged_columns[row] = taken | mask
            if cell_format is not None:  # a blank without a format is no cell at all
                cells = self.cells.setdefault(row, {})
                for col in range(first_col, last_col + 1):
                    cells[col] = cell_format
            if self.table.get(row):  # over cells xlsxwriter's own methods wrote: the blanks win
                for col in range(first_col, last_col + 1):
                    self.table[row].pop(col, None)
        self._extend(first_row, first_col, last_row, last_col)
        self.merge.append([first_row, first_col, last_row, last_col])
        return 0

    def _extend(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """The sheet's used range (its <dimension>), as xlsxwriter's _check_dimensions keeps it
        (comparisons, not min and max: this runs for every cell)."""
        if self.dim_rowmin is None:
            self.dim_rowmin, self.dim_rowmax, self.dim_colmin, self.dim_colmax = first_row, last_row, first_col, last_col
            return
        if first_row < self.dim_rowmin:
            self.dim_rowmin = first_row
        if last_row > self.dim_rowmax:
            self.dim_rowmax = last_row
        if first_col < self.dim_colmin:
            self.dim_colmin = first_col
        if last_col > self.dim_colmax:
            self.dim_colmax = last_col

    def _write_rows(self) -> None:
        if not self.cells:
            super()._write_rows()
        elif self.comments or any(self.table.values()):
            self._to_table()  # cells written both ways: xlsxwriter's path for all of them
            super()._write_rows()
        else:
            self._write_cells()

    def _to_table(self) -> None:
        """The cells moved into xlsxwriter's own table, as its write methods would have stored them."""
        for row, cells in self.cells.items():
            for col, cell in cells.items():
                if col in self.table[row]:
                    continue  # written later by xlsxwriter's own methods
                if cell.__class__ is not tuple:
                    self.table[row][col] = CellBlankTuple(cell)
                elif len(cell) == 2:
                    self.table[row][col] = CellStringTuple(cell[1], cell[0])
                else:
                    self.table[row][col] = CellNumberTuple(cell[1], cell[0])
        self.cells = {}

    def _get_range_data(self, row_start, col_start, row_end, col_end):
        self._to_table()  # a chart plots this sheet: xlsxwriter reads its cached values from the table
        return super()._get_range_data(row_start, col_start, row_end, col_end)

    def _write_cells(self) -> None:
        """The <row> elements of `cells` and of the rows with only a height or format, as
        xlsxwriter's _write_rows writes them."""
        spans = self._spans()
        letters = [xl_col_to_name(c) for c in range(self.dim_colmax + 1)]
        styles: dict[int, str] = {}  # id(format) -> ' s="n"', asked in row-major order
        write, cells_of, info = self.fh.write, self.cells, self.row_info
        rows = sorted({*cells_of, *(r for r in info if self.dim_rowmin <= r <= self.dim_rowmax)})
        for row in rows:
            cells = cells_of.get(row)
            if not cells:
                self._write_empty_row(row, spans.get(row // 16), info.get(row))
                continue
            self._write_row(row, spans.get(row // 16), info.get(row))
            number, parts = row + 1, []
            for col in sorted(cells):
                cell = cells[col]
                if cell.__class__ is tuple:  # as xlsxwriter's _xml_string_element, _xml_number_element
                    cell_format = cell[0]
                    tail = f' t="s"><v>{cell[1]}</v></c>' if len(cell) == 2 else f"><v>{cell[1]:.16G}</v></c>"
                else:
                    cell_format, tail = cell, "/>"
                style = styles.get(id(cell_format))
                if style is None:
                    style = self._style(row, col, cell_format)
                    if cell_format is not None:  # a cell without one takes its row's or column's
                        styles[id(cell_format)] = style
                parts.append(f'<c r="{letters[col]}{number}"{style}{tail}')
            parts.append("</row>")
            write("".join(parts))

    def _style(self, row: int, col: int, cell_format) -> str:
        """The s attribute xlsxwriter's _write_cell gives a cell: its format's xf index, else
        its row's format, else its column's."""
        if cell_format is None:
            info = self.row_info.get(row)
            column = self.col_info.get(col)
            cell_format = (info.row_format if info and info.row_format else
                           column.column_format if column else None)
        return "" if cell_format is None else f' s="{cell_format._get_xf_index()}"'

    def _spans(self) -> dict[int, str]:
        """xlsxwriter's "spans" of each block of 16 rows: its first and last used column."""
        bounds: dict[int, list[int]] = {}
        for row, cells in self.cells.items():
            if cells:
                low, high = min(cells), max(cells)
                block = bounds.get(row // 16)
                if block is None:
                    bounds[row // 16] = [low, high]
                else:
                    block[0], block[1] = min(block[0], low), max(block[1], high)
        return {k: f"{low + 1}:{high + 1}" for k, (low, high) in bounds.items()}

    def _write_merge_cells(self) -> None:
        """xlsxwriter's <mergeCells>, without its escaping of every attribute (a plan sheet of a
        ten-year report has ~70 ranges)."""
        if not self.merge:
            return
        letters = [xl_col_to_name(c) for c in range(max(c2 for _, _, _, c2 in self.merge) + 1)]
        self.fh.write(f'<mergeCells count="{len(self.merge)}">' + "".join(
            f'<mergeCell ref="{letters[c1]}{r1 + 1}:{letters[c2]}{r2 + 1}"/>' for r1, c1, r2, c2 in self.merge)
            + "</mergeCells>")
