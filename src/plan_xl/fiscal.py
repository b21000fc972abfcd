"""Fiscal years (年度, April to March) and the Japanese eras (元号).

2023年度 is 令和5年度: the Reiwa year is the fiscal year minus 2018, and 2019 is 令和元年度.
A fiscal year is labelled with the era in force for most of it, as offices do: 1989年度 is
平成元年度, 2019年度 令和元年度. The next era is added with `add_era` (plan-xl reads it from
the register's 情報 sheet, item next_era, e.g. 「新元号:2041」), so no code change is needed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from . import messages as M

REIWA_OFFSET = 2018
# (name, first fiscal year, Latin initial)
ERAS: list[tuple[str, int, str]] = [("明治", 1868, "M"), ("大正", 1912, "T"), ("昭和", 1926, "S"),
                                    ("平成", 1989, "H"), ("令和", 2019, "R")]


def add_era(name: str, first_year: int, initial: str = "") -> None:
    """Register an era (the next one, once it is announced) starting with fiscal `first_year`."""
    if any(e[0] == name for e in ERAS):
        return
    if first_year <= ERAS[-1][1]:
        raise ValueError(M.Y001(name=name, first_year=first_year, last_era=ERAS[-1][0]))
    ERAS.append((name, first_year, initial))


def era_of(year: int) -> tuple[str, int]:
    """2023 -> ('令和', 5); 2016 -> ('平成', 28)."""
    for name, first, _ in reversed(ERAS):
        if year >= first:
            return name, year - first + 1
    raise ValueError(M.Y002(year=year))


def era_label(year: int) -> str:
    """2023 -> '令和5年度', 1989 -> '平成元年度'."""
    name, n = era_of(year)
    return f"{name}{'元' if n == 1 else n}年度"


def from_era(name: str, n: int) -> int:
    for era, first, initial in ERAS:
        if name in (era, initial) or name.upper() == initial:
            if n < 1:
                raise ValueError(M.Y003(era=era, row=n))
            return first + n - 1
    raise ValueError(M.Y004(name=name))


def to_reiwa(year: int) -> int:
    """2023 -> 5."""
    if year <= REIWA_OFFSET:
        raise ValueError(M.Y005(year=year))
    return year - REIWA_OFFSET


def from_reiwa(reiwa: int) -> int:
    """5 -> 2023."""
    if reiwa < 1:
        raise ValueError(M.Y006(reiwa=reiwa))
    return reiwa + REIWA_OFFSET


def reiwa_label(year: int) -> str:
    """2023 -> '令和5年度', 2019 -> '令和元年度'."""
    r = to_reiwa(year)
    return f"令和{'元' if r == 1 else r}年度"


def fy_label(year: int) -> str:
    """2023 -> '2023年度（令和5年度）', 2016 -> '2016年度（平成28年度）', as printed in the
    schedule header."""
    return f"{year}年度（{era_label(year)}）"


def fy_short(year: int) -> str:
    """2023 -> '2023年度', as printed in the progress rows."""
    return f"{year}年度"


_WESTERN = re.compile(r"^(\d{4})(?:年度?)?(?:[(（].*[)）])?$")
_ERA = re.compile(r"^(\D{1,4}?)(元|\d{1,2})(?:年度?)?$")


def parse_fy(text: str | int) -> int:
    """Read a fiscal year written any usual way: 2023, '2023年度', '2023年度（令和5年度）',
    '令和5年度', '令和元年度', 'R5', full-width digits included."""
    if isinstance(text, int):
        return text
    s = unicodedata.normalize("NFKC", str(text)).replace(" ", "").strip()
    if m := _WESTERN.match(s):
        return int(m.group(1))
    if m := _ERA.match(s):
        try:
            return from_era(m.group(1), 1 if m.group(2) == "元" else int(m.group(2)))
        except ValueError:
            pass
    raise ValueError(M.Y007(text=text))


_DATE = re.compile(r"^(?:(令和|R)(元|\d{1,2})|(\d{4}))[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", re.IGNORECASE)


def parse_date(text: str) -> dt.date:
    """Read a date written any usual way: 2024-06-10, 2024/6/10, 2024年6月10日, 令和6年6月10日,
    R6.6.10, full-width digits included."""
    s = unicodedata.normalize("NFKC", str(text)).replace(" ", "").strip()
    m = _DATE.match(s)
    if not m:
        raise ValueError(M.Y008(text=text))
    year = int(m.group(3)) if m.group(3) else from_reiwa(1 if m.group(2) == "元" else int(m.group(2)))
    try:
        return dt.date(year, int(m.group(4)), int(m.group(5)))
    except ValueError as e:
        raise ValueError(M.Y009(text=text)) from e


def collection_window(year: int) -> tuple[dt.date, dt.date]:
    """When a fiscal year's results can be collected: after the year ends, within the next one."""
    return dt.date(year + 1, 4, 1), dt.date(year + 2, 3, 31)
