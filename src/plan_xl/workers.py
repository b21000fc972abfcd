"""Worker processes for the steps that grow with the number of files (collect's judging, the
templates): how they are started, and whether a batch is big enough to pay for starting them.

A forked worker (Linux) is ready at once; a spawned one (Windows, macOS) first starts an
interpreter, imports plan-xl and receives what it works on: two are ready ~0.3 s after the
start on the benchmark machine (more on Windows, where starting a process costs more).
Each step measures from how many jobs its workers pay, per start method.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

# For tests and benchmarks: PLAN_XL_START_METHOD=spawn starts workers as Windows does, and
# PLAN_XL_PARALLEL_FROM=1 uses workers even for one job (so a test can run its step in them).
START_METHOD_ENV, PARALLEL_FROM_ENV = "PLAN_XL_START_METHOD", "PLAN_XL_PARALLEL_FROM"


def start_method(requested: str | None = None) -> str:
    """The start method workers get: the one asked for, else the environment's, else the platform's."""
    return requested or os.environ.get(START_METHOD_ENV) or multiprocessing.get_start_method()


def worth_starting(jobs: int, method: str, parallel_from: dict[str, int]) -> bool:
    """Whether `jobs` jobs pay for worker processes started by `method`; `parallel_from`: the
    measured number of jobs from which they do, per start method ("spawn" for any other)."""
    threshold = os.environ.get(PARALLEL_FROM_ENV) or parallel_from.get(method, parallel_from["spawn"])
    return (os.cpu_count() or 1) >= 2 and jobs >= int(threshold)


def pool(count: int, method: str, initializer: Callable, *initargs) -> ProcessPoolExecutor:
    """`count` workers started by `method`, each running `initializer(*initargs)` before its
    first job. A forked worker inherits the arguments. A spawned one would receive them while
    this process starts it, and unpickling them imports most of plan-xl (~0.1 s): this process
    would wait for each worker in turn (10-year register, two workers: both ready 0.32 s after
    the start, against 0.23 s). So they travel as bytes, unpickled by each worker once it runs."""
    mp = multiprocessing.get_context(method)
    if method == "fork":
        return ProcessPoolExecutor(count, mp_context=mp, initializer=initializer, initargs=initargs)
    blob = pickle.dumps((initializer, initargs), protocol=pickle.HIGHEST_PROTOCOL)
    return ProcessPoolExecutor(count, mp_context=mp, initializer=_run_pickled, initargs=(blob,))


def _run_pickled(blob: bytes) -> None:
    initializer, initargs = pickle.loads(blob)
    initializer(*initargs)
