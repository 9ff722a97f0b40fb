"""Live refresh, piece by piece: the saga table keeping its place as sagas arrive above it,
marking state changes, riding out a writer's lock; the dashboard's follow (`f`) and pause
(`p`) keys and the open saga's steps read again in place; the store's short poll wait."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from saga_inspector.demo import write_saga_log
from saga_inspector.store import ErrorKind, SagaStore, StateCounts, StoreError
from saga_inspector.store.formats import LogFormat
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.widgets import saga_table
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory, cleanup_saga, for_format, stored_time
from .helpers import (
    INTERVAL,
    SIZE,
    Host,
    StoreProxy,
    highlighted_id,
    idle,
    lines,
    live_app,
    numbered,
    poll,
    run_host,
    settle,
    wait_to_show,
    wait_until,
)

# Every test here takes `log_format`: it runs on a launcher log and on a server log.


def add_sagas(path: Path, first: int, last: int, log_format: LogFormat) -> None:
    rows = [row for row in numbered(last) if row.saga_id >= first]
    write_saga_log(path, for_format(rows, log_format), log_format=log_format)


def line_of(table: SagaTable, saga_id: int) -> int:
    return next(y for y, line in enumerate(lines(table)) if line.startswith(f"{saga_id} "))


class CountsGate(StoreProxy):
    """A store whose counts wait (while armed) until the test lets them go: the first page
    of a reload lands, its total does not yet."""

    def __init__(self, store: SagaStore) -> None:
        super().__init__(store)
        self.entered, self.release = threading.Event(), threading.Event()

    def counts(self) -> StateCounts:
        if self.armed:
            self.armed = False
            self.entered.set()
            assert self.release.wait(10)
        return self.store.counts()


@pytest.mark.parametrize("arriving", [3, 150])  # fewer, and more, than a page of rows
def test_sagas_arriving_above_leave_the_highlighted_saga_on_its_line(
    make_log: SagaLogFactory, log_format: LogFormat, arriving: int
) -> None:
    path = make_log(numbered(300))
    store = CountsGate(SagaStore.open(path))
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 300)
        await pilot.press("j", "j")
        await settle(pilot)
        before = lines(table)
        add_sagas(path, 301, 300 + arriving, log_format)
        store.armed = True
        table.reload()
        await poll(pilot, lambda: store.entered.is_set() and table._loaded)
        # The new first page is in, its total not yet: already nothing has moved.
        assert lines(table)[2:] == before[2:]  # the header line aside
        assert table.cursor_row - table.scroll_offset.y == 2
        store.release.set()
        await settle(pilot, lambda: table.total == 300 + arriving)
        assert highlighted_id(table) == 298 and line_of(table, 298) == 3
        assert lines(table)[1:] == before[1:]
        assert table.new_above == arriving
        assert table.border_subtitle == f"{arriving} new — press g to see them"
        await pilot.press("g")
        await settle(pilot)
        assert highlighted_id(table) == 300 + arriving
        assert table.new_above == 0 and table.border_subtitle == ""

    run_host(host, scenario)


class InsertWhileCounting(StoreProxy):
    """A store where, at the first keyset read upwards (the count of a page-full of new
    rows), the writer adds five sagas more: they came after the first page was read."""

    def __init__(self, store: SagaStore, path: Path, log_format: LogFormat) -> None:
        super().__init__(store)
        self.path, self.log_format = path, log_format

    def sagas(self, query: Any, **kwargs: Any) -> Any:
        if self.armed and kwargs.get("before") is not None:
            self.armed = False
            add_sagas(self.path, 451, 455, self.log_format)
        return self.store.sagas(query, **kwargs)


def test_sagas_arriving_while_a_reload_counts_are_announced_once(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    path = make_log(numbered(300))
    store = InsertWhileCounting(SagaStore.open(path), path, log_format)
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 300)
        add_sagas(path, 301, 450, log_format)
        store.armed = True
        table.reload()
        await settle(pilot, lambda: not table.reading and highlighted_id(table) == 300)
        assert table.new_above == 150  # what the first page's read had above saga 300
        table.reload()
        await settle(pilot, lambda: table.total == 455 and not table.reading)
        assert table.new_above == 155 and highlighted_id(table) == 300
        assert table.cursor_row - table.scroll_offset.y == 0

    run_host(host, scenario)


def test_a_reload_at_newest_highlights_the_newest_saga(
    make_log: SagaLogFactory, log_format: LogFormat
) -> None:
    path = make_log(numbered(50))
    host = Host(SagaStore.open(path))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 50)
        await pilot.press("j", "j", "j")
        add_sagas(path, 51, 52, log_format)
        table.reload(at_newest=True)
        await settle(pilot, lambda: table.total == 52)
        assert highlighted_id(table) == 52 and table.scroll_offset.y == 0
        assert table.new_above == 0

    run_host(host, scenario)


def test_a_saga_whose_state_changed_is_marked_for_a_moment(
    make_log: SagaLogFactory, log_format: LogFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saga_table, "CHANGED_MARK_SECONDS", 0.3)
    path = make_log(numbered(20))
    host = Host(SagaStore.open(path))

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 20)
        conn = sqlite3.connect(path)
        conn.execute(f"UPDATE {log_format.saga_table} SET state = 'failed' WHERE saga_id = 17")
        conn.commit()
        conn.close()
        table.reload()
        await settle(pilot, lambda: {ref.saga_id for ref in table.marked_as_changed} == {17})
        marked, plain_row = (table.render_line(line_of(table, i)) for i in (17, 16))
        marked_bg = {seg.style.bgcolor for seg in marked if seg.style and seg.text.strip()}
        plain_bg = {seg.style.bgcolor for seg in plain_row if seg.style and seg.text.strip()}
        assert marked_bg != plain_bg  # drawn differently
        await poll(pilot, lambda: not table.marked_as_changed)  # and then no more

    run_host(host, scenario)


class BusyStore(StoreProxy):
    """A store that (while armed) answers every read the way a writer's lock does."""

    def __getattr__(self, name: str) -> Any:
        read = getattr(self.store, name)
        if not callable(read):
            return read

        def maybe_busy(*args: Any, **kwargs: Any) -> Any:
            if self.armed:
                raise StoreError(ErrorKind.BUSY, "locked by a writer for more than 2 s")
            return read(*args, **kwargs)

        return maybe_busy


