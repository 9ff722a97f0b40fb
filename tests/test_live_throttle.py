"""Live reloads under a writer without a rest (dashboard.RELOAD_EVERY_POLLS): while every
look at the log sees a change, a reload every other look, the change between read at the
next; a change after a quiet look is read at once; the last change is always shown. The
looks are posted here one by one (the app's own timer is an hour): no wall clock."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.follow import FileState, PollResult
from saga_inspector.tui.screens import dashboard as dashboard_module
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.reads import Polled
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory, cleanup_saga
from .helpers import SIZE, highlighted_id, idle, make_app, pilot_test, wait_until

HOUR = 3600.0


def add_saga(path: Path, saga_id: int) -> None:
    row = cleanup_saga(saga_id)
    with sqlite3.connect(path) as writer:
        writer.execute("INSERT INTO launcher_saga (saga_id, name, state, started_at, ended_at,"
                       " input_json) VALUES (?, ?, ?, ?, ?, ?)",
                       [saga_id, row.name, row.state, row.started_at, row.ended_at,
                        row.input_json])
    writer.close()


@dataclass
class LiveDashboard:
    """The dashboard on a log of `sagas` sagas, its own looks an hour apart: the looks are
    posted by `look` (the app's reload after it has read)."""

    path: Path
    pilot: Pilot
    screen: DashboardScreen
    table: SagaTable

    async def look(self, changed: bool) -> None:
        assert self.screen.source is not None
        self.screen.post_message(Polled(self.screen.source, PollResult(FileState.PRESENT,
                                                                       changed=changed)))
        await idle(self.pilot)  # (the reload it began has read: never one still reading)


@asynccontextmanager
async def live_dashboard(make_log: SagaLogFactory, sagas: int) -> AsyncIterator[LiveDashboard]:
    path = make_log([cleanup_saga(n) for n in range(1, sagas + 1)])
    app = make_app(path, interval=HOUR)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = app.dashboard
        assert screen.source is not None
        yield LiveDashboard(path, pilot, screen, screen.query_one(SagaTable))


@pilot_test
async def test_a_writer_without_a_rest_is_read_every_other_look_and_its_last_change_shown(
    make_log: SagaLogFactory,
) -> None:
    async with live_dashboard(make_log, 10) as live:
        screen, table, pilot = live.screen, live.table, live.pilot
        reloads: list[int] = []
        real_refresh = screen.action_refresh

        def counted_refresh() -> None:
            reloads.append(look)
            real_refresh()

        screen.action_refresh = counted_refresh  # type: ignore[method-assign]
        look = 0
        for look in range(1, 9):  # a writer committing between every two looks
            add_saga(live.path, 10 + look)
            await live.look(True)
        assert reloads == [1, 3, 5, 7]  # every other look; look 8's change is owed
        assert table.total == 17
        look = 9
        await live.look(False)  # the writer rests: what it last wrote is read
        assert reloads == [1, 3, 5, 7, 9]
        await wait_until(pilot, lambda: table.total == 18 and screen.counts is not None
                         and screen.counts.total == 18, "the last saga counted and shown")
        assert highlighted_id(table) == 10  # (not following: the operator's saga stays)
        look = 10
        await live.look(False)
        assert reloads == [1, 3, 5, 7, 9]  # nothing owed, nothing read
        look = 11
        add_saga(live.path, 19)
        await live.look(True)  # a change after a quiet look: read at once
        assert reloads == [1, 3, 5, 7, 9, 11]
        await wait_until(pilot, lambda: table.total == 19, "saga 19")
        assert dashboard_module.RELOAD_EVERY_POLLS == 2


@pilot_test
async def test_following_a_writer_without_a_rest_highlights_its_newest_saga_at_the_end(
    make_log: SagaLogFactory,
) -> None:
    async with live_dashboard(make_log, 5) as live:
        screen, table = live.screen, live.table
        await live.pilot.press("f")
        await idle(live.pilot)
        for newest in range(6, 12):
            add_saga(live.path, newest)
            await live.look(True)
        assert highlighted_id(table) == 10  # look 6's change (saga 11) waits for the next
        assert screen.source is not None
        screen.post_message(Polled(screen.source, PollResult(FileState.PRESENT)))
        await wait_until(live.pilot, lambda: highlighted_id(table) == 11 and screen.following
                         and screen.view is not None and screen.view.saga_id == 11,
                         "the newest saga highlighted")


@pilot_test
async def test_a_live_reloads_reads_are_a_read_gap_apart_and_a_first_load_has_none(
    make_log: SagaLogFactory, monkeypatch,
) -> None:
    """Between the reads of a live reload (first page, rows above, the sought saga's page,
    the last page) a pause of READ_GAP lets a writer flat out restart its -wal."""
    from saga_inspector.store.repository import READ_GAP
    from saga_inspector.tui.widgets import saga_table

    pauses: list[float] = []
    monkeypatch.setattr(saga_table, "_pause", pauses.append)
    path = make_log([cleanup_saga(n) for n in range(1, 301)])  # (pages of 100: a last one)
    app = make_app(path, interval=HOUR)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = app.dashboard
        table = screen.query_one(SagaTable)
        assert pauses == [] and table.total == 300
        await pilot.press("j", "j")
        for saga_id in range(301, 421):  # more than a page above the highlighted saga
            add_saga(path, saga_id)
        assert screen.source is not None
        screen.post_message(Polled(screen.source, PollResult(FileState.PRESENT, changed=True)))
        await wait_until(pilot, lambda: table.total == 420 and app.settled, "the reload")
        assert len(pauses) == 3 and set(pauses) == {READ_GAP}  # above, seek, last page
        assert highlighted_id(table) == 298  # kept, below the new sagas
