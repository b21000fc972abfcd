"""`plan-xl check`: integrity checks of the master register, the safety net under every edit.

One small rule per function (in the manner of frictionless checks): each takes a `Context`
(the register, its sheet rows and a locator), yields findings, and is registered with `@rule`
and the catalogue codes it can report (plan_xl.messages; docs/messages.md). Every finding names
the sheet, the row and the column the clerk must look at (「指標」 12行目 C列（目標値）).
`check_register` never raises: a rule that fails unexpectedly is itself reported as a finding.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .. import messages as M
from ..errors import RegisterError
from ..findings import ERROR, WARNING, Finding
from .evaluate import check_evaluation_settings
from .history import table_diff
from .model import (
    ASSIGN_ACTUAL,
    ASSIGN_KINDS,
    ASSIGN_PART,
    ASSIGN_PROGRESS,
    ENDINGS,
    FIVE_LESS,
    Indicator,
    Plan,
    Register,
    format_number,
    name_index,
    name_key,
)
from .store import EXCEL_MAX_TEXT, row_key, table_dicts, where

PLAN_ID = re.compile(r"^\d+-\d+-\d+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ERA_YEARS = range(1900, 2200)


class Context:
    """What the rules look at: the register, its sheet rows, and where each row is."""

    def __init__(self, reg: Register):
        self.reg = reg
        self.tables = reg.tables or table_dicts(reg)
        self.rows: dict[tuple[str, str], int] = {}
        for sheet in ("所管課", "計画", "節", "指標", "目標値の履歴", "目標体系"):
            for n, values in self.tables.get(sheet, []):
                self.rows.setdefault((sheet, row_key(sheet, values)), n)
        self.period = _period(reg)
        self.known = {d.name for d in reg.departments}
        self.names = name_index(reg.departments)
        self.plans = {p.id: p for p in reg.plans}
        self.indicators = {i.id: (p, i) for p in reg.plans for i in p.indicators}

    def department_name(self, text: str) -> str | None:
        """As Register.department_name, in constant time (a register holds thousands of returns)."""
        return self.names.get(name_key(text))

    def at(self, sheet: str, key: str, header: str | None = None) -> str:
        n = self.rows.get((sheet, key))
        if n is None:
            return f"{key}" + (f" {header}" if header else "")
        return self.where(sheet, n, header)

    def where(self, sheet: str, row: int, header: str | None = None) -> str:
        """「12行目 C列（目標値）」 with the column letter of the workbook as the clerk has it."""
        return where(sheet, row, header, self.tables.get("_headers", {}).get(sheet))

    def error(self, sheet: str, key: str, header: str | None, message: str) -> Finding:
        return Finding(ERROR, message, sheet, self.at(sheet, key, header))

    def warn(self, sheet: str, key: str, header: str | None, message: str) -> Finding:
        return Finding(WARNING, message, sheet, self.at(sheet, key, header))


def _period(reg: Register) -> range | None:
    try:
        period = reg.all_years
    except (KeyError, ValueError, TypeError):
        return None
    return period if len(period) and period[0] in ERA_YEARS and period[-1] in ERA_YEARS else None


@dataclass(frozen=True)
class Rule:
    """One rule of the register: its check, and the catalogue codes of what it can find."""

    check: Callable[[Context], Iterable[Finding]]
    codes: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.check.__name__


RULES: list[Rule] = []


def rule(*messages: M.Message):
    """Register a check as a rule, with the messages it reports (docs and tests read them)."""
    def register(check):
        RULES.append(Rule(check, tuple(m.code for m in messages)))
        return check
    return register


def check_register(reg: Register) -> list[Finding]:
    """Every problem found in the register, errors and warnings (never stops at the first,
    never raises)."""
    out: list[Finding] = list(reg.load_findings)
    try:
        ctx = Context(reg)
    except Exception as e:  # noqa: BLE001 - a register too broken to index is still a finding
        return out + [Finding(ERROR, M.R001(error_type=type(e).__name__, error=e), "")]
    seen = {(f.sheet, f.cell.split(" ")[0]) for f in out}  # a row the loader skipped: not again
    for r in RULES:
        try:
            found = list(r.check(ctx))
        except Exception as e:  # noqa: BLE001 - one broken rule must not hide the others
            found = [Finding(ERROR, M.R002(rule=r.name, error_type=type(e).__name__, error=e))]
        out += [f for f in found if (f.sheet, f.cell.split(" ")[0]) not in seen or f.severity == WARNING]
    return out


def describe(f: Finding) -> str:
    """「[誤り] 「指標」シート 12行目 C列（目標値）: …」, as `plan-xl check` prints a finding."""
    where_ = " ".join(p for p in (f"「{f.sheet}」シート" if f.sheet else "", f.cell) if p)
    return f"[{f.severity}] {where_}: {f.message}" if where_ else f"[{f.severity}] {f.message}"


# --- 情報 and 所管課 ------------------------------------------------------------------------
@rule(M.R003, M.R004, M.R005, M.R006)
def meta_present(ctx: Context):
    for key in ("plan_start", "plan_end", "baseline_year", "coordinating_department"):
        if not ctx.reg.meta.get(key):
            yield Finding(ERROR, M.R003(key=key), "情報", key)
    for key in ("plan_start", "plan_end", "baseline_year"):
        value = ctx.reg.meta.get(key, "")
        if value and not (value.isdigit() and int(value) in ERA_YEARS):
            yield Finding(ERROR, M.R004(key=key, value=value), "情報", key)
    if ctx.period is None and ctx.reg.meta.get("plan_start", "").isdigit():
        yield Finding(ERROR, M.R005(), "情報", "plan_start")
    elif ctx.period is not None and len(ctx.reg.period) > 4:
        yield Finding(ERROR, M.R006(), "情報", "plan_end")


@rule(M.R007)
def departments_unique(ctx: Context):
    """Names and aliases must identify one department (width and spacing ignored): a collision
    is reported at the alias that causes it, or at the later of two look-alike names."""
    entries: dict[str, list[tuple[str, str, bool]]] = {}
    for d in ctx.reg.departments:
        for k, name in enumerate([d.name, *d.aliases]):
            entries.setdefault(name_key(name), []).append((d.name, name, k > 0))
    for found in entries.values():
        owners = list(dict.fromkeys(owner for owner, _, _ in found))
        if len(owners) < 2:
            continue
        aliases = [e for e in found if e[2]]
        for owner, name, _ in aliases or [e for e in found if e[0] != owners[0]]:
            others = "、".join(o for o in owners if o != owner)
            what = "別名" if aliases else "所管課名"
            yield ctx.error("所管課", owner, "別名" if aliases else "所管課",
                            M.R007(what=what, name=name, others=others))


@rule(M.R008, M.R009, M.R010)
def department_contacts(ctx: Context):
    for d in ctx.reg.departments:
        if d.email and not EMAIL.match(d.email):
            yield ctx.error("所管課", d.name, "メール", M.R008(email=d.email))
        if not d.email and d.validity.end is None:
            yield ctx.warn("所管課", d.name, "メール", M.R009())
    if ctx.reg.meta.get("coordinating_department") not in ctx.known:
        yield Finding(ERROR, M.R010(), "情報", "coordinating_department")


# --- 目標体系 and 計画 ----------------------------------------------------------------------
@rule(M.R011)
def hierarchy(ctx: Context):
    goals = {g.number for g in ctx.reg.goals}
    for i in ctx.reg.initiatives:
        if i.goal not in goals:
            yield ctx.error("目標体系", f"取組事項|{i.goal}|{i.number}", "重点推進目標",
                            M.R011(goal=i.goal))


@rule(M.R012, M.R013, M.R014, M.R015, M.R016, M.R017)
def plan_rows(ctx: Context):
    initiatives = {(i.goal, i.number) for i in ctx.reg.initiatives}
    for p in ctx.reg.plans:
        if not PLAN_ID.match(p.id):
            yield ctx.error("計画", p.id, "計画ID", M.R012(plan_id=p.id))
            continue
        if (p.goal, p.initiative) not in initiatives:
            yield ctx.error("計画", p.id, "計画ID", M.R013(goal=p.goal, initiative=p.initiative))
        if not p.name.strip():
            yield ctx.error("計画", p.id, "実施計画名", M.R014())
        if not p.departments:
            yield ctx.error("計画", p.id, "所管課", M.R015())
        for f in p.five_less:
            if f not in FIVE_LESS:
                yield ctx.error("計画", p.id, f, M.R016(item=f))
        if not p.sections:
            yield ctx.error("計画", p.id, "計画ID", M.R017())


@rule(M.R018)
def duplicate_ids(ctx: Context):
    """A second row with the same id would silently replace or shadow the first."""
    for sheet, header in (("計画", "計画ID"), ("節", "節"), ("指標", "指標ID"), ("所管課", "所管課")):
        first: dict[str, int] = {}
        for n, values in ctx.tables.get(sheet, []):
            key = row_key(sheet, values)
            if key in first:
                yield Finding(ERROR, M.R018(header=header, key=key.replace("|", " 節"), first_row=first[key]),
                              sheet, ctx.where(sheet, n, header))
            else:
                first[key] = n


def _department_problem(ctx: Context, name: str) -> M.Text | None:
    if name in ctx.known:
        return None
    canonical = ctx.department_name(name)
    if canonical:
        return M.R061(name=name, canonical=canonical)
    return M.R062(name=name)


@rule(M.R019, M.R061, M.R062)
def plan_departments(ctx: Context):
    for p in ctx.reg.plans:
        for d in p.departments:
            if problem := _department_problem(ctx, d):
                yield ctx.error("計画", p.id, "所管課", problem)
        for s in p.sections:
            for d in s.departments:
                if problem := _department_problem(ctx, d):
                    yield ctx.error("節", f"{p.id}|{s.number}", "所管課", problem)
                elif d not in p.departments:
                    yield ctx.warn("節", f"{p.id}|{s.number}", "所管課", M.R019(department=d))


@rule(M.R020)
def departments_in_force(ctx: Context):
    """A department that ended (merged, abolished) must not own what is still in force after."""
    ended = {d.name: d.validity for d in ctx.reg.departments if d.validity.end is not None}
    for p in ctx.reg.plans:
        for s in p.sections:
            for d in (s.departments or p.departments):
                v = ended.get(d)
                last = _last_year(ctx, p.validity.end, s.validity.end)
                if v and (last is None or last > v.end):
                    sheet, key = ("節", f"{p.id}|{s.number}") if s.departments else ("計画", p.id)
                    yield ctx.error(sheet, key, "所管課",
                                    M.R020(department=d, end=v.end, how=v.how or "終了", next_year=v.end + 1,
                                           what="節" if s.departments else "計画",
                                           to_whom=M.R068(successor=v.successor) if v.successor
                                           else M.R069()))


def _last_year(ctx: Context, *ends: int | None) -> int | None:
    known = [e for e in ends if e is not None]
    return min(known) if known else (ctx.period[-1] if ctx.period else None)


@rule(M.R021, M.R022, M.R023, M.R024, M.R025)
def validity(ctx: Context):
    items = [("所管課", d.name, d.validity) for d in ctx.reg.departments]
    items += [("計画", p.id, p.validity) for p in ctx.reg.plans]
    items += [("節", f"{p.id}|{s.number}", s.validity) for p in ctx.reg.plans for s in p.sections]
    items += [("指標", i.id, i.validity) for p in ctx.reg.plans for i in p.indicators]
    ids = {p.id for p in ctx.reg.plans} | {i.id for p in ctx.reg.plans for i in p.indicators}
    for sheet, key, v in items:
        if v.start is not None and v.end is not None and v.start > v.end:
            yield ctx.error(sheet, key, "適用終了", M.R021(end=v.end, start=v.start))
        if v.how and v.how not in ENDINGS:
            yield ctx.error(sheet, key, "終了区分", M.R022(how=v.how, endings="」「".join(ENDINGS)))
        if v.end is not None and not v.how:
            yield ctx.warn(sheet, key, "終了区分", M.R023())
        if v.how == "統合" and not v.successor:
            yield ctx.error(sheet, key, "後継", M.R024())
        for successor in [x for x in re.split("[、,]", v.successor) if x]:
            if successor not in ids and ctx.department_name(successor) is None:
                yield ctx.error(sheet, key, "後継", M.R025(successor=successor))


@rule(M.R026)
def section_validity(ctx: Context):
    for p in ctx.reg.plans:
        for s in p.sections:
            if s.validity.start is not None and p.validity.start is not None and s.validity.start < p.validity.start:
                yield ctx.error("節", f"{p.id}|{s.number}", "適用開始",
                                M.R026(start=s.validity.start, plan_start=p.validity.start))


# --- 取組 and 指標 ------------------------------------------------------------------------
@rule(M.R027, M.R028, M.R029, M.R030, M.R031)
def schedules(ctx: Context):
    rows = {}
    for n, values in ctx.tables.get("取組", []):
        rows.setdefault(row_key("取組", values), n)
    for p in ctx.reg.plans:
        for s in p.sections:
            for a_no, a in enumerate(s.actions, 1):
                for r_no, row in enumerate(a.rows, 1):
                    for sp in row:
                        half = ("", "前", "後")[sp.half] if sp.half in (0, 1, 2) else sp.half
                        n = rows.get(f"{p.id}|{s.number}|{a_no}|{r_no}|{sp.start}|{half}")

                        def at(header, n=n, p=p, s=s, a_no=a_no):
                            return ctx.where("取組", n, header) if n else f"{p.id} 節{s.number} 取組{a_no}"
                        yield from _span_findings(ctx, p, a.name, sp, at)
                if not a.name.strip():
                    yield Finding(ERROR, M.R027(), "取組", f"{p.id} 節{s.number} 取組{a_no}")


def _span_findings(ctx: Context, p: Plan, action: str, sp, at):
    period, v = ctx.period, p.validity
    late = (period and sp.end > period[-1]) or (v.end is not None and sp.end > v.end)
    header = "終了年度" if late else "開始年度"
    if period and not (period[0] <= sp.start <= sp.end <= period[-1]):
        yield Finding(ERROR, M.R028(action=action, start=sp.start, end=sp.end, first=period[0],
                                    last=period[-1]), "取組", at(header))
    if v.start is not None and sp.start < v.start:
        yield Finding(ERROR, M.R029(action=action, start=sp.start, end=sp.end, plan_id=p.id,
                                    plan_start=v.start, plan_end=v.end or ""), "取組", at("開始年度"))
    elif v.end is not None and sp.end > v.end:  # the schedule as planned stays readable history
        yield Finding(WARNING, M.R030(action=action, plan_id=p.id, end=v.end), "取組", at("終了年度"))
    if sp.half and (sp.half not in (1, 2) or sp.start != sp.end):
        yield Finding(ERROR, M.R031(), "取組", at("半期"))


@rule(M.R032)
def indicator_ids(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not re.fullmatch(rf"{re.escape(p.id)}\.\d+", i.id):
                yield ctx.error("指標", i.id, "指標ID", M.R032(id=i.id, plan_id=p.id))


@rule(M.R033, M.R034, M.R035, M.R036)
def indicator_fields(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not i.unit.strip():
                yield ctx.error("指標", i.id, "単位", M.R033(name=i.name))
            if i.direction not in ("up", "down"):
                yield ctx.error("指標", i.id, "方向", M.R034())
            if i.comparator not in ("", "以上", "以下"):
                yield ctx.error("指標", i.id, "比較", M.R035())
            if ctx.period and i.target_year not in ctx.period:
                yield ctx.error("指標", i.id, "目標年度", M.R036(target_year=i.target_year))


@rule(M.R037, M.R038)
def target_history(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not i.targets:
                continue
            latest = i.target_for(10_000)
            if latest != i.target:
                yield ctx.error("指標", i.id, "目標値",
                                M.R037(target=format_number(i.target), latest=format_number(latest)))
            for t in i.targets:
                if ctx.period and t.start > ctx.period[-1]:
                    yield ctx.error("目標値の履歴", f"{i.id}|{t.start}|{format_number(t.value)}", "適用開始",
                                    M.R038(start=t.start))


_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")


def printed_target(text: str, ind: Indicator) -> float | None:
    """The number printed after the indicator's name in the 目標値 text (first mention), or None."""
    norm = unicodedata.normalize("NFKC", text).split("現況値")[0]  # after it: baselines
    name = unicodedata.normalize("NFKC", ind.name)
    for line in norm.split("\n"):
        at = line.find(name)
        if at < 0:
            continue
        m = _NUMBER.search(line, at + len(name))
        if m and not line[at + len(name):m.start()].strip(" 　:：").startswith(("（", "(")):
            try:
                return float(m.group().replace(",", ""))
            except ValueError:
                return None
        return None
    return None


