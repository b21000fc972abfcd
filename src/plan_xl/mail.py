"""Mail (メール): templates to departments, correction requests, reminders, the consolidated report.

Nothing is sent by default: every message is written as an .eml draft to `outbox/<kind>/`, which
Outlook or Thunderbird opens as an unsent message (`X-Unsent: 1`). `send_letters` sends through
the SMTP server of the working folder's `plan-xl.toml`:

    [smtp]
    host = "smtp.city.example.jp"
    port = 587
    security = "starttls"      # "starttls", "ssl" or "none"
    user = "gyosei-management"
    sender = "gyosei-management@city.example.jp"
    sender_name = "郡山市 行政マネジメント課"
    encoding = "utf-8"         # or "iso-2022-jp"

The password is read from the environment variable PLAN_XL_SMTP_PASSWORD, or from the OS keyring
(service "plan-xl", the SMTP user name) when the `keyring` package is installed; plan-xl never
writes it anywhere. Subjects and bodies come from `templates/mail/<kind>.txt` (falling back to the
copies shipped in plan_xl/data/mail/): first line `件名: ...`, a blank line, then the body, with
string.Template placeholders such as ${department}, ${year}, ${due}, ${files}.

A sent log (`.plan-xl/mail_sent.jsonl`) keyed by kind, year, department (or address) and the
attachment's SHA-256 keeps a second run from sending the same message again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import smtplib
import ssl
import string
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from . import messages as M
from .collect.ledger import department_states
from .collect.verdict import State
from .errors import MailError, UsageError
from .fiscal import fy_label
from .register.history import field_owners
from .register.model import Register
from .workspace import Workspace, default_template

KINDS = {
    "templates": "調査票の送付",
    "corrections": "修正のお願い",
    "reminders": "未提出の課へのお願い",
    "report": "取りまとめ結果の送付",
}
# Mail texts besides one per kind: the reminder to a department whose return awaits correction,
# and the template mail of a department sent its items for information only (参考送付).
RETURNED_TEXT = "reminders_returned"
REFERENCE_TEXT = "templates_reference"
ENCODINGS = ("utf-8", "iso-2022-jp")
SECURITIES = {"starttls": 587, "ssl": 465, "none": 25}
PASSWORD_ENV = "PLAN_XL_SMTP_PASSWORD"
KEYRING_SERVICE = "plan-xl"
SENT_LOG = "mail_sent.jsonl"
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
WEEKDAYS = "月火水木金土日"
NO_DUE = "所定の期限"
_WIRE = compat32.clone(linesep="\r\n")  # .eml files and SMTP both want CRLF


@dataclass(frozen=True)
class SmtpSettings:
    """The `[smtp]` table of plan-xl.toml. The password is never part of it."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    sender: str = ""
    sender_name: str = ""
    encoding: str = "utf-8"


@dataclass
class Letter:
    """One message to one department (or, for the report, to one address)."""

    kind: str
    year: int
    key: str  # department name, or the address the report goes to
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    attachment: Path | None = None
    sha256: str = ""  # of the attachment; "" without one

    def describe(self) -> str:
        cc = f"（CC: {', '.join(self.cc)}）" if self.cc else ""
        name = f"  添付: {self.attachment.name}" if self.attachment else ""
        return f"{self.key} → {', '.join(self.to)}{cc}{name}"


@dataclass
class Batch:
    """The messages of one run, and the ones that could not be made (Japanese, one line each)."""

    kind: str
    year: int
    letters: list[Letter]
    problems: list[str]
    recipients: list[str] = field(default_factory=list)  # departments meant to get one
    reference: list[str] = field(default_factory=list)  # of those, 参考送付 (no return asked)

    def coverage(self) -> str:
        """How the messages match the departments meant to get one, and why they differ."""
        if not self.recipients:
            return ""
        ref = f"（うち参考送付 {len(self.reference)} 課: {'、'.join(self.reference)}）" if self.reference else ""
        made = {x.key for x in self.letters}
        missing = [d for d in self.recipients if d not in made]
        why = (f"。{'、'.join(missing)}の {len(missing)} 課は、上の注意のとおりメールを作っていません"
               if missing else "")
        return f"対象 {len(self.recipients)} 課{ref}、メール {len(self.letters)} 通{why}。"


