"""Untrusted text through the whole cycle (issue 8): templates → filled by a department (openpyxl,
with hyperlink objects and an external workbook link) → collect → register → correction copies →
status workbook → report. Then every workbook plan-xl wrote is scanned at the XML level for
formulas and external links that plan-xl did not put there itself. plan-xl's own: internal
hyperlinks (no relationship, a location only) in the report's 目次 and the template's 記入要領,
and chart series references into the same workbook.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # plan-xl's own output
import zipfile
from pathlib import Path

import pytest
from support.mutations import cell_xml, set_cell
from support.returned import YEAR, fill, identity, issue, sensible_values
from support.zipbuild import parts_of, zip_of

from plan_xl.collect import Verdict, collect
from plan_xl.register.store import load_register
from plan_xl.workbooks.report import build_report

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OWN_LINK_SHEETS = {"目次", "記入要領"}

DDE = "=cmd|' /C calc'!A0"
PAYLOADS = [DDE, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "=HYPERLINK(\"file:///C:/Windows/System32/calc.exe\",\"詳細\")",
            "\\\\server\\share\\秘密.xlsx", "制御\x01文字\x07を\x1f含む"]
FILE_LINK = "file:///C:/Windows/System32/calc.exe"
UNC_LINK = "\\\\server\\share\\evil.xlsx"

ACCEPTED, REJECTED = Verdict.ACCEPTED, Verdict.REJECTED


def _fill_text(template: Path, texts: dict, links: dict, formulas: dict | None = None) -> bytes:
    """`texts` typed as text even when they start with '=' (a department typed '=…), `links` as
    hyperlink objects, and `formulas` live, with an array formula and names that call out."""
    def live(book, _ident):
        for (sheet, cell), value in (formulas or {}).items():
            book[sheet][cell].value = value
        if formulas:  # an array formula and names that call out (DDE, another workbook)
            from openpyxl.workbook.defined_name import DefinedName
            from openpyxl.worksheet.formula import ArrayFormula

            sheet, cell = next(iter(formulas))
            book[sheet]["N40"] = ArrayFormula("N40", "=SUM(A1:A2*B1:B2)")
            book.defined_names["外部"] = DefinedName("外部", attr_text="[1]S!$A$1")
            book.defined_names["DDE"] = DefinedName("DDE", attr_text="cmd|' /C calc'!A0")

    return fill(template, texts, live, links=links, as_text=True)


def _add_external_link(data: bytes) -> bytes:
    """An externalLink part pointing at a UNC workbook, as Excel writes one for ='[1]S'!A1."""
    parts = dict(parts_of(data))
    parts["xl/externalLinks/externalLink1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<externalBook r:id="rId1"><sheetNames><sheetName val="S"/></sheetNames></externalBook></externalLink>')
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/externalLinkPath" Target="file:///\\\\server\\share\\evil.xlsx" '
        b'TargetMode="External"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdX1" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>')
    parts["xl/workbook.xml"] = re.sub(
        rb"</sheets>", b'</sheets><externalReferences><externalReference r:id="rIdX1"/></externalReferences>',
        parts["xl/workbook.xml"], count=1)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')
    return zip_of(parts)


def _long_text(data: bytes, sheet_part: str, ref: str, n: int) -> bytes:
    return zip_of([(name, set_cell(body, ref, cell_xml(ref, "長" * n)) if name == sheet_part else body)
                   for name, body in parts_of(data)])


def scan_workbook(path: Path) -> list[str]:
    """Formulas and external links in a written workbook that plan-xl does not write itself."""
    problems = []
    zf = zipfile.ZipFile(path)
    names = zf.namelist()
    workbook = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): "xl/" + r.get("Target", "").lstrip("/").removeprefix("xl/")
               for r in rels.iter(f"{PKG}Relationship")}
    sheet_of = {targets.get(s.get(f"{REL}id")): s.get("name") for s in workbook.iter(f"{MAIN}sheet")}
    for dn in workbook.iter(f"{MAIN}definedName"):
        if re.search(r"\[|\||https?:|file:|\\\\", dn.text or ""):
            problems.append(f"{path.name}: defined name {dn.get('name')} = {dn.text}")
    if workbook.find(f"{MAIN}externalReferences") is not None:
        problems.append(f"{path.name}: externalReferences in workbook.xml")
    for name in names:
        if name.startswith("xl/externalLinks/"):
            problems.append(f"{path.name}: external link part {name}")
        if name.endswith(".rels"):
            for r in ET.fromstring(zf.read(name)).iter(f"{PKG}Relationship"):
                if r.get("TargetMode") == "External":
                    problems.append(f"{path.name}: {name} external relationship → {r.get('Target')}")
        if name.startswith("xl/charts/") and name.endswith(".xml"):
            for f in re.findall(rb"<c:f>(.*?)</c:f>", zf.read(name)):
                if re.search(rb"\[|\||:\\\\|file:", f):
                    problems.append(f"{path.name}: chart reference {f!r}")
        if name in sheet_of:
            sheet = sheet_of[name]
            root = ET.fromstring(zf.read(name))
            for c in root.iter(f"{MAIN}c"):
                f = c.find(f"{MAIN}f")
                if f is not None:
                    problems.append(f"{path.name}「{sheet}」{c.get('r')}: formula {f.text!r}")
            for link in root.iter(f"{MAIN}hyperlink"):
                if link.get(f"{REL}id") or sheet not in OWN_LINK_SHEETS:
                    problems.append(f"{path.name}「{sheet}」{link.get('ref')}: hyperlink "
                                    f"{link.get(f'{REL}id') or link.get('location')}")
        if name.startswith(("xl/connections", "xl/queryTables", "xl/vbaProject")):
            problems.append(f"{path.name}: {name}")
    return problems


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("untrusted") / "作業フォルダ"
    ws = issue(root, ["市民課", "人事課", "中央公民館"])
    templates = {d: ws.template_path(YEAR, d) for d in ("市民課", "人事課", "中央公民館")}

    # 市民課: every field text-like hostile but acceptable → reaches the register as text.
    ident = identity(templates["市民課"])
    values = sensible_values(ident)
    texts = {k: v for k, v in values.items()}
    text_fields = [k for k, v in values.items() if isinstance(v, str)]
    texts[text_fields[0]] = "\n".join(PAYLOADS)
    texts[text_fields[1]] = DDE
    non_input = (ident.prints[5].sheet, ident.prints[5].cell)  # a pre-filled cell; its text is kept
    links = {text_fields[0]: FILE_LINK, text_fields[1]: UNC_LINK, non_input: "https://evil.example/"}
    accepted = _fill_text(templates["市民課"], texts, links)
    (ws.inbox / "市民課.xlsx").write_bytes(_add_external_link(accepted))

    # 人事課: live formulas (DDE, HYPERLINK) and links → rejected → correction copy from its own file.
    ident = identity(templates["人事課"])
    values = sensible_values(ident)
    fields = list(values)
    formulas = {fields[0]: DDE, fields[1]: '=HYPERLINK("file:///C:/Windows/System32/calc.exe","詳細")'}
    rejected = _fill_text(templates["人事課"], {k: v for k, v in values.items() if k not in formulas},
                          {fields[2]: UNC_LINK, fields[3]: FILE_LINK}, formulas)
    (ws.inbox / "人事課.xlsx").write_bytes(_add_external_link(rejected))

    # 中央公民館: text over Excel's 32,767 characters, control characters → rejected.
    ident = identity(templates["中央公民館"])
    values = sensible_values(ident)
    key = next(k for k, v in values.items() if isinstance(v, str))
    data = fill(templates["中央公民館"], {**values, key: "改行\r\n制御\x02文字"})
    from plan_xl.collect.read import open_workbook

    part = open_workbook(data).scan.sheets[key[0]]
    (ws.inbox / "中央公民館.xlsx").write_bytes(_long_text(data, part, key[1], 40_000))

    result = collect(ws)
    reg = load_register(ws.register_path)
    written = [ws.register_path, *result.status_paths, *result.corrections,
               *sorted(ws.templates_dir(YEAR).glob("*.xlsx"))]
    written.append(build_report(reg, YEAR, ws.report_path(YEAR)))
    return ws, result, reg, written


def test_verdicts(cycle):
    _, result, _, _ = cycle
    by_name = {r.item.name: r for r in result.results}
    assert by_name["市民課.xlsx"].verdict == ACCEPTED, [str(f) for f in by_name["市民課.xlsx"].findings]
    assert by_name["人事課.xlsx"].verdict == REJECTED
    assert by_name["中央公民館.xlsx"].verdict == REJECTED
    assert any(f.code == "V014" for f in by_name["中央公民館.xlsx"].findings)  # text too long
    assert any(f.code in ("V006", "V007") for f in by_name["人事課.xlsx"].findings)  # a formula


def test_text_stays_text_in_the_register(cycle):
    _, _, reg, _ = cycle
    texts = [p.results for p in reg.progress] + [p.revision for p in reg.progress]
    assert DDE in texts  # stored as the text the department typed, not as a formula
    joined = "\n".join(texts)
    assert "+cmd|' /C calc'!A0" in joined and "\\\\server\\share" in joined
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", joined)  # control characters removed


def test_corrections_were_written(cycle):
    ws, result, _, _ = cycle
    assert {p.name for p in result.corrections} >= {
        f"{YEAR}年度_進捗状況_修正依頼_人事課.xlsx", f"{YEAR}年度_進捗状況_修正依頼_中央公民館.xlsx"}


def test_no_foreign_formula_or_link_in_any_written_workbook(cycle):
    _, _, _, written = cycle
    assert len(written) >= 5
    problems = [p for path in written for p in scan_workbook(path)]
    assert problems == []


def test_correction_copy_shows_formulas_as_their_text(cycle):
    import openpyxl

    _, result, _, _ = cycle
    path = next(p for p in result.corrections if p.name.endswith("人事課.xlsx"))
    book = openpyxl.load_workbook(path)
    texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert DDE in texts and "=SUM(A1:A2*B1:B2)" in texts
    assert not any("openpyxl" in t for t in texts)
    names = dict(book.defined_names.items())
    assert any(n.startswith("PX_") for n in names) and "外部" not in names and "DDE" not in names


def test_register_and_status_keep_hostile_text_inert(cycle):
    """Cells holding the DDE payload are shared or inline strings, never formulas."""
    ws, _, _, _ = cycle
    for path in (ws.register_path, ws.status_path(YEAR)):
        zf = zipfile.ZipFile(path)
        blob = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".xml"))
        assert b"<f>" not in blob and b"<f " not in blob


def test_scanner_finds_what_it_should(tmp_path):
    """The scanner itself: a workbook written carelessly with openpyxl is caught."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "集計"
    book.active["A1"] = DDE
    book.active["A2"].hyperlink = UNC_LINK
    path = tmp_path / "careless.xlsx"
    book.save(path)
    problems = scan_workbook(path)
    assert any("formula" in p for p in problems) and any("external relationship" in p for p in problems)
