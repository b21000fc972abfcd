"""Benchmark: `collect` on N filled returned workbooks against the naive openpyxl loop a Python
user writes (default mode, every cell of every sheet) and the bare floor (unzip and inflate
every member), with worker processes started by fork (Linux) and spawn (what Windows does; below
collect.judge.PARALLEL_FROM["spawn"] files collect judges in its own process, as it does there),
on a register without history and one with 10 reported years, ~18,000 past submissions and
their verdict log.

    python benchmarks/bench_collect.py                  # N = 200 and 2,000, both registers
    python benchmarks/bench_collect.py --n 200 --history 0 --profile

The register holds ≤ 200 departments with fields (the shipped ones replicated: 人事課 →
人事課_007); beyond 200 files departments send again (later files superseding earlier ones),
so only the number of files grows with N. Returns are templates built from the register as if
every department had typed its results and values (benchmarks/synthetic.py).

Every measurement is a fresh child process, the readers interleaved (collect-fork,
collect-spawn, openpyxl, inflate, then again with --repeat); time is that of the reading alone,
memory the peak of the child's whole process tree (the child and its workers, sampled every
50 ms from /proc) twice: the sum of resident sizes (RSS; a forked worker's pages shared with its
parent counted in both) and of proportional sizes (PSS; shared pages split, what the tree holds). The naive openpyxl loop takes ~0.1 s per file: it reads the
first --naive-files files (default 40) and its per-file time is extrapolated to N, said so.

Targets (issue 16): at N = 2,000 ≥ 400 files/s, ≤ 5× the inflate floor, ≥ 40× the naive
openpyxl loop; with the 10-year register at most 1.1× slower and ≤ 150 MB for the tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import (  # noqa: E402
    YEAR,
    add_history,
    collect_register,
    machine,
    run_measured,
    self_peak,
    typed_register,
    write_verdict_log,
)

MAX_DEPARTMENTS = 200  # the register of the benchmark: 200 departments with fields
ISSUED = dt.datetime(YEAR + 1, 4, 1, 9, 0, 0)
_FILLED = None  # the typed register, sent once per worker process (not once per workbook)


def _init_worker(filled) -> None:
    global _FILLED
    _FILLED = filled


def _build(args):
    from plan_xl.workbooks.templates import TemplateOptions, build_template

    department, key, path, issued = args
    build_template(_FILLED, department, TemplateOptions(YEAR, issued=issued), key, Path(path))


def prepare(root: Path, n: int, history: int, submissions: bool = True) -> Path:
    """A working folder with a register of ≤ 200 departments with fields (and `history` past
    reported years, their submissions and verdict log, or without `submissions` their progress
    and actuals only) and n filled returned files."""
    from plan_xl.collect.ledger import log_path
    from plan_xl.register.store import save_register
    from plan_xl.workbooks.identity import load_or_create_key
    from plan_xl.workspace import Workspace

    per_copy = len(collect_register(1).field_owners())
    reg = collect_register(-(-min(n, MAX_DEPARTMENTS) // per_copy))
    if history:
        reg = add_history(reg, history, YEAR - 1, resubmissions=8)
        if not submissions:
            reg.submissions = []
    field_owners = reg.field_owners()
    owners = [d.name for d in reg.departments if d.name in field_owners][:n]
    ws = Workspace(root)
    root.mkdir(parents=True)
    save_register(reg, ws.register_path, ws.backups)
    if reg.submissions:
        write_verdict_log(log_path(ws), reg)
    key = load_or_create_key(ws.key_path)
    ws.inbox.mkdir(parents=True)
    # beyond MAX_DEPARTMENTS files, departments send again (issued later: a different file that
    # supersedes the earlier one), so the register stays the same size while N grows
    jobs = [(d, key, str(ws.inbox / f"{YEAR}年度_進捗状況調査票_{d}_{k // len(owners) + 1}回目.xlsx"),
             ISSUED + dt.timedelta(minutes=k // len(owners)))
            for k, d in ((k, owners[k % len(owners)]) for k in range(n))]
    with multiprocessing.Pool(initializer=_init_worker, initargs=(typed_register(reg),)) as pool:
        pool.map(_build, jobs, chunksize=8)
    return root


# --- the readers, each measured in its own process ----------------------------------------
def run_collect(root: Path, limit: int) -> dict:
    from plan_xl.collect import collect
    from plan_xl.workspace import Workspace

    result = collect(Workspace(root))
    verdicts: dict[str, int] = {}
    for r in result.results:
        verdicts[str(r.verdict)] = verdicts.get(str(r.verdict), 0) + 1
    return {"files": len(result.results), "verdicts": verdicts}


def run_openpyxl(root: Path, limit: int) -> dict:
    """What a Python user writes first: load_workbook in default mode, every cell of every sheet."""
    import openpyxl

    cells = 0
    files = sorted((root / "workbooks" / "inbox").glob("*.xlsx"))[:limit]
    for f in files:
        wb = openpyxl.load_workbook(f, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += sum(v is not None for v in row)
        wb.close()
    return {"files": len(files), "cells": cells}


def run_inflate(root: Path, limit: int) -> dict:
    """The floor: open each zip and inflate every member, nothing parsed."""
    size = 0
    files = sorted((root / "workbooks" / "inbox").glob("*.xlsx"))
    for f in files:
        with zipfile.ZipFile(f) as z:
            for info in z.infolist():
                size += len(z.read(info))
    return {"files": len(files), "bytes": size}


RUNNERS = {"collect-fork": run_collect, "collect-spawn": run_collect, "openpyxl": run_openpyxl,
           "inflate": run_inflate}


def child(kind: str, root: str, limit: int, profile: bool) -> None:
    start = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out = prof.runcall(RUNNERS[kind], Path(root), limit)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    else:
        out = RUNNERS[kind](Path(root), limit)
    out["seconds"] = time.perf_counter() - start
    print(json.dumps({**out, **self_peak()}, ensure_ascii=False))


def measure(kind: str, root: Path, tmp: Path, limit: int, profile: bool) -> dict:
    argv = [__file__, "--child", kind, "", str(limit)] + (["--profile"] if profile else [])
    if not kind.startswith("collect"):
        argv[3] = str(root)
        return run_measured(argv)
    work = tmp / kind  # collect archives and writes; keep the inputs pristine
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root, work)
    argv[3] = str(work)
    try:
        return run_measured(argv, {"PLAN_XL_START_METHOD": kind.split("-", 1)[1]})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(n: int, history: int, results: dict[str, list[dict]], rows: list[dict]) -> dict:
    """Print one size's rows: each reader's median; its ratio to the floor and the naive loop is
    the median of the ratios within each round (readers of one round ran a minute apart at most),
    not of medians taken from different rounds, so the machine's drift between rounds drops out."""
    med = {k: statistics.median(r["seconds"] / r["files"] for r in v) for k, v in results.items()}
    label = f"{history}-year history" if history else "no history"
    naive = med["openpyxl"]
    for kind, runs in results.items():
        per_file = med[kind]
        measured = runs[0]["files"]
        note = f" (measured on {measured} files, extrapolated)" if measured < n else ""
        verdicts = ", ".join(f"{v} {c:,}" for v, c in runs[-1].get("verdicts", {}).items())
        rss, pss = max(r["tree_peak_mb"] for r in runs), max(r["tree_pss_mb"] for r in runs)
        row = {"n": n, "history": history, "reader": kind, "seconds": per_file * n, "files_per_s": 1 / per_file,
               "tree_peak_mb": rss, "tree_pss_mb": pss, "measured_files": measured}
        if kind.startswith("collect"):
            row["floor_ratio"] = paired(runs, results["inflate"])
            row["naive_ratio"] = naive / per_file
        rows.append(row)
        print(f"| {n:,} | {label} | {kind} | {per_file * n:.2f}{note} | {1 / per_file:.0f} | {rss:.0f} | {pss:.0f} |"
              f" {verdicts} |", flush=True)
    for row in rows[-len(results):]:
        if "floor_ratio" in row:
            print(f"|  |  | {row['reader']}: {row['floor_ratio']:.1f}× the inflate floor, "
                  f"{row['naive_ratio']:.0f}× faster than naive openpyxl |  |  |  |  |  |", flush=True)
    return med


