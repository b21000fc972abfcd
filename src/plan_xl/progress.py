"""How a long step (collect's files, the templates) reports to whoever runs it, in the manner of
sqlite-utils' `progressbar`: callers always get an object with the same two methods and never
test for None.

    progress.update(1, item)    one more item done (`item`: what was made, e.g. a template's path)
    progress.notice(text)       a line a person must read (a stale lock cleared, …)

This base shows nothing: it counts, and keeps the notices for a library caller to read. The
command line (cli.py) passes one that draws a bar or prints lines, and never drops a notice.
"""

from __future__ import annotations


class Progress:
    def __init__(self) -> None:
        self.done = 0
        self.notices: list[str] = []

    def update(self, n: int = 1, item: object = None) -> None:
        self.done += n

    def notice(self, text: str) -> None:
        self.notices.append(text)