def test_a_writer_lock_during_a_reload_keeps_the_rows_drawn(
    make_log: SagaLogFactory, log_format: LogFormat
) -> None:
    path = make_log(numbered(40))
    store = BusyStore(SagaStore.open(path))
    host = Host(store)

    async def scenario(app: Host, pilot: Pilot[None]) -> None:
        table = app.table
        await settle(pilot, lambda: table.total == 40)
        before = lines(table)
        store.armed = True
        table.reload()
        await settle(pilot, lambda: app.last(SagaTable.Failed) is not None)
        assert app.last(SagaTable.Failed).error.kind is ErrorKind.BUSY
        assert lines(table) == before and not table.reading
        store.armed = False
        table.reload()
        await settle(pilot, lambda: highlighted_id(table) == 40)
        assert lines(table) == before

    run_host(host, scenario)


def test_a_short_poll_wait_raises_busy_and_leaves_the_read_only_guard_in_place(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    path = make_log(numbered(5))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    with SagaStore.open(path) as store:
        store.changed()
        conn.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError) as raised:
            store.changed(lock_wait=0.05)
        assert raised.value.kind is ErrorKind.BUSY
        conn.execute("COMMIT")
        assert store.changed(lock_wait=0.05) is False  # nothing was committed meanwhile
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            store._conn.execute("PRAGMA user_version = 9")
    conn.close()


def test_a_look_at_a_store_closed_meanwhile_is_a_store_error(
    make_log: SagaLogFactory, log_format: LogFormat
) -> None:
    # A poll still on its way when the file is reopened and the old store closed.
    store = SagaStore.open(make_log(numbered(3)))
    store.close()
    with pytest.raises(StoreError):
        store.changed(lock_wait=0.05)


