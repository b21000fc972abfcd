"""The working folder: where the register, templates, returns and outputs live.

    <dir>/workbooks/register.xlsx    the master register (台帳)
    <dir>/workbooks/inbox/           returned workbooks and saved e-mails to collect
    <dir>/workbooks/archive/         every received file, unchanged
    <dir>/workbooks/backup/          timestamped register backups
    <dir>/workbooks/corrections/     correction copies to send back
    <dir>/templates/<year>/          generated department templates
    <dir>/templates/mail/            editable mail texts
    <dir>/outbox/                    mail drafts (.eml)
    <dir>/.plan-xl/                  the signing key and run state (never sent anywhere)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import messages as M
from .errors import UsageError
from .register.model import Register
from .register.source import load_source
from .register.store import load_register, save_register
from .workbooks.identity import load_or_create_key

SETTINGS_TEMPLATE = """\
# plan-xl settings for this working folder.
# The SMTP password is never written here: set the environment variable PLAN_XL_SMTP_PASSWORD
# (or store it in the OS keyring under the service name "plan-xl").

[smtp]
host = "smtp.city.example.jp"
port = 587
security = "starttls"     # starttls, ssl or none
user = ""
sender = "{sender}"
sender_name = "{sender_name}"
encoding = "utf-8"        # or iso-2022-jp

[open_data]
# 全国地方公共団体コード (6 digits with the check digit), the first column of `plan-xl export`
local_government_code = "{code}"
"""

KNOWN_CODES = {"郡山市": "072036"}  # the shipped register's city; others fill in their own


def template_filename(year: int, department: str) -> str:
    """A name a clerk recognises: year and department, e.g. 2023年度_進捗状況調査票_人事課.xlsx."""
    return f"{year}年度_進捗状況調査票_{department}.xlsx"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def workbooks(self) -> Path:
        return self.root / "workbooks"

    @property
    def register_path(self) -> Path:
        return self.workbooks / "register.xlsx"

    @property
    def inbox(self) -> Path:
        return self.workbooks / "inbox"

    @property
    def archive(self) -> Path:
        return self.workbooks / "archive"

    @property
    def backups(self) -> Path:
        return self.workbooks / "backup"

    @property
    def corrections(self) -> Path:
        return self.workbooks / "corrections"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def state(self) -> Path:
        return self.root / ".plan-xl"

    @property
    def key_path(self) -> Path:
        return self.state / "signing.key"

    @property
    def settings_path(self) -> Path:
        return self.root / "plan-xl.toml"

    @property
    def mail_templates(self) -> Path:
        return self.root / "templates" / "mail"

    def templates_dir(self, year: int) -> Path:
        return self.root / "templates" / str(year)

    def template_path(self, year: int, department: str) -> Path:
        return self.templates_dir(year) / template_filename(year, department)

    def corrections_dir(self, year: int) -> Path:
        return self.corrections / str(year)

    def correction_path(self, year: int, department: str) -> Path:
        return self.corrections_dir(year) / f"{year}年度_進捗状況_修正依頼_{department}.xlsx"

    def status_path(self, year: int) -> Path:
        return self.workbooks / f"{year}年度_取りまとめ状況.xlsx"

    def report_path(self, year: int) -> Path:
        return self.workbooks / f"{year}年度_行財政改革実施計画_進捗状況.xlsx"

    def cycle_year(self, reg: Register) -> int:
        """The year being collected: the latest one templates were issued for, else the first
        year without progress (the default --year of status, mail and collect's outputs)."""
        issued = [int(p.name) for p in (self.root / "templates").glob("20[0-9][0-9]")
                  if p.is_dir() and any(p.glob("*.xlsx"))]
        return max(issued, default=reg.first_open_year())

    def exists(self) -> bool:
        """A working folder is one `plan-xl init` made: it has the register."""
        return self.register_path.is_file()

    def require(self) -> None:
        """Refuse to work anywhere else: a command run in the wrong folder must not quietly
        make a register or a signing key there."""
        if not self.exists():
            raise UsageError(M.U005(root=self.root))

    def create(self) -> bool:
        """Make this a working folder: the register from the shipped FY2022 source (only `init`
        and `demo` call this). Returns whether the register was created."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.exists():
            return False
        save_register(load_source(), self.register_path, self.backups)
        return True

    def load(self) -> Register:
        """The register of this working folder (UsageError if this is not one)."""
        self.require()
        return load_register(self.register_path)

    def register_stamp(self) -> tuple[int, int, int]:
        """What changes whenever the register file is written (it is always replaced whole):
        a register loaded with this stamp is still the one on disk while the stamp is the same."""
        st = self.register_path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino


def init_workspace(root: Path) -> list[Path]:
    """Create a working folder (`plan-xl init`, `plan-xl demo`): folder layout, the register,
    the signing key, settings and mail texts. What exists already is kept."""
    ws = Workspace(root)
    made = []
    for folder in (ws.workbooks, ws.inbox, ws.archive, ws.root / "templates", ws.outbox):
        folder.mkdir(parents=True, exist_ok=True)
    if ws.create():
        made.append(ws.register_path)
    reg = ws.load()
    if not ws.key_path.exists():  # the folder's own signing key, made here and nowhere as a side effect
        load_or_create_key(ws.key_path)
        made.append(ws.key_path)
    if not ws.settings_path.exists():
        coordinator = reg.meta.get("coordinating_department", "")
        sender = reg.department(coordinator).email if reg.department_name(coordinator) else ""
        ws.settings_path.write_text(SETTINGS_TEMPLATE.format(
            sender=sender, sender_name=f"{reg.meta.get('city', '')} {coordinator}".strip(),
            code=KNOWN_CODES.get(reg.meta.get("city", ""), "")), encoding="utf-8")
        made.append(ws.settings_path)
    made += copy_default_templates(ws.mail_templates)
    return made


# --- mail texts ----------------------------------------------------------------------------------
def _shipped_texts():
    return resources.files("plan_xl") / "data" / "mail"


def default_template(kind: str) -> str:
    """The shipped mail text of `kind` (data/mail/<kind>.txt)."""
    return (_shipped_texts() / f"{kind}.txt").read_text(encoding="utf-8")


def copy_default_templates(dest: Path) -> list[Path]:
    """Copy the shipped mail texts to `dest` (templates/mail/), keeping any the city has edited."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in sorted(p.name.removesuffix(".txt") for p in _shipped_texts().iterdir() if p.name.endswith(".txt")):
        path = dest / f"{kind}.txt"
        if not path.exists():
            path.write_text(default_template(kind), encoding="utf-8")
            written.append(path)
    return written
