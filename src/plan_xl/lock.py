"""A lock file so that two runs never write the register at the same time.

The lock is a file created with O_EXCL next to the register, holding the owner's host, process
id and start time. A lock whose process no longer runs on this host is stale (a killed run)
and is cleared with a notice. Works the same on Windows and POSIX.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from pathlib import Path

from . import messages as M
from .errors import RegisterBusyError

# A lock file still empty this long after it was created belongs to a run killed right after
# creating it (a live run writes its owner immediately).
UNREADABLE_STALE_SECONDS = 30


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes  # here: its windll exists only on Windows

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RegisterLock:
    """`with RegisterLock(path):` holds the lock; raises RegisterBusyError if another live run has it."""

    def __init__(self, path: Path, notice=None):
        self.path = Path(path)
        self.notice = notice or (lambda message: None)

    def _owner(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def is_stale(self) -> bool:
        """A lock left by a run that ended without releasing it: its process no longer runs on
        this host, or it is still empty/unreadable long after creation (the run was killed
        between creating the file and writing its owner). A lock of another host is never stale
        here: that run may be alive, so only a person can clear it."""
        owner = self._owner()
        if not owner:
            try:
                age = time.time() - self.path.stat().st_mtime
            except OSError:
                return False
            return age > UNREADABLE_STALE_SECONDS
        try:
            pid = int(owner.get("pid", 0))
        except (TypeError, ValueError):
            pid = 0
        return owner.get("host") == socket.gethostname() and not pid_alive(pid)

    def _clear_stale(self) -> bool:
        """Remove the lock if it is (still) stale. Two runs may find the same stale lock; the
        check and the removal happen under a second O_EXCL file, so one run never removes the
        fresh lock another run has just taken. Returns whether the stale lock was removed."""
        guard = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:  # a guard left by a run killed in these few lines
                if time.time() - guard.stat().st_mtime > UNREADABLE_STALE_SECONDS:
                    guard.unlink(missing_ok=True)
            except OSError:
                pass
            return False
        try:
            os.close(fd)
            if self.path.exists() and self.is_stale():
                self.path.unlink(missing_ok=True)
                return True
            return False
        finally:
            guard.unlink(missing_ok=True)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self.is_stale():
                    owner = self._owner()
                    if self._clear_stale():
                        self.notice(M.S026(started=owner.get("started", "?"), pid=owner.get("pid", "?")))
                    continue
                if not self.path.exists():  # released between our attempt and our look
                    continue
                owner = self._owner()
                raise RegisterBusyError(
                    M.S024(host=owner.get("host", "?"), started=owner.get("started", "?"),
                           pid=owner.get("pid", "?"), path=self.path)) from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "started": dt.datetime.now().isoformat(timespec="seconds")}, f)
            return
        raise RegisterBusyError(M.S025(path=self.path))

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
