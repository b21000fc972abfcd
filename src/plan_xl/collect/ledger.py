"""Stage 6, ledger: the one module that writes and reads the history of verdicts
(`.plan-xl/verdicts.jsonl`, one JSON line per verdict), and what follows from it: each
department's state per year, the same for `status`, the status workbook, the mails and the report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..register.history import field_owners
from ..register.model import Register
from ..workspace import Workspace
from .judge import FileResult
from .verdict import State, Verdict

LOG_NAME = "verdicts.jsonl"


def log_path(ws: Workspace) -> Path:
    return ws.state / LOG_NAME


def record(ws: Workspace, results: list[FileResult], now: dt.datetime) -> None:
    """Append this run's verdicts (before anything is derived from them)."""
    ws.state.mkdir(parents=True, exist_ok=True)
    with open(log_path(ws), "a", encoding="utf-8") as jl:
        for r in results:
            jl.write(json.dumps({
                "time": now.isoformat(timespec="seconds"), "received": r.item.received,
                "file": r.item.label, "sha256": r.item.sha256, "department": r.department,
                "year": r.year, "template_id": r.template_id, "verdict": str(r.verdict),
                "message": r.message, "code": getattr(r.message, "code", ""), "errors": r.errors, "warnings": r.warnings,
                "archived": r.archived, "container": r.item.source.name if r.item.chain else "",
                "container_archived": r.container_archived,
                "sender": r.item.sender,
                "findings": [{"severity": f.severity, "code": f.code, "sheet": f.sheet, "cell": f.cell,
                              "message": f.message, "action": f.action} for f in r.findings]},
                ensure_ascii=False) + "\n")


_YEAR = re.compile(r'"year": (-?[0-9]+)[,}]')


def entries(ws: Workspace, year: int | None = None) -> list[dict]:
    """Every verdict ever given, oldest first (a damaged line is skipped, never fatal); with
    `year`, only those of that year and those without one, so a run holds one year of a
    history that grows every year (other years' lines are passed over unparsed)."""
    path = log_path(ws)
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if year is not None and (m := _YEAR.search(line)) and int(m.group(1)) != year:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if year is None or entry.get("year") in (year, None):
                out.append(entry)
    return out


def _property(name: str) -> re.Pattern:
    return re.compile(rf'name="plan_xl_{name}"[^>]*>\s*<[^>]*>([^<]*)<')


_TEMPLATE_ID, _DEPARTMENT, _SIGNATURE = _property("template_id"), _property("department"), _property("signature")


def issued_templates(ws: Workspace) -> dict[str, tuple[str, str]]:
    """Template id -> (department, signature) of every template this folder has issued and
    still holds (read from the custom properties xlsxwriter wrote; our own files, so a regex
    will do). Tells a return whose identity was edited from one signed elsewhere."""
    out = {}
    for path in sorted((ws.root / "templates").glob("20[0-9][0-9]/*.xlsx")):
        try:
            with zipfile.ZipFile(path) as zf:
                xml = zf.read("docProps/custom.xml").decode("utf-8")
        except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
            continue
        tid, dept, sig = _TEMPLATE_ID.search(xml), _DEPARTMENT.search(xml), _SIGNATURE.search(xml)
        if tid and dept and sig:
            out[tid.group(1)] = (dept.group(1), sig.group(1))
    return out


@dataclass
class DepartmentStatus:
    department: str
    state: State
    issued: bool
    returned: int  # files received for the year
    last_verdict: str
    last_file: str
    errors: int


def department_status(ws: Workspace, reg: Register, year: int,
                      log: list[dict] | None = None) -> list[DepartmentStatus]:
    """Every department of the register, in register order, with its one state for `year`."""
    log = entries(ws, year) if log is None else log
    current = ws.cycle_year(reg)
    mine: dict[str, list[dict]] = {}  # department -> its entries for the year, in log order
    for e in log:
        if e.get("year") == year or (e.get("year") is None and year == current):
            mine.setdefault(e.get("department"), []).append(e)
    accepted = reg.accepted_departments(year)
    owners = field_owners(reg, year)  # once: the plan as in force that year (history.as_of)
    out = []
    for d in reg.departments:
        if not d.validity.covers(year) and d.name not in accepted:
            continue  # a department that did not exist that year (新設 later, or merged away)
        files = mine.get(d.name, [])
        last = files[-1] if files else {}
        issued = ws.template_path(year, d.name).exists()
        if d.name not in owners:
            state = State.REFERENCE
        elif d.name in accepted:
            state = State.ACCEPTED
        elif any((Verdict.of(e.get("verdict", "")) or Verdict.REJECTED).returns for e in files):
            state = State.RETURNED
        else:
            state = State.MISSING if issued else State.NOT_ISSUED
        out.append(DepartmentStatus(d.name, state, issued, len({e.get("sha256") for e in files}),
                                    last.get("verdict", ""), last.get("file", ""), int(last.get("errors", 0))))
    return out


def department_states(ws: Workspace, reg: Register, year: int) -> dict[str, State]:
    """Department -> State for `year`: what every place that speaks of a department's state uses."""
    return {s.department: s.state for s in department_status(ws, reg, year)}
