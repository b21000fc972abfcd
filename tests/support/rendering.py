"""How tall LibreOffice draws each wrapped cell: the rendered-height check of the printed layout;
and the text of each page of a PDF it printed, through poppler (pdfinfo, pdftotext).

Merged cells do not auto-fit, so plan-xl computes every row height (layout.py). To check those
heights with a second application, every wrapped text cell of a workbook is copied into a
scratch spreadsheet (Flat ODS): one non-merged cell of the same width, font, size and weight per
row, rows marked "optimal height". LibreOffice computes those optimal heights on load; converting
the scratch files to .xlsx (many files in one soffice call) writes them out, and they are
compared with the height the workbook gives the cell (the sum of the rows a merge spans).

Fonts: ＭＳ ゴシック is replaced by IPAGothic, which has its metrics, through `fonts/fonts.conf`
(FONTCONFIG_FILE, no root needed). Column widths are converted the way Excel does
(Calibri 11, the workbook's Normal font: 7 px a character plus 5 px), not the way LibreOffice
converts them without Calibri's metric twin installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest

FONTS_CONF = Path(__file__).resolve().parents[1] / "fonts" / "fonts.conf"
DEFAULT_WIDTH, DEFAULT_HEIGHT = 8.43, 15.0


@dataclass
class WrappedCell:
    """One wrapped text cell as the workbook draws it."""

    book: str
    sheet: str
    cell: str
    text: str
    width_px: int  # Excel pixels across the merged range
    font: str
    size: float
    bold: bool
    given: float  # points: the rows the cell spans


def excel_px(width: float | None) -> int:
    """A column width in characters as Excel draws it (the xlsx stores w + 5/7)."""
    return int(round((DEFAULT_WIDTH + 5 / 7 if width is None else width) * 7))


def wrapped_cells(path: Path) -> list[WrappedCell]:
    """Every visible wrapped cell holding text, with its width and given height."""
    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        spans = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
        widths = {}  # openpyxl keeps a run of equal columns as one dimension (min..max)
        for dim in ws.column_dimensions.values():
            for c in range(dim.min or 1, (dim.max or dim.min or 1) + 1):
                widths[c] = excel_px(dim.width)
        for row in ws.iter_rows():
            for c in row:
                if not isinstance(c.value, str) or not c.value.strip() or not c.alignment.wrap_text:
                    continue
                m = spans.get((c.row, c.column))
                r1, c1, r2, c2 = (m.min_row, m.min_col, m.max_row, m.max_col) if m else (c.row, c.column) * 2
                given = sum(ws.row_dimensions[r].height or DEFAULT_HEIGHT for r in range(r1, r2 + 1))
                out.append(WrappedCell(path.name, ws.title, c.coordinate, c.value,
                                       sum(widths.get(k, excel_px(None)) for k in range(c1, c2 + 1)),
                                       c.font.name, float(c.font.sz or 11), bool(c.font.b), given))
    return out


def _scratch(cells: list[WrappedCell]) -> str:
    """A Flat ODS: one sheet per cell width, one optimal-height row per cell."""
    fonts = sorted({(c.font, c.size, c.bold) for c in cells})
    widths = sorted({c.width_px for c in cells})
    styles = [f'<style:style style:name="w{w}" style:family="table-column"><style:table-column-properties '
              f'style:column-width="{w / 96:.4f}in"/></style:style>' for w in widths]
    for k, (font, size, bold) in enumerate(fonts):
        weight = 'fo:font-weight="bold" style:font-weight-asian="bold"' if bold else ""
        styles.append(f'<style:style style:name="f{k}" style:family="table-cell"><style:table-cell-properties '
                      f'fo:wrap-option="wrap" style:vertical-align="top" fo:border="0.74pt solid #000000"/>'
                      f'<style:text-properties style:font-name="{escape(font)}" fo:font-size="{size}pt" '
                      f'style:font-name-asian="{escape(font)}" style:font-size-asian="{size}pt" {weight}/>'
                      f'</style:style>')
    styles.append('<style:style style:name="ro" style:family="table-row"><style:table-row-properties '
                  'style:use-optimal-row-height="true"/></style:style>')
    faces = "".join(f'<style:font-face style:name="{escape(f)}" svg:font-family="{escape(f)}"/>'
                    for f in sorted({c.font for c in cells}))
    tables = []
    for w in widths:
        rows = []
        for c in (c for c in cells if c.width_px == w):
            paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in c.text.split("\n"))
            k = fonts.index((c.font, c.size, c.bold))
            rows.append(f'<table:table-row table:style-name="ro"><table:table-cell table:style-name="f{k}" '
                        f'office:value-type="string">{paragraphs}</table:table-cell></table:table-row>')
        tables.append(f'<table:table table:name="w{w}"><table:table-column table:style-name="w{w}"/>'
                      + "".join(rows) + "</table:table>")
    ns = " ".join(f'xmlns:{p}="urn:oasis:names:tc:opendocument:xmlns:{u}"' for p, u in [
        ("office", "office:1.0"), ("style", "style:1.0"), ("text", "text:1.0"), ("table", "table:1.0"),
        ("fo", "xsl-fo-compatible:1.0"), ("svg", "svg-compatible:1.0")])
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {ns} office:version="1.3" '
            f'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
            f'<office:font-face-decls>{faces}</office:font-face-decls>'
            f'<office:automatic-styles>{"".join(styles)}</office:automatic-styles>'
            f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body>'
            f'</office:document>')


def soffice_env(work: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(work), "FONTCONFIG_FILE": str(FONTS_CONF)}


def needed_heights(groups: list[list[WrappedCell]], soffice: str, work: Path) -> list[list[float]]:
    """LibreOffice's optimal height (points) of every cell, per group; one soffice call."""
    src, out = work / "scratch", work / "measured"
    src.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, cells in enumerate(groups):
        paths.append(src / f"g{k}.fods")
        paths[-1].write_text(_scratch(cells), encoding="utf-8")
    subprocess.run([soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                    *map(str, paths)], check=True, timeout=600, env=soffice_env(work),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = []
    for k, cells in enumerate(groups):
        widths = sorted({c.width_px for c in cells})
        heights: dict[int, list[float]] = {}
        with zipfile.ZipFile(out / f"g{k}.xlsx") as z:
            for i, w in enumerate(widths, 1):
                xml = z.read(f"xl/worksheets/sheet{i}.xml").decode()
                heights[w] = [float(h) for h in re.findall(r'<row r="\d+"[^>]*?\bht="([\d.]+)"', xml)]
        cursor = {w: 0 for w in widths}
        measured = []
        for c in cells:
            measured.append(heights[c.width_px][cursor[c.width_px]])
            cursor[c.width_px] += 1
        result.append(measured)
    return result


def clipped(cells: list[WrappedCell], needed: list[float], tolerance: float = 0.5) -> list[str]:
    """The cells given less height than LibreOffice needs to draw them, described."""
    return [f"{c.book} {c.sheet}!{c.cell}: {c.given:.1f}pt < {n:.1f}pt 「{c.text[:30]}…」"
            for c, n in zip(cells, needed, strict=True) if n > c.given + tolerance]


# --- PDF text ------------------------------------------------------------------------------------
needs_poppler = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdfinfo", "pdftotext", "pdffonts")),
                                   reason="poppler-utils is not installed")


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_pages(pdf) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert "841.89 x 595.3" in info  # A4 landscape
    return [subprocess.run(["pdftotext", "-raw", "-f", str(n), "-l", str(n), str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout for n in range(1, pages + 1)]
