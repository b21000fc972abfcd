"""The consolidated report: contents against the register and the reference text, achievement
rates, no foreign formulas or links, determinism, import round trip, print in LibreOffice."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import replace

import pytest
from click.testing import CliRunner
from conftest import needs_libreoffice, reference_fragments, soffice
from python_calamine import CalamineWorkbook

from plan_xl.cli import main
from plan_xl.register.model import Progress, format_number, name_key
from plan_xl.workbooks.importer import import_report
from plan_xl.workbooks.layout import sheet_name
from plan_xl.workbooks.report import achievement_rate, build_report, summary_rows


@pytest.fixture(scope="module")
def report_2022(tmp_path_factory, source_register):
    return build_report(source_register, 2022, tmp_path_factory.mktemp("report") / "2022.xlsx")


def sheet_texts(path) -> dict[str, str]:
    """Every non-empty cell value of every sheet, joined per sheet."""
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = "\n".join(format_number(v) if isinstance(v, float) else str(v)
                              for row in rows for v in row if v != "")
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_report_contains_every_plan_section_action_target_and_result(report_2022, source_register):
    texts = sheet_texts(report_2022)
    reg = source_register
    assert list(texts)[:5] == ["表紙", "評価", "目次", "集計", "グラフ"]
    assert list(texts)[5:] == [sheet_name(p) for p in reg.plans]
    for plan in reg.plans:
        sheet = texts[sheet_name(plan)]
        assert plan.name in texts["目次"] and plan.name in sheet
        for s in plan.sections:
            for text in [s.title, s.overview, s.vision, s.targets_text, *s.departments]:
                assert text in sheet, (plan.id, text)
            for a in s.actions:
                assert a.name in sheet
                for row in a.rows:
                    for span in row:
                        assert span.text in sheet
            for ind in s.indicators:
                assert ind.name in texts["集計"]
    for pr in reg.progress:
        sheet = texts[sheet_name(reg.plan(pr.plan_id))]
        assert pr.results in sheet and pr.revision in sheet
    summary = texts["集計"].split("\n")
    for plan in reg.plans:
        for ind in plan.indicators:
            assert format_number(ind.target) in summary
            if ind.baseline is not None:
                assert format_number(ind.baseline) in summary
    for a in reg.actuals:
        assert format_number(a.value) in summary


def test_report_matches_reference_text(report_2022, reference_text):
    everything = squash("\n".join(sheet_texts(report_2022).values()))
    spot_checks = [
        "行政組織の見直し", "組織改編の検討、実施", "郡山市の行政組織", "広報こおりやま",
        "キャッシュレス決済比率（金額ベース）", "12.4", "29381", "47657", "15.9",
        "スマートシニア応援事業", "2022年度（令和4年度）", "2025年度末までの目標値",
        "初心者向けスマートフォン体験講座", "職員健康保持増進", "精密検査の受診率",
    ]
    reference = squash(reference_text).replace(",", "")
    for text in spot_checks:
        assert squash(text) in reference, text  # the check itself is about the reference
        assert squash(text) in everything.replace(",", ""), text


def test_fy2022_report_holds_every_text_of_the_reference(report_2022, reference_text, source_register):
    """The report from the shipped register reproduces the reference: each of its text cells
    (markup removed, width and spacing normalised) is in some sheet of the report."""
    everything = name_key("\n".join(sheet_texts(report_2022).values()))
    aliases = {name_key(a): d.name for d in source_register.departments for a in d.aliases}
    fragments = reference_fragments(reference_text, aliases, {d.name for d in source_register.departments})
    assert len(fragments) > 900
    assert [text for text, key in fragments if key not in everything] == []


def test_achievement_rates_by_hand(source_register):
    rows = {r.indicator.id: r for r in summary_rows(source_register, 2022) if r.indicator}
    hand = {
        # up, usual: (15.9 - 12.4) / (40 - 12.4) = 3.5 / 27.6
        "1-3-1.1": 3.5 / 27.6,
        # up, usual: (47657 - 29381) / (70000 - 29381) = 18276 / 40619
        "1-3-1.2": 18276 / 40619,
        # down, usual: (7.2 - 19.6) / (15.3 - 19.6) = -12.4 / -4.3 (well beyond the target)
        "1-2-1.1": 12.4 / 4.3,
        # down, worse than baseline: (36.25 - 35.7) / (30 - 35.7) = 0.55 / -5.7
        "1-3-8.1": -0.55 / 5.7,
        # up, fallen below the baseline: (5365 - 12179) / (14000 - 12179) = -6814 / 1821
        "1-3-2.2": -6814 / 1821,
        # down, target == baseline == 1.05, actual 1.05 meets it: keep-it target, 100%
        "1-2-2.1": 1.0,
        # up, baseline 89.4 already above the target 85: keep-it target, actual 90.2 ≥ 85
        "1-4-1.2": 1.0,
        # up, no baseline: actual / target = 11130 / 25000
        "1-3-3.2": 11130 / 25000,
        # up, still at the baseline: (920 - 920) / (2500 - 920)
        "1-3-5.2": 0.0,
    }
    for indicator_id, rate in hand.items():
        assert rows[indicator_id].rates[2022] == pytest.approx(rate), indicator_id
    assert rows["1-3-1.3"].rates[2022] is None  # no actual reported
    # the summary sheet carries the same numbers
    ind = source_register.indicator("1-4-1.2")
    assert achievement_rate(ind, 84.9) == 0.0 and achievement_rate(ind, 85) == 1.0
    down = replace(source_register.indicator("1-3-8.1"), baseline=None)
    assert achievement_rate(down, 40) == pytest.approx(30 / 40)


def test_summary_sheet_rates_are_numbers(report_2022):
    rows = CalamineWorkbook.from_path(str(report_2022)).get_sheet_by_name("集計").to_python()
    header = next(r for r in rows if r[0] == "計画ID")
    ids, rate = header.index("指標ID"), header.index("2022年度達成率")
    values = {r[ids]: r[rate] for r in rows if r[ids] and r is not header}
    assert values["1-3-1.1"] == pytest.approx(3.5 / 27.6)
    assert values["1-2-1.1"] == pytest.approx(12.4 / 4.3)


def sheet_xml(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}


def test_no_formulas_or_external_links(tmp_path, register):
    plan = register.plans[0]
    plan.name = '=HYPERLINK("http://evil.example/","x")'
    plan.sections[0].actions[0].name = "http://evil.example/"
    register.progress.append(Progress(plan.id, 0, 2023, "=1+1", "@SUM(A1)"))
    path = build_report(register, 2023, tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert not [n for n in names if "externalLink" in n]
        for name, xml in sheet_xml(path).items():
            assert b"<f>" not in xml and b"<f " not in xml, name
            for link in re.findall(rb"<hyperlink [^>]*>", xml):
                assert b"location=" in link and b"r:id" not in link, link
        rels = b"".join(z.read(n) for n in names if n.endswith(".rels"))
        assert b'TargetMode="External"' not in rels
    texts = sheet_texts(path)
    assert '=HYPERLINK("http://evil.example/","x")' in texts["目次"]
    assert "=1+1" in texts[sheet_name(plan)]


def test_deterministic(tmp_path, source_register):
    a = build_report(source_register, 2022, tmp_path / "a.xlsx")
    b = build_report(source_register, 2022, tmp_path / "b.xlsx")
    assert sheet_xml(a) == sheet_xml(b)
    assert a.read_bytes() == b.read_bytes()


def test_import_round_trip(report_2022, source_register):
    import copy

    reg = copy.deepcopy(source_register)
    for ind in (i for p in reg.plans for i in p.indicators):
        ind.targets = []  # the printed report holds the target in force, not its history
    back = import_report(report_2022)
    assert back.plans == reg.plans  # plans, sections, actions with spans, indicators, texts
    key = lambda p: (p.plan_id, p.section, p.year, p.results, p.revision)  # noqa: E731
    assert sorted(map(key, back.progress)) == sorted(map(key, reg.progress))
    assert sorted((a.indicator_id, a.year, a.value) for a in back.actuals) == sorted(
        (a.indicator_id, a.year, a.value) for a in reg.actuals)
    assert back.goals == reg.goals
    assert [(i.goal, i.number, i.name) for i in back.initiatives] == [
        (i.goal, i.number, i.name) for i in reg.initiatives]
    assert {d.name for d in back.departments} == {d.name for d in reg.departments}
    for k in ("city", "plan_title", "coordinating_department", "plan_start", "plan_end", "baseline_year"):
        assert back.meta[k] == reg.meta[k]


def test_cli_report_and_import(workspace):
    runner = CliRunner()
    result = runner.invoke(main, ["--dir", str(workspace.root), "report", "--year", "2022"])
    assert result.exit_code == 0, result.output
    assert "報告書を作成しました" in result.output and workspace.report_path(2022).exists()
    out = workspace.root / "取込" / "register.xlsx"
    result = runner.invoke(main, ["--dir", str(workspace.root), "import",
                                  str(workspace.report_path(2022)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "実施計画 20 件" in result.output and out.exists()
    result = runner.invoke(main, ["--dir", str(workspace.root), "import", str(workspace.report_path(2022))])
    assert result.exit_code == 2 and "--out" in result.output
    result = runner.invoke(main, ["--dir", str(workspace.root), "report", "--year", "2030"])
    assert result.exit_code == 2 and "計画期間" in result.output


@needs_libreoffice
@pytest.mark.skipif(shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None,
                    reason="poppler-utils (pdfinfo, pdftotext) is not installed")
def test_prints_in_libreoffice(report_2022, source_register, tmp_path):
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run([soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(report_2022)], check=True, timeout=240,
                   capture_output=True)
    pdf = tmp_path / "2022.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert "841.89 x 595.3" in info  # A4 landscape
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout for n in range(1, pages + 1)]
    plan_pages = [t for t in texts if "実施計画名" in t]
    n_plans = len(source_register.plans)
    # measured with LibreOffice 7.4: 23 plan pages for 20 plans (1-3-1, four sections, takes 3)
    assert n_plans <= len(plan_pages) <= 2 * n_plans
    # one page wide: a page cut off on the right would lack the left-hand labels
    for n, text in enumerate(texts, 1):
        own = ("進捗状況報告書" in text or "目次" in text or "計画ID" in text or "達成率" in text)
        assert own or ("実施計画名" in text and "所管課" in text), f"page {n} is a column overflow"
    assert all("所管課" in t for t in plan_pages)
    assert pages <= 8 + len(plan_pages)


def test_charts_show_every_bar_with_its_true_value_and_years_in_order(report_2022, source_register):

    rows = [r for r in summary_rows(source_register, 2022) if r.indicator and r.rates[2022] is not None]
    extreme = min(rows, key=lambda r: r.rates[2022])
    assert extreme.rates[2022] < -1  # 1-3-2.2: -374%, beyond the axis
    with zipfile.ZipFile(report_2022) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    labels = [t for c in charts for t in re.findall(r"<a:t>([^<]*%)</a:t>", c)]
    assert f"{extreme.rates[2022]:,.0%}" in labels  # the true value, though the bar is clipped
    assert len(labels) == len(rows)
    for chart in charts:
        low, high = (float(re.search(rf'<c:{m} val="([-\d.]+)"', chart)[1]) for m in ("min", "max"))
        values = [float(v) for v in re.findall(r"<c:v>([-\d.E]+)</c:v>", chart)]
        assert values and all(low < v < high for v in values)  # every bar ends inside the plot
        assert '<c:legendPos val="r"/>' in chart


def test_numbers_print_with_thousands_separators(report_2022):
    import openpyxl

    ws = openpyxl.load_workbook(report_2022)["集計"]
    headers = {c.column: c.value for c in ws[4]}
    amounts = [c for row in ws.iter_rows(min_row=5) for c in row if isinstance(c.value, (int, float))
               and (headers[c.column] in ("現況値", "目標値") or headers[c.column].endswith("実績"))]
    assert any(c.value >= 1000 for c in amounts)
    # "#,##0.###" would print 70000 as "70,000." (a stray point)
    assert all(c.number_format.startswith("#,##0") and not c.number_format.endswith(".") for c in amounts)
