"""Killing `plan-xl collect` mid-merge (SIGKILL, no clean-up) leaves the register old or new,
never half-written, and the next run finishes the job.

The child process runs the real command; a small driver wraps public functions and os.replace
so that it stops at a chosen point of the save and says so. No hook in the production code is
needed, and no private name of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from support.returned import YEAR, fill, identity, issue, typical_values

from plan_xl.collect import collect
from plan_xl.register.model import FieldKey
from plan_xl.register.store import load_register

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")

DRIVER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import plan_xl.collect.feedback as feedback
    import plan_xl.register.store as store

    point, root, register = sys.argv[1], sys.argv[2], Path(sys.argv[3]).resolve()

    def pause(here):
        if here == point:
            print("PAUSED", flush=True)
            time.sleep(120)

    def wrap(module, name, before="", after=""):
        original = getattr(module, name)
        def wrapper(*args, **kwargs):
            pause(before)
            result = original(*args, **kwargs)
            pause(after)
            return result
        setattr(module, name, wrapper)

    # The save's steps are seen from outside: the file writer, and os.replace, by where it puts
    # a file (this child only runs the command, so patching os here touches nothing else).
    real_replace = os.replace
    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        dst = Path(dst).resolve()
        if dst.parent == register.parent / "backup" and dst.name.startswith("register-"):
            pause("backup_made")      # old file copied, not yet replaced
        elif dst == register:
            pause("replaced")         # new register in place

    os.replace = replace
    wrap(store, "write_register_file", before="before_write", after="temporary_written")
    wrap(feedback, "write_status", before="writing_outputs")  # register saved, outputs pending

    from plan_xl.cli import main
    main(["--dir", root, "collect"])
""")


POINTS = {"before_write": "old", "temporary_written": "old", "backup_made": "old", "replaced": "new",
          "writing_outputs": "new"}


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    ws = issue(tmp_path_factory.mktemp("killed") / "作業フォルダ", ["DX戦略課"])
    reg = ws.load()
    template = ws.template_path(YEAR, "DX戦略課")
    values = typical_values(reg, identity(template))
    (ws.inbox / "dx.xlsx").write_bytes(fill(template, values))
    return ws, values


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_collect_leaves_old_or_new_register(issued, tmp_path, point):
    import shutil

    from plan_xl.workspace import Workspace

    ws = Workspace(tmp_path / "作業フォルダ")
    shutil.copytree(issued[0].root, ws.root)
    values = issued[1]
    old = ws.register_path.read_bytes()

    child = subprocess.Popen([sys.executable, "-c", DRIVER, point, str(ws.root), str(ws.register_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "PAUSED", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    after = load_register(ws.register_path)  # loadable in every case
    key = next(iter(values))
    state = "old" if ws.register_path.read_bytes() == old else "new"
    assert state == POINTS[point]
    if state == "new":
        field = FieldKey.parse(key)
        assert after.progress_for(field.target, field.section, field.year).results == values[key]

    rerun = collect(ws)  # the killed run's lock is stale and cleared; the work is completed
    assert rerun.exit_code == 0
    final = load_register(ws.register_path)
    for k, v in values.items():
        f = FieldKey.parse(k)
        got = (final.actual_for(f.target, f.year).value if f.kind == "actual" else
               getattr(final.progress_for(f.target, f.section, f.year), f.kind))
        assert got == v
    assert len(final.submissions) == 1
