"""The sort indexes (store/sort_index.py): pages, positions and keys read from them are the
SQL's, on a file as written and after a writer appends, finishes and deletes sagas."""

from __future__ import annotations

import random
import sqlite3
from array import array
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saga_inspector.store import SagaQuery, SagaStore, SortOrder, repository, sort_index
from saga_inspector.store.sort_index import (
    RECORD_CHARS,
    SortIndex,
    SortRun,
    parse_records,
    records,
)
from saga_inspector.store.timestamps import NO_VALUE

from .factory import insert_sagas, mixed_sagas, stored_time, ts

INDEXED = (SortOrder.STARTED, SortOrder.DURATION)
FILTERS = (None, frozenset({"running"}), frozenset({"completed", "failed"}),
           frozenset({"compensating", "failed_compensation", "running"}))


def _keys(query: SagaQuery, sagas: list) -> list:
    return [query.key_of(saga) for saga in sagas]


def assert_reads_as_sql(indexed: SagaStore, plain: SagaStore) -> None:
    """Every page, position and key of `indexed` (served by its indexes) is `plain`'s."""
    for sort in INDEXED:
        for states in FILTERS:
            query = SagaQuery(states, sort=sort)
            assert indexed.serves_by_index(query)
            everything = plain.sagas(query, limit=10**6)
            expected = _keys(query, everything)
            assert _keys(query, indexed.sagas(query, limit=10**6)) == expected
            assert _keys(query, indexed.oldest(query, limit=7)) == expected[-7:]
            for position, key in enumerate(expected):
                assert indexed.count_before(query, key) == position
            for saga in everything[::5]:
                key = query.key_of(saga)
                for side in ("after", "at", "before"):
                    assert _keys(query, indexed.sagas(query, limit=4, **{side: key})) == \
                        _keys(query, plain.sagas(query, limit=4, **{side: key}))
            assert indexed.page_keys(query, stride=3) == expected[::3]


@pytest.fixture(params=[None, 7], ids=["one run", "runs of 7"])
def two_stores(request, make_log, log_format, monkeypatch):
    """The same log in two stores; the index read in one run, or in runs of 7 ids (read
    over both connections, and a writer's new sagas starting runs of their own)."""
    if request.param is not None:
        monkeypatch.setattr(repository, "RUN_SIZE", request.param)
        monkeypatch.setattr(sort_index, "RUN_SIZE", request.param)
    path = make_log(mixed_sagas(60, seed=3))
    indexed, plain = SagaStore.open(path), SagaStore.open(path)
    yield path, indexed, plain
    indexed.close()
    plain.close()


def test_pages_from_the_index_are_the_sql_pages(two_stores) -> None:
    _path, indexed, plain = two_stores
    for sort in INDEXED:
        assert indexed.build_sort_index(sort)
    assert_reads_as_sql(indexed, plain)


def test_the_index_follows_a_writer_without_reading_it_all_again(two_stores, log_format,
                                                                  monkeypatch) -> None:
    """New sagas, and unfinished ones that end: the index reads only those again."""
    path, indexed, plain = two_stores
    for sort in INDEXED:
        indexed.build_sort_index(sort)
    table = log_format.saga_table
    ended = log_format.saga_columns["ended_at"]
    with sqlite3.connect(path) as conn:
        insert_sagas(conn, log_format, mixed_sagas(20, first_id=1000, seed=9))
        running = [row[0] for row in conn.execute(
            f"SELECT saga_id FROM {table} WHERE state IN ('running', 'compensating')")]
        for saga_id in running[:5]:
            conn.execute(f"UPDATE {table} SET state = 'completed', {ended} = ? "
                         f"WHERE saga_id = ?", (stored_time(ts(9000.5), log_format), saga_id))
    read_all = []
    monkeypatch.setattr(SagaStore, "_read_index",
                        lambda *args: read_all.append(args) or pytest.fail("read again"))
    assert_reads_as_sql(indexed, plain)
    assert read_all == []