# -- the dashboard's keys ------------------------------------------------------------------


def run_app(path: Path, scenario: Callable[[SagaInspectorApp, Pilot], Awaitable[None]]) -> None:
    app = live_app(path)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def test_f_follows_the_newest_saga_and_moving_off_it_stops_following(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    path = make_log(numbered(30))

    async def scenario(app: SagaInspectorApp, pilot: Pilot) -> None:
        dashboard, table = app.dashboard, app.dashboard.query_one(SagaTable)
        await pilot.press("j", "j", "f")
        await wait_until(pilot, lambda: highlighted_id(table) == 30, "the newest")
        assert dashboard.following
        await wait_to_show(pilot, "● following")
        for newest in (32, 35):
            add_sagas(path, table.total + 1, newest, log_format)
            await wait_until(pilot, lambda n=newest: highlighted_id(table) == n
                             and dashboard.view is not None and dashboard.view.saga_id == n,
                             f"saga {newest} highlighted")
        assert table.new_above == 0
        await pilot.press("j")
        await wait_until(pilot, lambda: not dashboard.following, "following to stop")
        await wait_to_show(pilot, "● live")
        add_sagas(path, 36, 37, log_format)
        await wait_until(pilot, lambda: table.total == 37 and app.settled, "the new sagas")
        assert highlighted_id(table) == 34  # stays where the operator put it

    run_app(path, scenario)


def test_p_pauses_looking_at_the_file_and_p_again_catches_up(
    make_log: SagaLogFactory, log_format: LogFormat
) -> None:
    path = make_log(numbered(10))

    async def scenario(app: SagaInspectorApp, pilot: Pilot) -> None:
        dashboard = app.dashboard
        await pilot.press("p")
        assert dashboard.paused
        await wait_to_show(pilot, "○ paused")
        add_sagas(path, 11, 12, log_format)
        deadline = time.monotonic() + 10 * INTERVAL
        while time.monotonic() < deadline:  # ten looks' worth of time: none is taken
            await pilot.pause(INTERVAL / 2)
            assert dashboard.counts.total == 10
        await pilot.press("p")
        await wait_until(pilot, lambda: dashboard.counts.total == 12 and app.settled,
                         "the app to catch up")
        await wait_to_show(pilot, "● live")

    run_app(path, scenario)


def test_the_open_sagas_steps_are_read_again_in_place(
    make_log: SagaLogFactory, log_format: LogFormat
) -> None:
    path = make_log([cleanup_saga(1), cleanup_saga(2, "running", drained=None)])

    async def scenario(app: SagaInspectorApp, pilot: Pilot) -> None:
        dashboard = app.dashboard
        steps = dashboard.query_one(StepList)
        await pilot.press("enter")  # into saga 2's steps, on its pending step 1
        await idle(pilot)
        assert steps.cursor_row == 1 and app.focused is steps
        conn = sqlite3.connect(path)
        ended = stored_time("2026-06-02T14:05:24+00:00", log_format)
        end_column = log_format.saga_columns["ended_at"]
        conn.execute(f"UPDATE {log_format.step_table} SET state = 'succeeded', ended_at = ?, "
                     "output_json = '{\"event\":\"pool_drained\"}' "
                     "WHERE saga_id = 2 AND step_index = 1", [ended])
        conn.execute(f"UPDATE {log_format.saga_table} SET state = 'completed', "
                     f"{end_column} = ? WHERE saga_id = 2", [ended])
        conn.commit()
        conn.close()
        await wait_until(pilot, lambda: dashboard.view is not None
                         and dashboard.view.detail.saga.state == "completed", "the change")
        assert steps.cursor_row == 1 and app.focused is steps  # the operator's place kept
        assert '"pool_drained"' in str(dashboard.query_one("#step-output").render())
        await wait_to_show(pilot, "pool_drained")

    run_app(path, scenario)
