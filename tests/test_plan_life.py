"""The plan's whole life, played FY2023 → FY2024 → FY2025 → FY2026 (a new period) the way the
coordinating section runs it: commands, a clerk's edit in register.xlsx, returns collected.
After each year the register checks clean, the right departments are chased, and published
reports regenerate with the same cell values."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.collect import collect
from plan_xl.demo import fill_template
from plan_xl.register.checks import check_register, describe
from plan_xl.register.history import field_owners
from plan_xl.register.store import load_register
from plan_xl.workspace import Workspace


def run(ws: Workspace, *args: str) -> str:
    result = CliRunner().invoke(main, ["--dir", str(ws.root), *args])
    assert result.exit_code == 0, (args, result.output)
    return result.output


def values(path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def report(ws: Workspace, year: int) -> dict[str, list[tuple]]:
    run(ws, "report", "--year", str(year), "--date", "2030-01-01")
    return values(ws.report_path(year))


def play_year(ws: Workspace, year: int) -> None:
    """Issue the year's templates, every department returns them filled, collect."""
    reg = ws.load()
    run(ws, "templates", "--year", str(year), "--reissue")  # FY2026's were issued just before
    for path in sorted(ws.templates_dir(year).glob("*.xlsx")):
        (ws.inbox / path.name).parent.mkdir(parents=True, exist_ok=True)
        (ws.inbox / path.name).write_bytes(fill_template(path.read_bytes(), reg))
    result = collect(ws)
    assert result.exit_code == 0, [(r.item.label, r.message, [str(f) for f in r.findings]) for r in result.results]
    for path in ws.inbox.glob("*.xlsx"):
        path.unlink()


def assert_clean(ws: Workspace) -> None:
    errors = [describe(f) for f in check_register(ws.load()) if f.severity == "誤り"]
    assert errors == []


def issued(ws: Workspace, year: int) -> set[str]:
    return {p.stem.split("_", 2)[2] for p in ws.templates_dir(year).glob("*.xlsx")}


def sheet_rows(report_values, plan_id: str) -> list[tuple]:
    return next(rows for name, rows in report_values.items() if name.startswith(plan_id + " "))


