"""Read and write the master register workbook (台帳): one tidy table per sheet, Japanese
headers, frozen header row and filters, so that a clerk can open and read it in Excel.

Reading uses python-calamine (fast, values only); writing uses xlsxwriter with every string
written as a string, so no cell text ever becomes a formula or a link. Writes are atomic:
temporary file, flush, fsync, timestamped backup of the old file, then replace.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

from .errors import RegisterBusyError, RegisterError
from .model import (
    DEFAULT_RATINGS,
    FIVE_LESS,
    NOTHING_TO_ADD,
    Action,
    Actual,
    Assignment,
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
)

EXCEL_MAX_TEXT = 32_767
# A fixed document time keeps the same register byte-for-byte reproducible.
FIXED_TIME = dt.datetime(2022, 4, 1, 0, 0, 0)
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
    "記入課": [("計画ID", 9), ("区分", 12), ("節", 5), ("指標ID", 10), ("記入課", 20)],
    "関係課の記入": [("計画ID", 9), ("節", 5), ("年度", 7), ("記入課", 20), ("実績", 60),
                  ("計画の見直し", 50), (NOTHING_TO_ADD, 8), *[(h, 16) for h in PROVENANCE_HEADERS]],
}
# Added after registers were in use: a register written before them still loads (defaults).
OPTIONAL_SHEETS = {"評価基準", "記入課", "関係課の記入"}
OPTIONAL_COLUMNS = {("進捗", "自己評価"), ("指標実績", "変動要因")}
NO_DATA = "実績なし"  # 評価基準's 下限 for the rating given when there is no actual
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
    t["所管課"] = [[d.name, LIST_SEP.join(d.aliases), d.email, d.cc, d.contact]
                 for d in reg.departments]
    for p in reg.plans:
        t["計画"].append([p.id, p.goal, p.initiative, p.number, p.name, LIST_SEP.join(p.departments),
                        p.overview, p.vision, *["○" if f in p.five_less else "" for f in FIVE_LESS],
                        "○" if p.disclosure_website else "", p.disclosure_other,
                        "\n".join(p.disclosure_pages)])
        for s in p.sections:
            t["節"].append([p.id, s.number, s.title, LIST_SEP.join(s.departments), s.overview,
                           s.vision, s.targets_text])
            for a_no, a in enumerate(s.actions, 1):
                for r_no, row in enumerate(a.rows, 1):
                    for sp in row or [None]:
                        t["取組"].append([p.id, s.number, a_no, a.name, r_no,
                                        sp and sp.start, sp and sp.end,
                                        HALF_LABELS[sp.half] if sp else "", sp.text if sp else ""])
            for i in s.indicators:
                t["指標"].append([i.id, p.id, s.number, i.name, i.unit, i.target, i.comparator,
                                i.target_year, i.baseline, i.baseline_label,
                                DIRECTION_LABELS[i.direction]])
    t["進捗"] = [[pr.plan_id, pr.section, pr.year, pr.results, pr.revision, *_prov(pr.source),
                pr.self_rating] for pr in sorted(reg.progress, key=lambda x: (_plan_key(x.plan_id), x.section, x.year))]
    t["指標実績"] = [[a.indicator_id, a.year, a.value, *_prov(a.source), a.reason]
                 for a in sorted(reg.actuals, key=lambda x: (_indicator_key(x.indicator_id), x.year))]
    t["提出"] = [[s.template_id, s.department, s.year, s.file, s.sha256, s.received, s.archived_as,
                s.superseded_by] for s in reg.submissions]
    t["判断記録"] = [[d.plan_id, d.text] for d in reg.decisions]
    t["評価基準"] = [[r.label, NO_DATA if r.no_data else (None if r.minimum is None else round(r.minimum * 100, 6)),
                  r.meaning] for r in reg.rating_scale]
    t["記入課"] = [[a.plan_id, a.kind, a.section, a.indicator_id, a.department] for a in reg.assignments]
    t["関係課の記入"] = [[c.plan_id, c.section, c.year, c.department, c.results, c.revision,
                     "○" if c.nothing else "", *_prov(c.source)]
                    for c in sorted(reg.contributions, key=lambda x: (_plan_key(x.plan_id), x.section,
                                                                      x.year, x.department))]
    return t


def _plan_key(plan_id: str) -> tuple[int, ...]:
    return tuple(int(x) for x in plan_id.split("-"))


def _indicator_key(indicator_id: str) -> tuple[int, ...]:
    plan_id, _, n = indicator_id.partition(".")
    return (*_plan_key(plan_id), int(n or 0))


def write_register_file(reg: Register, path: Path) -> None:
    """Write the register workbook to `path` (not atomic: see save_register)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"title": f"{reg.meta.get('plan_title', '')} 台帳", "created": FIXED_TIME,
                       "comments": "plan-xl master register"})
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "font_name": "游ゴシック",
                          "valign": "top"})
    body = wb.add_format({"text_wrap": True, "valign": "top", "font_name": "游ゴシック"})
    for name, rows in register_rows(reg).items():
        columns = SHEETS[name]
        ws = wb.add_worksheet(name)
        for c, (header, width) in enumerate(columns):
            ws.write_string(0, c, header, head)
            ws.set_column(c, c, width, body)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                _write_value(ws, r, c, value, name, columns[c][0])
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    wb.close()


