"""Read and write the master register workbook (台帳): one tidy table per sheet, Japanese
headers, frozen header row and filters, so that a clerk can open and read it in Excel.

Reading uses python-calamine (fast, values only); writing uses xlsxwriter with every string
written as a string, so no cell text ever becomes a formula or a link. Writes are atomic:
temporary file, flush, fsync, timestamped backup of the old file, then replace.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

from python_calamine import CalamineWorkbook

from .. import messages as M
from ..atomic import replacing, stale_temps
from ..errors import RegisterBusyError, RegisterError
from ..findings import ERROR, Finding
from ..fiscal import add_era
from ..workbooks.plainrows import PlainRowsSheet
from ..workbooks.xlsx import EXCEL_MAX_TEXT, FIXED_TIME, column_letter, new_workbook
from .model import (
    DEFAULT_RATINGS,
    FIVE_LESS,
    NOTHING_TO_ADD,
    Action,
    Actual,
    Assignment,
    Change,
    Contribution,
    Decision,
    Department,
    Goal,
    Indicator,
    Initiative,
    Plan,
    Progress,
    Provenance,
    Rating,
    Register,
    Section,
    Span,
    Submission,
    Target,
    Validity,
)

BACKUPS_KEPT = 20

LIST_SEP = "、"
PROVENANCE_HEADERS = ["提出ファイル", "SHA-256", "提出課", "様式ID", "受付日時"]

# sheet name -> (headers, column widths). Order is the sheet order in the workbook.
SHEETS: dict[str, list[tuple[str, int]]] = {
    "情報": [("項目", 22), ("値", 40)],
    "目標体系": [("種別", 12), ("重点推進目標", 12), ("取組事項", 10), ("名称", 36), ("別名", 36)],
    "所管課": [("所管課", 20), ("別名", 20), ("メール", 34), ("CC", 34), ("担当・連絡先", 40)],
    "計画": [("計画ID", 9), ("重点推進目標", 8), ("取組事項", 8), ("番号", 6), ("実施計画名", 30),
             ("所管課", 30), ("事業概要", 60), ("目指す姿", 50),
             *[(f, 7) for f in FIVE_LESS], ("市ウェブサイト", 8), ("その他", 16), ("市ウェブページ", 36)],
    "節": [("計画ID", 9), ("節", 5), ("見出し", 30), ("所管課", 30), ("事業概要", 50),
           ("目指す姿", 40), ("目標値（表記）", 60)],
    "取組": [("計画ID", 9), ("節", 5), ("取組", 5), ("取組内容", 36), ("行", 5), ("開始年度", 9),
             ("終了年度", 9), ("半期", 5), ("行動計画", 50)],
    "指標": [("指標ID", 10), ("計画ID", 9), ("節", 5), ("指標名", 40), ("単位", 10), ("目標値", 10),
             ("比較", 6), ("目標年度", 9), ("現況値", 10), ("現況値の時点", 14), ("方向", 6)],
    "進捗": [("計画ID", 9), ("節", 5), ("年度", 7), ("実績", 70), ("計画の見直し", 60),
             *[(h, 16) for h in PROVENANCE_HEADERS], ("自己評価", 8)],
    "指標実績": [("指標ID", 10), ("年度", 7), ("実績値", 12), *[(h, 16) for h in PROVENANCE_HEADERS],
                 ("変動要因", 50)],
    "提出": [("様式ID", 20), ("所管課", 20), ("年度", 7), ("ファイル名", 40), ("SHA-256", 20),
             ("受付日時", 20), ("保管ファイル", 40), ("差替え先", 20)],
    "判断記録": [("計画ID", 9), ("内容", 100)],
    "評価基準": [("評価", 6), ("達成率の下限（%）", 16), ("意味", 30)],
    "目標値の履歴": [("指標ID", 10), ("目標値", 10), ("適用開始", 8), ("備考", 60)],
    "変更履歴": [("記録日時", 20), ("操作", 22), ("シート", 10), ("対象", 14), ("列", 14),
                 ("変更前", 40), ("変更後", 40), ("適用開始", 8), ("理由", 40)],
    "記入課": [("計画ID", 9), ("区分", 12), ("節", 5), ("指標ID", 10), ("記入課", 20)],
    "関係課の記入": [("計画ID", 9), ("節", 5), ("年度", 7), ("記入課", 20), ("実績", 60),
                  ("計画の見直し", 50), (NOTHING_TO_ADD, 8), *[(h, 16) for h in PROVENANCE_HEADERS]],
}
# 適用期間 (validity) columns, appended to the sheets of things that start and end.
VALIDITY_HEADERS = [("適用開始", 8), ("適用終了", 8), ("終了区分", 8), ("後継", 14)]
for _sheet in ("所管課", "計画", "節", "取組", "指標"):
    SHEETS[_sheet] = SHEETS[_sheet] + VALIDITY_HEADERS
# Columns and sheets added after the first release: an older register without them still reads.
OPTIONAL_HEADERS = {h for h, _ in VALIDITY_HEADERS}
OPTIONAL_SHEETS = {"評価基準", "目標値の履歴", "変更履歴", "記入課", "関係課の記入"}
OPTIONAL_COLUMNS = {("進捗", "自己評価"), ("指標実績", "変動要因")}
NO_DATA = "実績なし"  # 評価基準's 下限 for the rating given when there is no actual
# Columns plan-xl computes from others: editing them in Excel changes nothing (grey headers).
DERIVED = {"計画": {"重点推進目標", "取組事項", "番号"}, "指標": {"目標値"}}
# Sheets whose every cell is compared with the 前回保存 copy to find unrecorded Excel edits.
STRUCTURE = ("所管課", "計画", "節", "取組", "指標", "目標値の履歴", "目標体系", "記入課")
SAVED_SHEET = "_前回保存"
DIRECTION_LABELS = {"up": "上", "down": "下"}
HALF_LABELS = {0: "", 1: "前", 2: "後"}


# --- writing -------------------------------------------------------------------------------
def _split(text: str, sep: str = LIST_SEP) -> list[str]:
    return [x for x in str(text).split(sep) if x] if text else []


def _prov(p: Provenance) -> list:
    return [p.file, p.sha256, p.department, p.template_id, p.received]


def register_rows(reg: Register) -> dict[str, list[list]]:
    """Every table of the register as rows of plain values, in sheet order."""
    t: dict[str, list[list]] = {name: [] for name in SHEETS}
    t["情報"] = [[k, v] for k, v in reg.meta.items()]
    t["目標体系"] = [["重点推進目標", g.number, None, g.name, ""] for g in reg.goals] + [
        ["取組事項", i.goal, i.number, i.name, LIST_SEP.join(i.aliases)] for i in reg.initiatives]
    t["所管課"] = [[d.name, LIST_SEP.join(d.aliases), d.email, d.cc, d.contact, *_validity(d.validity)]
                 for d in reg.departments]
    for p in reg.plans:
        t["計画"].append([p.id, p.goal, p.initiative, p.number, p.name, LIST_SEP.join(p.departments),
                        p.overview, p.vision, *["○" if f in p.five_less else "" for f in FIVE_LESS],
                        "○" if p.disclosure_website else "", p.disclosure_other,
                        "\n".join(p.disclosure_pages), *_validity(p.validity)])
        for s in p.sections:
            t["節"].append([p.id, s.number, s.title, LIST_SEP.join(s.departments), s.overview,
                           s.vision, s.targets_text, *_validity(s.validity)])
            for a_no, a in enumerate(s.actions, 1):
                for r_no, row in enumerate(a.rows, 1):
                    for sp in row or [None]:
                        t["取組"].append([p.id, s.number, a_no, a.name, r_no,
                                        sp and sp.start, sp and sp.end,
                                        HALF_LABELS[sp.half] if sp else "", sp.text if sp else "",
                                        *_validity(a.validity)])
            for i in s.indicators:
                t["指標"].append([i.id, p.id, s.number, i.name, i.unit, i.target, i.comparator,
                                i.target_year, i.baseline, i.baseline_label,
                                DIRECTION_LABELS[i.direction], *_validity(i.validity)])
                t["目標値の履歴"] += [[i.id, tg.value, tg.start, tg.note] for tg in i.targets]
    t["進捗"] = [[pr.plan_id, pr.section, pr.year, pr.results, pr.revision, *_prov(pr.source),
                pr.self_rating] for pr in sorted(reg.progress, key=lambda x: (_plan_key(x.plan_id), x.section, x.year))]
    t["指標実績"] = [[a.indicator_id, a.year, a.value, *_prov(a.source), a.reason]
                 for a in sorted(reg.actuals, key=lambda x: (_indicator_key(x.indicator_id), x.year))]
    t["提出"] = [[s.template_id, s.department, s.year, s.file, s.sha256, s.received, s.archived_as,
                s.superseded_by] for s in reg.submissions]
    t["判断記録"] = [[d.plan_id, d.text] for d in reg.decisions]
    t["評価基準"] = [[r.label, NO_DATA if r.no_data else (None if r.minimum is None else round(r.minimum * 100, 6)),
                  r.meaning] for r in reg.rating_scale]
    t["変更履歴"] = [[c.when, c.by, c.sheet, c.key, c.column, c.before, c.after, c.year, c.reason]
                 for c in reg.changes]
    t["記入課"] = [[a.plan_id, a.kind, a.section, a.indicator_id, a.department] for a in reg.assignments]
    t["関係課の記入"] = [[c.plan_id, c.section, c.year, c.department, c.results, c.revision,
                     "○" if c.nothing else "", *_prov(c.source)]
                    for c in sorted(reg.contributions, key=lambda x: (_plan_key(x.plan_id), x.section,
                                                                      x.year, x.department))]
    return t


def _validity(v: Validity) -> list:
    return [v.start, v.end, v.how, v.successor]


def row_key(sheet: str, row: dict) -> str:
    """The identity of a register row, as 変更履歴's 対象 names it."""
    def get(h):
        v = row.get(h)
        return "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    keys = {"所管課": ["所管課"], "計画": ["計画ID"], "節": ["計画ID", "節"], "指標": ["指標ID"],
            "取組": ["計画ID", "節", "取組", "行", "開始年度", "半期"],
            "目標値の履歴": ["指標ID", "適用開始", "目標値"], "目標体系": ["種別", "重点推進目標", "取組事項"],
            "情報": ["項目"], "進捗": ["計画ID", "節", "年度"], "指標実績": ["指標ID", "年度"],
            "提出": ["様式ID", "SHA-256"], "判断記録": ["計画ID", "内容"],
            "変更履歴": ["記録日時", "シート", "対象", "列", "適用開始"], "評価基準": ["評価"],
            "記入課": ["計画ID", "区分", "節", "指標ID", "記入課"], "関係課の記入": ["計画ID", "節", "年度", "記入課"]}
    return "|".join(get(h) for h in keys[sheet])


