"""The domain model of the administrative-reform plan.

goal (重点推進目標) → initiative (取組事項) → plan (実施計画) → sections (〈…〉 sub-programmes)
→ actions (取組内容, with a per-year schedule) and indicators (数値目標), plus progress
(進捗状況: 実績 and 計画の見直し) and indicator actuals per fiscal year.

The records a register gathers by the thousand every year (progress, actuals, submissions,
their provenance, changes, contributions) and the field keys of every returned file are slotted
dataclasses: no dict per object (~100 bytes each). The plan part keeps plain dataclasses: it is
few objects, and history's copies of it go through each object's __dict__.
"""

from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field

from .. import messages as M
from ..errors import RegisterError

FIVE_LESS = ("カウンター", "キャッシュ", "ペーパー", "ファイル", "ムーブ")
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def name_key(text: str) -> str:
    """Identity of a name regardless of width and spacing: 「D X戦略課」 == 「DX戦略課」.

    Used to match identifiers only; displayed text is never normalised."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def format_number(value: float | None) -> str:
    """12179.0 -> '12179', 5.7 -> '5.7', None -> ''."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10g}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a collected value came from (empty for values from the FY2022 reference)."""

    file: str = ""
    sha256: str = ""
    department: str = ""
    template_id: str = ""
    received: str = ""  # ISO 8601 time the file was collected


ENDINGS = ("継続", "新規", "拡充", "統合", "完了", "廃止", "名称変更", "再編")


@dataclass
class Validity:
    """The fiscal years something is in force (適用期間): from `start` to `end` inclusive,
    either open (None). `how` says how it ended (統合 / 完了 / 廃止 / 名称変更 / 再編 …) and
    `successor` names what carries it on (an id or a department), when there is one."""

    start: int | None = None
    end: int | None = None
    how: str = ""
    successor: str = ""

    def covers(self, year: int) -> bool:
        return (self.start is None or self.start <= year) and (self.end is None or year <= self.end)


@dataclass(frozen=True)
class Target:
    """One entry of an indicator's target history (目標値の履歴): in force from `start`."""

    value: float
    start: int
    note: str = ""


@dataclass(slots=True)
class Change:
    """One recorded change of the plan (変更履歴): what, from which year, why, when, by what."""

    sheet: str  # the register sheet changed, e.g. 計画
    key: str  # the row's id, e.g. 1-3-5, 1-3-5.1, 1-3-5|1, a department name
    column: str  # the column changed; 行 for a whole row added (before empty) or removed
    before: str
    after: str
    year: int  # the first fiscal year the change applies to
    reason: str = ""
    when: str = ""  # ISO 8601 time the change was recorded
    by: str = ""  # the command, or 「Excel で編集」


@dataclass
class Span:
    """One cell of an action's schedule (行動計画): fiscal years start..end inclusive.
    half 1/2 marks a half-year cell in tables printed with two columns per year."""

    start: int
    end: int
    text: str
    half: int = 0


@dataclass
class Action:
    """取組内容: one action with one or more printed schedule rows."""

    name: str
    rows: list[list[Span]] = field(default_factory=list)
    validity: Validity = field(default_factory=Validity)


@dataclass
class Indicator:
    """A numeric target (目標値) with its baseline (現況値)."""

    id: str  # e.g. "1-1-3.2": plan id, then the indicator's number within the plan
    plan_id: str
    section: int
    name: str
    unit: str
    target: float
    comparator: str = ""  # 以上, 以下 or ""
    target_year: int = 2025
    baseline: float | None = None
    baseline_label: str = ""  # e.g. 2021年度末
    direction: str = "up"  # up: higher is better; down: lower is better
    validity: Validity = field(default_factory=Validity)
    targets: list[Target] = field(default_factory=list)  # history; empty: `target` always

    @property
    def label(self) -> str:
        return f"{self.name}（{self.unit}）" if self.unit else self.name

    def target_for(self, year: int) -> float:
        """The target in force in fiscal `year`: the last history entry starting on or before
        it (a later entry of the same year replaces an earlier one), else the first entry."""
        if not self.targets:
            return self.target
        ordered = sorted(self.targets, key=lambda t: t.start)  # stable: same-year order kept
        in_force = [t for t in ordered if t.start <= year]
        return (in_force[-1] if in_force else ordered[0]).value

    @property
    def percent(self) -> bool:
        return self.unit.startswith(("%", "％"))

    @property
    def bounds(self) -> tuple[float, float | None]:
        """The possible range of a value: percentages 0–100, everything else ≥ 0."""
        return (0.0, 100.0) if self.percent else (0.0, None)


