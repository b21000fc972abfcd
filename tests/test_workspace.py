import pytest

from plan_xl.errors import UsageError
from plan_xl.model import Progress
from plan_xl.workspace import Workspace


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
