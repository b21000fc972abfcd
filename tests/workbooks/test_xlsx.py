"""xlsx: the one way plan-xl starts a workbook. A compact workbook (`in_memory=False`: parts
deflated as they are written) is the same file as one built in memory; the collector pause
always gives the collector back; a sheet finished early is the same sheet."""

from __future__ import annotations

import gc
import io
import zipfile

import openpyxl
import pytest
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable

from plan_xl.workbooks import xlsx
from plan_xl.workbooks.xlsx import collector_paused, finish_sheet, new_workbook


def _write(path, in_memory: bool) -> None:
    book = new_workbook(path, "比較", in_memory=in_memory)
    bold = book.add_format({"bold": True, "border": 1, "text_wrap": True})
    for s in range(3):
        ws = book.add_worksheet(f"シート{s}")
        for r in range(1500):  # a part larger than one deflated chunk
            ws.write_string(r, 0, f"実施計画 {s}-{r}：説明会を開催した。" * (1 + r % 3), bold)
            ws.write_number(r, 1, r * 1.5)
        ws.merge_range(0, 2, 3, 4, "", bold)
        ws.write_string(0, 2, "=1+1 は数式にならない")
    chart = book.add_chart({"type": "bar"})
    chart.add_series({"values": ["シート0", 0, 1, 9, 1]})
    book.get_worksheet_by_name("シート0").insert_chart(5, 5, chart)
    book.close()


def test_a_compact_workbook_is_the_same_file_as_one_built_in_memory(tmp_path):
    _write(tmp_path / "memory.xlsx", in_memory=True)
    _write(tmp_path / "compact.xlsx", in_memory=False)
    with zipfile.ZipFile(tmp_path / "memory.xlsx") as a, zipfile.ZipFile(tmp_path / "compact.xlsx") as b:
        assert a.namelist() == b.namelist() and len(a.namelist()) > 10
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
        # members deflated as they were written go in as they are: sizes and CRCs must be right
        assert b.testzip() is None and {i.compress_type for i in b.infolist()} == {zipfile.ZIP_DEFLATED}
    ws = openpyxl.load_workbook(tmp_path / "compact.xlsx")["シート2"]
    assert ws["A1500"].value == "実施計画 2-1499：説明会を開催した。" * 3
    assert ws["B1500"].value == 1499 * 1.5 and ws["C1"].value == "=1+1 は数式にならない"


def test_the_collector_comes_back_after_a_pause_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer block gives it back
            pass
        assert not gc.isenabled()
        1 / 0  # noqa: B018
    assert gc.isenabled()


def _sheets(path) -> list:
    """Every sheet's cells with the formats Excel shows them in, merges and row heights."""
    book = openpyxl.load_workbook(path)
    return [(ws.title, sorted(str(m) for m in ws.merged_cells.ranges),
             {k: d.height for k, d in ws.row_dimensions.items()},
             [(c.coordinate, c.value, c.font.b, c.fill.fgColor.rgb, c.border.left.style, c.number_format)
              for row in ws.iter_rows() for c in row]) for ws in book]


def test_a_sheet_finished_early_is_the_same_sheet(tmp_path):
    """finish_sheet writes a complete sheet's XML at once and lets its cells go; the file shows
    the same (the formats may be numbered in another order)."""
    def write(path, finish: bool):
        book = new_workbook(path, "比較", in_memory=False)
        plain, bold = book.add_format({"border": 1}), book.add_format({"bold": True, "bg_color": "#D9D9D9"})
        for s in range(3):
            ws = book.add_worksheet(f"シート{s}")
            ws.merge_range(0, 0, 1, 2, "", bold if s else plain)
            ws.write_string(0, 0, f"見出し{s}", bold if s else plain)
            ws.write_number(2, 1, 12.5 * s, book.add_format({"num_format": "#,##0.0"}))
            ws.set_row(2, 30 + s)
            if finish and s:
                finish_sheet(book, ws)
                assert not ws.table and not ws.merged_cells  # its cells are no longer held
        book.close()

    write(tmp_path / "held.xlsx", finish=False)
    write(tmp_path / "finished.xlsx", finish=True)
    assert _sheets(tmp_path / "held.xlsx") == _sheets(tmp_path / "finished.xlsx")


def test_shared_strings_are_the_bytes_xlsxwriter_writes():
    """Plain strings take a quicker path than xlsxwriter's escaping: the part must not change,
    whatever a string holds (escapes, control characters, spaces at either end, rich text)."""
    strings = ["実施計画", " 前に空白", "後ろに空白 ", "\u3000全角空白", "改行で終わる\n", "途中\nの改行", "a&b<c>d\"e",
               "制御\x01文字\x1f", "_x000D_ はそのまま書けない", "_x12G4_", "\ufffe\uffff", "\t", "",
               "<r><t>豊かな</t></r>", "タブ\tは\tそのまま", "\r\n"]
    table = SharedStringTable()
    for s in strings:
        table._get_shared_string_index(s)
    table._sort_string_data()
    parts = []
    for cls in (SharedStrings, xlsx._SharedStrings):
        sst, out = cls(), io.StringIO()
        sst.string_table = table
        sst._set_xml_writer(out)
        sst._assemble_xml_file()
        parts.append(out.getvalue())
    assert parts[0] == parts[1] and parts[0].count("<si>") == len(strings)
