import pytest

from plan_xl.errors import UsageError
from plan_xl.register.model import Progress
from plan_xl.workspace import Workspace, init_workspace


def test_cycle_year_follows_the_issued_templates(workspace, register):
    assert workspace.cycle_year(register) == 2023  # nothing issued: the first year without progress
    folder = workspace.templates_dir(2023)
    folder.mkdir(parents=True)
    (folder / "2023年度_進捗状況調査票_人事課.xlsx").write_bytes(b"x")
    register.progress.append(Progress("1-1-1", 0, 2023, "collected already"))
    assert register.first_open_year() == 2024
    assert workspace.cycle_year(register) == 2023  # still collecting FY2023


def test_missing_working_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="作業フォルダ"):
        Workspace(tmp_path / "typo").load()
    assert not (tmp_path / "typo").exists()


COMMANDS = [["check"], ["status"], ["templates", "--year", "2023"], ["report", "--year", "2022"],
            ["collect"], ["mail", "reminders", "--year", "2023"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_commands_refuse_a_folder_that_is_not_a_working_folder(tmp_path, args):
    from click.testing import CliRunner

    from plan_xl.cli import main

    result = CliRunner().invoke(main, ["--dir", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert "ここは plan-xl の作業フォルダではありません。plan-xl init で作成するか --dir で指定してください。" \
        in result.output
    assert list(tmp_path.iterdir()) == []  # no register, no key, no folder made on the side


def test_init_makes_the_register_and_the_signing_key(tmp_path):
    made = init_workspace(tmp_path / "行革")
    ws = Workspace(tmp_path / "行革")
    assert ws.register_path in made and ws.key_path in made and ws.exists()
