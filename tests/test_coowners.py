"""Co-owned plan items: who fills which field (記入課), the co-owners' contribution boxes
(関係課記入欄), 参考送付, and one owner per field from template to report and back."""

from __future__ import annotations

import datetime as dt
import os

import openpyxl
from click.testing import CliRunner
from conftest import needs_libreoffice, soffice
from support.returned import (
    YEAR,
    copy_workspace,
    editable,
    fill,
    identity,
    typical_values,
    via_libreoffice,
)

from plan_xl import messages as M
from plan_xl.cli import main
from plan_xl.collect import collect, department_status
from plan_xl.mail import load_settings, prepare_letters
from plan_xl.register.model import (
    ASSIGN_ACTUAL,
    ASSIGN_PART,
    ASSIGN_PROGRESS,
    ASSIGN_REFERENCE,
    NOTHING_TO_ADD,
    Assignment,
)
from plan_xl.register.store import load_register, save_register
from plan_xl.workbooks.identity import load_or_create_key
from plan_xl.workbooks.importer import import_report
from plan_xl.workbooks.layout import INPUT_FILL_NAME, sheet_name
from plan_xl.workbooks.report import build_report, describe
from plan_xl.workbooks.templates import TemplateOptions, build_template

LEAD, DANJO = "行政マネジメント課", "男女共同参画課"  # 1-1-3: lead and co-owner
SUIDO = "上下水道局総務課"
PART = f"1-1-3|0|{YEAR}|{DANJO}"
T0 = dt.datetime(2024, 5, 20, 10, 0, 0)


def drop(ws, name: str, data: bytes, minutes: int = 0) -> None:
    path = ws.inbox / name
    path.write_bytes(data)
    when = (T0 + dt.timedelta(minutes=minutes)).timestamp()
    os.utime(path, (when, when))


def returned(ws, department: str, **changes) -> bytes:
    """The department's template filled as a careful clerk would, with `changes` by field key."""
    template = ws.template_path(YEAR, department)
    values = {**typical_values(ws.load(), identity(template)), **changes}
    return fill(template, values)


def only(results, department):
    return next(r for r in results if r.department == department)


def run(ws, *args):
    return CliRunner().invoke(main, ["--dir", str(ws.root), *args])


# --- all 16 departments: a template with own fields, a mail, a status row ----------------------
def test_every_department_gets_fields_a_mail_and_a_status_row(issued, tmp_path):
    ws = copy_workspace(issued, tmp_path / "ws")
    reg = ws.load()
    named = {d for p in reg.plans for d in [*p.departments, *(x for s in p.sections for x in s.departments)]}
    assert len(named) == len(reg.departments) == 16
    for department in named:
        own = editable(identity(ws.template_path(YEAR, department)))
        assert own, f"{department} has no field of its own"
    assert {f.key for f in editable(identity(ws.template_path(YEAR, DANJO)))} >= {
        f"actual|1-1-3.2|{YEAR}", f"part_results|{PART}", f"part_revision|{PART}", f"part_none|{PART}"}
    assert f"actual|1-3-2.2|{YEAR}" in {f.key for f in editable(identity(ws.template_path(YEAR, "政策統計課")))}
    assert f"part_results|1-4-2|0|{YEAR}|{SUIDO}" in {f.key for f in editable(identity(ws.template_path(YEAR, SUIDO)))}

    batch = prepare_letters(ws, reg, "templates", YEAR, load_settings(ws, reg))
    assert sorted(x.key for x in batch.letters) == sorted(named) and not batch.problems
    rows = department_status(ws, reg, YEAR)
    assert sorted(s.department for s in rows) == sorted(named)
    assert {s.state for s in rows} == {"未提出"} and all(s.issued for s in rows)
    result = run(ws, "mail", "templates", "--year", str(YEAR))
    assert result.exit_code == 0 and "対象 16 課、メール 16 通。" in result.output
    assert "計 16 課" in run(ws, "status", "--year", str(YEAR)).output


def test_shipped_assignments_are_recorded_as_decisions(source_register):
    reg = source_register
    assert reg.indicator_owner(reg.plan("1-1-3"), reg.indicator("1-1-3.2")) == DANJO
    assert reg.indicator_owner(reg.plan("1-1-3"), reg.indicator("1-1-3.1")) == LEAD
    assert reg.indicator_owner(reg.plan("1-3-2"), reg.indicator("1-3-2.2")) == "政策統計課"
    assert reg.contributors(reg.plan("1-4-2"), 0) == [SUIDO]
    for a in reg.assignments:
        assert any(d.plan_id == a.plan_id and d.text.startswith("記入課:") and a.department in d.text
                   for d in reg.decisions), a


