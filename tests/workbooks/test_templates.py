"""Department templates: content, protection, identification and its round trips."""

import datetime as dt
import io
import shutil
import subprocess

import openpyxl
import pytest
from conftest import needs_libreoffice, soffice
from openpyxl.cell.cell import MergedCell
from python_calamine import CalamineWorkbook
from support.returned import ISSUED, fill, identity, issue, typical_values

from plan_xl.collect.read import open_workbook
from plan_xl.collect.validate import validate
from plan_xl.workbooks.identity import ID_SHEET, load_or_create_key
from plan_xl.workbooks.layout import sheet_name
from plan_xl.workbooks.templates import TemplateOptions, departments_to_issue, generate_templates


@pytest.fixture(scope="module")
def issued(tmp_path_factory, source_register):
    root = tmp_path_factory.mktemp("templates")
    key = load_or_create_key(root / ".plan-xl" / "signing.key")
    opts = TemplateOptions(2023, dt.date(2024, 5, 31), issued=ISSUED)
    paths = generate_templates(source_register, opts, key, root / "out")
    return source_register, key, dict(zip(departments_to_issue(source_register), paths, strict=True))


def test_one_template_per_department_named_for_a_clerk(issued):
    reg, _, paths = issued
    assert len(paths) == 16
    for dept, path in paths.items():
        assert path.name == f"2023年度_進捗状況調査票_{dept}.xlsx"


def test_every_template_opens_with_both_readers_and_has_the_expected_sheets(issued):
    reg, _, paths = issued
    for dept, path in paths.items():
        expected = ["記入要領", *[sheet_name(p) for p in reg.plans_of(dept)], ID_SHEET]
        assert openpyxl.load_workbook(path).sheetnames == expected
        assert CalamineWorkbook.from_path(str(path)).sheet_names == expected


def _texts(ws) -> set:
    return {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def test_prefilled_texts_equal_the_register(issued):
    reg, _, paths = issued
    for dept, path in paths.items():
        wb = openpyxl.load_workbook(path)
        for plan in reg.plans_of(dept):
            texts = _texts(wb[sheet_name(plan)])
            assert {plan.name, plan.overview, plan.vision} <= texts | {""}
            for s in plan.sections:
                assert s.targets_text in texts
                assert {a.name for a in s.actions} <= texts
                assert {sp.text for a in s.actions for row in a.rows for sp in row} <= texts
            for pr in reg.progress:
                if pr.plan_id == plan.id and pr.year == 2022:
                    assert {pr.results, pr.revision} - {""} <= texts
            assert "2023年度（令和5年度）" in texts


def test_only_the_departments_own_fields_are_unlocked(issued):
    reg, key, paths = issued
    for dept, path in paths.items():
        ident = open_workbook(path.read_bytes()).identity
        own = {(f.sheet, f.cell) for f in ident.fields if f.editable}
        assert all(f.owner == dept for f in ident.fields if f.editable)
        assert all(f.owner != dept for f in ident.fields if not f.editable)
        wb = openpyxl.load_workbook(path)
        unlocked = set()
        for ws in wb.worksheets[1:-1]:
            assert ws.protection.sheet
            unlocked |= {(ws.title, c.coordinate) for row in ws.iter_rows() for c in row
                         if c.protection.locked is False and not isinstance(c, MergedCell)}
        assert unlocked == own, dept
        names = {n for n in wb.defined_names}
        assert {f.name for f in ident.fields} <= names


def test_field_ownership_is_unique_across_departments(issued):
    reg, _, paths = issued
    owners: dict[str, set] = {}
    for dept, path in paths.items():
        for f in open_workbook(path.read_bytes()).identity.fields:
            if f.editable:
                owners.setdefault(f.key, set()).add(dept)
    assert all(len(v) == 1 for v in owners.values())
    # 3-① is shared by four departments, each owns its own section's progress
    assert owners["results|1-3-1|4|2023"] == {"健康長寿課"}
    assert owners["results|1-1-3|0|2023"] == {"行政マネジメント課"}
    kpi = next(i for i in reg.plan("1-3-1").indicators if i.name.startswith("キャッシュレス"))
    assert owners[f"actual|{kpi.id}|2023"] == {"DX戦略課"}


def test_numeric_inputs_have_validation_and_labels(issued):
    reg, _, paths = issued
    wb = openpyxl.load_workbook(paths["DX戦略課"])
    ws = wb[sheet_name(reg.plan("1-3-1"))]
    validations = [v for v in ws.data_validations.dataValidation if v.type == "decimal"]
    assert validations
    # text boxes: no restriction, a message on how to get more room
    hints = [v for v in ws.data_validations.dataValidation if v.type is None and "実績" in (v.promptTitle or "")]
    assert hints and all("行の高さ" in v.prompt for v in hints)
    assert any("実績値" in (v.prompt or "") for v in validations)
    assert any(v.operator in (None, "between") and float(v.formula2) == 100 for v in validations)  # a % indicator
    assert "キャッシュレス決済比率（金額ベース）（%）\n（高いほど良い）" in _texts(ws)


def test_guide_sheet_says_what_when_and_whom(issued):
    _, _, paths = issued
    ws = openpyxl.load_workbook(paths["人事課"])["記入要領"]
    text = "\n".join(_texts(ws))
    assert "人事課 御中" in text and "2024年5月31日（金）" in text
    assert "うすい黄色" in text and "行政マネジメント課" in text


def test_signature_verifies_and_tampering_is_detected(issued, tmp_path):
    reg, key, paths = issued
    path = paths["河川課"]
    book = open_workbook(path.read_bytes())
    assert book.identity.verify(key)
    assert book.scan.hidden[ID_SHEET] == "veryHidden"
    assert book.scan.properties["template_id"] == book.identity.template_id
    assert not book.identity.verify(b"another key")

    # a changed pre-filled cell is found at its sheet and cell
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet_name(reg.plan("1-3-7"))]
    ws["C3"] = "書き換えた計画名"
    buf = io.BytesIO()
    wb.save(buf)
    findings = validate(open_workbook(buf.getvalue()), reg, key, "x.xlsx").findings
    assert any(f.severity == "誤り" and f.cell == "C3" and f.sheet == ws.title for f in findings)

    # a changed signature in the hidden sheet is detected
    wb = openpyxl.load_workbook(path)
    hidden = wb[ID_SHEET]
    for row in hidden.iter_rows():
        if row[0].value == "signature":
            row[1].value = "0" * 64
    buf = io.BytesIO()
    wb.save(buf)
    findings = validate(open_workbook(buf.getvalue()), reg, key, "x.xlsx").findings
    assert [f.code for f in findings] == ["V001"]  # the signature does not verify