@dataclass
class Section:
    """A sub-programme of a plan (e.g. スマートシニア応援事業 <健康長寿課>); a plan without
    sub-headings has one section with an empty title."""

    plan_id: str
    number: int
    title: str = ""
    departments: list[str] = field(default_factory=list)  # empty: the plan's departments
    overview: str = ""
    vision: str = ""
    targets_text: str = ""
    actions: list[Action] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    validity: Validity = field(default_factory=Validity)


@dataclass
class Plan:
    """実施計画: one plan item."""

    id: str  # goal-initiative-number, e.g. "1-3-5"
    name: str
    departments: list[str]
    overview: str = ""
    vision: str = ""
    five_less: list[str] = field(default_factory=list)
    disclosure_website: bool = False
    disclosure_other: str = ""
    disclosure_pages: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    validity: Validity = field(default_factory=Validity)

    @property
    def goal(self) -> int:
        return int(self.id.split("-")[0])

    @property
    def initiative(self) -> int:
        return int(self.id.split("-")[1])

    @property
    def number(self) -> int:
        return int(self.id.split("-")[2])

    @property
    def mark(self) -> str:
        """The circled number printed in the title row (①)."""
        n = self.number
        return CIRCLED[n - 1] if 1 <= n <= len(CIRCLED) else str(n)

    @property
    def indicators(self) -> list[Indicator]:
        return [i for s in self.sections for i in s.indicators]

    def section_departments(self, number: int) -> list[str]:
        if number == 0:
            return self.departments
        return self.sections[number - 1].departments or self.departments

    def owner(self, section: int) -> str:
        """The one department responsible for a progress field: a section's first
        department, else the plan's first."""
        return self.section_departments(section)[0]


@dataclass(frozen=True, slots=True)
class FieldKey:
    """One input field of a year: 実績 (results) or 計画の見直し (revision) of a plan's progress
    row (section 0 = the whole plan), or an indicator's actual value (section unused, 0).

    Issued templates carry it as text ("results|1-3-1|2|2023", "actual|1-3-1.2|2023"); `parse`
    and `str` convert, nothing else splits that text."""

    kind: str  # results, revision or actual; reason (変動要因) or rating (自己評価), evaluate.py;
    # part_results, part_revision, part_none (a co-owner's part, with `department`)
    target: str  # plan id, or indicator id for an actual or its reason
    year: int
    section: int = 0
    department: str = ""  # the co-owner whose part it is (part_* kinds only)

    @classmethod
    def parse(cls, text: str) -> FieldKey:
        parts = str(text).split("|")
        if parts[0] in ("actual", "reason") and len(parts) == 3:  # reason: 変動要因 of an actual
            return cls(parts[0], parts[1], int(parts[2]))
        if parts[0] in ("results", "revision", "rating") and len(parts) == 4:  # rating: 自己評価
            return cls(parts[0], parts[1], int(parts[3]), int(parts[2]))
        if parts[0] in PART_KINDS and len(parts) == 5 and parts[4]:
            return cls(parts[0], parts[1], int(parts[3]), int(parts[2]), parts[4])
        raise ValueError(f"not a field key: {text!r}")

    @property
    def is_part(self) -> bool:
        return self.kind in PART_KINDS

    def __str__(self) -> str:
        if self.kind in ("actual", "reason"):
            return f"{self.kind}|{self.target}|{self.year}"
        if self.is_part:
            return f"{self.kind}|{self.target}|{self.section}|{self.year}|{self.department}"
        return f"{self.kind}|{self.target}|{self.section}|{self.year}"


PART_KINDS = ("part_results", "part_revision", "part_none")  # a co-owner's box and its 「特になし」