def _write_value(ws, r: int, c: int, value, sheet: str, header: str) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        value = "○" if value else ""
    if isinstance(value, (int, float)):
        ws.write_number(r, c, value)
        return
    text = str(value)
    if len(text) > EXCEL_MAX_TEXT:
        raise RegisterError(f"台帳の「{sheet}」シート {header} 列の文字数が Excel の上限"
                            f"（{EXCEL_MAX_TEXT:,}字）を超えるため保存できません。")
    ws.write_string(r, c, text)


def save_register(reg: Register, path: Path, backup_dir: Path | None = None) -> Path | None:
    """Write atomically: temporary file in the same folder, fsync, backup, replace.

    Returns the backup path (None when there was no previous file). If the file cannot be
    replaced (open in Excel, read-only), the old register is left unchanged."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path, backup_dir or path.parent / "backup")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
    try:
        write_register_file(reg, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        backup = None
        if path.exists():
            backup_dir = backup_dir or path.parent / "backup"
            backup_dir.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            backup = backup_dir / f"{path.stem}-{stamp}.xlsx"
            partial = backup.with_name(f".{backup.name}.part")  # a killed copy never looks like a backup
            shutil.copy2(path, partial)
            os.replace(partial, backup)
            _prune_backups(backup_dir, path.stem)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        return backup
    except PermissionError as e:
        raise RegisterBusyError(
            f"台帳 {path} に書き込めません。Excel などで開いている場合は閉じてから、もう一度"
            f"実行してください（台帳は変更していません）。") from e
    except OSError as e:
        raise RegisterError(f"台帳 {path} を保存できませんでした: {e}（台帳は変更していません）") from e
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(path: Path, backup_dir: Path) -> None:
    """Temporary files of runs that were killed mid-save (their process is gone). The register
    itself is never among them: it is only ever replaced whole by os.replace."""
    from .lock import pid_alive

    for tmp in path.parent.glob(f".{path.stem}.*.tmp.xlsx"):
        pid = tmp.name[len(path.stem) + 2:-len(".tmp.xlsx")]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
    if backup_dir.is_dir():
        for part in backup_dir.glob(f".{path.stem}-*.xlsx.part"):
            part.unlink(missing_ok=True)


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
class _Table:
    """Rows of one sheet as dicts keyed by header, with cell addresses for messages."""

    def __init__(self, path: Path, sheet: str, rows: list[list]):
        self.path, self.sheet = path, sheet
        headers = [str(h).strip() for h in rows[0]] if rows else []
        if not rows and sheet in OPTIONAL_SHEETS:
            headers = [h for h, _ in SHEETS[sheet]]
        missing = [h for h, _ in SHEETS[sheet] if h not in headers and (sheet, h) not in OPTIONAL_COLUMNS]
        if missing:
            raise RegisterError(f"{path.name}「{sheet}」シートに列「{'」「'.join(missing)}」が"
                                f"ありません。見出し行（1行目）を確認してください。")
        self.index = {h: headers.index(h) if h in headers else -1 for h, _ in SHEETS[sheet]}
        self.rows = [(n, r) for n, r in enumerate(rows[1:], 2) if any(v not in ("", None) for v in r)]

    def __iter__(self) -> Iterable[tuple[Callable, Callable]]:
        for n, row in self.rows:
            yield self._text_getter(n, row), self._number_getter(n, row)

    def _raw(self, row, header):
        i = self.index[header]
        return row[i] if 0 <= i < len(row) else ""

    def _text_getter(self, n, row):
        def text(header: str) -> str:
            v = self._raw(row, header)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return "" if v is None else str(v)
        return text

    def _number_getter(self, n, row):
        def number(header: str, required: bool = True) -> float | None:
            v = self._raw(row, header)
            if v in ("", None) and not required:
                return None
            try:
                return float(v)
            except (TypeError, ValueError):
                col = _column_letter(self.index[header])
                raise RegisterError(f"{self.path.name}「{self.sheet}」シート {col}{n}（{header}）"
                                    f"が数値ではありません: {v!r}") from None
        return number


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def load_register(path: Path) -> Register:
    """Read the register workbook."""
    path = Path(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except FileNotFoundError:
        raise RegisterError(f"台帳 {path} が見つかりません。") from None
    except Exception as e:  # calamine raises its own error types for damaged files
        raise RegisterError(f"台帳 {path} を読めません（壊れているか xlsx ではありません）: {e}") from e
    names = set(wb.sheet_names)
    missing = [s for s in SHEETS if s not in names and s not in OPTIONAL_SHEETS]
    if missing:
        raise RegisterError(f"台帳 {path.name} にシート「{'」「'.join(missing)}」がありません。")
    tables = {s: _Table(path, s, wb.get_sheet_by_name(s).to_python(skip_empty_area=False)
                        if s in names else []) for s in SHEETS}
    return _from_tables(tables)


def _int(number, header: str) -> int:
    return int(number(header))


def _provenance(text) -> Provenance:
    return Provenance(*(text(h) for h in PROVENANCE_HEADERS))


def _from_tables(t: dict[str, _Table]) -> Register:
    meta = {text("項目"): text("値") for text, _ in t["情報"]}
    goals, initiatives = [], []
    for text, number in t["目標体系"]:
        if text("種別") == "重点推進目標":
            goals.append(Goal(_int(number, "重点推進目標"), text("名称")))
        else:
            initiatives.append(Initiative(_int(number, "重点推進目標"), _int(number, "取組事項"),
                                          text("名称"), _split(text("別名"))))
    departments = [Department(text("所管課"), _split(text("別名")), text("メール"), text("CC"),
                              text("担当・連絡先")) for text, _ in t["所管課"]]
    plans: dict[str, Plan] = {}
    for text, _ in t["計画"]:
        plans[text("計画ID")] = Plan(
            id=text("計画ID"), name=text("実施計画名"), departments=_split(text("所管課")),
            overview=text("事業概要"), vision=text("目指す姿"),
            five_less=[f for f in FIVE_LESS if text(f)], disclosure_website=bool(text("市ウェブサイト")),
            disclosure_other=text("その他"), disclosure_pages=_split(text("市ウェブページ"), "\n"))
    sections: dict[tuple[str, int], Section] = {}
    for text, number in t["節"]:
        s = Section(plan_id=text("計画ID"), number=_int(number, "節"), title=text("見出し"),
                    departments=_split(text("所管課")), overview=text("事業概要"),
                    vision=text("目指す姿"), targets_text=text("目標値（表記）"))
        sections[(s.plan_id, s.number)] = s
        plans[s.plan_id].sections.append(s)
    actions: dict[tuple[str, int, int], Action] = {}
    for text, number in t["取組"]:
        key = (text("計画ID"), _int(number, "節"), _int(number, "取組"))
        if key not in actions:
            actions[key] = Action(text("取組内容"))
            sections[key[:2]].actions.append(actions[key])
        action, r_no = actions[key], _int(number, "行")
        while len(action.rows) < r_no:
            action.rows.append([])
        if text("開始年度"):
            half = {v: k for k, v in HALF_LABELS.items()}[text("半期")]
            action.rows[r_no - 1].append(Span(_int(number, "開始年度"), _int(number, "終了年度"),
                                              text("行動計画"), half))
    directions = {v: k for k, v in DIRECTION_LABELS.items()}
    for text, number in t["指標"]:
        ind = Indicator(id=text("指標ID"), plan_id=text("計画ID"), section=_int(number, "節"),
                        name=text("指標名"), unit=text("単位"), target=number("目標値"),
                        comparator=text("比較"), target_year=_int(number, "目標年度"),
                        baseline=number("現況値", required=False),
                        baseline_label=text("現況値の時点"), direction=directions.get(text("方向"), "up"))
        sections[(ind.plan_id, ind.section)].indicators.append(ind)
    progress = [Progress(text("計画ID"), _int(number, "節"), _int(number, "年度"), text("実績"),
                         text("計画の見直し"), _provenance(text), text("自己評価"))
                for text, number in t["進捗"]]
    actuals = [Actual(text("指標ID"), _int(number, "年度"), number("実績値"), _provenance(text),
                      text("変動要因")) for text, number in t["指標実績"]]
    submissions = [Submission(text("様式ID"), text("所管課"), _int(number, "年度"), text("ファイル名"),
                              text("SHA-256"), text("受付日時"), text("保管ファイル"), text("差替え先"))
                   for text, number in t["提出"]]
    decisions = [Decision(text("計画ID"), text("内容")) for text, _ in t["判断記録"]]
    return Register(meta=meta, goals=goals, initiatives=initiatives, departments=departments,
                    plans=list(plans.values()), progress=progress, actuals=actuals,
                    decisions=decisions, submissions=submissions, ratings=_ratings(t["評価基準"]),
                    **_who_fills_what(t))


def _ratings(table: _Table) -> list[Rating]:
    """評価基準: a 下限 in percent, blank for the lowest step, 実績なし for the no-data label."""
    out = []
    for text, number in table:
        no_data = text("達成率の下限（%）") == NO_DATA
        minimum = None if no_data else number("達成率の下限（%）", required=False)
        out.append(Rating(text("評価"), None if minimum is None else minimum / 100, text("意味"), no_data))
    return out or list(DEFAULT_RATINGS)


def _who_fills_what(t: dict[str, _Table]) -> dict[str, list]:
    """The 記入課 assignments and the co-owners' contributions (関係課の記入)."""
    assignments = [Assignment(text("計画ID"), text("記入課"), text("区分"),
                              int(number("節", required=False) or 0), text("指標ID"))
                   for text, number in t["記入課"]]
    contributions = [Contribution(text("計画ID"), _int(number, "節"), _int(number, "年度"), text("記入課"),
                                  text("実績"), text("計画の見直し"), bool(text(NOTHING_TO_ADD)),
                                  _provenance(text)) for text, number in t["関係課の記入"]]
    return {"assignments": assignments, "contributions": contributions}
