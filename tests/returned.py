"""Returned workbooks for tests: issue the templates once, then fill copies as a department would.

A department opens its template, types into the yellow input cells and saves. Here openpyxl does
the typing, into the cell each field's defined name points at (so a test that moved rows still
types into the right place); `via_libreoffice` re-saves a filled file with LibreOffice Calc.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from plan_xl.collect.read import open_workbook
from plan_xl.register.evaluate import reason_needed
from plan_xl.register.model import Register
from plan_xl.workbooks.identity import FieldSpec, Identity, load_or_create_key
from plan_xl.workbooks.templates import TemplateOptions, generate_templates
from plan_xl.workspace import Workspace

YEAR = 2023
ISSUED = dt.datetime(2024, 4, 1, 9, 0, 0)


def issue(root: Path) -> Workspace:
    """A working folder with the register, the signing key and every FY2023 template."""
    ws = Workspace(root)
    ws.create()
    reg = ws.load()
    key = load_or_create_key(ws.key_path)
    generate_templates(reg, TemplateOptions(YEAR, issued=ISSUED), key, ws.templates_dir(YEAR))
    ws.inbox.mkdir(parents=True, exist_ok=True)
    return ws


def copy_workspace(issued: Workspace, root: Path) -> Workspace:
    shutil.copytree(issued.root, root)
    return Workspace(root)


def identity(path: Path) -> Identity:
    ident = open_workbook(path.read_bytes()).identity
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


def cell_of(wb, spec: FieldSpec):
    """The cell a field's defined name points at (the issued cell if the name is gone)."""
    dn = wb.defined_names.get(spec.name)
    if dn is None:
        return wb[spec.sheet][spec.cell]
    sheet, ref = next(dn.destinations)
    return wb[sheet][ref.replace("$", "")]


def fill(template: Path, values: dict[str, object],
         edit: Callable[[openpyxl.Workbook, Identity], None] | None = None) -> bytes:
    """Type `values` (field key -> value) into a copy of `template`; `edit` may do more
    (change a pre-filled cell, insert rows…). Returns the saved .xlsx bytes."""
    ident = identity(template)
    specs = {f.key: f for f in ident.fields}
    wb = openpyxl.load_workbook(template)
    for key, value in values.items():
        cell_of(wb, specs[key]).value = value
    if edit:
        edit(wb, ident)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_value(data: bytes, formula: str, cached: str) -> bytes:
    """Give an openpyxl-written formula the cached result Excel would have saved."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                part = part.replace(f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>{cached}</v>".encode())
            zout.writestr(info, part)
    return out.getvalue()


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


def zip_of(parts: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip container with exactly these parts (for hand-made odd or hostile files)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()
