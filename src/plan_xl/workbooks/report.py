"""The consolidated progress report (進捗状況報告書): one workbook the coordinating section
publishes after collection.

Sheets, in order: 表紙 (cover), 評価 (plan items per rating, the change against last year,
the items that fell back with the departments' 変動要因; evaluate.py), 目次 (contents, with
links to the plan sheets and each item's rating), 集計 (one row per plan section and indicator:
submission status, baseline, actuals, target in force, achievement rate, rating, 変動要因), グラフ (native bar charts of the achievement rates, each above the table it plots), then
one sheet per plan item drawn by `layout.draw_plan` with every reported year up to the report
year.

The workbook is a pure function of the register, the year and the cover date: document times
are fixed and nothing depends on the clock, so the same register gives the same contents.
Every text from the register is written with `write_string` (and the workbook refuses to turn
strings into formulas, links or numbers); the only links are plan-xl's own internal ones in 目次.

Achievement rate (達成率) of an indicator in a year, by `evaluate.achievement_rate` against the
target in force that year (`evaluate.target_for`):
- the usual case, baseline not yet at the target: (actual − baseline) ÷ (target − baseline).
  The same formula serves both directions: for a "lower is better" indicator target − baseline
  is negative, so falling values give a positive rate. 0% = still at the baseline, 100% = target
  reached; values are not clipped (over 100% = beyond the target, negative = worse than the
  baseline).
- baseline already meets the target (target == baseline, or e.g. 満足度 89.4% with a target of
  85%以上): a "keep it" target, so the rate is 100% when the actual meets the target (≥ target
  for up, ≤ for down) and 0% when it does not.
- no baseline: up → actual ÷ target (progress from zero); down → target ÷ actual.
- no actual for the year, a zero divisor: no rate (blank cell).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from xlsxwriter.workbook import Workbook

from .. import messages as M
from ..atomic import replacing
from ..errors import PlanXlError, UsageError
from ..fiscal import fy_label, fy_short
from ..register.evaluate import (  # noqa: F401 - the rate rules live in evaluate.py; re-exported here
    BASIS_SELF,
    FALL,
    FLAT,
    METHOD_CHANGE,
    METHOD_KEEP,
    METHOD_NO_BASE_DOWN,
    METHOD_NO_BASE_UP,
    RISE,
    Evaluation,
    achievement_rate,
    evaluate,
    rate_method,
    target_for,
)
from ..register.history import as_of, describe_change_row
from ..register.model import Actual, Indicator, Lookup, Plan, Register, Section
from .cells import add_sheet
from .layout import FONT, FONT_SIZE, Styles, amount_format, draw_plan, sheet_name, text_height
from .xlsx import FIXED_TIME, collector_paused, finish_sheet, new_workbook, print_a4

COVER, TOC, SUMMARY, CHARTS = "表紙", "目次", "集計", "グラフ"
EVALUATION = "評価"
DIRECTION_TEXT = {"up": "増加", "down": "減少"}
STATUS_SUBMITTED, STATUS_RECORDED, STATUS_MISSING = "提出済", "記載済", "未提出"
STATUS_RETURNED = "修正待ち"  # a return was rejected and the corrected one has not come yet

INDICATOR_HEADER = "指標名（数値目標がない節は目標）"
INDICATOR_COL = 6  # 集計's column of INDICATOR_HEADER

RATE_NOTE = ("達成率（算定方法「標準」）= (実績 − 現況値) ÷ (目標値 − 現況値)。減少が望ましい指標も同じ式で、"
             "減るほど率が上がります。「現状維持」: 現況値が既に目標を満たす指標で、実績が目標を満たせば"
             "100%、満たさなければ0%。「現況値なし」: 実績 ÷ 目標値、「現況値なし（減少）」: 目標値 ÷ 実績。"
             "100%超・マイナスもそのまま表示します。")


# --- summary rows --------------------------------------------------------------------------
@dataclass
class SummaryRow:
    """One row of 集計: a plan section, with one of its indicators (or its targets as text)."""

    plan: Plan
    section: Section
    owner: str
    status: str
    indicator: Indicator | None = None
    actuals: dict[int, float | None] = field(default_factory=dict)
    rates: dict[int, float | None] = field(default_factory=dict)


def _reporting_unit(look: Lookup, plan: Plan, section: int) -> int:
    """The progress row a section reports in: its own (3-①), else the plan's (0)."""
    return section if section in look.own_sections.get(plan.id, set()) else 0


