"""Returned workbooks for tests: issue the templates once, then fill copies as a department would.

A department opens its template, types into the yellow input cells and saves. Here openpyxl does
the typing, into the cell each field's defined name points at (so a test that moved rows still
types into the right place); `via_libreoffice` re-saves a filled file with LibreOffice Calc.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import openpyxl

from plan_xl.collect.read import open_workbook
from plan_xl.register.evaluate import reason_needed
from plan_xl.register.model import Register
from plan_xl.workbooks.identity import FieldSpec, Identity, load_or_create_key
from plan_xl.workbooks.templates import TemplateOptions, generate_templates
from plan_xl.workspace import Workspace

from .zipbuild import parts_of, zip_of

YEAR = 2023  # the shipped register's first open year
ISSUED = dt.datetime(2024, 4, 1, 9, 0, 0)

# A value typed into a workbook goes to a field (its key, "results|1-3-1|2|2023") or to a cell
# given as (sheet, cell), for cells that are no input box.
Where = str | tuple[str, str]


def issue(root: Path, departments: list[str] | None = None) -> Workspace:
    """A working folder with the register, the signing key, an inbox and the FY2023 templates
    of every department (or of `departments`)."""
    ws = Workspace(Path(root))
    ws.create()
    reg = ws.load()
    key = load_or_create_key(ws.key_path)
    generate_templates(reg, TemplateOptions(YEAR, issued=ISSUED), key, ws.templates_dir(YEAR), departments)
    ws.inbox.mkdir(parents=True, exist_ok=True)
    return ws


def copy_workspace(issued: Workspace, root: Path) -> Workspace:
    shutil.copytree(issued.root, root)
    return Workspace(root)


def identity(workbook: Path | bytes) -> Identity:
    """The identity a template or a returned workbook carries (it must carry one)."""
    data = workbook if isinstance(workbook, bytes) else Path(workbook).read_bytes()
    ident = open_workbook(data).identity
    assert ident is not None
    return ident


def editable(ident: Identity, kind: str | None = None) -> list[FieldSpec]:
    return [f for f in ident.fields if f.editable and (kind is None or f.key.startswith(kind + "|"))]


def typical_values(reg: Register, ident: Identity) -> dict[str, object]:
    """What a careful department types: bullet text with line breaks, plain numbers close to
    last year's (so no jump warning), a 変動要因 where the move asks for one, a 自己評価."""
    values: dict[str, object] = {}
    for f in editable(ident):
        key = f.field
        if key.kind == "reason":
            continue  # typed below, once the actual is known
        if key.kind == "rating":
            values[f.key] = "B 概ね進捗"
        elif key.kind in ("results", "part_results"):
            values[f.key] = f"●{key.target} 第{key.section}節の{YEAR}年度の実績\n・説明会を 3 回開催した（{ident.department}）"
        elif key.kind == "part_revision":
            values[f.key] = f"・{ident.department}の分も引き続き実施する。"
        elif key.kind == "part_none":
            continue  # it has something to add: the 「特になし」 choice stays empty
        elif key.kind == "revision":
            values[f.key] = "・引き続き計画どおり実施する。\n・周知方法を見直す。"
        else:
            previous = reg.actual_for(key.target, YEAR - 1)
            ind = reg.indicator(key.target)
            value = previous.value + 1.5 if previous else (ind.baseline + 1.5 if ind.baseline else 12.5)
            values[f.key] = min(value, ind.bounds[1]) if ind.percent else value
            before = previous.value if previous else None
            if reason_needed(ind, before, values[f.key], reg.reason_threshold):
                values[f"reason|{key.target}|{key.year}"] = f"・{ind.name}は制度の見直しにより変動した。"
    return values


def sensible_values(ident: Identity) -> dict[tuple[str, str], object]:
    """Quick values for every input of a template without looking at the register, keyed by
    (sheet, cell): text, and small numbers within any indicator's bounds (hardening tests)."""
    out = {}
    for n, f in enumerate(ident.fields):
        if not f.editable:
            continue
        kind = f.field.kind
        if kind == "results":
            out[(f.sheet, f.cell)] = f"●取組を実施した（{n}）。\n・研修を2回開催"
        elif kind == "revision":
            out[(f.sheet, f.cell)] = "引き続き実施する。"
        elif kind == "reason":
            out[(f.sheet, f.cell)] = "・利用者の増加により変動した。"
        elif kind == "rating":
            out[(f.sheet, f.cell)] = "B 概ね進捗"
        else:
            out[(f.sheet, f.cell)] = 12 + n
    return out


def cell_of(wb, spec: FieldSpec):
    """The cell a field's defined name points at (the issued cell if the name is gone)."""
    dn = wb.defined_names.get(spec.name)
    if dn is None:
        return wb[spec.sheet][spec.cell]
    sheet, ref = next(dn.destinations)
    return wb[sheet][ref.replace("$", "")]


def _excel_escaped(value):
    """Control characters as Excel stores them (openpyxl refuses them raw)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", value)


def fill(template: Path, values: dict[Where, object] | None = None,
         edit: Callable[[openpyxl.Workbook, Identity], None] | None = None, *,
         links: dict[Where, str] | None = None, as_text: bool = False, out: Path | None = None) -> bytes:
    """Type `values` into a copy of `template` (by default `sensible_values`), put hyperlink
    objects on the cells of `links`, let `edit` do more (change a pre-filled cell, insert
    rows…), save and return the .xlsx bytes (also written to `out` if given). A string that
    starts with '=' becomes a formula, as openpyxl stores it, unless `as_text`: then it stays
    text, as when a department types '=…."""
    ident = identity(template)
    specs = {f.key: f for f in ident.fields}
    wb = openpyxl.load_workbook(template)

    def cell(where: Where):
        return wb[where[0]][where[1]] if isinstance(where, tuple) else cell_of(wb, specs[where])

    for where, value in (sensible_values(ident) if values is None else values).items():
        c = cell(where)
        c.value = _excel_escaped(value)
        if as_text and isinstance(value, str):
            c.data_type = "s"
    for where, target in (links or {}).items():
        cell(where).hyperlink = target
    if edit:
        edit(wb, ident)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return data


def with_cached_value(data: bytes, formula: str, cached: str) -> bytes:
    """Give an openpyxl-written formula the cached result Excel would have saved."""
    def cached_in(name: str, part: bytes) -> bytes:
        if not name.startswith("xl/worksheets/"):
            return part
        return part.replace(f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>{cached}</v>".encode())

    return zip_of([(name, cached_in(name, part)) for name, part in parts_of(data)])


def via_libreoffice(soffice: str, data: bytes, work: Path) -> bytes:
    """Open a filled workbook in LibreOffice Calc and save it as .xlsx again (headless, private
    profile, time-limited), as a department using LibreOffice would."""
    src, out, profile = work / "in", work / "out", work / "profile"
    for d in (src, out):
        d.mkdir(parents=True, exist_ok=True)
    (src / "filled.xlsx").write_bytes(data)
    env = {**os.environ, "HOME": str(work)}
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                    str(src / "filled.xlsx")], check=True, timeout=120, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (out / "filled.xlsx").read_bytes()