@dataclass
class Outcome:
    letter: Letter
    sent: bool
    error: str = ""


# --- settings ------------------------------------------------------------------------------------
def load_settings(ws: Workspace, reg: Register, encoding: str | None = None) -> SmtpSettings:
    """Settings from plan-xl.toml; the sender defaults to the coordinating department (取りまとめ課)."""
    table: dict = {}
    if ws.settings_path.exists():
        try:
            table = tomllib.loads(ws.settings_path.read_text(encoding="utf-8")).get("smtp", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
            raise MailError(M.M001(settings_path=ws.settings_path, error=e)) from e
    unknown = set(table) - set(SmtpSettings.__dataclass_fields__)
    if unknown:
        raise MailError(M.M002(settings_path=ws.settings_path, unknown=", ".join(sorted(unknown)),
                               password_env=PASSWORD_ENV))
    coordinator = reg.meta.get("coordinating_department", "")
    try:
        own_address = reg.department(coordinator).email
    except KeyError:
        own_address = ""
    security = str(table.get("security", "starttls")).lower()
    if security not in SECURITIES:
        raise MailError(M.M003(security=security))
    try:
        port = int(table.get("port", SECURITIES[security]))
    except (TypeError, ValueError) as e:
        raise MailError(M.M004(port=table.get("port"))) from e
    settings = SmtpSettings(
        host=str(table.get("host", "")),
        port=port,
        security=security,
        user=str(table.get("user", "")),
        sender=str(table.get("sender", own_address)),
        sender_name=str(table.get("sender_name", f"{reg.meta.get('city', '')} {coordinator}".strip())),
        encoding=str(encoding or table.get("encoding", "utf-8")).lower(),
    )
    if settings.encoding not in ENCODINGS:
        raise UsageError(M.M005(encoding=settings.encoding))
    if not settings.sender:
        raise MailError(M.M006(settings_path=ws.settings_path, coordinator=coordinator))
    return settings


def smtp_password(settings: SmtpSettings) -> str | None:
    """The SMTP password from the environment, else the OS keyring when `keyring` is installed."""
    if password := os.environ.get(PASSWORD_ENV):
        return password
    try:
        import keyring  # optional: only used when the city has installed it
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, settings.user)
    except Exception:  # noqa: BLE001 - a broken keyring backend must not hide the env var advice
        return None


# --- mail texts ----------------------------------------------------------------------------------
class _Text(string.Template):
    idpattern = r"[^\W\d]\w*"  # Japanese names too, so ${課名} gets the "unknown placeholder" message


def render(text: str, values: dict[str, str], source: str) -> tuple[str, str]:
    """Subject and body of a mail text (`件名: ...`, blank line, body) with placeholders filled."""
    first, _, body = text.lstrip("\ufeff").partition("\n")
    m = re.match(r"^件名[:：]\s*(.*)$", first.strip())
    if not m:
        raise MailError(M.M007(source=source))
    try:
        subject = _Text(m.group(1)).substitute(values)
        body = _Text(body.lstrip("\r\n")).substitute(values)
    except KeyError as e:
        raise MailError(M.M008(source=source, name=e.args[0],
                               usable=", ".join("${" + k + "}" for k in values))) from e
    except ValueError as e:
        raise MailError(M.M009(source=source)) from e
    return subject.strip(), body.rstrip() + "\n"


def _mail_text(ws: Workspace, kind: str) -> tuple[str, str]:
    path = ws.mail_templates / f"{kind}.txt"
    if path.exists():
        return path.read_text(encoding="utf-8"), str(path)
    return default_template(kind), f"（標準の文面）{kind}.txt"


def due_label(due: date | None) -> str:
    """2024-05-31 -> '2024年5月31日（金）'."""
    if due is None:
        return NO_DUE
    return f"{due.year}年{due.month}月{due.day}日（{WEEKDAYS[due.weekday()]}）"


def addresses(text: str) -> list[str]:
    """Addresses written in one register cell or option, separated by , ; 、 or spaces."""
    return [a for a in re.split(r"[,;、，；\s]+", text or "") if a]


