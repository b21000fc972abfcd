"""`plan-xl demo`: a whole yearly cycle in a new working folder.

The demo fills the FY2023 templates the way departments do (openpyxl typing into the input
cells, some returned as saved e-mails), with one department making typical mistakes and one
not replying, then runs collect, status, report, the open data and mail drafts.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from . import messages as M
from .collect import State, collect, department_states
from .collect.read import open_workbook
from .errors import UsageError
from .export import export, local_government_code
from .fiscal import fy_short
from .mail import load_settings, prepare_letters, write_drafts
from .register.evaluate import previous_value, rating_summary, reason_needed, self_rating_choices
from .register.model import Indicator, Register, format_number
from .workbooks.identity import load_or_create_key
from .workbooks.report import build_report
from .workbooks.templates import TemplateOptions, generate_templates
from .workspace import Workspace, init_workspace

DEMO_YEAR = 2023
DUE = dt.date(2024, 5, 31)  # the templates' due date in the demo
MISTAKES = "市民課"  # full-width digits, a changed pre-filled cell, a missing 実績
SILENT = "河川課"  # does not reply
# An indicator that moves the wrong way in the demo year, with the department's 変動要因, so the
# report's 評価 lists an item that fell back.
FALLS_BACK = {"1-2-2.1": (1.12, "●制度改正への対応と、休止していた窓口業務の再開により、業務量が一時的に増加した。")}


def demo_value(reg: Register, ind: Indicator, year: int) -> float:
    """A plausible actual: a third of the way from last year's value toward the target."""
    if year == DEMO_YEAR and ind.id in FALLS_BACK:
        return FALLS_BACK[ind.id][0]
    previous = reg.actual_for(ind.id, year - 1)
    start = previous.value if previous else (ind.baseline if ind.baseline is not None else ind.target / 2)
    value = start + (ind.target - start) / 3
    return round(value, 1) if ind.unit.startswith("%") or value < 100 else float(round(value))


def demo_texts(reg: Register, plan_id: str, section: int, year: int) -> tuple[str, str]:
    """実績 and 計画の見直し as a department would write them, from the plan's own actions."""
    plan = reg.plan(plan_id)
    sections = [s for s in plan.sections if section in (0, s.number)]
    lines = []
    for s in sections:
        for a in s.actions[:3]:
            doing = next((sp.text for row in a.rows for sp in row if sp.start <= year <= sp.end), "")
            doing = doing.rstrip("→ ").strip() or "計画どおりの取組"
            lines.append(f"●{a.name}\n・{doing}を実施した。")
        for ind in s.indicators:
            lines.append(f"・{ind.name} {format_number(demo_value(reg, ind, year))}{ind.unit}")
    results = "\n".join(lines) or "●計画どおり実施した。"
    revision = (f"●{fy_short(year)}の実績を踏まえ、{fy_short(year + 1)}も計画どおり取組を進める。\n"
                "●目標値の達成に向けて、関係課と連携して周知を強化する。")
    return results, revision


def demo_part(reg: Register, plan_id: str, department: str, year: int) -> tuple[str, str]:
    """A co-owning department's 実績 and 計画の見直し for its part of a plan item."""
    plan = reg.plan(plan_id)
    action = next((a for s in plan.sections if department in s.departments for a in s.actions),
                  plan.sections[0].actions[0] if plan.sections[0].actions else None)
    doing = f"「{action.name}」" if action else "計画の取組"
    return (f"●{doing}のうち{department}の所管分\n・{fy_short(year)}も計画どおり実施した。",
            f"●{fy_short(year + 1)}も主管課と連携して取組を進める。")


