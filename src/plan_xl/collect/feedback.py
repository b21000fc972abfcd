"""Stage 7, feedback: what collect leaves behind for people, written while the register lock
is still held and after the ledger has this run's verdicts: the 取りまとめ状況 workbook (current
after every run), a correction copy (修正依頼) per rejected department, and a readable run log."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from ..atomic import replacing
from ..findings import ERROR, Finding
from ..register.model import Register
from ..workbooks.layout import FONT, INPUT_FILL, display_width
from ..workbooks.plainrows import PlainRowsSheet
from ..workbooks.xlsx import new_workbook, print_a4
from ..workspace import Workspace
from . import ledger
from .read import open_workbook
from .validate import _as_text
from .verdict import State

# Three colours a department tells apart at a glance, on screen and printed in grey: red for 誤り,
# blue for 注意 (the old yellow FFEB9C was nearly the input cells' FFF2CC), the input yellow itself;
# hues 0°/208°/45°, luminance 0.69/0.83/0.95.
ERROR_FILL = "FF9B9B"
WARNING_FILL = "BDD7EE"
INPUT_FILL_RGB = INPUT_FILL.lstrip("#").upper()
CORRECTION_SHEET = "修正依頼"
HEADER_ROW = 7  # of the 修正依頼 table, under the title, the instruction and the colour key


def _table(book, name: str, headers: list[tuple[str, int]], rows: list[list], title: list[str]) -> None:
    """One sheet: title lines, then a table with a frozen, filtered, repeated header row. The
    rows are plain values (a run of thousands of files lists each)."""
    ws = book.add_worksheet(name, PlainRowsSheet)
    big = book.add_format({"bold": True, "font_size": 14, "font_name": FONT})
    note = book.add_format({"font_name": FONT})
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_name": FONT})
    body = book.add_format({"text_wrap": True, "valign": "top", "font_name": FONT, "border": 1})
    for r, line in enumerate(title):
        ws.write_string(r, 0, line, big if r == 0 else note)
    top = len(title) + 1
    for c, (h, width) in enumerate(headers):
        ws.write_string(top, c, h, head)
        ws.set_column(c, c, width)
    rows = [["" if value is None else value if isinstance(value, (int, float)) and not isinstance(value, bool)
             else str(value) for value in row] for row in rows]
    # wrapped text gets the height it needs: a row height is not recomputed on opening
    lines = {n: max(_lines(v, w) for v, (_, w) in zip(row, headers, strict=True)) for n, row in enumerate(rows)}
    ws.add_plain_rows(top + 1, rows, [body] * len(headers),
                      {n: 13.5 * k + 2 for n, k in lines.items() if k > 1}, blanks=True)
    ws.freeze_panes(top + 1, 0)
    ws.autofilter(top, 0, top + max(len(rows), 1), len(headers) - 1)
    print_a4(ws, (top, top))


def write_status(ws: Workspace, reg: Register, year: int, now: dt.datetime) -> Path:
    """取りまとめ状況 of `year`: title, date and counts, the state of every department, then
    every file's verdict and every finding. Read after the ledger has this run's verdicts."""
    path = ws.status_path(year)
    with replacing(path) as tmp:
        _status_book(ws, reg, year, now, tmp)
    return path


def _status_book(ws: Workspace, reg: Register, year: int, now: dt.datetime, tmp: Path) -> None:
    title = f"{year}年度 取りまとめ状況"
    book = new_workbook(tmp, title, now.replace(microsecond=0))
    log = ledger.entries(ws, year)
    statuses = ledger.department_status(ws, reg, year, log)
    files = [e for e in log if e.get("year") == year or e.get("year") is None]
    counts = "、".join(f"{state} {sum(s.state == state for s in statuses)} 課" for state in State)
    heading = [title, f"{now:%Y年%m月%d日 %H:%M} 現在（plan-xl collect の実行時点）",
               f"所管課 {len(statuses)} 課: {counts}。返送ファイル {len({e.get('sha256') for e in files})} 件。"]
    _table(book, "所管課別", [("所管課", 20), ("状況", 10), ("調査票発行", 10), ("返送ファイル数", 12),
                           ("最後の判定", 16), ("最後のファイル", 64), ("誤り", 6)],
           [[s.department, str(s.state), "済" if s.issued else "未", s.returned, s.last_verdict, s.last_file,
             s.errors] for s in statuses], heading)
    _table(book, "ファイル別", [("受付日時", 20), ("ファイル", 50), ("所管課", 18), ("判定", 16),
                             ("内容", 50), ("誤り", 6), ("注意", 6), ("保管ファイル（workbooks/archive）", 40)],
           [[e["received"], e["file"], e.get("department", ""), e["verdict"], e["message"],
             e.get("errors", 0), e.get("warnings", 0), e.get("archived") or e["sha256"]] for e in files],
           [f"{title}: ファイル別の判定"])
    _table(book, "指摘一覧", [("ファイル", 44), ("所管課", 18), ("区分", 6), ("対応", 14), ("シート", 30),
                          ("セル", 8), ("内容", 80)],
           [[e["file"], e.get("department", ""), f["severity"], f.get("action", ""), f["sheet"], f["cell"],
             f["message"]] for e in files for f in e.get("findings", [])], [f"{title}: 指摘の一覧"])
    book.close()


def write_run_log(ws: Workspace, result, now: dt.datetime) -> Path:
    """A readable log of this run: every file traced to the container it came in."""
    logs = ws.workbooks / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"collect-{now.strftime('%Y%m%d-%H%M%S')}.log"
    lines = [f"plan-xl collect {now.isoformat(timespec='seconds')}"]
    lines += [f"読み飛ばし\t{p}\t{why}" for p, why in result.skipped]
    for r in result.results:
        lines.append(f"{r.verdict}\t{r.item.label}\t{r.department}\t{r.message}\t{r.item.sha256}")
        if r.item.chain:
            lines.append(f"\t受信したファイル: {r.item.source.name}（保管: {r.container_archived}）"
                         + (f"、差出人 {r.item.sender}" if r.item.sender else ""))
        lines += [f"\t{f}" for f in r.findings]
    lines.append(f"台帳: {'更新しました' if result.register_changed else '変更なし'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_corrections(ws: Workspace, rejected) -> list[Path]:
    """For each rejected workbook, a copy of the department's own file with the problem cells
    highlighted, a comment on each, and a 修正依頼 sheet first."""
    paths = []
    for r in rejected:
        if not r.department:  # nobody to send it to; the status workbook lists the file
            continue
        path = ws.correction_path(r.year, r.department)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            originals = _originals(ws, r)
            write_correction(r.item.data, r.findings, path, originals,
                             f"{r.year}年度 進捗状況調査票 修正依頼（{r.department}）")
        except Exception:  # noqa: BLE001 - the status workbook still lists every finding
            continue
        paths.append(path)
    return paths


def _originals(ws: Workspace, r) -> dict[tuple[str, str], str]:
    """(sheet, cell now) -> the text issued there, for pre-filled cells the department changed,
    read from the template this folder issued (when it is still the one the file came from)."""
    changed = r.validation.changed if r.validation else {}
    path = ws.template_path(r.year, r.department)
    if not changed or not path.exists():
        return {}
    issued = open_workbook(path.read_bytes())
    if issued.identity is None or issued.identity.template_id != r.template_id:
        return {}
    return {where: _as_text(issued.cell(where[0], cell)) for where, cell in changed.items()}


def write_correction(data: bytes, findings: list[Finding], path: Path,
                     originals: dict[tuple[str, str], str] | None = None, title: str = CORRECTION_SHEET) -> None:
    """The department's own file, made inert, with each finding's cell coloured and commented,
    changed pre-filled cells restored (the comment keeps what was typed), every sheet protected
    again as issued, and a 修正依頼 sheet first that prints whole on A4 landscape."""
    import openpyxl  # imported here: only rejected files need it, and it is slow to import

    originals = originals or {}
    book = openpyxl.load_workbook(io.BytesIO(data))
    _make_inert(book)
    _mark_cells(book, findings, originals)
    for ws in book.worksheets:
        _protect(ws)
    _summary_sheet(book, findings, originals, title)
    book.active = 0
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == CORRECTION_SHEET
    with replacing(path) as tmp:
        book.save(tmp)


def _mark_cells(book, findings: list[Finding], originals: dict) -> None:
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    fills = {ERROR: PatternFill("solid", fgColor=ERROR_FILL), "注意": PatternFill("solid", fgColor=WARNING_FILL)}
    marked: set[tuple[str, str]] = set()
    for f in findings:
        if f.sheet not in book.sheetnames or not f.cell:
            continue
        cell = book[f.sheet][f.cell]
        if isinstance(cell, MergedCell):  # inside a merged box: only the 修正依頼 sheet can say it
            continue
        if f.severity == ERROR or (f.sheet, f.cell) not in marked:  # red stays red under a note
            cell.fill = fills.get(f.severity, fills[ERROR])
        if f.severity == ERROR:
            marked.add((f.sheet, f.cell))
        note = f"【{f.severity}】{f.message}" if f.severity == ERROR else f"【{f.severity}・{f.action}】{f.message}"
        if (f.sheet, f.cell) in originals:
            typed = _as_text(cell.value)
            cell.value = originals[(f.sheet, f.cell)]
            cell.data_type = "s"
            note += f"\n元の内容に戻してあります。入力されていた内容:「{typed[:200]}」"
        comment = Comment(note if not cell.comment else f"{cell.comment.text}\n{note}", "plan-xl")
        comment.width, comment.height = 320, 160
        cell.comment = comment


def _protect(ws) -> None:
    """Protection as the template was issued: only the open input cells can be typed into;
    rows may be resized and inserted (the same allowances templates.py gives)."""
    from openpyxl.worksheet.protection import SheetProtection

    ws.protection = SheetProtection(sheet=True, formatRows=False, formatColumns=False, insertRows=False,
                                    selectLockedCells=False, selectUnlockedCells=False)


def _summary_sheet(book, findings: list[Finding], originals: dict, title: str) -> None:
    """修正依頼: what to do, a colour key, and one row per finding, set up for A4 landscape."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.page import PageMargins

    ws = book.create_sheet(CORRECTION_SHEET, 0)
    widths = {"A": 5, "B": 7, "C": 15, "D": 30, "E": 7, "F": 70, "G": 28}
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    font, bold = Font(name=FONT, size=10), Font(name=FONT, size=10, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws["A1"] = title
    ws["A1"].font = Font(name=FONT, size=14, bold=True)
    n_err = sum(f.severity == ERROR for f in findings)
    ws["A2"] = (f"誤りが {n_err} 件あります。この表の「修正してください」「確認してください」の箇所を直して、"
                "このファイルを上書き保存して返送してください（他のシートの色の付いたセルにもコメントがあります）。"
                "「対応不要」は plan-xl が読み取った内容のお知らせです。")
    ws.merge_cells("A2:G2")
    ws["A2"].alignment, ws["A2"].font = wrap, font
    ws.row_dimensions[2].height = 44
    legend = (("誤り", ERROR_FILL, "必ず直してください（直さないと受理できません）。"),
              ("注意", WARNING_FILL, "内容を確認してください。「対応不要」とあるものは読み取り結果のお知らせです。"),
              ("入力欄", INPUT_FILL_RGB, "記入できる欄です（ほかの欄は変更しないでください）。"))
    for r, (label, fill, text) in enumerate(legend, 3):
        ws.cell(r, 2, label).fill = PatternFill("solid", fgColor=fill)
        ws.cell(r, 2).font, ws.cell(r, 2).border = bold, box
        ws.cell(r, 3, text).font = font
        ws.merge_cells(start_row=r, start_column=3, end_row=r, end_column=7)
    top = HEADER_ROW
    header = ["No.", "区分", "対応", "シート", "セル", "内容", "元の値（戻してあります）"]
    for c, text in enumerate(header, 1):
        cell = ws.cell(top, c, text)
        cell.font, cell.border, cell.fill = bold, box, PatternFill("solid", fgColor="D9E1F2")
    for n, f in enumerate(findings, 1):
        row = [n, f.severity, f.action, f.sheet, f.cell, f.message, originals.get((f.sheet, f.cell), "")]
        for c, value in enumerate(row, 1):
            cell = ws.cell(top + n, c, value)
            if isinstance(value, str):
                cell.data_type = "s"  # text from a returned file never becomes a formula
            cell.font, cell.alignment, cell.border = font, wrap, box
        ws.cell(top + n, 2).fill = PatternFill("solid", fgColor=ERROR_FILL if f.severity == ERROR else WARNING_FILL)
        ws.row_dimensions[top + n].height = 13.5 * max(_lines(f.message, widths["F"]),
                                                       _lines(row[6], widths["G"]),
                                                       _lines(f.sheet, widths["D"]),
                                                       _lines(f.action, widths["C"])) + 3
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation, ws.page_setup.paperSize = "landscape", ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.print_area = f"A1:G{top + max(len(findings), 1)}"
    ws.freeze_panes = f"A{top + 1}"


def _lines(text: str, width: float) -> int:
    """Lines a wrapped cell needs (full-width characters take two columns)."""
    per_line = max(width * 0.95, 4)
    if isinstance(text, str) and 2 * len(text) <= per_line and "\n" not in text:
        return 1  # fits, whatever its characters (most cells of a status table)
    return sum(max(1, -(-display_width(line) // int(per_line))) for line in str(text or "").split("\n"))


def _make_inert(book) -> None:
    """Nothing from a returned file becomes a live formula or link in what plan-xl writes:
    formulas become their text (array formulas too), hyperlinks and external workbook links go,
    and only defined names that are plain references into this workbook stay (plan-xl's PX_*
    anchors, print areas); a name calling out (DDE `cmd|…`, `[1]Book!A1`, functions) is dropped."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    value = cell.value
                    cell.value = value if isinstance(value, str) else (getattr(value, "text", None) or "")
                    cell.data_type = "s"
                if cell.hyperlink is not None:
                    cell.hyperlink = None
    book._external_links = []
    for names in [book.defined_names, *(ws.defined_names for ws in book.worksheets)]:
        for name in [n for n, d in names.items() if not _INERT_NAME.match(d.attr_text or "")]:
            del names[name]


# A defined name that only points into the workbook: 'Sheet'!$A$1, ranges, comma lists of them.
_REFERENCE = r"(?:'(?:[^'\[\]]|'')+'|[^'!\[\]|(),\s]+)!\$?[A-Z]{1,3}\$?[0-9]*(?::\$?[A-Z]{1,3}\$?[0-9]*)?"
_INERT_NAME = re.compile(rf"^=?{_REFERENCE}(?:,{_REFERENCE})*$")