def test_four_years_of_changes_and_a_new_period(tmp_path):
    ws = Workspace(tmp_path / "行革")
    ws.root.mkdir()
    run(ws, "init")
    first_2022 = report(ws, 2022)

    # FY2023: nothing changes yet
    play_year(ws, 2023)
    assert_clean(ws)
    first_2023 = report(ws, 2023)
    assert report(ws, 2022) == first_2022

    # Decided for FY2024: an item added, one merged, a target raised, a department renamed and
    # one merged into another on 2024-04-01, and a clerk's edit in register.xlsx.
    run(ws, "plan", "add-department", "マイナンバー推進課", "--email", "mynumber@city.example.jp",
        "--from", "2024", "--reason", "組織改編（2024-04-01）")
    run(ws, "plan", "add", "1-3-9", "マイナンバーカード活用推進事業", "--department", "マイナンバー推進課",
        "--from", "2024", "--reason", "新規事業")
    run(ws, "plan", "retire", "1-3-2", "--last", "2023", "--how", "統合", "--into", "1-3-1",
        "--reason", "デジタルファースト推進事業に統合")
    run(ws, "plan", "target", "1-3-5.1", "150000", "--from", "2024", "--reason", "目標値を達成したため")
    run(ws, "plan", "rename-department", "男女共同参画課", "ダイバーシティ推進課", "--from", "2024",
        "--reason", "組織改編（2024-04-01）")
    run(ws, "plan", "merge-department", "中央公民館", "生涯学習課", "--from", "2024",
        "--reason", "組織改編（2024-04-01）")
    wb = openpyxl.load_workbook(ws.register_path)  # the clerk, in Excel
    header = [c.value for c in wb["指標"][1]]
    row = dict.fromkeys(header)
    row.update({"指標ID": "1-3-9.1", "計画ID": "1-3-9", "節": 1, "指標名": "マイナンバーカード交付率", "単位": "%",
                "目標値": 90, "比較": "以上", "目標年度": 2025, "現況値": 70, "現況値の時点": "2023年度末", "方向": "上"})
    wb["指標"].append([row[h] for h in header])
    plans = wb["計画"]
    col = [c.value for c in plans[1]].index("事業概要") + 1
    r = next(r for r in range(2, plans.max_row + 1) if plans.cell(r, 1).value == "1-3-9")
    plans.cell(r, col).value = "マイナンバーカードを活用した行政手続のオンライン化を進める。"
    wb.save(ws.register_path)
    refused = CliRunner().invoke(main, ["--dir", str(ws.root), "templates", "--year", "2024"])
    assert refused.exit_code == 1 and "変更履歴に記録されていません" in refused.output
    run(ws, "plan", "record", "--from", "2024", "--reason", "新規事業の指標と概要")
    assert_clean(ws)

    reg = ws.load()
    assert "中央公民館" in field_owners(reg, 2023)  # 2023 as it was
    assert "マイナンバー推進課" not in field_owners(reg, 2023)  # did not exist: never chased for 2023
    owners_2024 = field_owners(reg, 2024)
    assert "マイナンバー推進課" in owners_2024 and "中央公民館" not in owners_2024
    status_2023 = run(ws, "status", "--year", "2023")
    assert "マイナンバー推進課" not in status_2023 and "未提出 0 課" in status_2023

    play_year(ws, 2024)
    assert_clean(ws)
    assert "マイナンバー推進課" in issued(ws, 2024) and "中央公民館" not in issued(ws, 2024)
    assert "ダイバーシティ推進課" in issued(ws, 2024) and "男女共同参画課" not in issued(ws, 2024)
    guide = openpyxl.load_workbook(next(ws.templates_dir(2024).glob("*市民課.xlsx")), read_only=True)["記入要領"]
    guide_text = {c.value for row in guide.iter_rows() for c in row}
    assert "5. この年度からの計画の変更" in guide_text and "1-3-5.1" in guide_text  # the 見直し context
    assert report(ws, 2022) == first_2022
    assert report(ws, 2023) == first_2023
    first_2024 = report(ws, 2024)
    assert not any(name.startswith("1-3-2 ") for name in first_2024)  # merged after FY2023
    changes = {c for row in first_2024["計画の変更"] for c in row}
    assert {"目標値を達成したため", "デジタルファースト推進事業に統合", "2024年度"} <= changes
    assert "計画の変更" not in first_2022
    assert any(name.startswith("1-3-9 ") for name in first_2024)
    for plan_id in ("1-3-1", "1-3-5", "1-1-3"):
        texts = [c for row in sheet_rows(first_2024, plan_id) for c in row if isinstance(c, str)]
        assert {"2022年度", "2023年度", "2024年度"} <= set(texts), plan_id
    summary = first_2024["集計"]
    head = next(row for row in summary if row[0] == "計画ID")
    kpi = next(row for row in summary if row[head.index("指標ID")] == "1-3-5.1")
    assert kpi[head.index("目標値")] == 150000
    assert kpi[head.index("2022年度達成率")] == pytest.approx((42182 - 26171) / (100000 - 26171))
    assert "150,000" in " ".join(str(c) for c in sheet_rows(first_2024, "1-3-5") if c)

    # FY2025: 1-3-7 finished with FY2024
    run(ws, "plan", "retire", "1-3-7", "--last", "2024", "--how", "完了", "--reason", "河川台帳の電子化が完了")
    assert_clean(ws)
    assert "河川課" not in field_owners(ws.load(), 2025)
    play_year(ws, 2025)
    assert_clean(ws)
    assert "河川課" not in issued(ws, 2025)
    first_2025 = report(ws, 2025)
    head = next(row for row in first_2025["集計"] if row[0] == "計画ID")
    outcomes = {row[head.index("目標の達成")] for row in first_2025["集計"] if len(row) == len(head)}
    assert {"達成", "未達成"} & outcomes  # the final year states each indicator against the period target
    final = openpyxl.load_workbook(next(ws.templates_dir(2025).glob("*市民課.xlsx")), read_only=True)
    assert "計画の見直し（計画期間の総括）" in {c.value for s in final.worksheets for row in s.iter_rows() for c in row}
    assert report(ws, 2022) == first_2022 and report(ws, 2024) == first_2024

    # FY2026: the next period; templates without --year says which year and why
    run(ws, "plan", "new-period", "2026", "2029", "--reason", "第2期実施計画")
    run(ws, "plan", "target", "1-3-5.1", "200000", "--from", "2026", "--reason", "第2期の目標値")
    assert_clean(ws)
    out = run(ws, "templates")
    assert "2026年度の調査票を作成します" in out
    again = CliRunner().invoke(main, ["--dir", str(ws.root), "templates"])
    assert again.exit_code == 2 and "作成済み" in again.output  # never silently re-issued
    wb = openpyxl.load_workbook(next(ws.templates_dir(2026).glob("*市民課.xlsx")))
    texts = {c.value for s in wb.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)}
    assert "2029年度末までの目標値" in texts and "2026年度（令和8年度）" in texts
    assert "2025年度末までの目標値" not in texts
    play_year(ws, 2026)
    assert_clean(ws)
    assert report(ws, 2022) == first_2022 and report(ws, 2025) == first_2025
    history = run(ws, "plan", "history")
    assert "1-3-5.1" in history and "新規事業の指標と概要" in history
    assert load_register(ws.register_path).changes  # 変更履歴 is in the register itself