def fill_template(data: bytes, reg: Register, mistakes: bool = False) -> bytes:
    """Type into a template's own input cells as its department would; returns the file."""
    import openpyxl  # here: it takes a second to import, and only the demo types into templates

    ident = open_workbook(data).identity
    wb = openpyxl.load_workbook(io.BytesIO(data))
    first_results = True
    cells = {f.key: (wb[f.sheet], f.cell) for f in ident.fields}
    for f in (f for f in ident.fields if f.editable):
        ws = wb[f.sheet]
        key = f.field
        if key.kind == "reason":
            continue  # typed with its actual
        if key.kind == "rating":
            ws[f.cell] = self_rating_choices(reg.rating_scale)[1]
            continue
        if key.kind == "actual":
            ind = reg.indicator(key.target)
            value = demo_value(reg, ind, ident.year)
            ws[f.cell] = _full_width(f"{value:,.10g}") + ind.unit if mistakes else value
            reason = demo_reason(reg, ind, ident.year, value)
            if reason and f"reason|{ind.id}|{ident.year}" in cells:
                sheet, cell = cells[f"reason|{ind.id}|{ident.year}"]
                sheet[cell] = reason
            continue
        if key.is_part:  # a co-owner's own part; it has something to add
            if key.kind != "part_none":
                ws[f.cell] = demo_part(reg, key.target, ident.department, ident.year)[key.kind == "part_revision"]
            continue
        results, revision = demo_texts(reg, key.target, key.section, ident.year)
        if key.kind == "results" and mistakes and first_results:
            first_results = False
            ws[f.cell] = None  # forgot the 実績 of the first plan
        else:
            ws[f.cell] = results if key.kind == "results" else revision
    if mistakes:  # "corrected" a pre-filled cell after removing the sheet protection
        ws = wb[ident.fields[0].sheet]
        ws.protection.sheet = False
        ws["C3"] = f"{ws['C3'].value}（修正）"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def demo_reason(reg: Register, ind: Indicator, year: int, value: float) -> str:
    """The 変動要因 a department writes when the template asks for one."""
    if year == DEMO_YEAR and ind.id in FALLS_BACK:
        return FALLS_BACK[ind.id][1]
    previous = previous_value({(a.indicator_id, a.year): a for a in reg.actuals}, ind, year, reg.period[0])
    if not reason_needed(ind, previous, value, reg.reason_threshold):
        return ""
    return f"●{ind.name}は、取組の進み具合と利用状況の変化により前年度から大きく変動した。"


def _full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))


def as_email(data: bytes, filename: str, department: str, sender: str, to: str, when: dt.datetime) -> bytes:
    """A returned workbook as a saved e-mail (.eml), the way a clerk's mailer stores it."""
    msg = EmailMessage()
    msg["Subject"] = f"【提出】{fy_short(DEMO_YEAR)} 進捗状況調査票（{department}）"
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(when.astimezone())
    msg.set_content(f"行政マネジメント課 御中\n\n{department}です。調査票を提出します。\nよろしくお願いいたします。\n")
    msg.add_attachment(data, maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=filename)
    return msg.as_bytes()


def run_demo(root: Path, say: Callable[[str], None]) -> dict[str, Path]:
    """The whole FY2023 cycle in a fresh working folder; returns the main outputs."""
    if root.exists() and any(root.iterdir()):
        raise UsageError(M.U006(root=root))
    ws = Workspace(root)
    say(f"1/7 作業フォルダを作成: {root}")
    init_workspace(root)
    reg = ws.load()
    say(f"    台帳: {ws.register_path}（実施計画 {len(reg.plans)} 件、所管課 {len(reg.departments)} 課）")
    paths = _issue(ws, reg, say)
    _return(ws, reg, paths, say)
    result = collect(ws, [ws.inbox], now=dt.datetime(2024, 6, 3, 9, 0))
    _report_collect(ws, reg, result, say)
    reg = ws.load()
    states = department_states(ws, reg, DEMO_YEAR)
    counts = {k: sum(s == k for s in states.values()) for k in State}
    say("5/7 提出状況: " + "、".join(f"{k} {v} 課" for k, v in counts.items() if v)
        + f"（{result.status_paths[0]}）")
    _drafts(ws, reg, "reminders", due=DUE)
    report = build_report(reg, DEMO_YEAR, ws.report_path(DEMO_YEAR), issued=dt.date(2024, 6, 10),
                          returned={d for d, s in states.items() if s == State.RETURNED})
    say(f"6/7 取りまとめた報告書: {report}")
    say(f"    {rating_summary(reg, DEMO_YEAR)}")
    opendata = export(reg, DEMO_YEAR, ws.workbooks / "opendata" / str(DEMO_YEAR),
                      local_government_code(ws.settings_path))
    say(f"    オープンデータ（CSV・Excel・JSON）: {opendata[0].parent}")
    _drafts(ws, reg, "report", to=["kanbu@city.example.jp"], report_file=report)
    say(f"7/7 メールの下書き（送付・修正依頼・督促・報告書）: {ws.outbox}")
    return {"register": ws.register_path, "report": report, "status": result.status_paths[0],
            "outbox": ws.outbox, "templates": ws.templates_dir(DEMO_YEAR)}


