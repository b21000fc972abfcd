"""The register as a history (変更履歴): every change is recorded with the first fiscal year it
applies to, and `as_of(reg, year)` gives the plan exactly as it was in force in that year.

Changes come from two paths that end in the same record:
- the `plan-xl plan …` commands (`set_target`, `retire`, `rename_department`,
  `merge_department`, `add_plan`, `new_period`), which change the register and record;
- edits a clerk makes in register.xlsx with Excel: `table_diff` compares the sheets with the
  very hidden 前回保存 copy written with every save, `check` refuses unrecorded ones, and
  `record_edits` (`plan-xl plan record`) turns them into recorded changes.

`as_of(reg, year)` undoes, newest first, every change that applies after `year` (on the sheet
rows, so every column of every sheet is covered the same way), drops what is not in force in
`year` (validity), and sets each indicator's target to the one in force. Reports, templates,
status and reminders of a year all look at that view, so a past year never changes.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .. import messages as M
from ..errors import RegisterError, UsageError
from ..findings import ERROR, WARNING
from ..fiscal import fy_short
from ..lock import RegisterLock
from .model import Change, Department, Plan, Register, Section, Target, Validity, format_number
from .store import STRUCTURE, register_from_tables, row_key, save_register, table_dicts

EXCEL_EDIT = "Excel で編集"
ADDED, REMOVED = "追加", "削除"


def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- Excel edits ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Diff:
    sheet: str
    key: str
    column: str  # 行 for a row added or removed
    before: str
    after: str
    row: int | None  # the row in the workbook now (None for a removed row)


def table_diff(reg: Register) -> list[Diff]:
    """What differs between the register's sheets and the copy plan-xl saved with them."""
    if not reg.saved_tables or not reg.tables:
        return []
    out = []
    for sheet in STRUCTURE:
        saved = reg.saved_tables.get(sheet, {})
        live = {}
        for n, values in reg.tables.get(sheet, []):
            live.setdefault(row_key(sheet, values), (n, values))
        for key, (n, values) in live.items():
            if key not in saved:
                out.append(Diff(sheet, key, "行", "", ADDED, n))
                continue
            for header in sorted(set(values) | set(saved[key])):
                before, after = _norm(saved[key].get(header)), _norm(values.get(header))
                if before != after:
                    out.append(Diff(sheet, key, header, before, after, n))
        removed = [key for key in saved if key not in live]
        out += [Diff(sheet, key, "行", REMOVED, "", None) for key in removed]
    live_departments = {row_key("所管課", v): v for _, v in reg.tables.get("所管課", [])}
    out = _renames(out, live_departments, reg.saved_tables.get("所管課", {}))
    for sheet, parts in PAIRED.items():
        live = {row_key(sheet, v): (n, v) for n, v in reg.tables.get(sheet, [])}
        out = _pair_edits(out, sheet, parts, reg.saved_tables.get(sheet, {}), live)
    return out


# Sheets whose row identity includes a column a clerk may well edit (a schedule's 開始年度, a
# target history value): a row removed and one added with the same leading key parts is an edit.
PAIRED = {"取組": 4, "目標値の履歴": 2}


def _pair_edits(diffs: list[Diff], sheet: str, parts: int, saved: dict, live: dict) -> list[Diff]:
    out = list(diffs)
    added = [d for d in diffs if d.sheet == sheet and d.after == ADDED]
    for gone in [d for d in diffs if d.sheet == sheet and d.before == REMOVED]:
        prefix = gone.key.split("|")[:parts]
        new = next((d for d in added if d.key.split("|")[:parts] == prefix), None)
        if new is None:
            continue
        added.remove(new)
        out.remove(gone)
        out.remove(new)
        n, values = live[new.key]
        for header in sorted(set(values) | set(saved[gone.key])):
            before, after = _norm(saved[gone.key].get(header)), _norm(values.get(header))
            if before != after:
                out.append(Diff(sheet, new.key, header, before, after, n))
    return out