# --- planning the messages -----------------------------------------------------------------------
Target = tuple[str, list[str], list[str], Path | None, list[str]]  # key, to, cc, attachment, files named


def prepare_letters(ws: Workspace, reg: Register, kind: str, year: int, settings: SmtpSettings, *,
                    due: date | None = None, to: list[str] | None = None,
                    report_file: Path | None = None) -> Batch:
    """Every message of one kind for one fiscal year, with the files each department gets."""
    if kind not in KINDS:
        raise UsageError(M.M010(kinds=", ".join(KINDS), kind=kind))
    texts = {kind: _mail_text(ws, kind)}
    batch = Batch(kind, year, [], [])
    if kind == "report":
        targets = _report_targets(ws, year, to, report_file, batch)
    else:
        names = _department_names(ws, reg, kind, year, batch, texts)
        targets = _department_targets(ws, reg, kind, year, names, texts, batch)
    common = _common_values(reg, year, due, settings)
    for key, to_list, cc_list, path, mention in targets:
        values = {**common, "department": key if kind != "report" else "",
                  "files": "\n".join(f"・{n}" for n in mention)}
        text, source = texts.get(key, texts[kind])
        subject, body = render(text, values, source)
        letter = Letter(kind, year, key, to_list, cc_list, subject, body, path,
                        hashlib.sha256(path.read_bytes()).hexdigest() if path else "")
        if bad := _unencodable(letter, settings):
            batch.problems.append(M.M022(key=key, char=bad))
            continue
        batch.letters.append(letter)
    return batch


def _common_values(reg: Register, year: int, due: date | None, settings: SmtpSettings) -> dict[str, str]:
    """The placeholders every mail text of the year shares."""
    coordinator = reg.meta.get("coordinating_department", "")
    try:
        contact = reg.department(coordinator).contact
    except KeyError:
        contact = ""
    return {
        "city": reg.meta.get("city", ""),
        "plan_title": reg.meta.get("plan_title", ""),
        "year": fy_label(year),
        "due": due_label(due),
        "contact": contact or settings.sender_name,
        "sender_name": settings.sender_name,
        "sender": settings.sender,
    }


def _report_targets(ws: Workspace, year: int, to: list[str] | None, report_file: Path | None,
                    batch: Batch) -> list[Target]:
    """The report to each address given with --to."""
    recipients = [a for item in (to or []) for a in addresses(item)]
    if not recipients:
        raise UsageError(M.M011())
    path = report_file or ws.report_path(year)
    if not path.is_file():
        batch.problems.append(M.M016(path=path))
        return []
    return [(a, [a], [], path, [path.name]) for a in recipients]


def _department_names(ws: Workspace, reg: Register, kind: str, year: int, batch: Batch,
                      texts: dict[str, tuple[str, str]]) -> list[str]:
    """The departments that get a mail of `kind`; `texts` gets the wording of those who get
    another text than the kind's own."""
    if kind == "templates":
        owners = field_owners(reg, year)  # once: it builds the plan as in force that year
        names = batch.recipients = reg.recipients()  # every department with a template
        batch.reference = [n for n in names if n not in owners]
        texts.update({d: _mail_text(ws, REFERENCE_TEXT) for d in batch.reference})
        return names
    states = department_states(ws, reg, year)
    if kind == "corrections":
        return _correction_names(ws, reg, year, states, batch)
    # reminders: the same states as `status`; 差戻し中 gets its own wording
    names = [d for d, s in states.items() if s in (State.MISSING, State.RETURNED)]
    texts.update({d: _mail_text(ws, RETURNED_TEXT) for d in names if states[d] == State.RETURNED})
    if not_issued := [d for d, s in states.items() if s == State.NOT_ISSUED]:
        batch.problems.append(M.M017(count=len(not_issued), departments="、".join(not_issued)))
    return names