def _drafts(ws: Workspace, reg: Register, kind: str, **options) -> list[Path]:
    """The mail drafts of one kind, as `plan-xl mail <kind>` writes them."""
    batch = prepare_letters(ws, reg, kind, DEMO_YEAR, load_settings(ws, reg), **options)
    return write_drafts(batch, ws, load_settings(ws, reg))


def _issue(ws: Workspace, reg: Register, say: Callable[[str], None]) -> list[Path]:
    """Step 2: the templates and their mails."""
    paths = generate_templates(reg, TemplateOptions(DEMO_YEAR, DUE, issued=dt.datetime(2024, 4, 10, 9, 0)),
                               load_or_create_key(ws.key_path), ws.templates_dir(DEMO_YEAR))
    say(f"2/7 {DEMO_YEAR}年度の調査票を {len(paths)} 件作成: {ws.templates_dir(DEMO_YEAR)}")
    drafts = _drafts(ws, reg, "templates", due=DUE)
    say(f"    送付メールの下書き {len(drafts)} 通: {ws.outbox / 'templates'}")
    return paths


def _return(ws: Workspace, reg: Register, paths: list[Path], say: Callable[[str], None]) -> None:
    """Step 3: the departments' returns in the inbox, some as saved e-mails; one with mistakes,
    one missing."""
    say(f"3/7 所管課の返送を用意（{MISTAKES}は記入ミスあり、{SILENT}は未提出）: {ws.inbox}")
    ws.inbox.mkdir(parents=True, exist_ok=True)
    coordinator = reg.department(reg.meta["coordinating_department"]).email
    for n, path in enumerate(paths):
        department = open_workbook(path.read_bytes()).identity.department
        if department == SILENT:
            continue
        filled = fill_template(path.read_bytes(), reg, mistakes=department == MISTAKES)
        when = dt.datetime(2024, 5, 20, 9, 0) + dt.timedelta(minutes=17 * n)
        if n % 3 == 0:  # some arrive as saved e-mails
            mail = as_email(filled, path.name, department, reg.department(department).email, coordinator, when)
            (ws.inbox / f"{department}からの提出.eml").write_bytes(mail)
        else:
            (ws.inbox / path.name).write_bytes(filled)


def _report_collect(ws: Workspace, reg: Register, result, say: Callable[[str], None]) -> None:
    """Step 4: what collect decided, and the correction mails."""
    accepted = sum(r.ok for r in result.results)
    say(f"4/7 取りまとめ: {len(result.results)} 件のうち受理 {accepted} 件、差戻し {len(result.results) - accepted} 件")
    for r in result.results:
        if not r.ok:
            say(f"    差戻し {r.department}: 誤り {r.errors} 件（例: {r.findings[0]}）")
    for p in result.corrections:
        say(f"    修正依頼: {p}")
    _drafts(ws, reg, "corrections", due=DUE)
