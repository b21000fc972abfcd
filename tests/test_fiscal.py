import pytest

from plan_xl.fiscal import from_reiwa, fy_label, fy_short, parse_fy, reiwa_label, to_reiwa


def test_reiwa_conversion_both_ways():
    assert to_reiwa(2023) == 5
    assert from_reiwa(5) == 2023
    assert all(from_reiwa(to_reiwa(y)) == y for y in range(2019, 2040))
    assert reiwa_label(2019) == "令和元年度"
    with pytest.raises(ValueError):
        to_reiwa(2018)


def test_labels_as_printed_in_the_report():
    assert fy_label(2023) == "2023年度（令和5年度）"
    assert fy_label(2022) == "2022年度（令和4年度）"
    assert fy_short(2025) == "2025年度"


@pytest.mark.parametrize("text", ["2023", "2023年度", "2023年度（令和5年度）", "令和5年度", "令和５年度",
                                  "２０２３年度", "R5", "2023年度(令和5年度)"])
def test_parse_fiscal_year_written_any_usual_way(text):
    assert parse_fy(text) == 2023


def test_parse_reiwa_gannen_and_rejects_nonsense():
    assert parse_fy("令和元年度") == 2019
    with pytest.raises(ValueError):
        parse_fy("来年度")
