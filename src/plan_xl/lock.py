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
from pathlib import Path

from .errors import RegisterBusyError


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

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
        owner = self._owner()
        return owner.get("host") == socket.gethostname() and not pid_alive(int(owner.get("pid", 0)))

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self.is_stale():
                    owner = self._owner()
                    self.notice(f"前回の実行（{owner.get('started', '?')} 開始、プロセス {owner.get('pid')}）が"
                                "途中で終了した際のロックが残っていたため解除しました。")
                    self.path.unlink(missing_ok=True)
                    continue
                owner = self._owner()
                raise RegisterBusyError(
                    f"ほかの取りまとめ処理が実行中です（{owner.get('host', '?')} で {owner.get('started', '?')} 開始、"
                    f"プロセス {owner.get('pid', '?')}）。終わってからもう一度実行してください。"
                    f"実行中でないことが確かな場合は、ロックファイル {self.path} を削除してください。") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "started": dt.datetime.now().isoformat(timespec="seconds")}, f)
            return
        raise RegisterBusyError(f"ロックファイル {self.path} を作成できません。")

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