def table_dicts(reg: Register) -> dict[str, list[tuple[int, dict]]]:
    """The register's sheets as (row number, {header: value}), numbered as they are written."""
    out = {}
    for name, rows in register_rows(reg).items():
        headers = [h for h, _ in SHEETS[name]]
        out[name] = [(n, {h: (None if v == "" else v) for h, v in zip(headers, row, strict=False)})
                     for n, row in enumerate(rows, 2)]
    return out


def _plan_key(plan_id: str) -> tuple:
    """Sort key of a plan id; a malformed id (check reports it) sorts last instead of failing."""
    parts = str(plan_id).split("-")
    if all(p.isdigit() for p in parts):
        return (0, *(int(p) for p in parts))
    return (1, str(plan_id))


def _indicator_key(indicator_id: str) -> tuple:
    plan_id, _, n = str(indicator_id).partition(".")
    return (*_plan_key(plan_id), int(n) if n.isdigit() else 0, n)


def write_register_file(reg: Register, path: Path) -> None:
    """Write the register workbook to `path` (not atomic: see save_register)."""
    # a fixed document time keeps the same register byte-for-byte reproducible
    wb = new_workbook(path, f"{reg.meta.get('plan_title', '')} 台帳", FIXED_TIME, in_memory=False,
                      comments="plan-xl master register")
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_name": "游ゴシック",
                          "valign": "top"})
    derived = wb.add_format({"bold": True, "bg_color": "#D9D9D9", "font_color": "#595959", "border": 1,
                             "font_name": "游ゴシック", "valign": "top"})
    body = wb.add_format({"text_wrap": True, "valign": "top", "font_name": "游ゴシック"})
    ids = wb.add_format({"text_wrap": True, "valign": "top", "font_name": "游ゴシック", "num_format": "@"})
    tables = register_rows(reg)
    for name, rows in tables.items():
        columns = SHEETS[name] + [(h, 14) for h in reg.extra_columns.get(name, {})]
        ws = wb.add_worksheet(name, PlainRowsSheet)
        formats = [ids if header in ID_HEADERS else body for header, _ in columns]
        for c, (header, width) in enumerate(columns):
            ws.write_string(0, c, header, derived if header in DERIVED.get(name, ()) else head)
            ws.set_column(c, c, width, formats[c])
        rows = [row + _extra_values(reg, name, row) for row in rows]
        _check_lengths(name, [h for h, _ in columns], rows)
        ws.add_plain_rows(1, rows, formats)
        _write_guards(ws, name, columns, len(rows))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    _write_saved_copy(wb, tables)
    wb.close()