def _status(reg: Register, look: Lookup, plan: Plan, unit: int, year: int, accepted: set[str],
            returned: frozenset[str] = frozenset()) -> str:
    """提出済: a submission was accepted (or the progress row came from a returned file);
    記載済: the register has the progress row without a submission (e.g. the FY2022
    reference); 修正待ち: its return was rejected; 未提出: nothing yet."""
    pr = look.progress.get((plan.id, unit, year))
    if reg.progress_owner(plan, unit) in accepted or (pr and pr.source.file):
        return STATUS_SUBMITTED
    if pr:
        return STATUS_RECORDED
    return STATUS_RETURNED if reg.progress_owner(plan, unit) in returned else STATUS_MISSING


def _indicator_status(look: Lookup, ind: Indicator, owner: str, year: int, accepted: set[str],
                      returned: frozenset[str]) -> str:
    """The status of an indicator a co-owner types (記入課), from its own submission."""
    actual = look.actuals.get((ind.id, year))
    if owner in accepted or (actual and actual.source.file):
        return STATUS_SUBMITTED
    if actual:
        return STATUS_RECORDED
    return STATUS_RETURNED if owner in returned else STATUS_MISSING


def summary_rows(reg: Register, year: int, returned: frozenset[str] = frozenset()) -> list[SummaryRow]:
    """The rows of 集計 for the report of `year`, in plan order. `returned`: departments whose
    return for `year` was rejected and not yet corrected (collect's ledger knows them)."""
    look = reg.index()
    years = report_years(reg, year)
    accepted = reg.accepted_departments(year)
    rows = []
    for plan in reg.plans:
        for s in plan.sections:
            unit = _reporting_unit(look, plan, s.number)
            base = dict(plan=plan, section=s, owner=reg.progress_owner(plan, unit),
                        status=_status(reg, look, plan, unit, year, accepted, returned))
            if not s.indicators:
                rows.append(SummaryRow(**base))
            for ind in s.indicators:
                actuals = {y: _value(look.actuals.get((ind.id, y))) for y in years}
                owner = reg.indicator_owner(plan, ind)  # 記入課: a co-owner may type it
                mine = base if owner == base["owner"] else {
                    **base, "owner": owner, "status": _indicator_status(look, ind, owner, year, accepted, returned)}
                rows.append(SummaryRow(**mine, indicator=ind, actuals=actuals,
                                       rates={y: achievement_rate(ind, v, target_for(ind, y))
                                              for y, v in actuals.items()}))
    return rows


def _value(actual: Actual | None) -> float | None:
    return actual.value if actual else None


def report_years(reg: Register, year: int) -> list[int]:
    """Fiscal years the report covers: the plan period up to the report year."""
    return [y for y in reg.period if y <= year]


def plan_status(rows: list[SummaryRow]) -> str:
    statuses = {r.status for r in rows}
    if len(statuses) == 1 and statuses & {STATUS_MISSING, STATUS_RETURNED}:
        return statuses.pop()
    if statuses & {STATUS_MISSING, STATUS_RETURNED}:
        return "一部未提出"
    return STATUS_SUBMITTED if statuses == {STATUS_SUBMITTED} else STATUS_RECORDED


