"""Fuzz collect's read and validation with mutated returned workbooks (issue 8).

Real returned workbooks (generated templates filled with openpyxl) are mutated at every level:
raw bytes, zip entries, XML inside entries, cell values. Each case is judged by collect.judge in a
child process (tests/support/isolated.Judge), so a reader that aborts the process shows up as a
failure here instead of killing the test run. Every case must end in a verdict with a message.

The long run (10,000+ cases) is benchmarks/fuzz_collect.py.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.isolated import Judge
from support.mutations import HOSTILE_TEXT, MUTATIONS, mutate
from support.returned import YEAR, fill, identity, issue, sensible_values

DEPARTMENTS = ["市民課", "人事課", "中央公民館"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(working folder, list of returned workbooks as bytes)."""
    root = tmp_path_factory.mktemp("fuzz") / "作業フォルダ"
    ws = issue(root, DEPARTMENTS)
    templates = {d: ws.template_path(YEAR, d) for d in DEPARTMENTS}
    books = [fill(templates[d]) for d in DEPARTMENTS]
    ident = identity(templates["市民課"])
    hostile = dict(zip(sensible_values(ident), HOSTILE_TEXT, strict=False))
    first = next(iter(hostile))
    books.append(fill(templates["市民課"], hostile,
                      links={first: "file:///C:/Windows/System32/calc.exe"}))
    books.append(templates["中央公民館"].read_bytes())  # returned untouched
    return root, books


@pytest.fixture(scope="module")
def judge(corpus):
    with Judge(corpus[0], timeout=60) as j:
        yield j


def _mutated(data: bytes, kind: str, seed: int, text: str | None = None) -> bytes:
    rng = random.Random(seed)
    try:
        return mutate(data, kind, rng, text)
    except Exception:  # the input is already too broken for this mutation: flip bytes instead
        return mutate(data, "flip_bytes", rng)


def _check(judge, data: bytes, what: str) -> None:
    outcome = judge("returned.xlsx", data)
    assert not outcome.failure, f"{what}: {outcome.failure}"
    assert outcome.verdict and outcome.message, what


def test_unmutated_corpus_is_judged(corpus, judge):
    verdicts = [judge("returned.xlsx", data).verdict for data in corpus[1]]
    assert verdicts[:3] == ["受理"] * 3
    assert all(verdicts)


def test_every_mutation_on_every_workbook(corpus, judge):
    """Each kind of mutation at least once per base workbook, whatever hypothesis draws."""
    for b, data in enumerate(corpus[1]):
        for kind in MUTATIONS:
            _check(judge, _mutated(data, kind, b), f"{kind} on workbook {b}")


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(base=st.integers(0, 4), kinds=st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3),
       seed=st.integers(0, 2**32), text=st.one_of(st.none(), st.text(max_size=200), st.sampled_from(HOSTILE_TEXT)))
def test_fuzz_judge(corpus, judge, base, kinds, seed, text):
    data = corpus[1][base]
    for n, kind in enumerate(kinds):
        data = _mutated(data, kind, seed + n, text)
    _check(judge, data, f"{kinds} seed {seed} on workbook {base}")


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=2000))
def test_random_bytes_get_a_verdict(judge, blob):
    _check(judge, blob, "random bytes")
    _check(judge, b"PK\x03\x04" + blob, "random bytes after a zip signature")
