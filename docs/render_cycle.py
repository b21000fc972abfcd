"""Render a whole yearly cycle to PNG pages, to look at what departments and readers will print.

    PYTHONPATH=src python3 docs/render_cycle.py [OUT] [--readme]

Runs `plan-xl demo` (templates, returns, collect, corrections, report) into OUT/cycle, adds the
FY2022 report, converts every workbook a person opens to PDF with LibreOffice (one soffice
call) and each PDF to PNG pages with pdftoppm: OUT/png/<workbook>/<page>.png. With --readme it
also refreshes the two pictures README shows (docs/img/report.png, docs/img/template.png).

Needs LibreOffice (soffice) and poppler-utils (pdftoppm, pdftotext). ＭＳ ゴシック is drawn with
IPAGothic (fonts-ipafont-gothic, the same metrics) through tests/fonts/fonts.conf; without it
LibreOffice substitutes a font with taller lines and rows look clipped that fit in Excel.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FONTS_CONF = HERE.parent / "tests" / "fonts" / "fonts.conf"


def workbooks(root: Path) -> list[Path]:
    """The workbooks of a finished demo cycle worth looking at, plus the FY2022 report."""
    from plan_xl.workbooks.report import build_report
    from plan_xl.workspace import Workspace

    ws = Workspace(root)
    report_2022 = build_report(ws.load(), 2022, root / "workbooks" / "2022年度_報告書.xlsx")
    found = [report_2022, *sorted((root / "workbooks").glob("2023年度_*.xlsx"))]
    found += sorted((root / "templates" / "2023").glob("*.xlsx"))
    found += sorted((root / "workbooks" / "corrections").rglob("*.xlsx"))
    return [p for p in found if p != report_2022 or p.exists()]


def to_pdf(books: list[Path], out: Path) -> list[Path]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("LibreOffice (soffice) が見つかりません。")
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(out), "FONTCONFIG_FILE": str(FONTS_CONF)}
    profile = (out / "lo-profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out), *map(str, books)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return [out / f"{b.stem}.pdf" for b in books]


def to_png(pdf: Path, out: Path, dpi: int = 60) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


def first_page_with(pdf: Path, *texts: str) -> int:
    """1-based number of the first page whose text contains every one of `texts`."""
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    return next(n for n, page in enumerate(pages, 1) if all(t in "".join(page.split()) for t in texts))


def readme_pictures(pdfs: list[Path], img: Path) -> None:
    """One page of the FY2023 report and one plan sheet of a template, small."""
    img.mkdir(parents=True, exist_ok=True)
    report = next(p for p in pdfs if p.stem.startswith("2023年度_行財政改革"))
    template = next(p for p in pdfs if "進捗状況調査票_行政マネジメント課" in p.stem)
    # the report's 1-3-1 page (schedule and progress), the template's first page with input boxes
    for pdf, needles, name in [(report, ("取組内容", "デジタルファースト推進事業"), "report"),
                               (template, ("実施計画名", "計画の見直し", "行政組織の見直し"), "template")]:
        page = first_page_with(pdf, *needles)
        stem = img / name
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), str(stem)], check=True)
        print(f"{stem}.png ← {pdf.name} p.{page}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path,
                        default=Path(f"render-{dt.datetime.now():%Y%m%d-%H%M%S}"))
    parser.add_argument("--readme", action="store_true", help="refresh docs/img/*.png")
    args = parser.parse_args()
    from plan_xl.demo import run_demo

    run_demo(args.out / "cycle", lambda message: None)
    books = workbooks(args.out / "cycle")
    pdfs = to_pdf(books, args.out / "pdf")
    for pdf in pdfs:
        pages = to_png(pdf, args.out / "png" / pdf.stem)
        print(f"{len(pages):3d} pages  {args.out / 'png' / pdf.stem}")
    if args.readme:
        readme_pictures(pdfs, HERE / "img")


if __name__ == "__main__":
    main()