# --- the workbook --------------------------------------------------------------------------
def build_report(reg: Register, year: int, path: Path, issued: dt.date | None = None,
                 returned: set[str] | frozenset[str] = frozenset()) -> Path:
    """Write the report of fiscal year `year` to `path` and return the path.

    `issued` is the date printed on the cover; without it, the date of the last accepted
    submission of the year (none: the cover shows no date). `returned`: departments whose
    return for `year` awaits correction; their missing rows say 「（修正待ち）」. Written to a temporary file first,
    so a report open in Excel is never left half-written."""
    if year not in reg.all_years:
        raise UsageError(M.W005(year=year, first=reg.period[0], last=reg.period[-1]))
    with collector_paused():  # the copy of the plans too: a million new objects at 5,000 plans
        reg = as_of(reg, year)  # the plan as in force that year: later changes never alter it
    path = Path(path)
    try:
        with collector_paused(), replacing(path) as tmp:
            book = new_workbook(tmp, f"{fy_short(year)} {_title(reg)}", FIXED_TIME, in_memory=False,
                                company=reg.meta.get("city", ""),
                                author=reg.meta.get("coordinating_department", ""), comments="plan-xl report")
            with reg.indexed():  # thousands of plans, each looked up per year
                _write(book, reg, year, issued or _last_submission(reg, year), frozenset(returned))
            book.close()
    except PermissionError as e:
        raise PlanXlError(M.W006(path=path)) from e
    except OSError as e:
        raise PlanXlError(M.W007(path=path, error=e)) from e
    return path


def _title(reg: Register) -> str:
    return f"{reg.meta.get('plan_title', '')} 進捗状況報告書".strip()


def _last_submission(reg: Register, year: int) -> dt.date | None:
    times = [s.received for s in reg.submissions if s.year == year and s.received]
    try:
        return max(dt.datetime.fromisoformat(t).date() for t in times) if times else None
    except ValueError:
        return None


def _write(book: Workbook, reg: Register, year: int, issued: dt.date | None,
           returned: frozenset[str] = frozenset()) -> None:
    title = _title(reg)
    fmt = _Formats(book)
    rows = summary_rows(reg, year, returned)
    ev = evaluate(reg, year)
    _cover(book, fmt, reg, year, title, issued)
    _evaluation(book, fmt, reg, ev)
    _contents(book, fmt, reg, rows, ev)
    _summary(book, fmt, year, report_years(reg, year), rows, ev, year == reg.period[-1])
    _charts(book, fmt, report_years(reg, year), rows)
    if reg.changes:  # as_of: only the changes in force by `year`
        _changes(book, fmt, reg)
    styles = Styles(book)
    years = report_years(reg, year)
    for plan in reg.plans:
        ws, _, _ = draw_plan(book, styles, reg, plan, years, missing=lambda owner, y: (
            "（修正待ち）" if y == year and owner in returned else "（未提出）"))
        finish_sheet(book, ws)  # written now: a thousand sheets' cells are not held until close


class _Formats:
    def __init__(self, book: Workbook):
        base = {"font_name": FONT, "font_size": FONT_SIZE, "valign": "top", "text_wrap": True}
        cell = {**base, "border": 1}
        self.title = book.add_format({**base, "font_size": 22, "bold": True, "align": "center",
                                      "valign": "vcenter"})
        self.subtitle = book.add_format({**base, "font_size": 16, "align": "center", "valign": "vcenter"})
        self.cover_label = book.add_format({**base, "font_size": 12, "align": "right"})
        self.cover_value = book.add_format({**base, "font_size": 12})
        self.heading = book.add_format({**base, "font_size": FONT_SIZE + 3, "bold": True, "text_wrap": False})
        self.note = book.add_format({**base})
        self.head = book.add_format({**cell, "bold": True, "bg_color": "#D9D9D9", "align": "center",
                                     "valign": "vcenter"})
        self.text = book.add_format(cell)
        self.link = book.add_format({**cell, "font_color": "#0563C1", "underline": 1})
        self.number = book.add_format({**cell, "num_format": "#,##0.###"})
        self.rate = book.add_format({**cell, "num_format": "0.0%"})
        self.missing = book.add_format({**cell, "bg_color": "#FCE4D6"})
        self.mark = book.add_format({**cell, "align": "center"})
        self.book, self.cell, self.amounts = book, cell, {}

    def amount(self, value: float):
        """A number cell printing `value` with thousands separators and its own decimals."""
        num_format = amount_format(value)
        if num_format not in self.amounts:
            self.amounts[num_format] = self.book.add_format({**self.cell, "num_format": num_format})
        return self.amounts[num_format]


