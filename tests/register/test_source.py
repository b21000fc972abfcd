"""Fidelity of the master register against the FY2022 reference, and its round trip."""

import hashlib

import pytest
from conftest import reference_fragments

from plan_xl.register.model import name_key
from plan_xl.register.source import load_source
from plan_xl.register.store import load_register, save_register

PLANS = {
    "1-1-1": ("行政組織の見直し", ["行政マネジメント課"]),
    "1-1-2": ("適正な定員管理の推進", ["人事課"]),
    "1-1-3": ("附属機関等の設置及び運営の適正化", ["行政マネジメント課", "男女共同参画課"]),
    "1-2-1": ("行政評価制度の効果的な活用", ["行政マネジメント課"]),
    "1-2-2": ("業務量の可視化とBPRの推進", ["行政マネジメント課"]),
    "1-2-3": ("カイゼン運動の推進", ["行政マネジメント課"]),
    "1-3-1": ("デジタルファースト推進事業", ["DX戦略課", "生涯学習課", "中央公民館", "健康長寿課"]),
    "1-3-2": ("オープンデータ利活用推進事業", ["DX戦略課", "政策統計課"]),
    "1-3-3": ("ICTを活用した働き方改革推進事業", ["DX戦略課"]),
    "1-3-4": ("行政手続きの利便性向上", ["行政マネジメント課"]),
    "1-3-5": ("窓口業務のオンライン化推進事業", ["市民課"]),
    "1-3-6": ("市税電子申告の推進", ["市民税課"]),
    "1-3-7": ("河川台帳の電子化", ["河川課"]),
    "1-3-8": ("A I による要介護認定業務効率化", ["介護保険課"]),
    "1-4-1": ("人材育成の推進", ["人事課"]),
    "1-4-2": ("人事評価制度による人材の育成", ["人事課", "上下水道局総務課"]),
    "1-4-3": ("若手職員政策形成能力の強化", ["政策開発課"]),
    "1-4-4": ("技術力の向上", ["契約検査課"]),
    "1-4-6": ("多様な働き方による働きやすい職場の実現", ["人事課"]),
    "1-4-7": ("職員健康保持増進", ["職員厚生課"]),
}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The register as a fresh checkout builds it: workbooks/register.xlsx, read back."""
    from plan_xl.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("checkout"))
    ws.create()
    assert ws.register_path.exists()
    return load_register(ws.register_path)


def test_all_twenty_plans_with_names_and_departments(shipped):
    assert {p.id: (p.name, p.departments) for p in shipped.plans} == PLANS
    assert len({d.name for d in shipped.departments}) == 16
    assert "1-4-5" not in {p.id for p in shipped.plans}  # the gap in the source is kept


def test_plan_names_appear_in_the_reference(shipped, reference_text):
    ref = name_key(reference_text)
    for p in shipped.plans:
        assert name_key(p.name) in ref, p.id


@pytest.mark.parametrize("plan_id, sections", [
    ("1-1-3", [("総括", ["行政マネジメント課"]),
               ("公募委員比率・女性委員登用率の向上", ["行政マネジメント課", "男女共同参画課"])]),
    ("1-3-1", [("デジタルファースト推進事業", ["DX戦略課"]), ("スマートフォン体験講座", ["生涯学習課"]),
               ("ICT活用啓発事業", ["中央公民館"]), ("スマートシニア応援事業", ["健康長寿課"])]),
    ("1-4-2", [("人事評価全般", ["人事課"]),
               ("人事評価結果に基づく昇給制度の実施", ["人事課", "上下水道局総務課"])]),
])
def test_section_split(shipped, plan_id, sections):
    plan = shipped.plan(plan_id)
    assert [(s.title, s.departments) for s in plan.sections] == sections


def test_section_progress_owners(shipped):
    # 3-① reports per section; 1-③ and 4-② report once for the whole plan
    assert shipped.reporting_sections(shipped.plan("1-3-1")) == [1, 2, 3, 4]
    assert shipped.reporting_sections(shipped.plan("1-1-3")) == [0]
    assert shipped.reporting_sections(shipped.plan("1-4-2")) == [0]
    assert shipped.plan("1-3-1").owner(4) == "健康長寿課"


def _indicator(reg, plan_id, name):
    return next(i for i in reg.plan(plan_id).indicators if i.name == name)


def _actual(reg, plan_id, name, year=2022):
    return reg.actual_for(_indicator(reg, plan_id, name).id, year).value


def _progress(reg, plan_id, section=0):
    return reg.progress_for(plan_id, section, 2022)


def test_spot_values_from_across_the_document(shipped):
    r = shipped
    checks = [
        # numbers with units: targets, baselines, FY2022 actuals
        (_indicator(r, "1-1-3", "公募委員比率").target, 10.0),
        (_indicator(r, "1-1-3", "公募委員比率").comparator, "以上"),
        (_indicator(r, "1-1-3", "公募委員比率").baseline, 5.7),
        (_indicator(r, "1-1-3", "女性委員登用率").baseline, 28.7),
        (_actual(r, "1-1-3", "公募委員比率"), 5.1),
        (_actual(r, "1-1-3", "女性委員登用率"), 30.7),
        (_indicator(r, "1-2-1", "評価実施事業数に占める「改善」が必要な事業の割合").target, 15.3),
        (_actual(r, "1-2-1", "評価実施事業数に占める「改善」が必要な事業の割合"), 7.2),
        (_indicator(r, "1-2-2", "業務量全体に占める全庁共通業務の割合").baseline, 9.85),
        (_actual(r, "1-2-3", "カイゼン件数"), 32.0),
        (_indicator(r, "1-2-3", "カイゼン件数").target, 35.0),
        (_indicator(r, "1-3-1", "キャッシュレス決済比率（金額ベース）").baseline, 12.4),
        (_actual(r, "1-3-1", "キャッシュレス決済比率（金額ベース）"), 15.9),
        (_indicator(r, "1-3-1", "オンラインによる行政手続き数").target, 70000.0),
        (_actual(r, "1-3-1", "オンラインによる行政手続き数"), 47657.0),
        (_indicator(r, "1-3-2", "オープンデータ公開項目数").baseline, 177.0),
        (_indicator(r, "1-3-3", "RPAによる職員の業務時間削減数").target, 20000.0),
        (_actual(r, "1-3-5", "コンビニ交付件数"), 42182.0),
        (_indicator(r, "1-3-5", "コンビニ交付件数").target, 100000.0),
        (_indicator(r, "1-3-6", "年間電子申告利用率").target, 65.0),
        (_indicator(r, "1-3-8", "平均処理日数").direction, "down"),
        (_actual(r, "1-3-8", "平均処理日数"), 36.25),
        (_indicator(r, "1-4-1", "研修受講者満足度").baseline, 89.4),
        (_actual(r, "1-4-4", "研修回数"), 9.0),
        (_indicator(r, "1-4-4", "受講者数").target, 280.0),
        (_actual(r, "1-4-7", "定期健康診断・人間ドックの受診率"), 97.8),
        (_indicator(r, "1-4-7", "精密検査の受診率").baseline, 50.8),
        (_indicator(r, "1-3-5", "引越しワストップサービス取扱件数").baseline_label, "2022年度末"),
        # texts: overviews, visions, results and revisions as printed
        (r.plan("1-1-1").vision, "行政需要に適時・適切に対応できるムダ、ムリ、ムラのない生産性の高い組織体制の構築"),
        (r.plan("1-3-4").vision, "行政手続きの100%デジタル化"),
        (r.plan("1-4-6").vision, "個性が輝き活き活き働く「職員総活躍」の職場を目指す。"),
        (r.plan("1-3-5").disclosure_other, "マイナポータル"),
        (r.plan("1-1-1").disclosure_pages, ["郡山市の行政組織"]),
        (r.plan("1-3-5").five_less, ["カウンター", "キャッシュ", "ペーパー", "ムーブ"]),
        (r.plan("1-3-8").name, "A I による要介護認定業務効率化"),
        (_progress(r, "1-4-7").revision, ""),  # cut off in the source
        (_progress(r, "1-1-2").revision, ""),  # the source prints only one text
    ]
    for got, expected in checks:
        assert got == expected
    contains = [
        (_progress(r, "1-1-1").results, "▽課の廃止 原子力災害総合対策課"),
        (_progress(r, "1-1-2").results, "受験者数:436名(298名)、最終倍率:14.5倍(9.6倍)"),
        (_progress(r, "1-2-2").results, "全体の業務量は6,244,365時間に増加した"),
        (_progress(r, "1-2-3").results, "カイゼン運動により節減された経費→8,832千円/年間"),
        (_progress(r, "1-3-1", 2).results, "177名が受講した"),
        (_progress(r, "1-3-1", 4).results, "2022年度は402名となっている"),
        (_progress(r, "1-3-6").results, "法人市民税 12,865／15,809件 81.4%"),
        (_progress(r, "1-3-7").revision, "準用河川整備計画を2024年まで延伸し完了させ"),
        (_progress(r, "1-4-2").results, "人事評価の実施 1,958名"),
        (_progress(r, "1-4-3").results, "→10自治体"),
        (_progress(r, "1-4-7").results, "保健師面談：2名"),
        (r.plan("1-3-8").overview, "調査項目は全部で74項目にも及び"),
        (r.plan("1-2-2").sections[0].targets_text, "1.05以下"),
        (r.plan("1-3-7").sections[0].targets_text, "準用河川電子化率 100.0%"),
    ]
    for text, fragment in contains:
        assert fragment in text
    assert len(checks) + len(contains) >= 40


def test_schedule_spans_and_half_years(shipped):
    action = shipped.plan("1-1-1").sections[0].actions[0]
    assert action.name == "行政組織改編"
    assert [(s.start, s.end, s.text) for s in action.rows[0]] == [(2022, 2025, "組織改編の検討、実施")]
    survey = shipped.plan("1-2-2").sections[0].actions[0]
    assert survey.name == "業務量調査"
    assert {(s.start, s.half, s.text) for s in survey.rows[0]} >= {(2022, 1, "分析・公表"), (2022, 2, "調査")}
    river = shipped.plan("1-3-7").sections[0].actions[0]
    assert [s.text for s in river.rows[0]][0] == "準用河川 UAV測量 L=8.95km"


def test_no_html_markup_in_any_text(shipped):
    texts = [t for p in shipped.plans for t in (p.overview, p.vision, p.name)]
    texts += [t for p in shipped.plans for s in p.sections for t in (s.targets_text, s.overview, s.vision)]
    texts += [t for pr in shipped.progress for t in (pr.results, pr.revision)]
    for t in texts:
        assert "<p>" not in t and "<ul" not in t and "<li" not in t and "**" not in t


def test_decisions_are_recorded_for_the_known_defects(shipped):
    by_plan = {}
    for d in shipped.decisions:
        by_plan.setdefault(d.plan_id, []).append(d.text)
    assert any("1-2-3" in t or "取組事項1" in t or "2-③" in t or "③" in t for t in by_plan["1-2-3"])
    assert by_plan["1-3-2"] and by_plan["1-4-7"] and by_plan["1-4-2"]


def test_every_numeric_target_has_a_unit(shipped):
    assert all(i.unit for p in shipped.plans for i in p.indicators)


def test_round_trip_load_save_load_is_identical(tmp_path):
    reg = load_source()
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    save_register(reg, a)
    first = load_register(a)
    assert first == reg
    save_register(first, b)
    assert load_register(b) == first
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_save_keeps_a_backup_and_prunes(tmp_path):
    from plan_xl.register.store import BACKUPS_KEPT

    reg = load_source()
    path = tmp_path / "register.xlsx"
    for _ in range(BACKUPS_KEPT + 3):
        save_register(reg, path, tmp_path / "backup")
    assert len(list((tmp_path / "backup").glob("register-*.xlsx"))) == BACKUPS_KEPT
    assert load_register(path) == reg


def test_register_workbook_is_readable_by_a_clerk(shipped, tmp_path):
    import openpyxl

    path = tmp_path / "r.xlsx"
    save_register(shipped, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["計画"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref
    assert [c.value for c in ws[1]][:6] == ["計画ID", "重点推進目標", "取組事項", "番号", "実施計画名", "所管課"]



def test_nothing_of_the_reference_is_dropped(shipped, reference_text):
    """Every text cell of the reference (HTML markup removed, width and spacing normalised)
    is somewhere in the register's texts."""
    corpus = [g.name for g in shipped.goals] + [i.name for i in shipped.initiatives]
    for p in shipped.plans:
        corpus += [p.name, p.overview, p.vision, p.disclosure_other, *p.disclosure_pages, *p.departments]
        for s in p.sections:
            corpus += [s.title, s.overview, s.vision, s.targets_text, *s.departments]
            corpus += [a.name for a in s.actions]
            corpus += [sp.text for a in s.actions for row in a.rows for sp in row]
    corpus += [t for pr in shipped.progress for t in (pr.results, pr.revision)]
    everything = name_key("\n".join(corpus))
    aliases = {name_key(a): d.name for d in shipped.departments for a in d.aliases}
    fragments = reference_fragments(reference_text, aliases, {d.name for d in shipped.departments})
    assert len(fragments) > 900
    assert [text for text, key in fragments if key not in everything] == []


def test_list_items_of_the_reference_are_lines(source_register):
    """Items of the reference's lists print one a line, bullet or not (issue 17)."""
    reg = source_register
    assert reg.plan("1-3-8").vision.split("\n") == [
        "申請から認定になるまでの期間の短縮", "事務の効率化による生産性の向上と働き方改革の実現",
        "認定精度の向上（処理する人によって生じるバラツキの解消）"]
    for plan_id, first in [("1-4-7", "定期健康診断・人間ドックの受診率 100.0%"),
                           ("1-3-7", "・準用河川電子化率 100.0%"), ("1-4-6", "多様な働き方ができる職場だと感じる職員の割合 70%以上")]:
        lines = reg.plan(plan_id).sections[0].targets_text.strip().split("\n")
        assert first in lines and any(line.startswith(("（2021年度末", "(2021年度末")) for line in lines), lines