# --- end to end: 1-1-3 with both departments returning ------------------------------------------
@needs_libreoffice
def test_both_departments_return_and_the_report_prints_both_parts(ws, tmp_path):
    drop(ws, "行政.xlsx", returned(ws, LEAD))
    danjo = returned(ws, DANJO, **{f"actual|1-1-3.2|{YEAR}": 31.5,
                                   f"part_results|{PART}": "▼女性委員登用率調査を実施した（31.5%）",
                                   f"part_revision|{PART}": "▼登用率の低い附属機関へ個別に働きかける。"})
    drop(ws, "男女.xlsx", via_libreoffice(soffice(), danjo, tmp_path / "lo"), minutes=5)
    result = collect(ws)
    assert [r.verdict for r in result.results] == ["受理", "受理"], [str(f) for r in result.results for f in r.findings]

    reg = load_register(ws.register_path)  # each part with its own provenance
    pr = reg.progress_for("1-1-3", 0, YEAR)
    part = reg.contribution_for("1-1-3", 0, YEAR, DANJO)
    assert pr.source.department == LEAD and pr.source.file == "行政.xlsx"
    assert part.source.department == DANJO and part.source.file == "男女.xlsx"
    assert part.results == "▼女性委員登用率調査を実施した（31.5%）" and not part.nothing
    assert reg.actual_for("1-1-3.2", YEAR).source.department == DANJO
    assert reg.actual_for("1-1-3.2", YEAR).value == 31.5
    assert reg.actual_for("1-1-3.1", YEAR).source.department == LEAD

    path = build_report(reg, YEAR, tmp_path / "報告書.xlsx")
    sheet = openpyxl.load_workbook(path)[sheet_name(reg.plan("1-1-3"))]
    texts = [(row[2].value, row[7].value) for row in sheet.iter_rows() if row[2].value]
    lead_at = texts.index((pr.results, pr.revision))
    assert texts[lead_at + 1] == (f"＜{DANJO}＞\n{part.results}", f"＜{DANJO}＞\n{part.revision}")

    owed = openpyxl.load_workbook(path)[sheet_name(reg.plan("1-3-2"))]
    assert "＜政策統計課＞\n（未提出）" in [c.value for row in owed.iter_rows() for c in row]

    back = import_report(path)  # read back losslessly; a part still owed is a box, not content
    assert Assignment("1-3-2", "政策統計課", ASSIGN_PART, 0) in back.assignments
    [again] = back.contributions
    assert (again.plan_id, again.section, again.year, again.department, again.results, again.revision,
            again.nothing) == ("1-1-3", 0, YEAR, DANJO, part.results, part.revision, False)
    assert Assignment("1-1-3", DANJO, ASSIGN_PART, 0) in back.assignments
    assert Assignment("1-1-3", DANJO, ASSIGN_ACTUAL, 0, "1-1-3.2") in back.assignments
    assert back.progress_for("1-1-3", 0, YEAR).results == pr.results

    # a re-submission of one department does not touch the other's part
    drop(ws, "男女_再提出.xlsx", returned(ws, DANJO, **{f"part_none|{PART}": NOTHING_TO_ADD,
                                                      f"part_results|{PART}": "", f"part_revision|{PART}": ""}),
         minutes=30)
    drop(ws, "行政_再提出.xlsx", returned(ws, LEAD, **{f"results|1-1-3|0|{YEAR}": "▼差し替えた実績"}), minutes=40)
    assert all(r.ok for r in collect(ws).results)
    reg = load_register(ws.register_path)
    part2 = reg.contribution_for("1-1-3", 0, YEAR, DANJO)
    assert part2.nothing and part2.source.file == "男女_再提出.xlsx"
    assert reg.progress_for("1-1-3", 0, YEAR).results == "▼差し替えた実績"
    assert reg.progress_for("1-1-3", 0, YEAR).source.file == "行政_再提出.xlsx"
    assert reg.actual_for("1-1-3.2", YEAR).source.file == "男女_再提出.xlsx"
    path = build_report(reg, YEAR, tmp_path / "報告書2.xlsx")
    [again] = import_report(path).contributions
    assert again.nothing and again.results == again.revision == ""