def _sheet(book: Workbook, name: str, widths: list[float], repeat: tuple[int, int] | None = None):
    """A sheet printed like the plan sheets: A4 landscape, one page wide, page numbers."""
    ws = add_sheet(book, name)  # its cells kept compactly (集計: a row per plan section and indicator)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    print_a4(ws, repeat, numbered=True)
    ws.hide_gridlines(2)
    return ws


def _text(ws, r: int, c: int, value, fmt) -> None:
    """Untrusted text as text, numbers as numbers, nothing as a bordered blank."""
    if value is None or value == "":
        ws.write_blank(r, c, None, fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def _row_height(ws, r: int, cells: list[tuple[str, float]], bold: bool = False) -> None:
    """Wrapped cells do not grow on paper by themselves in LibreOffice: size from the text."""
    ws.set_row(r, min(409.0, max(text_height(str(t), w, bold) for t, w in cells)))


def _cover(book, fmt, reg: Register, year: int, title: str, issued: dt.date | None) -> None:
    ws = _sheet(book, COVER, [4, 22, 70, 4])
    ws.center_horizontally()
    ws.set_row(6, 40)
    ws.merge_range(6, 1, 6, 2, "", fmt.title)
    ws.write_string(6, 1, title, fmt.title)
    ws.set_row(8, 28)
    ws.merge_range(8, 1, 8, 2, "", fmt.subtitle)
    ws.write_string(8, 1, fy_label(year), fmt.subtitle)
    period = f"{fy_label(reg.period[0])}～{fy_label(reg.period[-1])}"
    lines = [("計画期間", period),
             ("作成日", f"{issued.year}年{issued.month}月{issued.day}日" if issued else ""),
             ("自治体", reg.meta.get("city", "")),
             ("発行", reg.meta.get("coordinating_department", ""))]
    r = 14
    for label, value in lines:
        if value:
            ws.set_row(r, 20)
            ws.write_string(r, 1, label, fmt.cover_label)
            ws.write_string(r, 2, value, fmt.cover_value)
            r += 1
    ws.print_area(0, 0, r + 4, 3)


CHANGE_TEXT = {RISE: "評価が前年度より上がった", FLAT: "評価が前年度と同じ", FALL: "評価が前年度より下がった",
               "": "前年度または今年度の評価がない"}


def scale_note(ev: Evaluation) -> str:
    """The rating scale in words, as the register's 評価基準 defines it."""
    parts = []
    for step in ev.scale:
        bound = ("実績なし" if step.no_data else "その他" if step.minimum is None
                 else f"達成率{step.minimum:.0%}以上")
        parts.append(f"{step.label} {step.meaning}（{bound}）")
    return ("評価基準: " + "、".join(parts) + "。実施計画の評価は、指標の達成率（100%を上限）の平均による。"
            "数値目標のない実施計画は所管課の自己評価による。前年度比は評価の上昇・横ばい・低下。")


def _evaluation(book, fmt, reg: Register, ev: Evaluation) -> None:
    """評価: the counts per rating and against last year, and the items that fell back with the
    departments' reasons (each item's rating is in 目次)."""
    widths = [8, 40, 26, 9, 9, 10, 38]
    ws = _sheet(book, EVALUATION, widths)
    ws.write_string(0, 0, f"評価の概要 {fy_label(ev.year)}", fmt.heading)
    note = scale_note(ev)
    ws.merge_range(1, 0, 1, len(widths) - 1, "", fmt.note)
    ws.write_string(1, 0, note, fmt.note)
    _row_height(ws, 1, [(note, sum(widths))])
    before = evaluate(reg, ev.year - 1).counts() if ev.year - 1 >= reg.period[0] else {}
    r = _small_table(ws, fmt, widths, 3, ["評価", "意味", "実施計画数", "前年度"],
                     [[s.label, s.meaning, ev.counts()[s.label], before.get(s.label, "")] for s in ev.scale])
    labels = [s.label for s in ev.scale]
    r = _small_table(ws, fmt, widths, r + 1, ["重点推進目標", "", *labels],
                     [[g.number, g.name, *[sum(p.rating == k for p in ev.plans if p.plan.goal == g.number)
                                           for k in labels]] for g in reg.goals])
    changes = ev.change_counts()
    unrated = len(ev.plans) - sum(changes.values())
    r = _small_table(ws, fmt, widths, r + 1, ["前年度比", "説明", "実施計画数"],
                     [[k, CHANGE_TEXT[k], v] for k, v in changes.items()]
                     + [["比較なし", CHANGE_TEXT[""], unrated]])
    if ev.year == reg.period[-1]:
        outcomes = [i.outcome for i in ev.indicators]
        r = _small_table(ws, fmt, widths, r + 1, ["目標の達成", "説明", "指標数"],
                         [["達成", "目標値に到達した", outcomes.count("達成")],
                          ["未達成", "目標値に到達しなかった", outcomes.count("未達成")],
                          ["実績なし", "最終年度の実績が報告されていない", outcomes.count("")]])
    fallen = ev.fallen()
    ws.write_string(r + 1, 0, f"評価が前年度より低下した実施計画（{len(fallen)}件）", fmt.heading)
    r += 2
    reasons: dict[str, list[str]] = {}  # per plan: one pass over the indicators, not one per fallen item
    for i in ev.indicators:
        if i.reason:
            reasons.setdefault(i.indicator.plan_id, []).append(f"{i.indicator.name}: {i.reason}")
    rows = [_plan_line(p, reasons.get(p.plan.id, [])) for p in fallen]
    r = _small_table(ws, fmt, widths, r, ["計画ID", "実施計画名", "所管課", "前年度", "評価", "根拠", "変動要因"],
                     rows or [["", "評価が低下した実施計画はありません。", "", "", "", "", ""]])


def _plan_line(p, reasons: list[str]) -> list:
    return [p.plan.id, p.plan.name, "、".join(p.plan.departments), p.previous_rating, p.rating,
            p.basis, "\n".join(reasons)]


def _small_table(ws, fmt, widths: list[float], r: int, headers: list[str], rows: list[list]) -> int:
    """A bordered table at row `r`; returns the row after it."""
    for c, h in enumerate(headers):
        _text(ws, r, c, h, fmt.head)
    _row_height(ws, r, list(zip(headers, widths, strict=False)), bold=True)
    for n, values in enumerate(rows, r + 1):
        for c, value in enumerate(values):
            _text(ws, n, c, value, fmt.text)
        _row_height(ws, n, [(str(v), w) for v, w in zip(values, widths, strict=False)])
    return r + 1 + len(rows)


def _contents(book, fmt, reg: Register, rows: list[SummaryRow], ev: Evaluation) -> None:
    widths = [9, 30, 40, 30, 11, 6, 9]
    ws = _sheet(book, TOC, widths, repeat=(0, 1))
    ws.write_string(0, 0, "目次（実施計画ごとのシートへのリンク）", fmt.heading)
    for c, h in enumerate(["計画ID", "取組事項", "実施計画名", "所管課", "提出状況", "評価", "前年度比"]):
        ws.write_string(1, c, h, fmt.head)
    by_plan: dict[str, list[SummaryRow]] = {}
    for row in rows:
        by_plan.setdefault(row.plan.id, []).append(row)
    for r, plan in enumerate(reg.plans, 2):
        status = plan_status(by_plan.get(plan.id, []))
        initiative = f"{plan.initiative} {reg.initiative_name(plan.goal, plan.initiative)}"
        departments = "、".join(plan.departments)
        ws.write_string(r, 0, plan.id, fmt.text)
        ws.write_string(r, 1, initiative, fmt.text)
        target = sheet_name(plan).replace("'", "''")
        ws.write_url(r, 2, f"internal:'{target}'!A1", fmt.link, string=plan.name,
                     tip="この実施計画のシートを開きます")
        ws.write_string(r, 3, departments, fmt.text)
        ok = status in (STATUS_SUBMITTED, STATUS_RECORDED)
        ws.write_string(r, 4, status, fmt.text if ok else fmt.missing)
        rated = ev.plans[r - 2]  # evaluate() keeps the register's plan order
        _text(ws, r, 5, rated.rating, fmt.mark)
        _text(ws, r, 6, rated.change, fmt.mark)
        _row_height(ws, r, [(initiative, widths[1]), (plan.name, widths[2]), (departments, widths[3])])
    ws.freeze_panes(2, 0)


def summary_headers(years: list[int]) -> list[tuple[str, float]]:
    """集計's columns (header, width); `importer` reads them back by header."""
    per_year = [h for y in years for h in ((f"{fy_short(y)}実績", 8), (f"{fy_short(y)}達成率", 7))]
    return [("計画ID", 6), ("節", 3), ("実施計画名・節", 20), ("所管課", 18), ("提出状況", 6),
            ("指標ID", 7), (INDICATOR_HEADER, 24), ("単位", 6), ("望ましい方向", 6),
            ("現況値", 8), ("現況値の時点", 9), *per_year, ("目標値", 8), ("比較", 4),
            ("目標年度", 5), ("算定方法", 8)]


def evaluation_headers(final: bool) -> list[tuple[str, float]]:
    """集計's last columns: the report year's rating, its change and the department's reason."""
    return [("評価", 4), ("前年度比", 5), *([("目標の達成", 5)] if final else []), ("変動要因", 26)]


def _evaluation_values(row: SummaryRow, ev: Evaluation, final: bool) -> list:
    if row.indicator is None:  # a section without numbers: its 自己評価, when one was given
        plan = ev.plan_result(row.plan.id)
        return [plan.rating if plan.basis == BASIS_SELF else "", "", *([""] if final else []), ""]
    r = ev.indicator_result(row.indicator.id)
    reason = r.reason or (f"（未記入: {r.alert}）" if r.alert and r.collected else "")
    return [r.rating, r.change, *([r.outcome] if final else []), reason]


def _summary(book, fmt, year: int, years: list[int], rows: list[SummaryRow], ev: Evaluation,
             final: bool) -> None:
    headers = summary_headers(years) + evaluation_headers(final)
    widths = [w for _, w in headers]
    n_summary = len(summary_headers(years))  # the columns before the evaluation's
    ws = _sheet(book, SUMMARY, widths, repeat=(3, 3))
    ws.write_string(0, 0, f"集計 {fy_label(year)} 実施計画の提出状況と指標の達成率", fmt.heading)
    ws.merge_range(1, 0, 1, len(headers) - 1, "", fmt.note)
    ws.write_string(1, 0, RATE_NOTE, fmt.note)
    _row_height(ws, 1, [(RATE_NOTE, sum(widths))])
    for c, (h, _) in enumerate(headers):
        ws.write_string(3, c, h, fmt.head)
    _row_height(ws, 3, [(h, w) for h, w in headers], bold=True)
    for r, row in enumerate(rows, 4):
        s, ind = row.section, row.indicator
        name = row.plan.name + (f"／{s.title}" if s.title else "")
        label = ind.name if ind else s.targets_text
        values = [row.plan.id, s.number, name, row.owner, row.status, ind and ind.id, label]
        if ind:
            values += [ind.unit, DIRECTION_TEXT[ind.direction], ind.baseline, ind.baseline_label]
            for y in years:
                values += [row.actuals[y], row.rates[y]]
            target = target_for(ind, year)
            values += [target, ind.comparator, ind.target_year, rate_method(ind, target)]
        else:  # a qualitative target: its text across the indicator columns, not one tall cell
            ws.merge_range(r, len(values) - 1, r, n_summary - 1, "", fmt.text)
            values += [""] * (n_summary - len(values))
        values += _evaluation_values(row, ev, final)
        for c, value in enumerate(values):
            if not ind and INDICATOR_COL < c < n_summary:
                continue  # inside the merged target text
            header = headers[c][0]
            style = (fmt.rate if header.endswith("達成率") else
                     fmt.missing if header == "提出状況" and value in (STATUS_MISSING, STATUS_RETURNED) else
                     fmt.amount(value) if isinstance(value, float) else fmt.text)
            _text(ws, r, c, value, style)
        cells = [(v, w) for c, (v, w) in enumerate(zip(values, widths, strict=True))
                 if v not in (None, "") and (ind or c != INDICATOR_COL)]
        if not ind:  # the target text spans the merged indicator columns
            cells.append((label or "", sum(widths[INDICATOR_COL:n_summary])))
        _row_height(ws, r, cells)
    ws.freeze_panes(4, 0)
    ws.autofilter(3, 0, 3 + max(len(rows), 1), len(headers) - 1)


def chart_chunk(n_years: int) -> int:
    """Indicators per chart, so that a chart and its table share one A4 landscape page
    (about 480 pt tall: chart 60 pt + 10.5 pt per bar + 7.5 pt per indicator, table 17 pt a row)."""
    return max(2, int(400 // (24.5 + 10.5 * n_years)))


# Bars are drawn between these rates; a value beyond them is clipped, its label keeps the true value.
RATE_AXIS = (-1.0, 2.0)
YEAR_COLORS = ["#8EA9DB", "#F4B183", "#A9D08E", "#FFD966"]  # one per plan year, the same in every chart


def _charts(book, fmt, years: list[int], rows: list[SummaryRow]) -> None:
    """Achievement-rate bar charts, each above its own data table (the numbers the bars show)
    and on its own printed page."""
    plotted = [r for r in rows if r.indicator and any(v is not None for v in r.rates.values())]
    widths = [60] + [12] * len(years)
    ws = _sheet(book, CHARTS, widths + [130 - sum(widths)])
    ws.write_string(0, 0, "指標の達成率（目標値 = 100%、現況値 = 0%。-100%～200% の外の棒は端で切り、"
                          "ラベルに実際の値を示します）", fmt.heading)
    if not plotted:
        ws.write_string(2, 0, "達成率を算定できる指標の実績がまだありません。", fmt.note)
        return
    helper = len(widths) + 2  # the chart's own copy of each table, outside the print area, hidden
    ws.set_column(helper, helper + len(years), 20, None, {"hidden": True})
    size = chart_chunk(len(years))
    r, breaks = 2, []
    for start in range(0, len(plotted), size):
        chunk = plotted[start:start + size]
        height = 80 + len(chunk) * (10 + 14 * len(years))  # pixels
        table = r + math.ceil(height / 20) + 1  # default rows are 20 px
        ws.write_string(table, 0, "指標", fmt.head)
        for k, y in enumerate(years, 1):
            ws.write_string(table, k, f"{fy_short(y)}達成率", fmt.head)
        _row_height(ws, table, [(f"{fy_short(y)}達成率", widths[k]) for k, y in enumerate(years, 1)])
        for i, row in enumerate(chunk, table + 1):
            label = f"{row.indicator.id} {row.indicator.name}"
            ws.write_string(i, 0, label, fmt.text)
            _row_height(ws, i, [(label, widths[0])])
            for k, y in enumerate(years, 1):
                _text(ws, i, k, row.rates[y], fmt.rate)
        _chart_data(ws, table + 1, helper, chunk, years)
        ws.insert_chart(r, 0, _rate_chart(book, table + 1, helper, chunk, years, start),
                        {"object_position": 2})
        r = table + len(chunk) + 2
        breaks.append(r)
    ws.set_h_pagebreaks(breaks[:-1])
    ws.print_area(0, 0, r, len(widths))


def _chart_data(ws, first: int, col: int, chunk: list[SummaryRow], years: list[int]) -> None:
    """The plotted values: rows bottom-up (a bar chart draws its first category at the bottom, and
    an axis left in that order keeps the legend and the bars of a group in the same year order),
    each rate clipped to RATE_AXIS."""
    for i, row in enumerate(reversed(chunk), first):
        ws.write_string(i, col, f"{row.indicator.id} {row.indicator.name}")
        for k, y in enumerate(years, 1):
            if row.rates[y] is not None:
                ws.write_number(i, col + k, min(max(row.rates[y], RATE_AXIS[0]), RATE_AXIS[1]))


def _rate_chart(book, first: int, col: int, chunk: list[SummaryRow], years: list[int], start: int):
    last = first + len(chunk) - 1
    chart = book.add_chart({"type": "bar"})
    for k, y in reversed(list(enumerate(years, 1))):  # last year first: drawn lowest in each group
        labels = [{"value": f"{row.rates[y]:,.0%}"} if row.rates[y] is not None else {"delete": True}
                  for row in reversed(chunk)]
        chart.add_series({
            "name": fy_short(y),
            "categories": [CHARTS, first, col, last, col],
            "values": [CHARTS, first, col + k, last, col + k],
            "fill": {"color": YEAR_COLORS[(k - 1) % len(YEAR_COLORS)]},
            "data_labels": {"value": True, "custom": labels, "font": {"size": 8}},
        })
    rates = [v for row in chunk for v in row.rates.values() if v is not None]
    low = max(RATE_AXIS[0], math.floor(min(0.0, *rates) * 4) / 4)
    high = min(RATE_AXIS[1], max(1.0, math.ceil(max(rates) * 4) / 4))
    # a quarter more on each side that has bars: room for the label at the end of the longest bar
    chart.set_x_axis({"num_format": "0%", "min": low - (0.25 if low < 0 else 0), "max": high + 0.25,
                      "major_unit": 0.25, "num_font": {"size": 8}})
    chart.set_y_axis({"label_position": "low", "num_font": {"size": 8}})
    chart.set_title({"name": f"達成率（{start + 1}～{start + len(chunk)}件目）", "name_font": {"size": 11}})
    # a vertical legend lists a bar chart's series bottom-up in Excel and LibreOffice alike
    chart.set_legend({"position": "right", "font": {"size": 9}})
    chart.set_size({"width": 900, "height": 80 + len(chunk) * (10 + 14 * len(years))})
    chart.show_hidden_data()
    return chart


CHANGES = "計画の変更"


def _changes(book, fmt, reg: Register) -> None:
    """計画の変更: the recorded changes (変更履歴) in force by the report year, newest year
    first, so each year's 計画の見直し can be read with what was decided."""
    headers = [("適用年度", 8), ("シート", 8), ("対象", 12), ("項目", 12), ("変更前", 30), ("変更後", 30),
               ("理由", 30), ("記録", 18)]
    widths = [w for _, w in headers]
    ws = _sheet(book, CHANGES, widths, repeat=(1, 1))
    ws.write_string(0, 0, "計画の変更（変更履歴から。各年度の「計画の見直し」とあわせてご覧ください）", fmt.heading)
    for c, (h, _) in enumerate(headers):
        ws.write_string(1, c, h, fmt.head)
    for r, c in enumerate(sorted(reg.changes, key=lambda c: -c.year), 2):
        row = describe_change_row(c)
        for k, value in enumerate(row):
            _text(ws, r, k, value, fmt.text)
        _row_height(ws, r, list(zip([str(v) for v in row], widths, strict=True)))
    ws.freeze_panes(2, 0)


def describe(reg: Register, year: int, returned: set[str] | frozenset[str] = frozenset()) -> str:
    """One Japanese line summarising a report's contents, for the CLI."""
    rows = summary_rows(reg, year, frozenset(returned))
    missing = {r.owner for r in rows if r.status == STATUS_MISSING}
    waiting = {r.owner for r in rows if r.status == STATUS_RETURNED}
    rated = sum(1 for r in rows if r.indicator and r.rates.get(year) is not None)
    boxes = [(p, s, d) for p in reg.plans for s in reg.reporting_sections(p) for d in reg.contributors(p, s)]
    parts = sum(1 for p, s, d in boxes if reg.contribution_for(p.id, s, year, d))
    return (f"{fy_short(year)}: 実施計画 {len(reg.plans)} 件、指標 {sum(1 for r in rows if r.indicator)} 件"
            f"（{fy_short(year)}の達成率あり {rated} 件）、未提出の所管課 {len(missing)} 課"
            + (f"（{'、'.join(sorted(missing))}）" if missing else "")
            + (f"、修正待ちの所管課 {len(waiting)} 課（{'、'.join(sorted(waiting))}）" if waiting else "")
            + (f"、関係課の記入 {parts}/{len(boxes)} 件" if boxes else ""))