def test_an_index_the_file_outgrew_in_another_way_is_read_again(two_stores,
                                                                log_format) -> None:
    """A finished saga deleted (the launcher prunes old ones at start): the counts tell,
    the index is dropped, and a new read serves the file as it is."""
    path, indexed, plain = two_stores
    indexed.build_sort_index(SortOrder.DURATION)
    with sqlite3.connect(path) as conn:
        conn.execute(f"DELETE FROM {log_format.saga_table} WHERE state = 'completed' "
                     f"AND saga_id IN (SELECT min(saga_id) FROM {log_format.saga_table} "
                     f"WHERE state = 'completed')")
    query = SagaQuery(sort=SortOrder.DURATION)
    assert indexed.sort_index(SortOrder.DURATION) is None
    assert not indexed.serves_by_index(query)
    assert _keys(query, indexed.sagas(query, limit=10**6)) == \
        _keys(query, plain.sagas(query, limit=10**6))  # (by SQL meanwhile)
    for sort in INDEXED:
        indexed.build_sort_index(sort)
    assert_reads_as_sql(indexed, plain)


def test_progress_counts_up_to_every_saga(two_stores) -> None:
    _path, indexed, _plain = two_stores
    seen: list[tuple[int, int]] = []
    indexed.build_sort_index(SortOrder.STARTED, progress=lambda done, total:
                             seen.append((done, total)))
    assert seen and seen[-1] == (60, 60)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_an_index_holds_a_few_tens_of_bytes_a_saga(make_log) -> None:
    path = make_log(mixed_sagas(2_000, states=("completed", "failed_compensation")))
    with SagaStore.open(path) as store:
        assert store.build_sort_index(SortOrder.DURATION)
        index = store.sort_index(SortOrder.DURATION)
        assert index is not None and len(index) == 2_000
        assert index.nbytes / len(index) <= 20


# -- the columns alone, against Python's sort ---------------------------------------------------

VALUES = st.one_of(st.integers(-5, 5), st.just(NO_VALUE), st.integers(-(2**62), 2**62),
                   st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**53 - 1]))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(VALUES, st.integers(0, 4)), max_size=60),
       states=st.sets(st.integers(0, 4), max_size=3), data=st.data())
def test_the_columns_order_filter_and_count_as_sorting_would(rows, states, data) -> None:
    ids = random.Random(len(rows)).sample(range(-50, 10_000), len(rows))
    values = [value for value, _ in rows]
    codes = [code for _, code in rows]
    index = SortIndex.from_rows(SortOrder.DURATION, ("a", "b", "c", "d", "e"),
                                (ids, values, codes), version=0, newest_id=None,
                                finished_codes=())
    wanted = bytes(sorted(states)) if states else None
    model = sorted(((v, i) for v, i, c in zip(values, ids, codes, strict=True)
                    if wanted is None or c in wanted), reverse=True)
    assert index.page(wanted, limit=10**6) == model
    assert index.count(wanted) == len(model)
    size = data.draw(st.integers(1, 8))
    assert index.page(wanted, from_oldest=True, limit=size) == model[-size:]
    probe = (data.draw(VALUES), data.draw(st.integers(-60, 10_001)))
    above = [key for key in model if key > probe]
    assert index.count_before(wanted, probe) == len(above)
    assert index.page(wanted, before=probe, limit=size) == above[-size:]
    assert index.page(wanted, after=probe, limit=size) == [k for k in model if k < probe][:size]
    assert index.page(wanted, at=probe, limit=size) == [k for k in model if k <= probe][:size]
    values_, ids_ = index.columns(wanted, 2)
    assert list(zip(values_, ids_, strict=True)) == model[::2]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(VALUES, st.integers(0, 4)), min_size=1, max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=4), data=st.data())
