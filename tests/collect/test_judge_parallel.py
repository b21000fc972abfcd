"""Judging many files in worker processes: same verdicts, and a worker that dies costs only
its own file a verdict."""

import faulthandler
import multiprocessing
import os
from pathlib import Path

import pytest
from support.returned import YEAR, editable, fill, identity, issue, typical_values

from plan_xl import workers
from plan_xl.collect import Judge, Received, Verdict, judge_all
from plan_xl.collect import judge as judge_module
from plan_xl.collect.judge import PARALLEL_FROM, judge
from plan_xl.collect.ledger import issued_templates
from plan_xl.findings import ERROR, WARNING
from plan_xl.register.source import load_source
from plan_xl.workbooks.identity import load_key
from plan_xl.workbooks.templates import departments_to_issue
from plan_xl.workers import PARALLEL_FROM_ENV

pytestmark = pytest.mark.skipif(multiprocessing.get_start_method() != "fork" or (os.cpu_count() or 1) < 2,
                                reason="the abort is injected by patching, which only fork children inherit")


def _items(n: int) -> list[Received]:
    return [Received(f"file{k}.xlsx", b"PK\x03\x04 not really a zip %d" % k, Path(f"file{k}.xlsx"),
                     "2024-05-01T10:00:00") for k in range(n)]


def _judge() -> Judge:
    return Judge(load_source(), b"k", 2023)


def _mistakes(reg, ident) -> list[tuple[str, dict]]:
    """A department's return with one kind of mistake each: (what, values typed)."""
    values = typical_values(reg, ident)
    results, actuals = editable(ident, "results"), editable(ident, "actual")
    out = [("実績なし", {**values, results[0].key: ""})] if results else []
    if actuals:
        out.append(("読めない数値", {**values, actuals[0].key: "たくさん"}))
        out.append(("全角の数値", {**values, actuals[0].key: "１２"}))  # read, with a notice
    return out


@pytest.fixture(scope="module")
def returns(tmp_path_factory):
    """Real returns of different departments (as files in the inbox, read lazily as collect
    reads them): each department's careful one, and ones with mistakes; PARALLEL_FROM["fork"] + 4."""
    departments = departments_to_issue(load_source())[:8]
    ws = issue(tmp_path_factory.mktemp("parallel") / "作業フォルダ", departments)
    reg = ws.load()
    files: list[tuple[str, bytes]] = []
    for department in departments:
        template = ws.template_path(YEAR, department)
        ident = identity(template)
        files.append((f"{department}.xlsx", fill(template, typical_values(reg, ident))))
        files += [(f"{department}_{what}.xlsx", fill(template, values)) for what, values in _mistakes(reg, ident)]
    files = files[:PARALLEL_FROM["fork"] + 2] + [("壊れた.xlsx", b"PK\x03\x04 not really a zip"), ("メモ.xlsx", b"memo")]
    for name, data in files:
        (ws.inbox / name).write_bytes(data)
    ctx = Judge(reg, load_key(ws.key_path), YEAR, issued_templates(ws))
    return ws, [name for name, _ in files], ctx


def _received(ws, names) -> list[Received]:
    return [Received(name, None, ws.inbox / name, "2024-05-01T10:00:00") for name in names]


def _outcome(results) -> list[tuple]:
    return [(r.item.name, r.verdict, r.message, r.department,
             [(f.severity, f.message, f.sheet, f.cell, f.needs_action) for f in r.findings]) for r in results]


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_verdicts_equal_sequential_ones(returns, start_method, monkeypatch):
    monkeypatch.setenv(PARALLEL_FROM_ENV, str(PARALLEL_FROM["fork"]))  # workers under spawn too
    ws, names, ctx = returns
    sequential = [judge(item, ctx) for item in _received(ws, names)]
    parallel = judge_all(_received(ws, names), ctx, start_method=start_method)
    assert len(names) >= PARALLEL_FROM["fork"]  # judge_all uses its workers
    assert _outcome(parallel) == _outcome(sequential)
    # validation ran in the workers: accepted returns, and field-level findings of both kinds
    verdicts = {r.item.name: r for r in parallel}
    assert sum(r.verdict == Verdict.ACCEPTED for r in parallel) >= 5
    assert sum(r.verdict == Verdict.REJECTED for r in parallel) >= 5
    assert verdicts["壊れた.xlsx"].verdict == Verdict.BROKEN and verdicts["メモ.xlsx"].verdict == Verdict.NOT_XLSX
    assert {r.department for r in parallel} >= {"行政マネジメント課", "人事課", "DX戦略課"}
    cells = [(f.severity, f.cell) for r in parallel for f in r.findings]
    assert any(s == ERROR and c for s, c in cells) and any(s == WARNING and c for s, c in cells)
    for name, r in verdicts.items():
        if "_" not in name and name not in ("壊れた.xlsx", "メモ.xlsx"):
            assert r.verdict == Verdict.ACCEPTED, (name, [str(f) for f in r.findings])
        elif name.endswith(("_実績なし.xlsx", "_読めない数値.xlsx")):
            assert r.verdict == Verdict.REJECTED and r.errors >= 1, name


def test_a_worker_that_aborts_costs_only_its_own_file(monkeypatch):
    real = judge_module.judge

    def judge_or_abort(item, *args):
        if item.name == "file3.xlsx":
            faulthandler.disable()  # the worker's abort is the point; no traceback dump in the log
            os.abort()  # what a native reader does on absurd input (python-calamine, the register's)
        return real(item, *args)

    monkeypatch.setattr(judge_module, "judge", judge_or_abort)
    results = judge_all(_items(PARALLEL_FROM["fork"] + 4), _judge(), start_method="fork")
    verdicts = {r.item.name: r for r in results}
    assert len(results) == PARALLEL_FROM["fork"] + 4
    assert verdicts["file3.xlsx"].message.code == "C010"  # the reader died
    assert all(r.verdict == Verdict.BROKEN and r.message.code != "C010"
               for name, r in verdicts.items() if name != "file3.xlsx")


def test_a_city_sized_batch_under_spawn_is_judged_in_this_process(monkeypatch):
    """Spawned workers (Windows) cost ~0.3 s or more before their first file: a few dozen files are
    judged here instead; forked ones are ready at once and take the same batch."""
    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started")

    monkeypatch.setattr(workers, "pool", no_workers)
    items = _items(PARALLEL_FROM["fork"] + 4)
    assert len(judge_all(items, _judge(), start_method="spawn")) == len(items)
    with pytest.raises(AssertionError, match="worker processes started"):
        judge_all(items, _judge(), start_method="fork")