@dataclass(slots=True)
class Progress:
    """進捗状況 of one plan (section 0) or one section in one fiscal year."""

    plan_id: str
    section: int
    year: int
    results: str = ""  # 実績
    revision: str = ""  # 計画の見直し
    source: Provenance = field(default_factory=Provenance)
    self_rating: str = ""  # 自己評価: a label of the rating scale, for items without numbers


@dataclass(slots=True)
class Actual:
    """An indicator's actual value in one fiscal year."""

    indicator_id: str
    year: int
    value: float
    source: Provenance = field(default_factory=Provenance)
    reason: str = ""  # 変動要因: why the value moved a lot against last year


@dataclass
class Department:
    """所管課."""

    name: str
    aliases: list[str] = field(default_factory=list)
    email: str = ""
    cc: str = ""
    contact: str = ""
    validity: Validity = field(default_factory=Validity)


@dataclass
class Goal:
    number: int
    name: str


@dataclass
class Initiative:
    goal: int
    number: int
    name: str
    aliases: list[str] = field(default_factory=list)


@dataclass
class Decision:
    """How a defect of the source was resolved (判断記録)."""

    plan_id: str
    text: str


ASSIGN_ACTUAL = "指標"  # the department types this indicator's actuals instead of the lead
ASSIGN_PROGRESS = "進捗"  # the department writes a progress row's 実績 / 計画の見直し instead of the lead
ASSIGN_PART = "関係課記入欄"  # the department writes its own part of a progress row's 実績 / 計画の見直し
ASSIGN_REFERENCE = "参考送付"  # named as 所管課, sent the item for information, no return asked
ASSIGN_KINDS = (ASSIGN_ACTUAL, ASSIGN_PROGRESS, ASSIGN_PART, ASSIGN_REFERENCE)
NOTHING_TO_ADD = "特になし"


@dataclass
class Assignment:
    """記入課: a field filled by a department other than the lead (主管課), or a co-owning
    department (関係課) sent an item for information only. Without an assignment every field of
    a progress row or indicator is the lead's."""

    plan_id: str
    department: str
    kind: str = ASSIGN_PART  # one of ASSIGN_KINDS
    section: int = 0  # ASSIGN_PART / ASSIGN_PROGRESS: the progress row (0 = the whole plan)
    indicator_id: str = ""  # ASSIGN_ACTUAL: the indicator


@dataclass(slots=True)
class Contribution:
    """A co-owning department's part (関係課の記入) of one progress row in one fiscal year,
    printed after the lead's text with the department's name."""

    plan_id: str
    section: int
    year: int
    department: str
    results: str = ""  # 実績
    revision: str = ""  # 計画の見直し
    nothing: bool = False  # 「特になし」 chosen: nothing to add this year
    source: Provenance = field(default_factory=Provenance)


@dataclass(slots=True)
class Submission:
    """An accepted returned workbook (提出)."""

    template_id: str
    department: str
    year: int
    file: str
    sha256: str
    received: str
    archived_as: str = ""
    superseded_by: str = ""  # sha256 of the later accepted file, when superseded


@dataclass(frozen=True)
class Rating:
    """One step of the rating scale (評価基準). An achievement rate of at least `minimum`
    (1.0 = 100%) gets `label`; the steps are tried best first. `minimum` None: every rate below
    the steps above; `no_data`: the label when there is no actual (実績なし)."""

    label: str
    minimum: float | None
    meaning: str = ""
    no_data: bool = False


# The scale comparable cities publish (木津川市, 下野市); the register's 評価基準 sheet overrides it.
DEFAULT_RATINGS = (Rating("S", 1.0, "特に良好に進捗"), Rating("A", 0.8, "良好に進捗"),
                   Rating("B", 0.5, "概ね進捗"), Rating("C", None, "進捗に課題あり"),
                   Rating("–", None, "実績なし", no_data=True))


