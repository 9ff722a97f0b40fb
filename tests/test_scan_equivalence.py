"""A search read an id range at a time (store/scan.py) finds exactly what the plain SQL finds:
the same WHERE over every saga at once, its payload tests without the text prefilter (only
the JSON functions decide) and each saga's steps looked up one saga at a time.

The logs hold what the prefilters must not get wrong: labels spelled with JSON `\\u`
escapes (in the value and in the key), GLOB's own characters in a label, backslashes,
non-UTF-8 bytes in payloads, a NUL inside a payload, values that are not text or not JSON;
ids spread over the whole 64-bit range (negative ones too), so that a scan goes through many
ranges and many blocks. Every query is paged in small pages both ways, under the id and the
start-time sort, on one log and on a view of two."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import SagaRow, StepRow
from saga_inspector.store import SagaQuery, SagaStore, SortOrder, repository, sql
from saga_inspector.store.formats import LogFormat
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import Saga
from saga_inspector.store.repository import walk_pages
from saga_inspector.store.scan import IdRanges

from .factory import SagaLogFactory, ts

# Payloads, as JSON text (or not): what label:, ref: and free text look into.
PAYLOADS: list[str | None] = [
    '{"closed_label":"main"}', '{"label":"main"}', '{"promoted_label":"window-pool-main"}',
    '{"label":"\\u006dain"}', '{"l\\u0061bel":"main"}', '{"label":"ma\\u0069n-x"}',
    '{"label":"a*b"}', '{"label":"a?b"}', '{"label":"[x]"}', '{"label":"back\\\\slash"}',
    '{"label":"zz"}', '{"label":7}', '{"label":null}', '{"label":["main"]}', "[]",
    "not json", "", None, '{"tab_id":"main","block":"main-2"}', '{"label":"m\u00e4in"}',
    '{"label":"\\u00e9t\\u00e9"}', '{"label":"\u00e9t\u00e9"}', '{"x":{"label":"main"}}',
    '{"cmd":"reap_panes","label":"window-pool-main","saga_id":0}', '{"label":"main\\n"}',
    '{"label":"ma"}', '{"label":"mainz"}', '{"label":"\\"main\\""}', '{"a":"zzzz"}',
]
# Stored as bytes the writer never wrote: not UTF-8, or with a NUL inside.
RAW_PAYLOADS = [
    "CAST(X'7b226c6162656c223a226dff61696e227d' AS TEXT)",  # {"label":"m\xffain"}
    "CAST(X'7b226c6162656c223a226d61696ea9227d' AS TEXT)",  # {"label":"main\xa9"}
    "CAST(X'7b226c6162656c223a22c3a9227d' AS TEXT)",  # {"label":"é"}
    "CAST(X'7b226c6162656c223a22c3a9a9227d' AS TEXT)",  # {"label":"é\xa9"}
    "CAST(X'7b226c6162656c223a226d61696e227d007b7d' AS TEXT)",  # {"label":"main"}\0{}
    "CAST(X'7b2278223a2261227d002c226c6162656c223a226d61696e227d' AS TEXT)",  # ...\0,"label"
    "X'7b226c6162656c223a226d61696e227d'",  # a blob
]
NAMES = ["window_cleanup_cascade", "pool_respawn_on_promote", "main", "a*b", "\u00e9t\u00e9"]
REASONS = [None, "saga timeout", "host pipe send failed: main", "zz%z_z", "back\\slash"]
QUERIES = [
    "label:main", "label:ma*", "label:main*", "label:a*b", "label:a?b", "label:[x]",
    "label:\u00e9t\u00e9", "label:\u00e9", "label:\u00e9*", "label:m\u00e4in",
    "label:back\\slash", "label:7", "label:window-pool-*", "label:zz", "ref:main",
    "ref:main*", "ref:window-pool-*", "ref:zz", "main", "zz", "\u00e9t\u00e9", "a*b",
    "zz%z_z", "-label:main", "label:main state:completed", "label:main -ref:zz",
    "reason:timeout", "step:reap", "target:host", "label:main main", "-ref:main -main",
    "m\udcffain", "label:m\udcffain", "label:zzzz", "ref:zzzz", "zzzz", "id:1..50 label:main",
]
STATES = ["completed", "failed", "running", "compensating"]
# Ids: dense runs, sparse ones, negative ones, one near each end of SQLite's integer range.
IDS = sorted({*range(1, 300), *range(5_000, 400_000, 1_777), *range(-40, 0),
              2**62, 2**63 - 1, -(2**63)})


def payload(rng: random.Random) -> str | None:
    return rng.choice(PAYLOADS)


def sagas_of(seed: int, ids: list[int]) -> tuple[list[SagaRow], list[tuple[int, int | None]]]:
    """The sagas, and where a raw payload goes: (saga id, step index or None: the input)."""
    rng = random.Random(seed)
    rows, raw = [], []
    for position, saga_id in enumerate(ids):
        steps = []
        for index in range(rng.choice([0, 1, 2, 4])):
            # (a server's step always has a command)
            steps.append(StepRow(index, rng.choice(["reap", "drain", "spawn"]), "succeeded",
                                 payload(rng) or "{}", rng.choice(["host", None]),
                                 ts(position + index * 0.01), ts(position + 0.5),
                                 payload(rng)))
            if rng.random() < 0.04:
                raw.append((saga_id, index))
        input_json = payload(rng) or "{}"
        if rng.random() < 0.04:
            raw.append((saga_id, None))
        # Start times mostly grow with ids, with some going back (clock changes).
        start = position - (500 if rng.random() < 0.05 else 0)
        rows.append(SagaRow(saga_id, rng.choice(NAMES), rng.choice(STATES), ts(start),
                            ts(start + 2), input_json, rng.choice(REASONS), steps))
    return rows, raw


def raw_statements(fmt: LogFormat, raw: list[tuple[int, int | None]],
                   seed: int) -> list[str]:
    rng = random.Random(seed)
    saga_id, step_id = fmt.saga_columns["saga_id"], fmt.step_columns["saga_id"]
    statements = []
    for target, index in raw:
        value = rng.choice(RAW_PAYLOADS)
        if index is None:
            statements.append(f"UPDATE {fmt.saga_table} SET {fmt.saga_columns['input_json']}"
                              f" = {value} WHERE {saga_id} = {target}")
        else:
            column = fmt.step_columns[rng.choice(["cmd_json", "output_json"])]
            statements.append(f"UPDATE {fmt.step_table} SET {column} = {value} WHERE "
                              f"{step_id} = {target} AND step_index = {index}")
    return statements


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory, log_format: LogFormat) -> list[Path]:
    folder = tmp_path_factory.mktemp("scan-logs")
    factory = SagaLogFactory(folder, log_format)
    paths = []
    for seed, ids in ((1, IDS), (2, [i for i in IDS if i % 3 == 0][:200])):
        rows, raw = sagas_of(seed, ids)
        paths.append(factory(rows, name=f"log-{seed}.db",
                             sql=raw_statements(log_format, raw, seed)))
    return paths


@pytest.fixture(autouse=True)
def _small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans start with ranges of 8 ids (not 1 024): the small logs take many ranges; and
    every range of 16 ids or more is read in two halves at once (a log opened alone)."""
    monkeypatch.setattr(repository, "IdRanges", partial(IdRanges, span=8))
    monkeypatch.setattr(repository, "_HALVES_FROM", 16)


