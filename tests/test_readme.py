"""README's commands, run as written, and every command's help text."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import openpyxl

from plan_xl.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def _plan_xl(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plan_xl", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=300)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    run_main, run_tests = [b.strip() for b in _blocks(quick)]
    assert run_main.endswith("plan-xl demo")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert run_tests in ci.splitlines()


def test_quick_start_demo_produces_the_report_with_fy2023_results(tmp_path):
    quick = README.split("## Quick start", 1)[1]
    command = _blocks(quick)[0].strip().split("&&")[-1].strip()  # the package is installed already
    args = shlex.split(command)
    assert args[0] == "plan-xl"
    result = _plan_xl(args[1:], tmp_path)
    assert result.returncode == 0, result.stderr
    folder = next(tmp_path.glob("plan-xl-demo-*"))
    report = folder / "workbooks" / "2023年度_行財政改革実施計画_進捗状況.xlsx"
    assert report.exists()
    assert (folder / "workbooks" / "corrections" / "2023").is_dir()
    assert list((folder / "outbox" / "templates").glob("*.eml"))
    texts = {c.value for ws in openpyxl.load_workbook(report, read_only=True).worksheets
             for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert any(t.startswith("●行政組織改編\n・組織改編の検討、実施を実施した。") for t in texts)
    assert "2023年度" in texts


def test_yearly_cycle_commands_run_as_written(tmp_path):
    from plan_xl.demo import fill_template
    from plan_xl.register.source import load_source

    block = README.split("<!-- readme-cycle", 1)[1].split("<!-- /readme-cycle -->")[0]
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in _blocks(block)[0].splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    cwd = tmp_path
    reg = load_source()
    for line in lines:
        args = shlex.split(line)
        if args[0] == "cd":
            cwd = cwd / args[1]
            continue
        if args[1] == "collect":  # departments reply: fill their templates as they would
            inbox = cwd / "workbooks" / "inbox"
            for path in sorted((cwd / "templates" / "2023").glob("*.xlsx")):
                (inbox / path.name).write_bytes(fill_template(path.read_bytes(), reg))
        result = _plan_xl(args[1:], cwd)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    assert len(list((cwd / "templates" / "2023").glob("*.xlsx"))) == 16
    assert (cwd / "workbooks" / "2023年度_取りまとめ状況.xlsx").exists()
    assert (cwd / "workbooks" / "2023年度_行財政改革実施計画_進捗状況.xlsx").exists()
    assert list((cwd / "outbox" / "report").glob("*.eml"))
    assert list((cwd / "workbooks" / "archive").iterdir())
    assert len(list((cwd / "workbooks" / "opendata" / "2023").glob("072036_*.csv"))) == 3


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix}{name} ")


def test_every_command_has_help_text_with_an_example():
    commands = dict(_commands(main))
    assert {"init", "demo", "check", "templates", "collect", "status", "report", "import",
            "mail templates", "mail corrections", "mail reminders", "mail report"} <= set(commands)
    for name, cmd in commands.items():
        if isinstance(cmd, click.Group):
            continue
        assert cmd.help and "例:" in cmd.help and "plan-xl " in cmd.help.split("例:")[1], name


def test_usage_errors_are_one_japanese_line_with_what_to_do(tmp_path):
    result = _plan_xl(["status", "--yaer", "2023"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("エラー: オプション --yaer はありません（もしかして --year）。 "
                                     "plan-xl status --help で使い方を確認できます。")
    missing = _plan_xl(["mail", "report"], tmp_path)
    assert missing.returncode == 2 and "'--to' を指定してください" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_plan_change_commands_run_as_written(tmp_path):
    """README 「計画の変更」: every command as written, the clerk's Excel edit where it says so,
    and the FY2022 report unchanged by all of it."""
    from plan_xl.register.source import load_source
    from plan_xl.workbooks.report import build_report

    block = README.split("<!-- readme-plan", 1)[1].split("<!-- /readme-plan -->")[0]
    raw = _blocks(block)[0].splitlines()
    cwd = tmp_path
    for line in raw:
        if line.startswith("# …"):  # the clerk edits register.xlsx in Excel
            path = cwd / "workbooks" / "register.xlsx"
            wb = openpyxl.load_workbook(path)
            ws = wb["計画"]
            r = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "1-3-9")
            ws.cell(r, [c.value for c in ws[1]].index("事業概要") + 1).value = "マイナンバーカードの活用を進める。"
            wb.save(path)
            continue
        line = re.sub(r"\s+#.*$", "", line).strip()
        if not line or line.startswith("#"):
            continue
        args = shlex.split(line)
        if args[0] == "cd":
            cwd = cwd / args[1]
            continue
        result = _plan_xl(args[1:], cwd)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    history = _plan_xl(["plan", "history"], cwd).stdout
    assert "新規事業の概要と指標" in history and "ダイバーシティ推進課" in history
    expected = build_report(load_source(), 2022, tmp_path / "expected.xlsx")

    def cells(path):
        wb = openpyxl.load_workbook(path, read_only=True)
        return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
    assert cells(cwd / "workbooks" / "2022年度_行財政改革実施計画_進捗状況.xlsx") == cells(expected)