def _renames(diffs: list[Diff], departments: dict[str, dict], saved: dict[str, dict]) -> list[Diff]:
    """A department renamed in Excel (its name cell changed, the old name kept as 別名) is
    one change of the 所管課 column, not a row removed and another added."""
    out = list(diffs)
    for gone in [d for d in diffs if d.sheet == "所管課" and d.before == REMOVED]:
        new = next((d for d in out if d.sheet == "所管課" and d.after == ADDED
                    and gone.key in _norm(departments.get(d.key, {}).get("別名")).split("、")), None)
        if new is not None:
            out.remove(gone)
            out.remove(new)
            out.append(Diff("所管課", new.key, "所管課", gone.key, new.key, new.row))
            out.append(Diff("所管課", new.key, "別名", _norm(saved.get(gone.key, {}).get("別名")),
                            _norm(departments[new.key].get("別名")), new.row))
    return out


def record_edits(reg: Register, year: int, reason: str, now: dt.datetime | None = None) -> list[Change]:
    """Record the Excel edits as changes applying from `year`. Rows added without a 適用開始
    get `year`. Removed rows are refused: a plan item is ended, never deleted."""
    diffs = table_diff(reg)
    removed = [d for d in diffs if d.after == "" and d.column == "行"]
    if removed:
        raise RegisterError(M.H001(rows="、".join(f"「{d.sheet}」{d.key}" for d in removed)))
    when = _when(now)
    changes = [Change(d.sheet, d.key, d.column, d.before, d.after, year, reason, when, EXCEL_EDIT) for d in diffs]
    for d in diffs:
        if d.column == "行":
            item = _item(reg, d.sheet, d.key)
            if item is not None and item.validity.start is None:
                item.validity.start = year
    before = len(reg.changes)
    reg.changes += changes
    rec = Recorder(reg, year, reason, EXCEL_EDIT, now)
    _follow_reorganisation(reg, diffs, rec)
    _follow_targets(reg, diffs, rec)
    return reg.changes[before:]


def _follow_targets(reg: Register, diffs: list[Diff], rec: Recorder) -> None:
    """A target typed over in the 指標 sheet becomes a target history entry from the year,
    and the printed 目標値 text follows, as `plan target` does."""
    for d in diffs:
        if d.sheet != "指標" or d.column != "目標値" or not d.before:
            continue
        try:
            old, new = float(d.before), float(d.after)
        except ValueError:
            continue  # check reports the unreadable value
        plan, section, ind = _indicator(reg, d.key)
        if not ind.targets:
            ind.targets.append(Target(old, min(reg.periods[0][0], rec.year), "当初の目標値"))
        ind.targets.append(Target(new, rec.year, rec.reason))
        text = replace_printed_target(section.targets_text, ind.name, new)
        rec("節", f"{plan.id}|{section.number}", "目標値（表記）", section.targets_text, text)
        section.targets_text = text


def _follow_reorganisation(reg: Register, diffs: list[Diff], rec: Recorder) -> None:
    """A rename or a merge typed into the 所管課 sheet moves the plans too, as the commands do."""
    for d in diffs:
        if d.sheet == "所管課" and d.column == "所管課" and d.before:
            _reassign(reg, d.before, d.after, rec)
    for dept in reg.departments:
        v = dept.validity
        if v.how == "統合" and v.successor and v.end is not None and any(
                d.sheet == "所管課" and d.key == dept.name and d.column in ("終了区分", "後継", "適用終了") for d in diffs):
            _reassign(reg, dept.name, v.successor, Recorder(reg, v.end + 1, rec.reason, EXCEL_EDIT))


def _when(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now()).replace(microsecond=0).isoformat()


