"""Benchmark `build_report` on a synthetic register of 1,000 plan items, beside xlsxwriter
writing the same cell values with no layout work (no formats, merges, row heights, charts).

    python benchmarks/bench_report.py [--plans 1000]

Time is wall-clock of a run without tracing; peak memory is tracemalloc's peak of a second run
(Python allocations, which include xlsxwriter's in-memory worksheets).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
import tracemalloc
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

from plan_xl.model import Actual, Goal, Initiative, Progress
from plan_xl.report import build_report
from plan_xl.source import load_source


def synthetic_register(n_plans: int):
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
        plan = copy.deepcopy(src)
        plan.id, plan.name = f"{g}-{i}-{n}", f"{src.name}（{k + 1}）"
        factor = 1 + (k % 7) / 10
        for s in plan.sections:
            s.plan_id = plan.id
            for ind in s.indicators:
                old = ind.id
                ind.id, ind.plan_id = f"{plan.id}.{old.split('.')[1]}", plan.id
                ind.target *= factor
                reg.actuals += [Actual(ind.id, a.year, a.value * factor) for a in base.actuals
                                if a.indicator_id == old]
        reg.progress += [Progress(plan.id, p.section, p.year, p.results, p.revision) for p in base.progress
                         if p.plan_id == src.id]
        reg.plans.append(plan)
    return reg


def plain_xlsxwriter(cells: dict[str, list[tuple[int, int, object]]], path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    for name, values in cells.items():
        ws = book.add_worksheet(name)
        for r, c, v in values:
            if isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write_number(r, c, v)
    book.close()


def read_cells(path: Path) -> dict[str, list[tuple[int, int, object]]]:
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v != ""]
    return out


def measure(func, *args) -> tuple[float, float]:
    start = time.perf_counter()
    func(*args)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    func(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--year", type=int, default=2022)
    args = parser.parse_args()
    reg = synthetic_register(args.plans)
    with tempfile.TemporaryDirectory() as tmp:
        report, plain = Path(tmp) / "report.xlsx", Path(tmp) / "plain.xlsx"
        t_report, m_report = measure(build_report, reg, args.year, report)
        cells = read_cells(report)
        t_plain, m_plain = measure(plain_xlsxwriter, cells, plain)
        n_cells = sum(len(v) for v in cells.values())
        print(f"synthetic register: {len(reg.plans)} plans, {sum(len(p.indicators) for p in reg.plans)} "
              f"indicators, {len(reg.progress)} progress rows; report: {len(cells)} sheets, {n_cells} cells")
        print(f"build_report          {t_report:7.2f} s  peak {m_report:7.1f} MiB  "
              f"{report.stat().st_size / 2**20:6.1f} MiB file")
        print(f"plain xlsxwriter      {t_plain:7.2f} s  peak {m_plain:7.1f} MiB  "
              f"{plain.stat().st_size / 2**20:6.1f} MiB file")
        print(f"layout overhead       {t_report / t_plain:7.2f} × time, {m_report / m_plain:.2f} × memory")


if __name__ == "__main__":
    main()
