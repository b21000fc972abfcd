"""The message catalogue (plan_xl.messages): every message a person sees has a code and one text
there, callers fill in exactly its placeholders, docs/messages.md is current, and a message
written in place instead (a Japanese literal handed to a Finding, an error or a verdict) fails."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

from plan_xl import messages as M
from plan_xl.errors import PlanXlError, UsageError
from plan_xl.findings import ERROR, WARNING, Finding
from plan_xl.register.checks import RULES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "plan_xl"
JAPANESE = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
# calls whose text reaches a person, and which argument is the text: findings, verdicts, errors
# (any *Error or *Exception: its first argument); the other arguments are names (sheets, cells)
MESSAGE_ARGUMENT = {"Finding": 1, "find": 1, "BadFile": 1, "CellError": 1, "_Dangling": 1, "FileResult": 2,
                    "_failed": 2, "fail": 0, "notice": 0, "BadParameter": 0}


def sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py")) if p.name != "messages.py"]


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _written_text(node: ast.AST) -> bool:
    """A str literal, f-string or + of them with Japanese in it: a sentence written in place."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _written_text(node.left) or _written_text(node.right)
    if isinstance(node, ast.IfExp):
        return _written_text(node.body) or _written_text(node.orelse)
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return any(isinstance(c, ast.Constant) and isinstance(c.value, str) and JAPANESE.search(c.value)
                   for c in ast.walk(node))
    return False


def written_in_place(tree: ast.Module) -> list[int]:
    """Lines where a message call gets its text written in place instead of from the catalogue."""
    lines = []
    constants = {t.id: a.value for a in tree.body if isinstance(a, ast.Assign) for t in a.targets
                 if isinstance(t, ast.Name)}  # a text kept in a module constant is written in place too
    for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
        name = _name(call)
        at = MESSAGE_ARGUMENT.get(name, 0 if name.endswith(("Error", "Exception")) else None)
        if name in ("error", "warn"):  # register checks: ctx.error(sheet, key, header, text), error(where, text)
            at = 3 if len(call.args) == 4 else 1
        if at is None:
            continue
        args = call.args[at:at + 1] + [k.value for k in call.keywords if k.arg == "message"]
        args = [constants.get(a.id, a) if isinstance(a, ast.Name) else a for a in args]
        lines += [call.lineno for a in args if _written_text(a)]
    return lines


def test_no_message_is_written_outside_the_catalogue():
    found = [f"{p.relative_to(ROOT)}:{n}" for p, tree in sources() for n in written_in_place(tree)]
    assert found == []


def test_the_scan_finds_a_message_written_in_place():
    """The test above can fail: the forms a message written in place takes are all caught."""
    cases = ['Finding(ERROR, "単位がありません。", "指標", "C3")', 'find(WARNING, f"「{name}」は未記入です。", s, c)',
             'raise RegisterError("台帳を" + f"{path} に保存できません")', 'ctx.error("計画", key, "所管課", "空です。")',
             'BadFile(Verdict.BROKEN, "壊れています。" if x else "空です。")',
             'GONE = "見つかりません。"\nraise PlanXlError(GONE)', 'raise click.BadParameter(f"{v} は年度ではありません")']
    for case in cases:
        assert written_in_place(ast.parse(case)), case
    assert not written_in_place(ast.parse('ctx.error("計画", key, "所管課", M.R015())'))
    assert not written_in_place(ast.parse('raise KeyError(plan_id)'))


def _uses() -> list[tuple[str, str, set[str]]]:
    """(where, code, keyword names) for every call of a catalogue entry M.X(...) in src."""
    out = []
    for p, tree in sources():
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            f = call.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "M":
                if re.fullmatch(r"[A-Z]\d{3}", f.attr):
                    assert not call.args, f"{p}:{call.lineno}: placeholders are named"
                    out.append((f"{p.relative_to(ROOT)}:{call.lineno}", f.attr, {k.arg for k in call.keywords}))
    return out


def test_callers_fill_in_exactly_the_placeholders_of_existing_codes():
    uses = _uses()
    assert len(uses) > 250
    wrong = [(where, code, names) for where, code, names in uses
             if code not in M.CATALOGUE or names != set(M.CATALOGUE[code].fields)]
    assert wrong == []


