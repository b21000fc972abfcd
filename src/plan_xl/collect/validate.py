"""Stage 3, validate: one returned workbook against what was issued; every finding, never
the first only.

Values in, findings out: `validate(book, reg, key, file)` works on a read.Workbook, the
register and the signing key and returns a Validation (the fields' values, keyed by FieldKey,
and the findings). It writes nothing and knows nothing of files around it; the verdict is
judge's. Extra rules go in RULES (see there): each is a function of the workbook, the register
(with its index) and the validation so far that reports through `find`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import messages as M
from ..findings import ERROR, WARNING, Finding
from ..register.evaluate import EVALUATION_FIELDS, read_evaluation
from ..register.history import stale_findings
from ..register.model import NOTHING_TO_ADD, FieldKey, Indicator, Lookup, Register, format_number
from ..workbooks.identity import FORMAT_VERSION, Identity, digest
from ..workbooks.layout import INPUT_FILL_NAME
from .read import LIMITS, Workbook
from .sheets import position

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)(.*)$")
KNOWN_UNITS = ("件", "人", "名", "時間", "回", "日", "館", "自治体", "km", "倍", "%", "円", "千円", "事業", "講座")
JUMP_FACTOR = 3.0  # a value over 3× or under 1/3 of last year's (else the baseline) is worth a look
NO_ACTION = "（対応は不要です）"


@dataclass
class Validation:
    """The outcome of checking one returned workbook."""

    identity: Identity
    findings: list[Finding] = field(default_factory=list)
    texts: dict[FieldKey, str] = field(default_factory=dict)  # 実績 / 計画の見直し
    numbers: dict[FieldKey, float | None] = field(default_factory=dict)  # indicator actuals
    parts: dict[FieldKey, str] = field(default_factory=dict)  # a co-owner's box: part_* kinds
    extras: dict[FieldKey, str] = field(default_factory=dict)  # 変動要因 and 自己評価 (evaluate.py)
    signed: bool = True  # False: the identity's signature does not verify (nothing else was checked)
    # pre-filled cells found changed or emptied: (sheet, cell now) -> the cell as issued, so a
    # correction copy can show and restore what was there
    changed: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def parse_number(raw, unit: str = "") -> tuple[float | None, bool]:
    """A number typed into a cell, possibly as text: full-width digits, 「，」, 「％」, units,
    ▲/△ for minus. Returns (value or None if unreadable, whether text was normalised)."""
    if isinstance(raw, bool):
        return None, False
    if isinstance(raw, (int, float)):
        return float(raw), False
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "").replace(" ", "")
    if text[:1] in ("▲", "△", "−", "ー", "―"):
        text = "-" + text[1:]
    m = _NUMBER.match(text)
    if not m:
        return None, True
    suffix = m.group(3)
    units = {unicodedata.normalize("NFKC", unit), *KNOWN_UNITS}
    if suffix and not any(suffix == u or suffix.startswith(u) for u in units if u):
        return None, True
    return float(m.group(1) + m.group(2)), True


Find = Callable[..., None]  # find(severity, M.X(...), sheet="", cell="", needs_action=True)
# Further rules, run after the built-in ones on a signed workbook: rule(book, reg, lookup, v, find),
# `lookup` the register's index (model.Lookup; read only: thousands of files share it).
# Add one with `RULES.append(my_rule)` in the module that owns the rule; its messages are catalogue
# entries (plan_xl.messages), or a Message of its own with a code of its own.
RULES: list[Callable[[Workbook, Register, Lookup, Validation, Find], None]] = [read_evaluation]


def validate(book: Workbook, reg: Register, key: bytes, file: str, lookup: Lookup | None = None) -> Validation:
    """Check one workbook whose identity was read (book.identity is not None)."""
    ident = book.identity
    lookup = lookup or Lookup(reg)
    v = Validation(ident)

    def find(severity, message, sheet="", cell="", needs_action=True):
        v.findings.append(Finding(severity, message, sheet, cell, file, needs_action))

    if ident.version > FORMAT_VERSION:  # a later plan-xl's identity: its signature is not ours to read
        v.signed = False
        find(ERROR, M.V030(version=ident.version, readable=FORMAT_VERSION))
        return v
    if not ident.verify(key):
        v.signed = False
        find(ERROR, M.V001())
        return v
    props = book.scan.properties
    if props and props.get("template_id") != ident.template_id:
        find(ERROR, M.V002())
    if ident.year not in reg.all_years:
        find(ERROR, M.V003(year=ident.year))

    for severity, message in stale_findings(reg, ident):  # a template older than a register change
        find(severity, message)
    if ident.register_version > reg.register_version:
        find(ERROR, M.V004(current=reg.register_version, template_version=ident.register_version))
    if lookup.department_name(ident.department) is None:
        find(ERROR, M.V005(department=ident.department))

    inputs = _locate_fields(book, ident)
    _check_prefilled(book, ident, inputs, v, find)
    _check_fields(book, ident, inputs, lookup, v, find)
    _check_parts(v, ident, inputs, find)
    for rule in RULES:
        rule(book, reg, lookup, v, find)
    return v


def _check_fields(book: Workbook, ident: Identity, inputs: dict, lookup: Lookup, v: Validation,
                  find: Find) -> None:
    for spec in ident.fields:
        sheet, cell = inputs[spec.key]
        raw = book.cell(sheet, cell)
        formula = cell in book.scan.formulas.get(sheet, set())
        if formula:
            if raw in ("", None):
                find(ERROR, M.V006(), sheet, cell)
                continue
            find(WARNING, M.V007(value=format_number(raw) if isinstance(raw, float) else raw), sheet, cell,
                 needs_action=False)
        if not spec.editable:
            if _as_text(raw) != spec.issued_value:
                find(ERROR, M.V008(owner=spec.owner, department=ident.department,
                                   input_fill_name=INPUT_FILL_NAME),
                     sheet, cell)
            continue
        key = spec.field
        if key.kind in EVALUATION_FIELDS:  # read by evaluate.read_evaluation, one of RULES
            continue
        if key.is_part:
            v.parts[key] = _check_text(raw, key.kind, find, sheet, cell)
        elif key.kind == "actual":
            percent = cell in book.scan.percent.get(sheet, ())
            _check_number(v, key, raw, percent, lookup, find, sheet, cell)
        else:
            text = _check_text(raw, key.kind, find, sheet, cell)
            v.texts[key] = text
            if key.kind == "results" and not text.strip():
                find(ERROR, M.V009(), sheet, cell)


def _check_parts(v: Validation, ident: Identity, inputs: dict, find: Find) -> None:
    """Each co-owner's box (関係課記入欄): some text, or 「特になし」 chosen; never both, never
    neither. Text that says only 「特になし」 counts as the choice."""
    cell = {spec.field: inputs[spec.key] for spec in ident.fields if spec.editable}
    for key in [k for k in v.parts if k.kind == "part_none"]:
        results_key, revision_key = (FieldKey(k, key.target, key.year, key.section, key.department)
                                     for k in ("part_results", "part_revision"))
        results, revision = v.parts.get(results_key, "").strip(), v.parts.get(revision_key, "").strip()
        choice = v.parts[key].strip()
        if NOTHING_TO_ADD in (results, revision) and {results, revision} <= {NOTHING_TO_ADD, ""}:
            v.parts.update({results_key: "", revision_key: "", key: NOTHING_TO_ADD})
        elif choice and choice != NOTHING_TO_ADD:
            find(ERROR, M.V010(nothing_to_add=NOTHING_TO_ADD, choice=_short(choice)),
                 *cell[key])
        elif choice and (results or revision):
            find(ERROR, M.V011(nothing_to_add=NOTHING_TO_ADD), *cell[key])
        elif not choice and not results:
            find(ERROR, M.V012(nothing_to_add=NOTHING_TO_ADD), *cell[results_key])


def _locate_fields(book: Workbook, ident: Identity) -> dict[str, tuple[str, str]]:
    """Where each field is now: its defined name (survives inserted rows), else the issued cell."""
    located = {}
    for spec in ident.fields:
        located[spec.key] = book.scan.names.get(spec.name, (spec.sheet, spec.cell))
    return located


def _as_text(raw) -> str:
    if isinstance(raw, float):
        return format_number(raw)
    return "" if raw is None else str(raw)


def _check_text(raw, kind: str, find, sheet: str, cell: str) -> str:
    text = _as_text(raw).replace("\r\n", "\n").replace("\r", "\n")
    label = "計画の見直し" if kind.endswith("revision") else "実績" if kind.endswith("results") else "特になし"
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
        find(WARNING, M.V013(label=label),
             sheet, cell)
    if len(text) > LIMITS["text_chars"][0]:
        find(ERROR, M.V014(label=label, count=len(text), limit=LIMITS["text_chars"][0]), sheet, cell)
    return text.strip("\n")


def _check_number(v: Validation, key: FieldKey, raw, percent: bool, lookup: Lookup, find: Find,
                  sheet: str, cell: str) -> None:
    """An indicator's actual, in the indicator's unit whichever way it was typed (「62.5%」 is
    stored by Excel and LibreOffice as 0.625 with a percent format, or kept as text)."""
    ind: Indicator = lookup.indicators[key.target]
    if raw in ("", None):
        v.numbers[key] = None
        find(WARNING, M.V015(name=ind.name), sheet, cell)
        return
    value, normalised = parse_number(raw, ind.unit)
    if value is None:
        find(ERROR, M.V016(name=ind.name, raw=raw, unit=ind.unit or "なし"), sheet, cell)
        return
    if percent and isinstance(raw, (int, float)):
        if not ind.percent:
            find(ERROR, M.V017(name=ind.name, percent=format_number(value * 100), unit=ind.unit or "なし"),
                 sheet, cell)
            return
        value = round(value * 100, 10)  # typed as 62.5% and stored as 0.625: the unit is already %
    elif normalised:
        find(WARNING, M.V018(name=ind.name, raw=raw, value=format_number(value)), sheet, cell,
             needs_action=False)
    low, high = ind.bounds
    if value < low:
        find(ERROR, M.V019(name=ind.name, value=format_number(value)), sheet, cell)
    elif high is not None and value > high:
        find(ERROR, M.V020(name=ind.name, value=format_number(value), unit=ind.unit, high=format_number(high)),
             sheet, cell)
    else:
        _check_plausible(ind, key, value, lookup, find, sheet, cell)
    v.numbers[key] = value


def _check_plausible(ind: Indicator, key: FieldKey, value: float, lookup: Lookup, find: Find,
                     sheet: str, cell: str) -> None:
    """A 注意 when the value is far from last year's actual (else the baseline): typed at 1/100
    (0.625 for 62.5%), a digit too many, or a real change the department should confirm."""
    previous = lookup.actuals.get((key.target, key.year - 1))
    reference, label = ((previous.value, "前年度の実績値") if previous else (ind.baseline, "現況値"))
    if not reference or reference <= 0 or value <= 0:
        return
    ratio = value / reference
    if ratio <= JUMP_FACTOR and ratio >= 1 / JUMP_FACTOR:
        return
    hint = ""
    if ind.percent and value <= 1 < reference:
        hint = M.V029(percent=format_number(value * 100))
    find(WARNING, M.V021(name=ind.name, value=format_number(value), unit=ind.unit, label=label,
                         reference=format_number(reference), hint=hint), sheet, cell)


def _check_prefilled(book: Workbook, ident: Identity, inputs: dict, v: Validation, find) -> None:
    """Pre-filled cells must be as issued. Compares each sheet's non-empty non-input cells in
    reading order, so rows a clerk inserted (empty) do not count as changes."""
    by_sheet: dict[str, list] = {}
    # Another department's field may be pre-filled (fingerprinted as issued); it is compared on
    # its own against issued_value, so it is left out here on both sides.
    issued_inputs = {(f.sheet, f.cell) for f in ident.fields}
    for p in ident.prints:
        if (p.sheet, p.cell) not in issued_inputs:
            by_sheet.setdefault(p.sheet, []).append(p)
    input_cells = {(s, c) for (s, c) in inputs.values()}
    for sheet, prints in by_sheet.items():
        if sheet not in book.values:
            find(ERROR, M.V022(sheet=sheet), sheet)
            continue
        inputs_here = {c for s, c in input_cells if s == sheet}
        current = [(addr, digest(text), text) for addr, value in book.values[sheet].items()
                   if addr not in inputs_here and (text := value if value.__class__ is str else _as_text(value))]
        issued = [p.digest for p in prints]
        if issued == [d for _, d, _ in current]:  # as issued: nothing to align
            continue
        current.sort(key=lambda c: position(c[0]))  # reading order, should a writer have put cells out of it
        matcher = difflib.SequenceMatcher(a=issued, b=[d for _, d, _ in current], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            if op in ("replace", "insert"):
                for k, (addr, _, text) in enumerate(current[j1:j2]):
                    if op == "replace" and i1 + k < i2:
                        v.changed[(sheet, addr)] = prints[i1 + k].cell
                    find(ERROR, M.V023(text=_short(text)),
                         sheet, addr)
            if op == "delete" or (op == "replace" and i2 - i1 > j2 - j1):
                for p in prints[i1 + (j2 - j1 if op == "replace" else 0):i2]:
                    v.changed[(sheet, p.cell)] = p.cell
                    find(ERROR, M.V024(), sheet, p.cell)


def _short(text: str, n: int = 20) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"

