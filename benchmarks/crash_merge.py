"""Kill `plan-xl collect` at random moments of a merge and check the register each time (issue 8).

    python benchmarks/crash_merge.py --kills 50 --seed 8

A working folder gets its templates and filled returns in the inbox. One full run in a copy of it
gives the register "after"; the register as it is now is "before". Then, --kills times: restore
"before", start `plan-xl collect` as a subprocess, SIGKILL it after a random delay (spread over
the run, weighted toward the merge and save at its end) and check that the register opens
(register.load_register) and equals "before" or "after" (Register objects compared; only the
run's time stamp meta["updated"] differs between runs). The lock and the temporary files a
killed run leaves are not cleaned up by hand: the next run must cope (stale lock cleared).
At the end the backups must obey register.BACKUPS_KEPT and all open. Prints kills, states seen
and corrupt count; exit code 1 if any register was corrupt or the backup rule was broken.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hardening_support import fill, make_setup  # noqa: E402

from plan_xl.register.store import BACKUPS_KEPT, load_register  # noqa: E402

DEPARTMENTS = ["行政マネジメント課", "人事課", "DX戦略課", "市民課", "中央公民館", "健康長寿課", "河川課", "政策開発課"]


def normalised(path: Path):
    reg = load_register(path)
    reg.meta.pop("updated", None)
    return reg


def run_collect(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "plan_xl", "--dir", str(root), "-q", "collect"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prepare(root: Path) -> None:
    setup = make_setup(root, DEPARTMENTS)
    setup.ws.inbox.mkdir(parents=True, exist_ok=True)
    for d in DEPARTMENTS:
        fill(setup.templates[d], out=setup.ws.inbox / f"{d}.xlsx")


def crash_loop(root: Path, kills: int, seed: int, log=print) -> dict:
    """The experiment; returns the figures (also used by tests/test_crash.py)."""
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    if os.name == "nt":
        raise SystemExit("SIGKILL: POSIX only")
    with tempfile.TemporaryDirectory(prefix="plan-xl-crash-") as tmp:
        root = Path(tmp) / "作業フォルダ"
        prepare(root)
        r = crash_loop(root, args.kills, args.seed)
    print(f"kills: {r['kills']} (of which the run had already finished: {r['finished_before_kill']})")
    print(f"register states seen: {r['states']}")
    print(f"corrupt: {r['corrupt']}")
    print(f"runs stopped by a leftover lock: {r['busy']}")
    print(f"backups: {r['backups']} kept (rule: newest {r['backups_kept']}), partial {r['partial_backups']}, "
          f"unreadable {r['bad_backups']}")
    ok = (r["corrupt"] == 0 and r["busy"] == 0 and r["backups"] <= r["backups_kept"]
          and r["partial_backups"] == 0 and r["bad_backups"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
