"""How the dashboard starts: the file opened and its first page read before the app is
built (tui/head_start.py), so the first frame has the rows, and a failed or locked open
ends as it would in the app's own worker; the panes below the table mounted a frame later;
the garbage collector paused until the dashboard is drawn."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Any

import pytest

from saga_inspector.store import ErrorKind, Saga, SagaQuery, SagaStore, SortOrder, StoreError
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.head_start import START_QUERY, HeadStart
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory, cleanup_saga
from .helpers import NOW, SIZE, dashboard, idle, mixed_log, pilot_test, screen_text, wait_for


def never_opens(target: Path, **_options: object) -> SagaStore:
    """The app's own opener, for apps that must not need it."""
    raise AssertionError(f"opened {target} again")


def first_page_reads_of(reader: Any) -> list[SagaQuery]:
    """The queries of the first pages `reader` (a store or a merged source) reads from now
    on: a read with no `after`, `before` or `at` is a first page."""
    reads: list[SagaQuery] = []
    read_page = reader.sagas

    def recorded(query: SagaQuery = START_QUERY, **where: object) -> list[Saga]:
        if all(where.get(name) is None for name in ("after", "before", "at")):
            reads.append(query)
        return read_page(query, **where)

    reader.sagas = recorded
    return reads


@pilot_test
async def test_the_first_frame_has_the_rows_of_a_head_start(make_log: SagaLogFactory) -> None:
    path = mixed_log(make_log)
    head_start = HeadStart(path, SagaStore.open)
    opened = head_start.result()  # done before the app is built, as at a real start
    assert opened.first_page is not None
    assert [saga.saga_id for saga in opened.first_page.rows] == [6, 5, 4, 3, 2, 1]
    assert opened.first_page.query == START_QUERY
    first_page_reads = first_page_reads_of(opened.store)
    app = SagaInspectorApp(path, now=lambda: NOW, opener=never_opens, head_start=head_start)
    async with app.run_test(size=SIZE) as pilot:
        table = dashboard(app).query_one(SagaTable)
        assert app.store is opened.store
        assert not table.loading
        assert table.highlighted_saga is not None and table.highlighted_saga.saga_id == 6
        await pilot.pause()
        assert "opening" not in screen_text(app)
        await idle(pilot)  # the total and counts are read behind the rows
        assert table.total == 6
        assert dashboard(app).counts is not None
        assert first_page_reads == []  # the rows drawn are the head start's


@pilot_test
async def test_several_logs_first_frame_has_the_head_starts_rows_by_start_time(
        tmp_path: Path) -> None:
    """Several logs open by start time: the head start's page, and the highest id of the
    logs (the id column's width), are drawn as they are; the table reads no first page."""
    paths = []
    for number, (ids, offset) in enumerate((((1, 2, 3), 0), ((1, 2, 12), 5))):
        factory = SagaLogFactory(tmp_path / f"log{number}")
        factory.folder.mkdir()
        paths.append(factory([cleanup_saga(saga_id, at=10 * saga_id + offset)
                              for saga_id in ids], name="launcher-sagas.db"))
    head_start = HeadStart(paths, SagaStore.open)
    opened = head_start.result()
    page = opened.first_page
    assert page is not None and page.query.sort is SortOrder.STARTED
    by_start = [(saga.source.label, saga.saga_id) for saga in page.rows]
    labels = [member.tag.label for member in opened.source.members]
    assert by_start == [(labels[1], 12), (labels[0], 3), (labels[1], 2), (labels[0], 2),
                        (labels[1], 1), (labels[0], 1)]
    assert page.widest_id == 12
    first_page_reads = first_page_reads_of(opened.source)
    app = SagaInspectorApp(paths, now=lambda: NOW, opener=never_opens, head_start=head_start)
    async with app.run_test(size=SIZE) as pilot:
        table = dashboard(app).query_one(SagaTable)
        assert not table.loading
        highlighted = table.highlighted_saga
        assert highlighted is not None and highlighted.saga_id == 12
        await idle(pilot)
        assert table.total == 6
        assert first_page_reads == []


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

    def locked_once(target: Path, **options: Any) -> SagaStore:
        attempts.append(target)
        if len(attempts) == 1:
            raise StoreError(ErrorKind.BUSY, "database is locked")
        lock_released.set()
        return SagaStore.open(target, **options)

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

        def waiting_detail() -> int | None:
            waiting = screen._detail_waiting
            return None if waiting is None else waiting.saga_id

        await wait_for(pilot, lambda: waiting_detail() == 6, "saga 6's detail, waiting")
        await pilot.press("j")  # saga 5: saga 6's detail is no longer the one to draw
        assert waiting_detail() in (None, 5)
        await wait_for(pilot, lambda: waiting_detail() == 5, "saga 5's detail, waiting")
        await pilot.press("tab", "enter")  # with no panes yet: nothing to focus or enter
        assert not screen.panes_ready and not screen.query(StepList)
        assert screen.view is None
        await mount_panes(screen)
        # The detail that waited is drawn as the panes come, not read again.
        assert screen.view is not None and screen.view.saga_id == 5
        assert "saga 5" in str(screen.query_one("#saga-summary").render())
        await idle(pilot)
        assert app.focused is screen.query_one(StepList)  # the enter, once it could


def test_the_collector_paused_for_the_start_is_resumed_once_drawn(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = mixed_log(make_log)
    mount_panes = DashboardScreen._mount_panes
    seen: dict[str, object] = {}

    async def not_yet(screen: DashboardScreen) -> None:
        """The panes are mounted by the test, later."""

    monkeypatch.setattr(DashboardScreen, "_mount_panes", not_yet)

    async def run() -> None:
        app = SagaInspectorApp(path, now=lambda: NOW, opener=SagaStore.open,
                               collector_paused=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            seen["enabled before the panes"] = gc.isenabled()
            await mount_panes(dashboard(app))
            await idle(pilot)
            seen["enabled once up"] = gc.isenabled()

    gc.unfreeze()  # (another test's run_dashboard may have frozen objects)
    gc.disable()
    try:
        asyncio.run(run())
        assert seen == {"enabled before the panes": False, "enabled once up": True}
        assert gc.get_freeze_count() > 0  # the app's objects were frozen out of its scans
    finally:
        gc.unfreeze()
        gc.enable()
