"""Stage 1, gather: every file to judge, out of folders, saved e-mails (.eml, Outlook .msg),
mails forwarded as attachments and .zip archives (Japanese names, ZipCrypto passwords).

A container is opened here and never judged itself: each file inside becomes a `Received`
that remembers the chain of containers it came in (shown as 「a.msg ＞ b.zip ＞ c.xlsx」)
and who sent it. A container that cannot be opened still becomes a `Received`, carrying the
verdict it gets (`problem`), so nothing received goes without a verdict. The limits of the
workbook pre-scan (read.LIMITS) bound every archive too, so a zip cannot do what an .xlsx
may not.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from .. import messages as M
from ..errors import UsageError
from .read import LIMITS, RATIO_MIN_BYTES
from .verdict import Verdict

SEPARATOR = " ＞ "  # between a container and what it held; a cp932 console can show it (» it cannot)
MAX_DEPTH = 3  # containers inside containers: a forwarded mail with a zip holds a workbook at depth 3
CONTAINERS = (".eml", ".msg", ".zip")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class Received:
    """One file to judge: a workbook on disk, or a file taken out of a container."""

    name: str  # file name as the department sent it
    content: bytes | None  # None: read from `source` when needed, so memory stays flat in N
    source: Path  # the file in the inbox (the outermost container)
    received: str  # ISO time: the e-mail's Date, else the file's modification time
    sha256: str = ""
    chain: tuple[str, ...] = ()  # names of the containers it came in, outermost first
    sender: str = ""  # the From address of the (innermost) mail it came with
    problem: tuple[Verdict, str] | None = None  # a container that could not be opened

    @property
    def data(self) -> bytes:
        """The file's bytes: its content, else read from the inbox (no hashing here)."""
        return self.content if self.content is not None else self.source.read_bytes()

    def digest(self, data: bytes) -> str:
        """The file's SHA-256 (the name it is recorded and archived by), hashed once from `data`."""
        self.sha256 = self.sha256 or hashlib.sha256(data).hexdigest()
        return self.sha256

    @property
    def label(self) -> str:
        return SEPARATOR.join([*self.chain, self.name])


@dataclass
class Gathered:
    items: list[Received] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class Opener:
    """What gather needs to open archives: passwords given on the command line, and a way to
    ask for one (None: do not ask; the zip gets a clear verdict instead)."""

    passwords: list[str] = field(default_factory=list)
    ask: Callable[[str], str | None] | None = None


def gather(paths: list[Path], opener: Opener | None = None) -> tuple[list[Received], list[tuple[Path, str]]]:
    """Files to judge under `paths` (recursively), and the ones skipped with the reason."""
    opener = opener or Opener()
    out = Gathered()
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            raise UsageError(M.C011(path=p))
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    for f in files:
        if f.name.startswith("~$"):
            out.skipped.append((f, M.C028()))
        elif f.name.startswith(".") or _hidden(f):
            out.skipped.append((f, M.C029()))
        elif f.suffix.lower() in CONTAINERS:
            mtime = dt.datetime.fromtimestamp(f.stat().st_mtime).isoformat(timespec="seconds")
            top = Received(f.name, None, f, mtime)
            found = _expand(top, opener, 0)
            if not found:
                out.skipped.append((f, M.C030() if f.suffix.lower() == ".zip" else M.C031()))
            out.items += found
        else:
            mtime = dt.datetime.fromtimestamp(f.stat().st_mtime).isoformat(timespec="seconds")
            out.items.append(Received(f.name, None, f, mtime))
    return out.items, out.skipped


def _hidden(path: Path) -> bool:
    attrs = getattr(path.stat(), "st_file_attributes", 0)  # Windows only
    return bool(attrs & 2)


def _expand(item: Received, opener: Opener, depth: int) -> list[Received]:
    """The files inside `item` if it is a container, else [item]."""
    suffix = Path(item.name).suffix.lower()
    if suffix not in CONTAINERS:
        return [item]
    if depth >= MAX_DEPTH:
        return [_failed(item, Verdict.ARCHIVE_TOO_DEEP,
                        M.C012(max_depth=MAX_DEPTH))]
    try:
        data = item.data
    except OSError as e:
        return [_failed(item, Verdict.UNREADABLE, M.C001(reason=e.strerror or e))]
    item.digest(data)  # a container that cannot be opened is recorded by its hash
    if suffix == ".eml":
        try:
            msg = email.message_from_bytes(data, policy=email.policy.default)
        except Exception as e:  # noqa: BLE001 - a damaged mail must not stop the batch
            return [_failed(item, Verdict.BROKEN, M.C013(error_type=type(e).__name__))]
        return _from_mail(item, msg, opener, depth)
    if suffix == ".msg":
        return _from_outlook(item, data, opener, depth)
    return _from_zip(item, data, opener, depth)


