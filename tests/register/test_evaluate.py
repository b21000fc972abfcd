"""Achievement evaluation on hand-computed cases: the rating thresholds in both directions,
missing data, a target changed mid-period, the register's own scale, big changes."""

from __future__ import annotations

import openpyxl
import pytest

from plan_xl.errors import RegisterError
from plan_xl.register.evaluate import FALL, FLAT, MET, NOT_MET, RISE, evaluate, reason_needed
from plan_xl.register.model import (
    Actual,
    Department,
    Goal,
    Indicator,
    Initiative,
    Plan,
    Progress,
    Rating,
    Register,
    Section,
    Target,
)
from plan_xl.register.store import load_register, save_register

UP = Indicator("1-1-1.1", "1-1-1", 1, "上がるほど良い", "件", target=60, baseline=20)
DOWN = Indicator("1-1-1.2", "1-1-1", 1, "下がるほど良い", "%", target=15.3, baseline=19.6, direction="down")


def register(*indicators: Indicator, actuals=(), plans_without_numbers: int = 0) -> Register:
    """A one-goal register: plan 1-1-1 with `indicators`, then plans without numbers."""
    plans = [Plan("1-1-1", "数値のある計画", ["人事課"], sections=[Section("1-1-1", 1, indicators=list(indicators))])]
    plans += [Plan(f"1-1-{n}", f"数値のない計画{n}", ["人事課"], sections=[Section(f"1-1-{n}", 1)])
              for n in range(2, 2 + plans_without_numbers)]
    return Register(meta={"plan_start": "2022", "plan_end": "2025", "baseline_year": "2021"},
                    goals=[Goal(1, "目標")], initiatives=[Initiative(1, 1, "取組事項")],
                    departments=[Department("人事課")], plans=plans,
                    actuals=[Actual(i, y, v) for i, y, v in actuals])


def rated(reg: Register, year: int) -> dict[str, tuple]:
    return {r.indicator.id: (r.rate, r.rating) for r in evaluate(reg, year).indicators}


@pytest.mark.parametrize(("actual", "rate", "rating"), [
    (60, 1.0, "S"),           # (60 − 20) ÷ (60 − 20)
    (80, 1.5, "S"),           # beyond the target: the true rate is kept
    (52, 0.8, "A"),           # 32 ÷ 40, exactly on the A threshold
    (51.9, 31.9 / 40, "B"),   # just under it
    (40, 0.5, "B"),
    (39.9, 19.9 / 40, "C"),
    (10, -0.25, "C"),         # worse than the baseline
])
def test_higher_is_better_thresholds(actual, rate, rating):
    [(got_rate, got_rating)] = rated(register(UP, actuals=[(UP.id, 2023, actual)]), 2023).values()
    assert got_rate == pytest.approx(rate) and got_rating == rating


@pytest.mark.parametrize(("actual", "rate", "rating"), [
    (15.3, 1.0, "S"),              # (15.3 − 19.6) ÷ (15.3 − 19.6)
    (12.0, 7.6 / 4.3, "S"),        # fell further than the target: good for a lower-is-better one
    (16.16, 0.8, "A"),             # −3.44 ÷ −4.3
    (17.45, 0.5, "B"),             # −2.15 ÷ −4.3
    (18.0, 1.6 / 4.3, "C"),
    (21.0, -1.4 / 4.3, "C"),       # rose: the wrong way
])
def test_lower_is_better_thresholds(actual, rate, rating):
    [(got_rate, got_rating)] = rated(register(DOWN, actuals=[(DOWN.id, 2023, actual)]), 2023).values()
    assert got_rate == pytest.approx(rate) and got_rating == rating


def test_missing_data_is_rated_dash_and_not_compared():
    reg = register(UP, DOWN, actuals=[(UP.id, 2022, 52)], plans_without_numbers=1)
    result = evaluate(reg, 2023)
    assert [(r.rate, r.rating, r.change) for r in result.indicators] == [(None, "–", ""), (None, "–", "")]
    assert [(p.rating, p.basis, p.change) for p in result.plans] == [("–", "", ""), ("–", "", "")]
    assert result.counts() == {"S": 0, "A": 0, "B": 0, "C": 0, "–": 2}
    assert evaluate(reg, 2022).plans[0].rating == "A"  # 2022: only UP, at 80%


