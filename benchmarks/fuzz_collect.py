"""The long fuzz run of collect's read and validation (issue 8; the short one is tests/collect/test_fuzz.py).

    python benchmarks/fuzz_collect.py --cases 10000 --seed 8

Builds a working folder with templates, fills some with openpyxl (sensible and hostile values,
hyperlinks), then judges random mutations of them (1–3 stacked: bytes, zip entries, XML, cell
values) with collect.judge in child processes, in batches: a case that aborts or hangs a child is
counted as a failure and the next case gets a fresh child. Prints cases run, failures, verdicts
and the slowest case; failing cases are saved under --keep for reproduction. Exit code 1 if any
case failed.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.isolated import Judge  # noqa: E402
from support.mutations import HOSTILE_TEXT, MUTATIONS, mutate  # noqa: E402
from support.returned import YEAR, fill, identity, issue, sensible_values  # noqa: E402

DEPARTMENTS = ["市民課", "人事課", "中央公民館", "行政マネジメント課", "DX戦略課"]


def corpus(root: Path) -> list[tuple[str, bytes]]:
    ws = issue(root, DEPARTMENTS)
    templates = {d: ws.template_path(YEAR, d) for d in DEPARTMENTS}
    books = [(f"filled {d}", fill(templates[d])) for d in DEPARTMENTS]
    for d in ("市民課", "人事課"):
        ident = identity(templates[d])
        fields = list(sensible_values(ident))
        values = {f: HOSTILE_TEXT[n % len(HOSTILE_TEXT)] for n, f in enumerate(fields)}
        links = {fields[0]: "file:///C:/Windows/System32/calc.exe", fields[1]: "\\\\server\\share\\a.xlsx"}
        books.append((f"hostile {d}", fill(templates[d], values, links=links)))
    books.append(("untouched 中央公民館", templates["中央公民館"].read_bytes()))
    return books


def make_case(books, seed: int) -> tuple[str, bytes]:
    rng = random.Random(seed)
    name, data = rng.choice(books)
    kinds = [rng.choice(MUTATIONS) for _ in range(rng.choice([1, 1, 2, 3]))]
    text = rng.choice([None, rng.choice(HOSTILE_TEXT),
                       "".join(chr(rng.randrange(0, 0x3100)) for _ in range(rng.randint(0, 80)))])
    for kind in kinds:
        try:
            data = mutate(data, kind, rng, text)
        except Exception:  # too broken for this mutation already
            data = mutate(data, "flip_bytes", rng)
    return f"{name} ← {'+'.join(kinds)} (seed {seed})", data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500, help="cases per child process")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as hung")
    ap.add_argument("--keep", type=Path, default=Path("fuzz-failures"))
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="plan-xl-fuzz-")
    root = Path(tmp.name) / "作業フォルダ"
    books = corpus(root)
    print(f"corpus: {len(books)} returned workbooks; {args.cases} cases, seed {args.seed}, "
          f"{args.workers} workers, {args.batch} cases per child", flush=True)

    lock = threading.Lock()
    verdicts: collections.Counter = collections.Counter()
    failures: list[tuple[str, str]] = []
    slowest = (0.0, "")
    done = 0
    start = time.perf_counter()

    def run_batch(first: int) -> None:
        nonlocal slowest, done
        with Judge(root, timeout=args.timeout) as judge:  # a fresh child per batch
            for i in range(first, min(first + args.batch, args.cases)):
                seed = args.seed * 1_000_000 + i
                label, data = make_case(books, seed)
                outcome = judge("returned.xlsx", data)
                with lock:
                    done += 1
                    if outcome.failure:
                        failures.append((label, outcome.failure))
                        args.keep.mkdir(parents=True, exist_ok=True)
                        (args.keep / f"case-{seed}.xlsx").write_bytes(data)
                    else:
                        verdicts[outcome.verdict] += 1
                    if outcome.seconds > slowest[0]:
                        slowest = (outcome.seconds, label)
                    if done % 1000 == 0:
                        print(f"  {done} cases, {len(failures)} failures, "
                              f"{time.perf_counter() - start:.0f} s", flush=True)

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(run_batch, range(0, args.cases, args.batch)))

    elapsed = time.perf_counter() - start
    print(f"cases run: {done}")
    print(f"failures: {len(failures)} (exceptions, aborts, hangs or missing verdicts)")
    for label, failure in failures[:20]:
        print(f"  {label}: {failure.splitlines()[-1] if failure else ''}")
    print(f"slowest case: {slowest[0]:.3f} s  {slowest[1]}")
    print(f"elapsed: {elapsed:.0f} s ({done / elapsed:.0f} cases/s)")
    print("verdicts: " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common()))
    tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
