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
"""

from __future__ import annotations

import datetime as dt
import gc
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
    result id or None, refs), refs 0 without references, 1 only at the top level, 2 nested."""

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
        self.calls.append((None, NEW, (), dict(options or {}), object.__getattribute__(proxy, "_id"), 0))
        return proxy

    def encode(self, value, depth: int = 0) -> tuple[object, int]:
        """`value` as logged, and 0 / 1 / 2: no reference, one at the top level, one nested."""
        if isinstance(value, PLAIN):
            return value, 0
        if type(value) is _Proxy:
            return Ref(object.__getattribute__(value, "_id")), 1 if depth == 0 else 2
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, depth + 1) for v in value]
            return type(value)(v for v, _ in items), max((r for _, r in items), default=0)
        if isinstance(value, dict):
            items = {k: self.encode(v, depth + 1) for k, v in value.items()}
            return {k: v for k, (v, _) in items.items()}, max((r for _, r in items.values()), default=0)
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
            logged_args, r1 = rec.encode(args)
            logged_kwargs, r2 = rec.encode(kwargs)
            entry = [own, name, logged_args, logged_kwargs, None, max(r1, r2)]
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
    """Inside the block, every workbook `new_workbook` starts is recorded; yields the Recorder."""
    from plan_xl.workbooks import xlsx

    real = xlsx._Workbook
    rec = Recorder(real)
    xlsx._Workbook = rec.new_workbook
    try:
        yield rec
    finally:
        xlsx._Workbook = real


def save(rec: Recorder, path: Path) -> int:
    calls = [tuple(c) for c in rec.calls]
    path.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
    return len(calls)


def load(path: Path) -> list[tuple]:
    """The log, frozen out of the garbage collector's sight: millions of tuples that are not part
    of the writing would otherwise be walked by every full collection while it is timed."""
    calls = pickle.loads(path.read_bytes())
    gc.collect()
    gc.freeze()
    return calls


def _resolve(value, objects: dict):
    if type(value) is Ref:
        return objects[value.id]
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v, objects) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, objects) for k, v in value.items()}
    return value


class _Workbook(xlsxwriter.Workbook):
    """Bare xlsxwriter without its check of a new sheet's name against every earlier sheet
    (quadratic in the sheets: ~1 s at 1,000, most of a minute at 5,000). The recorded run checked
    every name already, and plan-xl's own workbook does not pay for that scan either."""

    def _check_sheetname(self, sheetname, is_chartsheet=False):
        return sheetname


def replay(calls: list[tuple], out_dir: Path) -> list[Path]:
    """Make the recorded calls with bare xlsxwriter, the garbage collector off as plan-xl has it
    while it writes: workbook k is written to out_dir/k.xlsx."""
    gc.disable()
    try:
        return _replay(calls, out_dir)
    finally:
        gc.enable()


def _replay(calls: list[tuple], out_dir: Path) -> list[Path]:
    objects: dict[int, object] = {}
    paths: list[Path] = []
    for target, name, args, kwargs, result, refs in calls:
        if name == NEW:
            if objects:  # the previous workbook is written: freed (it is cyclic), as plan-xl's are
                objects.clear()
                gc.collect()
            paths.append(out_dir / f"{len(paths)}.xlsx")
            objects[result] = _Workbook(str(paths[-1]), kwargs)
            continue
        if refs == 1:
            args = [objects[a.id] if type(a) is Ref else a for a in args]
            kwargs = {k: objects[v.id] if type(v) is Ref else v for k, v in kwargs.items()}
        elif refs:
            args, kwargs = _resolve(args, objects), _resolve(kwargs, objects)
        value = getattr(objects[target], name)(*args, **kwargs)
        if result is not None:
            objects[result] = value
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
        templates.PARALLEL_FROM = 10**9  # one process: the recorder sees every workbook
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
