"""`plan-xl collect`: identify, validate and merge returned workbooks; never lose anything.

Every received file is archived unchanged and gets a verdict; only accepted data changes the
register, which is written atomically under a lock (register.save_register, lock.RegisterLock).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PlanXlError, RegisterBusyError, UsageError
from .findings import ERROR, WARNING, Finding
from .identity import load_or_create_key
from .lock import RegisterLock
from .model import NOTHING_TO_ADD, Actual, Contribution, Lookup, Progress, Provenance, Register, Submission
from .reader import BadFile, open_workbook
from .validate import Validation, validate
from .workspace import Workspace

ACCEPTED = "受理"
REJECTED = "差戻し"
ALREADY = "処理済み"
SUPERSEDED = "受理（差替え済み）"
RESOLVED = "差戻し（解消済み）"  # rejected, but the department has since sent a file that was accepted
NOT_TEMPLATE = "調査票ではない"


@dataclass
class Received:
    """One file to judge: a workbook on disk or an attachment of a saved e-mail."""

    name: str  # file name as the department sent it
    content: bytes | None  # None: read from `source` when needed, so memory stays flat in N
    source: Path
    received: str  # ISO time: the e-mail's Date, else the file's modification time
    sha256: str = ""

    @property
    def data(self) -> bytes:
        data = self.content if self.content is not None else self.source.read_bytes()
        self.sha256 = self.sha256 or hashlib.sha256(data).hexdigest()
        return data

    @property
    def label(self) -> str:
        if self.source.name == self.name:
            return self.name
        return f"{self.source.name} » {self.name}"


@dataclass
class FileResult:
    item: Received
    verdict: str
    message: str = ""
    department: str = ""
    year: int | None = None
    template_id: str = ""
    findings: list[Finding] = field(default_factory=list)
    validation: Validation | None = None
    archived: str = ""

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)

    @property
    def ok(self) -> bool:
        return self.verdict in (ACCEPTED, ALREADY, SUPERSEDED, RESOLVED)


@dataclass
class CollectResult:
    results: list[FileResult]
    skipped: list[tuple[Path, str]]
    register_changed: bool
    backup: Path | None = None
    status_paths: list[Path] = field(default_factory=list)
    corrections: list[Path] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.results) else 1


# --- gathering ---------------------------------------------------------------------------
def gather(paths: list[Path]) -> tuple[list[Received], list[tuple[Path, str]]]:
    """Files to judge under `paths` (recursively), and the ones skipped with the reason."""
    items: list[Received] = []
    skipped: list[tuple[Path, str]] = []
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            raise UsageError(f"{p} が見つかりません。")
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    for f in files:
        if f.name.startswith("~$"):
            skipped.append((f, "Excel の一時ファイル（~$）のため読み飛ばしました"))
        elif f.name.startswith(".") or _hidden(f):
            skipped.append((f, "隠しファイルのため読み飛ばしました"))
        elif f.suffix.lower() == ".eml":
            items += _from_mail(f, skipped)
        else:
            mtime = dt.datetime.fromtimestamp(f.stat().st_mtime).isoformat(timespec="seconds")
            items.append(Received(f.name, None, f, mtime))
    return items, skipped


def _hidden(path: Path) -> bool:
    attrs = getattr(path.stat(), "st_file_attributes", 0)  # Windows only
    return bool(attrs & 2)


def _from_mail(path: Path, skipped: list) -> list[Received]:
    """Attachments of a saved e-mail; names decoded from RFC 2231 / RFC 2047, ISO-2022-JP too."""
    try:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        when = msg.get("Date")
        received = (email.utils.parsedate_to_datetime(str(when)).astimezone().replace(tzinfo=None)
                    .isoformat(timespec="seconds") if when else "")
    except Exception as e:  # a damaged mail must not stop the batch
        skipped.append((path, f"メールとして読めません（{type(e).__name__}）"))
        return []
    if not received:
        received = dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    out = []
    for part in msg.iter_attachments():
        name = part.get_filename() or "添付ファイル"
        name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name)
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # undecodable attachment: judged as an empty file
            data = b""
        out.append(Received(name, data, path, received))
    if not out:
        skipped.append((path, "添付ファイルのないメールのため読み飛ばしました"))
    return out


# --- judging ------------------------------------------------------------------------------
def judge(item: Received, reg: Register, key: bytes, lookup: Lookup | None = None) -> FileResult:
    """The verdict for one file. Never raises for anything in the file. Pass `lookup` when
    judging many files against the same register."""
    lookup = lookup or Lookup(reg)
    try:
        data = item.data
    except OSError as e:
        return FileResult(item, "読めないファイル", f"ファイルを開けません（{e.strerror or e}）。")
    if s := lookup.submissions.get(item.sha256):
        return FileResult(item, ALREADY, "同じファイルを受理済みです（台帳は変更しません）",
                          s.department, s.year, s.template_id)
    if not item.name.lower().endswith(".xlsx"):
        ext = Path(item.name).suffix or "（拡張子なし）"
        return FileResult(item, "対象外の形式", f"{ext} ファイルは受け付けていません。"
                                               "送付した調査票（.xlsx）に記入して送ってください。")
    try:
        book = open_workbook(data)
    except BadFile as e:
        return FileResult(item, e.verdict, e.message)
    except Exception as e:  # noqa: BLE001 - any reader failure is a verdict, not a crash
        return FileResult(item, "壊れたファイル", f"ファイルを読み取れません（{type(e).__name__}）。")
    if book.identity is None:
        return FileResult(item, NOT_TEMPLATE, "plan-xl が作成した調査票ではありません（識別情報がありません）。"
                                              "送付した調査票に記入して送ってください。")
    ident = book.identity
    try:
        v = validate(book, reg, key, item.name, lookup)
    except (KeyError, ValueError, IndexError) as e:
        return FileResult(item, NOT_TEMPLATE, f"調査票の識別情報が壊れています（{type(e).__name__}）。",
                          ident.department, ident.year, ident.template_id)
    # what was issued (every field and cell fingerprint) is checked: keep only the identity's
    # header, so thousands of results stay small in memory and between processes
    v.identity = dataclasses.replace(ident, fields=[], prints=[])
    verdict = ACCEPTED if v.accepted else REJECTED
    n_err = sum(f.severity == ERROR for f in v.findings)
    message = "受け付けました" if v.accepted else f"誤りが {n_err} 件あるため差し戻します"
    return FileResult(item, verdict, message, ident.department, ident.year, ident.template_id,
                      v.findings, v)


# --- merging ------------------------------------------------------------------------------
def merge(reg: Register, accepted: list[FileResult]) -> bool:
    """Apply accepted results in order of receipt; a later file from the same department and
    year supersedes the earlier one, and both stay in the submissions table. Returns whether
    the register changed."""
    changed = False
    progress = {(pr.plan_id, pr.section, pr.year): pr for pr in reg.progress}
    actuals = {(a.indicator_id, a.year): a for a in reg.actuals}
    for r in sorted(accepted, key=lambda r: (r.item.received, r.item.name)):
        ident = r.validation.identity
        earlier = [s for s in reg.submissions if s.department == ident.department
                   and s.year == ident.year and not s.superseded_by]
        sub = Submission(ident.template_id, ident.department, ident.year, r.item.name, r.item.sha256,
                         r.item.received, r.archived)
        newer = [s for s in earlier if s.received > r.item.received]
        if newer:  # an older file arriving late is kept on record but does not overwrite
            sub.superseded_by = newer[0].sha256
            reg.submissions.append(sub)
            r.verdict, r.message = SUPERSEDED, "受理済みのより新しいファイルがあるため、記録のみ残しました"
            changed = True
            continue
        for s in earlier:
            s.superseded_by = r.item.sha256
        reg.submissions.append(sub)
        prov = Provenance(r.item.name, r.item.sha256, ident.department, ident.template_id, r.item.received)
        r.findings += _apply(reg, r.validation, prov, progress, actuals)
        changed = True
    reg.actuals = list(actuals.values())
    return changed


def _apply(reg: Register, v: Validation, prov: Provenance, progress: dict, actuals: dict) -> list[Finding]:
    """Write one accepted file's fields into the register (progress rows, the co-owners' parts,
    and the `actuals` dict that merge turns back into the register's list). A field another
    department has already returned is kept (one owner per field); the findings say which."""
    kept: list[Finding] = []
    for key, text in v.texts.items():
        kind, plan_id, section, year = key.split("|")
        pr = progress.get((plan_id, int(section), int(year)))
        if pr is None:
            pr = Progress(plan_id, int(section), int(year))
            reg.progress.append(pr)
            progress[(pr.plan_id, pr.section, pr.year)] = pr
        if _owned_by_other(pr.source, prov, kept, f"{plan_id} の{year}年度の進捗"):
            continue
        if kind == "results":
            pr.results = text
        else:
            pr.revision = text
        pr.source = prov
    for key, value in v.numbers.items():
        _, indicator_id, year = key.split("|")
        old = actuals.get((indicator_id, int(year)))
        if old and _owned_by_other(old.source, prov, kept, f"指標 {indicator_id} の{year}年度の実績値"):
            continue
        actuals.pop((indicator_id, int(year)), None)
        if value is not None:
            actuals[(indicator_id, int(year))] = Actual(indicator_id, int(year), value, prov)
    _apply_parts(reg, v, prov)
    return kept


def _owned_by_other(source: Provenance, prov: Provenance, kept: list[Finding], what: str) -> bool:
    """Whether a register value came from another department's accepted file (it then stays:
    a template issued before the field was assigned elsewhere cannot overwrite it)."""
    if not source.department or source.department == prov.department:
        return False
    if not any(f.message.startswith(what) for f in kept):
        kept.append(Finding(WARNING, f"{what}は{source.department}から受理済みのため、{prov.department}の"
                                     "記入では変更しませんでした（記入課は台帳の「記入課」シートのとおり）。",
                            file=prov.file))
    return True


def _apply_parts(reg: Register, v: Validation, prov: Provenance) -> None:
    """A co-owner's parts replace only its own earlier parts, never the lead's or another's."""
    for base, part in v.parts.items():
        plan_id, section, year, department = base.split("|")
        if department != prov.department:
            continue
        c = reg.contribution_for(plan_id, int(section), int(year), department)
        if c is None:
            c = Contribution(plan_id, int(section), int(year), department)
            reg.contributions.append(c)
        c.results, c.revision = part.get("part_results", ""), part.get("part_revision", "")
        c.nothing = part.get("part_none", "") == NOTHING_TO_ADD
        c.source = prov


