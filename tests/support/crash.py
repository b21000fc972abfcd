"""Kill `plan-xl collect` at random moments of a merge and look at the register each time: the
experiment behind tests/register/test_store_crash.py and its long run, benchmarks/crash_merge.py
(whose docstring describes it).
"""

from __future__ import annotations

import collections
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from plan_xl.register.store import BACKUPS_KEPT, load_register

from .returned import YEAR, fill, issue

DEPARTMENTS = ["行政マネジメント課", "人事課", "DX戦略課", "市民課", "中央公民館", "健康長寿課", "河川課", "政策開発課"]


def normalised(path: Path):
    reg = load_register(path)
    reg.meta.pop("updated", None)
    return reg


def run_collect(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "plan_xl", "--dir", str(root), "-q", "collect"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prepare(root: Path) -> None:
    """A working folder with the templates of DEPARTMENTS, each returned filled in its inbox."""
    ws = issue(root, DEPARTMENTS)
    for d in DEPARTMENTS:
        fill(ws.template_path(YEAR, d), out=ws.inbox / f"{d}.xlsx")


def crash_loop(root: Path, kills: int, seed: int, log=print) -> dict:
    """The experiment; returns the figures (also used by tests/register/test_store_crash.py)."""
    ws_register = root / "workbooks" / "register.xlsx"
    before_bytes = ws_register.read_bytes()
    before = normalised(ws_register)

    scratch = root.parent / "after"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(root, scratch)
    start = time.perf_counter()
    proc = run_collect(scratch)
    _, err = proc.communicate()
    duration = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"the reference run failed ({proc.returncode}): {err.decode()}")
    after = normalised(scratch / "workbooks" / "register.xlsx")
    assert after != before, "the reference run did not change the register"
    log(f"reference run: {duration:.2f} s, register version {before.register_version} → {after.register_version}")

    rng = random.Random(seed)
    states: collections.Counter = collections.Counter()
    corrupt, finished, busy, leftovers = 0, 0, 0, 0
    for n in range(kills):
        ws_register.write_bytes(before_bytes)  # written in place: a plain restore, not a save
        delay = rng.uniform(0.25, 0.95) * duration
        proc = run_collect(root)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            finished += 1
        _, err = proc.communicate()
        if "ほかの取りまとめ処理が実行中" in err.decode("utf-8", "replace"):
            busy += 1  # the previous killed run's lock was not recognised as stale
        try:
            state = normalised(ws_register)
        except Exception as e:  # noqa: BLE001 - counted, that is the point
            corrupt += 1
            log(f"kill {n + 1}: register does not open: {e}")
            continue
        if state == before:
            states["before"] += 1
        elif state == after:
            states["after"] += 1
        else:
            corrupt += 1
            states["other"] += 1
            log(f"kill {n + 1}: register is neither before nor after")
        leftovers += len(list(ws_register.parent.glob(".register.*.tmp.xlsx")))

    backups = sorted((root / "workbooks" / "backup").glob("register-*.xlsx"))
    partial = list((root / "workbooks" / "backup").glob(".*.tmp.xlsx"))
    bad_backups = 0
    for b in backups:
        try:
            load_register(b)
        except Exception:  # noqa: BLE001
            bad_backups += 1
    return {"kills": kills, "states": dict(states), "corrupt": corrupt, "finished_before_kill": finished,
            "busy": busy, "leftover_tmp_seen": leftovers, "backups": len(backups),
            "backups_kept": BACKUPS_KEPT, "partial_backups": len(partial), "bad_backups": bad_backups,
            "reference_seconds": duration}