def _item(reg: Register, sheet: str, key: str):
    if sheet == "計画":
        return next((p for p in reg.plans if p.id == key), None)
    if sheet == "所管課":
        return next((d for d in reg.departments if d.name == key), None)
    if sheet == "指標":
        return next((i for p in reg.plans for i in p.indicators if i.id == key), None)
    if sheet == "節":
        pid, _, n = key.partition("|")
        return next((s for p in reg.plans if p.id == pid for s in p.sections if str(s.number) == n), None)
    return None


# --- the plan in force in a year -------------------------------------------------------------
def as_of(reg: Register, year: int) -> Register:
    """The register as it stood for fiscal `year`: later changes undone, only what was in force.
    A read-only view: its yearly records (progress, actuals, submissions) are the register's own."""
    later = [c for c in reg.changes if c.year > year]
    view = _revert(reg, later) if later else _plan_copy(reg)
    view.load_findings, view.tables, view.saved_tables = [], {}, {}
    period = reg.period_of(year)
    view.meta = {**view.meta, "plan_start": str(period[0]), "plan_end": str(period[-1])}
    view.departments = [d for d in view.departments if d.validity.covers(year)]
    view.plans = [p for p in view.plans if p.validity.covers(year)]
    for p in view.plans:
        for s in p.sections:
            s.actions = [a for a in s.actions if a.validity.covers(year)]
            s.indicators = [i for i in s.indicators if i.validity.covers(year)]
            for i in s.indicators:
                i.target = i.target_for(year)
    return view


def field_owners(reg: Register, year: int) -> set[str]:
    """Departments that own an input field in the plan as in force in `year`, by current names,
    so a department that did not exist, or had merged away, is not chased for that year."""
    return {reg.department_name(d) or d for d in as_of(reg, year).field_owners()}


def _plan_copy(reg: Register) -> Register:
    """A copy of the plan part (departments, plans) that as_of narrows; the yearly records, which
    grow with every year of history, are shared instead of deep-copied."""
    view = copy.copy(reg)
    view.departments, view.plans = _fresh(reg.departments), _fresh(reg.plans)
    view.assignments = _fresh(reg.assignments)
    for name in ("progress", "actuals", "decisions", "submissions", "ratings", "contributions", "changes"):
        setattr(view, name, list(getattr(reg, name)))
    return view


_SHARED = (str, int, float, bool, type(None))  # immutable: one object serves the register and a view


def _fresh(value):
    """A deep copy of the register's plan part: new lists, dicts and dataclass objects all the
    way down, only immutable leaves shared, so no change to the copy reaches the register. What
    copy.deepcopy makes, without its memo and reduce protocol (~1 s at 1,000 plans × 10 years:
    it ran once per report and per template run). The model holds no object twice, so deepcopy's
    aliasing has nothing to keep; a type it does not know is left to deepcopy."""
    kind = type(value)
    if kind in _SHARED:
        return value
    if kind is list:
        return [_fresh(v) for v in value]
    if kind is tuple:
        return tuple(_fresh(v) for v in value)
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if dataclasses.is_dataclass(kind) and hasattr(value, "__dict__"):
        new = kind.__new__(kind)
        object.__setattr__(new, "__dict__", {k: _fresh(v) for k, v in value.__dict__.items()})
        return new
    return copy.deepcopy(value)


def _revert(reg: Register, later: list[Change]) -> Register:
    tables = table_dicts(reg)
    for c in reversed(later):
        rows = tables.get(c.sheet, [])
        if c.sheet == "情報":
            for _, values in rows:
                if values.get("項目") == c.key:
                    values["値"] = c.before
            continue
        hit = [k for k, (_, values) in enumerate(rows) if c.sheet in STRUCTURE and row_key(c.sheet, values) == c.key]
        if c.column == "行":
            for k in reversed(hit if c.after == ADDED else []):
                del rows[k]
            continue
        for k in hit:
            rows[k][1][c.column] = c.before or None
    view = register_from_tables(tables)
    view.changes = [c for c in reg.changes if c not in later]
    return view


