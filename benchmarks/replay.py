"""The "same workbook" peer of bench_report and bench_templates: record every call plan-xl makes
on the xlsxwriter objects it gets from `workbooks.xlsx.new_workbook` (the workbook, its
worksheets, formats and charts), then replay exactly those calls with bare xlsxwriter into a
fresh workbook with the same options. The replay is the floor for writing the same file: the
cells, formats, merges, heights and charts plan-xl asks for, with none of plan-xl's own work
(and without the two costs plan-xl's own writing avoids too: xlsxwriter's quadratic sheet-name
check and the garbage collector's walks).

    python benchmarks/replay.py --check   # record and replay a small report and templates,
                                          # and compare every zip member of the two files

Recording wraps each object in a `_Proxy` that logs `(object, method, arguments, result)` and
calls through, so the recorded run writes plan-xl's real file. Arguments that are recorded
objects (a format, a chart) are logged as references (`Ref`), also inside dicts and lists (a
conditional format's "format"). Anything the recorder cannot replay exactly fails loudly
(`RecordError`): reading an attribute that is not a method, setting one, calling a private
method, an argument or a result of a type it does not know.

plan-xl keeps the cells of its plan sheets compactly (workbooks/cells.py) and writes them as
XML without xlsxwriter's calls per cell; in a recorded workbook (not an xlsxwriter Workbook to
`layout.draw_plan`) it makes xlsxwriter's own calls, which write the same bytes: the replay is
bare xlsxwriter writing the same workbook, cell by cell.

The replay is a floor for time, not for memory: it keeps xlsxwriter's in-memory parts and every
sheet's cells until the close (plan-xl's report deflates its parts and lets each plan sheet go
once drawn: `xlsx.finish_sheet`, which leaves a recorded run's proxies alone, so the recorded
file, compared with the replayed one byte for byte, holds every sheet to the end as well).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import pickle
import zipfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import xlsxwriter

PLAIN = (str, int, float, bool, type(None), dt.datetime, dt.date, dt.time, dt.timedelta, Decimal)
NEW = "<new workbook>"  # the method name of a call that creates a workbook


class RecordError(RuntimeError):
    """A call the recorder cannot replay exactly."""


class Ref:
    """A recorded xlsxwriter object, by its number in the log."""

    __slots__ = ("id",)

    def __init__(self, id_: int):
        self.id = id_

    def __getstate__(self):
        return self.id

    def __setstate__(self, state):
        self.id = state


class Recorder:
    """The log of one recorded run: `calls` is a list of (object id, method, args, kwargs,
    result id or None)."""

    def __init__(self, workbook_class: type):
        self.workbook_class = workbook_class  # plan-xl's own, which the recorded run writes with
        self.calls: list[tuple] = []
        self.proxies: dict[int, _Proxy] = {}  # id(real object) -> its proxy (keeps it alive)

    def wrap(self, real) -> _Proxy:
        proxy = self.proxies.get(id(real))
        if proxy is None:
            proxy = self.proxies[id(real)] = _Proxy(real, len(self.proxies), self)
        return proxy

    def new_workbook(self, filename, options: dict | None = None, **packaging) -> _Proxy:
        """Stands in for `xlsx._Workbook` while recording: the real one, wrapped. Its xlsxwriter
        options are replayed; plan-xl's packaging (`compact`: parts deflated as written) is not:
        the replay keeps xlsxwriter's own in-memory parts, its fastest way."""
        if not isinstance(filename, str):
            raise RecordError(f"a workbook written to {type(filename).__name__}, not a file: not recordable")
        proxy = self.wrap(self.workbook_class(filename, options, **packaging))
        self.calls.append((None, NEW, (), dict(options or {}), object.__getattribute__(proxy, "_id")))
        return proxy

    def encode(self, value):
        """`value` as logged: recorded objects as references, also inside lists and dicts."""
        if isinstance(value, PLAIN):
            return value
        if type(value) is _Proxy:
            return Ref(object.__getattribute__(value, "_id"))
        if isinstance(value, (list, tuple)):
            return type(value)(self.encode(v) for v in value)
        if isinstance(value, dict):
            return {k: self.encode(v) for k, v in value.items()}
        raise RecordError(f"cannot record an argument of type {type(value).__name__}: {value!r:.80}")

    def result(self, value):
        """A method's result: an xlsxwriter object is wrapped (and numbered), plain values pass."""
        if isinstance(value, PLAIN):
            return value, None
        if type(value).__module__.startswith("xlsxwriter."):
            proxy = self.wrap(value)
            return proxy, object.__getattribute__(proxy, "_id")
        raise RecordError(f"cannot record a result of type {type(value).__name__}")