def test_a_target_changed_mid_period_rates_each_year_against_the_target_then_in_force():
    """1-3-5's history: 30,000件 in force in FY2022, raised to 100,000件 from FY2023."""
    ind = Indicator("1-1-1.1", "1-1-1", 1, "オンライン申請件数", "件", target=100000, baseline=26171,
                    targets=[Target(30000, 2022), Target(100000, 2023, "目標値の引上げ")])
    reg = register(ind, actuals=[(ind.id, 2022, 42182), (ind.id, 2023, 50000)])
    y2022, y2023 = evaluate(reg, 2022).indicators[0], evaluate(reg, 2023).indicators[0]
    assert (y2022.target, y2022.rate, y2022.rating) == (30000, pytest.approx(16011 / 3829), "S")
    assert (y2023.target, y2023.rate, y2023.rating) == (100000, pytest.approx(23829 / 73829), "C")
    assert y2023.change == FALL and y2022.shown_rate == 1.0
    assert evaluate(reg, 2023).fallen()[0].plan.id == "1-1-1"


def test_plan_rating_is_the_mean_of_capped_rates_or_the_self_assessment():
    reg = register(UP, DOWN, actuals=[(UP.id, 2022, 40), (DOWN.id, 2022, 18.0),   # 0.5 and 0.372: C
                                      (UP.id, 2023, 100), (DOWN.id, 2023, 18.0)],  # 1.0 (2.0 capped), 0.372
                   plans_without_numbers=2)
    reg.progress = [Progress("1-1-2", 0, 2022, "実績", self_rating="A"),
                    Progress("1-1-2", 0, 2023, "実績", self_rating="A"),
                    Progress("1-1-3", 1, 2023, "実績", self_rating="B"),
                    Progress("1-1-3", 2, 2023, "実績", self_rating="C")]  # the worst section counts
    plans = evaluate(reg, 2023).plans
    assert plans[0].rate == pytest.approx((1.0 + 1.6 / 4.3) / 2) and plans[0].rating == "B"
    assert [(p.rating, p.basis, p.previous_rating, p.change) for p in plans] == [
        ("B", "指標", "C", RISE), ("A", "自己評価", "A", FLAT), ("C", "自己評価", "–", "")]


def test_final_year_says_met_or_not_met():
    reg = register(UP, DOWN, actuals=[(UP.id, 2025, 60), (DOWN.id, 2025, 15.4)])
    assert [r.outcome for r in evaluate(reg, 2025).indicators] == [MET, NOT_MET]
    assert [r.outcome for r in evaluate(reg, 2024).indicators] == ["", ""]


@pytest.mark.parametrize(("ind", "previous", "value", "why"), [
    (UP, 100, 131, "31%増加"), (UP, 100, 130, ""), (UP, 100, 99, "目標と逆の方向に変化"),
    (UP, 100, 60, "40%減少"), (DOWN, 100, 69, "31%減少"), (DOWN, 100, 101, "目標と逆の方向に変化"),
    (DOWN, 100, 90, ""), (UP, None, 5, ""), (UP, 0, 5, ""), (DOWN, 0, 5, "目標と逆の方向に変化"),
])
def test_a_reason_is_asked_beyond_the_threshold_or_the_wrong_way(ind, previous, value, why):
    assert reason_needed(ind, previous, value, 0.30) == why


def test_first_year_compares_with_the_baseline_and_the_threshold_is_a_register_setting():
    reg = register(UP, actuals=[(UP.id, 2022, 27)])  # baseline 20: +35%
    assert evaluate(reg, 2022).indicators[0].alert == "35%増加"
    reg.meta["reason_threshold_percent"] = "40"
    assert evaluate(reg, 2022).indicators[0].alert == ""


def test_the_scale_is_the_registers_and_a_clerk_edits_it_in_excel(tmp_path, source_register):
    path = tmp_path / "register.xlsx"
    save_register(source_register, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["評価基準"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=2)] == [
        ["S", 100, "特に良好に進捗"], ["A", 80, "良好に進捗"], ["B", 50, "概ね進捗"],
        ["C", None, "進捗に課題あり"], ["–", "実績なし", "実績なし"]]
    ws["B3"] = 40  # A from 40% on
    ws["A6"] = "未"
    wb.save(path)
    reg = load_register(path)
    assert reg.rating_scale[1] == Rating("A", 0.4, "良好に進捗") and reg.rating_scale[-1].label == "未"
    rates = {r.indicator.id: (r.rate, r.rating) for r in evaluate(reg, 2022).indicators}
    assert rates["1-3-1.2"] == (pytest.approx(18276 / 40619), "A")  # 45%: C on the default scale
    assert rates["1-3-1.3"] == (None, "未")


