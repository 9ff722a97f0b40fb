"""Snapshots of the export modal (160x48, the demo log, the clock pinned, UTC): asking, and
part-way through an export with its progress bar. Update with
`pytest tests/test_export_snapshots.py --snapshot-update`, then look at every SVG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import ProgressBar

from .helpers import (
    demo,
    fixed_place_and_zone,
    gate,
    idle,
    open_export,
    pin_export_clock,
    snap,
    wait_for,
)

__all__ = ["demo", "fixed_place_and_zone"]  # the shared snapshot fixtures

@pytest.fixture(autouse=True)
def home_here(fixed_place_and_zone: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log's folder is home: the destination shown is `~/…`, the same on every run."""
    monkeypatch.setenv("HOME", str(Path.cwd()))


def test_export_modal_asking(snap_compare: Callable[..., bool], demo: Path) -> None:
    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        await open_export(pilot)

    assert snap(snap_compare, demo, drive)


def test_export_modal_with_progress(
    snap_compare: Callable[..., bool], demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = gate(monkeypatch, after=200)
    pin_export_clock(monkeypatch)

    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        screen = await open_export(pilot)
        await pilot.press("enter")
        bar = screen.query_one(ProgressBar)
        await wait_for(pilot, lambda: held.reached.is_set() and bar.progress == 200,
                       "the export held part-way")
        await pilot.pause()

    assert snap(snap_compare, demo, drive)