# --- the plan-xl plan commands --------------------------------------------------------------
class Recorder:
    """Appends changes with one time, command and reason."""

    def __init__(self, reg: Register, year: int, reason: str, by: str, now: dt.datetime | None = None):
        self.reg, self.year, self.reason, self.by, self.when = reg, year, reason, by, _when(now)
        if not reason.strip():
            raise UsageError(M.H002())

    def __call__(self, sheet: str, key: str, column: str, before, after) -> None:
        before, after = _norm(before), _norm(after)
        if before != after:
            self.reg.changes.append(Change(sheet, key, column, before, after, self.year, self.reason,
                                           self.when, self.by))


def _indicator(reg: Register, indicator_id: str):
    for p in reg.plans:
        for s in p.sections:
            for i in s.indicators:
                if i.id == indicator_id:
                    return p, s, i
    raise UsageError(M.H003(indicator_id=indicator_id))


def _plan(reg: Register, plan_id: str) -> Plan:
    try:
        return reg.plan(plan_id)
    except KeyError:
        raise UsageError(M.H004(plan_id=plan_id)) from None


def set_target(reg: Register, indicator_id: str, value: float, year: int, note: str, rec: Recorder) -> None:
    """Raise or lower a target from `year`: a new history entry, the 目標値 column, and the
    printed 目標値 text of the section, so that the two never disagree."""
    plan, section, ind = _indicator(reg, indicator_id)
    if not ind.targets:
        start = min(reg.periods[0][0], year)
        ind.targets.append(Target(ind.target, start, "当初の目標値"))
    ind.targets.append(Target(float(value), year, note or rec.reason))
    rec("指標", ind.id, "目標値", ind.target, value)
    ind.target = ind.target_for(10_000)
    text = replace_printed_target(section.targets_text, ind.name, value)
    rec("節", f"{plan.id}|{section.number}", "目標値（表記）", section.targets_text, text)
    section.targets_text = text


def replace_printed_target(text: str, name: str, value: float) -> str:
    """The 目標値 text with the number printed after `name` (first mention) replaced."""
    lines = text.split("\n")
    for k, line in enumerate(lines):
        norm = unicodedata.normalize("NFKC", line)
        at = norm.find(unicodedata.normalize("NFKC", name))
        if at < 0 or len(norm) != len(line):
            continue
        m = re.compile(r"[0-9０-９][0-9０-９,，]*(?:\.[0-9]+)?").search(line, at + len(name))
        if m:
            shown = f"{value:,.10g}" if "," in m.group() or "，" in m.group() else format_number(value)
            lines[k] = line[:m.start()] + shown + line[m.end():]
        break
    return "\n".join(lines)


def retire(reg: Register, item_id: str, last_year: int, how: str, successor: str, rec: Recorder) -> None:
    """End a plan item (計画ID), an indicator (指標ID) or a department (廃止 of a 所管課) after
    `last_year`: 統合 / 完了 / 廃止."""
    if not re.match(r"^\d", item_id) and reg.department_name(item_id):
        dept = reg.department(item_id)
        _end(dept.validity, "所管課", dept.name, last_year, how, successor, rec)
        return
    item = next((i for p in reg.plans for i in p.indicators if i.id == item_id), None) or _plan(reg, item_id)
    sheet = "計画" if isinstance(item, Plan) else "指標"
    if how == "統合" and not successor:
        raise UsageError(M.H005())
    if successor and successor not in {p.id for p in reg.plans} | {i.id for p in reg.plans for i in p.indicators}:
        raise UsageError(M.H006(successor=successor))
    _end(item.validity, sheet, item_id, last_year, how, successor, rec)


def _end(v: Validity, sheet: str, key: str, last_year: int, how: str, successor: str, rec: Recorder) -> None:
    rec(sheet, key, "適用終了", v.end, last_year)
    rec(sheet, key, "終了区分", v.how, how)
    rec(sheet, key, "後継", v.successor, successor)
    v.end, v.how, v.successor = last_year, how, successor


