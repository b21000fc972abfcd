"""`plan-xl collect` on templates filled as departments fill them."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import needs_libreoffice, soffice
from python_calamine import CalamineWorkbook
from support.returned import (
    YEAR,
    cell_of,
    editable,
    fill,
    identity,
    typical_values,
    via_libreoffice,
    with_cached_value,
)

from plan_xl.cli import main
from plan_xl.collect import collect
from plan_xl.collect.feedback import ERROR_FILL
from plan_xl.register.evaluate import self_rating_choice
from plan_xl.register.model import FieldKey, Provenance
from plan_xl.register.store import load_register, save_register

DX = "DX戦略課"  # owns text fields, a percentage and counts, and shares sheets with two others
JINJI = "人事課"
T0 = dt.datetime(2024, 5, 20, 10, 0, 0)
JST = dt.timezone(dt.timedelta(hours=9))


def drop(ws, name: str, data: bytes, when: dt.datetime = T0) -> Path:
    path = ws.inbox / name
    path.write_bytes(data)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def received(when: dt.datetime = T0) -> str:
    return when.isoformat(timespec="seconds")


def unit_field(reg, ident, unit_prefix: str):
    return next(f for f in editable(ident, "actual")
                if reg.indicator(f.field.target).unit.startswith(unit_prefix))


def typed(reg, key: str):
    """What the register holds for a field key."""
    field = FieldKey.parse(key)
    if field.kind in ("actual", "reason"):
        a = reg.actual_for(field.target, field.year)
        return (a.value if field.kind == "actual" else a.reason), a.source
    pr = reg.progress_for(field.target, field.section, field.year)
    if field.kind == "rating":
        return self_rating_choice(reg.rating_scale, pr.self_rating), pr.source
    return (pr.results if field.kind == "results" else pr.revision), pr.source


def run(ws, *args):
    return CliRunner().invoke(main, ["--dir", str(ws.root), *args])


# --- the typed values, exactly ------------------------------------------------------------
def test_typed_values_reach_the_register_with_provenance(ws):
    reg = ws.load()
    sent = {}
    for dept in (DX, JINJI):
        template = ws.template_path(YEAR, dept)
        ident = identity(template)
        values = typical_values(reg, ident)
        data = fill(template, values)
        drop(ws, f"{dept}_返送.xlsx", data)
        sent[dept] = (ident, values, hashlib.sha256(data).hexdigest())

    result = collect(ws)

    assert [(r.verdict, r.errors) for r in result.results] == [("受理", 0), ("受理", 0)]
    assert result.exit_code == 0 and result.register_changed
    after = load_register(ws.register_path)
    for dept, (ident, values, sha) in sent.items():
        assert values
        for key, value in values.items():
            got, source = typed(after, key)
            assert got == value, key
            assert source == Provenance(f"{dept}_返送.xlsx", sha, dept, ident.template_id, received())
    rows = CalamineWorkbook.from_path(str(ws.register_path)).get_sheet_by_name("提出").to_python()
    assert sorted((r[1], r[3], r[4], r[7]) for r in rows[1:]) == sorted(
        (d, f"{d}_返送.xlsx", sha, "") for d, (_, _, sha) in sent.items())
    assert int(after.meta["revision"]) == reg.register_version + 1
    assert len(list(ws.archive.iterdir())) == 2


@needs_libreoffice
def test_a_workbook_saved_by_libreoffice_is_read_exactly(ws, tmp_path):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    formula_field = unit_field(reg, ident, "件")
    values[formula_field.key] = "=40+2"  # LibreOffice computes and caches 42
    data = via_libreoffice(soffice(), fill(template, values), tmp_path / "lo")

    drop(ws, "libreoffice.xlsx", data)
    result = collect(ws)

    [r] = result.results
    assert r.verdict == "受理", [str(f) for f in r.findings]
    assert [(f.severity, f.cell) for f in r.findings if f.code == "V007"] == [("注意", formula_field.cell)]
    after = load_register(ws.register_path)
    values[formula_field.key] = 42.0
    for key, value in values.items():
        assert typed(after, key)[0] == value, key


# --- typical mistakes ---------------------------------------------------------------------
@pytest.mark.parametrize("unit, typed_text, expected", [
    ("件", "１２，３４５件", 12345.0),
    ("%", "45％", 45.0),
    ("%", " 45.5 ", 45.5),
])
def test_numbers_typed_as_text_are_normalised_with_a_warning(ws, unit, typed_text, expected):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    field = unit_field(reg, ident, unit)
    values[field.key] = typed_text
    drop(ws, "dx.xlsx", fill(template, values))

    [r] = collect(ws).results

    assert r.verdict == "受理"
    [note] = [f for f in r.findings if f.code == "V018"]
    assert (note.severity, note.sheet, note.cell) == ("注意", field.sheet, field.cell)
    assert typed(load_register(ws.register_path), field.key)[0] == expected


def _change_prefilled(wb, ident):
    sheet = editable(ident)[0].sheet
    wb[sheet]["C3"] = "実施計画名を書き換えた"


def _answer_other_department(wb, ident):
    other = next(f for f in ident.fields if not f.editable)
    ws = wb[other.sheet]
    ws.protection.sheet = False  # a clerk who removed the (password-less) protection
    cell_of(wb, other).value = "他課の欄に記入した"


def _other_field(ident):
    return next(f for f in ident.fields if not f.editable)


@pytest.mark.parametrize("case", ["percent_over_100", "negative_count", "triangle_minus", "empty_results",
                                  "formula_without_value", "prefilled_changed", "other_department"])
def test_mistakes_are_errors_at_the_right_cell(ws, case):
    reg = ws.load()
    before = ws.register_path.read_bytes()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    edit = None
    pct, count = unit_field(reg, ident, "%"), unit_field(reg, ident, "件")
    results = editable(ident, "results")[0]
    expected_sheet, expected_cell, code = {
        "percent_over_100": (pct.sheet, pct.cell, "V020"),
        "negative_count": (count.sheet, count.cell, "V019"),
        "triangle_minus": (count.sheet, count.cell, "V019"),
        "empty_results": (results.sheet, results.cell, "V009"),
        "formula_without_value": (count.sheet, count.cell, "V006"),
        "prefilled_changed": (results.sheet, "C3", "V023"),
        "other_department": (_other_field(ident).sheet, _other_field(ident).cell, "V008"),
    }[case]
    if case == "percent_over_100":
        values[pct.key] = 120
    elif case == "negative_count":
        values[count.key] = -3
    elif case == "triangle_minus":
        values[count.key] = "▲5"
    elif case == "empty_results":
        values[results.key] = None
    elif case == "formula_without_value":
        values[count.key] = "=40+2"  # openpyxl saves no cached result
    elif case == "prefilled_changed":
        edit = _change_prefilled
    else:
        edit = _answer_other_department
    drop(ws, "dx.xlsx", fill(template, values, edit))

    result = collect(ws)

    [r] = result.results
    assert r.verdict == "差戻し" and result.exit_code == 1
    errors = [(f.sheet, f.cell) for f in r.findings if f.severity == "誤り" and f.code == code]
    assert errors == [(expected_sheet, expected_cell)], [str(f) for f in r.findings]
    if case == "triangle_minus":
        assert any(f.code == "V018" and "-5" in f.message for f in r.findings)  # read as -5, said so
    assert ws.register_path.read_bytes() == before  # nothing of a rejected file is merged


def test_formula_with_a_cached_value_is_accepted_with_a_warning(ws):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    count = unit_field(reg, ident, "件")
    values[count.key] = "=40+2"
    drop(ws, "dx.xlsx", with_cached_value(fill(template, values), "40+2", "42"))

    [r] = collect(ws).results

    assert r.verdict == "受理"
    assert [(f.severity, f.cell) for f in r.findings if f.code == "V007"] == [("注意", count.cell)]
    assert typed(load_register(ws.register_path), count.key)[0] == 42.0


def insert_rows(wb, sheet: str, idx: int, amount: int) -> None:
    """Insert rows the way Excel does: cells, merged ranges and defined names all move."""
    ws = wb[sheet]
    ws.insert_rows(idx, amount)
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= idx:
            rng.shift(0, amount)
    for dn in list(wb.defined_names.values()):
        dest = list(dn.destinations)
        if len(dest) == 1 and dest[0][0] == sheet:
            col_row = dest[0][1].replace("$", "")
            col = "".join(ch for ch in col_row if ch.isalpha())
            row = int(col_row[len(col):])
            if row >= idx:
                dn.attr_text = f"'{sheet}'!${col}${row + amount}"


def test_inserted_rows_do_not_lose_the_input_cells(ws):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    sheet = editable(ident)[0].sheet

    drop(ws, "dx.xlsx", fill(template, values, lambda wb, _: insert_rows(wb, sheet, 5, 2)))
    [r] = collect(ws).results

    assert r.verdict == "受理", [str(f) for f in r.findings]
    moved = [f for f in r.findings if f.sheet == sheet]
    assert not moved, [str(f) for f in moved]
    after = load_register(ws.register_path)
    for key, value in values.items():
        assert typed(after, key)[0] == value


# --- re-submissions and re-runs -----------------------------------------------------------
def test_a_later_file_supersedes_and_both_stay_on_record(ws):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    first = typical_values(reg, ident)
    second = {k: (v + 1 if isinstance(v, float) else v + "（修正版）") for k, v in first.items()}
    older = {k: (v + 2 if isinstance(v, float) else v + "（古い版）") for k, v in first.items()}
    data1, data2, data3 = fill(template, first), fill(template, second), fill(template, older)

    drop(ws, "dx_1.xlsx", data1, T0)
    assert collect(ws).results[0].verdict == "受理"
    drop(ws, "dx_2.xlsx", data2, T0 + dt.timedelta(days=1))
    verdicts = {r.item.name: r.verdict for r in collect(ws).results}
    assert verdicts == {"dx_1.xlsx": "処理済み", "dx_2.xlsx": "受理"}
    drop(ws, "dx_0.xlsx", data3, T0 - dt.timedelta(days=1))  # an older copy arriving late
    verdicts = {r.item.name: r.verdict for r in collect(ws).results}
    assert verdicts["dx_0.xlsx"] == "受理（差替え済み）"

    after = load_register(ws.register_path)
    for key, value in second.items():
        got, source = typed(after, key)
        assert got == value and source.file == "dx_2.xlsx"
    sha = {n: hashlib.sha256(d).hexdigest() for n, d in (("1", data1), ("2", data2), ("0", data3))}
    record = {s.sha256: s.superseded_by for s in after.submissions}
    assert record == {sha["1"]: sha["2"], sha["2"]: "", sha["0"]: sha["2"]}


def test_running_collect_twice_changes_nothing(ws):
    reg = ws.load()
    for dept in (DX, JINJI):
        template = ws.template_path(YEAR, dept)
        drop(ws, f"{dept}.xlsx", fill(template, typical_values(reg, identity(template))))
    assert collect(ws).exit_code == 0
    before = ws.register_path.read_bytes()
    backups = sorted(ws.backups.iterdir())

    again = collect(ws)

    assert {r.verdict for r in again.results} == {"処理済み"} and not again.register_changed
    assert again.exit_code == 0
    assert ws.register_path.read_bytes() == before
    assert sorted(ws.backups.iterdir()) == backups


# --- the command line ---------------------------------------------------------------------
def test_exit_codes(ws):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    drop(ws, "dx.xlsx", fill(template, typical_values(reg, identity(template))))
    ok = run(ws, "collect")
    assert ok.exit_code == 0, ok.output
    assert "受理" in ok.output and "台帳は更新しました" in ok.output

    drop(ws, "壊れた.xlsx", b"PK\x03\x04 not really a zip")
    some_rejected = run(ws, "collect")
    assert some_rejected.exit_code == 1
    assert "壊れたファイル" in some_rejected.output

    missing = run(ws, "collect", str(ws.root / "ない"))
    assert missing.exit_code == 2 and "見つかりません" in missing.output
    assert run(ws, "collect", "--no-such-option").exit_code == 2


def _dx_with_a_percentage_over_100(ws):
    """DX戦略課's return with one error: a percentage of 150. Returns the field and the values."""
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    ident = identity(template)
    values = typical_values(reg, ident)
    pct = unit_field(reg, ident, "%")
    values[pct.key] = 150
    drop(ws, "dx.xlsx", fill(template, values))
    return pct, values


