"""`plan-xl import`: read a report in the original table layout back into a register, so a
city can start from its existing report.

What is read from where:
- plan sheets (any sheet whose B3 is 「実施計画名」, as `layout.draw_plan` draws them): goal
  and initiative (the two heading lines), plan number (the circled mark), name, departments,
  overview, vision, 5レス, disclosure, sections (a 〈…〉 heading row, then an action table),
  actions with their schedule spans (from the merged cells), the printed targets text, and the
  progress rows (実績, 計画の見直し) of every year shown;
- 集計: the indicators (id, section, name, unit, target, comparator, target year, baseline and
  its time point, direction) and their actuals per year;
- 表紙: plan title, city, coordinating section and plan period.

What a report cannot tell, so import cannot know it: department e-mail addresses, CC and
contacts; aliases of departments and initiatives; goals and initiatives without plans;
submissions and the provenance of progress, actuals and contributions; the decisions log
(判断記録); 参考送付 and 進捗 assignments (記入課); actuals
outside the years the report shows; the year after which baselines are measured (taken as the
year before the plan starts). Reading conventions where the layout is ambiguous: a progress
block after the last section belongs to the whole plan (section 0) unless earlier sections
had their own blocks; a heading ending in 「<…>」 carries the section's departments; a
targets cell equal to the text drawn from the indicators means "no printed targets text"; a row
under a year whose text starts with 「＜課名＞」 is that co-owning department's part (関係課の記入,
「特になし」 alone meaning it had nothing to add), and gives it a contribution box (記入課); an
indicator whose 所管課 in 集計 is not its section's lead is assigned to that department.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .. import messages as M
from ..collect.verdict import State
from ..errors import PlanXlError
from ..fiscal import parse_fy
from ..register.model import (
    ASSIGN_ACTUAL,
    ASSIGN_PART,
    CIRCLED,
    FIVE_LESS,
    NOTHING_TO_ADD,
    Action,
    Actual,
    Assignment,
    Contribution,
    Department,
    Goal,
    Indicator,
    Initiative,
    Plan,
    Progress,
    Register,
    Section,
    Span,
)
from .layout import LAST_COL, SCHEDULE_COL, TARGET_COL, targets_from_indicators
from .report import COVER, DIRECTION_TEXT, INDICATOR_HEADER, SUMMARY

_GOAL = re.compile(r"^重点推進目標\s*(\d+)\s*(.*)$")
_INITIATIVE = re.compile(r"^取組事項\s*(\d+)\s*(.*)$")
_SECTION = re.compile(r"^(.*?)\s*<([^<>]*)>$")
_TITLE_SUFFIX = " 進捗状況報告書"


def import_report(path: Path) -> Register:
    """A register with the content of the report at `path`."""
    import openpyxl  # here: it takes a second to import, and only `plan-xl import` reads with it

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, data_only=False)  # merged cells: not read-only mode
    except FileNotFoundError:
        raise PlanXlError(M.W008(path=path)) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise PlanXlError(M.W009(path=path, error=e)) from e
    goals: dict[int, Goal] = {}
    initiatives: dict[tuple[int, int], Initiative] = {}
    plans: list[Plan] = []
    progress: list[Progress] = []
    contributions: list[Contribution] = []
    for ws in wb.worksheets:
        if _value(ws, 2, 1) == "実施計画名":
            plan, plan_progress = _read_plan(ws, goals, initiatives)
            plans.append(plan)
            progress.extend(x for x in plan_progress if isinstance(x, Progress))
            contributions.extend(x for x in plan_progress if isinstance(x, Contribution))
    if not plans:
        raise PlanXlError(M.W010(name=path.name))
    assignments: list[Assignment] = []
    actuals = _read_summary(wb[SUMMARY], plans, assignments) if SUMMARY in wb.sheetnames else []
    parts = dict.fromkeys((c.plan_id, c.section, c.department) for c in contributions)
    assignments += [Assignment(plan_id, department, ASSIGN_PART, section)
                    for plan_id, section, department in parts]
    # a row the report marks as still owed 「（未提出）」 is no content: the box stays, the text goes
    progress = [pr for pr in progress if not _owed(pr)]
    contributions = [c for c in contributions if not _owed(c)]
    for plan in plans:
        for s in plan.sections:
            if s.targets_text == targets_from_indicators(s):
                s.targets_text = ""
    meta = _read_cover(wb[COVER] if COVER in wb.sheetnames else None)
    if not meta["plan_start"]:  # no cover: the years of the schedule header
        sheet = next(ws for ws in wb.worksheets if _value(ws, 2, 1) == "実施計画名")
        start = _schedule_start(sheet)
        meta.update(plan_start=str(start), plan_end=str(start + 3), baseline_year=str(start - 1))
    names = [meta["coordinating_department"]] if meta["coordinating_department"] else []
    for plan in plans:
        names += plan.departments + [d for s in plan.sections for d in s.departments]
    return Register(meta=meta, goals=sorted(goals.values(), key=lambda g: g.number),
                    initiatives=sorted(initiatives.values(), key=lambda i: (i.goal, i.number)),
                    departments=[Department(n) for n in dict.fromkeys(names)], plans=plans,
                    progress=progress, actuals=actuals, assignments=assignments,
                    contributions=contributions)


def _value(ws, row: int, col: int):
    """Cell value by zero-based row and column, as the layout module counts them."""
    v = ws.cell(row + 1, col + 1).value
    return "" if v is None else v


def _text(ws, row: int, col: int) -> str:
    return str(_value(ws, row, col))


def _split(text: str) -> list[str]:
    return [x for x in text.split("、") if x]


def _read_plan(ws, goals, initiatives) -> tuple[Plan, list[Progress]]:
    merged = {(m.min_row - 1, m.min_col - 1): (m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges}
    g = _GOAL.match(_text(ws, 0, 0))
    i = _INITIATIVE.match(_text(ws, 1, 0))
    if not (g and i):
        raise PlanXlError(M.W011(title=ws.title))
    goal, initiative = int(g[1]), int(i[1])
    goals.setdefault(goal, Goal(goal, g[2]))
    initiatives.setdefault((goal, initiative), Initiative(goal, initiative, i[2]))
    mark = _text(ws, 2, 0)
    number = CIRCLED.index(mark) + 1 if mark in CIRCLED else int(mark)
    plan = Plan(id=f"{goal}-{initiative}-{number}", name=_text(ws, 2, 2),
                departments=_split(_text(ws, 2, 10)))
    blocks: list[tuple[int, list[Progress]]] = []  # (number of sections before it, rows)
    heading: tuple[str, list[str]] | None = None
    owner: Plan | Section = plan  # who an overview block belongs to
    r, last = 3, ws.max_row - 1
    while r <= last:
        label = _text(ws, r, 0)
        if label == "事業概要":
            owner.overview, owner.vision = _text(ws, r + 1, 0), _text(ws, r + 1, 6)
            r += 2
        elif label == "5レス":
            _read_five_less(ws, r + 1, plan)
            r += 2
        elif label == "取組内容":
            title, departments = heading or ("", [])
            section = Section(plan.id, len(plan.sections) + 1, title, departments)
            if heading and owner is not plan:
                section.overview, section.vision = owner.overview, owner.vision
            plan.sections.append(section)
            heading, owner = None, plan
            r = _read_actions(ws, merged, r + 2, section)
        elif label == "進捗状況":
            end = merged.get((r, 0), (r, 0))[0]
            blocks.append((len(plan.sections), _read_progress(ws, r + 1, end, plan)))
            r = end + 1
        elif label and merged.get((r, 0)) == (r, LAST_COL):  # a section heading row
            m = _SECTION.match(label)
            heading = (m[1], _split(m[2])) if m else (label, [])
            owner = Section(plan.id, 0)  # holds the section's overview until its table starts
            r += 1
        else:
            r += 1
    progress = []
    for k, (after, rows) in enumerate(blocks):
        whole_plan = after == len(plan.sections) and k == 0
        for pr in rows:
            pr.section = 0 if whole_plan else after
            progress.append(pr)
    return plan, progress


def _read_five_less(ws, r: int, plan: Plan) -> None:
    """The 5レス row: which of the five apply, and where the item is published."""
    plan.five_less = [f for k, f in enumerate(FIVE_LESS) if _text(ws, r, 1 + k)]
    plan.disclosure_website = bool(_text(ws, r, 7))
    plan.disclosure_other = _text(ws, r, 8)
    pages = _text(ws, r, 10)
    plan.disclosure_pages = [p.removeprefix("・") for p in pages.split("\n")] if pages else []


def _read_progress(ws, first: int, end: int, plan: Plan) -> list[Progress | Contribution]:
    """A 進捗状況 block: one row per year, each followed by the co-owners' parts."""
    rows: list[Progress | Contribution] = []
    for k in range(first, end + 1):
        if year := _text(ws, k, 1):
            rows.append(Progress(plan.id, 0, parse_fy(year), _text(ws, k, 2), _text(ws, k, 7)))
        elif rows and (part := _contribution(plan.id, rows[-1].year, _text(ws, k, 2), _text(ws, k, 7))):
            rows.append(part)
    return rows


