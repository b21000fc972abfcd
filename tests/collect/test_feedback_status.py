"""feedback's status workbook (取りまとめ状況) and run log after a real collect: one row per
department with its state, one per file with its verdict, one per finding at its cell; text
only, never a formula; the same bytes when written again for the same moment."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from support.returned import YEAR, editable, fill, identity, issue, typical_values

from plan_xl.collect import State, Verdict, collect
from plan_xl.collect.feedback import write_status
from plan_xl.findings import ERROR

NOW = dt.datetime(2024, 5, 20, 9, 30)
GOOD, BAD, SILENT = "DX戦略課", "市民課", "人事課"


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    ws = issue(tmp_path_factory.mktemp("status") / "作業フォルダ", [GOOD, BAD, SILENT])
    reg = ws.load()
    good = ws.template_path(YEAR, GOOD)
    (ws.inbox / "dx.xlsx").write_bytes(fill(good, typical_values(reg, identity(good))))
    bad = ws.template_path(YEAR, BAD)
    values = typical_values(reg, identity(bad))
    results = editable(identity(bad), "results")[0].key
    (ws.inbox / "市民課.xlsx").write_bytes(fill(bad, {**values, results: ""}))
    (ws.inbox / "メモ.txt").write_text("調査票ではありません", encoding="utf-8")
    result = collect(ws, now=NOW)
    return ws, result, results


def rows(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def table(sheet, first_header: str) -> list[dict]:
    """The sheet's table under its title lines, as dicts by header."""
    grid = rows(sheet)
    top = next(n for n, r in enumerate(grid) if r[0] == first_header)
    return [dict(zip(grid[top], r, strict=True)) for r in grid[top + 1:]]


def test_every_department_with_its_state(collected):
    ws, result, _ = collected
    assert result.status_paths == [ws.status_path(YEAR)]
    book = openpyxl.load_workbook(ws.status_path(YEAR))
    assert book.sheetnames == ["所管課別", "ファイル別", "指摘一覧"]
    states = {r["所管課"]: r["状況"] for r in table(book["所管課別"], "所管課")}
    assert states[GOOD] == State.ACCEPTED and states[BAD] == State.RETURNED and states[SILENT] == State.MISSING
    title = rows(book["所管課別"])
    assert title[0][0] == f"{YEAR}年度 取りまとめ状況" and "2024年05月20日 09:30" in title[1][0]


def test_every_file_with_its_verdict(collected):
    ws, _, _ = collected
    files = {r["ファイル"]: r for r in table(openpyxl.load_workbook(ws.status_path(YEAR))["ファイル別"], "受付日時")}
    assert files["dx.xlsx"]["判定"] == Verdict.ACCEPTED and files["dx.xlsx"]["所管課"] == GOOD
    assert files["市民課.xlsx"]["判定"] == Verdict.REJECTED and files["市民課.xlsx"]["誤り"] >= 1
    assert files["メモ.txt"]["判定"] != Verdict.ACCEPTED


def test_every_finding_at_its_cell(collected):
    ws, result, results = collected
    spec = next(f for f in identity(ws.template_path(YEAR, BAD)).fields if f.key == results)
    findings = table(openpyxl.load_workbook(ws.status_path(YEAR))["指摘一覧"], "ファイル")
    mine = [f for f in findings if f["ファイル"] == "市民課.xlsx"]
    assert any(f["区分"] == ERROR and (f["シート"], f["セル"]) == (spec.sheet, spec.cell) for f in mine)
    rejected = next(r for r in result.results if r.item.name == "市民課.xlsx")
    assert len(mine) == len(rejected.findings)


def test_no_formula_and_the_same_bytes_again(collected):
    ws, _, _ = collected
    path = ws.status_path(YEAR)
    book = openpyxl.load_workbook(path)
    assert all(c.data_type != "f" for s in book.worksheets for row in s.iter_rows() for c in row)
    first = path.read_bytes()
    write_status(ws, ws.load(), YEAR, NOW)
    assert path.read_bytes() == first


def test_the_run_log_traces_every_file(collected):
    ws, result, _ = collected
    text = result.log_path.read_text(encoding="utf-8")
    assert result.log_path.parent == ws.workbooks / "logs"
    assert text.startswith(f"plan-xl collect {NOW.isoformat(timespec='seconds')}")
    for r in result.results:
        assert f"{r.verdict}\t{r.item.label}\t{r.department}" in text
    assert text.rstrip().endswith("台帳: 更新しました")