def test_correction_copy_marks_the_cells_to_fix(ws):
    pct, _ = _dx_with_a_percentage_over_100(ws)

    result = collect(ws)

    assert result.corrections == [ws.correction_path(YEAR, DX)]
    book = openpyxl.load_workbook(result.corrections[0])
    assert book.sheetnames[0] == "修正依頼"
    cell = book[pct.sheet][pct.cell]
    assert cell.fill.fgColor.rgb.endswith(ERROR_FILL)
    assert "【誤り】" in cell.comment.text and "超えています" in cell.comment.text
    summary = [[c for c in row] for row in book["修正依頼"].iter_rows(values_only=True)]
    assert ["誤り", "修正してください", pct.sheet, pct.cell] in [list(row[1:5]) for row in summary]
    assert cell.value == 150  # the department's own input is kept for them to correct


def test_fixed_correction_copy_is_accepted_and_retired(ws):
    """The loop a department goes through: rejected, fixes the correction copy, sends it back."""
    pct, values = _dx_with_a_percentage_over_100(ws)
    copy = collect(ws).corrections[0]

    values[pct.key] = 15.5
    drop(ws, "dx_修正版.xlsx", fill(copy, values), T0 + dt.timedelta(days=3))
    result = collect(ws)

    fixed = next(r for r in result.results if r.item.name == "dx_修正版.xlsx")
    assert fixed.verdict == "受理", fixed.findings
    assert typed(load_register(ws.register_path), pct.key)[0] == 15.5
    assert not copy.exists() and (copy.parent / "受理済み" / copy.name).exists()


