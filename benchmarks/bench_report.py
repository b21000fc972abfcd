"""Benchmark `build_report` against two bare-xlsxwriter peers, at 20 / 200 / 1,000 / 5,000 plans
with 1 and 10 reported years: "cells only" writes the same cell values (no formats, merges, row
heights or charts); "same workbook" replays every xlsxwriter call plan-xl made (replay.py), the
floor for writing the same file with xlsxwriter cell by cell (plan-xl's own run keeps its sheets'
cells compactly instead, workbooks/cells.py; a recorded run makes xlsxwriter's calls).

    python benchmarks/bench_report.py          # 20 / 200 / 1,000 / 5,000 plans × 1 year, 20 / 200 / 1,000 × 10
    python benchmarks/bench_report.py --plans 1000 --years 10

Each measurement runs in a fresh child process; the calls are recorded once per size in a child
of their own, not timed, then every size is measured in rounds (--repeat): report, cells only
and replay of each size in turn (sizes under a second three times), the median kept. Time is the
write alone (the register, or the recorded calls, loaded first, not timed), memory the peak RSS
of the child's process tree (sampled from /proc, never below its own high-water mark), register
included, as the CLI would hold it; "writing MB" is what the write adds to plan-xl's memory (its
peak minus its size before the write). The replay's memory is not printed: it holds the compiled
call log, and keeps every part and cell until the close (replay.py). 5,000 plans × 10 years is
left out of the default sizes (minutes and > 1 GB); ask for it with --plans 5000 --years 10.
Targets (issue 16): 1,000 plans × 10 years ≤ 1.5× bare and ≤ 150 MB; time per plan flat within
15 % from 20 to 5,000 plans.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from replay import differences, load, recording, replay, save  # noqa: E402
from synthetic import (  # noqa: E402
    YEAR,
    add_history,
    machine,
    read_cells,
    report_register,
    run_measured,
    self_peak,
    write_bare,
)


def register(plans: int, years: int):
    return add_history(report_register(plans), years, YEAR)


def child_report(plans: int, years: int, path: str) -> dict:
    from plan_xl.workbooks.report import build_report

    reg = register(plans, years)
    before = rss_mb()
    start = time.perf_counter()
    build_report(reg, YEAR, Path(path))
    return {"seconds": time.perf_counter() - start, "plans": len(reg.plans), "write_mb": self_peak()["peak_mb"] - before}


def rss_mb() -> float:
    """The resident memory now: what the writing adds is the peak minus this."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def child_record(plans: int, years: int, path: str, log: str) -> dict:
    from plan_xl.workbooks.report import build_report

    reg = register(plans, years)
    with recording() as rec:
        build_report(reg, YEAR, Path(path))
    return {"calls": save(rec, Path(log))}


def child_replay(log: str, out: str) -> dict:
    program = load(Path(log))  # compiled before the timing
    Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    replay(program, Path(out))
    return {"seconds": time.perf_counter() - start}


def child_bare(path: str, out: str) -> dict:
    cells = read_cells(Path(path))
    start = time.perf_counter()
    write_bare(cells, Path(out))
    return {"seconds": time.perf_counter() - start, "cells": sum(len(v) for v in cells.values())}


CHILDREN = {"report": lambda a: child_report(int(a[0]), int(a[1]), a[2]), "bare": lambda a: child_bare(*a),
            "record": lambda a: child_record(int(a[0]), int(a[1]), a[2], a[3]), "replay": lambda a: child_replay(*a)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, action="append", help="plan items (repeatable)")
    parser.add_argument("--years", type=int, action="append", help="reported years (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs per size (median)")
    parser.add_argument("--json", help="also write every row to this JSON file (for run_all.py)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        print(json.dumps({**CHILDREN[kind](rest), **self_peak()}))
        return
    print(f"# bench_report — {machine()}")
    print("| plans | years | build_report s | ms/plan | peak MB | cells only s | peak MB | vs cells only "
          "| same workbook s | vs same workbook | writing MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    sizes = [(plans, years) for years in args.years or [1, 10]
             for plans in args.plans or ([20, 200, 1000, 5000] if years == 1 else [20, 200, 1000])]
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(sizes, args.repeat, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


def measure(sizes: list[tuple[int, int]], repeat: int, tmp: Path) -> list[dict]:
    """Every size's calls recorded once, then rounds: in each, every size's report, cells only
    and replay, one after the other. A size's figures are medians over the rounds, and the sizes
    of one round ran minutes apart at most: the machine's speed drifts by more than the 15 % the
    flatness target allows between runs further apart (RESULTS.md)."""
    runs = {}
    for plans, years in sizes:
        where = tmp / f"{plans}_{years}"
        where.mkdir()
        calls = run_measured([__file__, "--child", "record", str(plans), str(years), str(where / "recorded.xlsx"),
                              str(where / "calls.pickle")])["calls"]
        runs[plans, years] = {"where": where, "calls": calls, "report": [], "bare": [], "same": []}
    for _ in range(repeat):
        for plans, years in sizes:
            r, where = runs[plans, years], runs[plans, years]["where"]
            for _ in range(SMALL_RUNS if plans <= SMALL else 1):
                _run_writers(plans, years, r, where)
    return [summary(plans, years, runs[plans, years]) for plans, years in sizes]


# Sizes whose write takes well under a second (a scheduler hiccup moves it by tens of percent)
# are run SMALL_RUNS times in each round; their median is over all those runs.
SMALL, SMALL_RUNS = 200, 3


def _run_writers(plans: int, years: int, r: dict, where: Path) -> None:
    r["report"].append(run_measured([__file__, "--child", "report", str(plans), str(years),
                                     str(where / "report.xlsx")]))
    r["bare"].append(run_measured([__file__, "--child", "bare", str(where / "report.xlsx"),
                                   str(where / "bare.xlsx")]))
    r["same"].append(run_measured([__file__, "--child", "replay", str(where / "calls.pickle"),
                                   str(where / "replay")]))


def summary(plans: int, years: int, runs: dict) -> dict:
    """One size's row, once the replayed workbook is known to be the same as plan-xl's."""
    differ = differences(runs["where"] / "recorded.xlsx", runs["where"] / "replay" / "0.xlsx")
    if differ:  # the peer must be the same workbook, or its figure means nothing
        raise SystemExit(f"the replayed workbook differs from plan-xl's in {differ}")
    report, bare = runs["report"], runs["bare"]
    r, b, s = (statistics.median(x["seconds"] for x in runs[k]) for k in ("report", "bare", "same"))
    row = {"plans": plans, "years": years, "seconds": r, "ms_per_plan": 1000 * r / plans,
           "peak_mb": max(x["tree_peak_mb"] for x in report), "bare_s": b,
           "bare_peak_mb": max(x["tree_peak_mb"] for x in bare), "ratio": r / b,
           "replay_s": s, "replay_ratio": r / s, "calls": runs["calls"],
           "write_mb": max(x["write_mb"] for x in report), "rounds": [x["seconds"] for x in report]}
    print(f"| {plans:,} | {years} | {r:.2f} | {1000 * r / plans:.2f} | {row['peak_mb']:.0f} | "
          f"{b:.2f} | {row['bare_peak_mb']:.0f} | {r / b:.2f}× | {s:.2f} | {r / s:.2f}× | "
          f"{row['write_mb']:.0f} |", flush=True)
    return row


if __name__ == "__main__":
    main()
