"""A view's pages over many logs are exactly the sorted union of the logs' rows, however the
merge reads them (issue 15): by id a lazy merge (MergedSource._id_page) reads each log only
when its best id can still enter the page, a few rows at a time; by start time and duration
the logs' keys are merged. Here the logs' ids collide (every log counts from about 1), or
their ranges lie apart, so that the merge both ties across logs and leaves logs out.

The oracle is each log's own rows in its own SQL order (checked sorted), ranked and sorted
together: what ORDER BY over the union would give.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.store import FORMATS, SagaQuery, SortKey, SortOrder
from saga_inspector.store.formats import LAUNCHER, LogFormat
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.models import Saga
from saga_inspector.store.repository import IndexReader

from .factory import SagaLogFactory, cleanup_saga
from .helpers import check_paging
from .test_merged_properties import STATES, _loose, a_saga

SLOW = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EVERYTHING = 10**6


@st.composite
def a_log(draw: st.DrawFn, number: int) -> tuple[list, LogFormat]:
    """A log's sagas: ids from 1 (shared with the other logs), or in a range of their own
    (this log then lies wholly above or below the others by id)."""
    start = draw(st.sampled_from([1, 1, 1 + 50 * number]))
    ids = draw(st.lists(st.integers(start, start + 30), unique=True, max_size=14))
    return [draw(a_saga(saga_id)) for saga_id in ids], draw(st.sampled_from(FORMATS))


@st.composite
def logs(draw: st.DrawFn) -> list[tuple[list, LogFormat]]:
    count = draw(st.integers(2, 6))
    return [draw(a_log(number)) for number in range(count)]


def open_view(folder: Path, made: list[tuple[list, LogFormat]]) -> MergedSource:
    paths = []
    for number, (sagas, fmt) in enumerate(made):
        factory = SagaLogFactory(folder / f"log{number}", fmt)
        factory.folder.mkdir()
        stem = "launcher-sagas.db" if fmt is LAUNCHER else "sagas.db"
        paths.append(factory(sagas, name=stem, ddl=_loose(fmt)))
    return MergedSource.open(paths)


def union(view: MergedSource, query: SagaQuery) -> list[SortKey]:
    """Every log's rows of `query` in its own order, ranked, sorted as one (the oracle)."""
    keys: list[SortKey] = []
    for member in view.members:
        assert member.store is not None
        own = [query.key_of(saga) for saga in member.store.sagas(query, limit=EVERYTHING)]
        assert own == sorted(own, reverse=True)
        assert all(key.source == member.tag.rank for key in own)
        keys += own
    return sorted(keys, reverse=True)


def keys(query: SagaQuery, sagas: list[Saga]) -> list[SortKey]:
    return [query.key_of(saga) for saga in sagas]


def check_pages(view: MergedSource, query: SagaQuery, bounds: list[SortKey]) -> None:
    expected = union(view, query)
    assert keys(query, view.sagas(query, limit=EVERYTHING)) == expected
    assert keys(query, list(view.walk(query))) == expected
    for size in (1, 2, 3, 5, 8, 13):
        assert keys(query, view.sagas(query, limit=size)) == expected[:size]
        assert keys(query, view.oldest(query, limit=size)) == expected[-size:]
        check_paging(view, query, expected, size, bounds)


@SLOW
@given(made=logs(), data=st.data(), indexed=st.booleans())
def test_pages_of_logs_whose_ids_collide_are_the_sorted_union(made, data, indexed) -> None:
    """Under every sort, with and without states, by SQL or (indexed) the logs' indexes;
    bounds on rows of the view and on keys no row has (any id, any log's rank)."""
    with tempfile.TemporaryDirectory() as folder:
        view = open_view(Path(folder), made)
        try:
            if indexed:
                for sort in (SortOrder.STARTED, SortOrder.DURATION):
                    assert view.build_sort_index(sort)
            states = data.draw(st.one_of(
                st.none(), st.frozensets(st.sampled_from(STATES), min_size=1)))
            text = data.draw(st.sampled_from([None, None, "state:failed,completed"]))
            for sort in SortOrder:
                query = SagaQuery(states, text, sort)
                rows = view.sagas(SagaQuery(sort=sort), limit=EVERYTHING)
                picks = data.draw(st.lists(st.sampled_from(rows), max_size=3)) if rows else []
                bounds = [SagaQuery(sort=sort).key_of(saga) for saga in picks]
                if sort is SortOrder.ID:  # keys between rows, of any log
                    for saga_id, rank in data.draw(st.lists(st.tuples(
                            st.integers(0, 50 * len(made) + 40),
                            st.integers(0, len(made) - 1)), max_size=3)):
                        bounds.append(SortKey(saga_id, saga_id, rank))
                check_pages(view, query, bounds)
        finally:
            view.close()