ID_HEADERS = {"計画ID", "指標ID", "所管課", "後継"}


def _extra_values(reg: Register, sheet: str, row: list) -> list:
    """Values of the columns a clerk added to `sheet`, matched to the row by its key."""
    extra = reg.extra_columns.get(sheet)
    if not extra:
        return []
    headers = [h for h, _ in SHEETS[sheet]]
    key = row_key(sheet, dict(zip(headers, row, strict=False)))
    return [values.get(key, "") for values in extra.values()]


def _write_guards(ws, sheet: str, columns: list[tuple[str, int]], n_rows: int) -> None:
    """Excel list validation so a clerk picks existing ids and departments instead of typing
    them (typed ids become dates: 1-3-9 is 2009/1/3 to Excel)."""
    last = max(n_rows, 1) + 200  # room for rows the clerk adds
    for c, (header, _) in enumerate(columns):
        source = None
        if header == "計画ID" and sheet != "計画":
            source = "='計画'!$A$2:$A$1000"
        elif header == "指標ID" and sheet != "指標":
            source = "='指標'!$A$2:$A$2000"
        elif header == "終了区分":
            source = ["継続", "統合", "完了", "廃止", "名称変更", "再編"]
        if source:
            ws.data_validation(1, c, last, c, {"validate": "list", "source": source,
                                               "error_title": "一覧から選んでください",
                                               "error_message": f"「{header}」は一覧にある値を選んでください。"})