def test_status_command(ws):
    reg = ws.load()
    for dept, bad in ((DX, False), (JINJI, True)):
        template = ws.template_path(YEAR, dept)
        ident = identity(template)
        values = typical_values(reg, ident)
        if bad:
            values[editable(ident, "results")[0].key] = None
        drop(ws, f"{dept}.xlsx", fill(template, values))
    run(ws, "collect")

    out = run(ws, "status", "--year", str(YEAR))

    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line.split() for line in out.output.splitlines()[2:] if line.strip()}
    assert lines[DX][1] == "受理" and lines[JINJI][1] == "差戻し中"
    assert lines["介護保険課"][1:4] == ["未提出", "済", "0"]
    assert "差戻し中 1 課、受理 1 課" in out.output


# --- saved e-mails, lock files, hidden files ----------------------------------------------
def _mail_rfc2231(data: bytes, filename: str) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = "進捗状況調査票の提出"
    msg["From"] = "dx@city.example.jp"
    msg["Date"] = "Mon, 20 May 2024 10:15:00 +0900"
    msg.set_content("調査票を送ります。")
    msg.add_attachment(data, maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=filename)
    raw = msg.as_bytes()
    assert b"filename*" in raw  # the RFC 2231 form (continued in parts when long)
    return raw


def _mail_iso2022jp(data: bytes, filename: str) -> bytes:
    """The form older Japanese mailers write: ISO-2022-JP body, RFC 2047 encoded file name."""
    import base64
    from email.header import Header

    encoded = Header(filename, "iso-2022-jp").encode()
    body = "調査票を送ります。".encode("iso-2022-jp")
    attachment = base64.encodebytes(data).decode("ascii")
    return (
        "From: jinji@city.example.jp\r\n"
        f"Subject: {Header('提出', 'iso-2022-jp').encode()}\r\n"
        "Date: Tue, 21 May 2024 09:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        "--XX\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    ).encode("ascii") + body + (
        "\r\n--XX\r\n"
        f'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="{encoded}"\r\n'
        f'Content-Disposition: attachment; filename="{encoded}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{attachment}\r\n--XX--\r\n"
    ).encode("ascii")


