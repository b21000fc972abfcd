"""Open data: the register's tables as DataFrames, and `plan-xl export` in three formats read
back equal; untrusted text stays text; output is deterministic."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.export import check_digit, export, read_csv, read_json, read_xlsx, valid_code
from plan_xl.register.frames import INDICATOR_YEARS, ITEM_YEARS, ITEMS, SCHEMA, frames
from plan_xl.register.model import Actual, Provenance
from plan_xl.workspace import init_workspace

HOSTILE = '=HYPERLINK("http://evil.example/","押す")'


@pytest.fixture
def reg(register):
    """The FY2022 register with FY2023 actuals as collect merges them, reasons included."""
    prov = Provenance("返送.xlsx", "ab" * 32, "DX戦略課", "T2023-x", "2024-05-20T10:00:00")
    register.actuals += [Actual("1-3-1.1", 2023, 23.9, prov, "●キャッシュレス決済の対象を拡大したため。"),
                         Actual("1-3-1.2", 2023, 30000, prov, HOSTILE),
                         Actual("1-3-2.1", 2023, 190, prov, "-前年並み")]
    return register


def test_frames_hold_the_register(reg):
    t = frames(reg, 2023, "072036")
    assert list(t) == [ITEMS, ITEM_YEARS, INDICATOR_YEARS]
    for name, df in t.items():
        assert list(df.columns) == [c for c, _ in SCHEMA[name]]
        assert set(df["全国地方公共団体コード"]) == {"072036"} and set(df["地方公共団体名"]) == {"郡山市"}
    assert list(t[ITEMS]["計画ID"]) == [p.id for p in reg.plans]
    assert list(t[ITEMS]["実施計画名"]) == [p.name for p in reg.plans]
    indicators = [i for p in reg.plans for i in p.indicators]
    kpi = t[INDICATOR_YEARS]
    assert len(kpi) == 2 * len(indicators) and len(t[ITEM_YEARS]) == 2 * len(reg.plans)
    by_key = kpi.set_index(["指標ID", "年度"])
    for a in reg.actuals:
        assert by_key.loc[(a.indicator_id, a.year), "実績値"] == a.value
        assert by_key.loc[(a.indicator_id, a.year), "変動要因"] == a.reason
    missing = [(i.id, y) for i in indicators for y in (2022, 2023) if reg.actual_for(i.id, y) is None]
    assert missing and all(pd.isna(by_key.loc[k, "実績値"]) and by_key.loc[k, "評価"] == "–" for k in missing)
    # 1-3-1.2, hand-computed: (30000 − 29381) ÷ (70000 − 29381) = 1.5% → C, fell from 45.0%
    assert by_key.loc[("1-3-1.2", 2023), "達成率（%）"] == 1.5
    assert by_key.loc[("1-3-1.2", 2022), "達成率（%）"] == 45.0
    # 1-2-1.1 at 288.4% is shown capped at 100%
    assert by_key.loc[("1-2-1.1", 2022), ["達成率（%）", "達成率（表示、上限100%）", "評価"]].tolist() == [288.4, 100.0, "S"]


def test_the_three_formats_read_back_equal(reg, tmp_path):
    t = frames(reg, 2023, "072036")
    paths = export(reg, 2023, tmp_path / "公開", "072036")
    assert [p.suffix for p in paths] == [".csv", ".csv", ".csv", ".xlsx", ".json"]
    for name, df in t.items():
        csv_path = next(p for p in paths if p.name.endswith(f"_{name}.csv"))
        assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it
        pd.testing.assert_frame_equal(read_csv(csv_path, name), df)
        pd.testing.assert_frame_equal(read_xlsx(paths[3])[name], df)
        pd.testing.assert_frame_equal(read_json(paths[4])[name], df)


def test_untrusted_text_stays_text(reg, tmp_path):
    paths = export(reg, 2023, tmp_path, "072036")
    csv_text = paths[2].read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in csv_text and "'-前年並み" in csv_text  # Excel shows it as text
    with zipfile.ZipFile(paths[3]) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in s or b"hyperlink" in s.lower() for s in sheets)
        assert "=HYPERLINK(" in z.read("xl/sharedStrings.xml").decode()


def test_output_is_deterministic(reg, tmp_path):
    first = [p.read_bytes() for p in export(reg, 2023, tmp_path / "a", "072036")]
    second = [p.read_bytes() for p in export(reg, 2023, tmp_path / "b", "072036")]
    assert first == second


def test_local_government_code_check_digit():
    assert check_digit("07203") == 6 and valid_code("072036")  # 郡山市
    assert valid_code("131016") and valid_code("011002")  # 千代田区, 札幌市
    assert not valid_code("072035") and not valid_code("72036") and not valid_code("07203a")


def test_cli_export_takes_the_code_from_plan_xl_toml(workspace):
    init_workspace(workspace.root)
    assert 'local_government_code = "072036"' in workspace.settings_path.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "export", "--year", "2022"])
    assert result.exit_code == 0, result.output
    out = workspace.workbooks / "opendata" / "2022"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"072036_行財政改革実施計画_2022年度{s}" for s in ("_実施計画.csv", "_実施計画の評価.csv",
                                                        "_指標の実績.csv", ".xlsx", ".json"))
    back = read_json(out / "072036_行財政改革実施計画_2022年度.json")
    pd.testing.assert_frame_equal(back[ITEMS], frames(workspace.load(), 2022, "072036")[ITEMS])

    text = workspace.settings_path.read_text(encoding="utf-8").replace('"072036"', '"072035"')
    workspace.settings_path.write_text(text, encoding="utf-8")
    bad = CliRunner().invoke(main, ["--dir", str(workspace.root), "export"])
    assert bad.exit_code == 1 and "全国地方公共団体コード" in bad.output and "072035" in bad.output


def test_register_frames_and_the_year_over_year_table(reg):
    t = frames(reg, 2023)[INDICATOR_YEARS]
    table = t.pivot_table(index="指標ID", columns="年度", values="実績値", aggfunc="first")
    assert table.loc["1-3-1.1"].tolist() == [15.9, 23.9]


def test_pandas_stays_off_collects_path():
    import subprocess
    import sys

    code = "import sys, plan_xl.collect, plan_xl.cli; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