def test_runs_and_their_updates_read_as_one_sorted_list(rows, cuts, data) -> None:
    """An index of several runs (ranges of ids), then a writer's change (unfinished sagas
    re-read, some changed, and new ones), pages as the sorted list of every key would."""
    ids = list(range(1, len(rows) + 1))
    values = [value for value, _ in rows]
    codes = [code for _, code in rows]
    bounds = sorted({0, *(min(cut, len(rows)) for cut in cuts), len(rows)})
    runs = [SortRun.of(ids[a:b], values[a:b], codes[a:b]) for a, b in pairwise(bounds)]
    finished = (0, 1)
    index = SortIndex.from_runs(SortOrder.DURATION, ("a", "b", "c", "d", "e"), runs,
                                [ids[a] for a in bounds[:-1]], version=0,
                                newest_id=len(rows), finished_codes=finished)
    model = {saga_id: (value, code)
             for saga_id, value, code in zip(ids, values, codes, strict=True)}
    held = parse_records(_records_of(index.unfinished))
    assert held == _rows_of({i: vc for i, vc in model.items() if vc[1] not in finished})
    assert index.changes(index.unfinished) == (((), (), ()), ((), (), ()))
    for saga_id in held[0]:  # each unfinished one: changed, finished, left alone or deleted
        match data.draw(st.sampled_from(["changed", "finished", "same", "deleted"])):
            case "changed":
                model[saga_id] = (data.draw(VALUES), data.draw(st.integers(0, 4)))
            case "finished":
                model[saga_id] = (data.draw(VALUES), data.draw(st.sampled_from(finished)))
            case "deleted":
                del model[saga_id]
    oldest_new = len(rows) + 1
    for saga_id in range(oldest_new, oldest_new + data.draw(st.integers(0, 10))):
        model[saga_id] = (data.draw(VALUES), data.draw(st.integers(0, 4)))
    # What the store does: the records of the unfinished sagas now against the held ones,
    # then the rows of those that finished and of the new ones.
    unfinished = {i: vc for i, vc in model.items() if vc[1] not in finished}
    now = records(*_rows_of({i: vc for i, vc in unfinished.items() if i < oldest_new}))
    gone, came = index.changes(now)
    assert not set(came[0]) - set(gone[0])
    ended = set(gone[0]) - set(came[0])
    added = _rows_of({i: vc for i, vc in model.items()
                      if i in ended or i >= oldest_new or i in came[0]})
    fresh = index.updated(gone, added, unfinished=records(*_rows_of(unfinished)), version=1,
                          newest_id=max(model, default=None))
    wanted = bytes(sorted(data.draw(st.sets(st.integers(0, 4), max_size=3)))) or None
    expected = sorted(((v, i) for i, (v, c) in model.items()
                       if wanted is None or c in wanted), reverse=True)
    assert fresh.page(wanted, limit=10**6) == expected
    assert fresh.count(wanted) == len(expected)
    every_value = [value for value, _code in model.values()]
    assert fresh.extremes() == ((max(every_value), min(every_value)) if model else None)
    assert fresh.page(wanted, from_oldest=True, limit=5) == expected[-5:]
    probe = (data.draw(VALUES), data.draw(st.integers(0, 80)))
    above = [key for key in expected if key > probe]
    assert fresh.count_before(wanted, probe) == len(above)
    assert fresh.page(wanted, before=probe, limit=3) == above[-3:]
    assert fresh.page(wanted, after=probe, limit=3) == [k for k in expected if k < probe][:3]
    assert fresh.columns(wanted, 3) == (array("q", [v for v, _ in expected[::3]]),
                                        array("q", [i for _, i in expected[::3]]))
    assert parse_records(_records_of(fresh.unfinished)) == _rows_of(unfinished)


def _rows_of(sagas: dict[int, tuple[int, int]]) -> tuple[list[int], list[int], list[int]]:
    """(ids, values, codes) in ascending ids."""
    ordered = sorted(sagas.items())
    return ([i for i, _ in ordered], [v for _, (v, _) in ordered],
            [c for _, (_, c) in ordered])


def _records_of(text: str) -> list[str]:
    return [text[at:at + RECORD_CHARS] for at in range(0, len(text), RECORD_CHARS)]
