"""Whole files only: every file plan-xl replaces (register, report, status workbook, correction
copies, open data, PDF, archive, backups) is written to a temporary file in the same folder and
then moved over the old one in one step, so a reader (or Excel) never sees half a file and a
killed run leaves the old file as it was.

One temporary name: `.<stem>.<pid>.tmp<suffix>` beside the file; the process id tells a
leftover of a killed run (`stale_temps`) from a file another live process is writing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .lock import pid_alive

# Excel, a preview pane or an anti-virus scanner may hold a file for a moment on Windows: a
# replace that fails with PermissionError is tried again for about two seconds before giving up.
RETRIES, PAUSE = 20, 0.1


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


@contextmanager
def replacing(path: Path, durable: bool = False) -> Iterator[Path]:
    """The temporary path to write; when the block ends without error it replaces `path`
    (`durable`: flushed to disk first, and the folder's entry after). Removed on any error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` as the whole new content of `path`."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def replace(source: Path, target: Path) -> None:
    """os.replace, tried again while Windows reports the target held by another program."""
    for attempt in range(RETRIES):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == RETRIES - 1:
                raise
            time.sleep(PAUSE)


def stale_temps(folder: Path, stem_pattern: str) -> list[Path]:
    """Temporary files (of names matching `stem_pattern`) left by processes that are gone."""
    out = []
    for tmp in folder.glob(f".{stem_pattern}.*.tmp*"):
        pid = tmp.name.rsplit(".tmp", 1)[0].rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            out.append(tmp)
    return out


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
