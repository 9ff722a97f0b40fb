"""Snapshot tests of the dashboard's main states (pytest-textual-snapshot, 160x48).

Deterministic: the demo data is seeded, the clock is pinned (ages), the time zone is UTC
(local times) and the file is opened by a relative name (the header shows it).
Update with `pytest tests/test_snapshots.py --snapshot-update`, then look at every SVG.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.widgets.payload_view import PayloadView

from .factory import LOOSE_DDL, SagaLogFactory
from .helpers import demo, fixed_place_and_zone, hostile_saga, idle, keys, mixed_log, snap, wait_for

__all__ = ["demo", "fixed_place_and_zone"]  # the shared snapshot fixtures

def test_overview_of_the_demo(snap_compare: Callable[..., bool], demo: Path) -> None:
    assert snap(snap_compare, demo, keys())


def test_needs_attention_with_a_step_selected(
    snap_compare: Callable[..., bool], demo: Path
) -> None:
    assert snap(snap_compare, demo, keys("a", "j", "j", "j", "enter", "k"))


def test_in_flight_step_of_the_newest_recovered_saga(
    snap_compare: Callable[..., bool], demo: Path
) -> None:
    assert snap(snap_compare, demo, keys("5", "enter"))


# Issue 12: the same triage at the sizes an operator really has (a laptop pane, a tmux
# split, a phone's SSH client): the in-flight step, its target, command and failure field.
SMALL_SIZES = [(80, 24), (100, 30), (120, 40)]


@pytest.mark.parametrize("size", SMALL_SIZES, ids=[f"{w}x{h}" for w, h in SMALL_SIZES])
def test_in_flight_step_on_a_smaller_terminal(
    snap_compare: Callable[..., bool], demo: Path, size: tuple[int, int]
) -> None:
    assert snap(snap_compare, demo, keys("5", "enter"), size)


def test_help_screen_at_80x24(snap_compare: Callable[..., bool], demo: Path) -> None:
    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")

    assert snap(snap_compare, demo, drive, (80, 24))


def test_payload_focused(snap_compare: Callable[..., bool], demo: Path) -> None:
    assert snap(snap_compare, demo, keys("5", "enter", "enter"))


def test_search_results(snap_compare: Callable[..., bool], demo: Path) -> None:
    assert snap(snap_compare, demo, keys("slash", *"pipe", "enter"))


def test_empty_filter(snap_compare: Callable[..., bool], make_log: SagaLogFactory) -> None:
    assert snap(snap_compare, mixed_log(make_log), keys("4"))


def test_help_screen(snap_compare: Callable[..., bool], demo: Path) -> None:
    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")

    assert snap(snap_compare, demo, drive)


def test_error_screen(snap_compare: Callable[..., bool], make_log: SagaLogFactory) -> None:
    path = make_log.file_with(b"not a database, just text\n" * 100, name="notes.db")

    async def drive(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ErrorScreen), "error")

    assert snap(snap_compare, path, drive)


def test_newer_schema_banner(snap_compare: Callable[..., bool], make_log: SagaLogFactory) -> None:
    path = mixed_log(
        make_log,
        user_version=2,
        sql=["ALTER TABLE launcher_saga ADD COLUMN owner TEXT",
             "UPDATE launcher_saga SET owner = 'ops-team' WHERE saga_id = 6"],
    )
    assert snap(snap_compare, path, keys())


def test_hostile_strings_are_shown_plainly(
    snap_compare: Callable[..., bool], make_log: SagaLogFactory
) -> None:
    path = make_log([hostile_saga()], ddl=LOOSE_DDL)
    assert snap(snap_compare, path, keys("enter", "k"))


def test_large_payload_full_screen(
    snap_compare: Callable[..., bool], make_log: SagaLogFactory
) -> None:
    from .factory import cleanup_saga

    saga = cleanup_saga(1)
    saga.steps[0].output_json = json.dumps(
        {"event": "panes_reaped", "panes": [f"pane-{n:06d}" for n in range(12000)]})
    path = make_log([saga])

    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        pilot.app.screen.query_one("#step-output").focus()
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PayloadScreen), "viewer")
        view = pilot.app.screen.query_one("#payload-view", PayloadView)
        await wait_for(pilot, lambda: view.ready and view.wrapped is not None, "the whole value")

    assert snap(snap_compare, path, drive)


def test_new_sagas_announced_and_the_file_gone(
    snap_compare: Callable[..., bool], demo: Path
) -> None:
    """Live: three sagas arrived above the highlighted one (announced, not shifting it), then
    the file was deleted (a banner; the rows stay; R offered)."""
    from saga_inspector.demo import write_saga_log

    from .factory import cleanup_saga

    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        for key in ("j", "j"):
            await pilot.press(key)
        await idle(pilot)
        write_saga_log(demo, [cleanup_saga(n, "running", at=n, drained=None)
                              for n in (321, 322, 323)])
        await pilot.press("r")
        await wait_for(pilot, lambda: pilot.app.dashboard.counts.total == 323, "new sagas")
        await idle(pilot)
        for suffix in ("", "-wal", "-shm"):
            demo.with_name(demo.name + suffix).unlink(missing_ok=True)
        await wait_for(pilot, lambda: pilot.app.dashboard.trouble == "file gone", "gone")
        await pilot.pause()

    assert snap(snap_compare, demo, drive)
