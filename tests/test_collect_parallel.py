"""Judging many files in worker processes: same verdicts, and a worker that dies costs only
its own file a verdict."""

import multiprocessing
import os
from pathlib import Path

import pytest

from plan_xl import collect as collect_module
from plan_xl.collect import PARALLEL_FROM, Received, judge, judge_all
from plan_xl.source import load_source

pytestmark = pytest.mark.skipif(multiprocessing.get_start_method() != "fork" or (os.cpu_count() or 1) < 2,
                                reason="the abort is injected by patching, which only fork children inherit")


def _items(n: int) -> list[Received]:
    return [Received(f"file{k}.xlsx", b"PK\x03\x04 not really a zip %d" % k, Path(f"file{k}.xlsx"),
                     "2024-05-01T10:00:00") for k in range(n)]


def test_parallel_verdicts_equal_sequential_ones():
    reg = load_source()
    items = _items(PARALLEL_FROM + 4)
    sequential = [judge(i, reg, b"k") for i in _items(len(items))]
    parallel = judge_all(items, reg, b"k")
    assert [(r.item.name, r.verdict, r.message) for r in parallel] == \
           [(r.item.name, r.verdict, r.message) for r in sequential]


def test_a_worker_that_aborts_costs_only_its_own_file(monkeypatch):
    real = collect_module.judge

    def judge_or_abort(item, *args):
        if item.name == "file3.xlsx":
            os.abort()  # what python-calamine does on absurd sheet sizes
        return real(item, *args)

    monkeypatch.setattr(collect_module, "judge", judge_or_abort)
    results = judge_all(_items(PARALLEL_FROM + 4), load_source(), b"k")
    verdicts = {r.item.name: r for r in results}
    assert len(results) == PARALLEL_FROM + 4
    assert "異常終了" in verdicts["file3.xlsx"].message
    assert all(r.verdict == "壊れたファイル" and "異常終了" not in r.message
               for name, r in verdicts.items() if name != "file3.xlsx")
