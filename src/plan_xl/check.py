"""`plan-xl check`: integrity checks of the master register."""

from __future__ import annotations

import re
from collections import Counter

from .evaluate import check_evaluation_settings
from .findings import ERROR, WARNING, Finding
from .model import ASSIGN_ACTUAL, ASSIGN_KINDS, ASSIGN_PART, ASSIGN_PROGRESS, FIVE_LESS, Register
from .register import EXCEL_MAX_TEXT

PLAN_ID = re.compile(r"^\d+-\d+-\d+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_register(reg: Register) -> list[Finding]:
    """Every problem found in the register, errors and warnings (never stops at the first)."""
    out: list[Finding] = []

    def error(sheet: str, where: str, msg: str) -> None:
        out.append(Finding(ERROR, msg, sheet, where))

    def warn(sheet: str, where: str, msg: str) -> None:
        out.append(Finding(WARNING, msg, sheet, where))

    for key in ("plan_start", "plan_end", "baseline_year", "coordinating_department"):
        if not reg.meta.get(key):
            error("情報", key, f"項目「{key}」がありません。")
    period = reg.period
    known = {d.name for d in reg.departments}
    for name, n in Counter(d.name for d in reg.departments).items():
        if n > 1:
            error("所管課", name, "同じ所管課が複数回登録されています。")
    for d in reg.departments:
        if d.email and not EMAIL.match(d.email):
            error("所管課", d.name, f"メールアドレスの形式が正しくありません: {d.email}")
        if not d.email:
            warn("所管課", d.name, "メールアドレスが未登録です（メール送信ができません）。")
    if reg.meta.get("coordinating_department") not in known:
        error("情報", "coordinating_department", "取りまとめ課が所管課シートにありません。")

    goals = {g.number for g in reg.goals}
    initiatives = {(i.goal, i.number) for i in reg.initiatives}
    for i in reg.initiatives:
        if i.goal not in goals:
            error("目標体系", f"取組事項{i.number}", f"重点推進目標{i.goal}がありません。")
    for pid, n in Counter(p.id for p in reg.plans).items():
        if n > 1:
            error("計画", pid, "計画IDが重複しています。")
    indicator_ids = Counter(i.id for p in reg.plans for i in p.indicators)
    for iid, n in indicator_ids.items():
        if n > 1:
            error("指標", iid, "指標IDが重複しています。")

    for p in reg.plans:
        if not PLAN_ID.match(p.id):
            error("計画", p.id, "計画IDは「1-3-5」（重点推進目標-取組事項-番号）の形にしてください。")
            continue
        if (p.goal, p.initiative) not in initiatives:
            error("計画", p.id, f"取組事項 {p.goal}-{p.initiative} が目標体系シートにありません。")
        if not p.name.strip():
            error("計画", p.id, "実施計画名が空です。")
        if not p.departments:
            error("計画", p.id, "所管課がありません。")
        for d in p.departments:
            if d not in known:
                error("計画", p.id, f"所管課「{d}」が所管課シートにありません。")
        for f in p.five_less:
            if f not in FIVE_LESS:
                error("計画", p.id, f"5レスの項目「{f}」は不明です。")
        if not p.sections:
            error("節", p.id, "節が1つもありません。")
        for s in p.sections:
            where = f"{p.id} 節{s.number}"
            for d in s.departments:
                if d not in known:
                    error("節", where, f"所管課「{d}」が所管課シートにありません。")
                elif d not in p.departments:
                    warn("節", where, f"所管課「{d}」が計画の所管課に含まれていません。")
            for a in s.actions:
                if not a.name.strip():
                    error("取組", where, "取組内容が空です。")
                for row in a.rows:
                    for sp in row:
                        if not (period[0] <= sp.start <= sp.end <= period[-1]):
                            error("取組", f"{where}「{a.name}」",
                                  f"行動計画の年度 {sp.start}〜{sp.end} が計画期間"
                                  f"（{period[0]}〜{period[-1]}年度）の外です。")
                        if sp.half and (sp.half not in (1, 2) or sp.start != sp.end):
                            error("取組", f"{where}「{a.name}」", "半期の指定は1年度の中だけにしてください。")
            for i in s.indicators:
                if not i.unit.strip():
                    error("指標", i.id, f"指標「{i.name}」に単位がありません。")
                if i.direction not in ("up", "down"):
                    error("指標", i.id, "方向は「上」か「下」にしてください。")
                if i.comparator not in ("", "以上", "以下"):
                    error("指標", i.id, "比較は「以上」「以下」または空欄にしてください。")
                if i.target_year not in period:
                    error("指標", i.id, f"目標年度 {i.target_year} が計画期間の外です。")
    for f in _text_lengths(reg):
        out.append(f)

    plans = {p.id: p for p in reg.plans}
    for pid, sec, year in [k for k, n in Counter((pr.plan_id, pr.section, pr.year)
                                                 for pr in reg.progress).items() if n > 1]:
        error("進捗", f"{pid} 節{sec} {year}年度", "同じ計画・年度の進捗が重複しています。")
    for pr in reg.progress:
        where = f"{pr.plan_id} 節{pr.section} {pr.year}年度"
        if pr.plan_id not in plans:
            error("進捗", where, "計画IDが計画シートにありません。")
        elif pr.section > len(plans[pr.plan_id].sections):
            error("進捗", where, "節番号が節シートにありません。")
        if pr.year not in period:
            error("進捗", where, "年度が計画期間の外です。")
        if pr.source.department and pr.source.department not in known:
            error("進捗", where, f"提出課「{pr.source.department}」が所管課シートにありません。")
    for a in reg.actuals:
        where = f"{a.indicator_id} {a.year}年度"
        if a.indicator_id not in indicator_ids:
            error("指標実績", where, "指標IDが指標シートにありません。")
        if a.year not in period:
            error("指標実績", where, "年度が計画期間の外です。")
    for (iid, year), n in Counter((a.indicator_id, a.year) for a in reg.actuals).items():
        if n > 1:
            error("指標実績", f"{iid} {year}年度", "同じ指標・年度の実績が重複しています。")
    for d in reg.decisions:
        if d.plan_id not in plans:
            error("判断記録", d.plan_id, "計画IDが計画シートにありません。")
    out += check_evaluation_settings(reg)
    out += check_assignments(reg)
    return out


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
        if c.department not in known:
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


def _text_lengths(reg: Register) -> list[Finding]:
    texts = [("計画", p.id, t) for p in reg.plans for t in (p.overview, p.vision)]
    texts += [("進捗", f"{pr.plan_id} {pr.year}年度", t) for pr in reg.progress
              for t in (pr.results, pr.revision)]
    return [Finding(ERROR, f"文字数が Excel の上限（{EXCEL_MAX_TEXT:,}字）を超えています。", s, w)
            for s, w, t in texts if len(t) > EXCEL_MAX_TEXT]