class _Proxy:
    __slots__ = ("_real", "_id", "_rec")

    def __init__(self, real, id_: int, rec: Recorder):
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_id", id_)
        object.__setattr__(self, "_rec", rec)

    def __getattr__(self, name: str):
        real = object.__getattribute__(self, "_real")
        attr = getattr(real, name)
        if name.startswith("_") or not callable(attr):
            raise RecordError(f"{type(real).__name__}.{name} read directly: not recordable")
        rec, own = object.__getattribute__(self, "_rec"), object.__getattribute__(self, "_id")

        def call(*args, **kwargs):
            entry = [own, name, rec.encode(args), rec.encode(kwargs), None]
            rec.calls.append(entry)  # before the call: objects it creates come after it
            value, entry[4] = rec.result(attr(*_unwrap(args), **_unwrap(kwargs)))
            return value

        return call

    def __setattr__(self, name, value):
        raise RecordError(f"setting {name} on an xlsxwriter object: not recordable")


def _unwrap(value):
    if type(value) is _Proxy:
        return object.__getattribute__(value, "_real")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


@contextmanager
def recording():
    """Inside the block, every workbook `new_workbook` starts is recorded; yields the Recorder.
    Everything is written in this process (no worker processes, whose workbooks it would miss)."""
    from plan_xl.workbooks import xlsx
    from plan_xl.workers import PARALLEL_FROM_ENV

    real, parallel_from = xlsx._Workbook, os.environ.get(PARALLEL_FROM_ENV)
    rec = Recorder(real)
    xlsx._Workbook = rec.new_workbook
    os.environ[PARALLEL_FROM_ENV] = str(10**9)
    try:
        yield rec
    finally:
        xlsx._Workbook = real
        if parallel_from is None:
            del os.environ[PARALLEL_FROM_ENV]
        else:
            os.environ[PARALLEL_FROM_ENV] = parallel_from


def save(rec: Recorder, path: Path) -> int:
    calls = [tuple(c) for c in rec.calls]
    path.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
    return len(calls)


def load(path: Path) -> Program:
    """The log, compiled, and frozen out of the garbage collector's sight: the objects of the
    log are not part of the writing, and every full collection would walk them while it is timed."""
    program = Program(pickle.loads(path.read_bytes()))
    gc.collect()
    gc.freeze()
    return program


class _Workbook(xlsxwriter.Workbook):
    """Bare xlsxwriter without its check of a new sheet's name against every earlier sheet
    (quadratic in the sheets: ~1 s at 1,000, most of a minute at 5,000). The recorded run checked
    every name already, and plan-xl's own workbook does not pay for that scan either."""

    def _check_sheetname(self, sheetname, is_chartsheet=False):
        return sheetname


