"""`plan-xl report --pdf`: the report workbook as a PDF, through LibreOffice headless.

The city publishes the report on its website as a PDF. The workbook already prints as wanted
(A4 landscape, one page wide, every plan on its own sheet and so on its own page); LibreOffice
turns it into a PDF with its fonts embedded and a bookmark per sheet.

LibreOffice runs with its own throw-away profile (two instances cannot share one), and on
Linux with a font alias that draws ＭＳ ゴシック with IPAGothic, whose metrics are the same, so
rows sized for Excel are not clipped (see FACTS.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import messages as M
from ..atomic import replacing
from ..errors import PlanXlError

# Bookmarks (one per sheet) and the 14 standard fonts embedded too; others are always embedded.
FILTER = "pdf:calc_pdf_Export:" + json.dumps({
    "ExportBookmarks": {"type": "boolean", "value": "true"},
    "EmbedStandardFonts": {"type": "boolean", "value": "true"},
}, separators=(",", ":"))
WINDOWS_PLACES = [r"C:\Program Files\LibreOffice\program\soffice.exe",
                  r"C:\Program Files (x86)\LibreOffice\program\soffice.exe"]
FONT_ALIAS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>ＭＳ ゴシック</family><prefer><family>IPAGothic</family></prefer></alias>
  <alias binding="same"><family>MS Gothic</family><prefer><family>IPAGothic</family></prefer></alias>
</fontconfig>
"""


def find_soffice() -> str | None:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    return next((p for p in WINDOWS_PLACES if os.name == "nt" and Path(p).exists()), None)


def to_pdf(workbook: Path, pdf: Path | None = None, timeout: float = 900) -> Path:
    """Convert `workbook` to `pdf` (default: beside it, same name) and return the PDF's path."""
    workbook = Path(workbook)
    pdf = Path(pdf) if pdf else workbook.with_suffix(".pdf")
    soffice = find_soffice()
    if soffice is None:
        raise PlanXlError(M.W021())
    with tempfile.TemporaryDirectory(prefix="plan-xl-pdf-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ)
        if os.name != "nt":
            (tmp / "fonts.conf").write_text(FONT_ALIAS, encoding="utf-8")
            env["FONTCONFIG_FILE"] = str(tmp / "fonts.conf")
        command = [soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
                   "--convert-to", FILTER, "--outdir", str(tmp / "out"), str(workbook.resolve())]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            raise PlanXlError(M.W015(timeout=timeout)) from e
        made = tmp / "out" / f"{workbook.stem}.pdf"
        if not made.exists():
            detail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
            raise PlanXlError(M.W016(detail=detail[-1] if detail else done.returncode))
        try:
            with replacing(pdf) as partial:
                shutil.copyfile(made, partial)
        except PermissionError as e:
            raise PlanXlError(M.W017(pdf=pdf)) from e
    return pdf