def add_plan(reg: Register, plan_id: str, name: str, departments: list[str], year: int, rec: Recorder) -> Plan:
    """A new plan item in force from `year`, with one section (fill its texts in register.xlsx)."""
    if any(p.id == plan_id for p in reg.plans):
        raise UsageError(M.H007(plan_id=plan_id))
    if not re.fullmatch(r"\d+-\d+-\d+", plan_id):
        raise UsageError(M.H008(plan_id=plan_id))
    names = [_department(reg, d) for d in departments]
    plan = Plan(plan_id, name, names, sections=[Section(plan_id, 1)], validity=Validity(start=year, how="新規"))
    reg.plans.append(plan)
    reg.plans.sort(key=lambda p: tuple(int(x) for x in p.id.split("-")))
    rec("計画", plan_id, "行", "", ADDED)
    rec("節", f"{plan_id}|1", "行", "", ADDED)
    return plan


def _department(reg: Register, name: str) -> str:
    canonical = reg.department_name(name)
    if canonical is None:
        raise UsageError(M.H009(name=name))
    return canonical


def add_department(reg: Register, name: str, email: str, year: int, rec: Recorder) -> Department:
    if reg.department_name(name):
        raise UsageError(M.H010(name=name))
    d = Department(name, email=email, validity=Validity(start=year, how="新規"))
    reg.departments.append(d)
    rec("所管課", name, "行", "", ADDED)
    return d


def rename_department(reg: Register, old: str, new: str, rec: Recorder) -> None:
    """名称変更 from rec.year: the department keeps its row (contacts, history), the old name
    becomes an alias (returns accepted under it stay valid), and every plan follows."""
    dept = reg.department(_department(reg, old))
    if reg.department_name(new) not in (None, dept.name):
        raise UsageError(M.H011(new=new))
    old_name = dept.name
    aliases = [a for a in dept.aliases if a != new] + [old_name]
    rec("所管課", new, "所管課", old_name, new)
    rec("所管課", new, "別名", "、".join(dept.aliases), "、".join(aliases))
    dept.name, dept.aliases = new, aliases
    _reassign(reg, old_name, new, rec)
    if reg.meta.get("coordinating_department") == old_name:
        reg.meta["coordinating_department"] = new


def merge_department(reg: Register, old: str, into: str, rec: Recorder) -> None:
    """統合 from rec.year: `old` ends the year before, its plans and sections move to `into`.
    Its accepted returns stay valid history for the years it existed."""
    dept = reg.department(_department(reg, old))
    target = _department(reg, into)
    if target == dept.name:
        raise UsageError(M.H012())
    _end(dept.validity, "所管課", dept.name, rec.year - 1, "統合", target, rec)
    _reassign(reg, dept.name, target, rec)


def split_department(reg: Register, old: str, parts: dict[str, list[str]], rec: Recorder) -> None:
    """再編 (分割) from rec.year: `old` ends the year before, and each plan item and section it
    holds in force (as 所管課 or 記入課) moves to the department `parts` gives it ({department:
    ["1-3-2", "1-3-5.2"]}: a plan item with its sections, or one section). Every one must be given
    to exactly one department, so that nothing is left without an owner. Accepted returns stay
    valid history."""
    dept = reg.department(_department(reg, old))
    held = _holdings(reg, dept.name, rec.year)
    owner: dict[tuple[str, int], str] = {}  # (plan id, section; 0 = the plan item) -> department
    for name, items in parts.items():
        new = _department(reg, name)
        if new == dept.name:
            raise UsageError(M.H018(old=dept.name))
        for item in items:
            plan_id, _, number = item.strip().partition(".")
            key = (_plan(reg, plan_id).id, int(number) if number.isdigit() else -1 if number else 0)
            if key not in held and not (key[1] == 0 and any(p == key[0] for p, _ in held)):
                raise UsageError(M.H019(item=item, old=dept.name))
            if owner.setdefault(key, new) != new:
                raise UsageError(M.H020(item=item))
    left = [f"{p}.{n}" if n else p for p, n in sorted(held) if (p, n) not in owner and (p, 0) not in owner]
    if left:
        raise UsageError(M.H021(old=dept.name, items="、".join(left)))
    _end(dept.validity, "所管課", dept.name, rec.year - 1, "再編", "、".join(dict.fromkeys(owner.values())), rec)
    _reassign(reg, dept.name, lambda plan_id, number: owner.get((plan_id, number)) or owner.get((plan_id, 0)), rec)


