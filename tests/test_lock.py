"""Two collects at once, stale and live locks (issue 8; lock.RegisterLock)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from support.returned import YEAR, fill, issue

from plan_xl.cli import BAR_FROM, main
from plan_xl.collect import collect
from plan_xl.errors import RegisterBusyError
from plan_xl.lock import UNREADABLE_STALE_SECONDS, RegisterLock
from plan_xl.progress import Progress
from plan_xl.register.store import load_register

DEPARTMENTS = ["市民課", "人事課", "中央公民館", "行政マネジメント課"]


@pytest.fixture
def ws(tmp_path):
    ws = issue(tmp_path / "作業フォルダ", DEPARTMENTS)
    for d in DEPARTMENTS:
        fill(ws.template_path(YEAR, d), out=ws.inbox / f"{d}.xlsx")
    return ws


def _lock_path(ws):
    return ws.workbooks / ".register.lock"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_lock(path, pid, host=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid,
                                "started": "2024-05-01T10:00:00"}), encoding="utf-8")


def test_second_collect_stops_with_a_clear_message(ws):
    with RegisterLock(_lock_path(ws)):  # another run holds the register
        with pytest.raises(RegisterBusyError) as e:
            collect(ws)
    assert "ほかの取りまとめ処理が実行中です" in str(e.value)
    assert "終わってからもう一度実行してください" in str(e.value)
    assert not ws.register_path.exists() or load_register(ws.register_path)


def test_two_collect_processes_at_once(ws):
    """Both start together: each either finishes or stops with the busy message; the register
    opens afterwards and holds every accepted file exactly once."""
    ws.load()
    cmd = [sys.executable, "-m", "plan_xl", "--dir", str(ws.root), "-q", "collect"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    busy = ["ほかの取りまとめ処理が実行中です" in err.decode() for _, err in outs]
    for code, is_busy, (_, err) in zip(codes, busy, outs, strict=True):
        assert code == 0 or is_busy, err.decode()
    assert 0 in codes
    reg = load_register(ws.register_path)
    assert len(reg.submissions) == len(DEPARTMENTS)
    assert len({s.sha256 for s in reg.submissions}) == len(DEPARTMENTS)
    assert not _lock_path(ws).exists()


def test_stale_lock_of_a_killed_run_is_cleared(ws):
    _write_lock(_lock_path(ws), _dead_pid())
    progress = Progress()
    result = collect(ws, progress=progress)
    assert result.register_changed
    assert any("ロックが残っていたため解除しました" in n for n in progress.notices)
    assert not _lock_path(ws).exists()


def test_empty_lock_of_a_run_killed_at_creation_is_cleared_when_old(ws):
    lock = _lock_path(ws)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("", encoding="utf-8")
    assert not RegisterLock(lock).is_stale()  # young: its run may be writing its owner right now
    old = time.time() - UNREADABLE_STALE_SECONDS - 5
    os.utime(lock, (old, old))
    assert RegisterLock(lock).is_stale()
    assert collect(ws).register_changed


def test_live_lock_is_never_stolen(ws):
    lock = _lock_path(ws)
    _write_lock(lock, os.getpid())  # this very process: alive
    before = lock.read_bytes()
    with pytest.raises(RegisterBusyError):
        collect(ws)
    assert lock.read_bytes() == before


def test_lock_of_another_host_is_never_stolen(ws):
    lock = _lock_path(ws)
    _write_lock(lock, _dead_pid(), host="another-pc")  # cannot tell whether it still runs there
    before = lock.read_bytes()
    with pytest.raises(RegisterBusyError) as e:
        collect(ws)
    assert "another-pc" in str(e.value) and str(lock) in str(e.value)
    assert lock.read_bytes() == before


def test_two_runs_clearing_the_same_stale_lock_do_not_both_get_it(tmp_path):
    """The race the .break guard closes: run A clears a stale lock and takes the lock; run B,
    which had read the same stale owner, must not remove A's fresh lock."""
    path = tmp_path / ".register.lock"
    _write_lock(path, _dead_pid())
    a, b = RegisterLock(path), RegisterLock(path)
    looks, b_looks = [], b.is_stale

    def a_acts_right_after_b_looks():
        looks.append(b_looks())
        if len(looks) == 1:
            a.acquire()  # …A clears the stale lock and takes it
        return looks[-1]

    b.is_stale = a_acts_right_after_b_looks
    with pytest.raises(RegisterBusyError):
        b.acquire()  # B's late clearing finds a live owner and leaves it
    assert looks[0] is True  # B had looked and seen the stale lock…
    assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()  # A's lock, untouched
    del b.is_stale
    a.release()
    b.acquire()
    b.release()


def test_the_command_line_shows_a_notice_while_the_bar_is_drawn(ws):
    """More files than the bar threshold: the stale-lock notice is printed, not dropped."""
    _write_lock(_lock_path(ws), _dead_pid())
    for n in range(BAR_FROM + 1):
        (ws.inbox / f"メモ{n}.txt").write_text("調査票ではありません", encoding="utf-8")
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "collect"])
    assert result.exit_code == 1, result.output  # the notes are not templates
    assert "確認中" in result.output  # the bar (its label only, as the output is not a terminal)
    assert "ロックが残っていたため解除しました" in result.output