def _failed(item: Received, verdict: Verdict, message: M.Text) -> Received:
    item.problem = (verdict, message)
    return item


def _inner(outer: Received, name: str, data: bytes, received: str = "", sender: str = "") -> Received:
    name = name.rstrip("\0").replace("\\", "/").rsplit("/", 1)[-1]  # a path inside a zip: its file name
    name = _UNSAFE_NAME.sub("_", name) or "添付ファイル"
    return Received(name, data, outer.source, received or outer.received,
                    chain=(*outer.chain, outer.name), sender=sender or outer.sender)


# --- e-mail (.eml, and mails forwarded as attachments) --------------------------------------------
def _from_mail(item: Received, msg: EmailMessage, opener: Opener, depth: int) -> list[Received]:
    """Attachments of a mail; names decoded from RFC 2231 / RFC 2047, ISO-2022-JP too. A mail
    forwarded as an attachment (message/rfc822) is opened in turn."""
    received, sender = item.received, item.sender
    try:
        if when := msg.get("Date"):
            received = (email.utils.parsedate_to_datetime(str(when)).astimezone().replace(tzinfo=None)
                        .isoformat(timespec="seconds"))
        sender = email.utils.parseaddr(str(msg.get("From", "")))[1] or sender
    except Exception:  # noqa: BLE001 - a bad header only loses the date or the sender
        pass
    out: list[Received] = []
    for part in msg.iter_attachments():
        if part.get_content_type() == "message/rfc822":
            try:
                inner = part.get_content()
            except Exception:  # noqa: BLE001 - an unreadable forwarded mail has nothing to judge
                inner = None
            subject = str(inner.get("Subject", "") if isinstance(inner, EmailMessage) else "") or "転送メール"
            name = part.get_filename() or f"{subject}.eml"
            if isinstance(inner, EmailMessage):
                carrier = _inner(item, str(name), b"", received, sender)
                out += _from_mail(carrier, inner, opener, depth + 1)
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001 - undecodable attachment: judged as an empty file
            data = b""
        out += _expand(_inner(item, part.get_filename() or "添付ファイル", data, received, sender),
                       opener, depth + 1)
    return out


# --- Outlook .msg ------------------------------------------------------------------------------------
def _from_outlook(item: Received, data: bytes, opener: Opener, depth: int) -> list[Received]:
    """Attachments of a mail saved by Outlook (.msg, an OLE compound file), read with python-oxmsg."""
    from olefile import OleFileIO  # imported here: only .msg files need them
    from oxmsg import Message
    from oxmsg.storage import Storage

    try:
        with OleFileIO(data) as ole:
            storage = Storage.from_ole(ole)
        msg = Message(storage)
        sender = email.utils.parseaddr(msg.sender or "")[1] or item.sender
        received = msg.sent_date.astimezone().replace(tzinfo=None).isoformat(timespec="seconds") \
            if msg.sent_date else item.received
        return _outlook_attachments(item, storage, sender, received, opener, depth)
    except Exception as e:  # noqa: BLE001 - any reader failure is a verdict, not a crash
        return [_failed(item, Verdict.BROKEN, M.C014(error_type=type(e).__name__))]


EMBEDDED_MESSAGE = "__substg1.0_3701000D"  # [MS-OXMSG] 2.2.2.1: an attached mail, as a storage
EMBEDDED_HEADER = 24  # bytes before the property entries of an embedded message