# --- the run ------------------------------------------------------------------------------
def collect(ws: Workspace, paths: list[Path] | None = None, progress=None,
            now: dt.datetime | None = None) -> CollectResult:
    """Judge every file under `paths` (default: the inbox), archive them, merge the accepted
    ones, and write the status workbook, correction copies and a run log."""
    from .outputs import write_corrections, write_run_log, write_status

    now = now or dt.datetime.now()
    if not ws.key_path.exists():
        raise PlanXlError(f"署名の鍵 {ws.key_path} がありません。調査票を作成した作業フォルダで実行してください"
                          "（--dir で指定できます）。")
    key = load_or_create_key(ws.key_path)
    excel_lock = ws.register_path.with_name("~$" + ws.register_path.name)
    if excel_lock.exists():
        raise RegisterBusyError(f"台帳 {ws.register_path} が Excel で開かれています。閉じてからもう一度実行してください"
                                f"（Excel を閉じても続く場合は {excel_lock.name} を削除してください）。")
    if not paths:
        ws.inbox.mkdir(parents=True, exist_ok=True)
    items, skipped = gather(paths or [ws.inbox])
    with RegisterLock(ws.workbooks / ".register.lock", notice=progress):
        reg = ws.load()
        results = judge_all(items, reg, key, progress)
        for result in results:
            result.archived = _archive(ws, result.item)
        accepted = [r for r in results if r.verdict == ACCEPTED]
        changed = merge(reg, accepted) if accepted else False
        backup = None
        if changed:
            reg.meta["revision"] = str(reg.revision + 1)
            reg.meta["updated"] = now.isoformat(timespec="seconds")
            from .register import save_register

            backup = save_register(reg, ws.register_path, ws.backups)
    years = sorted({r.year for r in results if r.year} or {ws.cycle_year(reg)})
    out = CollectResult(results, skipped, changed, backup)
    rejected = _unresolved(reg, [r for r in results if r.verdict == REJECTED])
    _retire_corrections(ws, [r for r in results if r.verdict == ACCEPTED],
                        {(r.year, r.department) for r in rejected})
    out.corrections = write_corrections(ws, rejected)
    out.status_paths = [write_status(ws, reg, year, now) for year in years]
    out.log_path = write_run_log(ws, out, now)
    return out


