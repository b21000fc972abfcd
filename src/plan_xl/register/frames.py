"""The register as pandas DataFrames (tidy tables) for analysis in Python and Jupyter, and the
tables `plan-xl export` publishes as open data.

    from plan_xl.register.frames import frames
    t = frames(reg, 2023)
    t["指標の実績"].pivot_table(index="指標名", columns="年度", values="実績値")

Tables (Japanese column names as Japan's recommended open-data datasets name them, the local
government code first):
- 実施計画: one row per plan item (実施計画).
- 実施計画の評価: one row per plan item and fiscal year: rating, its basis, change, texts.
- 指標の実績: one row per indicator and fiscal year: baseline, target in force, actual, rate,
  rating, the department's reason (変動要因).

pandas is imported here and in export.py only: collect never needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .evaluate import evaluate
from .model import Register

if TYPE_CHECKING:
    import pandas as pd

CODE, CITY = "全国地方公共団体コード", "地方公共団体名"
ITEMS, ITEM_YEARS, INDICATOR_YEARS = "実施計画", "実施計画の評価", "指標の実績"
TEXT, INT, NUMBER = "text", "int", "number"

# table -> [(column, kind)]: the schema every format is written and read back with
SCHEMA: dict[str, list[tuple[str, str]]] = {
    ITEMS: [(CODE, TEXT), (CITY, TEXT), ("計画名", TEXT), ("計画ID", TEXT), ("重点推進目標番号", INT),
            ("重点推進目標", TEXT), ("取組事項番号", INT), ("取組事項", TEXT), ("実施計画番号", INT),
            ("実施計画名", TEXT), ("所管課", TEXT), ("事業概要", TEXT), ("目指す姿", TEXT),
            ("5レス", TEXT), ("計画期間開始年度", INT), ("計画期間終了年度", INT)],
    ITEM_YEARS: [(CODE, TEXT), (CITY, TEXT), ("計画ID", TEXT), ("実施計画名", TEXT), ("年度", INT),
                 ("評価", TEXT), ("評価の根拠", TEXT), ("達成率の平均（%）", NUMBER), ("前年度の評価", TEXT),
                 ("前年度比", TEXT), ("実績", TEXT), ("計画の見直し", TEXT)],
    INDICATOR_YEARS: [(CODE, TEXT), (CITY, TEXT), ("計画ID", TEXT), ("実施計画名", TEXT), ("指標ID", TEXT),
                      ("指標名", TEXT), ("単位", TEXT), ("望ましい方向", TEXT), ("現況値", NUMBER),
                      ("現況値の時点", TEXT), ("年度", INT), ("目標値", NUMBER), ("比較", TEXT),
                      ("目標年度", INT), ("実績値", NUMBER), ("達成率（%）", NUMBER),
                      ("達成率（表示、上限100%）", NUMBER), ("評価", TEXT), ("前年度比", TEXT),
                      ("目標の達成", TEXT), ("変動要因", TEXT)],
}
DIRECTION = {"up": "増加", "down": "減少"}


def load_pandas():
    """pandas, imported on first use: it takes the better part of a second to import, and only
    the tables (frames, export) need it, not every command."""
    import pandas

    return pandas


def frames(reg: Register, year: int | None = None, code: str = "") -> dict[str, pd.DataFrame]:
    """The register's tables up to fiscal year `year` (default: the latest reported year);
    `code` fills the 全国地方公共団体コード column."""
    year = year or max(reg.reported_years(), default=reg.period[0])
    years = [y for y in reg.period if y <= year]
    city = reg.meta.get("city", "")
    head = {CODE: code, CITY: city}
    items = [{**head, "計画名": reg.meta.get("plan_title", ""), "計画ID": p.id, "重点推進目標番号": p.goal,
              "重点推進目標": reg.goal_name(p.goal), "取組事項番号": p.initiative,
              "取組事項": reg.initiative_name(p.goal, p.initiative), "実施計画番号": p.number,
              "実施計画名": p.name, "所管課": "、".join(p.departments), "事業概要": p.overview,
              "目指す姿": p.vision, "5レス": "、".join(p.five_less), "計画期間開始年度": reg.period[0],
              "計画期間終了年度": reg.period[-1]} for p in reg.plans]
    item_years, indicator_years = [], []
    names = {p.id: p.name for p in reg.plans}
    progress: dict[tuple[str, int], list] = {}
    for pr in reg.progress:
        progress.setdefault((pr.plan_id, pr.year), []).append(pr)
    for y in years:
        ev = evaluate(reg, y)
        for p in ev.plans:
            results, revision = _texts(progress, p.plan, y)
            item_years.append({**head, "計画ID": p.plan.id, "実施計画名": p.plan.name, "年度": y,
                               "評価": p.rating, "評価の根拠": p.basis, "達成率の平均（%）": _percent(p.rate),
                               "前年度の評価": p.previous_rating, "前年度比": p.change,
                               "実績": results, "計画の見直し": revision})
        for r in ev.indicators:
            ind = r.indicator
            indicator_years.append({
                **head, "計画ID": ind.plan_id, "実施計画名": names[ind.plan_id], "指標ID": ind.id,
                "指標名": ind.name, "単位": ind.unit, "望ましい方向": DIRECTION[ind.direction],
                "現況値": ind.baseline, "現況値の時点": ind.baseline_label, "年度": y, "目標値": r.target,
                "比較": ind.comparator, "目標年度": ind.target_year, "実績値": r.actual,
                "達成率（%）": _percent(r.rate), "達成率（表示、上限100%）": _percent(r.shown_rate),
                "評価": r.rating, "前年度比": r.change, "目標の達成": r.outcome, "変動要因": r.reason})
    rows = {ITEMS: items, ITEM_YEARS: item_years, INDICATOR_YEARS: indicator_years}
    pd = load_pandas()
    return {name: typed(pd.DataFrame(rows[name], columns=[c for c, _ in SCHEMA[name]]), name)
            for name in SCHEMA}


def _percent(rate: float | None) -> float | None:
    """A rate as a percentage with one decimal: what is published, and exact in every format."""
    return None if rate is None else round(rate * 100, 1)


def _texts(progress: dict, plan, year: int) -> tuple[str, str]:
    """実績 and 計画の見直し of a plan item in a year, sections in order, each under its title."""
    rows = sorted(progress.get((plan.id, year), []), key=lambda pr: pr.section)
    def title(pr):
        return f"【{plan.sections[pr.section - 1].title}】\n" if pr.section and len(rows) > 1 else ""
    return ("\n".join(title(pr) + pr.results for pr in rows),
            "\n".join(title(pr) + pr.revision for pr in rows if pr.revision))


def typed(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Columns in their schema types: text never missing (''), numbers nullable."""
    df = df.copy()
    for column, kind in SCHEMA[table]:
        values = df[column]
        if kind == TEXT:
            df[column] = values.astype(object).where(values.notna(), "").astype(str)
        else:
            numbers = load_pandas().to_numeric(values.replace("", None), errors="raise")
            df[column] = numbers.astype("Int64" if kind == INT else "Float64")
    return df.reset_index(drop=True)


def year_over_year(reg: Register, year: int | None = None) -> pd.DataFrame:
    """Indicators × fiscal years of actual values: the year-over-year table."""
    t = frames(reg, year)[INDICATOR_YEARS]
    return t.pivot_table(index=["指標ID", "指標名"], columns="年度", values="実績値", aggfunc="first")