_PART = re.compile(r"^＜([^＜＞\n]+)＞(?:\n(.*))?$", re.DOTALL)


def _contribution(plan_id: str, year: int, results: str, revision: str) -> Contribution | None:
    """A co-owner's part printed under the lead's row (layout.contribution_text), or None."""
    m, m2 = _PART.match(results), _PART.match(revision)
    if not m:
        return None
    results, revision = m[2] or "", (m2[2] or "") if m2 else revision
    nothing = results == NOTHING_TO_ADD and revision in ("", NOTHING_TO_ADD)
    return Contribution(plan_id, 0, year, m[1], "" if nothing else results, "" if nothing else revision,
                        nothing)


_OWED = {state.marker for state in State}


def _owed(row: Progress | Contribution) -> bool:
    return row.results in _OWED and not row.revision


def _read_actions(ws, merged, first: int, section: Section) -> int:
    """Actions from the row after the table header; returns the row after the table."""
    end = merged.get((first, TARGET_COL), (first, TARGET_COL))[0]
    section.targets_text = _text(ws, first, TARGET_COL)
    first_year = parse_fy(_text(ws, first - 1, SCHEDULE_COL))  # the header: 2022年度（令和4年度）
    r = first
    while r <= end:
        name = _text(ws, r, 0)
        last = merged.get((r, 0), (r, 1))[0]
        rows = [_read_spans(ws, merged, k, first_year) for k in range(r, last + 1)]
        if name:
            section.actions.append(Action(name, rows))
        r = last + 1
    return end + 1


