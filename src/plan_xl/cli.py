"""The `plan-xl` command line. Thin: parse options, call one library function, print a summary.
Only this module imports click; errors become one Japanese line and an exit code here."""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import PlanXlError
from .workspace import Workspace


class Context:
    def __init__(self, root: Path, quiet: bool, debug: bool):
        self.workspace = Workspace(root)
        self.quiet = quiet
        self.debug = debug

    def say(self, message: str = "") -> None:
        if not self.quiet:
            click.echo(message)


def _reconfigure_console() -> None:
    # A Windows console or a pipe in cp932 cannot show every character: replace, never crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def handle_errors(func):
    """Turn PlanXlError into one line plus exit code; other exceptions too unless --debug."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx: Context = click.get_current_context().obj
        try:
            return func(*args, **kwargs)
        except PlanXlError as e:
            if ctx.debug:
                traceback.print_exc()
            click.echo(f"エラー: {e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("中断しました。", err=True)
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - the last line of defence for a clerk
            if ctx.debug:
                raise
            click.echo(f"エラー: 予期しない問題が発生しました（{type(e).__name__}: {e}）。"
                       f"--debug を付けて実行すると詳細が表示されます。", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plan-xl")
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="作業フォルダ（workbooks/ と templates/ がある場所）")
@click.option("-q", "--quiet", is_flag=True, help="経過の表示を省きます。")
@click.option("--debug", is_flag=True, help="エラーの詳細（トレースバック）を表示します。")
@click.pass_context
def main(ctx: click.Context, root: Path, quiet: bool, debug: bool) -> None:
    """plan-xl: 行財政改革 実施計画の進捗状況を Excel で取りまとめます。

    \b
    例:
      plan-xl check
      plan-xl --dir C:\\行革\\2023 check
    """
    _reconfigure_console()
    ctx.obj = Context(root, quiet, debug)


@main.command()
@click.pass_obj
@handle_errors
def check(ctx: Context) -> None:
    """台帳（workbooks/register.xlsx）の整合性を確認します。誤りがあれば終了コード 1。

    \b
    例:
      plan-xl check
    """
    from .check import check_register
    from .findings import has_errors

    reg = ctx.workspace.load()
    findings = check_register(reg)
    for f in findings:
        click.echo(str(f))
    n_err = sum(f.severity == "誤り" for f in findings)
    ctx.say(f"台帳 {ctx.workspace.register_path}: 実施計画 {len(reg.plans)} 件、"
            f"所管課 {len(reg.departments)} 課、指標 {sum(len(p.indicators) for p in reg.plans)} 件、"
            f"誤り {n_err} 件、注意 {len(findings) - n_err} 件")
    if has_errors(findings):
        sys.exit(1)