def _exact_guard(column: str, _match: object, test: str) -> tuple[str, list[object]]:
    return f"CASE WHEN json_valid({column}) THEN {test} END", []


@contextmanager
def plain_sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The payload tests without the text prefilter: the JSON functions alone decide."""
    with monkeypatch.context() as patched:
        patched.setattr(sql, "_guarded", _exact_guard)
        yield


def plain_ids(store: SagaStore, query: SagaQuery, monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The sagas the plain SQL finds: the query's WHERE over every saga in one statement
    (each saga's steps looked up with EXISTS), no prefilter."""
    with plain_sql(monkeypatch):
        where, params = store._where(query)
    table = store.format.saga_table
    rows = store._rows(f'SELECT s."{store.format.saga_columns["saga_id"]}" FROM "{table}" s '
                       f"WHERE {where}", [repository._bindable(p) for p in params])
    return {int(row[0]) for row in rows}


def in_order(query: SagaQuery, sagas: list[Saga]) -> list[tuple[str, int]]:
    return [(saga.source.label, saga.saga_id)
            for saga in sorted(sagas, key=query.key_of, reverse=True)]


def paged(read: Callable[..., list[Saga]], query: SagaQuery) -> list[tuple[str, int]]:
    """The whole result in pages of 7 by keyset, top down."""
    return [(saga.source.label, saga.saga_id) for saga in walk_pages(read, query, 0, 7)]


