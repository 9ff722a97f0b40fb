"""Sorting the saga table (`s`): by id, start time or duration, keyset all the way; each
`s` shows the top of the new order, the header marks the sorted column.

The orders are checked against an oracle written here from the stored times (the one
timestamp parser), not against the store's own sort key: a sort the store got wrong fails.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from saga_inspector.demo import SagaRow, demo_sagas, write_demo, write_saga_log
from saga_inspector.store import SagaQuery, SagaStore, SortOrder
from saga_inspector.tui.widgets.saga_table import (
    SORT_MARK,
    PageRequest,
    RowCache,
    SagaTable,
    find_row,
)

from .factory import SagaLogFactory
from .helpers import (
    Host,
    dashboard,
    drawn_ids,
    highlighted_id,
    idle,
    lines,
    live_app,
    make_app,
    oracle,
    pilot_test,
    row_ids,
    run_host,
    settle,
    shuffled_sagas,
    wait_until,
)

SORTS = list(SortOrder)


@pytest.fixture
def shuffled_log(make_log: SagaLogFactory) -> tuple[Path, list[SagaRow]]:
    rows = shuffled_sagas(437)
    return make_log(rows), rows


# -- the page cache and the store, without Textual -----------------------------------------


@pytest.mark.parametrize("sort", SORTS)
def test_the_oracle_and_the_store_agree_on_every_order(shuffled_log, sort) -> None:
    path, rows = shuffled_log
    with SagaStore.open(path) as store:
        listed = [saga.saga_id for saga in store.sagas(SagaQuery(sort=sort), limit=10**6)]
    assert listed == oracle(rows, sort)
    assert listed != oracle(rows, SortOrder.ID) or sort is SortOrder.ID  # the data is mixed


@pytest.mark.parametrize("sort", SORTS)
def test_pages_read_in_any_order_give_the_whole_sorted_listing(shuffled_log, sort) -> None:
    path, rows = shuffled_log
    query = SagaQuery(sort=sort)
    with SagaStore.open(path) as store:
        cache = RowCache(page_size=50, key=query.key_of)
        cache.total = len(rows)
        cache.anchors = store.page_keys(query, stride=50)
        pages = list(range(len(cache.anchors)))
        random.Random(5).shuffle(pages)
        for page in pages:
            request = cache.plan(page)
            assert request is not None  # a neighbour's key, or else the page's own
            cache.store(request, request.run(store, query))
        assert [cache.row(i).saga_id for i in range(len(rows))] == oracle(rows, sort)
        # From the end upwards, each page read from the one below it:
        cache = RowCache(page_size=50, key=query.key_of)
        cache.total = len(rows)
        for page in reversed(range((len(rows) - 1) // 50 + 1)):
            request = cache.plan(page)
            assert request is not None and request.after is None  # never from above
            cache.store(request, request.run(store, query))
        assert [cache.row(i).saga_id for i in range(len(rows))] == oracle(rows, sort)


class WithoutCountBefore:
    """The store as it was before `count_before`: the table falls back to the page keys."""

    def __init__(self, store: SagaStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        if name == "count_before":
            raise AttributeError(name)
        return getattr(self.store, name)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("wrap", [lambda store: store, WithoutCountBefore], ids=["count", "scan"])
def test_find_row_gives_a_sagas_position_and_its_page(shuffled_log, sort, wrap) -> None:
    path, _rows = shuffled_log
    query = SagaQuery(frozenset({"completed"}), sort=sort)
    with SagaStore.open(path) as opened:
        store = wrap(opened)
        expected = [saga.saga_id for saga in opened.sagas(query, limit=10**6)]
        for position in (0, 1, 49, 50, 51, 200, len(expected) - 1):
            saga = opened.sagas_by_id([expected[position]])[0]
            found = find_row(store, query, query.key_of(saga), 50)
            assert found.position == position
            assert found.request is not None and found.request.page == position // 50
            page = position // 50 * 50
            assert [row.saga_id for row in found.rows] == expected[page:page + 50]
        # A saga the view does not hold: the row it would have.
        running = opened.sagas_by_id([13])[0]
        found = find_row(store, query, query.key_of(running), 50)
        assert 0 <= found.position <= len(expected)


def test_a_page_request_reads_after_before_and_at_a_key(shuffled_log) -> None:
    path, rows = shuffled_log
    query = SagaQuery(sort=SortOrder.DURATION)
    order = oracle(rows, SortOrder.DURATION)
    with SagaStore.open(path) as store:
        key = query.key_of(store.sagas_by_id([order[100]])[0])

        def ids(request: PageRequest) -> list[int]:
            return [saga.saga_id for saga in request.run(store, query)]

        assert ids(PageRequest(0, 5, after=key)) == order[101:106]
        assert ids(PageRequest(0, 5, before=key)) == order[95:100]
        assert ids(PageRequest(0, 5, at=key)) == order[100:105]
        assert ids(PageRequest(0, 5, from_oldest=True)) == order[-5:]


# -- the table, in a host app ------------------------------------------------------------


def all_drawn(table: SagaTable) -> bool:
    """No row of the view is waiting for its page (drawn as `…`)."""
    return bool(row_ids(table)) and not any(line.strip() == "…" for line in lines(table))


@pytest.mark.parametrize("sort", SORTS)
def test_paging_down_under_each_sort_visits_every_saga_once_in_order(shuffled_log, sort) -> None:
    path, rows = shuffled_log
    host = Host(SagaStore.open(path), SagaQuery(sort=sort))
    expected = oracle(rows, sort)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == len(rows) and all_drawn(table))
        shown = len(row_ids(table))
        drawn: dict[int, int] = {}  # position: the saga drawn there
        while True:
            top = table.scroll_offset.y
            for offset, saga_id in enumerate(row_ids(table)):
                assert drawn.setdefault(top + offset, saga_id) == saga_id
            if top + shown >= len(rows):
                break
            await pilot.press("pagedown")
            await settle(pilot, lambda: all_drawn(table))
        assert [drawn[position] for position in range(len(rows))] == expected  # each once
        await pilot.press("g")
        await settle(pilot, lambda: all_drawn(table))
        assert highlighted_id(table) == expected[0]
        await pilot.press("G")
        await settle(pilot, lambda: highlighted_id(table) == expected[-1])
        await pilot.press("pageup", "pageup")
        await settle(pilot, lambda: all_drawn(table))
        top = table.scroll_offset.y
        assert row_ids(table) == expected[top:top + shown]

    run_host(host, scenario, size=(170, 40))


@pytest.mark.parametrize("sort", [SortOrder.STARTED, SortOrder.DURATION])
def test_a_far_page_under_a_sort_is_reached_through_the_page_keys(
    make_log: SagaLogFactory, sort: SortOrder
) -> None:
    rows = shuffled_sagas(5000)
    host = Host(SagaStore.open(make_log(rows)), SagaQuery(sort=sort))
    expected = oracle(rows, sort)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == len(rows))
        # A scrollbar drag to the middle: no page next to it is read, its key is not known.
        table.scroll_to(y=2500, animate=False, force=True)
        await settle(pilot, lambda: all_drawn(table) and table.scroll_offset.y == 2500)
        assert table._cache.anchors is not None  # the page keys were read for it
        assert row_ids(table) == expected[2500:2500 + len(row_ids(table))]

    run_host(host, scenario)


def test_a_reload_under_a_sort_keeps_the_highlighted_saga(make_log: SagaLogFactory) -> None:
    rows = shuffled_sagas(300)
    path = make_log(rows)
    query = SagaQuery(sort=SortOrder.DURATION)
    host = Host(SagaStore.open(path), query)
    expected = oracle(rows, SortOrder.DURATION)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 300)
        for _ in range(7):
            await pilot.press("j")
        await settle(pilot)
        assert highlighted_id(table) == expected[7]
        # Sagas arrive; some last longer than the highlighted one and sort above it.
        write_saga_log(path, shuffled_sagas(40, first_id=301, seed=9))
        table.reload()
        await settle(pilot, lambda: table.total == 340 and not table.reading)
        assert highlighted_id(table) == expected[7]
        now = oracle([*rows, *shuffled_sagas(40, first_id=301, seed=9)], SortOrder.DURATION)
        assert table.cursor_row == now.index(expected[7])

    run_host(host, scenario)


# -- the dashboard: `s` --------------------------------------------------------------------


def header_of(table: SagaTable) -> str:
    """The table's header line, inside its border."""
    return lines(table)[1].strip("│ ")


