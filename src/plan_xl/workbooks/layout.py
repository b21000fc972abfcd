"""The original table layout (../shared/LAYOUT.md): one bordered table per plan item on A4
landscape pages. The department template and the consolidated report both draw with
`draw_plan`; the template adds input cells, the report fills every reported year.

Merged cells do not auto-fit in Excel or LibreOffice, so every row height is computed here
from the text (full-width characters count double) and the width of the merged range.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field

from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ..fiscal import fy_label, fy_short
from ..register.evaluate import self_rating_choice, self_rating_choices, target_for
from ..register.model import FIVE_LESS, NOTHING_TO_ADD, Indicator, Plan, Register, Section, format_number
from .cells import CellsSheet, add_sheet
from .xlsx import print_a4

FONT = "ＭＳ ゴシック"  # on every Japanese Windows machine; monospaced, so widths are predictable
FONT_SIZE = 9
# ＭＳ ゴシック's line is 1 em (ascent + descent, no external leading): Excel draws 9 pt text
# 9 pt (12 px) apart. 10% more leading keeps a substitute font with slightly taller lines whole.
LINE_SPACING = 1.1
LINE_HEIGHT = FONT_SIZE * LINE_SPACING  # points per text line at FONT_SIZE
ROW_PADDING = 3.0  # Excel's cell margins above and below the text (2 px each)
MAX_ROW_HEIGHT = 409.0  # Excel's limit
INPUT_LINES = 8  # least height of an input box, in lines, however short the reference texts

# Column grid: A-B labels and 取組内容, C-J two columns per fiscal year (half years),
# K-L the 目標値 column.
COLUMN_WIDTHS = [10, 16] + [9] * 8 + [22, 22]
LAST_COL = len(COLUMN_WIDTHS) - 1
SCHEDULE_COL = 2
TARGET_COL = 10
HEADER_FILL = "#D9D9D9"
SECTION_FILL = "#EDEDED"
INPUT_FILL = "#FFF2CC"  # explained in the template's 記入要領 sheet
INPUT_FILL_NAME = "うすい黄色"

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_BULLET_BREAK = re.compile(r"\s+(?=[●▼▽◇■※])")


def sheet_name(plan: Plan) -> str:
    """The plan's sheet name: id and name, within Excel's 31 characters."""
    return _SHEET_NAME_BAD.sub("・", f"{plan.id} {plan.name}")[:31].rstrip()


# Characters that are all wide (F or W) by unicodedata: CJK punctuation, kana, ideographs and
# full-width forms, most of a Japanese text. A run of them is counted in one regex pass, ~15x
# quicker than asking east_asian_width for each character: a report of 20 plans measures ~20,000
# characters of texts it has not seen, ~2 ms. tests/workbooks/test_layout.py checks every
# character the class matches against unicodedata.
_WIDE_RUN = re.compile("[\u3000-\u303e\u3041-\u3096\u3099-\u30ff\u4e00-\u9fff\uff01-\uff60\uffe0-\uffe6]+")


def display_width(text: str) -> int:
    """Width in half-width character units (full-width characters count 2)."""
    if text.isascii():
        return len(text)
    rest = _WIDE_RUN.sub("", text)  # what is left: ASCII, and the odd ambiguous symbol (●, ※, ①)
    wide = len(text) - len(rest)
    if not rest.isascii():
        wide += sum(unicodedata.east_asian_width(ch) in "FWA" for ch in rest if not ch.isascii())
    return len(text) + wide


def format_amount(value: float | None) -> str:
    """A number as printed on a sheet: with thousands separators (12179.0 -> '12,179')."""
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.10g}"


def amount_format(value: float) -> str:
    """The number format that shows `value` as `format_amount` does: "#,##0.###" would print
    an integer with a stray point ("12,179.")."""
    text = format_number(value)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return "#,##0" + ("." + "0" * decimals if decimals else "")


# Excel measures column widths in digits of the default font (Calibri 11: 7 px, plus 5 px of
# padding per column); at FONT_SIZE a half-width character of the monospaced FONT is 6 px.
DIGIT_PX, COLUMN_PADDING_PX, HALF_WIDTH_PX, CELL_MARGIN_PX = 7, 5, 6, 6
FONT_SAFETY = 1.1  # other applications substitute a font whose characters may be a little wider


def text_lines(text: str, width_chars: float, columns: int = 1) -> int:
    """How many lines `text` needs in a wrapped cell `width_chars` wide spanning `columns`."""
    usable_px = width_chars * DIGIT_PX + COLUMN_PADDING_PX * columns - CELL_MARGIN_PX
    per_line = max(usable_px / (HALF_WIDTH_PX * FONT_SAFETY), 4)
    text = str(text)
    if "\n" not in text:  # most cells: no list of one line, no generator
        return max(1, math.ceil(display_width(text) / per_line))
    return sum(max(1, math.ceil(display_width(line) / per_line)) for line in text.split("\n"))


@functools.lru_cache(maxsize=16384)  # labels on every sheet, the same texts in every year's row
def text_height(text: str, width_chars: float, bold: bool = False, columns: int = 1,
                size: float = FONT_SIZE) -> float:
    """Points a wrapped cell needs: its lines at `size` (a larger font fits fewer characters)."""
    scale = FONT_SIZE / size * (0.9 if bold else 1)
    return text_lines(text, width_chars * scale, columns) * size * LINE_SPACING + ROW_PADDING


def span_width(first_col: int, last_col: int) -> float:
    return sum(COLUMN_WIDTHS[first_col:last_col + 1])


# A4 landscape, margins 0.5 in left/right and 0.6 in top/bottom, scaled to one page wide.
PAGE_WIDTH_PT, PAGE_HEIGHT_PT = (11.69 - 1.0) * 72, (8.27 - 1.2) * 72
TABLE_WIDTH_PT = sum(w * DIGIT_PX + COLUMN_PADDING_PX for w in COLUMN_WIDTHS) * 0.75
PAGE_ROWS_PT = PAGE_HEIGHT_PT / min(1.0, PAGE_WIDTH_PT / TABLE_WIDTH_PT) * 0.95


@dataclass
class InputField:
    """An input cell the template opens: key identifies it in the register."""

    key: str  # e.g. "results|1-3-1|2|2023", "revision|…", "actual|1-3-1.2|2023", "reason|…", "rating|…"
    kind: str  # results, revision, actual, reason (変動要因 of an actual) or rating (自己評価)
    sheet: str
    row: int
    col: int
    owner: str
    editable: bool  # True only in the owner's template
    indicator: Indicator | None = None

    @property
    def cell(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)

    @property
    def defined_name(self) -> str:
        """Workbook-level name anchoring the cell (survives inserted rows)."""
        kind = {"results": "R", "revision": "V", "actual": "A", "reason": "W", "rating": "E",
                "part_results": "PR", "part_revision": "PV", "part_none": "PN"}[self.kind]
        parts = self.key.split("|")[1:]
        return "PX_" + kind + "_" + "_".join(_name_part(p) for p in parts)


def _name_part(text: str) -> str:
    """A key part as characters a defined name allows; a department name (Japanese) as a short
    digest, so two departments never share a name."""
    if text.isascii():
        return re.sub(r"[^0-9A-Za-z]", "_", text)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass
class Styles:
    """xlsxwriter formats of one workbook."""

    book: Workbook
    cache: dict = field(default_factory=dict)

    def get(self, kind: str):
        if kind not in self.cache:
            base = {"font_name": FONT, "font_size": FONT_SIZE, "border": 1, "text_wrap": True,
                    "valign": "top"}
            if kind.startswith("number:"):  # a number with its own format, e.g. "number:#,##0.0"
                self.cache[kind] = self.book.add_format(
                    {**base, "num_format": kind.split(":", 1)[1], "valign": "vcenter", "align": "right"})
                return self.cache[kind]
            extra = {
                "text": {},
                "label": {"bg_color": HEADER_FILL, "align": "center", "valign": "vcenter"},
                "label_left": {"bg_color": HEADER_FILL},
                "title": {"bold": True, "font_size": FONT_SIZE + 2, "valign": "vcenter"},
                "mark": {"align": "center", "valign": "vcenter"},
                "section": {"bold": True, "bg_color": SECTION_FILL},
                "heading": {"border": 0, "bold": True, "font_size": FONT_SIZE + 1, "text_wrap": False},
                "input": {"bg_color": INPUT_FILL, "locked": False},
                "input_number": {"bg_color": INPUT_FILL, "locked": False, "valign": "vcenter"},
                "number": {"num_format": "#,##0.###", "valign": "vcenter", "align": "right"},
                "plain": {"border": 0},
            }[kind]
            self.cache[kind] = self.book.add_format({**base, **extra})
        return self.cache[kind]


def _write_cell(ws: Worksheet, r1: int, c1: int, r2: int, c2: int, value, fmt) -> None:
    """A (merged) cell on xlsxwriter's own path: a sheet of a workbook being recorded
    (benchmarks/replay.py), or the reference the compact path is tested against."""
    if (r1, c1) != (r2, c2):
        ws.merge_range(r1, c1, r2, c2, "", fmt)
    if isinstance(value, (int, float)):
        ws.write_number(r1, c1, value, fmt)
    elif value:
        ws.write_string(r1, c1, value, fmt)
    else:
        ws.write_blank(r1, c1, None, fmt)


class PlanSheet:
    """Draws into one worksheet, tracking row heights and every written cell."""

    def __init__(self, ws: Worksheet, styles: Styles):
        self.ws, self.styles = ws, styles
        self.heights: dict[int, float] = {}
        self.spans: list[tuple[int, int, float]] = []  # multi-row merges: first, last, height
        self.cells: list[tuple[int, int, str]] = []  # pre-filled (row, col, text) in write order
        self.blocks: list[tuple[int, int]] = []  # row ranges best kept on one printed page

    def need(self, row: int, height: float) -> None:
        self.heights[row] = max(self.heights.get(row, LINE_HEIGHT + ROW_PADDING), height)

    def put(self, r1: int, c1: int, r2: int, c2: int, value, style: str = "text",
            bold: bool = False) -> None:
        """Write a (merged) cell; strings always as strings, never formulas or links."""
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        fmt = self.styles.get(f"number:{amount_format(value)}" if is_number and style == "number" else style)
        text = "" if value is None else (value if is_number else str(value))
        if isinstance(self.ws, CellsSheet):  # the same cells, without xlsxwriter's cost per cell
            if (r1, c1) != (r2, c2):
                self.ws.put_merge(r1, c1, r2, c2, fmt)
            self.ws.put_cell(r1, c1, text, fmt)
        else:
            _write_cell(self.ws, r1, c1, r2, c2, text, fmt)
        if text != "" and not style.startswith("input"):
            self.cells.append((r1, c1, format_number(text) if is_number else text))
        if text != "" and not is_number:
            size = FONT_SIZE + {"title": 2, "heading": 1}.get(style, 0)
            h = text_height(text, span_width(c1, c2), bold or style in ("title", "section"), c2 - c1 + 1, size)
            if r1 == r2:
                self.need(r1, h)
            else:
                self.spans.append((r1, r2, h))

    def height(self, row: int) -> float:
        return min(MAX_ROW_HEIGHT, self.heights.get(row, LINE_HEIGHT + ROW_PADDING))

    def finish(self, repeated_rows: int = 0) -> None:
        """Set row heights (the tallest single-row cell, then enough for multi-row merges) and
        page breaks that keep each block on one page where it fits."""
        for first, last, h in self.spans:
            rows = range(first, last + 1)
            have = sum(self.heights.get(r, LINE_HEIGHT + ROW_PADDING) for r in rows)
            if have < h:
                extra = (h - have) / len(rows)
                for r in rows:
                    self.heights[r] = self.heights.get(r, LINE_HEIGHT + ROW_PADDING) + extra
        for r in sorted(self.heights):
            self.ws.set_row(r, round(self.height(r), 1))
        self.ws.set_h_pagebreaks(self.page_breaks(repeated_rows))

    def page_breaks(self, repeated_rows: int) -> list[int]:
        header = sum(self.height(r) for r in range(repeated_rows))
        used, breaks = header, []
        for first, last in self.blocks:
            h = sum(self.height(r) for r in range(first, last + 1))
            if used + h > PAGE_ROWS_PT and used > header:
                breaks.append(first)
                used = header
            used += h
            while used > PAGE_ROWS_PT:  # a block taller than a page breaks inside it
                used -= PAGE_ROWS_PT - header
        return breaks


def draw_plan(book: Workbook, styles: Styles, reg: Register, plan: Plan, years: list[int],
              input_year: int | None = None, department: str | None = None,
              name: str | None = None, missing=None) -> tuple[Worksheet, PlanSheet, list[InputField]]:
    """Draw one plan item as a sheet. `years`: progress rows shown (reported years, plus the
    input year for a template). With `input_year`, that year's fields become input cells,
    editable only where `department` is the owner. `missing(owner, year)`: the marker a
    report prints in place of a progress row not yet reported (never dropped silently)."""
    ws = add_sheet(book, name or sheet_name(plan))
    sheet = PlanSheet(ws, styles)
    _page_setup(ws)
    fields: list[InputField] = []
    put = sheet.put

    # Heading lines outside the table, repeated on every printed page with the title row.
    put(0, 0, 0, LAST_COL, f"重点推進目標{plan.goal} {reg.goal_name(plan.goal)}", "heading")
    put(1, 0, 1, LAST_COL, f"取組事項{plan.initiative} {reg.initiative_name(plan.goal, plan.initiative)}",
        "heading")
    r = 2
    put(r, 0, r, 0, plan.mark, "mark")
    put(r, 1, r, 1, "実施計画名", "label")
    put(r, 2, r, 8, plan.name, "title")
    put(r, 9, r, 9, "所管課", "label")
    put(r, 10, r, LAST_COL, "、".join(plan.departments), "text")
    ws.repeat_rows(0, r)
    r += 1

    def block(start: int, end: int) -> int:
        if end > start:
            sheet.blocks.append((start, end - 1))
        return end

    r = block(r, _overview(sheet, r, plan.overview, plan.vision))
    r = block(r, _five_less(sheet, r, plan))
    reporting = reg.reporting_sections(plan)
    for s in plan.sections:
        r = block(r, _section(sheet, r, plan, s, reg.period))
        if s.number in reporting:
            r = block(r, _progress(sheet, r, reg, plan, s.number, years, input_year, department, fields,
                                   missing))
    if 0 in reporting:
        r = block(r, _progress(sheet, r, reg, plan, 0, years, input_year, department, fields, missing))
    sheet.finish(repeated_rows=3)
    ws.print_area(0, 0, max(r - 1, 0), LAST_COL)
    return ws, sheet, fields


def _page_setup(ws: Worksheet) -> None:
    for c, w in enumerate(COLUMN_WIDTHS):
        ws.set_column(c, c, w)
    print_a4(ws, numbered=True)
    ws.hide_gridlines(2)


def _overview(sheet: PlanSheet, r: int, overview: str, vision: str) -> int:
    if not (overview or vision):
        return r
    sheet.put(r, 0, r, 5, "事業概要", "label")
    sheet.put(r, 6, r, LAST_COL, "目指す姿（目標）", "label")
    sheet.put(r + 1, 0, r + 1, 5, overview)
    sheet.put(r + 1, 6, r + 1, LAST_COL, vision)
    return r + 2


def _five_less(sheet: PlanSheet, r: int, plan: Plan) -> int:
    put = sheet.put
    put(r, 0, r + 1, 0, "5レス", "label")
    for i, name in enumerate(FIVE_LESS):
        put(r, 1 + i, r, 1 + i, name, "label")
        put(r + 1, 1 + i, r + 1, 1 + i, "○" if name in plan.five_less else "", "mark")
    put(r, 6, r + 1, 6, "情報公開", "label")
    put(r, 7, r, 7, "市ウェブサイト", "label")
    put(r, 8, r, 9, "その他", "label")
    put(r, 10, r, LAST_COL, "市ウェブページ", "label")
    put(r + 1, 7, r + 1, 7, "○" if plan.disclosure_website else "", "mark")
    put(r + 1, 8, r + 1, 9, plan.disclosure_other)
    put(r + 1, 10, r + 1, LAST_COL, "\n".join(f"・{p}" for p in plan.disclosure_pages))
    return r + 2


def _section(sheet: PlanSheet, r: int, plan: Plan, s: Section, period: range) -> int:
    """One section: heading, overview, and the action table with the schedule of `period`
    (the register's plan period, at most four years: two columns per year)."""
    put = sheet.put
    if s.title or s.departments:
        heading = s.title
        if s.departments:
            heading = f"{heading} <{'、'.join(s.departments)}>".strip()
        put(r, 0, r, LAST_COL, heading, "section")
        r += 1
        r = _overview(sheet, r, s.overview, s.vision)
    # actions table header
    put(r, 0, r + 1, 1, "取組内容", "label")
    put(r, SCHEDULE_COL, r, SCHEDULE_COL + 7, "行動計画", "label")
    put(r, TARGET_COL, r + 1, LAST_COL, f"{period[-1]}年度末までの目標値", "label")
    for k, year in enumerate(period[:4]):
        c = SCHEDULE_COL + 2 * k
        put(r + 1, c, r + 1, c + 1, fy_label(year), "label")
    r += 2
    first = r
    for a in s.actions or []:
        rows = a.rows or [[]]
        put(r, 0, r + len(rows) - 1, 1, a.name)
        for row in rows:
            _schedule_row(sheet, r, row, period[0])
            r += 1
    if r == first:  # a section without actions still shows its targets
        put(r, 0, r, 1, "")
        _schedule_row(sheet, r, [], period[0])
        r += 1
    put(first, TARGET_COL, r - 1, LAST_COL, s.targets_text or targets_from_indicators(s))
    return r


def _schedule_row(sheet: PlanSheet, r: int, spans, first_year: int) -> None:
    taken = [False] * 8
    for sp in spans:
        k1 = 2 * (sp.start - first_year) + (sp.half - 1 if sp.half else 0)
        k2 = 2 * (sp.end - first_year) + (sp.half - 1 if sp.half else 1)
        k1, k2 = max(k1, 0), min(k2, 7)
        if k1 > k2 or any(taken[k1:k2 + 1]):
            continue  # the register check reports spans outside the period
        taken[k1:k2 + 1] = [True] * (k2 - k1 + 1)
        sheet.put(r, SCHEDULE_COL + k1, r, SCHEDULE_COL + k2, sp.text)
    k = 0
    while k < 8:  # blank bordered cells where no activity runs, one per fiscal year
        if taken[k]:
            k += 1
            continue
        end = k + 1 if k % 2 == 0 and not taken[k + 1] else k
        sheet.put(r, SCHEDULE_COL + k, r, SCHEDULE_COL + end, "")
        k = end + 1


def targets_from_indicators(s: Section) -> str:
    lines = [f"・{i.name} {format_amount(i.target)}{i.unit}{i.comparator}" for i in s.indicators]
    base = [f"・{i.name} {format_amount(i.baseline)}{i.unit}" for i in s.indicators
            if i.baseline is not None]
    if base:
        lines += ["（現況値）", *base]
    return "\n".join(lines)


def _progress(sheet: PlanSheet, r: int, reg: Register, plan: Plan, section: int, years: list[int],
              input_year: int | None, department: str | None, fields: list[InputField],
              missing=None) -> int:
    put = sheet.put
    name = sheet.ws.get_name()
    owner = reg.progress_owner(plan, section)
    indicators = [i for s in plan.sections if section in (0, s.number) for i in s.indicators]
    start = r
    put(r, 1, r, 1, "年度", "label")
    put(r, 2, r, 6, "実績", "label")
    final = input_year is not None and input_year == reg.period[-1]  # the period's last year: 総括
    put(r, 7, r, LAST_COL, "計画の見直し（計画期間の総括）" if final else "計画の見直し", "label")
    r += 1
    for year in years:
        pr = reg.progress_for(plan.id, section, year)
        top = r  # the year's label spans the lead's row and the co-owners' parts
        if year == input_year:
            editable = department == owner
            style = "input" if editable else "text"
            put(r, 2, r, 6, pr.results if pr else "", style)
            put(r, 7, r, LAST_COL, pr.revision if pr else "", style)
            # room to type: merged cells do not grow while the clerk writes; another
            # department's empty field still shows as a box, not a hairline
            sheet.need(r, input_height(reg) if editable else 2 * LINE_HEIGHT + ROW_PADDING)
            base = f"{plan.id}|{section}|{year}"
            fields.append(InputField(f"results|{base}", "results", name, r, 2, owner, editable))
            fields.append(InputField(f"revision|{base}", "revision", name, r, 7, owner, editable))
            r = _contribution_inputs(sheet, r + 1, reg, plan, section, year, department, fields)
            put(top, 1, r - 1, 1, fy_short(year), "label")
            r = _indicator_inputs(sheet, r, reg, indicators, year, plan, department, fields)
            if not plan.indicators:  # an item without numbers is rated by its department
                r = _self_rating_input(sheet, r, reg, plan, section, year, department, fields)
        elif pr is not None or reg.contributions_of(plan, section, year) or (
                missing is not None and year > reg.baseline_year):  # a report marks what is owed
            lead = pr.results if pr else missing(owner, year) if missing is not None else ""
            revision = pr.revision if pr else ""
            k = _rows_for(lead, revision)
            put(r, 2, r + k - 1, 6, lead)
            put(r, 7, r + k - 1, LAST_COL, revision)
            owed = missing if year == years[-1] else None  # co-owners' parts: the year collected
            r = _contribution_rows(sheet, r + k, reg, plan, section, year, owed)
            put(top, 1, r - 1, 1, fy_short(year), "label")
    if r == start + 1:  # no year to show: keep the header readable
        put(r, 1, r, 1, "", "label")
        put(r, 2, r, 6, "")
        put(r, 7, r, LAST_COL, "")
        r += 1
    put(start, 0, r - 1, 0, "進捗状況", "label")
    return r


def _rows_for(results: str, revision: str) -> int:
    """Rows a reported year spans: one, or more when its text needs more than Excel's tallest row.
    Measured with the arguments `PlanSheet.put` gives when it writes the text, all positional:
    text_height's cache keys keyword and positional calls apart, so the text is measured once."""
    need = max(text_height(results, span_width(2, 6), False, 5, FONT_SIZE) if results else 0,
               text_height(revision, span_width(7, LAST_COL), False, LAST_COL - 6, FONT_SIZE) if revision else 0)
    return max(1, math.ceil(need / MAX_ROW_HEIGHT))


def input_height(reg: Register) -> float:
    """Height of an empty 実績 / 計画の見直し input row: room for the longest text the reference
    (the progress rows not collected from a department) has for either box, at its width."""
    memo = reg._index.memo if reg._index is not None else {}  # asked once per plan sheet
    if "input_height" not in memo:
        memo["input_height"] = _input_height(tuple((p.results, p.revision) for p in reg.progress
                                                   if not p.source.file))
    return memo["input_height"]


@functools.lru_cache(maxsize=8)  # drawn once per plan sheet, from the same texts every time
def _input_height(texts: tuple[tuple[str, str], ...]) -> float:
    lines = [text_lines(results, span_width(2, 6), 5) for results, _ in texts if results]
    lines += [text_lines(revision, span_width(7, LAST_COL), LAST_COL - 6) for _, revision in texts if revision]
    return max(lines + [INPUT_LINES]) * LINE_HEIGHT + ROW_PADDING


def contribution_text(department: str, text: str) -> str:
    """A co-owner's part as printed after the lead's text: 「＜男女共同参画課＞」 then the text."""
    return f"＜{department}＞\n{text}" if text else f"＜{department}＞"


def _contribution_rows(sheet: PlanSheet, r: int, reg: Register, plan: Plan, section: int,
                       year: int, missing=None) -> int:
    """The co-owners' recorded parts of one progress row, one row each, labelled; with
    `missing`, a co-owner's part not yet received is marked, not dropped."""
    parts = {c.department: c for c in reg.contributions_of(plan, section, year)}
    owed = [d for d in reg.contributors(plan, section) if d not in parts] if missing else []
    for department in [*parts, *owed]:
        c = parts.get(department)
        if c is None:
            results, revision = missing(department, year), ""
        else:
            results, revision = (NOTHING_TO_ADD, NOTHING_TO_ADD) if c.nothing else (c.results, c.revision)
        sheet.put(r, 2, r, 6, contribution_text(department, results))
        sheet.put(r, 7, r, LAST_COL, contribution_text(department, revision))
        r += 1
    return r


def _contribution_inputs(sheet: PlanSheet, r: int, reg: Register, plan: Plan, section: int,
                         year: int, department: str | None, fields: list[InputField]) -> int:
    """A contribution box (関係課記入欄) per co-owner of the progress row: its 実績 and 計画の見直し,
    and a 「特になし」 choice for a year it has nothing to add. Open only in its own template."""
    name = sheet.ws.get_name()
    for owner in reg.contributors(plan, section):
        c = reg.contribution_for(plan.id, section, year, owner)
        editable = department == owner
        style = "input" if editable else "text"
        who = "貴課が記入してください" if editable else f"{owner}が記入します"
        sheet.put(r, 2, r, LAST_COL, f"＜{owner}＞ 関係課の記入欄（{who}）", "section")
        sheet.put(r + 1, 2, r + 1, 6, c.results if c else "", style)
        sheet.put(r + 1, 7, r + 1, LAST_COL, c.revision if c else "", style)
        # room to type in its own template; elsewhere a visible empty box, not a hairline
        sheet.need(r + 1, (INPUT_LINES if editable else 2) * LINE_HEIGHT + ROW_PADDING)
        hint = "追加して記入することがない年度は、右の欄で" if editable else f"追加がない年度は、{owner}が右の欄で"
        sheet.put(r + 2, 2, r + 2, 6, f"{hint}「{NOTHING_TO_ADD}」を選びます", "label_left")
        sheet.put(r + 2, 7, r + 2, 8, NOTHING_TO_ADD if c and c.nothing else "", style)
        sheet.put(r + 2, 9, r + 2, LAST_COL, "")
        base = f"{plan.id}|{section}|{year}|{owner}"
        fields += [InputField(f"part_results|{base}", "part_results", name, r + 1, 2, owner, editable),
                   InputField(f"part_revision|{base}", "part_revision", name, r + 1, 7, owner, editable),
                   InputField(f"part_none|{base}", "part_none", name, r + 2, 7, owner, editable)]
        r += 3
    return r


def _indicator_inputs(sheet: PlanSheet, r: int, reg: Register, indicators: list[Indicator],
                      year: int, plan: Plan, department: str | None,
                      fields: list[InputField]) -> int:
    """One row per indicator: name and unit, baseline, target, previous actual, the input."""
    if not indicators:
        return r
    put = sheet.put
    put(r, 1, r + len(indicators), 1, "指標の実績値", "label")
    put(r, 2, r, 5, "指標名（単位）", "label")
    put(r, 6, r, 6, "現況値", "label")
    put(r, 7, r, 7, "目標値", "label")
    put(r, 8, r, 9, "前年度の実績値", "label")
    put(r, 10, r, 10, f"{fy_short(year)}の実績値", "label")
    put(r, 11, r, 11, "変動要因（大きく増減した場合）", "label")
    r += 1
    name = sheet.ws.get_name()
    for ind in indicators:
        owner = reg.indicator_owner(plan, ind)
        editable = department == owner
        previous = reg.actual_for(ind.id, year - 1)
        current = reg.actual_for(ind.id, year)
        hint = f"{'高い' if ind.direction == 'up' else '低い'}ほど良い" if editable else f"{owner}が記入"
        put(r, 2, r, 5, f"{ind.label}\n（{hint}）")
        put(r, 6, r, 6, _with_label(ind.baseline, ind.baseline_label), "number")
        put(r, 7, r, 7, f"{format_amount(target_for(ind, year))}{ind.comparator}".strip(), "number")
        put(r, 8, r, 9, previous.value if previous else "", "number")
        put(r, 10, r, 10, current.value if current else "", "input_number" if editable else "number")
        # the reason sits right of its actual (templates.py's conditional format relies on it)
        put(r, 11, r, 11, current.reason if current else "", "input" if editable else "text")
        if editable:
            sheet.need(r, 3 * LINE_HEIGHT + ROW_PADDING)
        fields.append(InputField(f"actual|{ind.id}|{year}", "actual", name, r, 10, owner, editable, ind))
        fields.append(InputField(f"reason|{ind.id}|{year}", "reason", name, r, 11, owner, editable, ind))
        r += 1
    return r


def _self_rating_input(sheet: PlanSheet, r: int, reg: Register, plan: Plan, section: int, year: int,
                       department: str | None, fields: list[InputField]) -> int:
    """自己評価 of a progress row without numeric targets: a choice from the rating scale."""
    owner = reg.progress_owner(plan, section)  # 記入課 of the progress row
    editable = department == owner
    pr = reg.progress_for(plan.id, section, year)
    choices = "、".join(self_rating_choices(reg.rating_scale))
    sheet.put(r, 1, r, 1, "自己評価", "label")
    sheet.put(r, 2, r, 3, self_rating_choice(reg.rating_scale, pr.self_rating if pr else ""),
              "input" if editable else "text")
    sheet.put(r, 4, r, LAST_COL, f"数値目標がないため、{fy_short(year)}の進捗を一覧から選んでください（{choices}）。"
              if editable else f"{owner}が記入")
    fields.append(InputField(f"rating|{plan.id}|{section}|{year}", "rating", sheet.ws.get_name(), r, 2,
                             owner, editable))
    return r + 1


def _with_label(value: float | None, label: str) -> str:
    if value is None:
        return ""
    # the date on a line of its own: a narrow cell would otherwise break inside it
    return f"{format_amount(value)}\n（{label}）" if label else format_amount(value)
