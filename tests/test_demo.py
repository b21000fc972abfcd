"""On the demo cycle: the FY2023 report opens with the rating counts and the items that fell
back (with the department's reason), and `plan-xl export` writes three formats read back equal."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import needs_libreoffice
from python_calamine import CalamineWorkbook
from support.rendering import flat, needs_poppler, pdf_pages

from plan_xl.cli import main
from plan_xl.demo import DEMO_YEAR, FALLS_BACK, run_demo
from plan_xl.export import read_csv, read_json, read_xlsx
from plan_xl.register.evaluate import evaluate
from plan_xl.register.frames import frames
from plan_xl.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "デモ"
    outputs = run_demo(root, lambda _: None)
    return Workspace(root), outputs["report"]


def sheet_rows(path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(skip_empty_area=False)


def test_the_fy2023_report_opens_with_counts_and_the_items_that_fell_back(demo):
    ws, report = demo
    reg = ws.load()
    assert CalamineWorkbook.from_path(str(report)).sheet_names[:3] == ["表紙", "評価", "目次"]
    rows = sheet_rows(report, "評価")
    counts = {r[0]: r[2] for r in rows if r[0] in ("S", "A", "B", "C", "–")}
    expected = evaluate(reg, DEMO_YEAR).counts()
    assert counts == {k: float(v) for k, v in expected.items()} and sum(counts.values()) == len(reg.plans)
    changes = {r[0]: r[2] for r in rows if r[0] in ("上昇", "横ばい", "低下", "比較なし")}
    assert sum(changes.values()) == len(reg.plans) and changes["低下"] >= 1
    # the demo's 行政マネジメント課 reported 1-2-2.1 rising (lower is better) with a reason:
    # (1.12 vs the keep-it target 1.05 → 0%, with 1-2-2.2 at 100%: mean 50% → B, S last year)
    [(indicator_id, (_, reason))] = FALLS_BACK.items()
    start = next(n for n, r in enumerate(rows) if str(r[0]).startswith("評価が前年度より低下した実施計画"))
    fallen = [r for r in rows[start + 2:] if r[0]]
    assert [(r[0], r[3], r[4]) for r in fallen] == [("1-2-2", "S", "B")]
    assert reason in fallen[0][6]
    kpi = next(r for r in sheet_rows(report, "集計") if r[5] == indicator_id)
    assert kpi[-3:] == ["C", "低下", reason]  # 集計 prints the 変動要因 next to the rating


def test_the_reason_is_kept_with_the_actuals_provenance(demo):
    ws, _ = demo
    reg = ws.load()
    [(indicator_id, (value, reason))] = FALLS_BACK.items()
    actual = reg.actual_for(indicator_id, DEMO_YEAR)
    assert (actual.value, actual.reason) == (value, reason)
    assert actual.source.department == "行政マネジメント課" and actual.source.sha256
    rated = [pr for pr in reg.progress if pr.year == DEMO_YEAR and pr.self_rating]
    assert rated and {pr.self_rating for pr in rated} == {"A"}  # the demo chooses 「A 良好に進捗」


def test_export_on_the_demo_reads_back_equal(demo):
    ws, _ = demo
    out = ws.workbooks / "opendata" / str(DEMO_YEAR)
    made_by_demo = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(made_by_demo) == 5
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "export"])
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == made_by_demo  # the same bytes again
    tables = frames(ws.load(), DEMO_YEAR, "072036")
    stem = f"072036_行財政改革実施計画_{DEMO_YEAR}年度"
    for name, df in tables.items():
        pd.testing.assert_frame_equal(read_csv(out / f"{stem}_{name}.csv", name), df)
        pd.testing.assert_frame_equal(read_xlsx(out / f"{stem}.xlsx")[name], df)
        pd.testing.assert_frame_equal(read_json(out / f"{stem}.json")[name], df)
    kpi = tables["指標の実績"]
    assert (kpi["年度"] == DEMO_YEAR).sum() == sum(len(p.indicators) for p in ws.load().plans)


@needs_libreoffice
@needs_poppler
def test_the_fy2023_pdfs_first_pages_give_the_counts_and_the_fallen_list(demo):
    ws, report = demo
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "report", "--year", str(DEMO_YEAR), "--pdf"])
    assert result.exit_code == 0, result.output
    page = flat(pdf_pages(report.with_suffix(".pdf"))[1])
    result = evaluate(ws.load(), DEMO_YEAR)
    for step in result.scale:  # the row 「S 特に良好に進捗 <count> <last year's count>」
        assert f"{step.label}{step.meaning}{result.counts()[step.label]}" in page
    assert "評価が前年度より低下した実施計画（1件）" in page and "業務量の可視化とBPRの推進" in page
    assert flat(next(iter(FALLS_BACK.values()))[1])[:20] in page