def _holdings(reg: Register, department: str, year: int) -> set[tuple[str, int]]:
    """(plan id, section; 0 = the plan item) of what `department` owns or fills (記入課) in
    plan items in force in `year`."""
    in_force = {p.id: p for p in reg.plans if p.validity.end is None or p.validity.end >= year}
    held = {(p.id, 0) for p in in_force.values() if department in p.departments}
    held |= {(p.id, s.number) for p in in_force.values() for s in p.sections if department in s.departments}
    return held | {(a.plan_id, a.section) for a in reg.assignments if a.department == department and a.plan_id in in_force}


def _reassign(reg: Register, old: str, new: str | Callable[[str, int], str | None], rec: Recorder) -> None:
    """`old`'s plan items, sections and 記入課 assignments in force from rec.year go to `new`: a
    department's name, or (plan id, section; 0 = the plan item) -> name (None: left as it is)."""
    new_for = new if callable(new) else lambda plan_id, number: new
    for p in reg.plans:
        if p.validity.end is not None and p.validity.end < rec.year:
            continue  # an item that ended before the change keeps its department in history
        if old in p.departments and (name := new_for(p.id, 0)):
            after = list(dict.fromkeys(name if d == old else d for d in p.departments))
            rec("計画", p.id, "所管課", "、".join(p.departments), "、".join(after))
            p.departments = after
        for s in p.sections:
            if old in s.departments and (name := new_for(p.id, s.number)):
                after = list(dict.fromkeys(name if d == old else d for d in s.departments))
                rec("節", f"{p.id}|{s.number}", "所管課", "、".join(s.departments), "、".join(after))
                s.departments = after
    for a in reg.assignments:  # who fills what (記入課) follows; past parts keep the old name
        if a.department == old and (name := new_for(a.plan_id, a.section)):
            a.department = name
            rec("記入課", "|".join([a.plan_id, a.kind, str(a.section), a.indicator_id, name]), "記入課", old, name)


def new_period(reg: Register, start: int, end: int, rec: Recorder) -> list[str]:
    """Open the next plan period. Items, departments and contacts in force carry over; ended
    ones stay as history; continuing indicators aim at the new end year (set new values with
    set_target). Returns the carried-over plan ids."""
    old = reg.period
    if start != old[-1] + 1 or end < start:
        raise UsageError(M.H013(next_year=old[-1] + 1, first=old[0], last=old[-1]))
    if end - start + 1 > 4:
        raise UsageError(M.H014())
    previous = [x for x in reg.meta.get("previous_periods", "").split(",") if x]
    rec("情報", "previous_periods", "値", ",".join(previous), ",".join([*previous, f"{old[0]}-{old[-1]}"]))
    reg.meta["previous_periods"] = ",".join([*previous, f"{old[0]}-{old[-1]}"])
    for key, value in (("plan_start", start), ("plan_end", end), ("baseline_year", start - 1)):
        rec("情報", key, "値", reg.meta.get(key, ""), value)
        reg.meta[key] = str(value)
    carried = []
    for p in reg.plans:
        if not p.validity.covers(start):
            continue
        carried.append(p.id)
        for i in p.indicators:
            if i.validity.covers(start) and i.target_year < start:
                rec("指標", i.id, "目標年度", i.target_year, end)
                i.target_year = end
    return carried


