"""collect reads the 変動要因 and the 自己評価 of a returned template: a 注意 asks for a missing
reason, a 自己評価 off the list is sent back, and both reach the register with the provenance."""

from __future__ import annotations

from support.returned import YEAR, editable, fill, identity, typical_values

from plan_xl import messages as M
from plan_xl.collect import collect

DEPARTMENT = "行政マネジメント課"  # owns indicators (1-2-2) and plans without numbers (1-1-1)
INDICATOR = "1-2-2.1"  # 全業務量/通常の就労時間, lower is better, 1.05 in FY2022


def returned(ws, **changes):
    reg = ws.load()
    template = ws.template_path(YEAR, DEPARTMENT)
    values = typical_values(reg, identity(template))
    values.update(changes)
    (ws.inbox / template.name).write_bytes(fill(template, values))
    return identity(template), values


def test_a_big_change_without_a_reason_gets_a_notice_at_the_reason_cell(ws):
    ident, _ = returned(ws, **{f"actual|{INDICATOR}|{YEAR}": 1.12, f"reason|{INDICATOR}|{YEAR}": None})
    [r] = collect(ws).results
    assert r.verdict == "受理"
    reason_cell = next(f for f in ident.fields if f.key == f"reason|{INDICATOR}|{YEAR}")
    [notice] = [f for f in r.findings if f.code == "V028"]
    assert notice.severity == "注意" and (notice.sheet, notice.cell) == (reason_cell.sheet, reason_cell.cell)
    name = ws.load().indicator(INDICATOR).name
    assert notice.message == M.V028(name=name, value="1.12", label="前年度", previous="1.05", why="目標と逆の方向に変化")


def test_the_reason_and_the_self_rating_are_merged_with_the_provenance(ws):
    reason = "●制度改正への対応で業務量が一時的に増えた。"
    ident, values = returned(ws, **{f"actual|{INDICATOR}|{YEAR}": 1.12, f"reason|{INDICATOR}|{YEAR}": reason})
    [r] = collect(ws).results
    assert r.verdict == "受理" and not [f for f in r.findings if f.code == "V028"]
    reg = ws.load()
    actual = reg.actual_for(INDICATOR, YEAR)
    assert (actual.value, actual.reason, actual.source.template_id) == (1.12, reason, ident.template_id)
    ratings = [f.key for f in editable(ident, "rating")]
    assert ratings
    for key in ratings:
        _, plan_id, section, _ = key.split("|")
        progress = reg.progress_for(plan_id, int(section), YEAR)
        assert (progress.self_rating, progress.source.template_id) == ("B", ident.template_id)


def test_a_self_rating_off_the_list_is_sent_back(ws):
    ident = identity(ws.template_path(YEAR, DEPARTMENT))
    key = editable(ident, "rating")[0].key
    returned(ws, **{key: "とても良い"})
    [r] = collect(ws).results
    assert r.verdict == "差戻し"
    [error] = [f for f in r.findings if f.code == "V026"]
    assert "「とても良い」" in error.message and "A 良好に進捗" in error.message  # what was typed, what to choose
