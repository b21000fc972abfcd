"""Identification of issued templates: what a template is, and an HMAC signature over it.

The signing key is kept by the coordinating section in the working folder's `.plan-xl/`
(created on first use, never inside a workbook or under `templates/`). A template carries its
identity twice, in custom document properties and in a very hidden sheet, both of which survive
a round trip through Excel and LibreOffice (LibreOffice turns veryHidden into hidden).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..register.model import FieldKey

ID_SHEET = "_plan_xl"
PROPERTY_PREFIX = "plan_xl_"
# 1: one hidden-sheet row per fingerprinted cell. 2: the fingerprints of a sheet in a few cells of
# text (a returned file's identity is read in a fraction of the time). Version 1 is still read.
FORMAT_VERSION = 2
PRINTS_PER_ROW = 1000  # "K12:0123456789abcdef" each: well under Excel's 32,767 characters a cell


class FieldSpec(NamedTuple):
    """An input field as issued: where it is and who owns it. (A named tuple, not a frozen
    dataclass: a returned file brings hundreds, and each is made in a fraction of the time.)"""

    key: str  # results|1-3-1|2|2023, revision|…, actual|1-3-1.2|2023
    sheet: str
    cell: str
    name: str  # defined name anchoring the cell
    owner: str
    editable: bool
    issued_value: str = ""  # value pre-filled in the input cell, "" when empty

    @property
    def field(self) -> FieldKey:
        """The field this input is (its key is kept as signed text)."""
        return FieldKey.parse(self.key)


class CellPrint(NamedTuple):
    """Fingerprint of one pre-filled cell (a named tuple, like FieldSpec)."""

    sheet: str
    cell: str
    digest: str  # first 16 hex digits of SHA-256 of the cell text


@dataclass
class Identity:
    template_id: str
    department: str
    year: int
    register_version: int  # the register's version (台帳の版) the template was made from
    issued: str  # ISO 8601
    fields: list[FieldSpec] = field(default_factory=list)
    prints: list[CellPrint] = field(default_factory=list)
    signature: str = ""
    version: int = FORMAT_VERSION

    def payload(self) -> bytes:
        """Canonical bytes that the signature covers (everything but the signature)."""
        data = {k: v for k, v in vars(self).items() if k not in ("signature", "fields", "prints")}
        data["revision"] = data.pop("register_version")  # its name when the first templates were signed
        data["fields"], data["prints"] = self.fields, self.prints  # named tuples: JSON arrays
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def sign(self, key: bytes) -> None:
        self.signature = hmac.new(key, self.payload(), hashlib.sha256).hexdigest()

    def verify(self, key: bytes) -> bool:
        expected = hmac.new(key, self.payload(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def properties(self) -> dict[str, str]:
        """Custom document properties (short identity; the full one is in the hidden sheet)."""
        return {f"{PROPERTY_PREFIX}{k}": str(v) for k, v in (
            ("template_id", self.template_id), ("department", self.department), ("year", self.year),
            ("revision", self.register_version), ("issued", self.issued), ("signature", self.signature))}


@functools.lru_cache(maxsize=4096)  # labels, years and the plans' own texts recur in every file
def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_key(path: Path) -> bytes:
    """The signing key of a working folder that has one."""
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def load_or_create_key(path: Path) -> bytes:
    """The coordinating section's signing key; created (32 random bytes) on first use."""
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


# --- the hidden sheet: rows of text cells -----------------------------------------------------
def to_rows(ident: Identity) -> list[list[str]]:
    """The identity as rows for the hidden sheet (text only, so any reader gets it back). The
    fingerprints go in order, one row per run of a sheet's cells: ["prints", sheet, "A1:digest …"]."""
    rows = [["plan-xl identification", str(ident.version)],
            ["template_id", ident.template_id], ["department", ident.department],
            ["year", str(ident.year)], ["revision", str(ident.register_version)], ["issued", ident.issued],
            ["signature", ident.signature], ["fields", str(len(ident.fields))]]
    rows += [["field", f.key, f.sheet, f.cell, f.name, f.owner, "1" if f.editable else "0",
              f.issued_value] for f in ident.fields]
    for sheet, run in itertools.groupby(ident.prints, key=lambda p: p.sheet):
        run = list(run)
        rows += [["prints", sheet, " ".join(f"{p.cell}:{p.digest}" for p in run[k:k + PRINTS_PER_ROW])]
                 for k in range(0, len(run), PRINTS_PER_ROW)]
    return rows


def from_rows(rows: list[list]) -> Identity:
    """Inverse of to_rows; raises ValueError on anything malformed."""
    def text(v) -> str:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return "" if v is None else str(v)

    rows = [cells for cells in ([v if v.__class__ is str else text(v) for v in r] for r in rows) if any(cells)]
    if not rows or rows[0][0] != "plan-xl identification":
        raise ValueError("not a plan-xl identification sheet")
    head = {r[0]: r[1] if len(r) > 1 else "" for r in rows[1:8]}
    ident = Identity(template_id=head["template_id"], department=head["department"],
                     year=int(head["year"]), register_version=int(head["revision"]), issued=head["issued"],
                     signature=head["signature"], version=int(rows[0][1]))
    for r in rows[8:]:
        if r[0] == "prints" and len(r) > 2:
            ident.prints += [CellPrint(r[1], cell, digest) for cell, _, digest in
                             (item.partition(":") for item in r[2].split())]
        elif r[0] == "print":  # version 1: one row per pre-filled cell
            ident.prints.append(CellPrint(*(r[1:4] + [""] * (4 - len(r)))))
        elif r[0] == "field":
            r = r + [""] * (8 - len(r))
            ident.fields.append(FieldSpec(r[1], r[2], r[3], r[4], r[5], r[6] == "1", r[7]))
    return ident
