"""Run every benchmark issue 16 asks for and rewrite benchmarks/RESULTS.md: the machine, the date,
each script's table and the figures against the issue's targets, in one go.

    python benchmarks/run_all.py            # the full sizes (≈ 25 minutes on a quiet 2-core machine)
    python benchmarks/run_all.py --quick    # small sizes, a minute or two: to see that it all works
    python benchmarks/run_all.py --quick --out /tmp/RESULTS.md

Each script runs in its own process, one after the other (never two at once: they measure time
and memory), and leaves its rows in a JSON file this script reads back. Figures from a machine
that is busy with other work are not comparable: the load average before and after is printed in
RESULTS.md so a reader can tell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synthetic import machine  # noqa: E402

# Each script's invocations (their rows are put together). Every script measures in rounds, each
# round every size and reader once, and keeps the median of the rounds: the machine's speed
# drifts between runs minutes apart by more than the 15 % the flatness targets allow, so the
# sizes compared must be measured side by side, not one phase after another. Collect takes the
# ratios within each round; its naive openpyxl loop runs once.
FULL = {
    "bench_collect.py": [["--n", "200", "--n", "2000", "--naive-files", "40", "--repeat", "5"]],
    "bench_report.py": [["--repeat", "3"]],  # 20 / 200 / 1,000 / 5,000 plans × 1 year, 20 / 200 / 1,000 × 10
    "bench_templates.py": [["--repeat", "3"]],  # 16 / 150 / 200 / 500 departments × 1 year, 16 / 200 × 10
    "bench_history.py": [["--n", "2000", "--repeat", "5"]],
}
QUICK = {
    "bench_collect.py": [["--n", "100", "--naive-files", "5"]],
    "bench_report.py": [["--plans", "20", "--plans", "100", "--years", "1", "--years", "10"]],
    "bench_templates.py": [["--departments", "8", "--departments", "24", "--years", "1"]],
    "bench_history.py": [["--n", "100", "--repeat", "1"]],
}


def run(script: str, invocations: list[list[str]], tmp: Path) -> tuple[str, dict]:
    """Run `script` once per argument list; its tables (the header kept once) and rows together."""
    lines, rows = [], []
    for args in invocations:
        out = tmp / f"{script}.json"
        print(f"$ python benchmarks/{script} {' '.join(args)}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(out)],
                              stdout=subprocess.PIPE, text=True, check=True)
        print(proc.stdout, f"({time.perf_counter() - start:.0f} s)", flush=True)
        table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
        lines += table if not lines else table[2:]
        rows += json.loads(out.read_text(encoding="utf-8"))["rows"]
    return "\n".join(lines), {"rows": rows}


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def collect_targets(rows: list[dict], history: list[dict]) -> list[tuple[str, str, str]]:
    """The ratios are bench_collect's: medians of the ratios within each round of readers; below
    the 10-year one, bench_history's split of it (no target of its own)."""
    n = max(r["n"] for r in rows)
    at = {(r["history"], r["reader"]): r for r in rows if r["n"] == n}
    fork, spawn = at[0, "collect-fork"], at[0, "collect-spawn"]
    out = [(f"collect N = {n:,} ≥ 400 files/s", f"{fork['files_per_s']:.0f} files/s (fork), "
            f"{spawn['files_per_s']:.0f} (spawn)", _verdict(min(fork["files_per_s"], spawn["files_per_s"]) >= 400)),
           ("collect ≤ 5× the inflate floor", f"{fork['floor_ratio']:.1f}× (fork), {spawn['floor_ratio']:.1f}× (spawn)",
            _verdict(max(fork["floor_ratio"], spawn["floor_ratio"]) <= 5)),
           ("collect ≥ 40× the naive openpyxl loop", f"{fork['naive_ratio']:.0f}× (fork), "
            f"{spawn['naive_ratio']:.0f}× (spawn)", _verdict(min(fork["naive_ratio"], spawn["naive_ratio"]) >= 40))]
    slower = {k: at.get((10, f"{k} vs no history"), {}).get("slower") for k in ("collect-fork", "collect-spawn")}
    hist = {k: at.get((10, k)) for k in ("collect-fork", "collect-spawn")}
    if all(slower.values()) and all(hist.values()):
        out.append(("10-year register ≤ 1.1× slower", f"{slower['collect-fork']:.2f}× (fork), "
                    f"{slower['collect-spawn']:.2f}× (spawn)", _verdict(max(slower.values()) <= 1.1)))
        out.append(("… of which (bench_history, fork)", "; ".join(f"{r['register']}: {r['slower']:.2f}×"
                                                                 for r in history[1:]), "for the reader"))
        out.append(("10-year register ≤ 150 MB tree", " ".join(
            f"{h['tree_pss_mb']:.0f} MB PSS ({h['tree_peak_mb']:.0f} MB RSS sum) {k[8:]};" for k, h in hist.items()),
            _verdict(max(h["tree_pss_mb"] for h in hist.values()) <= 150)))
    return out


