"""plan_xl.mail against a real SMTP server on localhost (aiosmtpd), and the .eml drafts."""

from __future__ import annotations

import email
import json
import socket
from datetime import date
from email import policy
from email.header import decode_header, make_header

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from plan_xl.cli import main
from plan_xl.mail import (
    PASSWORD_ENV,
    MailError,
    connect,
    load_settings,
    prepare_letters,
    send_letters,
    unsent,
    write_drafts,
)
from plan_xl.register.model import Submission
from plan_xl.workspace import copy_default_templates

DUE = date(2024, 5, 31)


class Recorder:
    """aiosmtpd handler: keeps every message, refuses the addresses in `reject`."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.reject: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _, raw in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def write_settings(ws, port: int, extra: str = "") -> None:
    ws.settings_path.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "gyosei-management@city.example.jp"\nsender_name = "郡山市 行政マネジメント課"\n{extra}',
        encoding="utf-8")


def write_xlsx(path, text: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.active.title = "進捗状況"
    wb.active["A1"] = text
    wb.save(path)
    return path.read_bytes()


def write_templates(ws, reg, year: int = 2023) -> dict[str, bytes]:
    return {d: write_xlsx(ws.template_path(year, d), f"{d}の調査票") for d in reg.recipients()}


def attachment(msg):
    return next(p for p in msg.walk() if p.get_content_disposition() == "attachment")


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_templates_arrive_in_japanese_with_identical_attachments(workspace, register, server, encoding):
    write_settings(workspace, server.port)
    files = write_templates(workspace, register)
    settings = load_settings(workspace, register, encoding)
    batch = prepare_letters(workspace, register, "templates", 2023, settings, due=DUE)
    assert batch.problems == []
    outcomes = send_letters(batch.letters, workspace, settings)

    assert all(o.sent for o in outcomes) and len(outcomes) == len(register.recipients())
    assert len(server.messages) == len(outcomes)
    by_to = {str(m["To"]): m for m in server.parsed()}
    msg = by_to["jinji@city.example.jp"]
    assert msg["Subject"] == ("【ご依頼】2023年度（令和5年度） 行財政改革 実施計画 "
                              "進捗状況調査票のご提出について（人事課）")
    assert msg["From"].addresses[0].display_name == "郡山市 行政マネジメント課"
    assert msg["Message-ID"] and msg["Date"] and "X-Unsent" not in msg
    body = text_of(msg)
    assert body.startswith("人事課\n行政改革ご担当者様\n")
    assert "2024年5月31日（金）までに" in body
    assert "行政マネジメント課 行政改革担当（内線 2113）" in body
    assert msg.get_body(("plain",)).get_content_charset() == encoding
    part = attachment(msg)
    assert part.get_filename() == "2023年度_進捗状況調査票_人事課.xlsx"
    assert str(make_header(decode_header(part.get_param("name", header="content-type")))) \
        == "2023年度_進捗状況調査票_人事課.xlsx"
    assert part.get_content() == files["人事課"]
    raw = dict((tuple(rcpt), data) for rcpt, data in server.messages)[("jinji@city.example.jp",)]
    raw.decode("ascii")  # every byte on the wire is 7-bit
    assert f"charset={encoding}".encode() in raw.replace(b'"', b"").lower()
    if encoding == "iso-2022-jp":
        assert b"=?iso-2022-jp?b?" in raw.lower()


@pytest.mark.parametrize("encoding", ["utf-8", "iso-2022-jp"])
def test_drafts_parse_back(workspace, register, encoding):
    files = write_templates(workspace, register)
    settings = load_settings(workspace, register, encoding)  # no plan-xl.toml: sender from the register
    batch = prepare_letters(workspace, register, "templates", 2023, settings)
    paths = write_drafts(batch, workspace, settings)

    assert len(paths) == len(register.recipients())
    assert {p.parent for p in paths} == {workspace.outbox / "templates"}
    draft = workspace.outbox / "templates" / "2023年度_DX戦略課.eml"
    raw = draft.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["X-Unsent"] == "1"
    assert msg["Subject"].endswith("進捗状況調査票のご提出について（DX戦略課）")
    assert msg["From"].addresses[0].addr_spec == "gyosei-management@city.example.jp"
    assert msg["To"].addresses[0].addr_spec == "dx@city.example.jp"
    assert "所定の期限までに" in text_of(msg)
    assert attachment(msg).get_filename() == "2023年度_進捗状況調査票_DX戦略課.xlsx"
    assert attachment(msg).get_content() == files["DX戦略課"]


def test_rerun_sends_nothing_unless_resend(workspace, register, server):
    write_settings(workspace, server.port)
    files = write_templates(workspace, register)
    args = ["--dir", str(workspace.root), "mail", "templates", "--year", "2023", "--send", "--yes"]
    n = len(files)

    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert f"{n} 通を送信しました" in first.output
    assert len(server.messages) == n

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "送信するメールはありません" in again.output
    assert len(server.messages) == n

    # A department's file changed: only that message is new.
    write_xlsx(workspace.template_path(2023, "人事課"), "作り直した調査票")
    changed = CliRunner().invoke(main, args)
    assert changed.exit_code == 0, changed.output
    assert server.messages[-1][0] == ["jinji@city.example.jp"] and len(server.messages) == n + 1

    resent = CliRunner().invoke(main, [*args, "--resend"])
    assert resent.exit_code == 0, resent.output
    assert len(server.messages) == 2 * n + 1
    log = [json.loads(line) for line in (workspace.state / "mail_sent.jsonl").read_text("utf-8").splitlines()]
    assert len(log) == 2 * n + 1 and log[0]["kind"] == "templates" and log[0]["year"] == 2023


def test_send_asks_first_and_shows_who(workspace, register, server):
    write_settings(workspace, server.port)
    write_templates(workspace, register)
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "mail", "templates", "--send"],
                                input="n\n")
    assert f"2023年度 調査票の送付: 次の {len(register.recipients())} 通を 127.0.0.1 から" in result.output
    assert "人事課 → jinji@city.example.jp  添付: 2023年度_進捗状況調査票_人事課.xlsx" in result.output
    assert "送信を取りやめました" in result.output
    assert server.messages == []


def test_one_refused_recipient_does_not_stop_the_rest(workspace, register, server):
    write_settings(workspace, server.port)
    write_templates(workspace, register)
    server.reject = {"jinji@city.example.jp"}
    settings = load_settings(workspace, register)
    batch = prepare_letters(workspace, register, "templates", 2023, settings)
    outcomes = send_letters(batch.letters, workspace, settings)

    failed = [o for o in outcomes if not o.sent]
    assert [o.letter.key for o in failed] == ["人事課"]
    assert "jinji@city.example.jp" in failed[0].error and "550" in failed[0].error
    assert len(server.messages) == len(outcomes) - 1
    assert [x.key for x in unsent(batch.letters, workspace)] == ["人事課"]  # retried next time

    server.reject = set()
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "mail", "templates", "--send", "--yes"])
    assert result.exit_code == 0, result.output
    assert server.messages[-1][0] == ["jinji@city.example.jp"]
    assert len(server.messages) == len(outcomes)


def test_missing_attachment_skips_only_that_department(workspace, register):
    write_templates(workspace, register)
    workspace.template_path(2023, "河川課").unlink()
    settings = load_settings(workspace, register)
    batch = prepare_letters(workspace, register, "templates", 2023, settings)
    assert len(batch.letters) == len(register.recipients()) - 1
    assert batch.problems == [f"河川課: 添付するファイルがありません: {workspace.template_path(2023, '河川課')}。"
                              f"この課へのメールは作りませんでした（調査票は plan-xl templates で作成できます）。"]

    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "mail", "templates", "--year", "2023"])
    assert result.exit_code == 1
    assert "2023年度_進捗状況調査票_河川課.xlsx" in result.output
    assert f"下書き {len(register.recipients()) - 1} 通" in result.output


def _issued(ws, reg, year: int) -> None:
    """Templates for every department that owns fields (their content does not matter here)."""
    for d in reg.field_owners():
        write_xlsx(ws.template_path(year, d), "調査票")


def _rejected(ws, department: str, year: int) -> None:
    """A rejected return of `department` in the verdict history, as collect records it."""
    ws.state.mkdir(parents=True, exist_ok=True)
    with open(ws.state / "verdicts.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"received": "2024-05-20T10:00:00", "file": "f.xlsx", "sha256": "1" * 64,
                            "department": department, "year": year, "verdict": "差戻し", "message": "",
                            "findings": []}, ensure_ascii=False) + "\n")


def test_reminders_go_to_departments_not_yet_accepted(workspace, register, server):
    write_settings(workspace, server.port)
    _issued(workspace, register, 2023)
    owners = register.field_owners()
    register.submissions = [Submission("t", d, 2023, "f.xlsx", "0" * 64, "2024-05-20T10:00:00+09:00")
                            for d in owners - {"人事課", "河川課"}]
    register.submissions.append(Submission("t", "人事課", 2022, "f.xlsx", "0" * 64, "2023-05-20"))
    settings = load_settings(workspace, register)
    batch = prepare_letters(workspace, register, "reminders", 2023, settings, due=date(2024, 6, 7))
    assert [x.key for x in batch.letters] == ["人事課", "河川課"]
    send_letters(batch.letters, workspace, settings)
    msg = server.parsed()[0]
    assert msg["Subject"].startswith("【再度のお願い】2023年度（令和5年度）")
    assert not msg.is_multipart()
    body = text_of(msg)
    assert "・2023年度_進捗状況調査票_人事課.xlsx" in body and "2024年6月7日（金）までに" in body
    assert unsent(batch.letters, workspace) == []


def test_a_department_awaiting_correction_is_reminded_of_the_correction(workspace, register, server):
    write_settings(workspace, server.port)
    _issued(workspace, register, 2023)
    _rejected(workspace, "人事課", 2023)
    write_xlsx(workspace.correction_path(2023, "人事課"), "修正をお願いします")
    settings = load_settings(workspace, register)
    batch = prepare_letters(workspace, register, "reminders", 2023, settings, due=date(2024, 6, 7))
    letters = {x.key: x for x in batch.letters}
    assert "修正版" in letters["人事課"].subject and "修正をお願いしている箇所" in letters["人事課"].body
    assert "2023年度_進捗状況_修正依頼_人事課.xlsx" in letters["人事課"].body
    assert "確認できておりません" in letters["河川課"].body and "修正版" not in letters["河川課"].subject


def test_no_reminder_before_the_template_is_issued(workspace, register, server):
    write_settings(workspace, server.port)
    batch = prepare_letters(workspace, register, "reminders", 2023, load_settings(workspace, register))
    assert batch.letters == [] and any("まだ発行していない" in p for p in batch.problems)


def test_corrections_only_where_a_correction_copy_exists(workspace, register, server):
    write_settings(workspace, server.port)
    _rejected(workspace, "中央公民館", 2023)
    data = write_xlsx(workspace.correction_path(2023, "中央公民館"), "修正をお願いします")
    write_xlsx(workspace.corrections_dir(2023) / "名前の違うファイル.xlsx", "?")
    settings = load_settings(workspace, register)
    batch = prepare_letters(workspace, register, "corrections", 2023, settings)
    assert [x.key for x in batch.letters] == ["中央公民館"]
    assert len(batch.problems) == 1 and "名前の違うファイル.xlsx" in batch.problems[0]
    _rejected(workspace, "人事課", 2022)  # a copy whose department is not awaiting correction
    write_xlsx(workspace.correction_path(2023, "人事課"), "古い修正依頼")
    again = prepare_letters(workspace, register, "corrections", 2023, settings)
    assert [x.key for x in again.letters] == ["中央公民館"]
    assert any("人事課" in p and "送りません" in p for p in again.problems)
    send_letters(batch.letters, workspace, settings)
    msg = server.parsed()[0]
    assert attachment(msg).get_filename() == "2023年度_進捗状況_修正依頼_中央公民館.xlsx"
    assert attachment(msg).get_content() == data


def test_report_goes_to_each_address(workspace, register, server):
    write_settings(workspace, server.port)
    data = write_xlsx(workspace.report_path(2023), "取りまとめ結果")
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "mail", "report", "--year", "2023",
                                       "--to", "a@city.example.jp, b@city.example.jp", "--send", "--yes"])
    assert result.exit_code == 0, result.output
    assert sorted(rcpt for rcpt, _ in server.messages) == [["a@city.example.jp"], ["b@city.example.jp"]]
    for msg in server.parsed():
        assert msg["Subject"] == "【送付】2023年度（令和5年度） 行財政改革 実施計画 進捗状況の取りまとめ結果について"
        assert text_of(msg).startswith("関係各位\n")
        assert attachment(msg).get_filename() == "2023年度_行財政改革実施計画_進捗状況.xlsx"
        assert attachment(msg).get_content() == data


def test_report_without_the_workbook_says_which_file(workspace):
    result = CliRunner().invoke(main, ["--dir", str(workspace.root), "mail", "report", "--year", "2023",
                                       "--to", "a@city.example.jp"])
    assert result.exit_code == 1
    assert f"添付する取りまとめ結果のファイルがありません: {workspace.report_path(2023)}" in result.output


def test_working_folder_texts_override_the_defaults(workspace, register):
    written = copy_default_templates(workspace.mail_templates)
    assert sorted(p.name for p in written) == ["corrections.txt", "reminders.txt", "reminders_returned.txt", "report.txt",
                                               "templates.txt", "templates_reference.txt"]
    (workspace.mail_templates / "templates.txt").write_text(
        "件名: ${department}様 調査票（${year}）\n\n${department}御中\n期限: ${due}\n", encoding="utf-8")
    assert copy_default_templates(workspace.mail_templates) == []  # an edited text is kept
    write_templates(workspace, register)
    settings = load_settings(workspace, register)
    letter = prepare_letters(workspace, register, "templates", 2023, settings, due=DUE).letters[0]
    assert letter.subject == "行政マネジメント課様 調査票（2023年度（令和5年度））"
    assert letter.body == "行政マネジメント課御中\n期限: 2024年5月31日（金）\n"

    (workspace.mail_templates / "templates.txt").write_text("件名: ${課名}\n\n本文\n", encoding="utf-8")
    with pytest.raises(MailError, match=r"\$\{課名\} は使えません"):
        prepare_letters(workspace, register, "templates", 2023, settings)


def test_iso_2022_jp_refuses_characters_it_cannot_carry(workspace, register):
    copy_default_templates(workspace.mail_templates)
    (workspace.mail_templates / "reminders.txt").write_text("件名: 至急①\n\n本文\n", encoding="utf-8")
    _issued(workspace, register, 2023)
    settings = load_settings(workspace, register, "iso-2022-jp")
    batch = prepare_letters(workspace, register, "reminders", 2023, settings)
    assert batch.letters == [] and "文字「①」は ISO-2022-JP で表せない" in batch.problems[0]


def test_password_only_from_environment(workspace, register, server, monkeypatch):
    write_settings(workspace, server.port, 'user = "gyosei"\n')
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    settings = load_settings(workspace, register)
    with pytest.raises(MailError, match=PASSWORD_ENV):
        connect(settings, None)

    write_settings(workspace, server.port, 'password = "secret"\n')
    with pytest.raises(MailError, match="不明な項目があります: password"):
        load_settings(workspace, register)