# How each column's title starts (a narrow table cuts some titles: `durat…`).
TITLE_STARTS = {"id": "id", "name": "name", "state": "stat", "started": "star",
                "duration": "dur", "steps": "steps"}


def sort_marked_title(header: str) -> str:
    """The column title the sort mark (▼) follows in a header line: the column it marks."""
    assert header.count(SORT_MARK) == 1, header
    marked = header.index(SORT_MARK)
    before = {title: header.index(start) for title, start in TITLE_STARTS.items()
              if start in header and header.index(start) < marked}
    return max(before, key=before.__getitem__)


# Which column each order marks; every order runs from the highest key down (▼).
MARKED = {SortOrder.ID: "id", SortOrder.STARTED: "started", SortOrder.DURATION: "duration"}
TITLED = {SortOrder.ID: None, SortOrder.STARTED: "by start time",
          SortOrder.DURATION: "by duration"}


@pilot_test
async def test_s_cycles_the_sort_and_shows_the_top_of_each_order(shuffled_log) -> None:
    path, rows = shuffled_log
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        assert drawn_ids(table)[:10] == oracle(rows, SortOrder.ID)[:10]
        assert sort_marked_title(header_of(table)) == "id"
        for sort in (SortOrder.STARTED, SortOrder.DURATION, SortOrder.ID):
            await pilot.press("j", "j", "j")  # away from the top: s still goes there
            await pilot.press("s")
            await idle(pilot)
            assert table.saga_query is not None and table.saga_query.sort is sort
            expected = oracle(rows, sort)
            shown = drawn_ids(table)
            assert (table.cursor_row, table.scroll_offset.y) == (0, 0)
            assert shown == expected[:len(shown)]
            assert highlighted_id(table) == expected[0]
            assert sort_marked_title(header_of(table)) == MARKED[sort]
            title, said = str(table.border_title), TITLED[sort]
            assert (said in title) if said else " by " not in title


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
@pilot_test
async def test_the_header_marks_the_sorted_column_at_any_width(
        shuffled_log, size: tuple[int, int]) -> None:
    path, _rows = shuffled_log
    app = make_app(path)
    async with app.run_test(size=size) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        for sort in (SortOrder.STARTED, SortOrder.DURATION, SortOrder.ID):
            await pilot.press("s")
            await idle(pilot)
            header = header_of(table)
            assert sort_marked_title(header) == MARKED[sort]
            # Right after its title (at most the one space a left-aligned title leaves).
            before = header[:header.index(SORT_MARK)]
            assert before.strip() and not before.endswith("  "), header
            assert "…" not in before.split()[-1] or MARKED[sort] != "started", header


