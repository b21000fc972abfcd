"""`plan-xl export`: the register as open data, in three formats with the same tables
(frames.py): CSV (UTF-8 with BOM so that Excel opens it, one file per table), one .xlsx with a
sheet per table, and JSON (one file, an object of tables, each a list of records).

Each format is written and read back here side by side (`write_*` / `read_*`), with the one
schema of frames.SCHEMA, so a test can compare every format with the register. Output is a
function of the register: no clock, fixed document time, fixed row and column order.

Text from the register is untrusted: xlsx cells are written as strings (never formulas or
links); in CSV a text starting with = + - @ or a control character gets a leading ' (what
OWASP advises against formula injection), which `read_csv` removes again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from . import messages as M
from .atomic import write_bytes
from .errors import PlanXlError
from .register.frames import CODE, SCHEMA, TEXT, frames, load_pandas, typed
from .register.model import Register, format_number
from .workbooks.xlsx import FIXED_TIME, new_workbook

if TYPE_CHECKING:
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- the local-government code -------------------------------------------------------------
def check_digit(five: str) -> int:
    """The check digit of a 全国地方公共団体コード (JIS X 0401/0402, modulus 11)."""
    total = sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def valid_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and check_digit(code[:5]) == int(code[5])


def local_government_code(settings: Path) -> str:
    """[open_data] local_government_code of plan-xl.toml ('' when not set)."""
    if not settings.exists():
        return ""
    try:
        table = tomllib.loads(settings.read_text(encoding="utf-8")).get("open_data", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PlanXlError(M.W018(settings=settings, error=e)) from e
    code = str(table.get("local_government_code", "")).strip()
    if code and not valid_code(code):
        raise PlanXlError(M.W019(settings=settings, code=code))
    return code


# --- writing ---------------------------------------------------------------------------------
def export(reg: Register, year: int, out_dir: Path, code: str = "") -> list[Path]:
    """Write the tables of `year` in every format into `out_dir`; returns the files written."""
    tables = frames(reg, year, code)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{code + '_' if code else ''}行財政改革実施計画_{year}年度"
    paths = []
    for name, df in tables.items():
        paths.append(_replace(out_dir / f"{stem}_{name}.csv", write_csv(df)))
    paths.append(_replace(out_dir / f"{stem}.xlsx", write_xlsx(tables)))
    paths.append(_replace(out_dir / f"{stem}.json", write_json(tables)))
    return paths


def _replace(path: Path, data: bytes) -> Path:
    """Whole files only: a file open in Excel is reported, never left half-written."""
    try:
        write_bytes(path, data)
    except PermissionError as e:
        raise PlanXlError(M.W006(path=path)) from e
    return path


def _missing(value) -> bool:
    return value is None or value is load_pandas().NA or (isinstance(value, float) and math.isnan(value))


def _cell(value) -> str:
    if _missing(value):
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return format_number(float(value))


def write_csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(df.columns)
    for row in df.itertuples(index=False):
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def write_xlsx(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    book = new_workbook(buf, "行財政改革 実施計画 オープンデータ", FIXED_TIME)
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    for name, df in tables.items():
        ws = book.add_worksheet(name)
        for c, column in enumerate(df.columns):
            ws.write_string(0, c, column, head)
            ws.set_column(c, c, 40 if column in ("事業概要", "目指す姿", "実績", "計画の見直し", "変動要因") else 14)
        for r, row in enumerate(df.itertuples(index=False), 1):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    if value:
                        ws.write_string(r, c, value)
                elif _cell(value):
                    ws.write_number(r, c, float(value))
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(df), 1), len(df.columns) - 1)
    book.close()
    return buf.getvalue()


def write_json(tables: dict[str, pd.DataFrame]) -> bytes:
    data = {name: [{k: _json(v) for k, v in zip(df.columns, row, strict=True)}
                   for row in df.itertuples(index=False)] for name, df in tables.items()}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _json(value):
    if isinstance(value, str):
        return value
    if _missing(value):
        return None
    number = float(value)
    return int(number) if number.is_integer() and not isinstance(value, float) else number


# --- reading back ----------------------------------------------------------------------------
def read_csv(path: Path, table: str) -> pd.DataFrame:
    df = load_pandas().read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for column, kind in SCHEMA[table]:
        if kind == TEXT:
            df[column] = df[column].map(lambda v: v[1:] if v.startswith("'") and v[1:].startswith(FORMULA_START)
                                        else v)
    return typed(df, table)


def read_xlsx(path: Path) -> dict[str, pd.DataFrame]:
    sheets = load_pandas().read_excel(path, sheet_name=None, engine="calamine", dtype=object)
    return {name: typed(sheets[name], name) for name in SCHEMA}


def read_json(path: Path) -> dict[str, pd.DataFrame]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: typed(load_pandas().DataFrame(data[name], columns=[c for c, _ in SCHEMA[name]]), name)
            for name in SCHEMA}


__all__ = ["CODE", "export", "local_government_code", "read_csv", "read_json", "read_xlsx"]
