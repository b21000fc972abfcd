"""model: names matched whatever their width and spacing, numbers as printed, field keys as
templates carry them, targets in force by year, owners of fields, and the register's lookups
(a plan, an indicator, a department by alias, the first open year) on the shipped register and
on one saved to register.xlsx and loaded again."""

from __future__ import annotations

import pytest

from plan_xl.register.model import (
    Actual,
    FieldKey,
    Indicator,
    Lookup,
    Plan,
    Progress,
    Provenance,
    Submission,
    Target,
    format_number,
    name_key,
)
from plan_xl.register.store import load_register, save_register


@pytest.mark.parametrize("a, b", [("DX戦略課", "D X戦略課"), ("ＤＸ戦略課", "DX戦略課"), ("市民課", "市民課 "),
                                  ("上下水道局\u3000総務課", "上下水道局総務課")])
def test_name_key_ignores_width_and_spacing(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_what_differs():
    assert name_key("市民課") != name_key("市民税課")


@pytest.mark.parametrize("value, text", [(12179.0, "12179"), (5.7, "5.7"), (None, ""), (0, "0"), (-3.0, "-3"),
                                         (0.1 + 0.2, "0.3"), (1e-7, "1e-07")])
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("text", ["results|1-3-1|2|2023", "revision|1-3-1|0|2024", "actual|1-3-1.2|2023",
                                  "reason|1-3-1.2|2023", "rating|1-1-3|0|2023",
                                  "part_results|1-1-3|0|2023|男女共同参画課", "part_none|1-1-3|1|2023|人事課"])
def test_field_keys_round_trip_as_text(text):
    key = FieldKey.parse(text)
    assert str(key) == text
    assert key.is_part == text.startswith("part_")


def test_field_key_parts():
    key = FieldKey.parse("results|1-3-1|2|2023")
    assert (key.kind, key.target, key.section, key.year, key.department) == ("results", "1-3-1", 2, 2023, "")
    assert FieldKey.parse("part_revision|1-1-3|0|2023|人事課").department == "人事課"


@pytest.mark.parametrize("text", ["", "results|1-3-1|2023", "actual|1-3-1.2", "part_results|1-1-3|0|2023|",
                                  "bogus|1-3-1|0|2023", "results|1-3-1|x|2023"])
def test_what_is_no_field_key_is_refused(text):
    with pytest.raises(ValueError):
        FieldKey.parse(text)


def test_the_target_in_force_is_the_last_one_started():
    ind = Indicator("1-1-1.1", "1-1-1", 0, "件数", "件", 100, targets=[Target(100, 2022), Target(150, 2024),
                                                                     Target(160, 2024)])
    assert [ind.target_for(y) for y in (2021, 2022, 2023, 2024, 2025)] == [100, 100, 100, 160, 160]
    assert Indicator("1-1-1.2", "1-1-1", 0, "率", "％", 50).bounds == (0.0, 100.0)
    assert Indicator("1-1-1.3", "1-1-1", 0, "件数", "件", 50).bounds == (0.0, None)
    assert Indicator("1-1-1.3", "1-1-1", 0, "件数", "件", 50).label == "件数（件）"


def test_lookups_of_the_shipped_register(source_register):
    reg = source_register
    plan = reg.plans[0]
    assert reg.plan(plan.id) is plan
    ind = next(i for p in reg.plans for i in p.indicators)
    assert reg.indicator(ind.id) is ind
    with pytest.raises(KeyError):
        reg.plan("9-9-99")
    assert reg.department_name("Ｄ Ｘ戦略課") == "DX戦略課"
    assert reg.department_name("存在しない課") is None
    assert all(plan in reg.plans_of(d) for d in plan.departments)
    assert reg.first_open_year() == 2023  # FY2022 is reported in the shipped register
    assert reg.period[0] <= 2023 <= reg.period[-1]
    assert plan.owner(0) == plan.departments[0]


def test_a_plan_is_numbered_by_its_id():
    plan = Plan("1-3-5", "窓口業務のオンライン化推進事業", ["市民課"])
    assert (plan.goal, plan.initiative, plan.number, plan.mark) == (1, 3, 5, "⑤")
    assert Plan("2-1-25", "x", ["市民課"]).mark == "25"  # past ⑳: the number itself


def test_the_first_row_wins_in_lookups_and_the_index_alike(register):
    reg = register
    first = reg.progress[0]
    duplicate = Progress(first.plan_id, first.section, first.year, results="後の行")
    reg.progress.append(duplicate)
    assert reg.progress_for(first.plan_id, first.section, first.year) is first
    assert Lookup(reg).progress[(first.plan_id, first.section, first.year)] is first
    reg.actuals.append(Actual("1-3-1.1", 2099, 1.0))
    reg.actuals.append(Actual("1-3-1.1", 2099, 2.0))
    assert reg.actual_for("1-3-1.1", 2099).value == 1.0
    assert Lookup(reg).actuals[("1-3-1.1", 2099)].value == 1.0


def test_a_register_saved_and_loaded_looks_up_the_same(source_register, tmp_path):
    path = tmp_path / "register.xlsx"
    save_register(source_register, path)
    loaded = load_register(path)
    for plan in source_register.plans:
        assert loaded.plan(plan.id) == plan
        assert loaded.reporting_sections(loaded.plan(plan.id)) == source_register.reporting_sections(plan)
    for d in source_register.departments:
        assert [p.id for p in loaded.plans_of(d.name)] == [p.id for p in source_register.plans_of(d.name)]
        for alias in d.aliases:
            assert loaded.department_name(alias) == d.name
    assert loaded.field_owners() == source_register.field_owners()
    assert loaded.first_open_year() == source_register.first_open_year()


def test_a_loaded_register_keeps_one_copy_of_a_repeated_value(register, tmp_path):
    """Every cell is read as a new object; the records built share equal texts, years and
    provenance (immutable, so nothing changes for anyone), and still save as they were."""
    department = register.departments[0].name
    source = Provenance("a.xlsx", "a" * 64, department, "T1", "2023-05-01T09:00:00")
    register.submissions += [Submission("T1", department, 2022, f"{k}.xlsx", f"{k}" * 64, "2023-05-01T09:00:00",
                                        superseded_by="1" * 64 if k == 0 else "") for k in range(2)]
    register.progress += [Progress("1-3-1", 0, 2099, "実績", "", source), Progress("1-3-2", 0, 2099, "実績", "", source)]
    path = tmp_path / "台帳.xlsx"
    save_register(register, path)
    loaded = load_register(path)
    first, second = loaded.submissions[-2:]
    assert (first, second) == tuple(register.submissions[-2:])
    assert first.department is second.department and first.received is second.received
    assert first.year is second.year and first.superseded_by is second.sha256
    a, b = [pr for pr in loaded.progress if pr.year == 2099]
    assert a.source == source and a.source is b.source and a.results is b.results
    assert not hasattr(a, "__dict__") and not hasattr(first, "__dict__")  # slots: records hold no dict
