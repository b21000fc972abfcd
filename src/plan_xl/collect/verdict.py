"""The words of collect, in one place: a file's verdict (判定) and a department's state (状況).

Both are str enums, so the Japanese word is what is written to the verdict log, the status
workbook and the console, and a word read back from the log is turned into the member again.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """One verdict per received file."""

    ACCEPTED = "受理"
    REJECTED = "差戻し"
    ALREADY = "処理済み"  # the same bytes were accepted before
    SUPERSEDED = "受理（差替え済み）"  # accepted, but a newer accepted file of the department exists
    RESOLVED = "差戻し（解消済み）"  # rejected, but the department has since sent an accepted file
    NOT_TEMPLATE = "調査票ではない"
    WRONG_TYPE = "対象外の形式"
    UNREADABLE = "読めないファイル"
    BROKEN = "壊れたファイル"
    EMPTY = "空のファイル"
    NOT_XLSX = "xlsx ではない"
    LEGACY_XLS = "旧形式（.xls）"
    ODS = "ODS 形式"
    STRICT = "Strict 形式"
    TOO_BIG = "大きすぎる"
    BAD_ZIP = "zip の異常"
    BAD_XML = "不正な XML"
    PASSWORD = "パスワード付き"
    ARCHIVE_TOO_DEEP = "入れ子が深すぎる"

    @property
    def ok(self) -> bool:
        """Nothing for the department to do about this file."""
        return self in (Verdict.ACCEPTED, Verdict.ALREADY, Verdict.SUPERSEDED, Verdict.RESOLVED)

    @property
    def returns(self) -> bool:
        """The department must send its return again. Not for a file that was never meant to be
        a return (a cover letter, a signature image beside the workbook in the same mail)."""
        return not self.ok and self != Verdict.WRONG_TYPE

    @classmethod
    def of(cls, word: str) -> Verdict | None:
        """The member for a word read back from the verdict log (None for an unknown word)."""
        try:
            return cls(word)
        except ValueError:
            return None


class State(StrEnum):
    """One state per department per year, the same in `status`, the status workbook, the
    reminders, the correction mail and the report."""

    NOT_ISSUED = "未発送"  # owns fields, but no template has been issued yet
    MISSING = "未提出"  # template issued, nothing received
    RETURNED = "差戻し中"  # a file was rejected and no accepted file has followed
    ACCEPTED = "受理"
    REFERENCE = "参考"  # owns no field of the year: the template is sent for information

    @property
    def marker(self) -> str:
        """What the report prints in place of a progress row the department still owes."""
        return {State.RETURNED: "（修正待ち）"}.get(self, "（未提出）")

    @property
    def waiting(self) -> bool:
        """A return is still expected from the department."""
        return self in (State.NOT_ISSUED, State.MISSING, State.RETURNED)