# The 前回保存 copy's layout: a first row naming it, then per structural sheet a row of its headers
# ("#", sheet, headers…) and a row per register row (sheet, key, values in those columns). The
# first layout (before SAVED_LAYOUT, still read) gave every non-empty value a row of its own
# (sheet, key, header, value): three times the cells, and on a register of 200 departments half
# of what every command's load read and every save wrote.
SAVED_LAYOUT = "plan-xl 前回保存 2"


def _write_saved_copy(wb, tables: dict[str, list[list]]) -> None:
    """A very hidden copy of the structural sheets as written (SAVED_LAYOUT): the next load
    compares the visible sheets with it to find edits made in Excel (history.unrecorded)."""
    ws = wb.add_worksheet(SAVED_SHEET, PlainRowsSheet)
    rows: list[list] = [[SAVED_LAYOUT]]
    for sheet in (name for name in tables if name in STRUCTURE):
        headers = [h for h, _ in SHEETS[sheet]]
        rows.append(["#", sheet, *headers])
        for values in tables[sheet]:
            row = {h: (None if v == "" else v) for h, v in zip(headers, values, strict=False)}
            rows.append([sheet, row_key(sheet, row)[:EXCEL_MAX_TEXT], *row.values()])
    ws.add_plain_rows(0, rows)
    ws.very_hidden()


def _read_saved_copy(rows: list[list], shared: dict[str, str]) -> dict[str, dict[str, dict]]:
    """The 前回保存 copy as {sheet: {key: {header: value}}}, the non-empty values only; either
    layout (see SAVED_LAYOUT). A key written twice has its values merged, later ones winning."""
    saved: dict[str, dict[str, dict]] = {}
    if rows and rows[0] and rows[0][0] == SAVED_LAYOUT:
        headers: dict[str, list[str]] = {}
        for row in rows[1:]:
            if len(row) < 2 or not row[0]:
                continue
            if row[0] == "#":
                headers[str(row[1])] = [shared.setdefault(str(h), str(h)) for h in row[2:]]
                continue
            values = {h: shared.setdefault(v, v) if type(v) is str else v
                      for h, v in zip(headers.get(str(row[0]), ()), row[2:], strict=False) if v not in ("", None)}
            saved.setdefault(str(row[0]), {}).setdefault(str(row[1]), {}).update(values)
        return saved
    for row in rows:
        if len(row) >= 4 and row[0]:
            value = shared.setdefault(row[3], row[3]) if type(row[3]) is str else row[3]
            header = shared.setdefault(str(row[2]), str(row[2]))
            saved.setdefault(str(row[0]), {}).setdefault(str(row[1]), {})[header] = value
    return saved


