"""Achievement evaluation (達成度評価): rates, ratings, change against last year, and when a
department must give the reason for a big change (変動要因).

Values in, values out: `evaluate(reg, year)` returns an Evaluation that the report, the
DataFrames (frames.py) and the export share, so all of them say the same thing.

Rules
- Achievement rate (達成率) against the target in force that year (`target_for`); see
  `achievement_rate`. The true rate is kept; `capped` gives the displayed one (at most 100%).
- Rating of an indicator: the first step of the register's scale (評価基準, default S ≥ 100%,
  A ≥ 80%, B ≥ 50%, C below, – no actual) whose minimum the true rate reaches. The rate already
  respects the direction (a "lower is better" indicator gains rate as its value falls).
- Rating of a plan item: from the mean of its indicators' capped rates that year; an item with
  no rated indicator takes its departments' 自己評価 (the worst when sections differ); else –.
- Change against last year (上昇 / 横ばい / 低下): the rating compared with last year's on the
  scale's order; no comparison when either year has no rating.
- Final year of the period: 達成 when the actual meets the target in force, else 未達成.
- A reason is asked when the actual moves by more than the register's threshold (default 30%)
  against last year's actual (the baseline for the first year), or moves the wrong way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from .. import messages as M
from ..errors import RegisterError
from ..findings import ERROR, WARNING, Finding
from .model import FieldKey, Indicator, Lookup, Plan, Rating, Register, format_number

RISE, FLAT, FALL = "上昇", "横ばい", "低下"
MET, NOT_MET = "達成", "未達成"
BASIS_INDICATORS, BASIS_SELF = "指標", "自己評価"


# --- the rate --------------------------------------------------------------------------------
def target_for(ind: Indicator, year: int) -> float:
    """The target in force in `year`. The one place that knows where targets live: point it at
    the register's target history when the register keeps one."""
    return ind.target_for(year)  # 目標値の履歴 (model.Indicator.targets)


def meets(ind: Indicator, value: float, target: float | None = None) -> bool:
    target = ind.target if target is None else target
    return value >= target if ind.direction == "up" else value <= target


# Which formula gave the rate (the 集計's 算定方法 column, explained in report.RATE_NOTE).
METHOD_CHANGE = "標準"
METHOD_KEEP = "現状維持"
METHOD_NO_BASE_UP = "現況値なし"
METHOD_NO_BASE_DOWN = "現況値なし（減少）"


def rate_method(ind: Indicator, target: float | None = None) -> str:
    """Which formula `achievement_rate` applies to this indicator."""
    if ind.baseline is None:
        return METHOD_NO_BASE_UP if ind.direction == "up" else METHOD_NO_BASE_DOWN
    return METHOD_KEEP if meets(ind, ind.baseline, target) else METHOD_CHANGE


def achievement_rate(ind: Indicator, actual: float | None, target: float | None = None) -> float | None:
    """Progress toward `target` (default the indicator's) as a fraction, 1.0 = 100%:
    (actual − baseline) ÷ (target − baseline); a target the baseline already meets is kept
    (100% or 0%); without a baseline actual ÷ target (up) or target ÷ actual (down)."""
    if actual is None:
        return None
    target = ind.target if target is None else target
    method = rate_method(ind, target)
    if method == METHOD_KEEP:
        return 1.0 if meets(ind, actual, target) else 0.0
    if method == METHOD_CHANGE:
        return (actual - ind.baseline) / (target - ind.baseline)
    numerator, denominator = (actual, target) if method == METHOD_NO_BASE_UP else (target, actual)
    return numerator / denominator if denominator else None


def capped(rate: float | None) -> float | None:
    """The rate as displayed and averaged: beyond the target counts as 100%."""
    return None if rate is None else min(rate, 1.0)


# --- ratings ---------------------------------------------------------------------------------
def ranked(scale: list[Rating]) -> list[Rating]:
    """The rating steps best first, however the clerk ordered the 評価基準 rows."""
    steps = [s for s in scale if not s.no_data]
    return sorted(steps, key=lambda s: (s.minimum is None, -(s.minimum or 0.0)))


def rate_label(scale: list[Rating], rate: float | None) -> str:
    """The scale's label for a true achievement rate (None: the no-data label)."""
    if rate is None:
        return no_data_label(scale)
    for step in ranked(scale):
        if step.minimum is None or rate >= step.minimum - 1e-9:
            return step.label
    return no_data_label(scale)


def no_data_label(scale: list[Rating]) -> str:
    return next((s.label for s in scale if s.no_data), "–")


def change(scale: list[Rating], before: str, now: str) -> str:
    """上昇 / 横ばい / 低下 between two labels, '' when either is not a rating."""
    order = [s.label for s in ranked(scale)]
    if before not in order or now not in order:
        return ""
    a, b = order.index(before), order.index(now)
    return FLAT if a == b else RISE if b < a else FALL


