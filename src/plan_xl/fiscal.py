"""Fiscal years (年度, April to March) and the Japanese era 令和.

2023年度 is 令和5年度: the Reiwa year is the fiscal year minus 2018, and 2019 is 令和元年度.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

REIWA_OFFSET = 2018


def to_reiwa(year: int) -> int:
    """2023 -> 5."""
    if year <= REIWA_OFFSET:
        raise ValueError(f"{year}年度は令和ではありません")
    return year - REIWA_OFFSET


def from_reiwa(reiwa: int) -> int:
    """5 -> 2023."""
    if reiwa < 1:
        raise ValueError(f"令和{reiwa}年度はありません")
    return reiwa + REIWA_OFFSET


def reiwa_label(year: int) -> str:
    """2023 -> '令和5年度', 2019 -> '令和元年度'."""
    r = to_reiwa(year)
    return f"令和{'元' if r == 1 else r}年度"


def fy_label(year: int) -> str:
    """2023 -> '2023年度（令和5年度）', as printed in the schedule header."""
    return f"{year}年度（{reiwa_label(year)}）"


def fy_short(year: int) -> str:
    """2023 -> '2023年度', as printed in the progress rows."""
    return f"{year}年度"


_WESTERN = re.compile(r"^(\d{4})(?:年度?)?(?:[(（].*[)）])?$")
_REIWA = re.compile(r"^(?:令和|R)(元|\d{1,2})(?:年度?)?$", re.IGNORECASE)


def parse_fy(text: str | int) -> int:
    """Read a fiscal year written any usual way: 2023, '2023年度', '2023年度（令和5年度）',
    '令和5年度', '令和元年度', 'R5', full-width digits included."""
    if isinstance(text, int):
        return text
    s = unicodedata.normalize("NFKC", str(text)).replace(" ", "").strip()
    if m := _WESTERN.match(s):
        return int(m.group(1))
    if m := _REIWA.match(s):
        return from_reiwa(1 if m.group(1) == "元" else int(m.group(1)))
    raise ValueError(f"年度として読めません: {text!r}")


def plan_period(start: int = 2022, end: int = 2025) -> range:
    """The fiscal years of the plan, inclusive of both ends."""
    return range(start, end + 1)


_DATE = re.compile(r"^(?:(令和|R)(元|\d{1,2})|(\d{4}))[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", re.IGNORECASE)


def parse_date(text: str) -> dt.date:
    """Read a date written any usual way: 2024-06-10, 2024/6/10, 2024年6月10日, 令和6年6月10日,
    R6.6.10, full-width digits included."""
    s = unicodedata.normalize("NFKC", str(text)).replace(" ", "").strip()
    m = _DATE.match(s)
    if not m:
        raise ValueError(f"日付として読めません: {text}")
    year = int(m.group(3)) if m.group(3) else from_reiwa(1 if m.group(2) == "元" else int(m.group(2)))
    try:
        return dt.date(year, int(m.group(4)), int(m.group(5)))
    except ValueError as e:
        raise ValueError(f"{text} という日付はありません") from e


def collection_window(year: int) -> tuple[dt.date, dt.date]:
    """When a fiscal year's results can be collected: after the year ends, within the next one."""
    return dt.date(year + 1, 4, 1), dt.date(year + 2, 3, 31)