# --- stale templates ------------------------------------------------------------------------
def changes_since(reg: Register, issued: str, department: str, year: int) -> list[Change]:
    """Changes recorded after a template was issued that apply in its year and touch the
    department's plan items (or the department itself)."""
    recent = [c for c in reg.changes if c.when > issued and c.year <= year]
    if not recent:  # the usual case: no deep copy of the register per validated file
        return []
    view = as_of(reg, year)
    name = reg.department_name(department) or department
    mine = {p.id for p in view.plans if name in p.departments or any(name in s.departments for s in p.sections)}
    out = []
    for c in recent:
        key_plan = c.key.split("|")[0].split(".")[0]
        if key_plan in mine or c.key in (name, department) or name in (c.before, c.after):
            out.append(c)
    return out


def expected_fields(reg: Register, department: str, year: int) -> dict[str, str]:
    """The input fields a template for `department` and `year` has now: key -> description."""
    view = as_of(reg, year)
    name = reg.department_name(department) or department
    out = {}
    for p in view.plans:
        for sec in view.reporting_sections(p):
            if p.owner(sec) == name:
                out[f"results|{p.id}|{sec}|{year}"] = f"{p.id} の実績"
        for i in p.indicators:
            if p.owner(i.section) == name:
                out[f"actual|{i.id}|{year}"] = f"指標「{i.name}」（{i.id}）の実績値"
    return out


def stale_findings(reg: Register, ident) -> list[tuple[str, M.Text]]:
    """(severity, message) for a return whose template predates register changes: 差戻し
    (誤り) when fields it should now have are missing, else a 注意 naming the changes."""
    changes = changes_since(reg, ident.issued, ident.department, ident.year)
    if not changes:
        return []
    have = {f.key for f in ident.fields if f.editable}
    missing = [text for key, text in expected_fields(reg, ident.department, ident.year).items() if key not in have]
    what = "、".join(dict.fromkeys(f"{c.key} の{c.column}（{c.reason}）" if c.reason else f"{c.key} の{c.column}"
                                   for c in changes))
    if missing:
        return [(ERROR, M.H016(what=what, missing="、".join(missing)))]
    return [(WARNING, M.H017(what=what))]


# --- one change, start to end ---------------------------------------------------------------
def change_register(ws, year: int, reason: str, by: str, op, now: dt.datetime | None = None) -> list[Change]:
    """Load the register under the lock, apply `op(reg, recorder)`, and save it with the
    changes recorded. Refused while Excel edits are unrecorded (saving would absorb them
    without a record), except by `plan record`, which records exactly those."""
    with RegisterLock(ws.workbooks / ".register.lock"):
        reg = ws.load()
        if by != RECORD and table_diff(reg):
            raise RegisterError(M.H015())
        before = len(reg.changes)
        rec = Recorder(reg, year, reason, by, now)
        op(reg, rec)
        made = reg.changes[before:]
        if made:
            reg.meta["revision"] = str(reg.register_version + 1)
            save_register(reg, ws.register_path, ws.backups)
    return made


RECORD = "plan record"


def describe_change(c: Change) -> str:
    """One Japanese line for a recorded change."""
    what = (f"{c.after or c.before}" if c.column == "行" else
            f"{c.column}: 「{_clip(c.before)}」→「{_clip(c.after)}」")
    return f"{c.year}年度から  「{c.sheet}」{c.key}  {what}  （{c.by}、{c.when}）{c.reason}"


def describe_change_row(c: Change) -> list:
    """A change as the report's 計画の変更 sheet shows it."""
    return [fy_short(c.year), c.sheet, c.key, c.column, c.before, c.after, c.reason, f"{c.by} {c.when}"]


def _clip(text: str, n: int = 30) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"
