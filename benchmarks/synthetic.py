"""Synthetic registers and helpers shared by the benchmarks (bench_collect, bench_templates,
bench_report): one place that builds them, so the three scripts measure the same data.

Every builder replicates the shipped reference register (plan_xl.register.source) under new names and
numbers; `add_history` gives any of them ten (or n) years of reported progress, actuals, past
submissions and a verdict log, which is what a register looks like late in its life.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from plan_xl.register.model import Actual, Department, Goal, Initiative, Progress, Register, Submission
from plan_xl.register.source import load_source

YEAR = 2023  # the cycle year every benchmark works on


# --- registers -----------------------------------------------------------------------------
def collect_register(copies: int) -> Register:
    """The shipped departments and plans, `copies` times (人事課 → 人事課_007, plan 1-1-2 → 1-1-702)."""
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
            reg.plans.append(_renumbered(p, ids[p.id], [rename.get(x, x) for x in p.departments], rename))
        for pr in base.progress:
            reg.progress.append(Progress(ids[pr.plan_id], pr.section, pr.year, pr.results, pr.revision))
        for a in base.actuals:
            plan_id, n = a.indicator_id.split(".")
            reg.actuals.append(Actual(f"{ids[plan_id]}.{n}", a.year, a.value))
    return reg


def _renumbered(src, plan_id: str, departments: list[str], rename: dict | None = None):
    plan = copy.deepcopy(src)
    plan.id, plan.departments = plan_id, departments
    for s in plan.sections:
        s.plan_id = plan_id
        s.departments = [rename.get(x, x) for x in s.departments] if rename is not None else []
        for ind in s.indicators:
            ind.id, ind.plan_id = f"{plan_id}.{ind.id.split('.')[1]}", plan_id
    return plan


def typed_register(reg: Register, year: int = YEAR) -> Register:
    """The register as if every department had typed its fields for `year` (a filled return)."""
    filled = copy.deepcopy(reg)
    previous = {a.indicator_id: a for a in filled.actuals if a.year == year - 1}
    for p in filled.plans:
        for section in filled.reporting_sections(p):
            filled.progress.append(Progress(p.id, section, year, f"●{p.name}の{year}年度の実績\n・説明会を 3 回開催した",
                                            "・引き続き計画どおり実施する。"))
        for ind in p.indicators:
            prev = previous.get(ind.id)
            value = prev.value if prev else 10.0
            filled.actuals.append(Actual(ind.id, year, min(value + 1, 100.0) if ind.unit.startswith("%") else value + 1))
    return filled


def report_register(n_plans: int) -> Register:
    """The shipped plans replicated under 5 goals × 4 initiatives, names and figures perturbed."""
    base = load_source()
    reg = copy.deepcopy(base)
    reg.plans, reg.progress, reg.actuals = [], [], []
    reg.goals = [Goal(g, f"重点推進目標の名称 {g}") for g in range(1, 6)]
    reg.initiatives = [Initiative(g, i, base.initiatives[i - 1].name) for g in range(1, 6) for i in range(1, 5)]
    per_initiative = -(-n_plans // 20)
    for k in range(n_plans):
        src = base.plans[k % len(base.plans)]
        g, i, n = k // (4 * per_initiative) + 1, (k // per_initiative) % 4 + 1, k % per_initiative + 1
        plan = _renumbered(src, f"{g}-{i}-{n}", list(src.departments), {})
        plan.name = f"{src.name}（{k + 1}）"
        _own_texts(plan, f"（{k + 1}）")
        for s, s0 in zip(plan.sections, src.sections, strict=True):
            s.departments = list(s0.departments)
        factor = 1 + (k % 7) / 10
        for ind, old in zip(plan.indicators, src.indicators, strict=True):
            ind.target *= factor
            reg.actuals += [Actual(ind.id, a.year, a.value * factor) for a in base.actuals if a.indicator_id == old.id]
        reg.progress += [Progress(plan.id, p.section, p.year, p.results + f"（{k + 1}）", p.revision + f"（{k + 1}）")
                         for p in base.progress if p.plan_id == src.id]
        reg.plans.append(plan)
    return reg


def _own_texts(plan, tag: str) -> None:
    """Give a replicated plan texts of its own, as every real plan has: with the 20 shipped plans'
    texts repeated, a report of 5,000 plans would measure and store each text once and reuse it
    250 times, and its time per plan would be flattered against 20 plans', whose texts all differ."""
    plan.overview, plan.vision = plan.overview + tag, plan.vision + tag
    for section in plan.sections:
        section.overview, section.vision = section.overview + tag, section.vision + tag
        section.targets_text = section.targets_text + tag if section.targets_text else ""
        for action in section.actions:
            action.name += tag
            for row in action.rows:
                for span in row:
                    span.text += tag


