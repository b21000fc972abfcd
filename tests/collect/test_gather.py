"""Every way a return really arrives: Outlook .msg, .zip (cp932 / UTF-8 names, ZipCrypto,
nested), mails forwarded as attachments, macro-enabled books; each traced to its container."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import json
from email.message import EmailMessage

import pytest
from click.testing import CliRunner
from support.msgfile import Forwarded, outlook_msg
from support.returned import YEAR, fill, identity, typical_values
from support.zipbuild import parts_of, zip_archive, zip_of

from plan_xl.cli import main
from plan_xl.collect import Opener, Verdict, collect
from plan_xl.collect.read import LIMITS

DX = "DX戦略課"
SENT = dt.datetime(2024, 5, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
NAME = f"{YEAR}年度_進捗状況調査票_{DX}.xlsx"


def filled(ws, department: str = DX) -> bytes:
    template = ws.template_path(YEAR, department)
    return fill(template, typical_values(ws.load(), identity(template)))


def mail(data: bytes, name: str, sender: str = "dx@city.example.jp") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["Date"] = "調査票の提出", sender, "Mon, 20 May 2024 10:15:00 +0900"
    msg.set_content("提出します。")
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def only(result):
    assert len(result.results) == 1, [(r.item.label, r.verdict) for r in result.results]
    return result.results[0]


def archived(ws) -> dict[str, bytes]:
    return {p.name.split("_", 1)[1]: p.read_bytes() for p in ws.archive.iterdir()}


def test_outlook_msg_is_opened_and_traced_to_its_container(ws):
    data = filled(ws)
    msg = outlook_msg("調査票の提出", f"{DX} <dx@city.example.jp>", SENT, [(NAME, data)])
    (ws.inbox / "提出メール.msg").write_bytes(msg)

    r = only(collect(ws))

    assert (r.verdict, r.department) == (Verdict.ACCEPTED, DX)
    assert r.item.label == f"提出メール.msg ＞ {NAME}" and r.item.sender == "dx@city.example.jp"
    assert r.item.received == SENT.astimezone().replace(tzinfo=None).isoformat()
    assert archived(ws) == {"提出メール.msg": msg, NAME: data}  # both, exactly as received
    entry = json.loads((ws.state / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert entry["container"] == "提出メール.msg" and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert "提出メール.msg" in next(ws.workbooks.glob("logs/collect-*.log")).read_text(encoding="utf-8")


def test_a_damaged_msg_gets_a_verdict(ws):
    (ws.inbox / "壊れた.msg").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 600)
    r = only(collect(ws))
    assert r.verdict == Verdict.BROKEN and r.message.code == "C014"


@pytest.mark.parametrize("encoding", ["cp932", "utf-8"])
def test_zip_with_japanese_names(ws, encoding):
    data = filled(ws)
    (ws.inbox / "提出.zip").write_bytes(zip_archive([(f"調査票/{NAME}", data), ("メモ.txt", b"x")], encoding))

    result = collect(ws)

    verdicts = {r.item.name: r.verdict for r in result.results}
    assert verdicts == {NAME: Verdict.ACCEPTED, "メモ.txt": Verdict.WRONG_TYPE}
    assert {r.item.label for r in result.results} == {f"提出.zip ＞ {NAME}", "提出.zip ＞ メモ.txt"}


def test_zipcrypto_opens_with_the_password_given(ws):
    data = filled(ws)
    (ws.inbox / "PPAP.zip").write_bytes(zip_archive([(NAME, data)], "cp932", password="令和6年pass"))

    r = only(collect(ws, opener=Opener(["違う", "令和6年pass"])))

    assert r.verdict == Verdict.ACCEPTED and r.item.label == f"PPAP.zip ＞ {NAME}"


def test_zipcrypto_without_or_with_a_wrong_password_is_a_clear_verdict(ws):
    (ws.inbox / "PPAP.zip").write_bytes(zip_archive([(NAME, filled(ws))], "cp932", password="secret"))
    r = only(collect(ws))
    assert r.verdict == Verdict.PASSWORD and r.message.code == "C039"  # give --zip-password
    r = only(collect(ws, opener=Opener(["wrong"])))
    assert r.verdict == Verdict.PASSWORD and r.message.code == "C038"  # that password does not open it


def test_zipcrypto_password_prompted_on_the_command_line(ws):
    (ws.inbox / "PPAP.zip").write_bytes(zip_archive([(NAME, filled(ws))], "cp932", password="secret"))
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "collect", "--zip-password", "secret"])
    assert result.exit_code == 0, result.output
    assert f"PPAP.zip ＞ {NAME}" in result.output


def test_zip_inside_limits_like_a_workbook(ws):
    bomb = zip_of({"big.xlsx": b"\0" * (LIMITS["ratio"][0] * 300 * 1024)})
    many = zip_of({f"f{i}.txt": b"x" for i in range(LIMITS["zip_entries"][0] + 1)})
    (ws.inbox / "bomb.zip").write_bytes(bomb)
    (ws.inbox / "many.zip").write_bytes(many)
    verdicts = {r.item.name: (r.verdict, r.message) for r in collect(ws).results}
    assert verdicts["bomb.zip"][0] == Verdict.BAD_ZIP and verdicts["bomb.zip"][1].code == "C036"  # inflates too much
    assert verdicts["many.zip"][0] == Verdict.BAD_ZIP and verdicts["many.zip"][1].code == "C033"  # too many files


def test_nested_archives_are_bounded(ws):
    inner = zip_archive([(NAME, filled(ws))])
    for n in range(4):
        inner = zip_archive([(f"level{n}.zip", inner)])
    (ws.inbox / "入れ子.zip").write_bytes(inner)
    r = only(collect(ws))
    assert r.verdict == Verdict.ARCHIVE_TOO_DEEP


def test_mail_forwarded_as_an_attachment(ws):
    original = mail(filled(ws), NAME)
    forward = EmailMessage()
    forward["Subject"], forward["From"] = "Fw: 調査票の提出", "jinji@city.example.jp"
    forward["Date"] = "Tue, 21 May 2024 09:00:00 +0900"
    forward.set_content("転送します。")
    forward.add_attachment(original)  # message/rfc822
    (ws.inbox / "転送.eml").write_bytes(forward.as_bytes())

    r = only(collect(ws))

    assert r.verdict == Verdict.ACCEPTED
    assert r.item.label == f"転送.eml ＞ 調査票の提出.eml ＞ {NAME}"
    assert r.item.sender == "dx@city.example.jp"  # the department's own mail, not the forwarder's
    assert not r.findings  # the sender matches the template: nothing surprising


def test_msg_with_a_zip_inside(ws):
    data = filled(ws)
    msg = outlook_msg("提出", "dx@city.example.jp", SENT, [("提出.zip", zip_archive([(NAME, data)], "cp932"))])
    (ws.inbox / "提出.msg").write_bytes(msg)
    r = only(collect(ws))
    assert r.verdict == Verdict.ACCEPTED and r.item.label == f"提出.msg ＞ 提出.zip ＞ {NAME}"


def test_macro_enabled_book_is_read_as_values_with_a_notice(ws):
    macro = zip_of([*parts_of(filled(ws)), ("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")])
    (ws.inbox / NAME.replace(".xlsx", ".xlsm")).write_bytes(macro)

    r = only(collect(ws))

    assert r.verdict == Verdict.ACCEPTED
    notice = [f for f in r.findings if f.code == "C007"]
    assert len(notice) == 1 and not notice[0].needs_action and notice[0].action == "対応不要"


def test_outlook_forward_as_attachment(ws):
    data = filled(ws)
    inner = Forwarded("調査票の提出", "dx@city.example.jp", [(NAME, data)])
    (ws.inbox / "転送.msg").write_bytes(outlook_msg("FW: 調査票の提出", "jinji@city.example.jp", SENT, [inner]))

    r = only(collect(ws))

    assert r.verdict == Verdict.ACCEPTED and r.department == DX
    assert r.item.label == f"転送.msg ＞ 調査票の提出.msg ＞ {NAME}" and r.item.sender == "dx@city.example.jp"


def test_a_signature_image_beside_the_workbook_does_not_make_the_department_wait(ws):
    from plan_xl.collect import State, department_states

    msg = mail(filled(ws), NAME)
    msg.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="image001.png")
    (ws.inbox / "提出.eml").write_bytes(msg.as_bytes())
    note = EmailMessage()  # 人事課 writes that its return will follow, with its logo
    note["Subject"], note["From"], note["Date"] = "後日送ります", "jinji@city.example.jp", "Mon, 20 May 2024 11:00:00 +0900"
    note.set_content("調査票は後日送ります。")
    note.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="logo.png")
    (ws.inbox / "人事課.eml").write_bytes(note.as_bytes())

    verdicts = {r.item.name: (r.verdict, r.department) for r in collect(ws).results}

    assert verdicts == {NAME: (Verdict.ACCEPTED, DX), "image001.png": (Verdict.WRONG_TYPE, DX),
                        "logo.png": (Verdict.WRONG_TYPE, "人事課")}
    states = department_states(ws, ws.load(), YEAR)
    assert states[DX] == State.ACCEPTED and states["人事課"] == State.MISSING


def test_collect_parses_every_mail_once(ws, monkeypatch):
    """gather runs once per collect: the command line counts the files it judges from the same
    gathering, and the file read for judging is hashed only on purpose (Received.digest)."""
    parsed: list[int] = []
    real = email.message_from_bytes

    def counting(data, *args, **kwargs):
        parsed.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(email, "message_from_bytes", counting)
    for n, department in enumerate([DX, DX]):
        (ws.inbox / f"提出{n}.eml").write_bytes(mail(filled(ws, department), NAME).as_bytes())
    result = CliRunner().invoke(main, ["--dir", str(ws.root), "collect"])
    assert result.exit_code == 0, result.output
    assert len(parsed) == 2
    assert result.output.count(f"＞ {NAME}") == 2
