"""xlsx: the one way plan-xl starts a workbook. A compact workbook (`in_memory=False`: parts
deflated as they are written) is the same file as one built in memory; the collector pause
always gives the collector back."""

from __future__ import annotations

import gc
import zipfile

import openpyxl
import pytest

from plan_xl.workbooks.xlsx import collector_paused, new_workbook


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
