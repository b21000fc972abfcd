"""The register's index (model.Lookup behind Register.indexed()) answers exactly as the
register's own linear lookups, never outlives a change, and the pre-scan tells formulas from
data validations' <formula1> in one pass."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import xlsxwriter

from plan_xl.collect.read import open_workbook
from plan_xl.register.history import as_of
from plan_xl.register.model import Contribution, Register, Submission
from plan_xl.register.source import load_source


def answers(reg: Register) -> dict:
    ids = [p.id for p in reg.plans] + ["9-9-999"]
    inds = [i.id for p in reg.plans for i in p.indicators] + ["9-9-999.1"]
    years = [*reg.all_years, 1999]
    names = [d.name for d in reg.departments] + [a for d in reg.departments for a in d.aliases] + ["無い課"]
    return {
        "plans_of": {d: [p.id for p in reg.plans_of(d)] for d in names},
        "sections": {p.id: reg.reporting_sections(p) for p in reg.plans},
        "progress": {(i, s, y): reg.progress_for(i, s, y) for i in ids for s in range(4) for y in years},
        "actual": {(i, y): reg.actual_for(i, y) for i in inds for y in years},
        "names": {n: reg.department_name(n) for n in names},
        "years": reg.reported_years(),
        "owners": reg.field_owners(),
        "plan": [reg.plan(i).name for i in ids[:-1]],
        "indicator": [reg.indicator(i).name for i in inds[:-1]],
        "parts_of_row": {(p.id, s, y): reg.contributions_of(p, s, y) for p in reg.plans for s in range(4)
                         for y in years},
        "accepted": {y: reg.accepted_departments(y) for y in years},
        "parts": {key: reg.contribution_for(*key) for key in [
            *((c.plan_id, c.section, c.year, c.department) for c in reg.contributions), (ids[0], 0, 1999, "無い課")]},
    }


def with_parts_and_returns(reg: Register) -> Register:
    """The shipped register with co-owners' parts (out of order, one row twice) and accepted
    returns, one under a department's alias as typed, with spaces around it."""
    plan, year = reg.plans[0], reg.period[0]
    names = [d.name for d in reg.departments]
    alias = next(a for d in reg.departments for a in d.aliases)
    reg.contributions += [Contribution(plan.id, 0, year, names[2], "後"), Contribution(plan.id, 0, year, names[1], "前"),
                          Contribution(plan.id, 0, year, names[2], "二度目"), Contribution(plan.id, 1, year + 1, names[0])]
    reg.submissions += [Submission("T1", names[0], year, "a.xlsx", "a" * 64, ""),
                        Submission("T2", f" {alias}　", year, "b.xlsx", "b" * 64, ""),
                        Submission("T3", "無い課", year + 1, "c.xlsx", "c" * 64, "")]
    return reg


def test_indexed_lookups_answer_as_the_linear_ones():
    reg = with_parts_and_returns(load_source())
    linear = answers(reg)
    with reg.indexed() as index:
        assert reg.index() is index
        with reg.indexed() as inner:  # a nested block shares the outer index
            assert inner is index
        assert answers(reg) == linear
        with pytest.raises(KeyError):
            reg.plan("9-9-999")
        with pytest.raises(KeyError):
            reg.indicator("9-9-999.1")
    assert reg.index() is not reg.index()  # after the block: no index kept, a fresh snapshot each time


def test_an_index_is_never_copied_or_pickled_with_the_register():
    reg = load_source()
    with reg.indexed():
        for other in (copy.deepcopy(reg), copy.copy(reg), pickle.loads(pickle.dumps(reg))):
            assert other.index() is not other.index()  # no index of its own
        view = as_of(reg, reg.period[0])  # a view narrows its own plans: it must not see the index
        assert view.index() is not view.index()
        view.plans = view.plans[:1]
        assert view.plans_of(view.plans[0].departments[0]) == view.plans[:1]


def sheet_with(formula: bool, validation: bool) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("計画")
    ws.write_number("B2", 3)
    if formula:
        ws.write_formula("C3", "=B2*2")
    if validation:
        ws.data_validation("D4", {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 100})
    book.close()
    return buf.getvalue()


@pytest.mark.parametrize("validation", [False, True])
def test_formula_cells_found_and_data_validation_is_no_formula(validation):
    assert open_workbook(sheet_with(False, validation)).scan.formulas["計画"] == set()
    assert open_workbook(sheet_with(True, validation)).scan.formulas["計画"] == {"C3"}
