"""What of a long history slows `collect`: the years of progress, or the past submissions.

The same N returns are collected into a register without history, one with 10 reported years of
progress and actuals only, and one that also holds those years' ~18,000 submissions and their
verdict log (bench_collect's 10-year register).

    python benchmarks/bench_history.py              # N = 2,000, five rounds
    python benchmarks/bench_history.py --n 200 --repeat 3

Issue 16's target is "at most 1.1× slower with the 10-year register". This script splits that
ratio: the reported years themselves (longer progress tables, and returns that show ten years)
against the records of past submissions, which every run loads, indexes and saves again. Each
run is a fresh child process (bench_collect's), the registers interleaved in rounds; a ratio is
the median of the ratios within a round.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_collect import measure, paired, prepare  # noqa: E402
from synthetic import machine  # noqa: E402

REGISTERS = {  # label -> (past reported years, their submissions kept)
    "no history": (0, True),
    "10 years of progress and actuals only": (10, False),
    "10 years with their submissions and verdict log": (10, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of returned workbooks")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--start-method", default="fork", choices=["fork", "spawn"])
    parser.add_argument("--json", help="also write every row to this JSON file (for run_all.py)")
    args = parser.parse_args()
    kind = f"collect-{args.start_method}"
    print(f"# bench_history — {machine()}, N = {args.n:,}, {kind}, {args.repeat} rounds")
    tmp = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        roots = {label: prepare(tmp / f"work{k}", args.n, years, kept)
                 for k, (label, (years, kept)) in enumerate(REGISTERS.items())}
        runs: dict[str, list[dict]] = {label: [] for label in REGISTERS}
        for _ in range(args.repeat):
            for label, root in roots.items():
                runs[label].append(measure(kind, root, tmp, 0, False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base, rows = runs["no history"], []
    print("| register | seconds (median) | vs no history |")
    print("|---|---|---|")
    for label, r in runs.items():
        rows.append({"register": label, "seconds": statistics.median(x["seconds"] for x in r),
                     "slower": paired(r, base)})
        print(f"| {label} | {rows[-1]['seconds']:.2f} | {rows[-1]['slower']:.2f}× |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