def test_a_register_written_before_the_evaluation_loads_with_the_defaults(tmp_path, source_register):
    path = tmp_path / "register.xlsx"
    save_register(source_register, path)
    wb = openpyxl.load_workbook(path)
    del wb["評価基準"]
    for sheet, header in (("進捗", "自己評価"), ("指標実績", "変動要因")):
        ws = wb[sheet]
        column = next(c.column for c in ws[1] if c.value == header)
        ws.delete_cols(column)
    wb.save(path)
    reg = load_register(path)
    assert reg.rating_scale == list(source_register.rating_scale)
    assert len(reg.actuals) == len(source_register.actuals) and all(a.reason == "" for a in reg.actuals)


def test_the_scale_rows_may_come_in_any_order_and_a_bad_threshold_is_named():
    reg = register(UP, actuals=[(UP.id, 2022, 40), (UP.id, 2023, 52)])
    reg.ratings = [Rating("–", None, "実績なし", no_data=True), Rating("C", None, "課題あり"),
                   Rating("A", 0.8, "良好"), Rating("B", 0.5, "概ね"), Rating("S", 1.0, "特に良好")]
    [result] = evaluate(reg, 2023).indicators
    assert (result.rating, result.change) == ("A", RISE)
    reg.meta["reason_threshold_percent"] = "三十"
    with pytest.raises(RegisterError, match="「情報」シートの reason_threshold_percent「三十」"):
        evaluate(reg, 2023)


def test_check_names_broken_rating_settings(source_register):
    from plan_xl.register.checks import check_register

    reg = source_register
    assert [f for f in check_register(reg) if f.sheet in ("評価基準", "情報")] == []
    broken = Register(**{**vars(reg), "meta": {**reg.meta, "reason_threshold_percent": "x"},
                         "ratings": [Rating("S", 1.0), Rating("S", 0.5), Rating("–", None, no_data=True)]})
    found = {(f.sheet, f.cell, f.severity) for f in check_register(broken) if f.sheet in ("評価基準", "情報")}
    assert found == {("評価基準", "2行目", "誤り"), ("評価基準", "3行目", "誤り"), ("評価基準", "B列", "誤り"),
                     ("情報", "reason_threshold_percent", "誤り")}


def test_the_template_asks_for_reasons_with_the_same_bounds(tmp_path, source_register):
    import datetime as dt

    from plan_xl.collect.read import open_workbook
    from plan_xl.workbooks.templates import TemplateOptions, build_template

    path = tmp_path / "調査票.xlsx"
    build_template(source_register, "行政マネジメント課", TemplateOptions(2023, issued=dt.datetime(2024, 4, 1)),
                   b"k" * 32, path)
    fields = {f.key: f for f in open_workbook(path.read_bytes()).identity.fields}
    actual, reason = fields["actual|1-2-2.1|2023"], fields["reason|1-2-2.1|2023"]
    assert actual.sheet == reason.sheet and actual.editable and reason.editable
    ws = openpyxl.load_workbook(path)[actual.sheet]
    # 1-2-2.1 is lower-is-better at 1.05 in FY2022: a reason below 1.05 − 30% = 0.735 or above 1.05
    rules = [(str(rng.sqref), rule.formula[0]) for rng in ws.conditional_formatting for rule in rng.rules]
    assert (reason.cell, f"AND(ISNUMBER({actual.cell}),LEN(TRIM({reason.cell}))=0,"
                         f"OR({actual.cell}<0.735,{actual.cell}>1.05))") in rules
    assert reason_needed(DOWN, 1.05, 0.734, 0.3) and not reason_needed(DOWN, 1.05, 0.736, 0.3)
    prompts = {str(v.sqref): v for v in ws.data_validations.dataValidation}
    assert "前年度（1.05）に比べ 0.735 未満・1.05 超 の場合は、「変動要因」に理由を記入" in prompts[actual.cell].prompt
    assert prompts[reason.cell].promptTitle == "変動要因"
    rating = fields["rating|1-1-1|0|2023"]
    choice = openpyxl.load_workbook(path)[rating.sheet].data_validations.dataValidation
    [lst] = [v for v in choice if str(v.sqref) == rating.cell]
    assert lst.type == "list" and lst.formula1 == '"S 特に良好に進捗,A 良好に進捗,B 概ね進捗,C 進捗に課題あり"'