def _correction_names(ws: Workspace, reg: Register, year: int, states: dict, batch: Batch) -> list[str]:
    """Departments with a correction copy whose return is still 差戻し中; the other copies are
    named in the problems."""
    with_copy = [d.name for d in reg.departments if ws.correction_path(year, d.name).is_file()]
    names = [d for d in with_copy if states.get(d) == State.RETURNED]
    batch.problems += [M.M018(department=d, state=states.get(d), path=ws.correction_path(year, d))
                       for d in with_copy if d not in names]
    known = {ws.correction_path(year, n) for n in with_copy}
    folder = ws.corrections_dir(year)
    strays = sorted(p for p in folder.glob("*.xlsx") if p not in known and not p.name.startswith("~$")) \
        if folder.is_dir() else []
    for p in strays:
        batch.problems.append(M.M019(path=p, pattern=ws.correction_path(year, "所管課名").name))
    return names


def _department_targets(ws: Workspace, reg: Register, kind: str, year: int, names: list[str],
                        texts: dict, batch: Batch) -> list[Target]:
    """Each department's addresses and attachment; the ones that cannot get a mail are problems."""
    targets = []
    for name in names:
        dept = reg.department(name)
        if not addresses(dept.email):
            batch.problems.append(M.M020(department=name))
            continue
        attach = {"templates": ws.template_path, "corrections": ws.correction_path}.get(kind)
        path = attach(year, name) if attach else None  # reminders attach nothing
        if path is not None and not path.is_file():
            hint = M.M023() if kind == "templates" else ""
            batch.problems.append(M.M021(department=name, path=path, hint=hint))
            continue
        returned_copy = ws.correction_path(year, name)
        mention = [path.name if path else (returned_copy.name if name in texts and returned_copy.exists()
                                           else ws.template_path(year, name).name)]
        targets.append((name, addresses(dept.email), addresses(dept.cc), path, mention))
    return targets


def _unencodable(letter: Letter, settings: SmtpSettings) -> str:
    """The first character the mail's encoding cannot carry in subject, body or sender name."""
    for text in (letter.subject, letter.body, settings.sender_name):
        try:
            text.encode(settings.encoding)
        except UnicodeEncodeError as e:
            return text[e.start]
    return ""


# --- building ------------------------------------------------------------------------------------
def build_message(letter: Letter, settings: SmtpSettings, *, draft: bool = False) -> bytes:
    """The message as bytes (CRLF), in UTF-8 or ISO-2022-JP as the settings say."""
    return _compose(letter, settings, draft).as_bytes(policy=_WIRE)


def _compose(letter: Letter, settings: SmtpSettings, draft: bool) -> Message:
    enc = settings.encoding
    msg = MIMEMultipart() if letter.attachment else None
    # Canonical text has CRLF line ends before base64 (RFC 2045); 7-bit ISO-2022-JP gets them on output.
    text = MIMEText(letter.body.replace("\r\n", "\n").replace("\n", "\r\n"), "plain", enc)
    if msg is None:
        msg = text
    else:
        msg.attach(text)
        msg.attach(_attachment_part(letter.attachment, enc))
    msg["Subject"] = Header(letter.subject, enc)
    msg["From"] = formataddr((settings.sender_name, settings.sender), charset=enc)
    msg["To"] = ", ".join(letter.to)
    if letter.cc:
        msg["Cc"] = ", ".join(letter.cc)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or "plan-xl.invalid")
    if draft:
        msg["X-Unsent"] = "1"  # Outlook opens the .eml as a message to edit and send
    return msg


def _attachment_part(path: Path, enc: str) -> MIMEApplication:
    """An .xlsx part whose Japanese file name Outlook, Thunderbird and Gmail all show:
    RFC 2231 `filename*` plus the RFC 2047 `name=` that Outlook reads."""
    name = path.name
    part = MIMEApplication(path.read_bytes(), XLSX[1])
    try:
        name.encode(enc)
    except UnicodeEncodeError:
        enc = "utf-8"
    part.set_param("name", Header(name, enc).encode(maxlinelen=0))
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    return part


def _safe_filename(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text)


def write_drafts(batch: Batch, ws: Workspace, settings: SmtpSettings) -> list[Path]:
    """Each message as an .eml draft in outbox/<kind>/; a re-run replaces the drafts."""
    folder = ws.outbox / batch.kind
    paths = []
    for letter in batch.letters:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{batch.year}年度_{_safe_filename(letter.key)}.eml"
        path.write_bytes(build_message(letter, settings, draft=True))
        paths.append(path)
    return paths


