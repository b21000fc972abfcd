"""Crash safety of the register (issue 8): `plan-xl collect` killed at random moments of a merge
leaves a register that opens and equals the state before or after; backups follow the rule of
store.save_register (BACKUPS_KEPT). The experiment is support/crash.py; its long run (50+ kills)
is benchmarks/crash_merge.py."""

from __future__ import annotations

import os

import pytest
from support.crash import crash_loop, prepare

from plan_xl.register.source import load_source
from plan_xl.register.store import BACKUPS_KEPT, load_register, save_register

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX only")


def test_killed_collect_leaves_before_or_after(tmp_path):
    root = tmp_path / "作業フォルダ"
    prepare(root)
    r = crash_loop(root, kills=4, seed=8, log=lambda *a: None)
    assert r["corrupt"] == 0, r
    assert sum(r["states"].values()) == 4 and set(r["states"]) <= {"before", "after"}, r
    assert r["busy"] == 0, "a killed run's lock stopped the next run"
    assert r["partial_backups"] == 0 and r["bad_backups"] == 0


def test_backups_are_pruned_to_the_newest(tmp_path):
    reg = load_source()
    path = tmp_path / "register.xlsx"
    backups = tmp_path / "backup"
    made = []
    for n in range(BACKUPS_KEPT + 3):
        reg.meta["revision"] = str(n + 1)
        made.append(save_register(reg, path, backups))
    kept = sorted(backups.glob("register-*.xlsx"))
    assert made[0] is None  # no previous register, no backup
    assert len(kept) == BACKUPS_KEPT
    assert kept == sorted(made[-BACKUPS_KEPT:])  # the newest ones
    assert load_register(kept[-1]).meta["revision"] == str(BACKUPS_KEPT + 2)  # the state before the last save


def test_leftovers_of_a_killed_save_are_removed(tmp_path):
    path = tmp_path / "register.xlsx"
    save_register(load_source(), path, tmp_path / "backup")
    dead = tmp_path / ".register.999999999.tmp.xlsx"  # no such process
    dead.write_bytes(b"half a workbook")
    (tmp_path / "backup").mkdir()
    part = tmp_path / "backup" / ".register-20240101-000000-000000.999999999.tmp.xlsx"  # a killed copy
    part.write_bytes(b"half a copy")
    save_register(load_source(), path, tmp_path / "backup")
    assert not dead.exists() and not part.exists()
    load_register(path)
