"""Stage 5, merge: accepted files into the register, in order of receipt; nothing is lost.

A later file from the same department and year supersedes the earlier one, and both stay in the
submissions table. The register is only changed here, and only saved by the run (under its lock).
"""

from __future__ import annotations

from .. import messages as M
from ..findings import WARNING, Finding
from ..register.evaluate import merge_evaluation_fields
from ..register.model import (
    NOTHING_TO_ADD,
    Actual,
    Contribution,
    Lookup,
    Progress,
    Provenance,
    Register,
    Submission,
)
from .judge import FileResult
from .validate import Validation
from .verdict import Verdict


def merge(reg: Register, accepted: list[FileResult]) -> bool:
    """Apply accepted results in order of receipt. Returns whether the register changed."""
    changed = False
    # the register's index, its submissions, progress rows, actuals and parts kept current
    # below: no scan per file
    look = reg.index()
    for r in sorted(accepted, key=lambda r: (r.item.received, r.item.name)):
        ident = r.validation.identity
        mine = look.by_department_year.setdefault((ident.department, ident.year), [])
        earlier = [s for s in mine if not s.superseded_by]
        sub = Submission(ident.template_id, ident.department, ident.year, r.item.name, r.item.sha256,
                         r.item.received, r.archived)
        mine.append(sub)
        newer = [s for s in earlier if s.received > r.item.received]
        if newer:  # an older file arriving late is kept on record but does not overwrite
            sub.superseded_by = newer[0].sha256
            reg.submissions.append(sub)
            r.verdict, r.message = Verdict.SUPERSEDED, M.C040()
            changed = True
            continue
        for s in earlier:
            s.superseded_by = r.item.sha256
        reg.submissions.append(sub)
        prov = Provenance(r.item.name, r.item.sha256, ident.department, ident.template_id, r.item.received)
        r.findings += _apply(reg, r.validation, prov, look)
        changed = True
    reg.actuals = list(look.actuals.values())
    return changed


def _apply(reg: Register, v: Validation, prov: Provenance, look: Lookup) -> list[Finding]:
    """Write one accepted file's fields into the register (progress rows, the co-owners' parts,
    and the index's actuals that merge turns back into the register's list). A field another
    department has already returned is kept (one owner per field); the findings say which."""
    kept: list[Finding] = []
    progress, actuals = look.progress, look.actuals
    for key, text in v.texts.items():
        pr = progress.get((key.target, key.section, key.year))
        if pr is None:
            pr = Progress(key.target, key.section, key.year)
            reg.progress.append(pr)
            progress[(pr.plan_id, pr.section, pr.year)] = pr
        if _owned_by_other(pr.source, prov, kept, f"{key.target} の{key.year}年度の進捗"):
            continue
        if key.kind == "results":
            pr.results = text
        else:
            pr.revision = text
        pr.source = prov
    for key, value in v.numbers.items():
        old = actuals.get((key.target, key.year))
        if old and _owned_by_other(old.source, prov, kept, f"指標 {key.target} の{key.year}年度の実績値"):
            continue
        actuals.pop((key.target, key.year), None)
        if value is not None:
            actuals[(key.target, key.year)] = Actual(key.target, key.year, value, prov)
    merge_evaluation_fields(v.extras, progress, actuals)
    _apply_parts(reg, v, prov, look)
    return kept


def _owned_by_other(source: Provenance, prov: Provenance, kept: list[Finding], what: str) -> bool:
    """Whether a register value came from another department's accepted file (it then stays:
    a template issued before the field was assigned elsewhere cannot overwrite it)."""
    if not source.department or source.department == prov.department:
        return False
    if not any(f.message.startswith(what) for f in kept):
        kept.append(Finding(WARNING, M.C018(what=what, department=source.department,
                                            department2=prov.department),
                            file=prov.file))
    return True


def _apply_parts(reg: Register, v: Validation, prov: Provenance, look: Lookup) -> None:
    """A co-owner's parts replace only its own earlier parts, never the lead's or another's."""
    for key, text in v.parts.items():
        if key.department != prov.department:
            continue
        c = look.contributions.get((key.target, key.section, key.year, key.department))
        if c is None:
            c = Contribution(key.target, key.section, key.year, key.department)
            reg.contributions.append(c)
            look.contributions[(c.plan_id, c.section, c.year, c.department)] = c
        if key.kind == "part_results":
            c.results = text
        elif key.kind == "part_revision":
            c.revision = text
        else:
            c.nothing = text == NOTHING_TO_ADD
        c.source = prov