@dataclass
class Register:
    """The master register: everything plan-xl knows."""

    meta: dict[str, str]
    goals: list[Goal]
    initiatives: list[Initiative]
    departments: list[Department]
    plans: list[Plan]
    progress: list[Progress] = field(default_factory=list)
    actuals: list[Actual] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=lambda: list(DEFAULT_RATINGS))  # 評価基準
    assignments: list[Assignment] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # 変更履歴, oldest first
    # What loading found wrong in the workbook (rows skipped, cells unreadable): check reports it.
    load_findings: list = field(default_factory=list, repr=False, compare=False)
    # Sheet rows as read (row number, {header: value}) and the 前回保存 copy, for check/history.
    tables: dict = field(default_factory=dict, repr=False, compare=False)
    saved_tables: dict = field(default_factory=dict, repr=False, compare=False)
    extra_columns: dict = field(default_factory=dict, repr=False, compare=False)
    # The Lookup of an `indexed()` block; never copied or pickled (a copy is changed freely).
    _index: Lookup | None = field(default=None, init=False, repr=False, compare=False)
    _names: tuple | None = field(default=None, init=False, repr=False, compare=False)  # department_name's

    def __getstate__(self):
        return {**self.__dict__, "_index": None}

    def release_sheets(self) -> None:
        """Let go of the sheets as read and their 前回保存 copy (a third of a long register's
        memory). Only check (cell positions) and history.unrecorded (edits made in Excel) read
        them, before anything changes the register; a later check works from the objects."""
        self.tables, self.saved_tables = {}, {}

    @contextmanager
    def indexed(self):
        """Constant-time lookups (plan, indicator, progress_for, actual_for, plans_of, …) for a
        block that reads the register many times and changes none of it (a report, the
        templates, judging returns); nested blocks share the outer index."""
        if self._index is not None:
            yield self._index
            return
        self._index = Lookup(self)
        try:
            yield self._index
        finally:
            self._index = None

    def index(self) -> Lookup:
        """The index of the enclosing `indexed()` block, or a fresh snapshot."""
        return self._index or Lookup(self)

    # --- lookups -------------------------------------------------------------------------
    @property
    def period(self) -> range:
        return range(int(self.meta["plan_start"]), int(self.meta["plan_end"]) + 1)

    @property
    def periods(self) -> list[range]:
        """Every plan period of the register, oldest first: the ones closed by `plan-xl plan
        new-period` (meta previous_periods, e.g. "2022-2025") and the current one."""
        out = []
        for text in self.meta.get("previous_periods", "").split(","):
            if "-" in text:
                start, end = (int(x) for x in text.split("-"))
                out.append(range(start, end + 1))
        return [*out, self.period]

    def period_of(self, year: int) -> range:
        """The plan period `year` belongs to (the current one for years outside all)."""
        return next((p for p in self.periods if year in p), self.period)

    @property
    def all_years(self) -> range:
        """From the first year of the first period to the end of the current one."""
        return range(self.periods[0][0], self.period[-1] + 1)

    @property
    def baseline_year(self) -> int:
        return int(self.meta["baseline_year"])

    @property
    def rating_scale(self) -> list[Rating]:
        return list(self.ratings or DEFAULT_RATINGS)

    @property
    def reason_threshold(self) -> float:
        """A change against last year above this fraction asks for a 変動要因 (情報 sheet)."""
        text = self.meta.get("reason_threshold_percent") or "30"
        try:
            return float(text) / 100
        except ValueError:

            raise RegisterError(M.S023(text=text)) from None

    @property
    def register_version(self) -> int:
        """台帳の版: one more on every save that changes the register (情報 sheet, 項目 revision)."""
        return int(self.meta.get("revision", "1"))

    def plan(self, plan_id: str) -> Plan:
        if self._index is not None:
            return self._index.plans[plan_id]
        for p in self.plans:
            if p.id == plan_id:
                return p
        raise KeyError(plan_id)

    def indicator(self, indicator_id: str) -> Indicator:
        if self._index is not None:
            return self._index.indicators[indicator_id]
        for p in self.plans:
            for i in p.indicators:
                if i.id == indicator_id:
                    return i
        raise KeyError(indicator_id)

    def department_name(self, text: str) -> str | None:
        """The canonical department name for a printed name or alias, or None."""
        if self._index is not None:
            return self._index.department_name(text)
        # the name index, rebuilt whenever a name or alias differs from those it was built from
        names = [(d.name, *d.aliases) for d in self.departments]
        if self._names is None or self._names[0] != names:
            self._names = (names, name_index(self.departments))
        return self._names[1].get(name_key(text))

    def department(self, name: str) -> Department:
        canonical = self.department_name(name)
        for d in self.departments:
            if d.name == canonical:
                return d
        raise KeyError(name)

    def goal_name(self, number: int) -> str:
        return next(g.name for g in self.goals if g.number == number)

    def initiative_name(self, goal: int, number: int) -> str:
        return next(i.name for i in self.initiatives if i.goal == goal and i.number == number)

    def plans_of(self, department: str) -> list[Plan]:
        """Plans a department owns or shares, in register order."""
        if self._index is not None:
            return list(self._index.plans_of.get(department, []))
        return [p for p in self.plans if department in p.departments
                or any(department in s.departments for s in p.sections)]

    def reporting_sections(self, plan: Plan) -> list[int]:
        """Which progress rows a plan reports: the sections that have had progress of their
        own (3-① reports per section), otherwise the whole plan (0)."""
        return self._reporting_sections().get(plan.id, [0])

    def _reporting_sections(self) -> dict[str, list[int]]:
        if self._index is not None:
            return self._index.reporting
        own: dict[str, set[int]] = {}
        for pr in self.progress:
            if pr.section:
                own.setdefault(pr.plan_id, set()).add(pr.section)
        return {plan_id: sorted(sections) for plan_id, sections in own.items()}

    def progress_for(self, plan_id: str, section: int, year: int) -> Progress | None:
        if self._index is not None:
            return self._index.progress.get((plan_id, section, year))
        for pr in self.progress:
            if (pr.plan_id, pr.section, pr.year) == (plan_id, section, year):
                return pr
        return None

    def actual_for(self, indicator_id: str, year: int) -> Actual | None:
        if self._index is not None:
            return self._index.actuals.get((indicator_id, year))
        for a in self.actuals:
            if (a.indicator_id, a.year) == (indicator_id, year):
                return a
        return None

    def field_owners(self) -> set[str]:
        """Departments that own at least one input field (a progress row, an indicator or a
        contribution box); history.field_owners: those of the plan as in force in a year."""
        owners, reporting = set(), self._reporting_sections()
        for p in self.plans:
            owners.update(self.progress_owner(p, s) for s in reporting.get(p.id, [0]))
            owners.update(self.indicator_owner(p, i) for i in p.indicators)
            owners.update(a.department for a in self.assignments
                          if a.plan_id == p.id and a.kind == ASSIGN_PART)
        return owners

    # --- who fills what (記入課) ------------------------------------------------------------
    def indicator_owner(self, plan: Plan, ind: Indicator) -> str:
        """The department that types an indicator's actuals: its assignment, else the lead of
        the indicator's section."""
        for a in self.assignments:
            if a.kind == ASSIGN_ACTUAL and a.indicator_id == ind.id:
                return a.department
        return plan.owner(ind.section)

    def progress_owner(self, plan: Plan, section: int) -> str:
        """The department that writes a progress row's 実績 and 計画の見直し: its assignment,
        else the lead (the section's, else the plan's, first department)."""
        for a in self.assignments:
            if a.kind == ASSIGN_PROGRESS and (a.plan_id, a.section) == (plan.id, section):
                return a.department
        return plan.owner(section)

    def contributors(self, plan: Plan, section: int) -> list[str]:
        """Co-owning departments with a contribution box (関係課記入欄) in a progress row, in
        the order the plan names them."""
        named = [a.department for a in self.assignments
                 if a.plan_id == plan.id and a.kind == ASSIGN_PART and a.section == section]
        order = {d: n for n, d in enumerate(plan.departments)}
        return sorted(dict.fromkeys(named), key=lambda d: order.get(d, len(order)))

    def contribution_for(self, plan_id: str, section: int, year: int,
                         department: str) -> Contribution | None:
        if self._index is not None:
            return self._index.contributions.get((plan_id, section, year, department))
        for c in self.contributions:
            if (c.plan_id, c.section, c.year, c.department) == (plan_id, section, year, department):
                return c
        return None

    def contributions_of(self, plan: Plan, section: int, year: int) -> list[Contribution]:
        """The co-owners' recorded parts of one progress row, in the order the plan names them."""
        order = {d: n for n, d in enumerate(plan.departments)}
        if self._index is not None:
            rows = self._index.contributions_by_row.get((plan.id, section, year), [])
        else:
            rows = [c for c in self.contributions if (c.plan_id, c.section, c.year) == (plan.id, section, year)]
        return sorted(rows, key=lambda c: (order.get(c.department, len(order)), c.department))

    def reference_only(self) -> set[str]:
        """Departments named as 所管課 that own no field at all: sent their items for
        information (参考送付), no return asked, no reminder."""
        named = {d for p in self.plans for d in [*p.departments, *(x for s in p.sections
                                                                  for x in s.departments)]}
        return named - self.field_owners()

    def recipients(self) -> list[str]:
        """Every department that gets a template (a plan names it), in register order: the
        same list for templates, mails and status."""
        return [d.name for d in self.departments if self.plans_of(d.name)]

    def accepted_departments(self, year: int) -> set[str]:
        """Departments with an accepted submission for `year`, by their current name (a return
        accepted under an old name, now an alias, counts for the renamed department)."""
        return {self.department_name(d) or d for d in {s.department for s in self.submissions if s.year == year}}

    def reported_years(self) -> list[int]:
        if self._index is not None:
            return list(self._index.reported_years)
        return sorted({pr.year for pr in self.progress})

    def first_open_year(self) -> int:
        """The first fiscal year of the plan period that has no progress yet; the year after
        the period when every year has some (templates then asks for a new period)."""
        done = set(self.reported_years())
        for y in self.period:
            if y not in done:
                return y
        return self.period[-1] + 1


