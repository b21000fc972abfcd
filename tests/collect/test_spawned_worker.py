"""What a judge worker started by spawn (as on Windows) imports: what judging needs, never the
commands of plan-xl, however plan-xl was started. Real spawned processes, asked for sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from plan_xl import workers
from plan_xl.collect import Judge
from plan_xl.collect import judge as judge_module
from plan_xl.register.source import load_source

# what plan-xl's commands import and judging never needs
NOT_IN_A_WORKER = ("plan_xl.cli", "click", "plan_xl.demo", "plan_xl.mail", "plan_xl.export",
                   "plan_xl.workbooks.report", "plan_xl.workbooks.templates", "plan_xl.workbooks.importer",
                   "plan_xl.register.checks", "pandas")
MODULES = "sorted(__import__('sys').modules)"  # eval'd in the worker: nothing more imported to ask


def _worker_modules() -> list[str]:
    """sys.modules of a judge worker, started as judge_all starts it under spawn."""
    ctx = Judge(load_source(), b"k", 2023)
    with workers.pool(1, "spawn", judge_module._worker_init, ctx) as pool:
        return pool.submit(eval, MODULES).result()


def test_a_spawned_worker_imports_judging_and_no_command():
    modules = _worker_modules()
    assert "plan_xl.collect.judge" in modules and "plan_xl.collect.validate" in modules
    assert [m for m in NOT_IN_A_WORKER if m in modules] == []


# The script pip writes for the `plan-xl` command on Linux and macOS, with the command itself
# replaced by what collect does with many files: start a judge worker by spawn.
SCRIPT = '''import sys
from plan_xl.cli import run

if __name__ == "__main__":
    import plan_xl.cli
    sys.path.insert(0, sys.argv[1])
    from test_spawned_worker import _worker_modules
    plan_xl.cli.main.main = lambda **kwargs: print(__import__("json").dumps(_worker_modules()))
    sys.exit(run())
'''


def test_the_plan_xl_script_is_not_run_again_in_a_spawned_worker(tmp_path):
    """multiprocessing re-runs a parent's main script in a spawned process; run() names the
    script plan_xl.__main__, which it leaves alone (as it does `python -m plan_xl`)."""
    script = tmp_path / "作業フォルダ" / "plan-xl"
    script.parent.mkdir()
    script.write_text(SCRIPT, encoding="utf-8")
    here = str(Path(__file__).parent)
    path = os.pathsep.join([str(Path(judge_module.__file__).parents[2]), here, os.environ.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(script), here], capture_output=True, text=True, encoding="utf-8",
                         env={**os.environ, "PYTHONPATH": path}, check=True, timeout=120)
    modules = json.loads(out.stdout.splitlines()[-1])
    assert "plan_xl.collect.judge" in modules
    assert [m for m in NOT_IN_A_WORKER if m in modules] == []
