"""Findings: what a check or a validation found, located the way a reader finds it."""

from __future__ import annotations

from dataclasses import dataclass

from .messages import ERROR, WARNING, Text

__all__ = ["ERROR", "WARNING", "Finding", "has_errors"]


@dataclass(frozen=True)
class Finding:
    severity: str  # ERROR or WARNING
    message: Text  # from the catalogue (plan_xl.messages): says what is wrong and what to do
    sheet: str = ""
    cell: str = ""  # e.g. "E25", or a row/record reference in the register
    file: str = ""
    # Whether the reader must do something. Every 誤り must be fixed; a 注意 says here (and in
    # its message) whether it only reports what plan-xl did (False) or asks for a check (True).
    needs_action: bool = True

    def __post_init__(self):
        if not isinstance(self.message, Text):
            raise TypeError(f"a finding's message comes from plan_xl.messages, not {self.message!r}")
        if self.message.kind != self.severity:
            raise ValueError(f"{self.message.code} is a {self.message.kind}, not a {self.severity}")

    @property
    def code(self) -> str:
        return self.message.code

    @property
    def action(self) -> str:
        """The 対応 column of a correction copy."""
        if self.severity == ERROR:
            return "修正してください"
        return "確認してください" if self.needs_action else "対応不要"

    @property
    def location(self) -> str:
        parts = [p for p in (self.file, f"「{self.sheet}」" if self.sheet else "", self.cell) if p]
        return " ".join(parts)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"[{self.severity}] {where}{self.message}"


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
