"""Findings: what a check or a validation found, located the way a reader finds it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "誤り"
WARNING = "注意"


@dataclass(frozen=True)
class Finding:
    severity: str  # ERROR or WARNING
    message: str  # Japanese, says what is wrong and what to do
    sheet: str = ""
    cell: str = ""  # e.g. "E25", or a row/record reference in the register
    file: str = ""
    # Whether the reader must do something. Every 誤り must be fixed; a 注意 says here (and in
    # its message) whether it only reports what plan-xl did (False) or asks for a check (True).
    needs_action: bool = True

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