def _outlook_attachments(item: Received, storage, sender: str, received: str, opener: Opener,
                         depth: int) -> list[Received]:
    """The files attached to a .msg mail (or to a mail attached to it: Outlook's 「添付ファイルとして
    転送」 keeps the forwarded mail as an embedded storage, not as a file)."""
    from oxmsg.attachment import Attachment  # imported here, as in _from_outlook: only .msg files need them
    from oxmsg.properties import Properties

    out: list[Received] = []
    for part in storage.iter_attachment_storages():
        attachment = Attachment(part)
        embedded = next((s for s in part.storages if s.name == EMBEDDED_MESSAGE), None)
        if embedded is not None:
            props = Properties(embedded, EMBEDDED_HEADER)
            inner_sender = email.utils.parseaddr(props.str_prop_value(0x5D01) or "")[1] or sender  # SMTP address
            subject = props.str_prop_value(0x0037) or "転送メール"
            carrier = _inner(item, f"{subject}.msg", b"", received, inner_sender)
            out += _outlook_attachments(carrier, embedded, inner_sender, received, opener, depth + 1) \
                if depth + 1 < MAX_DEPTH else [_failed(carrier, Verdict.ARCHIVE_TOO_DEEP, M.C015())]
            continue
        name = attachment.file_name or "添付ファイル"
        out += _expand(_inner(item, name, attachment.file_bytes or b"", received, sender), opener, depth + 1)
    return out


# --- zip archives -------------------------------------------------------------------------------------
def _from_zip(item: Received, data: bytes, opener: Opener, depth: int) -> list[Received]:
    """Files of a .zip, under the same limits as a workbook's own zip; Japanese names written by
    Windows (cp932) or as UTF-8; ZipCrypto passwords tried from `opener`."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return [_failed(item, Verdict.BROKEN, M.C016())]
    if problem := _zip_limits(infos, len(data)):
        return [_failed(item, Verdict.BAD_ZIP, problem)]
    password = _password(item, zf, infos, opener)
    if isinstance(password, tuple):
        return [_failed(item, *password)]
    out: list[Received] = []
    for info in infos:
        name = _zip_name(info)
        if Path(name).name.startswith(("~$", ".")) or "__MACOSX/" in name:
            continue
        try:
            content = zf.read(info, pwd=password)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError):
            out.append(_failed(_inner(item, name, b""), Verdict.BROKEN,
                               M.C017()))
            continue
        out += _expand(_inner(item, name, content), opener, depth + 1)
    return out


def _zip_limits(infos: list[zipfile.ZipInfo], size: int) -> M.Text | None:
    """The workbook pre-scan's limits, applied to an archive (a clerk-readable reason, or "")."""
    if size > LIMITS["file_bytes"][0]:
        return M.C032(limit_mb=LIMITS["file_bytes"][0] // 1024 // 1024)
    if len(infos) > LIMITS["zip_entries"][0]:
        return M.C033(count=len(infos), limit=LIMITS["zip_entries"][0])
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        return M.C034()
    if sum(i.file_size for i in infos) > LIMITS["uncompressed_bytes"][0]:
        return M.C035()
    for i in infos:
        if i.file_size > LIMITS["file_bytes"][0] or (
                i.file_size > RATIO_MIN_BYTES and i.file_size > LIMITS["ratio"][0] * max(i.compress_size, 1)):
            return M.C036()
    return None


def _zip_name(info: zipfile.ZipInfo) -> str:
    """An entry's name: UTF-8 when flagged so; otherwise Windows' Explorer writes cp932 (and some
    tools UTF-8 without the flag), which zipfile has decoded as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _password(item: Received, zf: zipfile.ZipFile, infos, opener: Opener):
    """None for a plain zip; the password that opens an encrypted one; else (verdict, message)."""
    encrypted = [i for i in infos if i.flag_bits & 0x1]
    if not encrypted:
        return None
    if any(i.compress_type == 99 for i in encrypted):  # WinZip AES, which zipfile cannot read
        return (Verdict.PASSWORD, M.C037())
    candidates = [p.encode("utf-8") for p in opener.passwords] + [p.encode("cp932", "replace")
                                                                  for p in opener.passwords]
    asked = opener.ask(item.label) if opener.ask else None
    if asked:
        candidates += [asked.encode("utf-8"), asked.encode("cp932", "replace")]
    for pwd in candidates:
        try:
            with zf.open(encrypted[0], pwd=pwd) as f:
                f.read()
            return pwd
        except (RuntimeError, zipfile.BadZipFile):  # a wrong password ends in a bad CRC or header
            continue
    if candidates:
        return (Verdict.PASSWORD, M.C038())
    return (Verdict.PASSWORD, M.C039())