# --- sent log ------------------------------------------------------------------------------------
def _log_path(ws: Workspace) -> Path:
    return ws.state / SENT_LOG


def _log_key(kind: str, year: int, key: str, sha256: str) -> tuple[str, int, str, str]:
    return (kind, int(year), key, sha256)


def sent_keys(ws: Workspace) -> set[tuple[str, int, str, str]]:
    path = _log_path(ws)
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            keys.add(_log_key(r["kind"], r["year"], r["key"], r["sha256"]))
    return keys


def unsent(letters: list[Letter], ws: Workspace) -> list[Letter]:
    """The letters not in the sent log (same kind, year, department or address, attachment)."""
    done = sent_keys(ws)
    return [x for x in letters if _log_key(x.kind, x.year, x.key, x.sha256) not in done]


def _log_sent(ws: Workspace, letter: Letter, message_id: str) -> None:
    ws.state.mkdir(parents=True, exist_ok=True)
    row = {"time": datetime.now().astimezone().isoformat(timespec="seconds"), "kind": letter.kind,
           "year": letter.year, "key": letter.key, "to": letter.to, "cc": letter.cc,
           "attachment": letter.attachment.name if letter.attachment else "", "sha256": letter.sha256,
           "message_id": message_id}
    with _log_path(ws).open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


# --- sending -------------------------------------------------------------------------------------
def connect(settings: SmtpSettings, password: str | None) -> smtplib.SMTP:
    """An open, logged-in SMTP connection, or MailError saying what to fix."""
    where = f"{settings.host}:{settings.port}"
    if not settings.host:
        raise MailError(M.M012())
    if settings.user and not password:
        raise MailError(M.M013(password_env=PASSWORD_ENV, keyring_service=KEYRING_SERVICE,
                               user=settings.user))
    context = ssl.create_default_context()
    try:
        if settings.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=60, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=60)
            if settings.security == "starttls":
                smtp.starttls(context=context)
        if settings.user:
            smtp.login(settings.user, password or "")
    except smtplib.SMTPAuthenticationError as e:
        raise MailError(M.M014(where=where, error=_reason(e))) from e
    except (smtplib.SMTPException, OSError) as e:
        raise MailError(M.M015(where=where, error=_reason(e))) from e
    return smtp


def _reason(e: Exception) -> str:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return M.M024(refused=", ".join(f"{a}（{code} {msg.decode(errors='replace')}）"
                                        for a, (code, msg) in e.recipients.items()))
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{e.smtp_code} {e.smtp_error.decode(errors='replace') if isinstance(e.smtp_error, bytes) else e.smtp_error}"
    return f"{type(e).__name__}: {e}" if not str(e) else str(e)


def send_letters(letters: list[Letter], ws: Workspace, settings: SmtpSettings, password: str | None = None) -> list[Outcome]:
    """Send each letter; a failure is recorded in its Outcome and the rest still go out.
    A letter counts as sent (and is logged) only when every recipient was accepted."""
    outcomes: list[Outcome] = []
    smtp: smtplib.SMTP | None = connect(settings, password) if letters else None
    try:
        for letter in letters:
            msg = _compose(letter, settings, draft=False)
            try:
                if smtp is None:
                    smtp = connect(settings, password)
                refused = smtp.sendmail(settings.sender, letter.to + letter.cc, msg.as_bytes(policy=_WIRE))
                if refused:
                    raise smtplib.SMTPRecipientsRefused(refused)
            except MailError as e:
                outcomes.append(Outcome(letter, False, str(e)))
                continue
            except (smtplib.SMTPException, OSError) as e:
                outcomes.append(Outcome(letter, False, _reason(e)))
                if isinstance(e, smtplib.SMTPServerDisconnected | OSError):
                    smtp = None  # connect again for the next message
                continue
            _log_sent(ws, letter, msg["Message-ID"])
            outcomes.append(Outcome(letter, True))
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return outcomes

