"""One state per department per year, the same in the five places that speak of it: `status`,
the status workbook, the reminders, the correction mail and the report (on the demo cycle)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook
from support.returned import fill, identity, typical_values

from plan_xl.cli import main
from plan_xl.collect import State, department_states
from plan_xl.collect.ledger import entries
from plan_xl.demo import DEMO_YEAR, MISTAKES, SILENT, run_demo
from plan_xl.mail import load_settings, prepare_letters
from plan_xl.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "デモ"
    outputs = run_demo(root, lambda message: None)
    return Workspace(root), outputs


def sheet(path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(skip_empty_area=False)


def test_status_workbook_is_current_after_the_first_collect(demo):
    ws, outputs = demo
    log = entries(ws)  # this run's verdicts: the demo collects once
    assert len(log) == 15
    rows = sheet(outputs["status"], "ファイル別")
    assert rows[0][0] == f"{DEMO_YEAR}年度 取りまとめ状況: ファイル別の判定"
    header = next(n for n, r in enumerate(rows) if r[0] == "受付日時")
    listed = {(r[1], r[3]) for r in rows[header + 1:] if r[0]}
    assert listed == {(e["file"], e["verdict"]) for e in log}
    findings = sheet(outputs["status"], "指摘一覧")
    assert sum(1 for r in findings if r[1] == MISTAKES) == sum(len(e["findings"]) for e in log
                                                               if e["department"] == MISTAKES) > 0


def test_status_workbook_says_what_it_is(demo):
    ws, outputs = demo
    rows = sheet(outputs["status"], "所管課別")
    assert rows[0][0] == f"{DEMO_YEAR}年度 取りまとめ状況"
    assert re.match(r"2024年06月03日 09:00 現在", rows[1][0])
    reg = ws.load()
    assert f"所管課 {len(reg.departments)} 課" in rows[2][0] and "差戻し中 1 課" in rows[2][0]
    header = next(n for n, r in enumerate(rows) if r[0] == "所管課")
    listed = [r[0] for r in rows[header + 1:] if r[0]]
    assert listed == [d.name for d in reg.departments]  # every department, not only field owners


def test_the_five_places_agree(demo):
    ws, outputs = demo
    reg = ws.load()
    states = department_states(ws, reg, DEMO_YEAR)
    assert states[MISTAKES] == State.RETURNED and states[SILENT] == State.MISSING
    assert State.ACCEPTED in states.values()
    # every 所管課 of the shipped register fills a field of its own (記入課), so none is 参考 here;
    # test_coowners covers a 参考送付 department in status, mail and reminders
    assert State.REFERENCE not in states.values()

    # 1. plan-xl status
    out = CliRunner().invoke(main, ["--dir", str(ws.root), "status", "--year", str(DEMO_YEAR)])
    printed = {line.split()[0]: line.split()[1] for line in out.output.splitlines()[2:-1] if line.strip()}
    assert printed == {d: str(s) for d, s in states.items()}

    # 2. the status workbook
    rows = sheet(outputs["status"], "所管課別")
    header = next(n for n, r in enumerate(rows) if r[0] == "所管課")
    assert {r[0]: r[1] for r in rows[header + 1:] if r[0]} == {d: str(s) for d, s in states.items()}

    # 3. reminders: to those still owing a return, in the words of their state
    settings = load_settings(ws, reg)
    reminders = prepare_letters(ws, reg, "reminders", DEMO_YEAR, settings, due=dt.date(2024, 6, 14))
    letters = {x.key: x for x in reminders.letters}
    assert set(letters) == {d for d, s in states.items() if s in (State.MISSING, State.RETURNED)}
    assert "修正版" in letters[MISTAKES].subject and "確認できておりません" in letters[SILENT].body
    assert "修正" not in letters[SILENT].subject

    # 4. the correction mail: exactly the departments whose return awaits correction
    corrections = prepare_letters(ws, reg, "corrections", DEMO_YEAR, settings)
    assert [x.key for x in corrections.letters] == [d for d, s in states.items() if s == State.RETURNED]

    # 5. the report: 集計 and the progress rows say which is which
    report = outputs["report"]
    summary = sheet(report, "集計")
    status_of = {}
    for row in summary:
        for department in (MISTAKES, SILENT):
            if department in [str(c) for c in row]:
                status_of.setdefault(department, set()).update(str(c) for c in row)
    assert "修正待ち" in status_of[MISTAKES] and "未提出" in status_of[SILENT]
    texts = {name: "\n".join(str(c) for r in sheet(report, name) for c in r)
             for name in CalamineWorkbook.from_path(str(report)).sheet_names}
    owed = {d: [t for n, t in texts.items() if n[:1].isdigit() and f"{DEMO_YEAR}年度" in t and d in t]
            for d in (MISTAKES, SILENT)}
    assert any("（修正待ち）" in t for t in owed[MISTAKES])
    assert any("（未提出）" in t for t in owed[SILENT])
    said = CliRunner().invoke(main, ["--dir", str(ws.root), "report", "--year", str(DEMO_YEAR), "--out",
                                     str(ws.root / "再作成.xlsx")]).output
    assert f"未提出の所管課 1 課（{SILENT}）、修正待ちの所管課 1 課（{MISTAKES}）" in said


def test_after_the_correction_arrives_every_place_says_accepted(demo, tmp_path):
    import shutil

    from plan_xl.collect import collect

    ws = Workspace(tmp_path / "デモ")
    shutil.copytree(demo[0].root, ws.root)
    template = ws.template_path(DEMO_YEAR, MISTAKES)
    (ws.inbox / f"{MISTAKES}_修正版.xlsx").write_bytes(fill(template, typical_values(ws.load(), identity(template))))

    result = collect(ws, now=dt.datetime(2024, 6, 10, 9, 0))

    reg = ws.load()
    assert department_states(ws, reg, DEMO_YEAR)[MISTAKES] == State.ACCEPTED
    rows = sheet(result.status_paths[0], "所管課別")
    assert rows[1][0].startswith("2024年06月10日") and "差戻し中 0 課" in rows[2][0]
    assert dict((r[0], r[1]) for r in rows if r[0])[MISTAKES] == "受理"
    assert not ws.correction_path(DEMO_YEAR, MISTAKES).exists()  # retired: not mailed again
    settings = load_settings(ws, reg)
    assert MISTAKES not in {x.key for x in prepare_letters(ws, reg, "reminders", DEMO_YEAR, settings).letters}
    assert prepare_letters(ws, reg, "corrections", DEMO_YEAR, settings).letters == []
