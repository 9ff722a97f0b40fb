"""The dashboard open while a launcher-like writer (tests/writer.py, a process of its own)
commits hundreds of times a second: it ends showing exactly what the writer left, shows no
error, keeps the highlighted saga on its line, and does not make the writer's -wal grow.

Waits are for conditions, with generous bounds; nothing depends on how fast this machine is,
except that the writer must reach 200 commits a second (checked, not assumed).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.demo import demo_sagas
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.widgets.saga_table import SagaTable

from .factory import SagaLogFactory
from .helpers import (
    SIZE,
    idle,
    make_app,
    record_notifications,
    screen_text,
    start_writer,
    summary_of,
    wait_to_show,
    wait_until,
)

# The bound on the -wal with the app open: at most this many times the writer-alone size.
# A read transaction or cursor left open between refreshes stops the writer's checkpoints
# and lets the -wal grow with every commit (257 MB in 20 s was measured); short reads only
# delay its restart by a commit or two, so the size stays that of the writer alone.
WAL_BOUND = 1.25


def visible_rows(table: SagaTable) -> list[object]:
    top = table.scroll_offset.y
    rows = max(1, table.scrollable_content_region.height - 1)
    return [table._cache.row(position) for position in range(top, top + rows)]


class Run:
    """The app on `path` while the writer writes: what it showed, and the writer's summary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.app = make_app(path)
        self.notes = record_notifications(self.app)
        self.summary: dict[str, float] = {}

    @property
    def table(self) -> SagaTable:
        return self.app.dashboard.query_one(SagaTable)

    def line_of_cursor(self) -> int:
        return self.table.cursor_row - self.table.scroll_offset.y

    async def __call__(self) -> None:
        async with self.app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            for _ in range(3):
                await pilot.press("j")
            await idle(pilot)
            await self._write_while_shown(pilot)
            await self._check_caught_up(pilot)

    async def _write_while_shown(self, pilot: Pilot) -> None:
        table = self.table
        self.chosen = table.highlighted_saga.saga_id
        self.line = self.line_of_cursor()
        self.newest_before = table._cache.row(0).saga_id
        writer = start_writer(self.path)
        deadline = time.monotonic() + 60
        while writer.poll() is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
            # The highlighted saga never moves: not to another saga, not to another line.
            saga = table.highlighted_saga
            assert saga is None or saga.saga_id == self.chosen
            assert self.line_of_cursor() == self.line
        self.summary = summary_of(writer)

    async def _check_caught_up(self, pilot: Pilot) -> None:
        with SagaStore.open(self.path) as store:
            counts = store.counts()
            every = store.sagas(SagaQuery(), limit=10**6)
            detail = store.saga(self.chosen)
        dashboard, table = self.app.dashboard, self.table

        def caught_up() -> bool:
            return (dashboard.counts == counts and table.total == counts.total
                    and not table.reading and table.highlighted_saga is not None
                    and dashboard.view is not None and dashboard.view.detail == detail
                    and visible_rows(table) == every[table.scroll_offset.y:][:len(
                        visible_rows(table))])

        await wait_until(pilot, caught_up, "the app to show the writer's final state")
        assert table.highlighted_saga.saga_id == self.chosen
        assert self.line_of_cursor() == self.line
        new = int(self.summary["newest_id"]) - self.newest_before
        assert new > 100 and table.new_above == new
        await wait_to_show(pilot, f"{new} new — press g to see them", f"{counts.total} sagas",
                           "● live")
        text = screen_text(self.app)
        assert not [note for note in self.notes if note[0] == "error"]
        assert "locked" not in text and "cannot read" not in text
        assert not isinstance(self.app.screen, ErrorScreen)
        assert dashboard.trouble is None and table._error is None


def test_the_app_follows_a_busy_writer_without_losing_its_place_or_growing_the_wal(
    make_log: SagaLogFactory,
) -> None:
    sagas = demo_sagas(120)
    alone_path = make_log(sagas, name="alone.db")
    shown_path = make_log(sagas, name="shown.db")

    alone = summary_of(start_writer(alone_path))
    run = Run(shown_path)
    asyncio.run(run())
    shown = run.summary

    print(f"\nwriter alone: {alone}\nwriter with the app open: {shown}")
    for summary in (alone, shown):
        assert summary["rate"] >= 200, summary
    assert shown["wal_bytes"] <= WAL_BOUND * alone["wal_bytes"], (shown, alone)
