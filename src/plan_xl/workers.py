"""Worker processes for the steps that grow with the number of files (collect's judging, the
templates): how they are started, and whether a batch is big enough to pay for starting them.

A forked worker (Linux) is ready at once; a spawned one (Windows, macOS) first starts an
interpreter, imports plan-xl and receives what it works on, ~0.65 s on the benchmark machine.
Each step measures from how many jobs its workers pay, per start method.
"""

from __future__ import annotations

import multiprocessing
import os

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