PARALLEL_FROM = 16  # below this many files, starting worker processes costs more than it saves


def judge_all(items: list[Received], reg: Register, key: bytes, progress=None) -> list[FileResult]:
    """Judge every file, in worker processes when there are many. A worker that dies on a file
    (a reader aborting the process) costs that file a verdict, never the run."""
    if len(items) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        lookup, out = Lookup(reg), []
        for item in items:
            out.append(judge(item, reg, key, lookup))
            if progress:
                progress(None)
        return out
    results: list[FileResult | None] = [None] * len(items)
    workers = min(os.cpu_count() or 2, 8)
    try:
        with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(reg, key)) as pool:
            futures = {pool.submit(_worker_judge, item): n for n, item in enumerate(items)}
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except BrokenProcessPool:
                    continue
                if progress:
                    progress(None)
    except BrokenProcessPool:
        pass
    for n, result in enumerate(results):  # left over by a dead worker: one process per file
        if result is None:
            results[n] = _judge_isolated(items[n], reg, key)
            if progress:
                progress(None)
    return results


_WORKER: tuple[Register, bytes, Lookup] | None = None


def _worker_init(reg: Register, key: bytes) -> None:
    global _WORKER
    _WORKER = (reg, key, Lookup(reg))


def _worker_judge(item: Received) -> FileResult:
    return judge(item, *_WORKER)


