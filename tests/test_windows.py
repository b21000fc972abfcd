"""What Windows offices get: worker processes started by spawn, and a cp932 console."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support.returned import ISSUED, YEAR, copy_workspace, fill, identity, issue, typical_values

from plan_xl import workers
from plan_xl.collect import Verdict, collect
from plan_xl.collect.judge import PARALLEL_FROM
from plan_xl.workbooks.templates import TemplateOptions, generate_templates
from plan_xl.workers import PARALLEL_FROM_ENV, START_METHOD_ENV


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    """A working folder with more returns than a forked collect judges in one process."""
    ws = issue(tmp_path_factory.mktemp("windows") / "作業フォルダ")
    reg = ws.load()
    for path in sorted(ws.templates_dir(YEAR).glob("*.xlsx")):
        ident = identity(path)
        (ws.inbox / path.name).write_bytes(fill(path, typical_values(reg, ident)))
    for n in range(PARALLEL_FROM["fork"]):
        (ws.inbox / f"メモ{n}.txt").write_bytes(b"not a workbook")
    return ws


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: templates are written in this process")
def test_templates_under_spawn_are_the_files_one_process_writes(inbox, tmp_path, monkeypatch):
    """A city's templates are written in this process where workers would be spawned (starting
    them costs more than they save), and spawned workers, where they pay, write the same files."""
    reg, key = inbox.load(), inbox.key_path.read_bytes()
    monkeypatch.setenv(START_METHOD_ENV, "spawn")

    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started")

    with monkeypatch.context() as patch:
        patch.setattr(workers, "pool", no_workers)
        here = generate_templates(reg, TemplateOptions(YEAR, issued=ISSUED), key, tmp_path / "here")
    assert len(here) >= 13
    monkeypatch.setenv(PARALLEL_FROM_ENV, "2")
    spawned = generate_templates(reg, TemplateOptions(YEAR, issued=ISSUED), key, tmp_path / "spawned")
    assert [p.name for p in spawned] == [p.name for p in here]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(here, spawned, strict=True))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: collect judges in this process")
def test_collect_under_spawn_gives_the_verdicts_of_fork(inbox, tmp_path, monkeypatch):
    monkeypatch.setenv(PARALLEL_FROM_ENV, "2")  # spawned workers even for a city's few dozen files
    outcomes = {}
    for method in ("spawn", "fork"):
        ws = copy_workspace(inbox, tmp_path / method)
        result = collect(ws, start_method=method)
        outcomes[method] = sorted((r.item.name, r.verdict, r.department, r.errors) for r in result.results)
        assert ws.load().accepted_departments(YEAR)  # merged from the workers' verdicts
    assert outcomes["spawn"] == outcomes["fork"]
    assert sum(v == Verdict.ACCEPTED for _, v, _, _ in outcomes["spawn"]) >= 13


def test_a_cp932_console_gets_every_line(inbox, tmp_path):
    ws = copy_workspace(inbox, tmp_path / "cp932")
    (ws.inbox / "𠮷田さんの調査票.xlsx").write_bytes(b"x")  # 𠮷 is not in cp932
    env = {**os.environ, "PYTHONIOENCODING": "cp932"}
    proc = subprocess.run([sys.executable, "-m", "plan_xl", "--dir", str(ws.root), "collect"], env=env,
                          capture_output=True, timeout=300)
    out = proc.stdout.decode("cp932")  # what the console shows: decodable, nothing lost but 𠮷
    assert proc.returncode == 1, proc.stderr.decode("cp932", "replace")
    assert "?田さんの調査票.xlsx" in out and "取りまとめ状況:" in out
    assert b"Traceback" not in proc.stderr
    report = subprocess.run([sys.executable, "-m", "plan_xl", "--dir", str(ws.root), "report"], env=env,
                            capture_output=True, timeout=300)
    shown = report.stdout.decode("cp932")
    assert report.returncode == 0, report.stderr.decode("cp932", "replace")
    assert "評価:" in shown and "－" in shown and "?" not in shown  # the no-data rating 「–」 as 「－」