def templates_register(departments: int, plans_each: int) -> Register:
    """Department k owns plans k*plans_each … (the shipped plans renumbered), with actuals."""
    base = load_source()
    reg = copy.deepcopy(base)
    reg.plans, reg.progress, reg.actuals, reg.departments = [], [], [], []
    n = 0
    for d in range(departments):
        name = f"第{d + 1:03d}課"
        reg.departments.append(Department(name, email=f"d{d + 1:03d}@city.example.jp"))
        for _ in range(plans_each):
            src = base.plans[n % len(base.plans)]
            plan = _renumbered(src, f"1-{src.initiative}-{n + 1}", [name])
            reg.plans.append(plan)
            reg.progress += [dataclasses.replace(pr, plan_id=plan.id) for pr in base.progress if pr.plan_id == src.id]
            for ind, old in zip(plan.indicators, src.indicators, strict=True):
                reg.actuals += [Actual(ind.id, a.year, a.value) for a in base.actuals if a.indicator_id == old.id]
            n += 1
    return reg


def add_history(reg: Register, years: int, last: int, resubmissions: int = 0) -> Register:
    """Give `reg` `years` reported years ending with `last`: a plan period that long, progress
    and actuals copied from the reference year for each, and `resubmissions` + 1 accepted
    submissions per department and year (the earlier ones superseded)."""
    ref = max(reg.reported_years() or [last])
    first = last - years + 1
    reg.meta = {**reg.meta, "plan_start": str(first), "plan_end": str(max(last, int(reg.meta["plan_end"]))),
                "baseline_year": str(first - 1)}
    progress = [pr for pr in reg.progress if pr.year == ref]
    actuals = [a for a in reg.actuals if a.year == ref]
    reg.progress = [pr for pr in reg.progress if pr.year != ref]
    reg.actuals = [a for a in reg.actuals if a.year != ref]
    for k, y in enumerate(range(first, last + 1)):
        reg.progress += [Progress(pr.plan_id, pr.section, y, pr.results, pr.revision) for pr in progress]
        reg.actuals += [Actual(a.indicator_id, y, a.value * (1 + k / 20)) for a in actuals]
        for d in reg.departments:
            chain = []
            for r in range(resubmissions + 1):
                received = dt.datetime(y + 1, 4, 20, 9) + dt.timedelta(hours=r)
                sha = f"{y:04d}{r:04d}{abs(hash(d.name)):056x}"[:64]
                chain.append(Submission(f"tpl-{y}-{d.name}", d.name, y, f"{y}年度_進捗状況調査票_{d.name}_{r}.xlsx",
                                        sha, received.isoformat(timespec="seconds"), f"{sha[:16]}_{d.name}.xlsx"))
            for older, newer in zip(chain, chain[1:], strict=False):
                older.superseded_by = newer.sha256
            reg.submissions += chain
    return reg