def _check_lengths(sheet: str, headers: list[str], rows: list[list]) -> None:
    for row in rows:
        for c, value in enumerate(row):
            if isinstance(value, str) and len(value) > EXCEL_MAX_TEXT:
                raise RegisterError(M.S001(sheet=sheet, header=headers[c], excel_max_text=EXCEL_MAX_TEXT))


def save_register(reg: Register, path: Path, backup_dir: Path | None = None) -> Path | None:
    """Write atomically: temporary file in the same folder, backup, fsync, replace.

    Returns the backup path (None when there was no previous file). If the file cannot be
    replaced (open in Excel, read-only), the old register is left unchanged."""
    path = Path(path)
    backup_dir = backup_dir or path.parent / "backup"
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path, backup_dir)
    try:
        with replacing(path, durable=True) as tmp:
            write_register_file(reg, tmp)
            return _backup(path, backup_dir)
    except PermissionError as e:
        raise RegisterBusyError(
            M.S002(path=path)) from e
    except OSError as e:
        raise RegisterError(M.S003(path=path, error=e)) from e


def _backup(path: Path, backup_dir: Path) -> Path | None:
    """A copy of the register as it is before a save (see _prune_backups), or None."""
    if not path.exists():
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = backup_dir / f"{path.stem}-{stamp}.xlsx"
    with replacing(backup) as partial:  # a killed copy never looks like a backup
        shutil.copy2(path, partial)
    _prune_backups(backup_dir, path.stem)
    return backup


def _remove_leftovers(path: Path, backup_dir: Path) -> None:
    """Temporary files of runs that were killed mid-save (their process is gone). The register
    itself is never among them: it is only ever replaced whole."""
    leftovers = stale_temps(path.parent, path.stem)
    if backup_dir.is_dir():
        leftovers += stale_temps(backup_dir, f"{path.stem}-*")
    for tmp in leftovers:
        tmp.unlink(missing_ok=True)


def _prune_backups(backup_dir: Path, stem: str) -> None:
    """Backup rule: every save that replaces an existing register first copies the old file to
    `backup/<stem>-YYYYmmdd-HHMMSS-ffffff.xlsx` (the time of the save), so each backup is the
    register exactly as it was before one change. After each new backup, only the newest
    BACKUPS_KEPT (20) are kept; older ones are deleted. The names sort by time, so "newest" is
    the last 20 by name. A register that is never replaced makes no backup, and nothing else
    in the folder is touched. Together with the register itself this keeps the last 21 states."""
    backups = sorted(backup_dir.glob(f"{stem}-*.xlsx"))
    for old in backups[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)


# --- reading -------------------------------------------------------------------------------
class CellError(ValueError):
    """A cell that cannot be read as what its column holds; becomes a finding, never a crash."""

    def __init__(self, header: str, message: M.Text):
        super().__init__(message)
        self.header, self.message = header, message


def where(sheet: str, row: int, header: str | None = None, headers: list[str] | None = None) -> str:
    """「12行目 C列」: a register location as a clerk finds it in Excel."""
    if header is None:
        return f"{row}行目"
    headers = headers or [h for h, _ in SHEETS.get(sheet, [])]
    col = column_letter(headers.index(header)) if header in headers else header
    return f"{row}行目 {col}列（{header}）"


class _Row:
    """One sheet row: typed getters that raise CellError naming the column. The integers and
    provenance made from the rows go through `shared`, one dict for the register built (a year
    on every row, a file's provenance on each of its rows): one object for each value."""

    def __init__(self, sheet: str, n: int, values: dict, shared: dict | None = None):
        self.sheet, self.n, self.values = sheet, n, values
        self.shared = {} if shared is None else shared

    def share(self, value):
        """The load's one copy of an immutable value (a str, an int or a frozen dataclass)."""
        return self.shared.setdefault(value, value)

    def raw(self, header: str):
        return self.values.get(header)

    def text(self, header: str) -> str:
        v = self.values.get(header)
        if type(v) is str:  # nearly every cell: skip the checks below
            return v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, (dt.date, dt.datetime, dt.time, dt.timedelta)):
            raise CellError(header, M.S004(header=header, value=v))
        return "" if v is None else self.share(str(v))

    def number(self, header: str, required: bool = True) -> float | None:
        v = self.values.get(header)
        if type(v) is float:  # nearly every number cell, as calamine reads it
            return v
        if v in ("", None) and not required:
            return None
        if isinstance(v, bool) or isinstance(v, (dt.date, dt.datetime, dt.time, dt.timedelta)):
            raise CellError(header, M.S005(header=header, value=v))
        try:
            return float(v)
        except (TypeError, ValueError):
            shown = "空欄" if v in ("", None) else f"「{v}」"
            raise CellError(header, M.S006(header=header, shown=shown)) from None

    def integer(self, header: str, required: bool = True) -> int | None:
        v = self.values.get(header)
        if type(v) is float and v.is_integer():  # a year, a section: the common case
            return self.share(int(v))
        v = self.number(header, required)
        if v is None:
            return None
        if not v.is_integer():
            raise CellError(header, M.S007(header=header, value=v))
        return self.share(int(v))

    def validity(self) -> Validity:
        return Validity(self.integer("適用開始", False), self.integer("適用終了", False),
                        self.text("終了区分"), self.text("後継"))