def test_saved_mails_with_japanese_attachment_names(ws):
    reg = ws.load()
    sent = {}
    for dept, name, make in ((DX, "2023年度_進捗状況調査票_DX戦略課.xlsx", _mail_rfc2231),
                             (JINJI, "2023年度_進捗状況調査票_人事課（修正）.xlsx", _mail_iso2022jp)):
        template = ws.template_path(YEAR, dept)
        data = fill(template, typical_values(reg, identity(template)))
        (ws.inbox / f"{dept}.eml").write_bytes(make(data, name))
        sent[name] = hashlib.sha256(data).hexdigest()

    result = collect(ws)

    assert {r.item.name: (r.verdict, r.item.sha256) for r in result.results} == {
        n: ("受理", sha) for n, sha in sent.items()}
    local = {dt.datetime(2024, 5, 20, 10, 15, tzinfo=JST), dt.datetime(2024, 5, 21, 9, 0, tzinfo=JST)}
    assert {r.item.received for r in result.results} == {  # the Date header, in this machine's time
        t.astimezone().replace(tzinfo=None).isoformat() for t in local}
    archived = {p.name.split("_", 1)[1] for p in ws.archive.iterdir()}
    assert archived == set(sent) | {f"{d}.eml" for d in (DX, JINJI)}  # the mails too, as received


