"""Nothing clipped: every wrapped cell of the FY2022 report and of every template (with the
reference's longest texts typed into its input boxes, a correction copy of one of them, and a
next year's template showing a text longer than any box) is given at least the height LibreOffice needs to draw it, with IPAGothic standing in for ＭＳ ゴシック (see rendering.py)."""

from __future__ import annotations

import shutil

import pytest
from conftest import needs_libreoffice, soffice
from support.rendering import clipped, needed_heights, wrapped_cells
from support.returned import ISSUED, editable, fill, identity, issue

from plan_xl.collect import collect
from plan_xl.collect.feedback import CORRECTION_SHEET
from plan_xl.register.model import Progress, Provenance
from plan_xl.workbooks.identity import load_or_create_key
from plan_xl.workbooks.report import build_report
from plan_xl.workbooks.templates import TemplateOptions, generate_templates

needs_ipagothic = pytest.mark.skipif(
    shutil.which("fc-list") is None or not __import__("subprocess").run(
        ["fc-list", "IPAGothic"], capture_output=True, text=True).stdout.strip(),
    reason="IPAGothic (fonts-ipafont-gothic) is not installed")


def longest_texts(reg) -> dict[str, str]:
    """The longest 実績 and 計画の見直し the reference has."""
    rows = [p for p in reg.progress if not p.source.file]
    return {"results": max((p.results for p in rows), key=len),
            "revision": max((p.revision for p in rows), key=len)}


@needs_libreoffice
@needs_ipagothic
def test_no_wrapped_cell_needs_more_height_than_given(tmp_path):
    ws = issue(tmp_path / "作業")
    reg = ws.load()
    typed = longest_texts(reg)
    assert len(typed["results"]) >= 300  # the 329-character 1-1-2 実績
    books = [build_report(reg, 2022, tmp_path / "2022年度_報告書.xlsx")]
    filled_dir = tmp_path / "記入済み"
    filled_dir.mkdir()
    for template in sorted(ws.templates_dir(2023).glob("*.xlsx")):
        values = {f.key: typed[f.key.split("|")[0]] for f in editable(identity(template))
                  if f.key.split("|")[0] in typed}
        books.append(filled_dir / template.name)
        books[-1].write_bytes(fill(template, values))
    assert len(books) == 17
    # a correction copy (修正依頼) of a department that typed the longest texts and a negative number
    template = ws.template_path(2023, "行政マネジメント課")
    values = {f.key: typed[f.key.split("|")[0]] for f in editable(identity(template), "results")}
    values |= {f.key: typed[f.key.split("|")[0]] for f in editable(identity(template), "revision")}
    values[editable(identity(template), "actual")[0].key] = -5
    ws.inbox.mkdir(parents=True, exist_ok=True)
    (ws.inbox / template.name).write_bytes(fill(template, values))
    corrections = collect(ws).corrections
    assert len(corrections) == 1
    books += corrections
    # what a department typed beyond its box (the row made taller) is drawn whole the next year
    long_text = "\n".join([typed["results"]] * 4)  # taller than Excel's tallest row (409 pt)
    reg.progress.append(Progress("1-1-2", 0, 2023, long_text, typed["revision"] * 2,
                                 Provenance(file="returned.xlsx", department="人事課")))
    key = load_or_create_key(ws.key_path)
    books += generate_templates(reg, TemplateOptions(2024, issued=ISSUED), key, tmp_path / "2024",
                                departments=["人事課"])
    groups = [wrapped_cells(b) for b in books]
    assert all(groups) and sum(map(len, groups)) > 3000
    assert any(c.text == long_text for c in groups[-1])
    assert any(c.sheet == CORRECTION_SHEET for c in groups[17])  # the copy's own 修正依頼 sheet
    needed = needed_heights(groups, soffice(), tmp_path / "lo")
    problems = [p for cells, need in zip(groups, needed, strict=True) for p in clipped(cells, need)]
    assert not problems, "\n".join(problems[:30])
