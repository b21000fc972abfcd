"""history: the plan as in force in a year, recorded changes, stale templates, eras."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.collect import collect
from plan_xl.demo import fill_template
from plan_xl.errors import UsageError
from plan_xl.register.checks import check_register
from plan_xl.register.history import (
    Recorder,
    add_department,
    as_of,
    field_owners,
    retire,
    set_target,
    split_department,
)
from plan_xl.register.store import SAVED_LAYOUT, SAVED_SHEET, load_register, save_register
from plan_xl.workbooks.identity import load_or_create_key
from plan_xl.workbooks.templates import TemplateOptions, generate_templates
from plan_xl.workspace import Workspace


def run(ws: Workspace, *args: str) -> str:
    result = CliRunner().invoke(main, ["--dir", str(ws.root), *args])
    assert result.exit_code == 0, (args, result.output)
    return result.output


def new_folder(tmp_path) -> Workspace:
    """A working folder made by `plan-xl init`."""
    ws = Workspace(tmp_path / "作業")
    ws.root.mkdir()
    run(ws, "init")
    return ws


def type_over(ws: Workspace, sheet: str, matches, column: str, value) -> None:
    """Type `value` into `column` of the first row of the register's `sheet` for which
    `matches(row)` holds (row: the values by header), as a clerk would in Excel, and save."""
    wb = openpyxl.load_workbook(ws.register_path)
    table = wb[sheet]
    head = [c.value for c in table[1]]
    r = next(r for r in range(2, table.max_row + 1)
             if matches(dict(zip(head, [c.value for c in table[r]], strict=False))))
    table.cell(r, head.index(column) + 1).value = value
    wb.save(ws.register_path)


def test_a_split_department_gives_every_item_it_held_a_new_owner(register):
    """人事課 split in two from FY2024: each plan item and section goes where the command says,
    人事課 ends with FY2023 (再編, both successors named), and FY2023 stays as it was."""
    rec = Recorder(register, 2024, "組織改編", "test")
    for name in ("人材育成課", "職員課"):
        add_department(register, name, "", 2024, rec)
    with pytest.raises(UsageError, match="1-4-2.1"):  # nothing may be left without an owner
        split_department(register, "人事課", {"人材育成課": ["1-1-2", "1-4-1"], "職員課": ["1-4-6", "1-4-2.2"]}, rec)
    with pytest.raises(UsageError, match="1-3-5"):  # not 人事課's
        split_department(register, "人事課", {"人材育成課": ["1-3-5"]}, rec)
    with pytest.raises(UsageError, match="二つ"):
        split_department(register, "人事課", {"人材育成課": ["1-4-2"], "職員課": ["1-4-2"]}, rec)
    assert register.department("人事課").validity.end is None and not any(
        c.sheet in ("計画", "節") for c in register.changes)  # a refused split changes nothing

    split_department(register, "人事課", {"人材育成課": ["1-1-2", "1-4-1", "1-4-2.1"],
                                         "職員課": ["1-4-2", "1-4-6"]}, rec)
    v = register.department("人事課").validity
    assert (v.end, v.how, v.successor) == (2023, "再編", "人材育成課、職員課")
    plan = register.plan("1-4-2")
    assert "人事課" not in plan.departments and "職員課" in plan.departments
    assert {s.number: s.departments for s in plan.sections}[1] == ["人材育成課"]
    assert "職員課" in {s.number: s.departments for s in plan.sections}[2]
    assert register.plan("1-1-2").departments == ["人材育成課"]
    assert {"人材育成課", "職員課"} <= field_owners(register, 2024) and "人事課" not in field_owners(register, 2024)
    assert "人事課" in field_owners(register, 2023) and register.plan("1-1-2").id in {
        p.id for p in as_of(register, 2023).plans if "人事課" in p.departments}
    assert not [f for f in check_register(register) if f.severity == "誤り"]


def test_a_split_follows_a_co_owner_and_its_assignments(register):
    """上下水道局総務課 co-owns 1-4-2 and fills a box of it (記入課): giving only its section leaves
    the plan item without an owner; giving the item moves the section and the assignment too."""
    rec = Recorder(register, 2024, "組織改編", "test")
    add_department(register, "経営企画課", "", 2024, rec)
    add_department(register, "水道総務課", "", 2024, rec)
    with pytest.raises(UsageError, match="1-4-2"):
        split_department(register, "上下水道局総務課", {"経営企画課": ["1-4-2.2"]}, rec)
    with pytest.raises(UsageError, match="元の所管課"):
        split_department(register, "上下水道局総務課", {"上下水道局総務課": ["1-4-2"]}, rec)
    split_department(register, "上下水道局総務課", {"経営企画課": ["1-4-2"], "水道総務課": ["1-4-2.2"]}, rec)
    plan = register.plan("1-4-2")
    assert "経営企画課" in plan.departments and "水道総務課" in plan.sections[1].departments
    assert [a.department for a in register.assignments if a.plan_id == "1-4-2"] == ["経営企画課"]


def test_split_department_on_the_command_line(tmp_path):
    ws = new_folder(tmp_path)
    for name in ("人材育成課", "職員課"):
        run(ws, "plan", "add-department", name, "--from", "2024", "--reason", "組織改編")
    refused = CliRunner().invoke(main, ["--dir", str(ws.root), "plan", "split-department", "人事課",
                                        "--to", "人材育成課", "--from", "2024", "--reason", "組織改編"])
    assert refused.exit_code != 0 and "課名=計画ID" in refused.output
    out = run(ws, "plan", "split-department", "人事課", "--to", "人材育成課=1-1-2,1-4-1,1-4-2.1",
              "--to", "職員課=1-4-2、1-4-6", "--from", "2024", "--reason", "組織改編")
    assert "変更履歴に" in out
    reg = ws.load()
    assert reg.department("人事課").validity.how == "再編" and reg.plan("1-4-6").departments == ["職員課"]


def test_target_history_rates_each_year_against_its_own_target(register):
    rec = Recorder(register, 2024, "目標を達成したため", "test")
    set_target(register, "1-3-5.1", 150000, 2024, "", rec)
    ind = register.indicator("1-3-5.1")
    assert (ind.target_for(2022), ind.target_for(2024), ind.target) == (100000, 150000, 150000)
    assert "150,000件/年" in register.plan("1-3-5").sections[0].targets_text
    past = as_of(register, 2023)
    assert past.indicator("1-3-5.1").target == 100000
    assert "・コンビニ交付件数 100,000件/年" in past.plan("1-3-5").sections[0].targets_text
    assert [c.column for c in register.changes] == ["目標値", "目標値（表記）"]


def test_a_retired_item_is_in_force_until_its_last_year(register):
    retire(register, "1-3-7", 2024, "完了", "", Recorder(register, 2025, "電子化が完了", "test"))
    assert "1-3-7" in {p.id for p in as_of(register, 2024).plans}
    assert "1-3-7" not in {p.id for p in as_of(register, 2025).plans}
    assert "河川課" in field_owners(register, 2024) and "河川課" not in field_owners(register, 2025)


def test_history_survives_the_workbook_and_a_clerk_added_column(tmp_path, register):
    set_target(register, "1-3-5.1", 150000, 2024, "", Recorder(register, 2024, "理由", "test"))
    path = tmp_path / "register.xlsx"
    save_register(register, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["計画"]
    ws.cell(1, ws.max_column + 1).value = "備考"
    ws.cell(2, ws.max_column).value = "担当者メモ"
    wb.save(path)
    back = load_register(path)
    assert back.changes == register.changes and back.indicator("1-3-5.1").targets == \
        register.indicator("1-3-5.1").targets
    save_register(back, path)  # a later write keeps the clerk's column and its value
    again = openpyxl.load_workbook(path)["計画"]
    headers = [c.value for c in again[1]]
    assert again.cell(2, headers.index("備考") + 1).value == "担当者メモ"


def test_a_template_issued_before_a_change_gets_a_verdict_that_says_so(tmp_path):
    ws = new_folder(tmp_path)
    reg = ws.load()
    key = load_or_create_key(ws.key_path)
    opts = TemplateOptions(2023, issued=dt.datetime(2024, 4, 1, 9, 0, 0))
    paths = generate_templates(reg, opts, key, ws.templates_dir(2023), ["市民課", "人事課"])
    # after issuing: a target of 市民課 raised (no new field), an indicator added to 人事課's 1-1-2
    run(ws, "plan", "target", "1-3-5.2", "3000", "--from", "2023", "--reason", "国の目標に合わせる")
    wb = openpyxl.load_workbook(ws.register_path)
    header = [c.value for c in wb["指標"][1]]
    row = dict.fromkeys(header)
    row.update({"指標ID": "1-1-2.9", "計画ID": "1-1-2", "節": 1, "指標名": "会計年度任用職員数", "単位": "人",
                "目標値": 100, "目標年度": 2025, "方向": "下"})
    wb["指標"].append([row[h] for h in header])
    wb.save(ws.register_path)
    run(ws, "plan", "record", "--from", "2023", "--reason", "指標の追加")
    for path in paths:
        (ws.inbox / path.name).parent.mkdir(parents=True, exist_ok=True)
        (ws.inbox / path.name).write_bytes(fill_template(path.read_bytes(), reg))
    results = {r.department: r for r in collect(ws).results}
    shimin, jinji = results["市民課"], results["人事課"]
    assert shimin.verdict == "受理"
    assert any(f.code == "H017" and "1-3-5.2" in f.message for f in shimin.findings)  # names the change
    assert jinji.verdict == "差戻し"
    assert any(f.code == "H016" and "会計年度任用職員数" in f.message for f in jinji.findings)  # the new field


def test_fiscal_labels_for_every_era():
    from plan_xl.fiscal import add_era, fy_label, parse_fy

    assert fy_label(2016) == "2016年度（平成28年度）"
    assert fy_label(1989) == "1989年度（平成元年度）"
    assert fy_label(2019) == "2019年度（令和元年度）"
    assert parse_fy("平成14年度") == 2002 and parse_fy("H14") == 2002
    add_era("新元号", 2041)
    assert fy_label(2042) == "2042年度（新元号2年度）" and parse_fy("新元号元年度") == 2041


def test_a_period_before_reiwa_reports(tmp_path, register):
    from plan_xl.workbooks.report import build_report

    register.meta.update(plan_start="2016", plan_end="2019", baseline_year="2015")
    for p in register.plans:
        for s in p.sections:
            for a in s.actions:
                for row in a.rows:
                    for sp in row:
                        sp.start, sp.end = sp.start - 6, sp.end - 6
    for pr in register.progress:
        pr.year -= 6
    for a in register.actuals:
        a.year -= 6
    path = build_report(register, 2016, tmp_path / "2016.xlsx")
    texts = {c.value for ws in openpyxl.load_workbook(path, read_only=True).worksheets
             for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "2016年度（平成28年度）" in texts and "2019年度末までの目標値" in texts


def test_a_reorganisation_typed_into_the_register_is_recorded_like_the_commands(tmp_path):
    ws = new_folder(tmp_path)
    run(ws, "report", "--year", "2022")
    before = [[c.value for c in row] for s in openpyxl.load_workbook(ws.report_path(2022)).worksheets
              for row in s.iter_rows()]
    wb = openpyxl.load_workbook(ws.register_path)
    depts = wb["所管課"]
    head = [c.value for c in depts[1]]
    for r in range(2, depts.max_row + 1):
        name = depts.cell(r, 1).value
        if name == "男女共同参画課":  # renamed, the old name kept as 別名
            depts.cell(r, 1).value = "ダイバーシティ推進課"
            depts.cell(r, head.index("別名") + 1).value = "男女共同参画課"
        if name == "中央公民館":  # merged into 生涯学習課 from FY2024
            for h, v in (("適用終了", 2023), ("終了区分", "統合"), ("後継", "生涯学習課")):
                depts.cell(r, head.index(h) + 1).value = v
    wb.save(ws.register_path)
    refused = CliRunner().invoke(main, ["--dir", str(ws.root), "report", "--year", "2022"])
    assert refused.exit_code == 1 and "変更履歴に記録されていません" in refused.output
    run(ws, "plan", "record", "--from", "2024", "--reason", "令和6年4月1日付組織改編")
    run(ws, "check")
    reg = ws.load()
    assert "ダイバーシティ推進課" in reg.plan("1-1-3").sections[1].departments
    assert reg.plan("1-3-1").sections[2].departments == ["生涯学習課"]
    assert "中央公民館" not in field_owners(reg, 2024) and "中央公民館" in field_owners(reg, 2023)
    run(ws, "templates", "--year", "2024")
    names = {p.name for p in ws.templates_dir(2024).glob("*.xlsx")}
    assert "2024年度_進捗状況調査票_ダイバーシティ推進課.xlsx" in names
    assert not any("中央公民館" in n or "男女共同参画課" in n for n in names)
    run(ws, "report", "--year", "2022")
    after = [[c.value for c in row] for s in openpyxl.load_workbook(ws.report_path(2022)).worksheets
             for row in s.iter_rows()]
    assert after == before


def test_a_clerk_column_on_a_collected_sheet_survives_a_later_write(tmp_path, register):
    path = tmp_path / "register.xlsx"
    save_register(register, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["進捗"]
    ws.cell(1, ws.max_column + 1).value = "備考"
    ws.cell(3, ws.max_column).value = "確認済み"
    key = (ws.cell(3, 1).value, ws.cell(3, 2).value, ws.cell(3, 3).value)
    wb.save(path)
    save_register(load_register(path), path)
    ws = openpyxl.load_workbook(path)["進捗"]
    headers = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if tuple(r[:3]) == key)
    assert row[headers.index("備考")] == "確認済み"


def test_a_schedule_year_edited_in_excel_is_one_recorded_edit(tmp_path):
    ws = new_folder(tmp_path)
    type_over(ws, "取組", lambda row: row["計画ID"] == "1-3-5" and row["開始年度"] == 2023, "開始年度", 2024)
    out = run(ws, "plan", "record", "--from", "2024", "--reason", "開始を1年遅らせた")
    assert "変更履歴に 1 件を記録しました" in out
    reg = ws.load()
    assert reg.changes[-1].column == "開始年度" and (reg.changes[-1].before, reg.changes[-1].after) == ("2023", "2024")
    starts = lambda r: [sp.start for row in r.plan("1-3-5").sections[0].actions[0].rows for sp in row]  # noqa: E731
    assert starts(reg) == [2022, 2024] and starts(as_of(reg, 2023)) == [2022, 2023]


def test_a_register_saved_with_the_first_layout_of_its_copy_still_finds_excel_edits(tmp_path):
    """Registers saved before SAVED_LAYOUT keep a 前回保存 copy of one value a row; they load
    to the same copy and an edit made in Excel is still found (and recorded) against it."""
    ws = new_folder(tmp_path)
    current = ws.load().saved_tables
    wb = openpyxl.load_workbook(ws.register_path)
    copy_sheet = wb[SAVED_SHEET]
    rows = [[c.value for c in row] for row in copy_sheet.iter_rows()]
    assert rows[0] == [SAVED_LAYOUT] + [None] * (len(rows[0]) - 1)  # written in today's layout
    copy_sheet.delete_rows(1, copy_sheet.max_row)
    n = 0
    for sheet, keyed in current.items():
        for key, values in keyed.items():
            for header, value in values.items():
                n += 1
                for c, v in enumerate([sheet, key, header, value], 1):
                    copy_sheet.cell(n, c).value = v
    wb.save(ws.register_path)
    assert ws.load().saved_tables == current
    type_over(ws, "指標", lambda row: row["指標ID"] == "1-3-5.1", "目標値", 150000)
    refused = CliRunner().invoke(main, ["--dir", str(ws.root), "report", "--year", "2022"])
    assert refused.exit_code == 1 and "変更履歴に記録されていません" in refused.output
    run(ws, "plan", "record", "--from", "2024", "--reason", "目標値を達成したため")
    assert ws.load().indicator("1-3-5.1").target_for(2024) == 150000
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(ws.register_path)[SAVED_SHEET].iter_rows()]
    assert rows[0][0] == SAVED_LAYOUT  # the next save writes today's layout


def test_a_target_typed_over_in_excel_becomes_target_history(tmp_path):
    ws = new_folder(tmp_path)
    type_over(ws, "指標", lambda row: row["指標ID"] == "1-3-5.1", "目標値", 150000)
    run(ws, "plan", "record", "--from", "2024", "--reason", "目標値を達成したため")
    run(ws, "check")  # history, value and printed text agree
    reg = ws.load()
    ind = reg.indicator("1-3-5.1")
    assert (ind.target_for(2023), ind.target_for(2024)) == (100000, 150000)
    assert "150,000件/年" in reg.plan("1-3-5").sections[0].targets_text
    assert "100,000件/年" in as_of(reg, 2023).plan("1-3-5").sections[0].targets_text


def _changeable(value, found: list) -> list:
    """Every list, dict and non-frozen dataclass object reachable from `value`."""
    if isinstance(value, (list, tuple)):
        found += [value] if isinstance(value, list) else []
        for v in value:
            _changeable(v, found)
    elif isinstance(value, dict):
        found.append(value)
        for v in value.values():
            _changeable(v, found)
    elif dataclasses.is_dataclass(value):
        found += [] if type(value).__dataclass_params__.frozen else [value]
        for f in dataclasses.fields(value):
            _changeable(getattr(value, f.name), found)
    return found


@pytest.mark.parametrize("later_change", [False, True])
def test_changing_a_view_never_changes_the_register(register, later_change):
    """as_of copies the plan part by hand: whatever a caller changes in a view (a name, a list of
    departments, an action's schedule, an indicator's target history) stays in the view."""
    if later_change:  # the view is rebuilt from the sheet rows instead of copied
        set_target(register, "1-3-5.1", 150000, 2024, "", Recorder(register, 2024, "理由", "test"))
    before = copy.deepcopy((register.departments, register.plans, register.assignments))
    view = as_of(register, 2023)
    mine = _changeable((view.departments, view.plans, view.assignments), [])
    theirs = {id(x) for x in _changeable((register.departments, register.plans, register.assignments), [])}
    assert len(mine) > 500 and not theirs & {id(x) for x in mine}
    for obj in mine:  # change everything the view holds
        if isinstance(obj, list):
            obj.append("＊")
        elif isinstance(obj, dict):
            obj["＊"] = "＊"
        else:
            for f in dataclasses.fields(obj):
                if isinstance(getattr(obj, f.name), str):
                    setattr(obj, f.name, getattr(obj, f.name) + "＊")
    assert (register.departments, register.plans, register.assignments) == before