def test_lock_files_and_hidden_files_are_skipped_with_a_message(ws):
    reg = ws.load()
    template = ws.template_path(YEAR, DX)
    data = fill(template, typical_values(reg, identity(template)))
    drop(ws, "dx.xlsx", data)
    drop(ws, "~$dx.xlsx", b"\x0cowner" + b"\x00" * 150)
    drop(ws, ".dx.xlsx", data)

    out = run(ws, "collect")

    assert out.exit_code == 0, out.output
    skipped = [line for line in out.output.splitlines() if line.startswith("読み飛ばし")]
    assert len(skipped) == 2
    assert any("~$dx.xlsx" in line and "一時ファイル" in line for line in skipped)
    assert any(".dx.xlsx" in line and "隠しファイル" in line for line in skipped)
    assert "ファイル 1 件" in out.output



@pytest.mark.parametrize("written_since", [False, True])
def test_the_register_the_caller_checked_is_merged_into_unless_it_was_written_since(ws, written_since):
    """`plan-xl collect` loads and checks the register before gathering; collect uses that one
    under the lock when the file is unchanged, and loads it again when anything wrote it since."""
    stamp, reg = ws.register_stamp(), ws.load()
    if written_since:
        save_register(load_register(ws.register_path), ws.register_path, ws.backups)
    template = ws.template_path(YEAR, DX)
    drop(ws, "dx.xlsx", fill(template, typical_values(reg, identity(template))))

    [r] = collect(ws, loaded=(reg, stamp)).results

    assert r.verdict == "受理"
    assert len(reg.submissions) == (0 if written_since else 1)  # merged into the object it was given
    assert len(load_register(ws.register_path).submissions) == 1  # and saved, either way
