"""collect's judge in a child process, for the hardening tests and the long fuzz run: an abort
(SIGABRT from a reader) or a hang is counted as an Outcome instead of taking the test run down.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from plan_xl.collect import Judge as Context
from plan_xl.collect import Received
from plan_xl.collect.judge import judge
from plan_xl.workbooks.identity import load_or_create_key
from plan_xl.workspace import Workspace


@dataclass
class Outcome:
    verdict: str  # the verdict, or "" when the case failed
    message: str
    seconds: float
    failure: str = ""  # "exception: …", "abort (signal 6)", "timeout", "no verdict"


def _serve(conn, root: str) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)  # a reader's abort prints a long backtrace
    os.dup2(devnull, sys.stderr.fileno())
    ws = Workspace(Path(root))
    reg = ws.load()
    ctx = Context(reg, load_or_create_key(ws.key_path), ws.cycle_year(reg))
    while True:
        try:
            name, data = conn.recv()
        except EOFError:
            return
        start = time.perf_counter()
        try:
            r = judge(Received(name, data, Path(name), "2024-05-01T10:00:00"), ctx)
            conn.send((r.verdict, r.message, time.perf_counter() - start, ""))
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            conn.send(("", "", time.perf_counter() - start, "exception: " + traceback.format_exc(limit=6)))


class Judge:
    """collect.judge in a forked child process; a crash or hang is an Outcome, not the caller's end."""

    def __init__(self, root: Path, timeout: float = 60.0):
        self.root, self.timeout = str(root), timeout
        self.ctx = multiprocessing.get_context("fork")
        self.proc = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child, self.root), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent

    def __call__(self, name: str, data: bytes) -> Outcome:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        start = time.perf_counter()
        try:
            self.conn.send((name, data))
            if not self.conn.poll(self.timeout):
                self.close()
                return Outcome("", "", time.perf_counter() - start, "timeout")
            verdict, message, seconds, failure = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(5)
            code = self.proc.exitcode
            self.proc = None
            self.restarts += 1
            return Outcome("", "", time.perf_counter() - start, f"abort (exit code {code})")
        if not failure and not (verdict and message):
            failure = "no verdict"
        return Outcome(verdict, message, seconds, failure)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
