"""The file opened and its first page read before the app is built (tui/head_start.py):
the dashboard's first frame has the rows, and a failed or locked open ends as it would in
the app's own worker."""

from __future__ import annotations

import threading
from pathlib import Path

from saga_inspector.store import ErrorKind, SagaStore, StoreError
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.head_start import START_QUERY, HeadStart
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.widgets.saga_table import SagaTable

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