def write_verdict_log(path: Path, reg: Register) -> int:
    """A verdict log line for every submission of `reg` (what ten years of collect leave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as jl:
        for s in reg.submissions:
            jl.write(json.dumps({"time": s.received, "received": s.received, "file": s.file, "sha256": s.sha256,
                                 "department": s.department, "year": s.year, "template_id": s.template_id,
                                 "verdict": "受理", "message": "", "errors": 0, "warnings": 1,
                                 "archived": s.archived_as, "container": "", "container_archived": "", "sender": "",
                                 "findings": [{"severity": "warning", "sheet": "進捗状況", "cell": "D7",
                                               "message": "前年度比で大きく増減しています", "action": ""}]},
                                ensure_ascii=False) + "\n")
    return len(reg.submissions)


# --- measuring in a child process ----------------------------------------------------------
def run_measured(argv: list[str], env: dict | None = None) -> dict:
    """Run `argv` (a Python child printing one JSON line last) and return that line with the
    wall time and the peak memory of the whole process tree (the child and its descendants),
    sampled every 50 ms from /proc: `tree_peak_mb`, the sum of resident memory (never below the
    child's own high-water mark; counts pages a forked worker shares with its parent once per
    process), and `tree_pss_mb`, the sum of proportional set sizes (each shared page split
    between the processes sharing it: what the tree really occupies)."""
    _compiled()
    os.sync()  # what earlier children (or a copy of the inputs) wrote reaches the disk now, not in this run
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})
    peak = pss = 0
    while proc.poll() is None:
        rss_now, pss_now = tree_memory(proc.pid)
        peak, pss = max(peak, rss_now), max(pss, pss_now)
        time.sleep(0.05)  # a sample costs ~1-3 ms of a core: 20 ms between them took too much
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    sys.stderr.write(err)  # what the child reports besides its figures (--profile's tables)
    result = json.loads(out.strip().splitlines()[-1])
    result.setdefault("seconds", seconds)
    result["wall_s"] = seconds
    result["tree_peak_mb"] = max(peak / 2**20, result.get("peak_mb", 0))
    result["tree_pss_mb"] = pss / 2**20
    return result


@functools.cache
def _compiled() -> None:
    """plan-xl's modules compiled to bytecode once, as pip does on installing it, before any
    child runs. In a source checkout with PYTHONDONTWRITEBYTECODE set (this sandbox sets it),
    every child would otherwise compile each module again (~0.1 s a process) while the peers,
    installed with their bytecode, would not."""
    import compileall

    import plan_xl

    compileall.compile_dir(Path(plan_xl.__file__).parent, quiet=1)


def self_peak() -> dict:
    """For the child to print: its own peak RSS. VmHWM, not ru_maxrss: Linux carries a forked
    parent's ru_maxrss over exec, so a child of a large benchmark process would report the
    parent's size."""
    status = Path("/proc/self/status").read_text()
    kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return {"peak_mb": kib / 1024 or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident and proportional bytes (RSS, PSS) of a process and all its descendants, from /proc.
    A child caught between vfork and exec (how Python starts a spawned worker) still runs in its
    parent's memory and reports the parent's figures as its own: it is not counted twice."""
    tree = _descendants(pid) | {pid}
    seen: dict[int, tuple] = {}
    for p in tree:
        try:
            rss = int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            pss = next(int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:"))
            parent = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
            seen[p] = (parent, rss, pss, Path(f"/proc/{p}/cmdline").read_bytes())
        except (OSError, IndexError, ValueError, StopIteration):
            continue
    counted = [(rss, pss) for p, (parent, rss, pss, cmd) in seen.items()
               if not (parent in seen and seen[parent][1:] == (rss, pss, cmd))]
    return sum(r for r, _ in counted), sum(q for _, q in counted)


def _descendants(pid: int) -> set[int]:
    """A process's descendants, from each thread's `children` list (a few small reads: scanning
    every /proc/*/stat each 20 ms took ~17 % of a core away from what was measured); the full
    scan where the kernel has no such list."""
    if not Path(f"/proc/{pid}/task").exists() or not any(Path(f"/proc/{pid}/task").glob("*/children")):
        return _descendants_by_scan(pid)
    found, todo = set(), [pid]
    while todo:
        for children in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = {int(c) for c in children.read_text().split()} - found
            except (OSError, ValueError):
                continue
            found |= kids
            todo += kids
    return found


def _descendants_by_scan(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree - {pid}


def machine() -> str:
    """One line naming the machine, for RESULTS.md."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu}), "
            f"Python {sys.version.split()[0]}, {sys.platform}")


def read_cells(path: Path) -> dict[str, list[tuple[int, int, object]]]:
    """Every non-empty cell of a workbook, per sheet: what the bare-xlsxwriter peer writes again."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return {name: [(r, c, v) for r, row in enumerate(wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
                   for c, v in enumerate(row) if v != ""] for name in wb.sheet_names}


def write_bare(cells: dict[str, list[tuple[int, int, object]]], path: Path) -> None:
    """The peer: plain xlsxwriter writing the same cell values, no formats, merges or layout."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    for name, values in cells.items():
        ws = book.add_worksheet(name)
        for r, c, v in values:
            if isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write(r, c, v)
    book.close()