def read_tables(path: Path) -> tuple[dict, dict, dict, list[Finding]]:
    """The workbook's sheets as {sheet: [(row number, {header: value})]}, the 前回保存 copy,
    the clerk-added columns and the problems of the sheets themselves."""
    path = Path(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except FileNotFoundError:
        raise RegisterError(M.S008(path=path)) from None
    except Exception as e:  # calamine raises its own error types for damaged files
        raise RegisterError(M.S009(path=path, error=e)) from e
    names = set(wb.sheet_names)
    missing = [s for s in SHEETS if s not in names and s not in OPTIONAL_SHEETS]
    if missing:
        raise RegisterError(M.S010(name=path.name, missing="」「".join(missing)))
    tables, extras, problems = {"_headers": {}}, {}, []
    # Every cell is read as a new object, yet a register repeats most texts (a department,
    # template id or receipt time on every submission and provenance, a superseded file's
    # SHA-256, a header in every row of the 前回保存 copy): the rows keep one copy of each text,
    # and so does everything built from them (a 10-year register's submissions: ~1/3 smaller).
    shared: dict[str, str] = {}
    for sheet in SHEETS:
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False) if sheet in names else []
        tables[sheet], extras[sheet] = _sheet_rows(path, sheet, rows, problems, shared)
        tables["_headers"][sheet] = [str(h).strip() if h is not None else "" for h in rows[0]] if rows else None
    saved = {}
    if SAVED_SHEET in names:
        saved = _read_saved_copy(wb.get_sheet_by_name(SAVED_SHEET).to_python(skip_empty_area=False), shared)
    return tables, saved, extras, problems


def _sheet_rows(path: Path, sheet: str, rows: list[list], problems: list[Finding], shared: dict[str, str]):
    headers = [str(h).strip() if h is not None else "" for h in rows[0]] if rows else []
    missing = [h for h, _ in SHEETS[sheet] if h not in headers and h not in OPTIONAL_HEADERS
               and (sheet, h) not in OPTIONAL_COLUMNS]
    if missing and rows:
        raise RegisterError(M.S011(name=path.name, sheet=sheet, missing="」「".join(missing)))
    known = {h for h, _ in SHEETS[sheet]}
    for h, n in Counter(h for h in headers if h in known).items():
        if n > 1:
            problems.append(Finding(ERROR, M.S012(header=h), sheet,
                                    f"1行目 {column_letter(len(headers) - 1 - headers[::-1].index(h))}列"))
    extra = [(c, h) for c, h in enumerate(headers) if h and h not in known and not h.startswith("_")]
    out, added = [], {h: {} for _, h in extra}
    columns = [(h, headers.index(h)) for h, _ in SHEETS[sheet] if h in headers]
    share = shared.setdefault
    for n, row in enumerate(rows[1:], 2):
        if not any(v not in ("", None) for v in row):
            continue
        values = {}
        for h, c in columns:
            v = row[c] if c < len(row) else None
            if type(v) is str:
                v = share(v, v) if v else None
            values[h] = v
        out.append((n, values))
        for c, h in extra:
            if c < len(row) and row[c] not in ("", None):
                added[h][row_key(sheet, values)] = row[c]
    return out, added


def load_register(path: Path) -> Register:
    """Read the register workbook. Rows that cannot be read are left out and reported in
    `load_findings` (with sheet, row and column), so that `check` can name every one."""
    tables, saved, extras, problems = read_tables(path)
    reg = register_from_tables(tables, problems)
    reg.saved_tables, reg.extra_columns = saved, {s: e for s, e in extras.items() if e}
    return reg


