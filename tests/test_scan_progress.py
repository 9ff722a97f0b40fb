"""While a search scans the log (store/scan.py) the table says how far it got and which key
cancels it; that key (escape) cancels the scan at once: the store reads no further range.
A scan is held between two ranges by a gate (no timing): the test sees it mid-scan."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Input

from saga_inspector.display_time import display_zone
from saga_inspector.store import (
    ErrorKind,
    SagaQuery,
    SagaStore,
    SortOrder,
    StoreError,
    repository,
)
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.scan import IdRanges, share
from saga_inspector.tui.widgets import saga_table
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar

from .factory import SagaLogFactory
from .helpers import SIZE, dashboard, idle, lines, make_app, numbered, pilot_test, wait_for

NO_MATCH = "label:zzzz"


class Gate:
    """Scans whose ranges stop after the first one until `release` is set; the ranges the
    store read (each statement of a scan names its range)."""

    def __init__(self) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.read: list[str] = []


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    held = Gate()

    class GatedRanges(IdRanges):
        def __iter__(self) -> Iterator[tuple[int, int]]:
            for number, found in enumerate(super().__iter__()):
                if number == 1:  # the first range was read: hold the scan here
                    held.held.set()
                    assert held.release.wait(10)
                yield found

    page_rows = SagaStore._page_rows

    def counted(store: SagaStore, query: SagaQuery, sql: str, *args: Any) -> Any:
        if query.searching:
            held.read.append(sql)
        return page_rows(store, query, sql, *args)

    monkeypatch.setattr(repository, "IdRanges", GatedRanges)
    monkeypatch.setattr(SagaStore, "_page_rows", counted)
    monkeypatch.setattr(saga_table, "SEARCH_PROGRESS_S", 0.0)  # every range says so
    return held


@pilot_test
async def test_a_scan_shows_its_progress_and_escape_cancels_it(
        make_log: SagaLogFactory, gate: Gate) -> None:
    app = make_app(make_log(numbered(3000)))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        await pilot.press("slash")
        dashboard(app).query_one(SearchBar).query_one(Input).value = NO_MATCH
        await pilot.press("enter")
        # The first range (ids 1 977..3 000 of 1..3 000) is read, and the scan is held.
        said = f"searching… {share(1024, 3000)} % · esc cancels"
        await wait_for(pilot, lambda: any(said in line for line in lines(table)),
                       "the scan's progress in the table")
        assert gate.held.is_set() and len(gate.read) == 1
        assert said in table.border_subtitle

        await pilot.press("escape")  # clears the search: every saga again
        everything = SagaQuery(zone=display_zone())
        await wait_for(pilot, lambda: table.saga_query == everything and table.total == 3000,
                       "all sagas after escape")
        gate.release.set()
        await idle(pilot)
        assert len(gate.read) == 1  # the store read no range after escape
        assert not any("searching" in line for line in lines(table))
        assert "searching" not in str(table.border_subtitle)


def test_a_cancelled_scan_stops_between_ranges(make_log: SagaLogFactory, gate: Gate) -> None:
    gate.release.set()
    stop = threading.Event()
    said: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        said.append((done, total))
        stop.set()  # cancelled after the first range

    with SagaStore.open(make_log(numbered(3000))) as store, pytest.raises(StoreError) as raised:
        store.sagas(SagaQuery(text=NO_MATCH), cancelled=stop.is_set, progress=progress)
    assert raised.value.kind is ErrorKind.CANCELLED
    assert len(gate.read) == 1 and said == [(1024, 3000)]


def test_the_progress_of_several_logs_is_in_sagas_and_ends_at_all_of_them(
        make_log: SagaLogFactory) -> None:
    paths = [make_log(numbered(count), name=f"log-{count}.db") for count in (3000, 500, 40)]
    said: list[tuple[int, int]] = []
    with MergedSource.open(paths) as view:
        for sort in (SortOrder.ID, SortOrder.STARTED):
            said.clear()
            query = SagaQuery(text=NO_MATCH, sort=sort)
            assert view.sagas(query, progress=lambda d, t: said.append((d, t))) == []
            assert {total for _done, total in said} == {3540}
            dones = [done for done, _total in said]
            assert dones == sorted(dones) and dones[-1] == 3540