def paged_up(source: SagaStore | MergedSource, query: SagaQuery) -> list[tuple[str, int]]:
    """The whole result from the last page up, in pages of 5 (`before` the first row)."""
    page = source.oldest(query, limit=5)
    found = list(page)
    while page:
        page = source.sagas(query, before=query.key_of(page[0]), limit=5)
        found = [*page, *found]
    return [(saga.source.label, saga.saga_id) for saga in found]


@pytest.mark.parametrize("sort", [SortOrder.ID, SortOrder.STARTED])
@pytest.mark.parametrize("text", QUERIES)
def test_a_scanned_search_finds_what_the_plain_sql_finds(
        logs: list[Path], text: str, sort: SortOrder, monkeypatch: pytest.MonkeyPatch) -> None:
    query = SagaQuery(text=text, sort=sort)
    with SagaStore.open(logs[0]) as store:
        expected = in_order(query, store.sagas_by_id(plain_ids(store, query, monkeypatch)))
        assert paged(store.sagas, query) == expected
        assert paged_up(store, query) == expected


@pytest.mark.parametrize("sort", [SortOrder.ID, SortOrder.STARTED])
def test_a_view_of_two_logs_finds_what_each_logs_plain_sql_finds(
        logs: list[Path], sort: SortOrder, monkeypatch: pytest.MonkeyPatch) -> None:
    with MergedSource.open(logs) as view:
        for text in QUERIES:
            query = SagaQuery(text=text, sort=sort)
            found: list[Saga] = []
            for member in view.members:
                assert member.store is not None
                ids = plain_ids(member.store, query, monkeypatch)
                found += member.store.sagas_by_id(ids)
            expected = in_order(query, found)
            assert paged(view.sagas, query) == expected, text
            assert paged_up(view, query) == expected, text


@pytest.mark.parametrize("sort", [SortOrder.ID, SortOrder.STARTED])
def test_progress_goes_up_to_the_whole_log_for_a_search_that_matches_nothing(
        logs: list[Path], sort: SortOrder) -> None:
    said: list[tuple[int, int]] = []
    with SagaStore.open(logs[0]) as store:
        assert store.sagas(SagaQuery(text="label:zzzz", sort=sort),
                           progress=lambda done, total: said.append((done, total))) == []
    assert len(said) > 3  # range after range
    assert [done for done, _total in said] == sorted(done for done, _total in said)
    assert said[-1][0] == said[-1][1] > 0  # every id (every block) read


def _term(qualifier: str, word: str, star: bool) -> str:
    """A query term; `star`: a prefix (label: and ref: only)."""
    prefix = star and qualifier.lstrip("-") in ("label:", "ref:")
    return f"{qualifier}{word}{'*' if prefix else ''}"


SCAN_WORDS = st.sampled_from(["main", "ma", "zz", "a*b", "[x]", "\u00e9", "back\\slash",
                              "window-pool-", "7", "m\udcffain"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_combination_of_payload_terms_matches_the_plain_sql(
        logs: list[Path], data: st.DataObject, monkeypatch: pytest.MonkeyPatch) -> None:
    terms = data.draw(st.lists(st.tuples(
        st.sampled_from(["label:", "ref:", "", "-label:", "-ref:", "-", "step:"]),
        SCAN_WORDS, st.booleans()), min_size=1, max_size=3))
    text = " ".join(_term(*term) for term in terms)
    sort = data.draw(st.sampled_from([SortOrder.ID, SortOrder.STARTED]))
    query = SagaQuery(text=text, sort=sort)
    with SagaStore.open(logs[0]) as store:
        expected = in_order(query, store.sagas_by_id(plain_ids(store, query, monkeypatch)))
        assert paged(store.sagas, query) == expected, text


def test_a_log_opened_alone_reads_big_ranges_in_two_halves_at_once(
        logs: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    halves: list[bool] = []
    range_rows = SagaStore._range_rows

    def counted(store: SagaStore, *args: object) -> object:
        halves.append(bool(args[-1]))
        return range_rows(store, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SagaStore, "_range_rows", counted)
    with SagaStore.open(logs[0]) as store:
        assert store.sagas(SagaQuery(text="label:zzzz")) == []
    assert True in halves and False in halves
    halves.clear()
    with MergedSource.open(logs) as view:  # (lean: one connection a log, one half after the other)
        assert view.sagas(SagaQuery(text="label:zzzz")) == []
    assert halves and True not in halves
