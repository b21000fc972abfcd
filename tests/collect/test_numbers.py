"""Numbers as typed: 「62.5%」 lands as 62.5 in a % indicator, whichever way the file stores it
(Excel / LibreOffice: 0.625 with a percent format; or text), and an implausible value is a 注意."""

from __future__ import annotations

import pytest
from conftest import needs_libreoffice, soffice
from support.returned import (
    YEAR,
    cell_of,
    editable,
    fill,
    identity,
    typical_values,
    via_libreoffice,
)

from plan_xl import messages as M
from plan_xl.collect import Verdict, collect
from plan_xl.findings import WARNING
from plan_xl.register.model import FieldKey, format_number

DX = "DX戦略課"


def field_with_unit(ws, percent: bool):
    reg, ident = ws.load(), identity(ws.template_path(YEAR, DX))
    return next(f for f in editable(ident, "actual") if reg.indicator(f.field.target).percent == percent)


def returned(ws, spec, value, number_format: str | None = None) -> bytes:
    """DX戦略課's template with `value` typed into `spec`, as Excel stores what was typed."""
    template = ws.template_path(YEAR, DX)
    values = typical_values(ws.load(), identity(template))
    values[spec.key] = value

    def percent_format(wb, ident):
        if number_format:
            cell_of(wb, spec).number_format = number_format

    return fill(template, values, percent_format)


def judged(ws, data: bytes):
    (ws.inbox / f"{YEAR}年度_進捗状況調査票_{DX}.xlsx").write_bytes(data)
    result = collect(ws)
    assert len(result.results) == 1
    return result.results[0]


def actual(ws, spec) -> float:
    key = FieldKey.parse(spec.key)
    return ws.load().actual_for(key.target, key.year).value


@pytest.mark.parametrize("number_format", ["0.0%", "0%", "0.00%"])  # custom, built-in 9 and 10
def test_percent_typed_in_excel_lands_in_the_unit(ws, number_format):
    spec = field_with_unit(ws, percent=True)
    r = judged(ws, returned(ws, spec, 0.165 if number_format != "0%" else 0.17, number_format))
    assert r.verdict == Verdict.ACCEPTED, r.findings
    assert actual(ws, spec) == (16.5 if number_format != "0%" else 17.0)
    assert not [f for f in r.findings if f.cell == spec.cell]  # as typed: nothing to say


@needs_libreoffice
def test_percent_in_a_file_saved_by_libreoffice(ws, tmp_path):
    spec = field_with_unit(ws, percent=True)
    data = via_libreoffice(soffice(), returned(ws, spec, 0.165, "0.0%"), tmp_path / "lo")
    r = judged(ws, data)
    assert r.verdict == Verdict.ACCEPTED, r.findings
    assert actual(ws, spec) == 16.5


@pytest.mark.parametrize("text", ["16.5%", "１６．５％"])
def test_percent_typed_as_text(ws, text):
    spec = field_with_unit(ws, percent=True)
    r = judged(ws, returned(ws, spec, text))
    assert r.verdict == Verdict.ACCEPTED and actual(ws, spec) == 16.5
    notes = [f for f in r.findings if f.cell == spec.cell]
    assert len(notes) == 1 and notes[0].severity == WARNING and not notes[0].needs_action
    assert notes[0].code == "V018"  # read as a number, nothing to do


def test_a_value_at_one_hundredth_asks_to_confirm(ws):
    spec = field_with_unit(ws, percent=True)  # last year 15.9%
    r = judged(ws, returned(ws, spec, 0.165))  # typed without the % format: a 1/100 slip?
    notes = [f for f in r.findings if f.cell == spec.cell]
    assert len(notes) == 1 and notes[0].severity == WARNING and notes[0].needs_action
    ind = ws.load().indicator(spec.field.target)
    assert notes[0].message == M.V021(name=ind.name, value="0.165", unit="%", label="前年度の実績値", reference="15.9",
                                      hint=M.V029(percent="16.5"))


def test_a_value_far_from_the_baseline_asks_to_confirm(ws):
    reg = ws.load()
    ident = identity(ws.template_path(YEAR, DX))
    spec = next(f for f in editable(ident, "actual") if reg.actual_for(f.field.target, YEAR - 1) is None
                and reg.indicator(f.field.target).baseline)
    baseline = reg.indicator(spec.field.target).baseline
    r = judged(ws, returned(ws, spec, baseline * 10))
    notes = [f for f in r.findings if f.cell == spec.cell]
    assert r.verdict == Verdict.ACCEPTED
    ind = reg.indicator(spec.field.target)
    assert len(notes) == 1 and notes[0].action == "確認してください"
    assert notes[0].message == M.V021(name=ind.name, value=format_number(baseline * 10), unit=ind.unit, label="現況値",
                                      reference=format_number(baseline), hint="")


def test_percent_format_on_a_count_is_an_error(ws):
    spec = field_with_unit(ws, percent=False)
    r = judged(ws, returned(ws, spec, 0.5, "0%"))
    assert r.verdict == Verdict.REJECTED
    assert any(f.code == "V017" and f.cell == spec.cell for f in r.findings)  # typed with % on a count


def test_a_rule_added_to_validation_reports_like_the_built_in_ones(ws, monkeypatch):
    from plan_xl.collect import validate as validation
    from plan_xl.messages import Message

    ask = Message(WARNING, "{target} の変動要因を確認してください。", code="X001")  # the rule's own message

    def every_actual_needs_a_reason(book, reg, lookup, v, find):
        for key, value in v.numbers.items():
            if value is not None:
                find(WARNING, ask(target=key.target), needs_action=True)

    monkeypatch.setattr(validation, "RULES", [every_actual_needs_a_reason])
    monkeypatch.setenv("PLAN_XL_PARALLEL_FROM", "1000")  # judged here, where the patch is
    spec = field_with_unit(ws, percent=True)
    r = judged(ws, returned(ws, spec, 16.5))
    assert r.verdict == Verdict.ACCEPTED
    assert any(f.code == "X001" and f.message == f"{spec.field.target} の変動要因を確認してください。"
               for f in r.findings)
