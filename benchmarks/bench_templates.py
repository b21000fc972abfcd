"""Template generation speed: a synthetic register of 200 departments x 10 plans each.

Run: python benchmarks/bench_templates.py [--departments 200] [--plans 10]
Prints seconds, files per second and the average file size.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import tempfile
import time
from pathlib import Path

from plan_xl.model import Department, Register
from plan_xl.source import load_source
from plan_xl.templates import TemplateOptions, generate_templates


def synthetic_register(departments: int, plans_each: int) -> Register:
    """Replicate the shipped plans: department k owns plans k*plans_each … (renumbered)."""
    base = load_source()
    reg = copy.deepcopy(base)
    reg.plans, reg.progress, reg.actuals, reg.departments = [], [], [], []
    n = 0
    for d in range(departments):
        name = f"第{d + 1:03d}課"
        reg.departments.append(Department(name, email=f"d{d + 1:03d}@city.example.jp"))
        for _ in range(plans_each):
            src = base.plans[n % len(base.plans)]
            plan = copy.deepcopy(src)
            plan.id = f"1-{src.initiative}-{n + 1}"
            plan.departments = [name]
            for s in plan.sections:
                s.plan_id, s.departments = plan.id, []
                for i in s.indicators:
                    i.plan_id, i.id = plan.id, f"{plan.id}.{i.id.split('.')[1]}"
            reg.plans.append(plan)
            for pr in base.progress:
                if pr.plan_id == src.id:
                    reg.progress.append(dataclasses.replace(pr, plan_id=plan.id))
            n += 1
    return reg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--departments", type=int, default=200)
    ap.add_argument("--plans", type=int, default=10)
    args = ap.parse_args()
    reg = synthetic_register(args.departments, args.plans)
    opts = TemplateOptions(2023, dt.date(2024, 5, 31), issued=dt.datetime(2024, 4, 1))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate_templates(reg, opts, b"k" * 32, Path(tmp))
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in paths) / len(paths)
    print(f"templates: {len(paths)} files ({args.departments} departments x {args.plans} plans)")
    print(f"time: {seconds:.1f} s, {len(paths) / seconds:.1f} files/s, average size {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
