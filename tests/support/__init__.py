"""The test helpers, one of each: returned workbooks (returned.py), zip containers (zipbuild.py),
Outlook .msg files (msgfile.py), mutations of returned workbooks (mutations.py), judging in a
child process (isolated.py), LibreOffice's rendered heights and poppler's PDF text (rendering.py),
and killing collect mid-merge (crash.py)."""
