"""Benchmark: `collect` on N returned workbooks, with worker processes started by fork (Linux)
and by spawn (what Windows does), optionally against a plain openpyxl loop and bare
unzip-and-parse of the same files.

    python benchmarks/bench_collect.py              # N = 200 and 2,000, fork and spawn
    python benchmarks/bench_collect.py --n 200 --profile
    python benchmarks/bench_collect.py --n 200 --compare   # also openpyxl and iterparse

Target: collect ≥ 150 files/s at N = 2,000 on a 2-core machine (fork and spawn), register held
at 200 departments. Peak memory is that of the whole process tree (collect and its workers,
sampled from outside every 20 ms), beside the largest single process.

A synthetic register replicates the shipped departments and plans (人事課 → 人事課_007, plan
1-1-2 → 1-1-702 …) up to 200 departments with fields; beyond 200 files the departments send
again (later, different files that supersede the earlier ones), so the register is the same
size at N = 200 and N = 2,000 and only the number of files grows. The returned
workbooks are templates built (plan_xl.templates.build_template) from a copy of that register
in which every department has already "typed" its FY2023 results and values, which is what a
filled template looks like to a reader. Each measurement runs in a fresh child process, so
peak memory (ru_maxrss) is that of one reader alone; collect judges in worker processes, whose
own peak is printed beside it, and the tree's is the sum over all its processes at its peak.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

YEAR = 2023
MAX_DEPARTMENTS = 200  # the register of the benchmark: 200 departments with fields
ISSUED = dt.datetime(2024, 4, 1, 9, 0, 0)


# --- the synthetic register and the returned workbooks ------------------------------------
def synthetic_register(copies: int):
    from plan_xl.model import Actual, Progress
    from plan_xl.source import load_source

    base = load_source()
    reg = copy.deepcopy(base)
    reg.departments, reg.plans, reg.progress, reg.actuals = [], [], [], []
    for j in range(copies):
        rename = {d.name: f"{d.name}_{j:03d}" for d in base.departments}
        for d in base.departments:
            nd = copy.deepcopy(d)
            nd.name, nd.aliases = rename[d.name], []
            reg.departments.append(nd)
        ids = {}
        for p in base.plans:
            g, i, n = p.id.split("-")
            ids[p.id] = f"{g}-{i}-{int(n) + 100 * j}"
            np_ = copy.deepcopy(p)
            np_.id = ids[p.id]
            np_.departments = [rename.get(x, x) for x in p.departments]
            for s in np_.sections:
                s.plan_id = np_.id
                s.departments = [rename.get(x, x) for x in s.departments]
                for ind in s.indicators:
                    ind.id = np_.id + "." + ind.id.split(".")[1]
                    ind.plan_id = np_.id
            reg.plans.append(np_)
        for pr in base.progress:
            reg.progress.append(Progress(ids[pr.plan_id], pr.section, pr.year, pr.results, pr.revision))
        for a in base.actuals:
            plan_id, n = a.indicator_id.split(".")
            reg.actuals.append(Actual(f"{ids[plan_id]}.{n}", a.year, a.value))
    return reg


def typed_register(reg):
    """The register as if every department had typed its FY2023 fields."""
    from plan_xl.model import Actual, Progress

    filled = copy.deepcopy(reg)
    previous = {a.indicator_id: a for a in filled.actuals if a.year == YEAR - 1}
    for p in filled.plans:
        for section in filled.reporting_sections(p):
            filled.progress.append(Progress(p.id, section, YEAR, f"●{p.name}の{YEAR}年度の実績\n・説明会を 3 回開催した",
                                            "・引き続き計画どおり実施する。"))
        for ind in p.indicators:
            prev = previous.get(ind.id)
            value = prev.value if prev else 10.0
            filled.actuals.append(Actual(ind.id, YEAR, min(value + 1, 100.0) if ind.unit.startswith("%") else value + 1))
    return filled


_FILLED = None  # the typed register, sent once per worker process (not once per workbook)


def _init_worker(filled) -> None:
    global _FILLED
    _FILLED = filled


def _build(args):
    department, key, path, issued = args
    from plan_xl.templates import TemplateOptions, build_template

    build_template(_FILLED, department, TemplateOptions(YEAR, issued=issued), key, Path(path))


def prepare(root: Path, n: int) -> Path:
    """A working folder with a register of ≥ n departments with fields and n returned files."""
    from plan_xl.identity import load_or_create_key
    from plan_xl.register import save_register
    from plan_xl.workspace import Workspace

    one = synthetic_register(1)
    per_copy = len(one.field_owners())
    reg = synthetic_register(-(-min(n, MAX_DEPARTMENTS) // per_copy))
    field_owners = reg.field_owners()
    owners = [d.name for d in reg.departments if d.name in field_owners][:n]
    ws = Workspace(root)
    root.mkdir(parents=True)
    save_register(reg, ws.register_path, ws.backups)
    key = load_or_create_key(ws.key_path)
    ws.inbox.mkdir(parents=True)
    filled = typed_register(reg)
    # beyond MAX_DEPARTMENTS files, departments send again (issued later: a different file that
    # supersedes the earlier one), so the register stays the same size while N grows
    jobs = [(d, key, str(ws.inbox / f"{YEAR}年度_進捗状況調査票_{d}_{k // len(owners) + 1}回目.xlsx"),
             ISSUED + dt.timedelta(minutes=k // len(owners)))
            for k, d in ((k, owners[k % len(owners)]) for k in range(n))]
    with multiprocessing.Pool(initializer=_init_worker, initargs=(filled,)) as pool:
        pool.map(_build, jobs, chunksize=8)
    return root


# --- the readers, each measured in its own process ----------------------------------------
def run_collect(root: Path) -> dict:
    from plan_xl.collect import collect
    from plan_xl.workspace import Workspace

    result = collect(Workspace(root))
    verdicts: dict[str, int] = {}
    for r in result.results:
        verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
    return {"files": len(result.results), "verdicts": verdicts}


def run_openpyxl(root: Path) -> dict:
    import openpyxl

    cells = 0
    files = sorted((root / "workbooks" / "inbox").glob("*.xlsx"))
    for f in files:
        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += sum(v is not None for v in row)
        wb.close()
    return {"files": len(files), "cells": cells}


def run_iterparse(root: Path) -> dict:
    try:
        from lxml.etree import iterparse  # faster, when installed
    except ImportError:
        iterparse = ElementTree.iterparse
    cells = 0
    files = sorted((root / "workbooks" / "inbox").glob("*.xlsx"))
    for f in files:
        with zipfile.ZipFile(f) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml":
                    with z.open(name) as part:
                        for _, elem in iterparse(part):
                            if elem.tag.endswith("}v") or elem.tag.endswith("}t"):
                                cells += 1
                            elem.clear()
    return {"files": len(files), "cells": cells}


RUNNERS = {"collect-fork": run_collect, "collect-spawn": run_collect, "openpyxl": run_openpyxl,
           "iterparse": run_iterparse}


def child(kind: str, root: str, profile: bool) -> None:
    start = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out = prof.runcall(RUNNERS[kind], Path(root))
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    else:
        out = RUNNERS[kind](Path(root))
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_workers_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out, ensure_ascii=False))


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (psutil if installed, else /proc)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        total = 0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        return total
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the process ended between two samples
        return 0
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for p in tree:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(kind: str, root: Path, profile: bool = False) -> dict:
    env = dict(os.environ)
    if kind.startswith("collect-"):
        env["PLAN_XL_START_METHOD"] = kind.split("-", 1)[1]
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(root)] + (["--profile"] if profile else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode not in (0,):
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{err}")
    if profile:
        print(err)
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_mb"] = peak / 1024 / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="number of returned workbooks (repeatable)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of collect")
    parser.add_argument("--keep", action="store_true", help="keep the working folders")
    parser.add_argument("--compare", action="store_true", help="also time openpyxl and bare iterparse")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.profile)
        return
    rows = []
    for n in args.n or [200, 2000]:
        tmp = Path(tempfile.mkdtemp(prefix=f"bench{n}-"))
        t = time.perf_counter()
        root = prepare(tmp / "work", n)
        print(f"N={n}: {n} returned workbooks built in {time.perf_counter() - t:.0f} s", flush=True)
        results = {}
        kinds = ["collect-fork", "collect-spawn"] + (["openpyxl", "iterparse"] if args.compare else [])
        for kind in kinds:
            if kind.startswith("collect"):  # collect archives and writes; keep inputs pristine
                shutil.copytree(root, tmp / kind)
                results[kind] = measure(kind, tmp / kind, args.profile)
                shutil.rmtree(tmp / kind, ignore_errors=True)
            else:
                results[kind] = measure(kind, root)
            r = results[kind]
            r["files_per_s"] = r["files"] / r["seconds"]
            extra = f"  {r['verdicts']}" if "verdicts" in r else ""
            workers = f", largest worker {r['peak_workers_mb']:.0f} MB" if r["peak_workers_mb"] else ""
            print(f"  {kind:<13} {r['files']:>5} files  {r['seconds']:7.1f} s  {r['files_per_s']:7.1f} files/s  "
                  f"peak: process tree {r['tree_peak_mb']:5.0f} MB (main {r['peak_mb']:.0f} MB{workers}){extra}",
                  flush=True)
        if args.compare:
            c = results["collect-fork"]["files_per_s"]
            print(f"  collect is {c / results['openpyxl']['files_per_s']:.1f}× openpyxl (read-only) and "
                  f"{c / results['iterparse']['files_per_s']:.2f}× bare unzip + iterparse")
        rows.append((n, results))
        if not args.keep:
            shutil.rmtree(tmp)
    if len(rows) > 1:
        (n1, a), (n2, b) = rows[0], rows[-1]
        for kind in a:
            print(f"process-tree peak {kind}: {a[kind]['tree_peak_mb']:.0f} MB at N={n1}, "
                  f"{b[kind]['tree_peak_mb']:.0f} MB at N={n2} ({b[kind]['tree_peak_mb'] / a[kind]['tree_peak_mb']:.2f}×)")


if __name__ == "__main__":
    main()
