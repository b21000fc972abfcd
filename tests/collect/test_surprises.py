"""What is surprising about where a return came from is said, not filed silently: another
department's sender or file name, another year, a forged or foreign identity."""

from __future__ import annotations

from email.message import EmailMessage

from support.returned import ISSUED, YEAR, fill, identity, issue, typical_values

from plan_xl import messages as M
from plan_xl.collect import Verdict, collect
from plan_xl.findings import WARNING
from plan_xl.workbooks.identity import ID_SHEET, load_key
from plan_xl.workbooks.templates import TemplateOptions, build_template


def filled(ws, department: str, edit=None, template=None) -> bytes:
    template = template or ws.template_path(YEAR, department)
    return fill(template, typical_values(ws.load(), identity(template)), edit)


def as_mail(ws, data: bytes, name: str, sender_department: str) -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"] = "調査票の提出", ws.load().department(sender_department).email
    msg["Date"] = "Mon, 20 May 2024 10:15:00 +0900"
    msg.set_content("提出します。")
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    (ws.inbox / f"{sender_department}.eml").write_bytes(msg.as_bytes())


def notes(result) -> list[str]:
    return [f.message for f in result.findings if f.severity == WARNING]


def test_another_departments_template_returned_is_a_notice(ws):
    # 中央公民館 returns 健康長寿課's template under its own name, from its own address
    as_mail(ws, filled(ws, "健康長寿課"), f"{YEAR}年度_進捗状況調査票_中央公民館.xlsx", "中央公民館")

    (r,) = collect(ws).results

    assert r.verdict == Verdict.ACCEPTED and r.department == "健康長寿課"
    said = notes(r)
    assert M.C025(by_address="中央公民館", sender="chuo-kominkan@city.example.jp", department="健康長寿課") in said
    assert M.C026(name=f"{YEAR}年度_進捗状況調査票_中央公民館.xlsx", named="中央公民館", department="健康長寿課") in said


def test_the_own_name_and_address_say_nothing(ws):
    as_mail(ws, filled(ws, "健康長寿課"), f"{YEAR}年度_進捗状況調査票_健康長寿課.xlsx", "健康長寿課")
    (r,) = collect(ws).results
    assert r.verdict == Verdict.ACCEPTED and not notes(r)


def test_市民課_in_a_file_name_is_not_市民税課(ws):
    (ws.inbox / f"{YEAR}年度_進捗状況調査票_市民税課.xlsx").write_bytes(filled(ws, "市民税課"))
    (r,) = collect(ws).results
    assert r.verdict == Verdict.ACCEPTED and not notes(r)


def test_a_return_of_another_year_is_a_notice(ws, tmp_path):
    reg = ws.load()
    path = tmp_path / f"{YEAR + 1}年度_進捗状況調査票_人事課.xlsx"
    build_template(reg, "人事課", TemplateOptions(YEAR + 1, issued=ISSUED), load_key(ws.key_path), path)
    (ws.inbox / path.name).write_bytes(filled(ws, "人事課", template=path))

    (r,) = collect(ws).results

    assert r.year == YEAR + 1
    assert M.C027(year=YEAR + 1, collecting=YEAR) in notes(r)


def forge(department: str):
    def edit(wb, ident):
        for row in wb[ID_SHEET].iter_rows():
            if row[0].value == "department":
                row[1].value = department
    return edit


def test_a_forged_identity_is_named_and_goes_back_to_the_real_sender(ws):
    # 市民税課 puts 市民課's name into its identification and mails it from its own address
    as_mail(ws, filled(ws, "市民税課", forge("市民課")), "調査票.xlsx", "市民税課")

    result = collect(ws)

    (r,) = result.results
    assert r.verdict == Verdict.REJECTED and r.department == "市民税課"
    message = r.findings[0].message
    assert message.code == "C021"
    assert message == M.C021(who=M.C022(department="市民課", actual="市民税課"), why=M.C023(issued_to="市民税課"))
    assert result.corrections == [ws.correction_path(YEAR, "市民税課")]


def test_a_template_of_another_working_folder_says_so(ws, tmp_path):
    other = issue(tmp_path / "別の作業フォルダ")
    (ws.inbox / "調査票.xlsx").write_bytes(filled(other, "人事課"))

    (r,) = collect(ws).results

    assert r.verdict == Verdict.REJECTED
    assert r.findings[0].message == M.C021(who="", why=M.C024())  # not issued by this working folder


def test_a_file_the_coordinating_section_passes_on_says_nothing(ws):
    as_mail(ws, filled(ws, "健康長寿課"), f"{YEAR}年度_進捗状況調査票_健康長寿課.xlsx", "行政マネジメント課")
    (r,) = collect(ws).results
    assert r.verdict == Verdict.ACCEPTED and not notes(r)
