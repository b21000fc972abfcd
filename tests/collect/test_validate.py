"""validate: one returned workbook (written by openpyxl, read back by read.open_workbook) against
what was issued: the values it carries, every finding at its cell, and nothing checked on a
workbook whose signature does not verify."""

from __future__ import annotations

import pytest
from support.returned import YEAR, editable, fill, identity, issue, typical_values, with_cached_value

from plan_xl.collect.read import open_workbook
from plan_xl.collect.validate import parse_number, validate
from plan_xl.findings import ERROR, WARNING
from plan_xl.register.model import FieldKey
from plan_xl.workbooks.identity import load_key

DX = "DX戦略課"
PERCENT = "actual|1-3-1.1|2023"  # キャッシュレス決済比率（金額ベース）, %, 15.9 in FY2022
COUNT = "actual|1-3-1.2|2023"  # オンラインによる行政手続き数, 件, 47,657 in FY2022


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    ws = issue(tmp_path_factory.mktemp("validate") / "作業フォルダ", [DX])
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    return reg, load_key(ws.key_path), template, typical_values(reg, identity(template))


def check(issued, data: bytes, key: bytes | None = None):
    reg, signing_key, _, _ = issued
    return validate(open_workbook(data), reg, signing_key if key is None else key, "返送.xlsx")


def at(v, severity: str) -> set[tuple[str, str]]:
    return {(f.sheet, f.cell) for f in v.findings if f.severity == severity}


def where(issued, key: str) -> tuple[str, str]:
    spec = next(f for f in identity(issued[2]).fields if f.key == key)
    return spec.sheet, spec.cell


def test_a_careful_return_gives_back_what_was_typed(issued):
    reg, _, template, values = issued
    v = check(issued, fill(template, values))
    assert v.accepted and v.signed, [str(f) for f in v.findings]
    assert not at(v, ERROR)
    typed = {FieldKey.parse(k): val for k, val in values.items()}
    assert v.texts == {k: val for k, val in typed.items() if k.kind in ("results", "revision")}
    assert v.numbers == {k: val for k, val in typed.items() if k.kind == "actual"}
    assert all(f.file == "返送.xlsx" for f in v.findings)


def test_another_folders_key_checks_nothing_else(issued):
    _, _, template, values = issued
    v = check(issued, fill(template, {**values, COUNT: "たくさん"}), key=b"another folder's key")
    assert not v.signed and not v.accepted
    assert [f.severity for f in v.findings] == [ERROR]  # the signature only, not the bad number
    assert v.texts == {} and v.numbers == {}


def test_every_mistake_is_found_at_its_cell_not_only_the_first(issued):
    _, _, template, values = issued
    results = editable(identity(template), "results")[0].key

    def change_a_title(wb, ident):
        printed = ident.prints[3]
        wb[printed.sheet][printed.cell].value = "書き換えた見出し"

    data = fill(template, {**values, results: "", COUNT: "たくさん", PERCENT: 150}, change_a_title)
    v = check(issued, data)
    printed = identity(template).prints[3]
    assert not v.accepted
    assert at(v, ERROR) >= {where(issued, results), where(issued, COUNT), where(issued, PERCENT),
                            (printed.sheet, printed.cell)}
    assert v.changed == {(printed.sheet, printed.cell): printed.cell}  # shown and restored in the correction
    assert FieldKey.parse(COUNT) not in v.numbers  # unreadable: no value rather than a guess


def test_numbers_typed_as_text_are_read_with_a_notice_that_asks_nothing(issued):
    _, _, template, values = issued
    v = check(issued, fill(template, {**values, COUNT: "４７，７００件"}))
    assert v.accepted
    assert v.numbers[FieldKey.parse(COUNT)] == 47_700
    notice = [f for f in v.findings if (f.sheet, f.cell) == where(issued, COUNT)]
    assert [(f.severity, f.needs_action) for f in notice] == [(WARNING, False)]


def test_a_value_far_from_last_years_is_a_warning_not_an_error(issued):
    _, _, template, values = issued
    v = check(issued, fill(template, {**values, PERCENT: 0.16}))  # 16% typed as 0.16
    assert v.accepted
    assert where(issued, PERCENT) in at(v, WARNING)
    assert v.numbers[FieldKey.parse(PERCENT)] == 0.16


def test_a_formula_with_its_result_saved_is_read_as_the_value(issued):
    _, _, template, values = issued
    data = with_cached_value(fill(template, {**values, COUNT: "=47000+700"}), "47000+700", "47700")
    v = check(issued, data)
    assert v.accepted and v.numbers[FieldKey.parse(COUNT)] == 47_700
    assert where(issued, COUNT) in at(v, WARNING)
    unsaved = check(issued, fill(template, {**values, COUNT: "=47000+700"}))  # openpyxl keeps no result
    assert where(issued, COUNT) in at(unsaved, ERROR)


def test_control_characters_are_removed_from_text_with_a_warning(issued):
    _, _, template, values = issued
    results = editable(identity(template), "results")[0].key
    v = check(issued, fill(template, {**values, results: "説明会\x07を開催"}))
    assert v.accepted
    assert v.texts[FieldKey.parse(results)] == "説明会を開催"
    assert where(issued, results) in at(v, WARNING)


@pytest.mark.parametrize("raw, unit, expected", [
    (12, "件", (12.0, False)), (0.5, "%", (0.5, False)), ("１２３", "件", (123.0, True)),
    ("1,234件", "件", (1234.0, True)), ("▲5", "", (-5.0, True)), ("△2.5", "", (-2.5, True)),
    ("62.5%", "%", (62.5, True)), ("12 人", "人(1か年度)", (12.0, True)), ("約12", "件", (None, True)),
    ("12個", "件", (None, True)), ("たくさん", "件", (None, True)), (True, "件", (None, False)),
])
def test_parse_number(raw, unit, expected):
    assert parse_number(raw, unit) == expected