@rule(M.R039)
def target_text(ctx: Context):
    for p in ctx.reg.plans:
        for s in p.sections:
            for i in s.indicators:
                printed = printed_target(s.targets_text, i) if s.targets_text else None
                if printed is not None and printed != i.target:
                    yield ctx.error("節", f"{p.id}|{s.number}", "目標値（表記）",
                                    M.R039(name=i.name, printed=format_number(printed), id=i.id,
                                           target=format_number(i.target)))


@rule(M.R040)
def text_lengths(ctx: Context):
    for p in ctx.reg.plans:
        for header, t in (("事業概要", p.overview), ("目指す姿", p.vision)):
            if len(t) > EXCEL_MAX_TEXT:
                yield ctx.error("計画", p.id, header, M.R040(excel_max_text=EXCEL_MAX_TEXT))


# --- 進捗, 指標実績, 提出, 判断記録 --------------------------------------------------------------
@dataclass(frozen=True)
class _Yearly:
    """A sheet of one row per key and year (進捗, 指標実績): how its rows and records are keyed."""

    sheet: str
    records: Callable[[Register], list]
    key: Callable  # a record's key
    row_key: Callable[[dict], tuple]  # a sheet row's key, the same for the row a record was read from
    label: Callable  # where a record is when its row is unknown
    duplicate: M.Message
    references: Callable  # (ctx, record, at) -> findings about what the record refers to


