"""`plan-xl check`: integrity checks of the master register, the safety net under every edit.

One small rule per function (in the manner of frictionless checks): each takes a `Context`
(the register, its sheet rows and a locator) and yields findings. Every finding names the sheet,
the row and the column the clerk must look at (「指標」 12行目 C列（目標値）). `check_register`
never raises: a rule that fails unexpectedly is itself reported as a finding.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator

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


Rule = Callable[[Context], Iterator[Finding]]
RULES: list[Rule] = []


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def check_register(reg: Register) -> list[Finding]:
    """Every problem found in the register, errors and warnings (never stops at the first,
    never raises)."""
    out: list[Finding] = list(reg.load_findings)
    try:
        ctx = Context(reg)
    except Exception as e:  # noqa: BLE001 - a register too broken to index is still a finding
        return out + [Finding(ERROR, f"台帳を確認できません（{type(e).__name__}: {e}）。", "")]
    seen = {(f.sheet, f.cell.split(" ")[0]) for f in out}  # a row the loader skipped: not again
    for check in RULES:
        try:
            found = list(check(ctx))
        except Exception as e:  # noqa: BLE001 - one broken rule must not hide the others
            found = [Finding(ERROR, f"確認「{check.__name__}」を完了できませんでした"
                                    f"（{type(e).__name__}: {e}）。台帳の他の誤りを直してから再実行してください。")]
        out += [f for f in found if (f.sheet, f.cell.split(" ")[0]) not in seen or f.severity == WARNING]
    return out


def describe(f: Finding) -> str:
    """「[誤り] 「指標」シート 12行目 C列（目標値）: …」, as `plan-xl check` prints a finding."""
    where_ = " ".join(p for p in (f"「{f.sheet}」シート" if f.sheet else "", f.cell) if p)
    return f"[{f.severity}] {where_}: {f.message}" if where_ else f"[{f.severity}] {f.message}"


# --- 情報 and 所管課 ------------------------------------------------------------------------
@rule
def meta_present(ctx: Context):
    for key in ("plan_start", "plan_end", "baseline_year", "coordinating_department"):
        if not ctx.reg.meta.get(key):
            yield Finding(ERROR, f"項目「{key}」がありません。", "情報", key)
    for key in ("plan_start", "plan_end", "baseline_year"):
        value = ctx.reg.meta.get(key, "")
        if value and not (value.isdigit() and int(value) in ERA_YEARS):
            yield Finding(ERROR, f"項目「{key}」は西暦の年度（例: 2022）にしてください: {value}", "情報", key)
    if ctx.period is None and ctx.reg.meta.get("plan_start", "").isdigit():
        yield Finding(ERROR, "計画期間の開始年度が終了年度より後です。", "情報", "plan_start")
    elif ctx.period is not None and len(ctx.reg.period) > 4:
        yield Finding(ERROR, "計画期間は4年度までにしてください（行動計画の欄が4年度分です）。", "情報", "plan_end")


@rule
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
                            f"{what}「{name}」は「{others}」の名称・別名と同じです。別名は1つの課にだけ付けてください。")


@rule
def department_contacts(ctx: Context):
    for d in ctx.reg.departments:
        if d.email and not EMAIL.match(d.email):
            yield ctx.error("所管課", d.name, "メール", f"メールアドレスの形式が正しくありません: {d.email}")
        if not d.email and d.validity.end is None:
            yield ctx.warn("所管課", d.name, "メール", "メールアドレスが未登録です（メール送信ができません）。")
    if ctx.reg.meta.get("coordinating_department") not in ctx.known:
        yield Finding(ERROR, "取りまとめ課が所管課シートにありません。", "情報", "coordinating_department")


# --- 目標体系 and 計画 ----------------------------------------------------------------------
@rule
def hierarchy(ctx: Context):
    goals = {g.number for g in ctx.reg.goals}
    for i in ctx.reg.initiatives:
        if i.goal not in goals:
            yield ctx.error("目標体系", f"取組事項|{i.goal}|{i.number}", "重点推進目標",
                            f"重点推進目標{i.goal}がありません。")


@rule
def plan_rows(ctx: Context):
    initiatives = {(i.goal, i.number) for i in ctx.reg.initiatives}
    for p in ctx.reg.plans:
        if not PLAN_ID.match(p.id):
            yield ctx.error("計画", p.id, "計画ID", f"計画ID「{p.id}」は「1-3-5」（重点推進目標-取組事項-番号）の"
                                                  "形にしてください。")
            continue
        if (p.goal, p.initiative) not in initiatives:
            yield ctx.error("計画", p.id, "計画ID", f"取組事項 {p.goal}-{p.initiative} が目標体系シートにありません。")
        if not p.name.strip():
            yield ctx.error("計画", p.id, "実施計画名", "実施計画名が空です。")
        if not p.departments:
            yield ctx.error("計画", p.id, "所管課", "所管課がありません。")
        for f in p.five_less:
            if f not in FIVE_LESS:
                yield ctx.error("計画", p.id, f, f"5レスの項目「{f}」は不明です。")
        if not p.sections:
            yield ctx.error("計画", p.id, "計画ID", "節が1つもありません（「節」シートに行を追加してください）。")


@rule
def duplicate_ids(ctx: Context):
    """A second row with the same id would silently replace or shadow the first."""
    for sheet, header in (("計画", "計画ID"), ("節", "節"), ("指標", "指標ID"), ("所管課", "所管課")):
        first: dict[str, int] = {}
        for n, values in ctx.tables.get(sheet, []):
            key = row_key(sheet, values)
            if key in first:
                yield Finding(ERROR, f"{header}が重複しています（「{key.replace('|', ' 節')}」、{first[key]}行目と同じ）。"
                                     "どちらかの行の ID を直してください。", sheet, ctx.where(sheet, n, header))
            else:
                first[key] = n


def _department_problem(ctx: Context, name: str) -> str | None:
    if name in ctx.known:
        return None
    canonical = ctx.reg.department_name(name)
    if canonical:
        return f"所管課「{name}」は台帳の表記「{canonical}」と違います（全角・半角や別名）。「{canonical}」と書いてください。"
    return f"所管課「{name}」が所管課シートにありません。"


@rule
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
                    yield ctx.warn("節", f"{p.id}|{s.number}", "所管課", f"所管課「{d}」が計画の所管課に含まれていません。")


@rule
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
                                    f"所管課「{d}」は{v.end}年度で終了（{v.how or '終了'}）していますが、"
                                    f"{v.end + 1}年度以降もこの{'節' if s.departments else '計画'}の所管課です。"
                                    f"{'後継の「' + v.successor + '」に' if v.successor else '後継の課に'}"
                                    "変えるか（plan-xl plan merge-department）、実施計画を終了してください"
                                    "（plan-xl plan retire）。")


def _last_year(ctx: Context, *ends: int | None) -> int | None:
    known = [e for e in ends if e is not None]
    return min(known) if known else (ctx.period[-1] if ctx.period else None)


@rule
def validity(ctx: Context):
    items = [("所管課", d.name, d.validity) for d in ctx.reg.departments]
    items += [("計画", p.id, p.validity) for p in ctx.reg.plans]
    items += [("節", f"{p.id}|{s.number}", s.validity) for p in ctx.reg.plans for s in p.sections]
    items += [("指標", i.id, i.validity) for p in ctx.reg.plans for i in p.indicators]
    ids = {p.id for p in ctx.reg.plans} | {i.id for p in ctx.reg.plans for i in p.indicators}
    for sheet, key, v in items:
        if v.start is not None and v.end is not None and v.start > v.end:
            yield ctx.error(sheet, key, "適用終了", f"適用終了 {v.end}年度が適用開始 {v.start}年度より前です。")
        if v.how and v.how not in ENDINGS:
            yield ctx.error(sheet, key, "終了区分", f"終了区分「{v.how}」は「{'」「'.join(ENDINGS)}」のどれかにしてください。")
        if v.end is not None and not v.how:
            yield ctx.warn(sheet, key, "終了区分", "適用終了がありますが、終了区分（統合・完了・廃止など）が空です。")
        if v.how == "統合" and not v.successor:
            yield ctx.error(sheet, key, "後継", "統合した場合は、統合先を「後継」に書いてください。")
        for successor in [x for x in re.split("[、,]", v.successor) if x]:
            if successor not in ids and ctx.reg.department_name(successor) is None:
                yield ctx.error(sheet, key, "後継", f"後継「{successor}」が台帳にありません。")


@rule
def section_validity(ctx: Context):
    for p in ctx.reg.plans:
        for s in p.sections:
            if s.validity.start is not None and p.validity.start is not None and s.validity.start < p.validity.start:
                yield ctx.error("節", f"{p.id}|{s.number}", "適用開始",
                                f"節の適用開始 {s.validity.start}年度が計画の適用開始 {p.validity.start}年度より前です。")


# --- 取組 and 指標 ------------------------------------------------------------------------
@rule
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
                    yield Finding(ERROR, "取組内容が空です。", "取組", f"{p.id} 節{s.number} 取組{a_no}")


def _span_findings(ctx: Context, p: Plan, action: str, sp, at):
    period, v = ctx.period, p.validity
    late = (period and sp.end > period[-1]) or (v.end is not None and sp.end > v.end)
    header = "終了年度" if late else "開始年度"
    if period and not (period[0] <= sp.start <= sp.end <= period[-1]):
        yield Finding(ERROR, f"「{action}」の行動計画の年度 {sp.start}〜{sp.end} が計画期間"
                             f"（{period[0]}〜{period[-1]}年度）の外です。", "取組", at(header))
    if v.start is not None and sp.start < v.start:
        yield Finding(ERROR, f"「{action}」の行動計画 {sp.start}〜{sp.end}年度が、計画 {p.id} の適用期間"
                             f"（{v.start}〜{v.end or ''}年度）の前から始まっています。", "取組", at("開始年度"))
    elif v.end is not None and sp.end > v.end:  # the schedule as planned stays readable history
        yield Finding(WARNING, f"「{action}」の行動計画が、計画 {p.id} の終了（{v.end}年度）の後の年度にも"
                               "あります（終了後の年度の調査票・報告書には出ません）。", "取組", at("終了年度"))
    if sp.half and (sp.half not in (1, 2) or sp.start != sp.end):
        yield Finding(ERROR, "半期の指定は1年度の中だけにしてください。", "取組", at("半期"))


@rule
def indicator_ids(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not re.fullmatch(rf"{re.escape(p.id)}\.\d+", i.id):
                yield ctx.error("指標", i.id, "指標ID", f"指標ID「{i.id}」は計画IDの後に「.番号」を付けた形"
                                                      f"（例: {p.id}.1）にしてください。")


@rule
def indicator_fields(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not i.unit.strip():
                yield ctx.error("指標", i.id, "単位", f"指標「{i.name}」に単位がありません。")
            if i.direction not in ("up", "down"):
                yield ctx.error("指標", i.id, "方向", "方向は「上」か「下」にしてください。")
            if i.comparator not in ("", "以上", "以下"):
                yield ctx.error("指標", i.id, "比較", "比較は「以上」「以下」または空欄にしてください。")
            if ctx.period and i.target_year not in ctx.period:
                yield ctx.error("指標", i.id, "目標年度", f"目標年度 {i.target_year} が計画期間の外です。")


@rule
def target_history(ctx: Context):
    for p in ctx.reg.plans:
        for i in p.indicators:
            if not i.targets:
                continue
            latest = i.target_for(10_000)
            if latest != i.target:
                yield ctx.error("指標", i.id, "目標値",
                                f"目標値 {format_number(i.target)} が「目標値の履歴」の最新の値 {format_number(latest)} と"
                                "違います。目標値を変えるときは「目標値の履歴」に行を追加してください"
                                "（plan-xl plan target で記録できます）。")
            for t in i.targets:
                if ctx.period and t.start > ctx.period[-1]:
                    yield ctx.error("目標値の履歴", f"{i.id}|{t.start}|{format_number(t.value)}", "適用開始",
                                    f"適用開始 {t.start}年度が計画期間の外です。")


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


@rule
def target_text(ctx: Context):
    for p in ctx.reg.plans:
        for s in p.sections:
            for i in s.indicators:
                printed = printed_target(s.targets_text, i) if s.targets_text else None
                if printed is not None and printed != i.target:
                    yield ctx.error("節", f"{p.id}|{s.number}", "目標値（表記）",
                                    f"目標値の表記「{i.name} {format_number(printed)}」が指標 {i.id} の目標値 "
                                    f"{format_number(i.target)} と違います。どちらかを直してください"
                                    "（plan-xl plan target は両方を直します）。")


@rule
def text_lengths(ctx: Context):
    for p in ctx.reg.plans:
        for header, t in (("事業概要", p.overview), ("目指す姿", p.vision)):
            if len(t) > EXCEL_MAX_TEXT:
                yield ctx.error("計画", p.id, header, f"文字数が Excel の上限（{EXCEL_MAX_TEXT:,}字）を超えています。")


# --- 進捗, 指標実績, 提出, 判断記録 --------------------------------------------------------------
@rule
def progress_rows(ctx: Context):
    plans = {p.id: p for p in ctx.reg.plans}
    numbers: dict[tuple, list[int]] = {}
    for n, values in ctx.tables.get("進捗", []):
        numbers.setdefault((str(values.get("計画ID")), _int(values.get("節")), _int(values.get("年度"))), []).append(n)
    counts = Counter((pr.plan_id, pr.section, pr.year) for pr in ctx.reg.progress)
    seen: Counter = Counter()
    for pr in ctx.reg.progress:
        key = (pr.plan_id, pr.section, pr.year)
        rows = numbers.get(key, [])
        n = rows[min(seen[key], len(rows) - 1)] if rows else None
        seen[key] += 1

        def at(header, n=n, pr=pr):
            return ctx.where("進捗", n, header) if n else f"{pr.plan_id} 節{pr.section} {pr.year}年度"
        if counts[key] > 1 and seen[key] > 1:
            yield Finding(ERROR, "同じ計画・節・年度の進捗が重複しています。", "進捗", at("年度"))
        plan = plans.get(pr.plan_id)
        if plan is None:
            yield Finding(ERROR, f"計画ID「{pr.plan_id}」が計画シートにありません（計画の行を削除せず、"
                                 "適用終了年度を記入してください）。", "進捗", at("計画ID"))
        elif pr.section and pr.section not in {s.number for s in plan.sections}:
            yield Finding(ERROR, f"節{pr.section}が節シートにありません。", "進捗", at("節"))
        elif not plan.validity.covers(pr.year):
            yield Finding(ERROR, f"{pr.year}年度は計画 {plan.id} の適用期間（{plan.validity.start or ''}〜"
                                 f"{plan.validity.end or ''}年度）の外です。", "進捗", at("年度"))
        if ctx.period and pr.year not in ctx.period:
            yield Finding(ERROR, "年度が計画期間の外です。", "進捗", at("年度"))
        if pr.source.department and ctx.reg.department_name(pr.source.department) is None:
            yield Finding(ERROR, f"提出課「{pr.source.department}」が所管課シートにありません。", "進捗", at("提出課"))


def _int(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return v


@rule
def actual_rows(ctx: Context):
    indicators = {i.id: (p, i) for p in ctx.reg.plans for i in p.indicators}
    numbers: dict[tuple, list[int]] = {}
    for n, values in ctx.tables.get("指標実績", []):
        numbers.setdefault((str(values.get("指標ID")), _int(values.get("年度"))), []).append(n)
    counts = Counter((a.indicator_id, a.year) for a in ctx.reg.actuals)
    seen: Counter = Counter()
    for a in ctx.reg.actuals:
        key = (a.indicator_id, a.year)
        rows = numbers.get(key, [])
        n = rows[min(seen[key], len(rows) - 1)] if rows else None
        seen[key] += 1

        def at(header, n=n, a=a):
            return ctx.where("指標実績", n, header) if n else f"{a.indicator_id} {a.year}年度"
        if counts[key] > 1 and seen[key] > 1:
            yield Finding(ERROR, "同じ指標・年度の実績が重複しています。", "指標実績", at("年度"))
        if a.indicator_id not in indicators:
            yield Finding(ERROR, f"指標ID「{a.indicator_id}」が指標シートにありません。", "指標実績", at("指標ID"))
        elif not (indicators[a.indicator_id][0].validity.covers(a.year)
                  and indicators[a.indicator_id][1].validity.covers(a.year)):
            yield Finding(ERROR, f"{a.year}年度は指標 {a.indicator_id} の適用期間の外です。", "指標実績", at("年度"))
        if ctx.period and a.year not in ctx.period:
            yield Finding(ERROR, "年度が計画期間の外です。", "指標実績", at("年度"))


@rule
def submission_rows(ctx: Context):
    for n, values in ctx.tables.get("提出", []):
        name = "" if values.get("所管課") is None else str(values.get("所管課"))
        if name and ctx.reg.department_name(name) is None:
            yield Finding(ERROR, f"所管課「{name}」が所管課シートにありません（名称を変えたときは旧名を別名に"
                                 "残してください）。", "提出", ctx.where("提出", n, "所管課"))


@rule
def decision_rows(ctx: Context):
    plans = {p.id for p in ctx.reg.plans}
    for n, values in ctx.tables.get("判断記録", []):
        pid = "" if values.get("計画ID") is None else str(values.get("計画ID"))
        if pid and pid not in plans:
            yield Finding(ERROR, f"計画ID「{pid}」が計画シートにありません。", "判断記録", ctx.where("判断記録", n, "計画ID"))


@rule
def change_rows(ctx: Context):
    for k, c in enumerate(ctx.reg.changes):
        if c.sheet in {"所管課", "計画", "節", "指標"} and c.column != "行" and (c.sheet, c.key) not in ctx.rows:
            n = ctx.tables.get("変更履歴", [])[k][0] if k < len(ctx.tables.get("変更履歴", [])) else None
            yield Finding(ERROR, f"変更履歴の対象「{c.key}」が「{c.sheet}」シートにありません（行を削除しないでください）。",
                          "変更履歴", ctx.where("変更履歴", n, "対象") if n else c.key)


@rule
def unrecorded_edits(ctx: Context):
    """Edits made in Excel since plan-xl last wrote the register: record them (plan record)."""
    if not ctx.reg.saved_tables:
        return
    for d in table_diff(ctx.reg):
        if d.column == "行" and not d.after:
            yield Finding(ERROR, f"行（{d.key}）が削除されています。行は削除せず、元に戻して「適用終了」と"
                                 "「終了区分」を記入してください（plan-xl plan retire でもできます）。", d.sheet,
                          f"{d.key}（削除された行）")
        else:
            at = ctx.where(d.sheet, d.row, None if d.column == "行" else d.column) if d.row else d.key
            what = "行が追加されています" if d.column == "行" else f"「{_short(d.before)}」→「{_short(d.after)}」"
            yield Finding(ERROR, f"Excel での変更が変更履歴に記録されていません（{what}）。"
                                 "plan-xl plan record --from 年度 --reason 理由 で記録してください。", d.sheet, at)


@rule
def evaluation_settings(ctx: Context):
    """The rating scale and reason threshold (evaluate.py) as a clerk may edit them."""
    yield from check_evaluation_settings(ctx.reg)


@rule
def assignment_rows(ctx: Context):
    """記入課 and 関係課の記入 (co-owned items)."""
    yield from check_assignments(ctx.reg)


def check_assignments(reg: Register) -> list[Finding]:
    """記入課: each assignment names a field that exists, one department per field, and every
    department a plan names either fills something of it or is explicitly 参考送付."""
    out: list[Finding] = []
    plans = {p.id: p for p in reg.plans}
    known = {d.name for d in reg.departments}
    for n, a in enumerate(reg.assignments, 2):
        where, plan = f"{n}行目（{a.plan_id} {a.department}）", plans.get(a.plan_id)
        problem = _assignment_problem(reg, a, plan, known)
        if problem:
            out.append(Finding(ERROR, problem, "記入課", where))
    fields = Counter(a.indicator_id or f"{a.plan_id} 節{a.section}" for a in reg.assignments
                     if a.kind in (ASSIGN_ACTUAL, ASSIGN_PROGRESS))
    for where, n in fields.items():
        if n > 1:
            out.append(Finding(ERROR, "同じ欄に記入課が複数あります（1つの欄は1つの課が記入します）。", "記入課", where))
    for c in reg.contributions:
        where = f"{c.plan_id} 節{c.section} {c.year}年度 {c.department}"
        if c.plan_id not in plans:
            out.append(Finding(ERROR, "計画IDが計画シートにありません。", "関係課の記入", where))
        if reg.department_name(c.department) is None:  # an old name kept as an alias is fine
            out.append(Finding(ERROR, f"記入課「{c.department}」が所管課シートにありません。", "関係課の記入", where))
    for plan in reg.plans:
        for d in _silent_departments(reg, plan):
            out.append(Finding(WARNING, f"「{d}」は所管課ですが、記入する欄も参考送付の指定もありません（参考送付として"
                                        "扱います）。「記入課」シートに関係課記入欄か参考送付を登録してください。",
                               "記入課", plan.id))
    return out


def _assignment_problem(reg: Register, a, plan, known: set[str]) -> str:
    if a.kind not in ASSIGN_KINDS:
        return f"区分は「{'」「'.join(ASSIGN_KINDS)}」のいずれかにしてください（{a.kind}）。"
    if plan is None:
        return "計画IDが計画シートにありません。"
    if a.department not in known:
        return f"記入課「{a.department}」が所管課シートにありません。"
    if plan not in reg.plans_of(a.department):
        return f"記入課「{a.department}」はこの実施計画の所管課に含まれていません。"
    if a.kind == ASSIGN_ACTUAL and a.indicator_id not in {i.id for i in plan.indicators}:
        return f"指標ID「{a.indicator_id}」はこの実施計画の指標にありません。"
    if a.kind in (ASSIGN_PART, ASSIGN_PROGRESS) and a.section not in reg.reporting_sections(plan):
        return f"節 {a.section} はこの実施計画の進捗状況の単位ではありません（{reg.reporting_sections(plan)}）。"
    if a.kind == ASSIGN_PART:
        if a.department == reg.progress_owner(plan, a.section):
            return f"「{a.department}」はこの進捗状況の主管課です。関係課記入欄は主管課以外の課に設けます。"
    return ""


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
        more = f"\n  …ほか {len(errors) - 20} 件" if len(errors) > 20 else ""
        raise RegisterError(f"台帳に誤りが {len(errors)} 件あるため、{action}を行いません。"
                            f"直してから、plan-xl check で確かめてください。\n{shown}{more}")