# -- by id, a log that cannot reach the page is not read --------------------------------------


class Reads:
    """The page reads asked of each log (store.sagas and store.oldest), by log number."""

    def __init__(self, view: MergedSource, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: Counter[int] = Counter()  # rows asked for
        self.calls: Counter[int] = Counter()
        for number, member in enumerate(view.members):
            store = member.store
            assert store is not None
            for name in ("sagas", "oldest"):
                monkeypatch.setattr(store, name, self._spy(number, getattr(store, name)))

    def _spy(self, number: int, read):
        def spied(*args, **kwargs):
            self.calls[number] += 1
            self.rows[number] += kwargs.get("limit", 0)
            return read(*args, **kwargs)
        return spied

    def read(self) -> set[int]:
        found = set(self.calls)
        self.calls.clear()
        self.rows.clear()
        return found


@pytest.fixture
def apart(tmp_path: Path) -> MergedSource:
    """Three logs whose ids lie apart: 1-40, 101-140, 201-240 (log 0, 1, 2); and a fourth
    sharing the first's ids, all failed."""
    paths = []
    for number, first in enumerate((1, 101, 201)):
        factory = SagaLogFactory(tmp_path / f"log{number}")
        factory.folder.mkdir()
        paths.append(factory([cleanup_saga(saga_id, at=saga_id)
                              for saga_id in range(first, first + 40)], name="l.db"))
    factory = SagaLogFactory(tmp_path / "log3")
    factory.folder.mkdir()
    paths.append(factory([cleanup_saga(saga_id, at=saga_id, state="failed")
                          for saga_id in range(1, 41)], name="l.db"))
    with MergedSource.open(paths) as source:
        yield source


def test_by_id_only_the_logs_whose_ids_reach_the_page_are_read(apart, monkeypatch) -> None:
    query = SagaQuery(sort=SortOrder.ID)
    reads = Reads(apart, monkeypatch)
    first = apart.sagas(query, limit=10)
    assert [saga.saga_id for saga in first] == list(range(240, 230, -1))
    assert reads.read() == {2}
    # Across the gap between two logs: the upper's last rows, then the lower's first.
    page = apart.sagas(query, after=SortKey(205, 205, apart.members[2].tag.rank), limit=10)
    assert [saga.saga_id for saga in page] == [204, 203, 202, 201, *range(140, 134, -1)]
    assert reads.read() == {1, 2}
    # Reading up from the oldest: only the logs holding the lowest ids (0 and 3 share them).
    oldest = apart.oldest(query, limit=10)
    assert {saga.saga_id for saga in oldest} == {1, 2, 3, 4, 5}
    assert reads.read() == {0, 3}
    page = apart.sagas(query, before=SortKey(130, 130, apart.members[1].tag.rank), limit=5)
    assert [saga.saga_id for saga in page] == list(range(135, 130, -1))
    assert reads.read() == {1}


def test_by_id_a_log_without_the_states_asked_is_not_read(apart, monkeypatch) -> None:
    reads = Reads(apart, monkeypatch)
    failed = apart.sagas(SagaQuery(frozenset({"failed"}), sort=SortOrder.ID), limit=10)
    assert [saga.saga_id for saga in failed] == list(range(40, 30, -1))
    assert reads.read() == {3}


def test_logs_sharing_the_page_are_read_a_few_rows_each(apart, monkeypatch) -> None:
    """Logs 0 and 3 hold the same ids: the 10 oldest are 5 of each, and neither log is
    asked for a page of 10 (only what can still enter the page, a few rows at first)."""
    reads = Reads(apart, monkeypatch)
    apart.oldest(SagaQuery(sort=SortOrder.ID), limit=10)
    asked = dict(reads.rows)
    assert set(asked) == {0, 3}
    assert all(rows < 10 for rows in asked.values())


class SpiedReader:
    """A log's IndexReader whose reads of keys are counted (keys asked for, by log)."""

    def __init__(self, reader: IndexReader, asked: Counter[int], number: int) -> None:
        self.reader, self.asked, self.number = reader, asked, number

    def keys(self, **bound: Any) -> list[SortKey]:
        self.asked[self.number] += bound["limit"]
        return self.reader.keys(**bound)

    def extremes(self) -> tuple[int, int] | None:
        return self.reader.extremes()


def spy_on_index_reads(view: MergedSource, monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    asked: Counter[int] = Counter()
    for number, member in enumerate(view.members):
        store = member.store
        def spied_reader(query, reader=store.index_reader, number=number):
            found = reader(query)
            return None if found is None else SpiedReader(found, asked, number)
        monkeypatch.setattr(store, "index_reader", spied_reader)
    return asked


def test_from_the_indexes_logs_are_asked_for_a_few_keys_each(apart, monkeypatch) -> None:
    """By duration from the logs' indexes every log may hold the page's first keys (their
    spans of durations overlap): each is asked a few, not a page each."""
    assert apart.build_sort_index(SortOrder.DURATION)
    asked = spy_on_index_reads(apart, monkeypatch)
    query = SagaQuery(sort=SortOrder.DURATION)
    assert keys(query, apart.sagas(query, limit=20)) == union(apart, query)[:20]
    assert asked
    assert sum(asked.values()) < 20 * len(apart.members)


def test_from_the_indexes_a_log_whose_span_cannot_reach_the_page_is_not_read(
        apart, monkeypatch) -> None:
    """By start time, logs 0 and 3 start at 1-40, log 1 at 101-140, log 2 at 201-240: a
    page is read from the logs whose span of start times reaches it only."""
    assert apart.build_sort_index(SortOrder.STARTED)
    asked = spy_on_index_reads(apart, monkeypatch)
    query = SagaQuery(sort=SortOrder.STARTED)
    every = union(apart, query)
    assert keys(query, apart.sagas(query, limit=10)) == every[:10]
    assert set(asked) == {2}
    asked.clear()
    middle = every.index(next(key for key in every if key.source == apart.members[1].tag.rank))
    assert keys(query, apart.sagas(query, at=every[middle], limit=10)) == (
        every[middle:middle + 10])
    assert set(asked) == {1}
    asked.clear()
    assert keys(query, apart.sagas(query, before=every[middle], limit=10)) == (
        every[middle - 10:middle])
    assert set(asked) == {1, 2}  # (log 1 may hold more sagas that start at 140)
    asked.clear()
    assert keys(query, apart.oldest(query, limit=10)) == every[-10:]
    assert set(asked) <= {0, 3}


def test_indexes_already_read_are_not_read_again(apart, monkeypatch) -> None:
    said: list[tuple[int, int]] = []
    assert apart.build_sort_index(SortOrder.STARTED)
    for member in apart.members:
        def refused(*_args, **_kwargs):
            raise AssertionError("read again")
        monkeypatch.setattr(member.store, "build_sort_index", refused)
    assert apart.build_sort_index(SortOrder.STARTED, progress=lambda *told: said.append(told))
    assert said == []  # nothing read, nothing said (as one log's store)


def test_progress_counts_the_logs_already_read(tmp_path: Path) -> None:
    """One log's index read, the other's not: the progress runs over both to the end."""
    paths = []
    for number in range(2):
        factory = SagaLogFactory(tmp_path / f"log{number}")
        factory.folder.mkdir()
        paths.append(factory([cleanup_saga(i, at=i) for i in range(1, 21)], name="l.db"))
    with MergedSource.open(paths) as view:
        assert view.members[0].store.build_sort_index(SortOrder.DURATION)
        said: list[tuple[int, int]] = []
        assert view.build_sort_index(SortOrder.DURATION,
                                     progress=lambda *told: said.append(told))
        assert said[-1] == (40, 40)
        assert all(total == 40 and done >= 20 for done, total in said)


# -- by start time, the first page before the indexes: each log's own first page -------------


def test_the_first_page_by_start_time_reads_no_blocks_bounds(apart, monkeypatch) -> None:
    """At open (no index yet) each log gives its first page by its proxies, and the view
    merges them: no log's blocks' bounds are read for it (a pass over each log three times
    as dear). The index of start times reads them, for the searches by start time."""
    query = SagaQuery(sort=SortOrder.STARTED)
    failed = SagaQuery(frozenset({"failed"}), sort=SortOrder.STARTED)
    expected, expected_failed = union(apart, query), union(apart, failed)
    bounds_read: Counter[int] = Counter()
    first_pages: Counter[int] = Counter()
    for number, member in enumerate(apart.members):
        store = member.store
        def bounds(*args, read=store.start_bounds, number=number, **kwargs):
            bounds_read[number] += 1
            return read(*args, **kwargs)
        def first(*args, read=store.first_page, number=number, **kwargs):
            first_pages[number] += 1
            return read(*args, **kwargs)
        monkeypatch.setattr(store, "start_bounds", bounds)
        monkeypatch.setattr(store, "first_page", first)
    for size in (1, 5, 20):
        assert keys(query, apart.sagas(query, limit=size)) == expected[:size]
    assert keys(failed, apart.sagas(failed, limit=5)) == expected_failed[:5]
    assert set(first_pages) == {0, 1, 2, 3}
    assert bounds_read == Counter()
    assert apart.build_sort_index(SortOrder.STARTED)
    assert set(bounds_read) == {0, 1, 2, 3}