def _mentioned() -> set[str]:
    """Every catalogue code src names (called, or handed on as an entry, e.g. R041 in checks.YEARLY)."""
    return {n.attr for _, tree in sources() for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "M"
            and re.fullmatch(r"[A-Z]\d{3}", n.attr)}


def test_every_code_is_used_and_well_formed():
    used = _mentioned() | {code for _, code in _click_texts()}
    assert sorted(set(M.CATALOGUE) - used) == []
    for code, m in M.CATALOGUE.items():
        assert re.fullmatch(r"[A-Z]\d{3}", code) and code[0] in M.AREAS, code
        assert m.code == code and m.kind in M.KINDS
        assert JAPANESE.search(m.text), code  # what a person sees is Japanese
    texts = [(m.kind, m.text) for m in M.CATALOGUE.values()]
    assert len(set(texts)) == len(texts)  # one text, one code


def _click_texts() -> list[tuple[str, str]]:
    from plan_xl.cli import _CLICK_MESSAGES

    return [(pattern, text.code) for pattern, text in _CLICK_MESSAGES]


def test_click_patterns_name_the_placeholders_of_their_texts():
    from plan_xl.cli import _CLICK_MESSAGES

    for pattern, text in _CLICK_MESSAGES:
        assert set(re.compile(pattern).groupindex) == set(text.fields), pattern


def test_a_text_carries_its_code_kind_and_values():
    text = M.V016(name="窓口件数", raw="十二", unit="件")
    assert text == "「窓口件数」の実績値「十二」を数値として読めません。数値だけを入力してください（単位: 件）。"
    assert (text.code, text.kind) == ("V016", ERROR)
    again = pickle.loads(pickle.dumps(text))  # collect's worker processes send findings back
    assert (again, again.code, again.kind) == (text, "V016", ERROR)
    with pytest.raises(TypeError):
        M.V016(name="窓口件数")  # a placeholder left out
    with pytest.raises(TypeError):
        M.R015(extra="x")  # a value the text has no place for


def test_findings_and_errors_take_catalogue_texts_only():
    assert Finding(ERROR, M.R015(), "計画", "1-1-1 所管課").code == "R015"
    with pytest.raises(TypeError):
        Finding(ERROR, "所管課がありません。")
    with pytest.raises(ValueError):
        Finding(WARNING, M.R015())  # R015 is an 誤り
    assert UsageError(M.H002()).code == "H002"
    with pytest.raises(TypeError):
        PlanXlError("台帳を保存できません。")


def test_every_register_rule_declares_the_codes_it_can_report():
    """Each rule of plan-xl check lists its codes (as frictionless' checks list their errors):
    exactly the register-check codes its function and the helpers it calls use."""
    trees = [tree for p, tree in sources() if p.parent.name == "register" and p.stem in ("checks", "evaluate")]
    functions = {f.name: f for tree in trees for f in tree.body if isinstance(f, ast.FunctionDef)}
    functions |= {t.id: a.value for tree in trees for a in tree.body if isinstance(a, ast.Assign)
                  for t in a.targets if isinstance(t, ast.Name)}  # tables of rules, e.g. checks.YEARLY

    def codes(func, seen):
        out = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "M" \
                    and node.attr in M.CATALOGUE:
                out.add(node.attr)
            if isinstance(node, ast.Name) and node.id in functions and node.id not in seen:
                seen.add(node.id)
                out |= codes(functions[node.id], seen)
        return out

    for rule in RULES:
        used = {c for c in codes(functions[rule.name], {rule.name}) if M.CATALOGUE[c].kind != M.PART}
        assert set(rule.codes) == used, rule.name
    assert len({c for r in RULES for c in r.codes}) == sum(len(r.codes) for r in RULES)  # one owner each


def test_docs_table_is_current():
    """docs/messages.md is generated: python -m plan_xl.messages > docs/messages.md"""
    doc = (ROOT / "docs" / "messages.md").read_text(encoding="utf-8")
    assert doc == M.table(), "docs/messages.md is out of date: run python -m plan_xl.messages > docs/messages.md"
    for code in M.CATALOGUE:
        assert f"| {code} |" in doc
