"""The rules of the house, read off the source: one safe way to start a workbook, short functions,
no import cycle among plan_xl's modules, no import inside a function that breaks none."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from xlsxwriter.exceptions import DuplicateWorksheetName, InvalidWorksheetName

from plan_xl.export import write_xlsx
from plan_xl.workbooks.xlsx import new_workbook

SRC = Path(__file__).resolve().parents[1] / "src" / "plan_xl"
FACTORY = SRC / "workbooks" / "xlsx.py"
MAX_LINES = 60
LONG_FOR_NOW: set[str] = set()  # functions allowed over MAX_LINES while being rewritten (none now)
HOSTILE = ["=1+1", "=HYPERLINK(\"http://x\",\"x\")", "http://x", "0012", "1e3", "@SUM(A1)"]


def modules() -> dict[str, ast.Module]:
    """Every module of plan_xl by dotted name, parsed."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _is_package(name: str) -> bool:
    return (SRC.parent / name.replace(".", "/") / "__init__.py").exists()


def _target(module: str, node: ast.ImportFrom) -> str:
    """The dotted name an ImportFrom imports from."""
    if not node.level:
        return node.module or ""
    base = module if _is_package(module) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def _imported(module: str, node: ast.stmt, known: set[str]) -> set[str]:
    """plan_xl modules a statement imports (a name that is a submodule counts as that module)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if not isinstance(node, ast.ImportFrom):
        return set()
    target = _target(module, node)
    out = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known}
    names_only = len(out) < len(node.names)  # some names come from the module `target` itself
    return out | ({target} if target in known and names_only else set())


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    cycles, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == "open":
                cycles.append(" → ".join([*path[path.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_every_xlsxwriter_workbook_is_started_by_the_safe_factory():
    bypass = []
    for name, tree in modules().items():
        if name == "plan_xl.workbooks.xlsx":
            continue
        imported = any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("xlsxwriter")
                       and any(a.name == "Workbook" for a in n.names) for n in ast.walk(tree))
        bypass += [f"{name}:{node.lineno}" for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and (ast.unparse(node.func) in {"xlsxwriter.Workbook", "xlsxwriter.workbook.Workbook"}
                        or (imported and ast.unparse(node.func) == "Workbook"))]
    assert bypass == []


def test_the_factory_and_the_open_data_writer_keep_text_as_text():
    buf = io.BytesIO()
    book = new_workbook(buf, "試験")
    sheet = book.add_worksheet("表")
    for r, text in enumerate(HOSTILE):
        sheet.write(r, 0, text)  # the generic write, which would turn these into formulas/links
    book.close()
    exported = write_xlsx({"表": pd.DataFrame({"値": HOSTILE})})
    for data, skip in ((buf.getvalue(), 0), (exported, 1)):
        rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("表").to_python()
        assert [r[0] for r in rows[skip:]] == HOSTILE
        assert b"<f>" not in _sheet_xml(data) and b"<hyperlink" not in _sheet_xml(data)


def _sheet_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))


def test_the_factory_keeps_excels_sheet_name_rules():
    """The factory's own clash check (a set, not xlsxwriter's scan of every earlier sheet) still
    refuses what Excel refuses, and the sheets keep their order."""
    buf = io.BytesIO()
    book = new_workbook(buf, "t")
    for name in ("1-1-1 組織", "abc", "1-1-2"):
        book.add_worksheet(name)
    with pytest.raises(DuplicateWorksheetName):
        book.add_worksheet("ABC")  # case ignored, as Excel does
    for bad in ("x" * 32, "a:b", "'q", "[x]"):
        with pytest.raises(InvalidWorksheetName):
            book.add_worksheet(bad)
    book.close()
    assert CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).sheet_names == ["1-1-1 組織", "abc", "1-1-2"]


def test_no_function_is_longer_than_sixty_lines():
    long = [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1}"
            for name, tree in modules().items() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_LINES and f"{name}.{node.name}" not in LONG_FOR_NOW]
    assert long == []


def test_no_import_inside_a_function_reaches_plan_xl():
    known = set(modules())
    lazy = []
    for name, tree in modules().items():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                lazy += [f"{name}:{n.lineno}" for n in ast.walk(fn)
                         if isinstance(n, ast.Import | ast.ImportFrom)
                         and (getattr(n, "level", 0) or _imported(name, n, known))]
    assert lazy == []


def test_no_import_cycle_among_plan_xl_modules():
    trees = modules()
    known = set(trees)
    graph = {name: set().union(*[_imported(name, n, known) for n in tree.body]) - {name}
             for name, tree in trees.items()}
    assert find_cycles(graph) == []


def test_the_import_checks_can_fail():
    """Two modules importing each other are caught; a submodule imported by name is an edge."""
    known = {"plan_xl.a", "plan_xl.b", "plan_xl"}
    assert _imported("plan_xl.a", ast.parse("from .b import x\n").body[0], known) == {"plan_xl.b"}
    assert _imported("plan_xl.b", ast.parse("from . import a\n").body[0], known) == {"plan_xl.a"}
    assert find_cycles({"plan_xl.a": {"plan_xl.b"}, "plan_xl.b": {"plan_xl.a"}}) == [
        "plan_xl.a → plan_xl.b → plan_xl.a"]