def _located(ctx: Context, spec: _Yearly) -> Iterator[tuple[object, Callable[[str], str], bool]]:
    """Each record with `at(header)` (the k-th record of a key is on the k-th row of that key) and
    whether an earlier record had the same key."""
    numbers: dict[tuple, list[int]] = {}
    for n, values in ctx.tables.get(spec.sheet, []):
        numbers.setdefault(spec.row_key(values), []).append(n)
    seen: Counter = Counter()
    for record in spec.records(ctx.reg):
        key = spec.key(record)
        rows = numbers.get(key, [])
        n = rows[min(seen[key], len(rows) - 1)] if rows else None
        seen[key] += 1

        def at(header, n=n, record=record):
            return ctx.where(spec.sheet, n, header) if n else spec.label(record)
        yield record, at, seen[key] > 1


@rule(M.R041, M.R042, M.R043, M.R044, M.R045, M.R046, M.R047, M.R048, M.R049)
def yearly_rows(ctx: Context):
    """進捗 and 指標実績: no record twice, each refers to what exists and falls in the period."""
    for spec in YEARLY:
        for record, at, again in _located(ctx, spec):
            if again:
                yield Finding(ERROR, spec.duplicate(), spec.sheet, at("年度"))
            yield from spec.references(ctx, record, at)
            if ctx.period and record.year not in ctx.period:
                yield Finding(ERROR, M.R045(), spec.sheet, at("年度"))


