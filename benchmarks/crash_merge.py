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
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.crash import crash_loop, prepare  # noqa: E402


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