def name_index(departments: list[Department]) -> dict[str, str]:
    """name_key of every department name and alias -> the department's name (the first
    department in register order wins, as in Register.department_name)."""
    out: dict[str, str] = {}
    for d in departments:
        for n in [d.name, *d.aliases]:
            out.setdefault(name_key(n), d.name)
    return out


class Lookup:
    """The one index over a register, for code that looks up many times (a report of thousands
    of plans, templates, validating thousands of returned files, merging them). A snapshot:
    build a new one after changing the register. Where the register has duplicates, the first
    row wins, as in the register's own linear lookups."""

    def __init__(self, reg: Register):
        self.plans = _first(reg.plans, lambda p: p.id)
        self.indicators = _first((i for p in reg.plans for i in p.indicators), lambda i: i.id)
        # in register order: merge changes these maps and writes the actuals back from them
        self.actuals = _first(reg.actuals, lambda a: (a.indicator_id, a.year))
        self.actuals_of: dict[str, dict[tuple[str, int], Actual]] = {}  # per indicator, last row wins
        for a in reg.actuals:
            self.actuals_of.setdefault(a.indicator_id, {})[(a.indicator_id, a.year)] = a
        self.memo: dict = {}  # values derived from the whole register (layout.input_height)
        self.progress = _first(reg.progress, lambda pr: (pr.plan_id, pr.section, pr.year))
        self.contributions = _first(reg.contributions, lambda c: (c.plan_id, c.section, c.year, c.department))
        self.contributions_by_row: dict[tuple[str, int, int], list[Contribution]] = {}  # in register order
        for c in reg.contributions:
            self.contributions_by_row.setdefault((c.plan_id, c.section, c.year), []).append(c)
        self.departments = name_index(reg.departments)
        self.submissions = {s.sha256: s for s in reg.submissions}
        self.by_department_year: dict[tuple[str, int], list[Submission]] = {}
        for s in reg.submissions:
            self.by_department_year.setdefault((s.department, s.year), []).append(s)
        own: dict[str, set[int]] = {}
        for pr in reg.progress:
            if pr.section:
                own.setdefault(pr.plan_id, set()).add(pr.section)
        self.own_sections = own
        self.reporting = {plan_id: sorted(sections) for plan_id, sections in own.items()}
        self.reported_years = sorted({pr.year for pr in reg.progress})
        self.plans_of: dict[str, list[Plan]] = {}
        for p in reg.plans:
            for d in dict.fromkeys([*p.departments, *(x for s in p.sections for x in s.departments)]):
                self.plans_of.setdefault(d, []).append(p)

    def department_name(self, text: str) -> str | None:
        return self.departments.get(name_key(text))


def _first(items, key) -> dict:
    """Items by key, in order; the first of duplicates wins, as in the register's linear lookups."""
    out: dict = {}
    for item in items:
        out.setdefault(key(item), item)
    return out