def _progress_references(ctx: Context, pr, at):
    plan = ctx.plans.get(pr.plan_id)
    if plan is None:
        yield Finding(ERROR, M.R042(plan_id=pr.plan_id), "進捗", at("計画ID"))
    elif pr.section and pr.section not in {s.number for s in plan.sections}:
        yield Finding(ERROR, M.R043(section=pr.section), "進捗", at("節"))
    elif not plan.validity.covers(pr.year):
        yield Finding(ERROR, M.R044(year=pr.year, plan_id=plan.id, start=plan.validity.start or "",
                                    end=plan.validity.end or ""), "進捗", at("年度"))
    if pr.source.department and ctx.department_name(pr.source.department) is None:
        yield Finding(ERROR, M.R046(department=pr.source.department), "進捗", at("提出課"))


def _actual_references(ctx: Context, a, at):
    found = ctx.indicators.get(a.indicator_id)
    if found is None:
        yield Finding(ERROR, M.R048(indicator_id=a.indicator_id), "指標実績", at("指標ID"))
    elif not (found[0].validity.covers(a.year) and found[1].validity.covers(a.year)):
        yield Finding(ERROR, M.R049(year=a.year, indicator_id=a.indicator_id), "指標実績", at("年度"))


def _int(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return v



YEARLY = (
    _Yearly("進捗", lambda reg: reg.progress, lambda pr: (pr.plan_id, pr.section, pr.year),
            lambda v: (str(v.get("計画ID")), _int(v.get("節")), _int(v.get("年度"))),
            lambda pr: f"{pr.plan_id} 節{pr.section} {pr.year}年度", M.R041, _progress_references),
    _Yearly("指標実績", lambda reg: reg.actuals, lambda a: (a.indicator_id, a.year),
            lambda v: (str(v.get("指標ID")), _int(v.get("年度"))),
            lambda a: f"{a.indicator_id} {a.year}年度", M.R047, _actual_references),
)


@rule(M.R050)
def submission_rows(ctx: Context):
    for n, values in ctx.tables.get("提出", []):
        name = "" if values.get("所管課") is None else str(values.get("所管課"))
        if name and ctx.department_name(name) is None:
            yield Finding(ERROR, M.R050(name=name), "提出", ctx.where("提出", n, "所管課"))


@rule(M.R051)
def decision_rows(ctx: Context):
    plans = {p.id for p in ctx.reg.plans}
    for n, values in ctx.tables.get("判断記録", []):
        pid = "" if values.get("計画ID") is None else str(values.get("計画ID"))
        if pid and pid not in plans:
            yield Finding(ERROR, M.R051(plan_id=pid), "判断記録", ctx.where("判断記録", n, "計画ID"))


@rule(M.R052)
def change_rows(ctx: Context):
    for k, c in enumerate(ctx.reg.changes):
        if c.sheet in {"所管課", "計画", "節", "指標"} and c.column != "行" and (c.sheet, c.key) not in ctx.rows:
            n = ctx.tables.get("変更履歴", [])[k][0] if k < len(ctx.tables.get("変更履歴", [])) else None
            yield Finding(ERROR, M.R052(key=c.key, sheet=c.sheet),
                          "変更履歴", ctx.where("変更履歴", n, "対象") if n else c.key)


@rule(M.R053, M.R054)
def unrecorded_edits(ctx: Context):
    """Edits made in Excel since plan-xl last wrote the register: record them (plan record)."""
    if not ctx.reg.saved_tables:
        return
    for d in table_diff(ctx.reg):
        if d.column == "行" and not d.after:
            yield Finding(ERROR, M.R053(key=d.key), d.sheet,
                          f"{d.key}（削除された行）")
        else:
            at = ctx.where(d.sheet, d.row, None if d.column == "行" else d.column) if d.row else d.key
            what = "行が追加されています" if d.column == "行" else f"「{_short(d.before)}」→「{_short(d.after)}」"
            yield Finding(ERROR, M.R054(what=what), d.sheet, at)


@rule(M.R060, M.R071, M.R072, M.R073, M.R074, M.R075, M.R076, M.R077)
def evaluation_settings(ctx: Context):
    """The rating scale and reason threshold (evaluate.py) as a clerk may edit them."""
    yield from check_evaluation_settings(ctx.reg)


@rule(M.R055, M.R056, M.R057, M.R058, M.R063, M.R064, M.R065, M.R066, M.R067)
def assignment_rows(ctx: Context):
    """記入課 and 関係課の記入 (co-owned items)."""
    yield from check_assignments(ctx.reg)


def check_assignments(reg: Register) -> list[Finding]:
    """記入課: each assignment names a field that exists, one department per field, and every
    department a plan names either fills something of it or is explicitly 参考送付."""
    out: list[Finding] = []
    plans = {p.id: p for p in reg.plans}
    known, names = {d.name for d in reg.departments}, name_index(reg.departments)
    for n, a in enumerate(reg.assignments, 2):
        where, plan = f"{n}行目（{a.plan_id} {a.department}）", plans.get(a.plan_id)
        problem = _assignment_problem(reg, a, plan, known)
        if problem:
            out.append(Finding(ERROR, problem, "記入課", where))
    fields = Counter(a.indicator_id or f"{a.plan_id} 節{a.section}" for a in reg.assignments
                     if a.kind in (ASSIGN_ACTUAL, ASSIGN_PROGRESS))
    for where, n in fields.items():
        if n > 1:
            out.append(Finding(ERROR, M.R055(), "記入課", where))
    for c in reg.contributions:
        where = f"{c.plan_id} 節{c.section} {c.year}年度 {c.department}"
        if c.plan_id not in plans:
            out.append(Finding(ERROR, M.R056(), "関係課の記入", where))
        if names.get(name_key(c.department)) is None:  # an old name kept as an alias is fine
            out.append(Finding(ERROR, M.R057(department=c.department), "関係課の記入", where))
    for plan in reg.plans:
        for d in _silent_departments(reg, plan):
            out.append(Finding(WARNING, M.R058(department=d),
                               "記入課", plan.id))
    return out


def _assignment_problem(reg: Register, a, plan, known: set[str]) -> M.Text | None:
    if a.kind not in ASSIGN_KINDS:
        return M.R063(kinds="」「".join(ASSIGN_KINDS), kind=a.kind)
    if plan is None:
        return M.R056()
    if a.department not in known:
        return M.R057(department=a.department)
    if plan not in reg.plans_of(a.department):
        return M.R064(department=a.department)
    if a.kind == ASSIGN_ACTUAL and a.indicator_id not in {i.id for i in plan.indicators}:
        return M.R065(indicator_id=a.indicator_id)
    if a.kind in (ASSIGN_PART, ASSIGN_PROGRESS) and a.section not in reg.reporting_sections(plan):
        return M.R066(section=a.section, sections=reg.reporting_sections(plan))
    if a.kind == ASSIGN_PART:
        if a.department == reg.progress_owner(plan, a.section):
            return M.R067(department=a.department)
    return None


def _silent_departments(reg: Register, plan) -> list[str]:
    named = dict.fromkeys([*plan.departments, *(d for s in plan.sections for d in s.departments)])
    filling = {reg.progress_owner(plan, s) for s in reg.reporting_sections(plan)}
    filling |= {reg.indicator_owner(plan, i) for i in plan.indicators}
    filling |= {a.department for a in reg.assignments if a.plan_id == plan.id}  # 参考送付 included
    return [d for d in named if d not in filling]


def _short(text: str, n: int = 20) -> str:
    text = str(text).replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"


def require_clean(reg: Register, action: str) -> None:
    """Refuse to go on (`templates`, `report`, `collect`, `mail`) while the register has errors:
    what they write would silently be wrong. There is no --force for errors."""
    errors = [f for f in check_register(reg) if f.severity == ERROR]
    if errors:
        shown = "\n".join(f"  {describe(f)}" for f in errors[:20])
        more = M.R070(count=len(errors) - 20) if len(errors) > 20 else ""
        raise RegisterError(M.R059(count=len(errors), action=action, shown=shown, more=more))
