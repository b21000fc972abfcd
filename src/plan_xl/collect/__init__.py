"""Collect: returned workbooks in, verdicts, register and feedback out, as one-way stages.

    gather.py    files, folders, saved mails (.eml, Outlook .msg), forwarded mails, .zip
    read.py      limits before any parser, the workbook's structure and identity
    sheets.py    the cells of a sheet, from its XML, in one pass with its limits
    validate.py  values in, findings out (no files, no verdict)
    judge.py     one verdict per file, in worker processes
    merge.py     accepted data into the register
    ledger.py    the one module that writes and reads the verdict history; department states
    feedback.py  status workbook, correction copies, run log
    run.py       the run that chains them under the register lock
    verdict.py   the words: Verdict and State enums

Each stage imports only the stages before it. The functions named like their stage (gather,
judge, merge) are not re-exported here, so `plan_xl.collect.judge` is always the module.
"""

from .gather import Opener, Received
from .judge import FileResult, Judge, judge_all
from .ledger import department_states, department_status
from .run import CollectResult, collect
from .verdict import State, Verdict

__all__ = ["CollectResult", "FileResult", "Judge", "Opener", "Received", "State", "Verdict", "collect",
           "department_states", "department_status", "judge_all"]
