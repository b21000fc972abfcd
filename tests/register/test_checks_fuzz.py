"""`check` never crashes: random cells of register.xlsx overwritten with what Excel can hold."""

from __future__ import annotations

import datetime as dt
import random
import shutil

import openpyxl
import pytest

from plan_xl.errors import RegisterError
from plan_xl.register.checks import check_register
from plan_xl.register.store import SHEETS, load_register
from plan_xl.workspace import Workspace

WEIRD = [None, "", "x", "=1+1", -1, 0, 1.5, 2.0, 10**12, "1-3-5", "1-3-5.1", "ＤＸ戦略課", "2025年度",
         dt.datetime(2009, 1, 3), dt.date(2024, 4, 1), dt.time(10, 0), True, "前", "統合", "上", "\n", "あ" * 300]


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("FUZZ_SEEDS", "12"))))
def test_random_damage_never_crashes_check(tmp_path, seed):
    rnd = random.Random(seed)
    ws = Workspace(tmp_path / "w")
    ws.create()
    path = tmp_path / "damaged.xlsx"
    shutil.copy(ws.register_path, path)
    wb = openpyxl.load_workbook(path)
    for _ in range(6):
        sheet = wb[rnd.choice(list(SHEETS))]
        row = rnd.randint(2, max(sheet.max_row, 2))
        column = rnd.randint(1, len(SHEETS[sheet.title]))
        sheet.cell(row, column).value = rnd.choice(WEIRD)
    wb.save(path)
    try:
        reg = load_register(path)
    except RegisterError:
        return  # a whole sheet unreadable: one Japanese line, also not a crash
    findings = check_register(reg)
    assert all(f.message and f.severity in ("誤り", "注意") for f in findings)
    assert not any(f.code == "R002" for f in findings), [f.message for f in findings if f.code == "R002"]  # a rule broke
