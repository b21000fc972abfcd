"""Benchmark `generate_templates` against bare single-process xlsxwriter writing the same cells
(no formats, merges, validation, protection or names), at 16 / 150 / 200 / 500 departments ×
10 plans, with 1 and 10 reported years.

    python benchmarks/bench_templates.py      # 16 / 150 / 200 / 500 departments × 1 year, 16 / 200 × 10
    python benchmarks/bench_templates.py --departments 200 --years 1

Each measurement runs in a fresh child process, the two interleaved; time is the writing alone
(register built first, not timed), memory the peak RSS of the child's whole process tree
(generate_templates may use worker processes). Targets (issue 16): 200 × 10 ≤ 1.25× bare
single-process xlsxwriter; time per department flat within 15 % from 16 to 500 departments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
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
    run_measured,
    self_peak,
    templates_register,
    write_bare,
)


def child_templates(departments: int, plans: int, years: int, out: str) -> dict:
    from plan_xl.workbooks.templates import TemplateOptions, generate_templates

    reg = add_history(templates_register(departments, plans), years, YEAR - 1)
    reg.meta["plan_end"] = str(max(YEAR, int(reg.meta["plan_end"])))
    opts = TemplateOptions(YEAR, dt.date(YEAR + 1, 5, 31), issued=dt.datetime(YEAR + 1, 4, 1))
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    paths = generate_templates(reg, opts, b"k" * 32, Path(out))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": len(paths), "kib": sum(p.stat().st_size for p in paths) / len(paths) / 1024}


def child_bare(folder: str, out: str) -> dict:
    books = [read_cells(path) for path in sorted(Path(folder).glob("*.xlsx"))]
    Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for k, cells in enumerate(books):
        write_bare(cells, Path(out) / f"{k}.xlsx")
    return {"seconds": time.perf_counter() - start, "files": len(books)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departments", type=int, action="append", help="departments (repeatable)")
    parser.add_argument("--plans", type=int, default=10, help="plans per department")
    parser.add_argument("--years", type=int, action="append", help="reported years (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved runs per size (median)")
    parser.add_argument("--json", help="also write every row to this JSON file (for run_all.py)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        out = (child_templates(int(rest[0]), int(rest[1]), int(rest[2]), rest[3]) if kind == "templates"
               else child_bare(*rest))
        print(json.dumps({**out, **self_peak()}))
        return
    print(f"# bench_templates — {machine()}")
    print("| departments × plans | years | generate_templates s | ms/department | tree peak MB "
          "| bare xlsxwriter s | ratio |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for years in args.years or [1, 10]:
            for deps in args.departments or ([16, 150, 200, 500] if years == 1 else [16, 200]):
                gen, bare = [], []
                folder = str(Path(tmp) / "templates")
                for _ in range(args.repeat):
                    gen.append(run_measured([__file__, "--child", "templates", str(deps), str(args.plans),
                                             str(years), folder]))
                    shutil.rmtree(Path(tmp) / "bare", ignore_errors=True)
                    bare.append(run_measured([__file__, "--child", "bare", folder, str(Path(tmp) / "bare")]))
                g = statistics.median(x["seconds"] for x in gen)
                b = statistics.median(x["seconds"] for x in bare)
                rows.append({"departments": deps, "plans": args.plans, "years": years, "seconds": g,
                             "ms_per_department": 1000 * g / deps, "peak_mb": max(x["tree_peak_mb"] for x in gen),
                             "pss_mb": max(x["tree_pss_mb"] for x in gen), "bare_s": b, "ratio": g / b})
                print(f"| {deps} × {args.plans} | {years} | {g:.2f} | {1000 * g / deps:.1f} | "
                      f"{rows[-1]['peak_mb']:.0f} | {b:.2f} | {g / b:.2f}× |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
