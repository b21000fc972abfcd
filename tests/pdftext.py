"""Text and pages of a PDF through poppler (pdfinfo, pdftotext): what LibreOffice printed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

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
