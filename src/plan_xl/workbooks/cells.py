"""A worksheet of formatted cells and merged ranges kept compactly and written straight as the
sheet's XML when the sheet is assembled: the plan sheets of the report and the templates.

xlsxwriter pays per cell: a namedtuple in a dict of dicts and two bounds checks when a cell is
written; its format's xf index looked up (the format's key rebuilt every time), its address
computed and every attribute escaped when the sheet is assembled. `merge_range` also checks
and records every cell of the range in a dict and writes a formatted blank for each. A plan
sheet of a ten-year report has ~440 cells, most of them the blanks of ~70 merged ranges: about
half the time of a report of 1,000 plans went there.

`CellsSheet` keeps each cell as (format, the rest of its <c> element) per row and writes the
XML xlsxwriter writes for the same calls, byte for byte (tests/workbooks/test_cells.py): text
as shared strings, indexed in write order as xlsxwriter does, so the file is the same (and
repeated labels are stored once, as before); xf indices asked for in row-major order at
assembly, as xlsxwriter asks; the same row spans and <mergeCell> elements. Whatever else a
sheet holds (rows' heights, columns, print settings, validations) stays with xlsxwriter.
"""

from __future__ import annotations

import math

from xlsxwriter.exceptions import OverlappingRange
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name, xl_range
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

from .plainrows import cell_tail

_BLANK = "/>"


class CellsSheet(Worksheet):
    """A worksheet whose cells are written with `put_cell` and `put_merge` (see the module
    docstring); xlsxwriter's own write methods still work, on its slower path."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[int, dict[int, tuple]] = {}  # row -> column -> (format, tail of <c>)
        self.merged_columns: dict[int, int] = {}  # row -> bit mask of its merged columns

    def put_cell(self, row: int, col: int, value, cell_format) -> None:
        """What write_string (non-empty text), write_number (a number) or write_blank (None or
        "": nothing without a format) write; text is never a formula or a link."""
        if value is None or value == "":
            if cell_format is None:
                return
            tail = _BLANK
        elif isinstance(value, str):
            if len(value) > self.xls_strmax // 2 and _utf16_len(value) > self.xls_strmax:
                value = _utf16_truncate(value, self.xls_strmax)  # as xlsxwriter cuts it
            tail = f' t="s"><v>{self.str_table._get_shared_string_index(value)}</v></c>'
        else:
            if not math.isfinite(value):  # as xlsxwriter without nan_inf_to_errors
                raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' "
                                "Workbook() option")
            tail = cell_tail(value)
        self._extend(row, col, row, col)
        self.cells.setdefault(row, {})[col] = (cell_format, tail)

    def put_merge(self, first_row: int, first_col: int, last_row: int, last_col: int, cell_format) -> None:
        """merge_range(…, "", cell_format): the range merged, each of its cells a formatted
        blank (the caller then puts the first cell's value). An overlap with an earlier merged
        range fails as in xlsxwriter: Excel would call the file corrupt."""
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
                    cells[col] = (cell_format, _BLANK)
        self._extend(first_row, first_col, last_row, last_col)
        self.merge.append([first_row, first_col, last_row, last_col])

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
        for row, cells in self.cells.items():
            for col, (cell_format, tail) in cells.items():
                if col in self.table[row]:
                    continue  # written by xlsxwriter's own methods
                if tail == _BLANK:
                    self.table[row][col] = CellBlankTuple(cell_format)
                elif tail.startswith(' t="s"'):
                    self.table[row][col] = CellStringTuple(int(tail[10:tail.index("<", 10)]), cell_format)
                else:
                    self.table[row][col] = CellNumberTuple(float(tail[4:tail.index("<", 4)]), cell_format)
        self.cells = {}

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
                cell_format, tail = cells[col]
                style = styles.get(id(cell_format))
                if style is None:
                    style = self._style(row, col, cell_format)
                    if cell_format is not None:  # a cell without one takes its row's or column's
                        styles[id(cell_format)] = style
                parts.append(f'<c r="{letters[col]}{number}"{style}{tail}')
            write("".join(parts))
            write("</row>")

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
        if not self.cells:  # only ranges of put_merge: xlsxwriter's own write them otherwise too
            super()._write_merge_cells()
            return
        letters = [xl_col_to_name(c) for c in range(self.dim_colmax + 1)]
        if self.merge:
            self.fh.write(f'<mergeCells count="{len(self.merge)}">' + "".join(
                f'<mergeCell ref="{letters[c1]}{r1 + 1}:{letters[c2]}{r2 + 1}"/>' for r1, c1, r2, c2 in self.merge)
                + "</mergeCells>")
