"""Stage 5, merge: accepted files into the register, in order of receipt; nothing is lost.

A later file from the same department and year supersedes the earlier one, and both stay in the
submissions table. The register is only changed here, and only saved by the run (under its lock).
"""

from __future__ import annotations

from ..evaluate import merge_evaluation_fields
from ..model import Actual, Progress, Provenance, Register, Submission
from .judge import FileResult
from .validate import Validation
from .verdict import Verdict


def merge(reg: Register, accepted: list[FileResult]) -> bool:
    """Apply accepted results in order of receipt. Returns whether the register changed."""
    changed = False
    progress = {(pr.plan_id, pr.section, pr.year): pr for pr in reg.progress}
    actuals = {(a.indicator_id, a.year): a for a in reg.actuals}
    for r in sorted(accepted, key=lambda r: (r.item.received, r.item.name)):
        ident = r.validation.identity
        earlier = [s for s in reg.submissions if s.department == ident.department
                   and s.year == ident.year and not s.superseded_by]
        sub = Submission(ident.template_id, ident.department, ident.year, r.item.name, r.item.sha256,
                         r.item.received, r.archived)
        newer = [s for s in earlier if s.received > r.item.received]
        if newer:  # an older file arriving late is kept on record but does not overwrite
            sub.superseded_by = newer[0].sha256
            reg.submissions.append(sub)
            r.verdict, r.message = Verdict.SUPERSEDED, "受理済みのより新しいファイルがあるため、記録のみ残しました"
            changed = True
            continue
        for s in earlier:
            s.superseded_by = r.item.sha256
        reg.submissions.append(sub)
        prov = Provenance(r.item.name, r.item.sha256, ident.department, ident.template_id, r.item.received)
        _apply(reg, r.validation, prov, progress, actuals)
        changed = True
    reg.actuals = list(actuals.values())
    return changed


def _apply(reg: Register, v: Validation, prov: Provenance, progress: dict, actuals: dict) -> None:
    """Write one accepted file's fields into the register (progress rows, and the `actuals`
    dict that merge turns back into the register's list)."""
    for key, text in v.texts.items():
        pr = progress.get((key.target, key.section, key.year))
        if pr is None:
            pr = Progress(key.target, key.section, key.year)
            reg.progress.append(pr)
            progress[(pr.plan_id, pr.section, pr.year)] = pr
        if key.kind == "results":
            pr.results = text
        else:
            pr.revision = text
        pr.source = prov
    for key, value in v.numbers.items():
        actuals.pop((key.target, key.year), None)
        if value is not None:
            actuals[(key.target, key.year)] = Actual(key.target, key.year, value, prov)
    merge_evaluation_fields(v.extras, progress, actuals)
