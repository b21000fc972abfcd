"""`plan-xl collect`, the run: gather → read → validate → judge → merge → ledger → feedback.

Every received file is archived unchanged (containers too) and gets a verdict; only accepted
data changes the register, which is written atomically. Everything a run writes — register,
archive, verdict history, status workbook, correction copies, log — is written while it holds
the register lock, in that order, so the status workbook always shows this run's verdicts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .. import messages as M
from ..errors import PlanXlError, RegisterBusyError
from ..lock import RegisterLock
from ..progress import Progress
from ..register.model import Register
from ..register.store import save_register
from ..workbooks.identity import load_key
from ..workspace import Workspace
from . import feedback, ledger
from .gather import Opener, Received, gather
from .judge import FileResult, Judge, judge_all, keep_received
from .merge import merge
from .verdict import Verdict


@dataclass
class CollectResult:
    results: list[FileResult]
    skipped: list[tuple[Path, str]]
    register_changed: bool
    status_paths: list[Path] = field(default_factory=list)
    corrections: list[Path] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.results) else 1


def collect(ws: Workspace, paths: list[Path] | None = None, progress: Progress | None = None,
            now: dt.datetime | None = None, opener: Opener | None = None,
            gathered: tuple[list[Received], list[tuple[Path, str]]] | None = None,
            start_method: str | None = None,
            loaded: tuple[Register, tuple[int, int, int]] | None = None) -> CollectResult:
    """Judge every file under `paths` (default: the inbox), archive them, merge the accepted
    ones, record the verdicts and write the status workbook, correction copies and a run log.
    `gathered`: the result of gather() when the caller has already run it (the CLI counts);
    `progress` is told of each file judged and of anything a person must read; `loaded`: the
    register the caller loaded (and checked) with its Workspace.register_stamp(), used when the
    file is still the same once the lock is held (else the register is loaded again)."""
    now = now or dt.datetime.now()
    progress = progress or Progress()
    ws.require()
    if not ws.key_path.exists():
        raise PlanXlError(M.C019(key_path=ws.key_path))
    key = load_key(ws.key_path)
    excel_lock = ws.register_path.with_name("~$" + ws.register_path.name)
    if excel_lock.exists():
        raise RegisterBusyError(M.C020(register_path=ws.register_path, name=excel_lock.name))
    if not paths:
        ws.inbox.mkdir(parents=True, exist_ok=True)
    items, skipped = gathered or gather(paths or [ws.inbox], opener)
    with RegisterLock(ws.workbooks / ".register.lock", notice=progress.notice):
        reg = loaded[0] if loaded and loaded[1] == ws.register_stamp() else ws.load()
        reg.release_sheets()  # checked (by the caller) and not needed again: memory for the run
        year = ws.cycle_year(reg)
        results = judge_all(items, Judge(reg, key, year, ledger.issued_templates(ws), ws.archive), progress,
                            start_method)
        for result in results:
            if not result.kept:
                result.archived, result.container_archived = _archive(ws, result.item)
        accepted = [r for r in results if r.verdict == Verdict.ACCEPTED]
        changed = merge(reg, accepted) if accepted else False
        if changed:
            reg.meta["revision"] = str(reg.register_version + 1)
            reg.meta["updated"] = now.isoformat(timespec="seconds")
            save_register(reg, ws.register_path, ws.backups)
        out = CollectResult(results, skipped, changed)
        rejected = _unresolved(reg, [r for r in results if r.verdict == Verdict.REJECTED])
        ledger.record(ws, results, now)
        _retire_corrections(ws, accepted, {(r.year, r.department) for r in rejected})
        out.corrections = feedback.write_corrections(ws, rejected)
        years = sorted({r.year for r in results if r.year} | {year})
        out.status_paths = [feedback.write_status(ws, reg, y, now) for y in years]
        out.log_path = feedback.write_run_log(ws, out, now)
    return out


def _unresolved(reg: Register, rejected: list[FileResult]) -> list[FileResult]:
    """Rejected files that still need correcting: not those the department has since replaced
    with an accepted file (an old file left in the inbox is judged again on every run)."""
    out, index = [], reg.index() if rejected else None
    for r in rejected:
        later = [s for s in index.by_department_year.get((r.department, r.year), [])
                 if s.received >= r.item.received]
        if later:
            r.verdict, r.message = Verdict.RESOLVED, M.C041(file=later[-1].file)
        else:
            out.append(r)
    return out


def _retire_corrections(ws: Workspace, accepted: list[FileResult], still_rejected: set) -> None:
    """A correction copy is obsolete once its department is accepted: move it aside so that
    `plan-xl mail corrections` does not send it again."""
    waiting = {(r.year, r.department) for r in accepted} - still_rejected
    present = {p for year in {y for y, _ in waiting} if ws.corrections_dir(year).is_dir()
               for p in ws.corrections_dir(year).iterdir()}  # one listing, not a look per file
    for year, department in sorted(waiting):
        path = ws.correction_path(year, department)
        if path in present:
            done = ws.corrections_dir(year) / "受理済み"
            done.mkdir(parents=True, exist_ok=True)
            path.replace(done / path.name)


def _archive(ws: Workspace, item: Received) -> tuple[str, str]:
    """Keep a received file the workers did not (one whose worker died on it)."""
    return keep_received(ws.archive, item)