class Program:
    """The log as Python code, compiled before the timing starts: one line per call, as if the
    calls were written out in a script (`O[12].write_string(3, 0, C[7], O[5])`), so the replay
    pays no interpreting of the log (which cost ~3 µs a call, a tenth of the replay). Compiled in
    chunks of CHUNK calls: a single function of a million lines would take gigabytes to compile."""

    CHUNK = 5000

    def __init__(self, calls: list[tuple]):
        self.constants: list = []
        self.books = sum(1 for c in calls if c[1] == NEW)
        self.chunks = []
        for start in range(0, len(calls), self.CHUNK):
            lines = [self._line(*c) for c in calls[start:start + self.CHUNK]]
            source = "def chunk(O, C, W, P, collect):\n " + "\n ".join(lines) + "\n"
            space: dict = {}
            exec(compile(source, f"<replay {start}>", "exec"), space)  # noqa: S102 - our own log
            self.chunks.append(space["chunk"])

    def _line(self, target, name, args, kwargs, result) -> str:
        if name == NEW:  # the previous workbook is written: freed (it is cyclic), as plan-xl's are
            return f"O.clear(); collect(); O[{result}] = W(P.pop(0), {self._expr(kwargs)})"
        if not name.isidentifier():
            raise RecordError(f"cannot replay a method named {name!r}")
        parts = [self._expr(a) for a in args] + [f"{k}={self._expr(v)}" for k, v in kwargs.items()]
        call = f"O[{target}].{name}({', '.join(parts)})"
        return f"O[{result}] = {call}" if result is not None else call

    def _expr(self, value) -> str:
        if type(value) is Ref:
            return f"O[{value.id}]"
        if value is None or type(value) in (bool, int):
            return repr(value)
        if type(value) is list:
            return "[" + ", ".join(self._expr(v) for v in value) + "]"
        if type(value) is tuple:
            return "(" + "".join(self._expr(v) + ", " for v in value) + ")"
        if type(value) is dict:
            return "{" + ", ".join(f"{self._expr(k)}: {self._expr(v)}" for k, v in value.items()) + "}"
        self.constants.append(value)  # text, floats, dates: as they were, not as source text
        return f"C[{len(self.constants) - 1}]"


def replay(program: Program | list[tuple], out_dir: Path) -> list[Path]:
    """Make the recorded calls with bare xlsxwriter, the garbage collector off as plan-xl has it
    while it writes: workbook k is written to out_dir/k.xlsx."""
    if not isinstance(program, Program):
        program = Program(program)
    paths = [out_dir / f"{k}.xlsx" for k in range(program.books)]
    pending, objects = [str(p) for p in paths], {}
    gc.disable()
    try:
        for chunk in program.chunks:
            chunk(objects, program.constants, _Workbook, pending, gc.collect)
    finally:
        gc.enable()
    return paths


def differences(a: Path, b: Path) -> list[str]:
    """The zip members whose bytes differ between two .xlsx files (or that only one has)."""
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        return [n for n in names if n not in za.namelist() or n not in zb.namelist()
                or za.read(n) != zb.read(n)]


def _check() -> None:
    """Record a small report and a few templates, replay them, and compare the files."""
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_report import register
    from bench_templates import templates_setup
    from synthetic import YEAR

    from plan_xl.workbooks import templates
    from plan_xl.workbooks.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with recording() as rec:
            build_report(register(20, 10), YEAR, tmp / "report.xlsx")
        (tmp / "replay").mkdir()
        [replayed] = replay(rec.calls, tmp / "replay")
        print(f"report 20 plans × 10 years: {len(rec.calls):,} calls; differing members:",
              differences(tmp / "report.xlsx", replayed) or "none")
        reg, opts = templates_setup(8, 10, 10)
        with recording() as rec:
            written = templates.generate_templates(reg, opts, b"k" * 32, tmp / "templates")
        (tmp / "replay2").mkdir()
        replayed = replay(rec.calls, tmp / "replay2")
        diff = [f"{p.name}: {d}" for p, q in zip(written, replayed, strict=True) for d in differences(p, q)]
        print(f"templates 8 departments × 10 plans × 10 years: {len(written)} files, {len(rec.calls):,} calls; "
              "differing members:", diff or "none")


if __name__ == "__main__":
    _check()