def worst(scale: list[Rating], labels: list[str]) -> str:
    order = [s.label for s in ranked(scale)]
    known = [x for x in labels if x in order]
    return max(known, key=order.index) if known else ""


# --- big changes ---------------------------------------------------------------------------
def reason_needed(ind: Indicator, previous: float | None, value: float | None, threshold: float) -> str:
    """Why a 変動要因 is asked for `value` against last year's `previous`, or '' when not."""
    if value is None or previous is None:
        return ""
    delta = value - previous
    wrong_way = delta < 0 if ind.direction == "up" else delta > 0
    if previous and abs(delta) / abs(previous) > threshold + 1e-9:
        return f"{abs(delta) / abs(previous):.0%}{'増加' if delta > 0 else '減少'}"  # 「…から45%増加」
    if wrong_way:
        return "目標と逆の方向に変化"
    return ""


def previous_value(reg_actuals: dict, ind: Indicator, year: int, first_year: int) -> float | None:
    """Last year's actual; for the first year of the period, the baseline (現況値)."""
    before = reg_actuals.get((ind.id, year - 1))
    if before is not None:
        return before.value
    return ind.baseline if year == first_year else None


def reason_bounds(ind: Indicator, previous: float, threshold: float) -> tuple[float | None, float | None]:
    """Values outside [low, high] ask for a reason (None: no bound): exactly `reason_needed`."""
    step = threshold * abs(previous) if previous else None
    if ind.direction == "up":
        return previous, None if step is None else previous + step
    return None if step is None else previous - step, previous


def _template_previous(reg: Register, ind: Indicator, year: int) -> float | None:
    if reg._index is not None:  # a template asks per indicator: no scan of every actual
        actuals = reg._index.actuals_of.get(ind.id, {})
    else:
        actuals = {(a.indicator_id, a.year): a for a in reg.actuals if a.indicator_id == ind.id}
    return previous_value(actuals, ind, year, reg.period[0])


def reason_hint(reg: Register, ind: Indicator, year: int) -> str:
    """The template's prompt: which values of `year` will need a 変動要因."""
    previous = _template_previous(reg, ind, year)
    if previous is None:
        return ""
    low, high = reason_bounds(ind, previous, reg.reason_threshold)
    limits = [f"{format_number(low)} 未満" if low is not None else "",
              f"{format_number(high)} 超" if high is not None else ""]
    label = "前年度" if year != reg.period[0] else "現況値"
    return (f"{label}（{format_number(previous)}）に比べ {'・'.join(x for x in limits if x)} の場合は、"
            "「変動要因」に理由を記入してください。")


def reason_formula(reg: Register, ind: Indicator, year: int, actual_cell: str, reason_cell: str) -> str:
    """An Excel condition that is true while the typed actual needs a reason and has none."""
    previous = _template_previous(reg, ind, year)
    if previous is None:
        return ""
    low, high = reason_bounds(ind, previous, reg.reason_threshold)
    tests = ([f"{actual_cell}<{format_number(low)}"] if low is not None else []) + (
        [f"{actual_cell}>{format_number(high)}"] if high is not None else [])
    return f"=AND(ISNUMBER({actual_cell}),LEN(TRIM({reason_cell}))=0,OR({','.join(tests)}))"


# --- the evaluation --------------------------------------------------------------------------
@dataclass(frozen=True)
class IndicatorResult:
    """One indicator in one year."""

    indicator: Indicator
    year: int
    target: float
    actual: float | None
    rate: float | None  # true rate, not capped
    rating: str
    previous: float | None  # last year's actual (the baseline in the first year)
    change: str  # the rating against last year's
    outcome: str  # 達成 / 未達成 in the final year of the period, else ''
    reason: str  # 変動要因 given by the department
    alert: str  # why a reason is asked, '' when not
    collected: bool = False  # the actual came from a returned file (so a reason was asked)

    @property
    def shown_rate(self) -> float | None:
        return capped(self.rate)


@dataclass(frozen=True)
class PlanResult:
    """One plan item in one year."""

    plan: Plan
    year: int
    rating: str
    basis: str  # 指標 / 自己評価 / ''
    previous_rating: str
    change: str
    rate: float | None  # mean of the indicators' capped rates (basis 指標)


