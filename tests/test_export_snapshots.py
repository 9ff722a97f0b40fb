"""Snapshots of the export modal (160x48, the demo log, the clock pinned, UTC): asking, and
part-way through an export with its progress bar. Update with
`pytest tests/test_export_snapshots.py --snapshot-update`, then look at every SVG."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import ProgressBar

from saga_inspector.demo import write_demo
from saga_inspector.tui.app import create_app
from saga_inspector.tui.screens.export import ExportScreen

from .factory import SagaLogFactory
from .test_app import NOW, idle, wait_for
from .test_export_screen import gate

SIZE = (160, 48)


@pytest.fixture
def demo(make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo log, opened by its bare name from its folder (no tmp path on screen), in
    UTC (local times and the default file name)."""
    monkeypatch.chdir(make_log.folder)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield write_demo(Path("launcher-sagas.db"))
    monkeypatch.undo()
    time.tzset()


async def open_export(pilot: Pilot) -> ExportScreen:
    await idle(pilot)
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExportScreen), "the modal")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ExportScreen)
    return screen


def test_export_modal_asking(snap_compare: Callable[..., bool], demo: Path) -> None:
    async def drive(pilot: Pilot) -> None:
        await open_export(pilot)

    assert snap_compare(create_app(demo, now=lambda: NOW), terminal_size=SIZE,
                        run_before=drive)


def test_export_modal_with_progress(
    snap_compare: Callable[..., bool], demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = gate(monkeypatch, after=200)

    async def drive(pilot: Pilot) -> None:
        screen = await open_export(pilot)
        await pilot.press("enter")
        bar = screen.query_one(ProgressBar)
        await wait_for(pilot, lambda: held.reached.is_set() and bar.progress == 200,
                       "the export held part-way")
        await pilot.pause()

    assert snap_compare(create_app(demo, now=lambda: NOW), terminal_size=SIZE,
                        run_before=drive)