def _provenance(row: _Row) -> Provenance:
    return row.share(Provenance(*(row.text(h) for h in PROVENANCE_HEADERS)))  # frozen: one per file


def register_from_tables(tables: dict, problems: list[Finding] | None = None) -> Register:
    """A register from sheet rows ({sheet: [(row number, {header: value})]}). A row that cannot
    be built (unreadable cell, reference to a missing plan or section) is skipped with a finding."""
    problems = [] if problems is None else problems
    reg = Register(meta={}, goals=[], initiatives=[], departments=[], plans=[], load_findings=problems,
                   tables=tables)
    state = {"plans": {}, "sections": {}, "actions": {}, "indicators": {}}
    shared: dict = {}  # see _Row
    for sheet, build in _BUILDERS:
        for n, values in tables.get(sheet, []):
            row = _Row(sheet, n, values, shared)
            try:
                build(reg, row, state)
            except (CellError, _Dangling) as e:
                headers = tables.get("_headers", {}).get(sheet)
                problems.append(Finding(ERROR, e.message.followed_by(M.S013()), sheet,
                                        where(sheet, n, e.header, headers)))
    reg.plans = list(state["plans"].values())
    reg.ratings = state.get("ratings") or list(DEFAULT_RATINGS)
    apply_next_era(reg.meta, problems)
    return reg


def apply_next_era(meta: dict, problems: list[Finding]) -> None:
    """情報 next_era 「名称:開始年度」: the era after 令和, once announced."""
    text = meta.get("next_era", "")
    if not text:
        return
    name, _, year = text.partition(":")
    try:
        add_era(name.strip(), int(year))
    except ValueError as e:
        problems.append(Finding(ERROR, M.S014(error=e),
                                "情報", "next_era"))


class _Dangling(LookupError):
    def __init__(self, header: str, message: M.Text):
        super().__init__(message)
        self.header, self.message = header, message


def _meta(reg, row, state):
    reg.meta[row.text("項目")] = row.text("値")


def _hierarchy(reg, row, state):
    if row.text("種別") == "重点推進目標":
        reg.goals.append(Goal(row.integer("重点推進目標"), row.text("名称")))
    else:
        reg.initiatives.append(Initiative(row.integer("重点推進目標"), row.integer("取組事項"),
                                          row.text("名称"), _split(row.text("別名"))))


def _department(reg, row, state):
    reg.departments.append(Department(row.text("所管課"), _split(row.text("別名")), row.text("メール"),
                                      row.text("CC"), row.text("担当・連絡先"), row.validity()))


def _plan(reg, row, state):
    pid = row.text("計画ID")
    plan = Plan(id=pid, name=row.text("実施計画名"), departments=_split(row.text("所管課")),
                overview=row.text("事業概要"), vision=row.text("目指す姿"),
                five_less=[f for f in FIVE_LESS if row.text(f)],
                disclosure_website=bool(row.text("市ウェブサイト")), disclosure_other=row.text("その他"),
                disclosure_pages=_split(row.text("市ウェブページ"), "\n"), validity=row.validity())
    if pid in state["plans"]:
        raise _Dangling("計画ID", M.S015(plan_id=pid, name=state["plans"][pid].name))
    state["plans"][pid] = plan


def _section(reg, row, state):
    pid = row.text("計画ID")
    s = Section(plan_id=pid, number=row.integer("節"), title=row.text("見出し"),
                departments=_split(row.text("所管課")), overview=row.text("事業概要"),
                vision=row.text("目指す姿"), targets_text=row.text("目標値（表記）"), validity=row.validity())
    if pid not in state["plans"]:
        raise _Dangling("計画ID", M.S016(plan_id=pid))
    if (pid, s.number) in state["sections"]:
        raise _Dangling("節", M.S017(plan_id=pid, number=s.number))
    state["sections"][(pid, s.number)] = s
    state["plans"][pid].sections.append(s)


def _action(reg, row, state):
    key = (row.text("計画ID"), row.integer("節"), row.integer("取組"))
    r_no = row.integer("行")
    span = None
    if row.text("開始年度"):
        half = {v: k for k, v in HALF_LABELS.items()}.get(row.text("半期"))
        if half is None:
            raise CellError("半期", M.S018(half=row.text("半期")))
        span = Span(row.integer("開始年度"), row.integer("終了年度"), row.text("行動計画"), half)
    if key[:2] not in state["sections"]:
        raise _Dangling("節", M.S019(plan_id=key[0], section=key[1]))
    if not 1 <= r_no <= 50:
        raise CellError("行", M.S020(r_no=r_no))
    if key not in state["actions"]:
        state["actions"][key] = Action(row.text("取組内容"), validity=row.validity())
        state["sections"][key[:2]].actions.append(state["actions"][key])
    action = state["actions"][key]
    while len(action.rows) < r_no:
        action.rows.append([])
    if span:
        action.rows[r_no - 1].append(span)


