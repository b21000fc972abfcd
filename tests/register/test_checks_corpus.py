"""A corpus of broken registers, each a mistake a clerk makes editing register.xlsx in Excel
(made here with openpyxl, which saves the way Excel does). For every one: `check` does not
crash, names the sheet, row and column in Japanese, and templates / report / collect / mail refuse."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.register.checks import check_register, describe
from plan_xl.register.store import load_register
from plan_xl.workspace import Workspace


def col(ws, header: str) -> int:
    return next(c.column for c in ws[1] if c.value == header)


def row_of(ws, header: str, value) -> int:
    c = col(ws, header)
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, c).value == value)


def put(wb, sheet: str, key_header: str, key, header: str, value) -> str:
    """Set one cell of the row whose `key_header` is `key`; returns 「N行目 X列」."""
    ws = wb[sheet]
    r, c = row_of(ws, key_header, key), col(ws, header)
    ws.cell(r, c).value = value
    return f"{r}行目 {openpyxl.utils.get_column_letter(c)}列"


def copy_row(wb, sheet: str, key_header: str, key) -> str:
    ws = wb[sheet]
    r = row_of(ws, key_header, key)
    new = ws.max_row + 1
    for c in range(1, ws.max_column + 1):
        ws.cell(new, c).value = ws.cell(r, c).value
    return f"{new}行目"


def first_row(wb, sheet: str, **match) -> int:
    ws = wb[sheet]
    for r in range(2, ws.max_row + 1):
        if all(ws.cell(r, col(ws, h)).value == v for h, v in match.items()):
            return r
    raise LookupError(match)


def set_at(wb, sheet: str, r: int, header: str, value) -> str:
    ws = wb[sheet]
    c = col(ws, header)
    ws.cell(r, c).value = value
    return f"{r}行目 {openpyxl.utils.get_column_letter(c)}列"


def delete_row(wb, sheet: str, key_header: str, key) -> None:
    ws = wb[sheet]
    ws.delete_rows(row_of(ws, key_header, key))


def add_submission(wb):
    ws = wb["提出"]
    ws.append(["T2023-abc", "架空課", 2023, "x.xlsx", "0" * 64, "2024-05-01T10:00:00", "", ""])
    return f"{ws.max_row}行目 B列"


# (name, mistake(wb) -> expected location text, sheet, code of the message)
CASES = [
    ("duplicated plan row", lambda wb: copy_row(wb, "計画", "計画ID", "1-3-2"), "計画", "S015"),
    ("plan id typed as a date", lambda wb: put(wb, "計画", "計画ID", "1-3-7", "計画ID", dt.datetime(2007, 1, 3)),
     "計画", "S004"),
    ("indicator id became a float", lambda wb: put(wb, "指標", "指標ID", "1-3-5.2", "指標ID", 1.5), "指標",
     "R032"),
    ("section of a missing plan", lambda wb: set_at(wb, "節", first_row(wb, "節", 計画ID="1-4-7"), "計画ID", "9-9-9"),
     "節", "S016"),
    ("indicator in a missing section", lambda wb: put(wb, "指標", "指標ID", "1-3-5.3", "節", 7), "指標",
     "S019"),
    ("unknown department", lambda wb: put(wb, "計画", "計画ID", "1-3-6", "所管課", "架空課"), "計画", "R062"),
    ("full-width department name", lambda wb: put(wb, "計画", "計画ID", "1-3-3", "所管課", "ＤＸ戦略課"), "計画",
     "R061"),
    ("alias of another department", lambda wb: put(wb, "所管課", "所管課", "人事課", "別名", "DX戦略課"), "所管課",
     "R007"),
    ("target raised without its text", lambda wb: put(wb, "指標", "指標ID", "1-3-5.2", "目標値", 3000) and
     set_at(wb, "節", first_row(wb, "節", 計画ID="1-3-5"), "目標値（表記）",
            wb["節"].cell(first_row(wb, "節", 計画ID="1-3-5"), 7).value), "節", "R039"),
    ("target differs from its history", lambda wb: put(wb, "指標", "指標ID", "1-3-5.1", "目標値", 150000), "指標",
     "R037"),
    ("schedule beyond the period", lambda wb: set_at(wb, "取組", first_row(wb, "取組", 計画ID="1-3-7"), "終了年度", 2027),
     "取組", "R028"),
    ("schedule before the item started", lambda wb: put(wb, "計画", "計画ID", "1-3-7", "適用開始", 2023) and None,
     "取組", "R029"),
    ("progress before the item started", lambda wb: put(wb, "計画", "計画ID", "1-3-6", "適用開始", 2024) and None, "進捗",
     "R044"),
    ("half year typo", lambda wb: set_at(wb, "取組", first_row(wb, "取組", 計画ID="1-3-7"), "半期", "中"), "取組",
     "S018"),
    ("duplicated progress row", lambda wb: copy_row(wb, "進捗", "計画ID", "1-3-6"), "進捗", "R041"),
    ("actual typed with words", lambda wb: put(wb, "指標実績", "指標ID", "1-3-5.1", "実績値", "約4万"), "指標実績",
     "S006"),
    ("actual of a missing indicator", lambda wb: put(wb, "指標実績", "指標ID", "1-3-5.3", "指標ID", "1-3-5.9"),
     "指標実績", "R048"),
    ("unknown ending", lambda wb: put(wb, "計画", "計画ID", "1-3-8", "終了区分", "終わり"), "計画", "R022"),
    ("merged without successor", lambda wb: put(wb, "計画", "計画ID", "1-3-8", "適用終了", 2024) and
     put(wb, "計画", "計画ID", "1-3-8", "終了区分", "統合") and None, "計画", "R024"),
    ("successor that does not exist", lambda wb: put(wb, "計画", "計画ID", "1-4-4", "後継", "9-9-9"), "計画",
     "R025"),
    ("ends before it starts", lambda wb: put(wb, "計画", "計画ID", "1-4-3", "適用開始", 2024) and
     put(wb, "計画", "計画ID", "1-4-3", "適用終了", 2023), "計画", "R021"),
    ("bad e-mail address", lambda wb: put(wb, "所管課", "所管課", "人事課", "メール", "jinji at city"), "所管課",
     "R008"),
    ("unknown comparator", lambda wb: put(wb, "指標", "指標ID", "1-3-6.1", "比較", "未満"), "指標", "R035"),
    ("unknown direction", lambda wb: put(wb, "指標", "指標ID", "1-3-6.1", "方向", "横"), "指標", "R034"),
    ("target year as text", lambda wb: put(wb, "指標", "指標ID", "1-3-6.1", "目標年度", "2025年度"), "指標",
     "S006"),
    ("merged department still owns a section", lambda wb: put(wb, "所管課", "所管課", "中央公民館", "適用終了", 2023)
     and put(wb, "所管課", "所管課", "中央公民館", "終了区分", "統合")
     and put(wb, "所管課", "所管課", "中央公民館", "後継", "生涯学習課") and None, "節", "R020"),
    ("period end as era text", lambda wb: put(wb, "情報", "項目", "plan_end", "値", "令和7") and None, "情報", "R004"),
    ("action of a missing section", lambda wb: set_at(wb, "取組", first_row(wb, "取組", 計画ID="1-4-4"), "節", 9),
     "取組", "S019"),
    ("duplicated section row", lambda wb: copy_row(wb, "節", "計画ID", "1-4-4"), "節", "S017"),
    ("target history of a missing indicator", lambda wb: put(wb, "目標値の履歴", "指標ID", "1-3-5.1", "指標ID", "1-3-5.8"),
     "目標値の履歴", "S022"),
    ("submission by an unknown department", add_submission, "提出", "R050"),
    ("name edited without a record", lambda wb: put(wb, "計画", "計画ID", "1-4-6", "実施計画名", "働き方改革"), "計画",
     "R054"),
    ("indicator row deleted", lambda wb: delete_row(wb, "指標", "指標ID", "1-3-6.1"), "指標", "R053"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("pristine"))
    ws.create()
    return ws.register_path


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name, mistake, sheet, code", CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_found_where_it_is_and_nothing_runs(tmp_path, pristine, name, mistake, sheet, code):
    root = tmp_path / "作業"
    (root / "workbooks").mkdir(parents=True)
    path = root / "workbooks" / "register.xlsx"
    shutil.copy(pristine, path)
    wb = openpyxl.load_workbook(path)
    location = mistake(wb)
    wb.save(path)

    findings = check_register(load_register(path))  # never raises
    hits = [f for f in findings if f.severity == "誤り" and f.sheet == sheet and f.code == code]
    assert hits, [describe(f) for f in findings]
    assert all("行" in f.cell or f.sheet == "情報" for f in hits), [describe(f) for f in hits]
    if location:
        assert any(f.cell.startswith(location) for f in hits), (location, [describe(f) for f in hits])

    runner = CliRunner()
    out = runner.invoke(main, ["--dir", str(root), "check"])
    assert out.exit_code == 1 and f"「{sheet}」シート" in out.output and "Traceback" not in out.output
    for args in (["templates", "--year", "2023"], ["report", "--year", "2022"], ["collect"],
                 ["mail", "reminders", "--year", "2023"]):
        result = runner.invoke(main, ["--dir", str(root), *args])
        assert result.exit_code == 1, (args, result.output)
        assert "台帳に誤りが" in result.output and "Traceback" not in result.output
    assert not (root / "templates" / "2023").exists()
    assert not list((root / "workbooks").glob("2022年度_*.xlsx"))


def test_column_letters_follow_the_workbook_when_a_clerk_inserts_a_column(tmp_path, pristine):
    path = tmp_path / "register.xlsx"
    shutil.copy(pristine, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["指標"]
    ws.insert_cols(1)
    ws.cell(1, 1).value = "メモ"  # the clerk's own column, in front
    r = row_of(ws, "指標ID", "1-3-5.1")
    ws.cell(r, col(ws, "目標値")).value = 150000
    wb.save(path)
    reg = load_register(path)
    hits = [f for f in check_register(reg) if f.code == "R037"]
    assert [f.cell for f in hits] == [f"{r}行目 G列（目標値）"]
    assert reg.extra_columns["指標"]["メモ"] == {}  # kept (empty) on the next save
