"""identity: what a template is and its signature; the signing key of a working folder; the
identity's round trip through the hidden sheet of a real template (written by xlsxwriter, read
back by calamine, saved again by openpyxl)."""

from __future__ import annotations

import dataclasses
import os

import openpyxl
import pytest
from support.returned import YEAR, fill, identity, issue

from plan_xl.workbooks.identity import (
    ID_SHEET,
    PRINTS_PER_ROW,
    CellPrint,
    FieldSpec,
    Identity,
    digest,
    from_rows,
    load_key,
    load_or_create_key,
    to_rows,
)

KEY = bytes(range(32))


def sample() -> Identity:
    ident = Identity("T2023-0123456789ab", "DX戦略課", 2023, 3, "2024-04-01T09:00:00",
                     fields=[FieldSpec("results|1-3-1|2|2023", "1-3-1 計画", "C17", "PX_1", "DX戦略課", True),
                             FieldSpec("actual|1-3-1.1|2023", "1-3-1 計画", "H17", "PX_2", "市民課", False, "12.5")],
                     prints=[CellPrint("1-3-1 計画", "A1", digest("見出し"))])
    ident.sign(KEY)
    return ident


def test_rows_round_trip():
    ident = sample()
    assert from_rows(to_rows(ident)) == ident
    assert all(isinstance(v, str) for row in to_rows(ident) for v in row)  # text only: any reader gets it


def test_fingerprints_take_a_few_cells_in_their_order():
    """Version 2 writes a sheet's fingerprints as text, at most PRINTS_PER_ROW a cell, and reads
    them back in the order signed (a sheet may come back after another)."""
    prints = ([CellPrint("計画 A", f"C{n}", digest(str(n))) for n in range(1, PRINTS_PER_ROW + 3)]
              + [CellPrint("計画 B", "A1", digest("b")), CellPrint("計画 A", "K9", digest("a"))])
    ident = dataclasses.replace(sample(), prints=prints)
    ident.sign(KEY)
    rows = to_rows(ident)
    assert [r[:2] for r in rows if r[0] == "prints"] == [["prints", "計画 A"]] * 2 + [["prints", "計画 B"],
                                                                                   ["prints", "計画 A"]]
    assert max(len(r[2]) for r in rows if r[0] == "prints") < 32_767
    back = from_rows(rows)
    assert back == ident and back.verify(KEY)


def test_version_1_rows_are_still_read():
    """Templates issued before version 2 carry one row per fingerprinted cell."""
    ident = dataclasses.replace(sample(), version=1)
    ident.sign(KEY)
    rows = [r for r in to_rows(ident) if r[0] != "prints"]
    rows[0][1] = "1"
    rows += [["print", p.sheet, p.cell, p.digest] for p in ident.prints]
    back = from_rows(rows)
    assert back == ident and back.verify(KEY)


def test_rows_as_a_spreadsheet_gives_them_back():
    """Numbers typed back as floats and empty trailing cells, as a reader returns a sheet."""
    rows = [[float(v) if v.isdigit() else v for v in row] + [None, ""] for row in to_rows(sample())]
    assert from_rows(rows) == sample()


@pytest.mark.parametrize("rows", [[], [["something else", "1"]], [["", ""]]])
def test_rows_that_are_no_identity_are_refused(rows):
    with pytest.raises(ValueError):
        from_rows(rows)


def test_the_signature_covers_every_part():
    ident = sample()
    assert ident.verify(KEY)
    assert not ident.verify(b"another key")
    for change in ({"department": "人事課"}, {"year": 2024}, {"register_version": 4}, {"version": ident.version + 1}, {"issued": "2024-04-02T09:00:00"},
                   {"template_id": "T2023-ffffffffffff"}):
        assert not dataclasses.replace(ident, **change).verify(KEY), change
    moved = dataclasses.replace(ident, fields=[ident.fields[0]._replace(cell="C18"), ident.fields[1]])
    assert not moved.verify(KEY)
    reprinted = dataclasses.replace(ident, prints=[CellPrint("1-3-1 計画", "A1", digest("別の見出し"))])
    assert not reprinted.verify(KEY)


def test_properties_are_the_short_identity():
    ident = sample()
    props = ident.properties()
    assert props == {"plan_xl_template_id": ident.template_id, "plan_xl_department": "DX戦略課",
                     "plan_xl_year": "2023", "plan_xl_revision": "3", "plan_xl_issued": ident.issued,
                     "plan_xl_signature": ident.signature}


def test_digest_is_sixteen_hex_digits_of_the_text():
    assert digest("見出し") == digest("見出し") != digest("見出し ")
    assert len(digest("")) == 16 and int(digest("x"), 16) >= 0


def test_the_key_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / ".plan-xl" / "signing.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert load_or_create_key(path) == key == load_key(path)
    assert path.read_text(encoding="ascii") == key.hex() + "\n"
    if os.name != "nt":
        assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(tmp_path / "other.key") != key


def test_a_template_carries_its_identity_twice_and_keeps_it_when_saved_again(tmp_path):
    ws = issue(tmp_path / "作業フォルダ", ["人事課"])
    template = ws.template_path(YEAR, "人事課")
    ident = identity(template)
    key = load_key(ws.key_path)
    assert ident.verify(key) and ident.department == "人事課" and ident.year == YEAR
    book = openpyxl.load_workbook(template)
    assert book[ID_SHEET].sheet_state == "veryHidden"
    custom = {p.name: p.value for p in book.custom_doc_props.props}
    assert custom == ident.properties()
    assert ident.prints and all(p.sheet in book.sheetnames for p in ident.prints)
    for spec in ident.fields:
        assert book[spec.sheet][spec.cell].value in (None, "", spec.issued_value)
    again = identity(fill(template, {}))  # opened and saved by another program, nothing typed
    assert again == ident and again.verify(key)
