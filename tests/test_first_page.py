"""The first page by start time or duration before the sort's index (store/first_page.py):
SQL orders by a cheap proxy, the candidates are keyed exactly. The page must be exactly the
one the exact order gives, whatever the stored times, or None (the exact way then answers).
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import SagaRow, write_saga_log
from saga_inspector.store import SagaQuery, SagaStore, SortOrder
from saga_inspector.store import repository as repository_module
from saga_inspector.store.formats import FORMATS
from saga_inspector.store.formats.base import LogFormat
from saga_inspector.store.formats.launcher import RFC3339_TEXT, TEXT_SPAN_ERROR
from saga_inspector.store.timestamps import micros, parse_timestamp
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, for_format, stored_time
from .helpers import (
    CLEANUP,
    dashboard,
    drawn_ids,
    idle,
    make_app,
    oracle,
    pilot_test,
    shuffled_sagas,
    wait_until,
)
from .test_query_store import LAUNCHER_FORMS, NEAR_MISSES, stored_times
from .test_sort_keys_read import HeldRead, words

SORTED = [SortOrder.STARTED, SortOrder.DURATION]
NOON = datetime(2026, 6, 2, 12, tzinfo=UTC)


@st.composite
def own_times(draw: st.DrawFn) -> str:
    """The launcher's own form near one moment: 0, 3, 6 or 9 fraction digits, often the
    same second (near-ties, and equal times written with other digits)."""
    moment = NOON + timedelta(microseconds=draw(st.integers(0, 3_000_000)))
    digits = draw(st.sampled_from([0, 3, 6, 9]))
    whole = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}{draw(st.sampled_from(['000', '999', '500']))}"
    return f"{whole}{'.' + fraction[:digits] if digits else ''}+00:00"


ANY_TIME = st.one_of(own_times(), own_times(), own_times(), stored_times(),
                     st.sampled_from(LAUNCHER_FORMS + NEAR_MISSES))


def sql_of(conn: sqlite3.Connection, expression: str, *values: object) -> object:
    return conn.execute(f"SELECT {expression}", values).fetchone()[0]


# -- the proxies ------------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(first=ANY_TIME, second=ANY_TIME)
def test_ordered_text_sorts_as_its_time_and_its_span_is_near_the_exact_one(
        first: str, second: str) -> None:
    assume("\x00" not in first + second)
    conn = sqlite3.connect(":memory:")
    try:
        ordered = [sql_of(conn, RFC3339_TEXT.ordered_sql("?"), value) for value in
                   (first, second)]
        times = [micros(parse_timestamp(value)) for value in (first, second)]
        if not all(ordered) or None in times:
            return
        low, high = sorted([first, second])  # (SQLite's text order: code points)
        assert micros(parse_timestamp(low)) <= micros(parse_timestamp(high))
        span = sql_of(conn, RFC3339_TEXT.span_sql("?", "?"), second, first)
        # (no span, e.g. for a fraction of 400 digits: such a row sorts first in its lane,
        # with the rows the proxy cannot place, and is read)
        assert span is None or abs(span - (times[1] - times[0])) <= TEXT_SPAN_ERROR
    finally:
        conn.close()


@settings(max_examples=1500, deadline=None)
@given(value=ANY_TIME, shift=st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000),
       log_format=st.sampled_from(FORMATS), since=st.booleans())
def test_the_near_test_keeps_every_time_on_the_bounds_side(value: str, shift: int,
                                                           log_format: LogFormat,
                                                           since: bool) -> None:
    assume("\x00" not in value)
    stored = stored_time(value, log_format)
    exact = micros(log_format.time.decode(stored))
    if exact is None:
        return
    bound = exact + shift
    near = log_format.time.near_sql("v", since, bound)
    if near is None:  # (e.g. a day before the year 1: no test, every saga is sorted)
        return
    conn = sqlite3.connect(":memory:")
    try:
        kept = conn.execute(f"WITH stored(v) AS (SELECT ?) SELECT {near[0]} FROM stored",
                            [stored, *near[1]]).fetchone()[0]
    finally:
        conn.close()
    if (exact >= bound) if since else (exact <= bound):
        assert kept


# -- the page, against the exact order ----------------------------------------------------------


def exact_top(store: SagaStore, query: SagaQuery, limit: int) -> list[int]:
    """Every saga of the view keyed by SagaQuery.key_of (what the ORDER BY orders by), the
    first `limit`."""
    every = store.sagas(SagaQuery(query.states), limit=10_000)
    ordered = sorted(every, key=query.key_of, reverse=True)
    return [saga.saga_id for saga in ordered[:limit]]


@st.composite
def saga_rows(draw: st.DrawFn) -> list[SagaRow]:
    # Ids spread over more than a lane's width (two id ranges read at once).
    ids = sorted(draw(st.sets(st.integers(1, 20_000), min_size=1, max_size=60)))
    rows = []
    for saga_id in ids:
        started = draw(ANY_TIME)
        ended = draw(st.one_of(st.none(), ANY_TIME))
        state = draw(st.sampled_from(["completed", "failed", "running"]))
        rows.append(SagaRow(saga_id, CLEANUP, state, started, ended, "{}"))
    return rows


@settings(max_examples=150, deadline=None)
@given(rows=saga_rows(), log_format=st.sampled_from(FORMATS), sort=st.sampled_from(SORTED),
       limit=st.integers(1, 8), spare=st.sampled_from([0, 1, 16]),
       states=st.sampled_from([None, frozenset({"completed"}),
                               frozenset({"failed", "running"})]))
def test_the_first_page_is_the_exact_one_or_none(rows, log_format: LogFormat,
                                                 sort: SortOrder, limit: int, spare: int,
                                                 states) -> None:
    assume(all("\x00" not in str(value) for row in rows
               for value in (row.started_at, row.ended_at)))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository_module, "SPARE", spare)
        path = write_saga_log(Path(folder) / "log.db", for_format(rows, log_format),
                              log_format=log_format)
        with SagaStore.open(path) as store:
            query = SagaQuery(states, sort=sort)
            page = store.first_page(query, limit)
            if page is not None:
                assert [saga.saga_id for saga in page] == exact_top(store, query, limit)


@pytest.mark.parametrize("sort", SORTED)
def test_a_log_as_written_gets_its_first_page_by_the_proxies(make_log: SagaLogFactory,
                                                             sort: SortOrder) -> None:
    rows = shuffled_sagas(437)  # (ties, running sagas, starts that are no time)
    random.Random(5).shuffle(rows)
    for saga_id, row in enumerate(rows, start=1):
        row.saga_id = saga_id * 37  # ids over several id ranges
    with SagaStore.open(make_log(rows)) as store:
        page = store.first_page(SagaQuery(sort=sort), 20)
        assert page is not None
        expected = [row_id for row_id in oracle(rows, sort)[:20]]
        assert [saga.saga_id for saga in page] == expected
        # and `sagas` gives that page
        assert store.sagas(SagaQuery(sort=sort), limit=20) == page


@pytest.mark.parametrize("sort", SORTED)
def test_times_not_in_the_own_form_are_read_exactly(make_log: SagaLogFactory,
                                                    sort: SortOrder) -> None:
    # Launcher text in other forms than its own: `Z`, offsets, a space. Their text does not
    # sort as their time: when more of them than a page and its spare could come first,
    # the proxies cannot tell, and the page comes the exact way.
    forms = ["2026-06-02T{:02d}:00:00Z", "2026-06-02T{:02d}:30:00+05:00",
             "2026-06-02 {:02d}:15:00+00:00"]
    rows = [SagaRow(n, CLEANUP, "completed", forms[n % 3].format(n % 24),
                    f"2026-06-03T{n % 24:02d}:00:00.{n:03d}+00:00", "{}")
            for n in range(1, 200)]
    with SagaStore.open(make_log(rows)) as store:
        query = SagaQuery(sort=sort)
        if make_log.fmt.name == "launcher":
            assert store.first_page(query, 5) is None
        assert [saga.saga_id for saga in store.sagas(query, limit=5)] == oracle(rows, sort)[:5]


def test_no_first_page_by_proxy_once_the_index_serves_or_for_a_search(
        make_log: SagaLogFactory) -> None:
    with SagaStore.open(make_log(shuffled_sagas(50))) as store:
        assert store.first_page(SagaQuery(sort=SortOrder.ID), 5) is None
        assert store.first_page(SagaQuery(text="main", sort=SortOrder.STARTED), 5) is None
        assert store.first_page(SagaQuery(sort=SortOrder.STARTED), 5) is not None
        store.build_sort_index(SortOrder.STARTED)
        assert store.first_page(SagaQuery(sort=SortOrder.STARTED), 5) is None


def test_a_read_of_keys_waits_while_a_first_page_reads() -> None:
    pages = repository_module._PagesFirst()
    waited = threading.Event()

    def read_of_keys() -> None:
        pages.wait()
        waited.set()
    with pages.reading():
        reader = threading.Thread(target=read_of_keys)
        reader.start()
        assert not waited.wait(0.3)  # held while the page reads
    assert waited.wait(5)  # and let go when it is read
    reader.join()


# -- the dashboard ------------------------------------------------------------------------------


def shows_top(table: SagaTable, expected: list[int]) -> bool:
    shown = drawn_ids(table)
    return len(shown) >= 3 and shown == expected[:len(shown)]


@pilot_test
async def test_the_first_rows_of_each_sort_come_before_its_keys_are_read(
        make_log: SagaLogFactory, monkeypatch) -> None:
    rows = shuffled_sagas(437)
    read = HeldRead(monkeypatch)  # every read of keys waits until let go
    app = make_app(make_log(rows))
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        for sort, said in ((SortOrder.STARTED, "sorting by start time"),
                           (SortOrder.DURATION, "sorting by duration")):
            await pilot.press("s")
            top = oracle(rows, sort)
            await wait_until(pilot, lambda top=top: shows_top(table, top),
                             f"the first rows by {sort}")
            await wait_until(pilot, lambda said=said: said in words(table),
                             f"the note on the keys by {sort}")
        read.go.set()
        await idle(pilot)
        assert shows_top(table, oracle(rows, SortOrder.DURATION))
