"""Judging many files in worker processes: same verdicts, and a worker that dies costs only
its own file a verdict."""

import multiprocessing
import os
from pathlib import Path

import pytest

from plan_xl.collect import Judge, Received, Verdict, judge_all
from plan_xl.collect import judge as judge_module
from plan_xl.collect.judge import PARALLEL_FROM, judge
from plan_xl.register.source import load_source

pytestmark = pytest.mark.skipif(multiprocessing.get_start_method() != "fork" or (os.cpu_count() or 1) < 2,
                                reason="the abort is injected by patching, which only fork children inherit")


def _items(n: int) -> list[Received]:
    return [Received(f"file{k}.xlsx", b"PK\x03\x04 not really a zip %d" % k, Path(f"file{k}.xlsx"),
                     "2024-05-01T10:00:00") for k in range(n)]


def _judge() -> Judge:
    return Judge(load_source(), b"k", 2023)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_verdicts_equal_sequential_ones(start_method):
    items = _items(PARALLEL_FROM + 4)
    sequential = [judge(i, _judge()) for i in _items(len(items))]
    parallel = judge_all(items, _judge(), start_method=start_method)
    assert [(r.item.name, r.verdict, r.message) for r in parallel] == \
           [(r.item.name, r.verdict, r.message) for r in sequential]


def test_a_worker_that_aborts_costs_only_its_own_file(monkeypatch):
    real = judge_module.judge

    def judge_or_abort(item, *args):
        if item.name == "file3.xlsx":
            os.abort()  # what python-calamine does on absurd sheet sizes
        return real(item, *args)

    monkeypatch.setattr(judge_module, "judge", judge_or_abort)
    results = judge_all(_items(PARALLEL_FROM + 4), _judge(), start_method="fork")
    verdicts = {r.item.name: r for r in results}
    assert len(results) == PARALLEL_FROM + 4
    assert verdicts["file3.xlsx"].message.code == "C010"  # the reader died
    assert all(r.verdict == Verdict.BROKEN and r.message.code != "C010"
               for name, r in verdicts.items() if name != "file3.xlsx")