@pilot_test
async def test_s_on_the_demo_log_highlights_the_longest_saga(tmp_path: Path) -> None:
    app = make_app(write_demo(tmp_path / "launcher-sagas.db"))
    longest = oracle(demo_sagas(), SortOrder.DURATION)[0]
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        screen = dashboard(app)
        table = screen.query_one(SagaTable)
        await pilot.press("j", "j", "s", "s")  # by start time, then by duration
        await idle(pilot)
        assert table.cursor_row == 0 and highlighted_id(table) == longest
        assert drawn_ids(table)[0] == longest  # in view, on the first line
        assert screen.view is not None and screen.view.saga_id == longest  # its detail


@pilot_test
async def test_a_refresh_after_a_sort_keeps_the_highlighted_saga(shuffled_log) -> None:
    path, rows = shuffled_log
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        screen = dashboard(app)
        table = screen.query_one(SagaTable)
        for sort in (SortOrder.STARTED, SortOrder.DURATION):
            await pilot.press("s", "j", "j", "j", "j", "j")
            await idle(pilot)
            chosen = oracle(rows, sort)[5]
            assert highlighted_id(table) == chosen
            await pilot.press("r")
            await idle(pilot)
            assert highlighted_id(table) == chosen and table.cursor_row == 5
            assert screen.view is not None and screen.view.saga_id == chosen


@pilot_test
async def test_the_live_refresh_after_a_sort_keeps_the_highlighted_saga(shuffled_log) -> None:
    path, rows = shuffled_log
    app = live_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("s", "s", *"j" * 20)  # by duration, the 21st longest
        await idle(pilot)
        chosen = oracle(rows, SortOrder.DURATION)[20]
        assert highlighted_id(table) == chosen
        # Sagas arrive; some last longer than the highlighted one and sort above it.
        added = shuffled_sagas(40, first_id=len(rows) + 1, seed=9)
        write_saga_log(path, added)
        now = oracle([*rows, *added], SortOrder.DURATION)
        assert now.index(chosen) > 20  # the test means something: the saga moved down
        await wait_until(pilot, lambda: table.total == len(rows) + 40 and not table.reading,
                         "the live refresh")
        assert highlighted_id(table) == chosen
        assert table.cursor_row == now.index(chosen)


@pilot_test
async def test_a_filter_under_a_sort_keeps_the_sort(shuffled_log) -> None:
    path, rows = shuffled_log
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("s", "s")
        await idle(pilot)
        await pilot.press("1")  # running: no duration, so all tie; ids decide
        await idle(pilot)
        running = [row for row in rows if row.state == "running"]
        assert table.saga_query is not None and table.saga_query.sort is SortOrder.DURATION
        assert drawn_ids(table) == oracle(running, SortOrder.DURATION)[:len(drawn_ids(table))]
        assert drawn_ids(table) == sorted(drawn_ids(table), reverse=True)
