"""How the dashboard starts: the file opened and its first page read before the app is
built (tui/head_start.py), so the first frame has the rows, and a failed or locked open
ends as it would in the app's own worker; the panes below the table mounted a frame later;
the garbage collector paused until the dashboard is drawn."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path

import pytest

from saga_inspector.store import ErrorKind, SagaStore, StoreError
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.head_start import START_QUERY, HeadStart
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory
from .test_app import NOW, SIZE, dashboard, idle, mixed_log, pilot_test, screen_text, wait_for


def never_opens(target: Path) -> SagaStore:
    """The app's own opener, for apps that must not need it."""
    raise AssertionError(f"opened {target} again")


@pilot_test
async def test_the_first_frame_has_the_rows_of_a_head_start(make_log: SagaLogFactory) -> None:
    path = mixed_log(make_log)
    head_start = HeadStart(path, SagaStore.open)
    opened = head_start.result()  # done before the app is built, as at a real start
    assert opened.first_page is not None
    assert [saga.saga_id for saga in opened.first_page.rows] == [6, 5, 4, 3, 2, 1]
    assert opened.first_page.query == START_QUERY

    app = SagaInspectorApp(path, now=lambda: NOW, opener=never_opens, head_start=head_start)
    async with app.run_test(size=SIZE) as pilot:
        table = dashboard(app).query_one(SagaTable)
        # Drawn in the frame the screen was mounted in: no worker has run a read yet.
        assert app.store is opened.store
        assert not table.loading
        assert table.highlighted_saga is not None and table.highlighted_saga.saga_id == 6
        await pilot.pause()
        assert "opening" not in screen_text(app)
        await idle(pilot)  # the total and counts are read behind the rows
        assert table.total == 6
        assert dashboard(app).counts is not None


@pilot_test
async def test_a_head_start_that_failed_shows_the_error_screen(tmp_path: Path) -> None:
    head_start = HeadStart(tmp_path / "missing.db", SagaStore.open)
    app = SagaInspectorApp(tmp_path / "missing.db", now=lambda: NOW, opener=never_opens,
                           head_start=head_start)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        assert app.failed is not None and app.failed.kind is ErrorKind.NOT_FOUND
        await pilot.press("q")
    assert app.return_code == 2


@pilot_test
async def test_a_head_start_stopped_by_a_writers_lock_opens_again(
    make_log: SagaLogFactory,
) -> None:
    path = mixed_log(make_log)
    attempts: list[Path] = []
    lock_released = threading.Event()

    def locked_once(target: Path) -> SagaStore:
        attempts.append(target)
        if len(attempts) == 1:
            raise StoreError(ErrorKind.BUSY, "database is locked")
        lock_released.set()
        return SagaStore.open(target)

    head_start = HeadStart(path, locked_once)
    app = SagaInspectorApp(path, now=lambda: NOW, opener=locked_once, head_start=head_start)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert lock_released.is_set()
        assert dashboard(app).query_one(SagaTable).total == 6
    assert len(attempts) == 2  # the head start's, then the app's own retry


# -- the panes below the table come a frame after the rows ----------------------------------


@pilot_test
async def test_keys_pressed_before_the_panes_are_up_take_effect_when_they_are(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = mixed_log(make_log)
    mount_panes = DashboardScreen._mount_panes

    async def not_yet(screen: DashboardScreen) -> None:
        """The panes are mounted by the test, later."""

    monkeypatch.setattr(DashboardScreen, "_mount_panes", not_yet)
    app = SagaInspectorApp(path, now=lambda: NOW, opener=never_opens,
                           head_start=HeadStart(path, SagaStore.open))
    async with app.run_test(size=SIZE) as pilot:
        screen = dashboard(app)
        await wait_for(pilot, lambda: not app.workers or all(
            not w.is_running for w in app.workers), "the detail of saga 6 read")
        await pilot.press("j", "tab", "enter")  # saga 5; tab and enter with no panes yet
        assert not screen.panes_ready and not screen.query(StepList)
        assert screen.view is None  # its detail waits for the panes
        await mount_panes(screen)
        await idle(pilot)
        assert screen.panes_ready
        table = screen.query_one(SagaTable)
        assert table.highlighted_saga is not None and table.highlighted_saga.saga_id == 5
        assert "saga 5" in str(screen.query_one("#saga-summary").render())
        assert app.focused is screen.query_one(StepList)  # the enter, once it could


def test_the_collector_paused_for_the_start_is_resumed_once_drawn(
    make_log: SagaLogFactory,
) -> None:
    path = mixed_log(make_log)
    drawn: list[bool] = []

    async def run() -> None:
        app = SagaInspectorApp(path, now=lambda: NOW, opener=SagaStore.open,
                               collector_paused=True)
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            drawn.append(dashboard(app).panes_ready)

    gc.disable()
    try:
        asyncio.run(run())
        assert drawn == [True]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # the app's objects were frozen out of its scans
    finally:
        gc.unfreeze()
        gc.enable()
