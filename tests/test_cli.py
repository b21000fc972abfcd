"""Every message plan-xl prints is Japanese: --help of every command, click's own usage errors,
and the refusals and notices of the commands (run through CliRunner, as a clerk would type them)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from plan_xl.cli import main, usage_message
from plan_xl.fiscal import parse_date

# an ASCII-only run of three or more words: an English sentence (commands and options excluded)
ENGLISH = re.compile(r"(?<![-\w/.@$<])[A-Za-z][a-z']+(?:[ ,]+[A-Za-z][a-z']*){2,}")
ENGLISH_WORDS = re.compile(r"(?<![-\w])(Usage|Options|Commands|Error|Aborted|default|version|Missing|Invalid|"
                           r"required|does not|not a valid|No such)\b")


def english(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if "plan-xl" in line.split("：")[0] and line.strip().startswith("plan-xl"):
            continue  # an example command line
        found += ENGLISH.findall(line) + ENGLISH_WORDS.findall(line)
    return found


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, cmd in group.commands.items():
        out += commands(cmd, path + (name,)) if isinstance(cmd, click.Group) else [path + (name,)]
    return out


USAGE_ERRORS = [
    ["bogus"], ["mail", "bogus"], ["mail"], ["templates", "--year"], ["templates", "--year", "abc"],
    ["templates", "--bogus"], ["templates", "--due", "2024-13-45"], ["templates", "--due", "来週"],
    ["import"], ["import", "ない.xlsx"], ["mail", "report"], ["mail", "templates", "--encoding", "sjis"],
    ["check", "extra"], ["report", "--date"], ["--dir"], ["status", "--year", "2030"],
    ["report", "--year", "2030"], ["templates", "--year", "2030"],
]


def run(args, root=None):
    prefix = ["--dir", str(root)] if root else []
    return CliRunner().invoke(main, prefix + list(args))


def test_help_of_every_command_is_japanese():
    found = {}
    for path in commands(main):
        result = run([*path, "--help"])
        assert result.exit_code == 0, result.output
        found.update({" ".join(path): english(result.output)} if english(result.output) else {})
    version = run(["--version"])
    assert "バージョン" in version.output
    assert not found, found
    # a docstring's line break between Japanese words is no space (click would put one there)
    assert "それより前の年度の達成率" in run(["plan", "target", "--help"]).output


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_are_japanese(args, workspace):
    result = run(args, workspace.root)
    assert result.exit_code == 2, result.output
    assert "エラー" in result.output or "使い方" in result.output
    assert not english(result.output), result.output


def test_the_english_that_click_would_print_is_translated():
    for message in ["No such command 'x'.", "Option '--year' requires an argument.",
                    "Got unexpected extra argument (a)", "'x' is not a valid integer.",
                    "'x' is not one of 'a', 'b'.", "File 'a.xlsx' does not exist.", "Something new."]:
        assert not english(usage_message(click.UsageError(message))), message


def test_dates_are_read_as_clerks_write_them():
    import datetime as dt

    for text in ["2024-06-10", "2024/6/10", "令和6年6月10日", "２０２４／６／１０", "R6.6.10"]:
        assert parse_date(text) == dt.date(2024, 6, 10)
    with pytest.raises(ValueError, match="日付"):
        parse_date("2024-02-30")


def test_refusals_and_notices_of_the_cycle(workspace):
    root = workspace.root
    result = run(["status", "--year", "2023"], root)
    assert result.exit_code == 1 and "まだ作成されていません" in result.output
    result = run(["templates", "--year", "2023", "--due", "2023/5/31", "--department", "人事課"], root)
    assert result.exit_code == 0, result.output
    assert "注意" in result.output and "期間" in result.output  # FY2023 is collected from April 2024
    result = run(["templates", "--year", "2023", "--due", "令和6年5月31日", "--department", "人事課"], root)
    assert result.exit_code == 2 and "--reissue" in result.output and "発行済み" in result.output
    result = run(["templates", "--year", "2023", "--due", "令和6年5月31日", "--department", "人事課",
                  "--reissue"], root)
    assert result.exit_code == 0 and "注意" not in result.output and "以前に配布した調査票も有効" in result.output
    result = run(["status", "--year", "2023"], root)
    assert result.exit_code == 0 and "人事課" in result.output
    result = run(["init", str(root / "新しい作業")])
    assert "--due" in result.output
    outputs = [result.output]
    for args in (["check"], ["status"], ["report", "--year", "2022", "--date", "令和5年8月1日"],
                 ["mail", "reminders", "--year", "2023", "--due", "2024/6/7"], ["collect"]):
        outputs.append(run(args, root).output)
    assert not [e for o in outputs for e in english(o)], outputs


def test_python_dash_m_runs_the_cli_with_japanese_usage_errors():
    """`py -m plan_xl` is what README shows for a Windows PC without the script on PATH."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "plan_xl", "--version"], capture_output=True, text=True,
                        encoding="utf-8", timeout=60)
    assert ok.returncode == 0 and "バージョン" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "plan_xl", "bogus"], capture_output=True, text=True,
                         encoding="utf-8", timeout=60)
    assert bad.returncode == 2 and "コマンド bogus はありません" in bad.stderr