def _flat(rows: list[dict], size: str) -> tuple[str, bool]:
    """How much the time per unit varies over the sizes measured (1 year): max/min − 1; the same
    for the bare-xlsxwriter peer writing the same cells, for scale (it has no target)."""
    ones = sorted((r for r in rows if r["years"] == 1), key=lambda r: r[size])

    def spread(values: list[float]) -> tuple[str, float]:
        return " → ".join(f"{v:.1f}" for v in values), max(values) / min(values) - 1

    (ours, ours_spread), (peer, peer_spread) = (spread([1000 * r[key] / r[size] for r in ones])
                                                for key in ("seconds", "bare_s"))
    return (f"{ours} ms ({ones[0][size]:,} → {ones[-1][size]:,}; spread {ours_spread:.0%}; bare xlsxwriter "
            f"writing the same cells: {peer} ms, spread {peer_spread:.0%})", ours_spread <= 0.15)


def _both(row: dict, limit: float, also: bool = True) -> str:
    """The verdict against each peer: bare xlsxwriter writing the same cell values only, and
    replaying every call plan-xl made (the same workbook: formats, merges, heights, charts)."""
    cells, same = row["ratio"] <= limit and also, row["replay_ratio"] <= limit and also
    if cells == same:
        return _verdict(cells)
    return f"{_verdict(same)} against the same workbook, {_verdict(cells)} against cells only"


def writer_targets(report: list[dict], templates: list[dict]) -> list[tuple[str, str, str]]:
    out = []
    big = max((r for r in report if r["years"] == 10), key=lambda r: r["plans"], default=None)
    if big:
        out.append((f"report {big['plans']:,} × 10 years ≤ 1.5× bare, ≤ 150 MB",
                    f"{big['ratio']:.2f}× cells only, {big['replay_ratio']:.2f}× same workbook; {big['peak_mb']:.0f} MB",
                    _both(big, 1.5, big["peak_mb"] <= 150)))
    shown, ok = _flat(report, "plans")
    out.append(("time per plan flat ±15 %", shown, _verdict(ok)))
    mid = min(templates, key=lambda r: (r["years"] != 1, abs(r["departments"] - 200)))
    out.append((f"templates {mid['departments']} × {mid['plans']} ≤ 1.25× bare",
                f"{mid['ratio']:.2f}× cells only, {mid['replay_ratio']:.2f}× same workbook", _both(mid, 1.25)))
    shown, ok = _flat(templates, "departments")
    out.append(("time per department flat ±15 %", shown, _verdict(ok)))
    return out


def results_md(tables: dict[str, str], data: dict[str, dict], quick: bool, load: tuple[str, str]) -> str:
    targets = collect_targets(data["bench_collect.py"]["rows"], data["bench_history.py"]["rows"]) + writer_targets(
        data["bench_report.py"]["rows"], data["bench_templates.py"]["rows"])
    lines = ["# Benchmark results", "",
             f"Written by `benchmarks/run_all.py{' --quick' if quick else ''}` (issue 16): {machine()}.",
             f"Load average before: {load[0]}; after: {load[1]}.",
             "Interleaved runs, the median kept: collect five rounds of every reader on both registers (its",
             "ratios are medians of the ratios within a round; the naive openpyxl loop once), report and",
             "templates three rounds of every size and writer (the sizes compared side by side; the sizes that",
             "take well under a second, 20 and 200 plans and 16 departments, three times in each round);",
             "bench_history five rounds of its three registers.",
             "Times are the work alone in a fresh child",
             "process, memory the peak",
             "of the child's process tree sampled from /proc (collect: RSS summed over the processes, and PSS,",
             "which splits the pages forked workers share). The naive openpyxl loop reads the first files only",
             "and is extrapolated to N (marked)." + (" Quick sizes: not the issue's; for a trial only." if quick else ""),
             "", "## Against the issue's targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets]
    for script, title in (("bench_collect.py", "collect"), ("bench_history.py", "what of the history costs (collect, fork)"),
                          ("bench_report.py", "report"), ("bench_templates.py", "templates (10 plans per department)")):
        body = [line for line in tables[script].splitlines() if not line.startswith("# ")]
        runs = "`, `".join(f"{script} {' '.join(args)}" for args in (QUICK if quick else FULL)[script])
        lines += ["", f"## {title} (`{runs}`)", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a trial run in a minute or two")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write the results")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    tables, data = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for script, script_args in sizes.items():
            tables[script], data[script] = run(script, script_args, Path(tmp))
    after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    Path(args.out).write_text(results_md(tables, data, args.quick, (before, after)), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