@dataclass
class Evaluation:
    year: int
    scale: list[Rating]
    indicators: list[IndicatorResult] = field(default_factory=list)
    plans: list[PlanResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Plan items per rating, in the scale's order (the no-data label last)."""
        return {s.label: sum(p.rating == s.label for p in self.plans) for s in self.scale}

    def change_counts(self) -> dict[str, int]:
        return {c: sum(p.change == c for p in self.plans) for c in (RISE, FLAT, FALL)}

    def fallen(self) -> list[PlanResult]:
        """Plan items whose rating fell against last year."""
        return [p for p in self.plans if p.change == FALL]

    def plan_result(self, plan_id: str) -> PlanResult:
        return self._plans_by_id[plan_id]

    def indicator_result(self, indicator_id: str) -> IndicatorResult:
        return self._indicators_by_id[indicator_id]

    @cached_property  # a report looks up every row: once the evaluation is complete, index it
    def _plans_by_id(self) -> dict[str, PlanResult]:
        return {p.plan.id: p for p in self.plans}

    @cached_property
    def _indicators_by_id(self) -> dict[str, IndicatorResult]:
        return {r.indicator.id: r for r in self.indicators}


class _Facts:
    """Dict lookups over the register for one evaluation."""

    def __init__(self, reg: Register):
        self.reg, self.scale = reg, reg.rating_scale
        self.actuals = {(a.indicator_id, a.year): a for a in reg.actuals}
        self.self_ratings: dict[tuple[str, int], list[str]] = {}
        for pr in reg.progress:
            self.self_ratings.setdefault((pr.plan_id, pr.year), []).append(pr.self_rating)
        self.first = reg.period[0]

    def indicator(self, ind: Indicator, year: int) -> IndicatorResult:
        target = target_for(ind, year)
        a = self.actuals.get((ind.id, year))
        value = a.value if a else None
        rate = achievement_rate(ind, value, target)
        rating = rate_label(self.scale, rate)
        before = self.actuals.get((ind.id, year - 1))
        before_rating = rate_label(self.scale, achievement_rate(ind, before.value, target_for(ind, year - 1))
                                   if before else None)
        previous = previous_value(self.actuals, ind, year, self.first)
        final = year == self.reg.period[-1] or year == ind.target_year
        outcome = "" if not final or value is None else MET if meets(ind, value, target) else NOT_MET
        return IndicatorResult(ind, year, target, value, rate, rating, previous,
                               change(self.scale, before_rating, rating), outcome,
                               a.reason if a else "",
                               reason_needed(ind, previous, value, self.reg.reason_threshold),
                               bool(a and a.source.file))

    def plan_rating(self, plan: Plan, year: int) -> tuple[str, str, float | None]:
        rates = [capped(achievement_rate(i, a.value, target_for(i, year))) for i in plan.indicators
                 if (a := self.actuals.get((i.id, year)))]
        rates = [r for r in rates if r is not None]
        if rates:
            mean = sum(rates) / len(rates)
            return rate_label(self.scale, mean), BASIS_INDICATORS, mean
        own = worst(self.scale, self.self_ratings.get((plan.id, year), []))
        return (own, BASIS_SELF, None) if own else (no_data_label(self.scale), "", None)


def evaluate(reg: Register, year: int) -> Evaluation:
    """Every indicator and plan item of the register, rated for `year`."""
    facts = _Facts(reg)
    out = Evaluation(year, facts.scale)
    for plan in reg.plans:
        out.indicators += [facts.indicator(ind, year) for ind in plan.indicators]
        rating, basis, rate = facts.plan_rating(plan, year)
        before = facts.plan_rating(plan, year - 1)[0] if year - 1 >= facts.first else ""
        out.plans.append(PlanResult(plan, year, rating, basis, before,
                                    change(facts.scale, before, rating), rate))
    return out


def rating_summary(reg: Register, year: int) -> str:
    """One Japanese line for the CLI: plan items per rating and against last year."""
    ev = evaluate(reg, year)
    counts = "、".join(f"{k} {v}件" for k, v in ev.counts().items())
    changes = "、".join(f"{k} {v}件" for k, v in ev.change_counts().items())
    fallen = "、".join(p.plan.id for p in ev.fallen())
    return f"評価: {counts}（前年度比 {changes}{'：' + fallen if fallen else ''}）"


def self_rating_choices(scale: list[Rating]) -> list[str]:
    """The 自己評価 list in a template: 「A 良好に進捗」."""
    return [f"{s.label} {s.meaning}".strip() for s in scale if not s.no_data]


def self_rating_choice(scale: list[Rating], label: str) -> str:
    """The list entry of a stored 自己評価 label ('' when none)."""
    return next((c for c in self_rating_choices(scale) if label and c.split()[0] == label), label)


def parse_self_rating(scale: list[Rating], text: str) -> str | None:
    """A chosen 自己評価 back to its label (None: not on the list); '' stays ''."""
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if not text:
        return ""
    head = text.split()[0].upper()
    for s in scale:
        if not s.no_data and unicodedata.normalize("NFKC", s.label).upper() == head:
            return s.label
    return None


# --- the register's settings (plan-xl check) -------------------------------------------------
def check_evaluation_settings(reg: Register) -> list[Finding]:
    """評価基準 and reason_threshold_percent as a clerk may have edited them in Excel."""
    out: list[Finding] = []

    def error(where: str, message: M.Text, sheet: str = "評価基準") -> None:
        out.append(Finding(ERROR, message, sheet, where))

    scale = reg.rating_scale
    labels = [s.label for s in scale]
    for n, step in enumerate(scale, 2):
        if not step.label.strip():
            error(f"{n}行目", M.R071())
        elif labels.count(step.label) > 1:
            error(f"{n}行目", M.R072(label=step.label))
        if step.minimum is not None and not 0 <= step.minimum <= 10:
            error(f"{n}行目", M.R073(minimum=step.minimum))
    if sum(s.no_data for s in scale) != 1:
        error("B列", M.R074())
    if sum(s.minimum is None and not s.no_data for s in scale) != 1:
        error("B列", M.R075())
    try:
        if reg.reason_threshold <= 0:
            error("reason_threshold_percent", M.R076(), "情報")
    except RegisterError:
        error("reason_threshold_percent", M.R077(text=reg.meta.get("reason_threshold_percent")), "情報")
    rated = {s.label for s in scale if not s.no_data}
    for pr in reg.progress:
        if pr.self_rating and pr.self_rating not in rated:
            out.append(Finding(WARNING, M.R060(self_rating=pr.self_rating), "進捗",
                               f"{pr.plan_id} 節{pr.section} {pr.year}年度"))
    return out


# --- collect's hooks: reading and merging 変動要因 and 自己評価 ---------------------------------
EVALUATION_FIELDS = ("reason", "rating")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REASON_MAX_CHARS = 2_000


def read_evaluation_field(kind: str, raw, reg: Register, find, sheet: str, cell: str) -> str:
    """The text of a returned 変動要因 or 自己評価 cell; findings through `find`."""
    text = format_number(raw) if isinstance(raw, float) else "" if raw is None else str(raw)
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    if kind == "reason":
        if len(text) > REASON_MAX_CHARS:
            find(ERROR, M.V025(count=len(text), reason_max_chars=REASON_MAX_CHARS), sheet, cell)
        return text
    label = parse_self_rating(reg.rating_scale, text)
    if label is None:
        choices = "、".join(self_rating_choices(reg.rating_scale))
        find(ERROR, M.V026(text=text, choices=choices), sheet, cell)
        return ""
    if not label:
        find(WARNING, M.V027(), sheet, cell)
    return label


def read_evaluation(book, reg: Register, lookup: Lookup, v, find) -> None:
    """collect's rule (collect/validate.RULES): read the department's 変動要因 and 自己評価 cells
    into `v.extras`, and ask in a 注意 for a reason an actual needs and does not have."""
    located = {}
    for spec in v.identity.fields:
        key = spec.field
        if key.kind in EVALUATION_FIELDS and spec.editable:
            sheet, cell = located[key] = book.scan.names.get(spec.name, (spec.sheet, spec.cell))
            v.extras[key] = read_evaluation_field(key.kind, book.cell(sheet, cell), reg, find, sheet, cell)
    if any(k.kind == "reason" for k in located):
        ask_reasons(v, reg, lookup, located, find)


def ask_reasons(v, reg: Register, lookup: Lookup, located: dict, find) -> None:
    """A 注意 at the 変動要因 cell of each actual that moved a lot, or the wrong way, without a
    reason (templates issued before the 変動要因 cell existed are not asked)."""
    for key, value in v.numbers.items():
        reason_key = FieldKey("reason", key.target, key.year)
        if value is None or reason_key not in located or v.extras.get(reason_key):
            continue
        ind = lookup.indicators[key.target]
        previous = previous_value(lookup.actuals_of.get(ind.id, {}), ind, key.year, reg.period[0])
        why = reason_needed(ind, previous, value, reg.reason_threshold)
        if why:
            label = "現況値" if key.year == reg.period[0] else "前年度"
            find(WARNING, M.V028(name=ind.name, value=format_number(value), label=label,
                                 previous=format_number(previous), why=why), *located[reason_key])


def merge_evaluation_fields(extras: dict[FieldKey, str], progress: dict, actuals: dict) -> None:
    """Accepted 変動要因 go with their actual (and its provenance), 自己評価 with the progress row."""
    for key, text in extras.items():
        if key.kind == "reason" and (a := actuals.get((key.target, key.year))):
            a.reason = text
        elif key.kind == "rating" and (pr := progress.get((key.target, key.section, key.year))):
            pr.self_rating = text