def test_the_leads_next_template_shows_last_years_contributions(ws, tmp_path):
    drop(ws, "男女.xlsx", returned(ws, DANJO))
    assert all(r.ok for r in collect(ws).results)
    reg = ws.load()
    part = reg.contribution_for("1-1-3", 0, YEAR, DANJO)
    assert describe(reg, YEAR).endswith("関係課の記入 1/3 件")
    path = tmp_path / "2024.xlsx"
    build_template(reg, LEAD, TemplateOptions(YEAR + 1), load_or_create_key(ws.key_path), path)
    sheet = openpyxl.load_workbook(path)[sheet_name(reg.plan("1-1-3"))]
    cells = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert f"＜{DANJO}＞\n{part.results}" in cells
    assert f"＜{DANJO}＞ 関係課の記入欄（{DANJO}が記入します）" in cells
    assert not any(f.editable for f in identity(path).fields if f.key.startswith("part_"))


# --- validation: one owner per field ---------------------------------------------------------
def test_a_contribution_in_another_departments_box_is_refused_naming_both(ws):
    def into_lead_box(wb, ident):
        spec = next(f for f in ident.fields if f.key == f"results|1-1-3|0|{YEAR}")
        wb[spec.sheet][spec.cell] = "男女共同参画課の実績をここに書いた"

    template = ws.template_path(YEAR, DANJO)
    drop(ws, "男女.xlsx", fill(template, typical_values(ws.load(), identity(template)), into_lead_box))

    def into_part_box(wb, ident):
        spec = next(f for f in ident.fields if f.key == f"part_results|{PART}")
        wb[spec.sheet][spec.cell] = "行政マネジメント課が代わりに書いた"

    template = ws.template_path(YEAR, LEAD)
    drop(ws, "行政.xlsx", fill(template, typical_values(ws.load(), identity(template)), into_part_box))
    result = collect(ws)
    for department, other in ((DANJO, LEAD), (LEAD, DANJO)):
        r = only(result.results, department)
        assert r.verdict == "差戻し"
        [f] = [f for f in r.findings if f.severity == "誤り"]
        assert f.code == "V008" and f.message == M.V008(owner=other, department=department,
                                                        input_fill_name=INPUT_FILL_NAME)
    assert ws.load().contributions == []


def test_a_blank_part_must_say_nothing_to_add(ws):
    drop(ws, "男女.xlsx", returned(ws, DANJO, **{f"part_results|{PART}": "", f"part_revision|{PART}": ""}))
    [r] = collect(ws).results
    assert r.verdict == "差戻し"
    assert any(f.code == "V012" for f in r.findings)
    drop(ws, "男女2.xlsx", returned(ws, DANJO, **{f"part_none|{PART}": NOTHING_TO_ADD}), minutes=5)
    r = next(r for r in collect(ws).results if r.item.name == "男女2.xlsx")
    assert r.verdict == "差戻し"  # text and 「特になし」 at once: which one is meant?
    assert any(f.code == "V011" for f in r.findings)


def test_an_old_template_cannot_overwrite_a_co_owners_accepted_figure(ws, tmp_path):
    """A lead template issued before the indicator was assigned still has it open; the
    co-owner's accepted figure stays, and the lead's file says so."""
    reg = ws.load()
    before = load_register(ws.register_path)
    before.assignments = [a for a in before.assignments if a.indicator_id != "1-1-3.2"]
    old = tmp_path / "古い調査票.xlsx"
    build_template(before, LEAD, TemplateOptions(YEAR, issued=dt.datetime(2024, 3, 1)),
                   load_or_create_key(ws.key_path), old)
    assert f"actual|1-1-3.2|{YEAR}" in {f.key for f in editable(identity(old))}
    drop(ws, "男女.xlsx", returned(ws, DANJO, **{f"actual|1-1-3.2|{YEAR}": 31.5}))
    values = {**typical_values(reg, identity(old)), f"actual|1-1-3.2|{YEAR}": 99.0}
    drop(ws, "行政.xlsx", fill(old, values), minutes=5)
    result = collect(ws)
    assert all(r.ok for r in result.results)
    assert ws.load().actual_for("1-1-3.2", YEAR).value == 31.5
    assert any(f.code == "C018" and DANJO in f.message for f in only(result.results, LEAD).findings)


