"""Validate one returned workbook against what was issued: every finding, never the first only.

Works on values (reader.Workbook, the register, the key) and returns a Validation; the batch,
the merge and the files around it live in collect.py.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from .findings import ERROR, WARNING, Finding
from .identity import Identity, digest
from .layout import INPUT_FILL_NAME
from .model import NOTHING_TO_ADD, Indicator, Lookup, Register, format_number
from .reader import LIMITS, Workbook
from .templates import indicator_bounds

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)(.*)$")
KNOWN_UNITS = ("件", "人", "名", "時間", "回", "日", "館", "自治体", "km", "倍", "%", "円", "千円", "事業", "講座")
JUMP_FACTOR = 3.0  # a value more than 3× or under 1/3 of the previous year's is worth a second look


@dataclass
class Validation:
    """The outcome of checking one returned workbook."""

    identity: Identity
    findings: list[Finding] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # results|…/revision|… -> text
    numbers: dict[str, float | None] = field(default_factory=dict)  # actual|… -> value
    parts: dict[str, dict[str, str]] = field(default_factory=dict)  # plan|section|year|dept -> part_…

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


def validate(book: Workbook, reg: Register, key: bytes, file: str, lookup: Lookup | None = None) -> Validation:
    ident = book.identity
    lookup = lookup or Lookup(reg)
    v = Validation(ident)

    def find(severity, message, sheet="", cell=""):
        v.findings.append(Finding(severity, message, sheet, cell, file))

    if not ident.verify(key):
        find(ERROR, "調査票の識別情報（署名）が発行時と一致しません。送付した調査票をそのまま使って"
                    "記入してください。")
        return v
    props = book.scan.properties
    if props and props.get("template_id") != ident.template_id:
        find(ERROR, "文書プロパティの識別情報が調査票の内容と一致しません。送付した調査票をそのまま使ってください。")
    if ident.year not in reg.period:
        find(ERROR, f"{ident.year}年度は計画期間の外です。")
    if ident.revision > reg.revision:
        find(ERROR, f"この調査票は現在の台帳（版 {reg.revision}）より新しい版 {ident.revision} から作られています。"
                    "別の台帳から発行された可能性があります。")
    if lookup.department_name(ident.department) is None:
        find(ERROR, f"所管課「{ident.department}」が台帳にありません。")

    inputs = _locate_fields(book, ident)
    part_cells: dict[str, dict[str, tuple[str, str]]] = {}
    _check_prefilled(book, ident, inputs, find)
    for spec in ident.fields:
        sheet, cell = inputs[spec.key]
        raw = book.cell(sheet, cell)
        formula = cell in book.scan.formulas.get(sheet, set())
        if formula:
            if raw in ("", None):
                find(ERROR, "入力欄に数式があり、計算結果が保存されていません。値を直接入力してください。", sheet, cell)
                continue
            find(WARNING, f"入力欄に数式があります。計算結果「{format_number(raw) if isinstance(raw, float) else raw}」"
                          "を値として受け付けました。", sheet, cell)
        if not spec.editable:
            if _as_text(raw) != spec.issued_value:
                find(ERROR, f"{spec.owner}が記入する欄です（{ident.department}の記入欄ではありません）。"
                            f"元に戻して、{ident.department}の分は{INPUT_FILL_NAME}の欄に記入してください。",
                     sheet, cell)
            continue
        kind = spec.key.split("|")[0]
        if kind.startswith("part_"):
            _, base = spec.key.split("|", 1)
            v.parts.setdefault(base, {})[kind] = _check_text(raw, kind, find, sheet, cell)
            part_cells.setdefault(base, {})[kind] = (sheet, cell)
        elif kind == "actual":
            _check_number(v, spec.key, raw, lookup, find, sheet, cell)
        else:
            text = _check_text(raw, kind, find, sheet, cell)
            v.texts[spec.key] = text
            if kind == "results" and not text.strip():
                find(ERROR, "「実績」が未記入です。その年度の取組の実績を記入してください。", sheet, cell)
    for base, part in v.parts.items():
        _check_part(part, part_cells[base], find)
    return v


def _check_part(part: dict[str, str], cells: dict[str, tuple[str, str]], find) -> None:
    """A co-owner's box (関係課記入欄): some text, or 「特になし」 chosen; never both, never
    neither. Text that says only 「特になし」 counts as the choice."""
    results, revision = part.get("part_results", "").strip(), part.get("part_revision", "").strip()
    choice = part.get("part_none", "").strip()
    if NOTHING_TO_ADD in (results, revision) and {results, revision} <= {NOTHING_TO_ADD, ""}:
        part.update(part_results="", part_revision="", part_none=NOTHING_TO_ADD)
        return
    if choice and choice != NOTHING_TO_ADD:
        find(ERROR, f"この欄は「{NOTHING_TO_ADD}」を選ぶか、空欄にしてください（「{_short(choice)}」）。",
             *cells["part_none"])
    elif choice and (results or revision):
        find(ERROR, f"「{NOTHING_TO_ADD}」が選ばれていますが、実績・計画の見直しにも記入があります。"
                    "どちらかにしてください。", *cells["part_none"])
    elif not choice and not results:
        find(ERROR, f"関係課の記入欄の「実績」が未記入です。追加して記入することがない場合は「{NOTHING_TO_ADD}」"
                    "を選んでください。", *cells["part_results"])


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
        find(WARNING, f"「{label}」に表示されない制御文字が含まれていたため取り除きました。内容を確認してください。",
             sheet, cell)
    if len(text) > LIMITS["text_chars"][0]:
        find(ERROR, f"「{label}」が長すぎます（{len(text):,}字、Excel の上限 {LIMITS['text_chars'][0]:,}字）。"
                    "要点をまとめてください。", sheet, cell)
    return text.strip("\n")


def _check_number(v: Validation, key: str, raw, lookup: Lookup, find, sheet: str, cell: str) -> None:
    _, indicator_id, year = key.split("|")
    ind: Indicator = lookup.indicators[indicator_id]
    if raw in ("", None):
        v.numbers[key] = None
        find(WARNING, f"「{ind.name}」の実績値が未記入です。分かる場合は記入してください。", sheet, cell)
        return
    value, normalised = parse_number(raw, ind.unit)
    if value is None:
        find(ERROR, f"「{ind.name}」の実績値「{raw}」を数値として読めません。数値だけを入力してください"
                    f"（単位: {ind.unit or 'なし'}）。", sheet, cell)
        return
    if normalised:
        find(WARNING, f"「{ind.name}」の実績値「{raw}」を数値 {format_number(value)} として読み取りました。", sheet, cell)
    low, high = indicator_bounds(ind)
    if value < low:
        find(ERROR, f"「{ind.name}」の実績値 {format_number(value)} は負の値です。正しい値を入力してください。", sheet, cell)
    elif high is not None and value > high:
        find(ERROR, f"「{ind.name}」の実績値 {format_number(value)}{ind.unit} は {format_number(high)}{ind.unit} を"
                    "超えています。割合は 0〜100 で入力してください。", sheet, cell)
    previous = lookup.actuals.get((indicator_id, int(year) - 1))
    if previous and previous.value > 0 and value > 0:
        ratio = value / previous.value
        if ratio > JUMP_FACTOR or ratio < 1 / JUMP_FACTOR:
            find(WARNING, f"「{ind.name}」の実績値 {format_number(value)} は前年度（{format_number(previous.value)}）"
                          "から大きく変わっています。誤りでないか確認してください。", sheet, cell)
    v.numbers[key] = value


def _check_prefilled(book: Workbook, ident: Identity, inputs: dict, find) -> None:
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
            find(ERROR, f"シート「{sheet}」がありません。シートを削除・改名しないでください。", sheet)
            continue
        current = []
        for r, row in enumerate(book.values[sheet]):
            for c, value in enumerate(row):
                text = _as_text(value)
                if text != "":
                    addr = _address(r, c)
                    if (sheet, addr) not in input_cells:
                        current.append((addr, digest(text), text))
        issued = [p.digest for p in prints]
        matcher = difflib.SequenceMatcher(a=issued, b=[d for _, d, _ in current], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            if op in ("replace", "insert"):
                for addr, _, text in current[j1:j2]:
                    find(ERROR, f"記入欄以外のセルが変更されています（「{_short(text)}」）。元に戻してください。",
                         sheet, addr)
            if op == "delete" or (op == "replace" and i2 - i1 > j2 - j1):
                for p in prints[i1 + (j2 - j1 if op == "replace" else 0):i2]:
                    find(ERROR, "記入欄以外のセルの内容が消されています。元に戻してください。", sheet, p.cell)


def _address(row: int, col: int) -> str:
    letters, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def _short(text: str, n: int = 20) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"