def test_untouched_template_validates_with_only_missing_value_findings(issued):
    reg, key, paths = issued
    v = validate(open_workbook(paths["市民課"].read_bytes()), reg, key, "x.xlsx")
    assert {f.code for f in v.findings if f.severity == "誤り"} == {"V009"}  # only 「実績」が未記入


def test_same_inputs_give_the_same_workbook_contents(issued, tmp_path):
    reg, key, paths = issued
    opts = TemplateOptions(2023, dt.date(2024, 5, 31), issued=ISSUED)
    again = generate_templates(reg, opts, key, tmp_path, ["人事課"])[0]
    assert again.read_bytes() == paths["人事課"].read_bytes()


def test_print_setup(issued):
    _, _, paths = issued
    ws = openpyxl.load_workbook(paths["人事課"]).worksheets[1]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    # fitToWidth absent means 1 in OOXML; fitToHeight 0 = as many pages as needed
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows and "&P" in ws.oddFooter.center.text


@needs_libreoffice
def test_libreoffice_round_trip_keeps_identification_and_inputs(issued, tmp_path):
    reg, key, paths = issued
    src = tmp_path / "in" / "dx.xlsx"
    src.parent.mkdir()
    shutil.copy(paths["DX戦略課"], src)
    out = tmp_path / "out"
    subprocess.run([soffice(), f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
                   check=True, capture_output=True, timeout=180)
    before = open_workbook(src.read_bytes())
    after = open_workbook((out / "dx.xlsx").read_bytes())
    assert after.identity == before.identity and after.identity.verify(key)
    assert after.scan.hidden[ID_SHEET] in ("hidden", "veryHidden")
    assert after.scan.properties["template_id"] == before.identity.template_id
    own = [f for f in before.identity.fields if f.editable]
    assert all(after.scan.names.get(f.name) == (f.sheet, f.cell) for f in own)
    v = validate(after, reg, key, "dx.xlsx")
    assert not [f for f in v.findings if f.code in ("V023", "V024")]  # no pre-filled cell changed or emptied


def test_indicator_rows_print_numbers_with_thousands_separators(issued):
    reg, _, paths = issued
    wb = openpyxl.load_workbook(paths["DX戦略課"])
    texts = _texts(wb[sheet_name(reg.plan("1-3-1"))])
    assert "29,381\n（2021年度末）" in texts and any(t.startswith("70,000") for t in texts)
    assert "29381" not in texts and "70000" not in texts


def test_rows_can_be_resized_under_protection_and_the_guide_says_so(issued):
    _, _, paths = issued
    path = paths["行政マネジメント課"]
    wb = openpyxl.load_workbook(path)
    box = next(f for f in open_workbook(path.read_bytes()).identity.fields
               if f.editable and f.key.startswith("results|"))
    ws = wb[box.sheet]
    assert ws.protection.sheet and ws.protection.formatRows is False  # False: allowed while protected
    assert "行の高さを広げて" in " ".join(_texts(wb["記入要領"]))
    # the box holds the reference's longest 実績 (15 lines at its width), not 8 lines
    assert ws.row_dimensions[ws[box.cell].row].height >= 15 * 9


def test_issued_templates_are_not_written_over_and_an_earlier_copy_stays_valid(tmp_path):
    from plan_xl.collect import collect
    from plan_xl.errors import UsageError

    ws = issue(tmp_path / "作業")
    reg, key = ws.load(), load_or_create_key(ws.key_path)
    path = ws.template_path(2023, "人事課")
    earlier = tmp_path / "配布済み.xlsx"
    shutil.copy(path, earlier)
    later = TemplateOptions(2023, issued=ISSUED + dt.timedelta(days=3))
    with pytest.raises(UsageError, match="--reissue"):
        generate_templates(reg, later, key, ws.templates_dir(2023), ["人事課"], reissue=False)
    assert path.read_bytes() == earlier.read_bytes()
    generate_templates(reg, later, key, ws.templates_dir(2023), ["人事課"], reissue=True)
    assert identity(path).template_id != identity(earlier).template_id
    # the department fills the copy it was sent first: still accepted
    (ws.inbox / "人事課.xlsx").write_bytes(fill(earlier, typical_values(reg, identity(earlier))))
    result = collect(ws, [ws.inbox], now=dt.datetime(2024, 5, 20, 9, 0))
    assert [r.ok for r in result.results] == [True], [str(f) for r in result.results for f in r.findings]