def _indicator(reg, row, state):
    directions = {v: k for k, v in DIRECTION_LABELS.items()}
    ind = Indicator(id=row.text("指標ID"), plan_id=row.text("計画ID"), section=row.integer("節"),
                    name=row.text("指標名"), unit=row.text("単位"), target=row.number("目標値"),
                    comparator=row.text("比較"), target_year=row.integer("目標年度"),
                    baseline=row.number("現況値", required=False), baseline_label=row.text("現況値の時点"),
                    direction=directions.get(row.text("方向"), row.text("方向") or "up"),
                    validity=row.validity())
    if (ind.plan_id, ind.section) not in state["sections"]:
        raise _Dangling("節", M.S019(plan_id=ind.plan_id, section=ind.section))
    if ind.id in state["indicators"]:
        raise _Dangling("指標ID", M.S021(id=ind.id))
    state["indicators"][ind.id] = ind
    state["sections"][(ind.plan_id, ind.section)].indicators.append(ind)


def _target(reg, row, state):
    iid = row.text("指標ID")
    target = Target(row.number("目標値"), row.integer("適用開始"), row.text("備考"))
    if iid not in state["indicators"]:
        raise _Dangling("指標ID", M.S022(indicator_id=iid))
    state["indicators"][iid].targets.append(target)


def _progress(reg, row, state):
    reg.progress.append(Progress(row.text("計画ID"), row.integer("節"), row.integer("年度"), row.text("実績"),
                                 row.text("計画の見直し"), _provenance(row), row.text("自己評価")))


def _actual(reg, row, state):
    reg.actuals.append(Actual(row.text("指標ID"), row.integer("年度"), row.number("実績値"), _provenance(row),
                              row.text("変動要因")))


def _submission(reg, row, state):
    reg.submissions.append(Submission(row.text("様式ID"), row.text("所管課"), row.integer("年度"),
                                      row.text("ファイル名"), row.text("SHA-256"), row.text("受付日時"),
                                      row.text("保管ファイル"), row.text("差替え先")))


def _decision(reg, row, state):
    reg.decisions.append(Decision(row.text("計画ID"), row.text("内容")))


def _change(reg, row, state):
    reg.changes.append(Change(row.text("シート"), row.text("対象"), row.text("列"), row.text("変更前"),
                              row.text("変更後"), row.integer("適用開始"), row.text("理由"),
                              row.text("記録日時"), row.text("操作")))


def _rating(reg, row, state):
    """評価基準: a 下限 in percent, blank for the lowest step, 実績なし for the no-data label."""
    no_data = row.text("達成率の下限（%）") == NO_DATA
    minimum = None if no_data else row.number("達成率の下限（%）", required=False)
    state.setdefault("ratings", []).append(Rating(row.text("評価"), None if minimum is None else minimum / 100,
                                                  row.text("意味"), no_data))


def _assignment(reg, row, state):
    """記入課: who fills a field other than the lead, or 参考送付."""
    reg.assignments.append(Assignment(row.text("計画ID"), row.text("記入課"), row.text("区分"),
                                      row.integer("節", False) or 0, row.text("指標ID")))


def _contribution(reg, row, state):
    """関係課の記入: a co-owner's part of a progress row, with its own provenance."""
    reg.contributions.append(Contribution(row.text("計画ID"), row.integer("節"), row.integer("年度"),
                                          row.text("記入課"), row.text("実績"), row.text("計画の見直し"),
                                          bool(row.text(NOTHING_TO_ADD)), _provenance(row)))


_BUILDERS = [("情報", _meta), ("目標体系", _hierarchy), ("所管課", _department), ("計画", _plan),
             ("節", _section), ("取組", _action), ("指標", _indicator), ("目標値の履歴", _target),
             ("進捗", _progress), ("指標実績", _actual), ("提出", _submission), ("判断記録", _decision),
             ("評価基準", _rating), ("変更履歴", _change), ("記入課", _assignment),
             ("関係課の記入", _contribution)]