def _judge_isolated(item: Received, reg: Register, key: bytes) -> FileResult:
    try:
        with ProcessPoolExecutor(1, initializer=_worker_init, initargs=(reg, key)) as pool:
            return pool.submit(_worker_judge, item).result()
    except BrokenProcessPool:
        return FileResult(item, "壊れたファイル", "ファイルの読み取り中に読み込み処理が異常終了しました。"
                                                 "Excel で開けることを確かめて、保存し直してから送ってください。")


def _unresolved(reg: Register, rejected: list[FileResult]) -> list[FileResult]:
    """Rejected files that still need correcting: not those the department has since replaced
    with an accepted file (an old file left in the inbox is judged again on every run)."""
    out = []
    for r in rejected:
        later = [s for s in reg.submissions if s.department == r.department and s.year == r.year
                 and s.received >= r.item.received]
        if later:
            r.verdict, r.message = RESOLVED, f"{later[-1].file} を受理済みのため、修正は不要です"
        else:
            out.append(r)
    return out


def _retire_corrections(ws: Workspace, accepted: list[FileResult], still_rejected: set) -> None:
    """A correction copy is obsolete once its department is accepted: move it aside so that
    `plan-xl mail corrections` does not send it again."""
    for r in accepted:
        path = ws.correction_path(r.year, r.department)
        if path.exists() and (r.year, r.department) not in still_rejected:
            done = ws.corrections_dir(r.year) / "受理済み"
            done.mkdir(parents=True, exist_ok=True)
            path.replace(done / path.name)


def _archive(ws: Workspace, item: Received) -> str:
    """Keep every received file unchanged, named by content so a re-run adds nothing."""
    ws.archive.mkdir(parents=True, exist_ok=True)
    path = ws.archive / f"{item.sha256[:16]}_{item.name}"
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(item.data)
        tmp.replace(path)
    return path.name


def verdict_log(ws: Workspace) -> list[dict]:
    """Every verdict ever given (for `plan-xl status`)."""
    path = ws.state / "verdicts.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
