"""Build a register from the reviewable TOML source shipped in `plan_xl/data/`."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from .model import (
    ASSIGN_ACTUAL,
    ASSIGN_PART,
    ASSIGN_PROGRESS,
    ASSIGN_REFERENCE,
    Action,
    Actual,
    Assignment,
    Decision,
    Department,
    Goal,
    Indicator,
    Initiative,
    Plan,
    Progress,
    Register,
    Section,
    Span,
    Target,
    Validity,
)
from .store import apply_next_era


def _data_dir() -> Path:
    return Path(str(resources.files("plan_xl") / "data"))


def _num(value) -> float | None:
    return None if value is None else float(value)


def _validity(doc: dict) -> Validity:
    """`start`, `end`, `how`, `successor` keys of a plan, section, action, indicator or department."""
    return Validity(doc.get("start"), doc.get("end"), doc.get("how", ""), doc.get("successor", ""))


def load_plan(doc: dict, register: Register) -> None:
    plan = Plan(
        id=doc["id"], name=doc["name"], departments=list(doc["departments"]),
        overview=doc.get("overview", ""), vision=doc.get("vision", ""),
        five_less=list(doc.get("five_less", [])),
        disclosure_website=bool(doc.get("disclosure_website", False)),
        disclosure_other=doc.get("disclosure_other", ""),
        disclosure_pages=list(doc.get("disclosure_pages", [])), validity=_validity(doc),
    )
    n_indicator = 0
    for number, s in enumerate(doc.get("sections", []), 1):
        section = Section(
            plan_id=plan.id, number=number, title=s.get("title", ""),
            departments=list(s.get("departments", [])), overview=s.get("overview", ""),
            vision=s.get("vision", ""), targets_text=s.get("targets_text", ""), validity=_validity(s),
        )
        for a in s.get("actions", []):
            section.actions.append(Action(a["name"], [
                [Span(sp["from"], sp["to"], sp["text"], sp.get("half", 0)) for sp in row]
                for row in a["rows"]], _validity(a)))
        for i in s.get("indicators", []):
            n_indicator += 1
            ind = Indicator(
                id=f"{plan.id}.{n_indicator}", plan_id=plan.id, section=number, name=i["name"],
                unit=i["unit"], target=float(i["target"]), comparator=i.get("comparator", ""),
                target_year=int(i.get("target_year", register.period[-1])),
                baseline=_num(i.get("baseline")), baseline_label=i.get("baseline_label", ""),
                direction=i.get("direction", "up"), validity=_validity(i),
                targets=[Target(float(t["value"]), int(t["from"]), t.get("note", ""))
                         for t in i.get("target_history", [])],
            )
            section.indicators.append(ind)
            for year, value in sorted(i.get("actuals", {}).items()):
                register.actuals.append(Actual(ind.id, int(year), float(value)))
        plan.sections.append(section)
    for p in doc.get("progress", []):
        register.progress.append(Progress(plan.id, int(p["section"]), int(p["year"]),
                                          p.get("results", ""), p.get("revision", "")))
    register.decisions.extend(Decision(plan.id, t) for t in doc.get("decisions", []))
    register.assignments.extend(_assignment(plan.id, a) for a in doc.get("assignments", []))
    register.plans.append(plan)


_ASSIGN_KINDS = {"actual": ASSIGN_ACTUAL, "progress": ASSIGN_PROGRESS, "part": ASSIGN_PART,
                 "reference": ASSIGN_REFERENCE}


def _assignment(plan_id: str, a: dict) -> Assignment:
    """`{kind = "actual", indicator = 2, department = …}`: the plan's 2nd indicator;
    `{kind = "part" or "progress", section = 0, department = …}`; `{kind = "reference", …}`."""
    indicator = f"{plan_id}.{a['indicator']}" if "indicator" in a else ""
    return Assignment(plan_id, a["department"], _ASSIGN_KINDS[a["kind"]], int(a.get("section", 0)),
                      indicator)


def _plan_order(path: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in path.stem.split("-"))


def load_source(data_dir: Path | None = None) -> Register:
    """The FY2022 starting register, from `register.toml` and `plans/*.toml`."""
    data_dir = data_dir or _data_dir()
    with open(data_dir / "register.toml", "rb") as f:
        top = tomllib.load(f)
    meta = {k: str(v) for k, v in top["meta"].items()}
    meta.setdefault("revision", "1")
    register = Register(
        meta=meta,
        goals=[Goal(g["number"], g["name"]) for g in top["goals"]],
        initiatives=[Initiative(i["goal"], i["number"], i["name"], list(i.get("aliases", [])))
                     for i in top["initiatives"]],
        departments=[Department(d["name"], list(d.get("aliases", [])), d.get("email", ""),
                                d.get("cc", ""), d.get("contact", ""), _validity(d))
                     for d in top["departments"]],
        plans=[],
    )

    apply_next_era(meta, register.load_findings)
    for path in sorted((data_dir / "plans").glob("*.toml"), key=_plan_order):
        with open(path, "rb") as f:
            load_plan(tomllib.load(f), register)
    return register
