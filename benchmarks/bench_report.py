"""Benchmark `build_report` against bare xlsxwriter writing the same cells (no formats, merges,
row heights or charts), at 20 / 200 / 1,000 / 5,000 plans with 1 and 10 reported years.

    python benchmarks/bench_report.py          # 20 / 200 / 1,000 / 5,000 plans × 1 year, 20 / 200 / 1,000 × 10
    python benchmarks/bench_report.py --plans 1000 --years 10

Each measurement runs in a fresh child process, the two writers interleaved (report, bare,
report, bare … with --repeat); time is the write alone (the register is built first, not
timed), memory the peak RSS of the child's process tree (sampled from /proc, never below its
own high-water mark), register included, as the CLI would hold it. 5,000 plans × 10 years is
left out of the default sizes (minutes and > 1 GB); ask for it with --plans 5000 --years 10. Targets (issue 16): 1,000 plans × 10 years ≤ 1.5× bare and ≤ 150 MB; time per
plan flat within 15 % from 20 to 5,000 plans.
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
    start = time.perf_counter()
    build_report(reg, YEAR, Path(path))
    return {"seconds": time.perf_counter() - start, "plans": len(reg.plans)}


def child_bare(path: str, out: str) -> dict:
    cells = read_cells(Path(path))
    start = time.perf_counter()
    write_bare(cells, Path(out))
    return {"seconds": time.perf_counter() - start, "cells": sum(len(v) for v in cells.values())}


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
        out = child_report(int(rest[0]), int(rest[1]), rest[2]) if kind == "report" else child_bare(*rest)
        print(json.dumps({**out, **self_peak()}))
        return
    print(f"# bench_report — {machine()}")
    print("| plans | years | build_report s | ms/plan | peak MB | bare xlsxwriter s | peak MB | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for years in args.years or [1, 10]:
            for plans in args.plans or ([20, 200, 1000, 5000] if years == 1 else [20, 200, 1000]):
                report, bare = [], []
                path = str(Path(tmp) / f"report{plans}_{years}.xlsx")
                for _ in range(args.repeat):
                    report.append(run_measured([__file__, "--child", "report", str(plans), str(years), path]))
                    bare.append(run_measured([__file__, "--child", "bare", path, str(Path(tmp) / "bare.xlsx")]))
                r = statistics.median(x["seconds"] for x in report)
                b = statistics.median(x["seconds"] for x in bare)
                rows.append({"plans": plans, "years": years, "seconds": r, "ms_per_plan": 1000 * r / plans,
                             "peak_mb": max(x["tree_peak_mb"] for x in report), "bare_s": b,
                             "bare_peak_mb": max(x["tree_peak_mb"] for x in bare), "ratio": r / b})
                print(f"| {plans:,} | {years} | {r:.2f} | {1000 * r / plans:.2f} | {rows[-1]['peak_mb']:.0f} | "
                      f"{b:.2f} | {rows[-1]['bare_peak_mb']:.0f} | {r / b:.2f}× |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