def _read_spans(ws, merged, r: int, first_year: int) -> list[Span]:
    """Schedule cells of one row: two columns per fiscal year, a single column = half year."""
    spans, k = [], 0
    while k < 8:
        c = SCHEDULE_COL + k
        k2 = merged.get((r, c), (r, c))[1] - SCHEDULE_COL
        if text := _text(ws, r, c):
            if k == k2:
                spans.append(Span(first_year + k // 2, first_year + k // 2, text, k % 2 + 1))
            else:
                spans.append(Span(first_year + k // 2, first_year + k2 // 2, text))
        k = k2 + 1
    return spans


def _read_summary(ws, plans: list[Plan], assignments: list[Assignment]) -> list[Actual]:
    rows = list(ws.iter_rows(values_only=True))
    top = next((n for n, row in enumerate(rows) if row and row[0] == "計画ID"), None)
    if top is None:
        raise PlanXlError(M.W012(title=ws.title))
    col = {str(h): n for n, h in enumerate(rows[top]) if h}
    year_cols = {parse_fy(h.removesuffix("実績")): n for h, n in col.items() if h.endswith("年度実績")}
    directions = {v: k for k, v in DIRECTION_TEXT.items()}
    by_id = {p.id: p for p in plans}
    actuals = []
    for n, row in enumerate(rows[top + 1:], top + 2):
        def get(header: str, row=row):
            v = row[col[header]]
            return "" if v is None else v
        if not get("指標ID"):
            continue
        plan = by_id.get(str(get("計画ID")))
        try:
            section = plan.sections[int(get("節")) - 1]
            ind = Indicator(id=str(get("指標ID")), plan_id=plan.id, section=section.number,
                            name=str(get(INDICATOR_HEADER)), unit=str(get("単位")),
                            target=float(get("目標値")), comparator=str(get("比較")),
                            target_year=int(get("目標年度")),
                            baseline=float(get("現況値")) if get("現況値") != "" else None,
                            baseline_label=str(get("現況値の時点")),
                            direction=directions.get(get("望ましい方向"), "up"))
        except (AttributeError, IndexError, TypeError, ValueError) as e:
            raise PlanXlError(M.W013(title=ws.title, row=n, error=e)) from e
        section.indicators.append(ind)
        if (owner := str(get("所管課"))) and owner != plan.owner(section.number):
            assignments.append(Assignment(plan.id, owner, ASSIGN_ACTUAL, indicator_id=ind.id))
        actuals += [Actual(ind.id, year, float(row[c])) for year, c in year_cols.items()
                    if row[c] not in (None, "")]
    return actuals


def _schedule_start(ws) -> int:
    """The first fiscal year of a plan sheet's schedule header (the row under 行動計画)."""
    for r in range(3, ws.max_row):
        if _text(ws, r, 0) == "取組内容":
            return parse_fy(_text(ws, r + 1, SCHEDULE_COL))
    raise PlanXlError(M.W014(title=ws.title))


def _read_cover(ws) -> dict[str, str]:
    meta = {"city": "", "plan_title": "", "coordinating_department": "", "plan_start": "",
            "plan_end": "", "baseline_year": "", "revision": "1"}
    if ws is None:
        return meta
    fields = {}
    for row in ws.iter_rows(values_only=True):
        texts = [str(v) for v in row if v not in (None, "")]
        if len(texts) == 2:
            fields[texts[0]] = texts[1]
        elif len(texts) == 1 and texts[0].endswith(_TITLE_SUFFIX):
            meta["plan_title"] = texts[0].removesuffix(_TITLE_SUFFIX)
    meta["city"] = fields.get("自治体", "")
    meta["coordinating_department"] = fields.get("発行", "")
    if "～" in fields.get("計画期間", ""):
        start, end = (parse_fy(x) for x in fields["計画期間"].split("～"))
        meta.update(plan_start=str(start), plan_end=str(end), baseline_year=str(start - 1))
    return meta
