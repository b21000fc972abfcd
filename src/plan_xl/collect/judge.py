"""Stage 4, judge: one verdict per received file, in worker processes when there are many.

A verdict never depends on another file of the batch, so files are judged independently (under
fork or spawn: everything a worker gets pickles). Besides the workbook's own validation, judge
says what is surprising about where a file came from: a sender or file name naming another
department, a year other than the one being collected, an identity this folder did not sign.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import hashlib
import os
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .. import messages as M
from .. import workers
from ..atomic import write_bytes
from ..findings import ERROR, WARNING, Finding
from ..progress import Progress
from ..register.model import Lookup, Register, name_key
from ..workbooks.identity import FORMAT_VERSION, Identity
from .gather import Received
from .read import BadFile, open_workbook
from .validate import Validation, validate
from .verdict import Verdict

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# From this many files worker processes pay (2 cores, this process against two workers: even at
# ~30 forked; spawned, ~250 on Linux, kept at 400 for Windows, where a process costs more to
# start). No reader here can take the process down (returned files are read in Python, expat and
# zlib), so judging them all in this process is as safe.
PARALLEL_FROM = {"fork": 16, "spawn": 400}
BATCH = 16  # files sent to a worker at once (fewer when there are few, so both cores stay busy)


@dataclass
class FileResult:
    item: Received
    verdict: Verdict
    message: str = ""
    department: str = ""  # whose file it is: the identity's, or the real sender's when forged
    year: int | None = None
    template_id: str = ""
    findings: list[Finding] = field(default_factory=list)
    validation: Validation | None = None
    archived: str = ""
    container_archived: str = ""  # the mail or zip it came in, as kept in the archive
    kept: bool = False  # archived already (by the worker that judged it)

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)

    @property
    def ok(self) -> bool:
        return self.verdict.ok


@dataclass
class Judge:
    """What every verdict is judged against: the register, the signing key, the year being
    collected and the templates this folder issued (template id -> department, signature)."""

    reg: Register
    key: bytes
    year: int
    issued: dict[str, tuple[str, str]] = field(default_factory=dict)
    archive: Path | None = None  # where each judged file is kept, by the process that judged it

    def __post_init__(self):
        # files accepted before (SHA-256 as bytes -> department, year, template id): the one use
        # of the register's submissions in judging, so workers get this instead of every
        # Submission; each (department, year, template) is one shared tuple (pickled once)
        origins: dict[tuple, tuple] = {}
        self.known = {}
        for s in self.reg.submissions:
            with contextlib.suppress(ValueError):  # not a digest (a hand edit): no file has it
                origin = (s.department, s.year, s.template_id)
                self.known[bytes.fromhex(s.sha256)] = origins.setdefault(origin, origin)
        self._index()

    def _index(self) -> None:
        self.lookup = Lookup(self.reg)
        # The coordinating section forwards and saves others' mails: its own address says nothing
        # about whose file it is.
        coordinator = self.reg.meta.get("coordinating_department", "")
        self.emails = {a.lower(): d.name for d in self.reg.departments if d.name != coordinator
                       for a in _addresses(d.email)}
        names = [(name_key(n), d.name) for d in self.reg.departments for n in [d.name, *d.aliases]]
        self.names = sorted(names, key=lambda x: -len(x[0]))  # 市民税課 before 市民課

    def __getstate__(self):  # workers rebuild the lookups instead of unpickling them
        state = {k: getattr(self, k) for k in ("reg", "key", "year", "issued", "archive", "known")}
        # nor do they get the register's sheets as read and its 前回保存 copy (one more copy of
        # every row, for `check` and `plan record` only), nor its submissions (`known` has what
        # the verdict 受理済み names): less to send and hold per worker, however long the history
        reg = state["reg"] = copy.copy(self.reg)
        reg.tables, reg.saved_tables, reg.submissions = {}, {}, []
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._index()

    def sender_department(self, address: str) -> str:
        return self.emails.get(address.lower(), "") if address else ""

    def named_departments(self, file_name: str) -> set[str]:
        """Departments a file name names (the longest name wins where one contains another)."""
        text, found = name_key(Path(file_name).stem), set()
        for key, department in self.names:
            if key and key in text:
                found.add(department)
                text = text.replace(key, "\0")
        return found


def _addresses(text: str) -> list[str]:
    return [a for a in text.replace("、", ",").replace(";", ",").replace(" ", ",").split(",") if "@" in a]


def judge(item: Received, ctx: Judge) -> FileResult:
    """The verdict for one file. Never raises for anything in the file."""
    if item.problem:
        return FileResult(item, *item.problem, department=_actual_sender(item, ctx))
    try:
        data = item.data
    except OSError as e:
        return FileResult(item, Verdict.UNREADABLE, M.C001(reason=e.strerror or e))
    item.digest(data)
    if known := ctx.known.get(bytes.fromhex(item.sha256)):
        return FileResult(item, Verdict.ALREADY, M.C002(), *known)
    if not item.name.lower().endswith(WORKBOOK_SUFFIXES):
        ext = Path(item.name).suffix or "（拡張子なし）"
        return FileResult(item, Verdict.WRONG_TYPE, M.C003(ext=ext),
                          _actual_sender(item, ctx))
    try:
        book = open_workbook(data)
    except BadFile as e:
        return FileResult(item, e.verdict, e.message, _actual_sender(item, ctx))
    except Exception as e:  # noqa: BLE001 - any reader failure is a verdict, not a crash
        return FileResult(item, Verdict.BROKEN, M.C004(error_type=type(e).__name__),
                          _actual_sender(item, ctx))
    if book.identity is None:
        return FileResult(item, Verdict.NOT_TEMPLATE, M.C005(),
                          _actual_sender(item, ctx))
    ident = book.identity
    try:
        v = validate(book, ctx.reg, ctx.key, item.label, ctx.lookup)
    except (KeyError, ValueError, IndexError) as e:
        return FileResult(item, Verdict.NOT_TEMPLATE, M.C006(error_type=type(e).__name__),
                          _actual_sender(item, ctx) or ident.department, ident.year, ident.template_id)
    department = ident.department if v.signed else _unsigned(v, item, ident, ctx)
    if v.signed:
        v.findings += _surprises(item, ident, ctx)
    if book.scan.macros:
        v.findings.append(Finding(WARNING, M.C007(), file=item.label, needs_action=False))
    # what was issued (every field and cell fingerprint) is checked: keep only the identity's
    # header, so thousands of results stay small in memory and between processes
    v.identity = dataclasses.replace(ident, fields=[], prints=[])
    n_err = sum(f.severity == ERROR for f in v.findings)
    if v.accepted:
        return FileResult(item, Verdict.ACCEPTED, M.C008(), department, ident.year,
                          ident.template_id, v.findings, v)
    return FileResult(item, Verdict.REJECTED, M.C009(count=n_err), department,
                      ident.year, ident.template_id, v.findings, v)


def judge_and_keep(item: Received, ctx: Judge) -> FileResult:
    """judge(), then keep the file in the archive while its bytes are at hand: in the worker,
    so the main process neither reads nor hashes any file a second time."""
    lazy = item.content is None and item.problem is None
    if lazy:  # read once for judging and keeping; not sent back to the main process
        try:
            item.content = item.data
        except OSError:
            lazy = False  # judge() gives the verdict
    try:
        result = judge(item, ctx)
        if ctx.archive is not None:
            result.archived, result.container_archived = keep_received(ctx.archive, item)
            result.kept = True
    finally:
        if lazy:
            item.content = None
    return result


def keep_received(archive: Path, item: Received) -> tuple[str, str]:
    """Keep a received file unchanged, named by content so a re-run adds nothing: the file
    judged, and the container (mail, zip) it arrived in as received."""
    container = ""
    if item.chain:
        try:
            container = _keep(archive, item.source.name, item.source.read_bytes())
        except OSError:
            container = ""
    try:
        if item.problem and item.chain:  # nothing could be taken out: the container is the record
            return container, container
        return _keep(archive, item.name, item.data, item.sha256), container
    except OSError:  # unreadable: its verdict says so, there is nothing to keep
        return "", container


def _keep(archive: Path, name: str, data: bytes, sha256: str = "") -> str:
    archive.mkdir(parents=True, exist_ok=True)
    path = archive / f"{(sha256 or hashlib.sha256(data).hexdigest())[:16]}_{name}"
    if not path.exists():  # two workers may keep the same file: each writes its own temporary one
        write_bytes(path, data)
    return path.name


def _actual_sender(item: Received, ctx: Judge) -> str:
    """The department that sent a file, where it can be told: its mail's sender address, else a
    file name naming exactly one department."""
    if by_address := ctx.sender_department(item.sender):
        return by_address
    named = ctx.named_departments(item.name)
    return named.pop() if len(named) == 1 else ""


def _unsigned(v: Validation, item: Received, ident: Identity, ctx: Judge) -> str:
    """Name a forged or foreign identity as such; the file belongs to whoever really sent it.
    A later plan-xl's identity keeps validate's own finding: it is neither."""
    actual = _actual_sender(item, ctx)
    if ident.version > FORMAT_VERSION:
        return actual
    issued_to, signature = ctx.issued.get(ident.template_id, ("", ""))
    if signature and signature == ident.signature:  # our signature, over content changed since
        why = M.C023(issued_to=issued_to)
    else:
        why = M.C024()
    who = M.C022(department=ident.department, actual=actual) if actual and actual != ident.department else ""
    v.findings[0] = dataclasses.replace(v.findings[0], message=M.C021(who=who, why=why))
    return actual


def _surprises(item: Received, ident: Identity, ctx: Judge) -> list[Finding]:
    """注意 for what a clerk would want to know about where a signed file came from."""
    out = []
    by_address = ctx.sender_department(item.sender)
    if by_address and by_address != ident.department:
        out.append(M.C025(by_address=by_address, sender=item.sender, department=ident.department))
    named = ctx.named_departments(item.name)
    if named and ident.department not in named:
        out.append(M.C026(name=item.name, named="、".join(sorted(named)), department=ident.department))
    if ident.year != ctx.year:
        out.append(M.C027(year=ident.year, collecting=ctx.year))
    return [Finding(WARNING, text, file=item.label) for text in out]


# --- many files -----------------------------------------------------------------------------------
def judge_all(items: list[Received], ctx: Judge, progress: Progress | None = None,
              start_method: str | None = None) -> list[FileResult]:
    """Judge every file, in worker processes when there are many. A worker that dies on a file
    (a reader aborting the process) costs that file a verdict, never the run."""
    progress = progress or Progress()
    method = workers.start_method(start_method)
    if not workers.worth_starting(len(items), method, PARALLEL_FROM):
        out = []
        for item in items:
            out.append(judge_and_keep(item, ctx))
            progress.update(1)
        return out
    results: list[FileResult | None] = [None] * len(items)
    count = min(os.cpu_count() or 2, 8)
    # Forked workers share the register with this process until they touch it; their garbage
    # collector would touch every object (and so copy every page) unless the objects that exist
    # now are frozen out of its reach (the gc module's advice for fork without exec).
    gc.freeze()
    # Files go to the workers a few at a time: one message each way per batch, not per file.
    size = max(1, min(BATCH, len(items) // (count * 4)))
    batches = [range(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    try:
        with workers.pool(count, method, _worker_init, ctx) as pool:
            futures = {pool.submit(_worker_judge, [items[n] for n in batch]): batch for batch in batches}
            for future in as_completed(futures):
                try:
                    for n, result in zip(futures[future], future.result(), strict=True):
                        results[n] = result
                except BrokenProcessPool:
                    continue
                progress.update(len(futures[future]))
    except BrokenProcessPool:
        pass
    finally:
        gc.unfreeze()
    for n, result in enumerate(results):  # left over by a dead worker: one process per file
        if result is None:
            results[n] = _judge_isolated(items[n], ctx, method)
            progress.update(1)
    return results


_WORKER: Judge | None = None


def _worker_init(ctx: Judge) -> None:
    global _WORKER
    _WORKER = ctx


def _worker_judge(items: list[Received]) -> list[FileResult]:
    return [judge_and_keep(item, _WORKER) for item in items]


def _judge_isolated(item: Received, ctx: Judge, method: str) -> FileResult:
    try:
        with workers.pool(1, method, _worker_init, ctx) as pool:
            return pool.submit(_worker_judge, [item]).result()[0]
    except BrokenProcessPool:
        return FileResult(item, Verdict.BROKEN, M.C010())
