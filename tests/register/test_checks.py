from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.register.checks import RULES, Context, check_register
from plan_xl.register.model import Progress, Span


def errors(reg):
    return [f for f in check_register(reg) if f.severity == "誤り"]


def test_shipped_register_has_no_errors(source_register):
    assert errors(source_register) == []


def test_each_broken_rule_is_reported_in_japanese(register):
    register.plans[1].id = register.plans[0].id  # duplicate id
    register.plans[2].departments.append("存在しない課")
    register.plans[3].sections[0].actions[0].rows[0].append(Span(2021, 2026, "期間外"))
    register.plans[4].sections[0].indicators[0].unit = ""
    register.progress.append(Progress("9-9-9", 0, 2030, "x"))
    found = {(f.code, f.sheet) for f in errors(register)}
    # duplicate 計画ID, unknown 所管課, schedule outside the period, no 単位, progress of no plan
    assert {("R018", "計画"), ("R062", "計画"), ("R028", "取組"), ("R033", "指標"), ("R042", "進捗")} <= found


def test_a_rule_runs_alone_and_reports_only_its_codes(register):
    """Each rule is testable alone (as frictionless' checks are): here the 進捗/指標実績 rule."""
    register.progress.append(register.progress[0])  # the same plan, section and year twice
    register.actuals.append(register.actuals[0])
    rule = next(r for r in RULES if r.name == "yearly_rows")
    found = list(rule.check(Context(register)))
    assert sorted((f.code, f.sheet) for f in found) == [("R041", "進捗"), ("R047", "指標実績")]
    assert {f.code for f in found} <= set(rule.codes)


def test_cli_check_exit_codes(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["--dir", str(tmp_path), "init"]).exit_code == 0
    result = runner.invoke(main, ["--dir", str(tmp_path), "check"])
    assert result.exit_code == 0, result.output
    assert "実施計画 20 件" in result.output
    assert (tmp_path / "workbooks" / "register.xlsx").exists()

    # break the register in the workbook itself: a department nobody knows
    from plan_xl.register.store import load_register, save_register

    path = tmp_path / "workbooks" / "register.xlsx"
    reg = load_register(path)
    reg.plans[0].departments = ["架空課"]
    save_register(reg, path)
    result = runner.invoke(main, ["--dir", str(tmp_path), "check"])
    assert result.exit_code == 1
    assert "架空課" in result.output


def test_cli_reports_a_damaged_register_in_one_line(tmp_path):
    (tmp_path / "workbooks").mkdir()
    (tmp_path / "workbooks" / "register.xlsx").write_bytes(b"not a workbook")
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "check"])
    assert result.exit_code == 1
    assert "台帳" in result.output and "Traceback" not in result.output