# --- 参考送付 ---------------------------------------------------------------------------------------
def test_reference_only_department_is_told_so_everywhere(workspace):
    reg = workspace.load()
    reg.assignments = [a for a in reg.assignments if a.department != SUIDO]
    reg.assignments.append(Assignment("1-4-2", SUIDO, ASSIGN_REFERENCE))
    save_register(reg, workspace.register_path)
    reg = workspace.load()
    assert reg.reference_only() == {SUIDO}
    result = run(workspace, "templates", "--year", str(YEAR))
    assert result.exit_code == 0 and f"参考送付（記入欄なし・返送不要・督促なし）1 件: {SUIDO}" in result.output
    template = workspace.template_path(YEAR, SUIDO)
    assert not editable(identity(template))
    guide = [c.value for row in openpyxl.load_workbook(template)["記入要領"].iter_rows() for c in row if c.value]
    assert any("参考送付" in str(t) for t in guide) and any("返送は不要" in str(t) for t in guide)
    assert not any("入力できます" in str(t) for t in guide)

    settings = load_settings(workspace, reg)
    letters = {x.key: x for x in prepare_letters(workspace, reg, "templates", YEAR, settings).letters}
    assert len(letters) == 16 and "返送不要" in letters[SUIDO].subject and "ご返送は不要" in letters[SUIDO].body
    assert "返送不要" not in letters["人事課"].subject
    reminders = prepare_letters(workspace, reg, "reminders", YEAR, settings).letters
    assert SUIDO not in {x.key for x in reminders} and len(reminders) == 15
    [row] = [s for s in department_status(workspace, reg, YEAR) if s.department == SUIDO]
    assert row.state == "参考"
    out = run(workspace, "status", "--year", str(YEAR)).output
    assert "参考 1 課" in out and "計 16 課" in out
    assert "対象 16 課（うち参考送付 1 課: 上下水道局総務課）、メール 16 通。" in run(
        workspace, "mail", "templates", "--year", str(YEAR)).output


def test_mail_says_which_departments_got_no_mail(workspace):
    reg = workspace.load()
    reg.department("政策統計課").email = ""
    save_register(reg, workspace.register_path)
    assert run(workspace, "templates", "--year", str(YEAR)).exit_code == 0
    result = run(workspace, "mail", "templates", "--year", str(YEAR))
    assert result.exit_code == 1
    assert "対象 16 課、メール 15 通。政策統計課の 1 課は、上の注意のとおりメールを作っていません。" in result.output


def test_register_keeps_assignments_and_contributions(register, tmp_path):
    from plan_xl.register.model import Contribution, Provenance

    register.contributions.append(Contribution("1-1-3", 0, YEAR, DANJO, "実績\n2行目", "", False,
                                               Provenance("f.xlsx", "ab" * 32, DANJO, "T1", "2024-05-20T10:00:00")))
    register.contributions.append(Contribution("1-4-2", 0, YEAR, SUIDO, nothing=True))
    save_register(register, tmp_path / "r.xlsx")
    back = load_register(tmp_path / "r.xlsx")
    assert back.assignments == register.assignments
    assert sorted(back.contributions, key=lambda c: c.plan_id) == register.contributions


def test_check_names_a_department_without_fields_or_reference(register):
    from plan_xl.register.checks import check_register

    register.assignments = [a for a in register.assignments if a.department != SUIDO]
    register.assignments.append(Assignment("1-1-3", "人事課", ASSIGN_PART, 0))
    found = [(f.code, f.sheet, f.message) for f in check_register(register)]
    assert ("R058", "記入課", M.R058(department=SUIDO)) in found  # a named department with nothing to fill
    assert ("R064", "記入課", M.R064(department="人事課")) in found  # a 記入課 that is not the plan's


def test_a_progress_row_can_be_assigned_to_another_department(workspace):
    reg = workspace.load()
    reg.assignments = [a for a in reg.assignments if a.plan_id != "1-3-2"]
    reg.assignments.append(Assignment("1-3-2", "政策統計課", ASSIGN_PROGRESS, 0))
    save_register(reg, workspace.register_path)
    reg = workspace.load()
    assert reg.progress_owner(reg.plan("1-3-2"), 0) == "政策統計課"
    key = load_or_create_key(workspace.key_path)
    fields = {}
    for department in ("DX戦略課", "政策統計課"):
        path = workspace.root / f"{department}.xlsx"
        build_template(reg, department, TemplateOptions(YEAR), key, path)
        fields[department] = {f.key for f in editable(identity(path))}
    assert f"results|1-3-2|0|{YEAR}" in fields["政策統計課"] - fields["DX戦略課"]
    assert f"actual|1-3-2.1|{YEAR}" in fields["DX戦略課"]  # the indicators stay with the lead

    from plan_xl.register.checks import check_register

    reg.assignments.append(Assignment("1-3-2", "政策統計課", ASSIGN_PART, 0))
    reg.assignments.append(Assignment("1-3-2", "DX戦略課", ASSIGN_PROGRESS, 0))
    codes = [f.code for f in check_register(reg) if f.severity == "誤り"]
    assert "R067" in codes  # a 関係課記入欄 for the department that owns the progress
    assert "R055" in codes  # two departments for one field
