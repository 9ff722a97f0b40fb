"""Snapshots of a view of several logs: the demo fleet (two launcher version folders and a
server log, ids colliding), its merged order with the source column, the in-flight step
reached by `5` `enter` at 80x24, and the sources screen (`S`).

Deterministic as tests/test_snapshots.py is (seeded demo, pinned clock, UTC, relative
paths); the logs' modification times are pinned too, since the sources screen shows them.
Update with `pytest tests/test_fleet_snapshots.py --snapshot-update`, then look at every SVG.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from saga_inspector.demo import write_demo_fleet
from saga_inspector.tui.app import create_app
from saga_inspector.tui.screens.sources import SourcesScreen

from .helpers import NOW, fixed_place_and_zone, idle, keys, wait_for

__all__ = ["fixed_place_and_zone"]  # the shared snapshot fixture

# Each log last written some hours before the pinned clock, the oldest version months before.
WRITTEN_HOURS_BEFORE = (24 * 120, 3, 2)


@pytest.fixture
def fleet() -> list[Path]:
    paths = write_demo_fleet(Path(".agentmux"))
    for path, hours in zip(paths, WRITTEN_HOURS_BEFORE, strict=True):
        moment = NOW.timestamp() - hours * 3600
        os.utime(path, (moment, moment))
    return [path.relative_to(Path.cwd()) if path.is_absolute() else path for path in paths]


def app_on(paths: list[Path]):
    return create_app(paths, now=lambda: NOW)


def test_fleet_overview(snap_compare: Callable[..., bool], fleet: list[Path]) -> None:
    assert snap_compare(app_on(fleet), terminal_size=(160, 48), run_before=keys())


def test_fleet_in_flight_step_at_80x24(snap_compare: Callable[..., bool],
                                       fleet: list[Path]) -> None:
    assert snap_compare(app_on(fleet), terminal_size=(80, 24), run_before=keys("5", "enter"))


def test_fleet_sources_screen(snap_compare: Callable[..., bool], fleet: list[Path]) -> None:
    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SourcesScreen), "sources")
        await idle(pilot)

    assert snap_compare(app_on(fleet), terminal_size=(120, 36), run_before=drive)
