"""Benchmark `generate_templates` against two bare single-process xlsxwriter peers, at 16 / 150 /
200 / 500 departments × 10 plans, with 1 and 10 reported years: "cells only" writes the same
cell values (no formats, merges, validation, protection or names); "same workbook" replays every
xlsxwriter call plan-xl made (replay.py), the floor for writing the same files in one process.

    python benchmarks/bench_templates.py      # 16 / 150 / 200 / 500 departments × 1 year, 16 / 200 × 10
    python benchmarks/bench_templates.py --departments 200 --years 1

Each measurement runs in a fresh child process; the calls are recorded once per size (in one
process, not timed), then every size is measured in rounds (--repeat): templates, cells only and
replay of each size in turn (sizes under a second three times), the median kept. Time is the
writing alone (register, or the recorded calls, loaded first, not timed), memory the peak RSS of
the child's whole process tree (generate_templates may use worker processes). plan-xl's
templates must be the same files as the recorded ones (whose plan sheets are drawn with
xlsxwriter's own calls, replay.py) and the replayed ones, member for member. Targets (issue 16):
200 × 10 ≤ 1.25× bare single-process xlsxwriter; time per department flat within 15 % from 16 to
500 departments.
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
from replay import differences, load, recording, replay, save  # noqa: E402
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


def templates_setup(departments: int, plans: int, years: int):
    """The register and the options of one size."""
    from plan_xl.workbooks.templates import TemplateOptions

    reg = add_history(templates_register(departments, plans), years, YEAR - 1)
    reg.meta["plan_end"] = str(max(YEAR, int(reg.meta["plan_end"])))
    return reg, TemplateOptions(YEAR, dt.date(YEAR + 1, 5, 31), issued=dt.datetime(YEAR + 1, 4, 1))


def child_templates(departments: int, plans: int, years: int, out: str) -> dict:
    from plan_xl.workbooks.templates import generate_templates

    reg, opts = templates_setup(departments, plans, years)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    paths = generate_templates(reg, opts, b"k" * 32, Path(out))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "files": len(paths), "kib": sum(p.stat().st_size for p in paths) / len(paths) / 1024}


def child_record(departments: int, plans: int, years: int, out: str, log: str) -> dict:
    """The calls of every template, written one after the other in this process."""
    from plan_xl.workbooks import templates

    reg, opts = templates_setup(departments, plans, years)
    with recording() as rec:
        paths = templates.generate_templates(reg, opts, b"k" * 32, Path(out))
    return {"calls": save(rec, Path(log)), "paths": [str(p) for p in paths]}


def child_replay(log: str, out: str) -> dict:
    program = load(Path(log))  # compiled before the timing
    shutil.rmtree(out, ignore_errors=True)
    Path(out).mkdir(parents=True)
    start = time.perf_counter()
    paths = replay(program, Path(out))
    return {"seconds": time.perf_counter() - start, "files": len(paths)}


def child_bare(folder: str, out: str) -> dict:
    books = [read_cells(path) for path in sorted(Path(folder).glob("*.xlsx"))]
    Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for k, cells in enumerate(books):
        write_bare(cells, Path(out) / f"{k}.xlsx")
    return {"seconds": time.perf_counter() - start, "files": len(books)}


CHILDREN = {"templates": lambda a: child_templates(int(a[0]), int(a[1]), int(a[2]), a[3]),
            "record": lambda a: child_record(int(a[0]), int(a[1]), int(a[2]), a[3], a[4]),
            "replay": lambda a: child_replay(*a), "bare": lambda a: child_bare(*a)}


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
        print(json.dumps({**CHILDREN[kind](rest), **self_peak()}))
        return
    print(f"# bench_templates — {machine()}")
    print("| departments × plans | years | generate_templates s | ms/department | tree peak MB "
          "| cells only s | vs cells only | same workbook s | vs same workbook |")
    print("|---|---|---|---|---|---|---|---|---|")
    sizes = [(deps, args.plans, years) for years in args.years or [1, 10]
             for deps in args.departments or ([16, 150, 200, 500] if years == 1 else [16, 200])]
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(sizes, args.repeat, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


def measure(sizes: list[tuple[int, int, int]], repeat: int, tmp: Path) -> list[dict]:
    """Every size's calls recorded once, then rounds: in each, every size's templates, cells
    only and replay, one after the other. A size's figures are medians over the rounds, and the
    sizes of one round ran minutes apart at most: the machine's speed drifts by more than the
    15 % the flatness target allows between runs further apart (RESULTS.md)."""
    runs = {}
    for size in sizes:
        where = tmp / "_".join(map(str, size))
        args = [str(x) for x in size]
        record = run_measured([__file__, "--child", "record", *args, str(where / "recorded"), str(where / "calls.pickle")])
        runs[size] = {"where": where, "args": args, "record": record, "gen": [], "bare": [], "same": []}
    for _ in range(repeat):
        for size in sizes:
            for _ in range(SMALL_RUNS if size[0] <= SMALL else 1):
                _run_writers(runs[size], runs[size]["where"])
    return [summary(size, runs[size]) for size in sizes]


# Sizes whose run takes well under a second (a scheduler hiccup moves it by tens of percent)
# are run SMALL_RUNS times in each round; their median is over all those runs.
SMALL, SMALL_RUNS = 16, 3


def _run_writers(r: dict, where: Path) -> None:
    r["gen"].append(run_measured([__file__, "--child", "templates", *r["args"], str(where / "templates")]))
    shutil.rmtree(where / "bare", ignore_errors=True)
    r["bare"].append(run_measured([__file__, "--child", "bare", str(where / "templates"), str(where / "bare")]))
    r["same"].append(run_measured([__file__, "--child", "replay", str(where / "calls.pickle"), str(where / "replay")]))


def summary(size: tuple[int, int, int], runs: dict) -> dict:
    """One size's row, once the files written are known to be the same as the recorded ones."""
    deps, plans, years = size
    where = runs["where"]
    written = [Path(p) for p in runs["record"]["paths"]]  # in the order they were written
    replayed = sorted((where / "replay").glob("*.xlsx"), key=lambda p: int(p.stem))
    differ = [d for p, q in zip(written, replayed, strict=True) for d in differences(p, q)]
    if differ:  # the peer must be the same workbooks, or its figure means nothing
        raise SystemExit(f"the replayed templates differ from plan-xl's in {differ[:5]}")
    own = [d for p in written for d in differences(p, where / "templates" / p.name)]
    if own:  # plan-xl's own run keeps its plan sheets' cells compactly (cells.py): the same files
        raise SystemExit(f"plan-xl's templates differ from the recorded ones (xlsxwriter's calls) in {own[:5]}")
    g, b, s = (statistics.median(x["seconds"] for x in runs[k]) for k in ("gen", "bare", "same"))
    row = {"departments": deps, "plans": plans, "years": years, "seconds": g,
           "ms_per_department": 1000 * g / deps, "peak_mb": max(x["tree_peak_mb"] for x in runs["gen"]),
           "pss_mb": max(x["tree_pss_mb"] for x in runs["gen"]), "bare_s": b, "ratio": g / b,
           "replay_s": s, "replay_ratio": g / s, "calls": runs["record"]["calls"],
           "rounds": [x["seconds"] for x in runs["gen"]]}
    print(f"| {deps} × {plans} | {years} | {g:.2f} | {1000 * g / deps:.1f} | {row['peak_mb']:.0f} | "
          f"{b:.2f} | {g / b:.2f}× | {s:.2f} | {g / s:.2f}× |", flush=True)
    return row


if __name__ == "__main__":
    main()