def paired(runs: list[dict], against: list[dict]) -> float:
    """The median over the rounds of a run's time per file against the other's in the same round."""
    return statistics.median((a["seconds"] / a["files"]) / (b["seconds"] / b["files"])
                             for a, b in zip(runs, against, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="number of returned workbooks (repeatable)")
    parser.add_argument("--history", type=int, action="append", help="past reported years (0: none; repeatable)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="interleaved runs (median); the naive openpyxl loop runs once")
    parser.add_argument("--naive-files", type=int, default=40, help="files the naive openpyxl loop reads")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each reader")
    parser.add_argument("--json", help="also write every row to this JSON file (for run_all.py)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.profile)
        return
    print(f"# bench_collect — {machine()}")
    print("| N | register | reader | seconds | files/s | tree RSS MB | tree PSS MB | verdicts |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    histories = args.history if args.history is not None else [0, 10]
    for n in args.n or [200, 2000]:
        tmp = Path(tempfile.mkdtemp(prefix=f"bench{n}-"))
        try:
            roots = {h: prepare(tmp / f"work{h}", n, h) for h in histories}
            # rounds: every reader on every register, so that a register's figures and the ratio
            # between the registers come from runs minutes apart, not from separate phases
            results = {h: {k: [] for k in RUNNERS} for h in histories}
            for k in range(args.repeat):
                for h in histories:
                    for kind in RUNNERS:
                        if kind == "openpyxl" and k:  # tens of seconds a run, and tens of times slower
                            continue
                        results[h][kind].append(measure(kind, roots[h], tmp, args.naive_files, args.profile))
            for h in histories:
                report(n, h, results[h], rows)
            if 0 in results and 10 in results:
                for kind in ("collect-fork", "collect-spawn"):
                    slower = paired(results[10][kind], results[0][kind])
                    rows.append({"n": n, "history": 10, "reader": f"{kind} vs no history", "slower": slower})
                    print(f"|  | 10 years vs none | {kind} {slower:.2f}× slower with history (median of the rounds)"
                          " |  |  |  |  |  |", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
