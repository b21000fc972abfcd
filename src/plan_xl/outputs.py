"""What collect leaves behind: the 取りまとめ状況 workbook, correction copies, the run log,
and the per-department status that `plan-xl status` prints."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from .findings import ERROR
from .layout import FONT
from .model import Register
from .workspace import Workspace

REFERENCE = "参考"  # the status of a department sent its items for information (参考送付)
ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"


@dataclass
class DepartmentStatus:
    department: str
    issued: bool
    returned: int  # files received for the year
    accepted: bool
    last_verdict: str
    last_file: str
    errors: int
    reference: bool = False  # 参考送付: no return asked, never reminded

    @property
    def state(self) -> str:
        if self.reference:
            return REFERENCE
        if self.accepted:
            return "受理"
        return "差戻し" if self.returned else "未提出"


def department_status(ws: Workspace, reg: Register, year: int) -> list[DepartmentStatus]:
    """Per department that gets a template (the same list as templates and mails): issued /
    returned / accepted / missing, or 参考 for one sent its items for information only."""
    from .collect import verdict_log

    log = [e for e in verdict_log(ws) if e.get("year") == year]
    accepted = reg.accepted_departments(year)
    out = []
    reference = reg.reference_only()  # once: it walks every plan and progress row
    for d in (reg.department(name) for name in reg.recipients()):
        mine = [e for e in log if e.get("department") == d.name]
        files = {e["sha256"] for e in mine}
        last = mine[-1] if mine else {}
        out.append(DepartmentStatus(d.name, ws.template_path(year, d.name).exists(), len(files),
                                    d.name in accepted, last.get("verdict", ""), last.get("file", ""),
                                    int(last.get("errors", 0)), d.name in reference))
    return out


def _book(path: Path) -> xlsxwriter.Workbook:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    return book


def _table(book, name: str, headers: list[tuple[str, int]], rows: list[list]) -> None:
    ws = book.add_worksheet(name)
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_name": FONT})
    body = book.add_format({"text_wrap": True, "valign": "top", "font_name": FONT, "border": 1})
    for c, (h, width) in enumerate(headers):
        ws.write_string(0, c, h, head)
        ws.set_column(c, c, width)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, c, value, body)
            else:
                ws.write_string(r, c, "" if value is None else str(value), body)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def write_status(ws: Workspace, reg: Register, year: int, now: dt.datetime) -> Path:
    """取りまとめ状況: status per department, then every file's verdict and findings."""
    from .collect import verdict_log

    path = ws.status_path(year)
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    book = _book(tmp)
    book.set_properties({"title": f"{year}年度 取りまとめ状況", "created": now.replace(microsecond=0)})
    statuses = department_status(ws, reg, year)
    _table(book, "所管課別", [("所管課", 20), ("状況", 10), ("調査票発行", 10), ("返送ファイル数", 12),
                           ("最後の判定", 16), ("最後のファイル", 44), ("誤り", 6)],
           [[s.department, s.state, "済" if s.issued else "未", s.returned, s.last_verdict, s.last_file,
             s.errors] for s in statuses])
    log = [e for e in verdict_log(ws) if e.get("year") in (year, None)]
    _table(book, "ファイル別", [("受付日時", 20), ("ファイル", 44), ("所管課", 18), ("判定", 16),
                             ("内容", 60), ("誤り", 6), ("注意", 6), ("SHA-256", 20)],
           [[e["received"], e["file"], e.get("department", ""), e["verdict"], e["message"],
             e.get("errors", 0), e.get("warnings", 0), e["sha256"]] for e in log])
    _table(book, "指摘一覧", [("ファイル", 44), ("所管課", 18), ("区分", 6), ("シート", 30), ("セル", 8),
                          ("内容", 80)],
           [[e["file"], e.get("department", ""), f["severity"], f["sheet"], f["cell"], f["message"]]
            for e in log for f in e.get("findings", [])])
    book.close()
    tmp.replace(path)
    return path


def write_run_log(ws: Workspace, result, now: dt.datetime) -> Path:
    """A readable log of this run, plus one JSON line per verdict for `plan-xl status`."""
    logs = ws.workbooks / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"collect-{now.strftime('%Y%m%d-%H%M%S')}.log"
    lines = [f"plan-xl collect {now.isoformat(timespec='seconds')}"]
    lines += [f"読み飛ばし\t{p}\t{why}" for p, why in result.skipped]
    ws.state.mkdir(parents=True, exist_ok=True)
    with open(ws.state / "verdicts.jsonl", "a", encoding="utf-8") as jl:
        for r in result.results:
            lines.append(f"{r.verdict}\t{r.item.label}\t{r.department}\t{r.message}\t{r.item.sha256}")
            lines += [f"\t{f}" for f in r.findings]
            jl.write(json.dumps({
                "time": now.isoformat(timespec="seconds"), "received": r.item.received,
                "file": r.item.label, "sha256": r.item.sha256, "department": r.department,
                "year": r.year, "template_id": r.template_id, "verdict": r.verdict,
                "message": r.message, "errors": r.errors, "warnings": r.warnings,
                "archived": r.archived,
                "findings": [{"severity": f.severity, "sheet": f.sheet, "cell": f.cell,
                              "message": f.message} for f in r.findings]}, ensure_ascii=False) + "\n")
    lines.append(f"台帳: {'更新しました' if result.register_changed else '変更なし'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_corrections(ws: Workspace, rejected) -> list[Path]:
    """For each rejected workbook, a copy of the department's own file with the problem cells
    highlighted, a comment on each, and a 修正依頼 summary sheet first."""
    paths = []
    for r in rejected:
        path = ws.correction_path(r.year, r.department)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_correction(r.item.data, r.findings, path)
        except Exception:  # noqa: BLE001 - the status workbook still lists every finding
            continue
        paths.append(path)
    return paths


def write_correction(data: bytes, findings, path: Path) -> None:
    import io

    import openpyxl  # imported here: only rejected files need it, and it is slow to import
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    book = openpyxl.load_workbook(io.BytesIO(data))
    _make_inert(book)
    fills = {ERROR: PatternFill("solid", fgColor=ERROR_FILL), "注意": PatternFill("solid", fgColor=WARNING_FILL)}
    marked: set[tuple[str, str]] = set()
    for f in findings:
        if f.sheet in book.sheetnames and f.cell:
            cell = book[f.sheet][f.cell]
            if f.severity == ERROR or (f.sheet, f.cell) not in marked:  # red stays red under a warning
                cell.fill = fills.get(f.severity, fills[ERROR])
            if f.severity == ERROR:
                marked.add((f.sheet, f.cell))
            note = f"【{f.severity}】{f.message}"
            cell.comment = Comment(note if not cell.comment else f"{cell.comment.text}\n{note}", "plan-xl")
    summary = book.create_sheet("修正依頼", 0)
    summary.column_dimensions["A"].width = 8
    summary.column_dimensions["B"].width = 34
    summary.column_dimensions["C"].width = 10
    summary.column_dimensions["D"].width = 90
    summary.append(["次の箇所を直して、このファイルを上書き保存して返送してください。"
                    "色の付いたセルにコメントがあります（赤: 誤り、黄: 注意）。"])
    summary.append(["区分", "シート", "セル", "内容"])
    for f in findings:
        summary.append([f.severity, f.sheet, f.cell, f.message])
    for row in summary.iter_rows():
        for cell in row:
            cell.data_type = "s" if cell.value is not None else cell.data_type
    book.active = 0
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = ws.title == "修正依頼"
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    book.save(tmp)
    tmp.replace(path)


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
