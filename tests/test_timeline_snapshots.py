"""Snapshot tests of the step timeline and the explain screen on the demo log (160x48).

Built like tests/test_snapshots.py (seeded demo, pinned clock, UTC, a relative file name).
Update with `pytest tests/test_timeline_snapshots.py --snapshot-update`, then look at every
SVG (rsvg-convert -w 1600 x.svg -o x.png).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.tui.screens.explain import ExplainScreen

from .helpers import demo, fixed_place_and_zone, idle, keys, snap, wait_for

__all__ = ["demo", "fixed_place_and_zone"]  # the fixtures, shared with the main snapshots

Snap = Callable[..., bool]


def explained(*pressed: str) -> Callable[[Pilot], object]:
    """Press keys on the dashboard, then `x`; wait for the summary."""

    async def drive(pilot: Pilot) -> None:
        await keys(*pressed)(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExplainScreen), "summary")
        await idle(pilot)

    return drive


def test_timeline_of_a_completed_cleanup(snap_compare: Snap, demo: Path) -> None:
    """Two steps well inside the 30 s timeout: zoomed to the saga's own 310 ms."""
    assert snap(snap_compare, demo, keys("2"))


def test_timeline_of_a_timeout_in_flight(snap_compare: Snap, demo: Path) -> None:
    """The drain step in flight up to the timeout marker, the step highlighted."""
    assert snap(snap_compare, demo, keys("3", "j", "j", "enter"))


def test_timeline_of_a_recovered_saga(snap_compare: Snap, demo: Path) -> None:
    """Ended 2h 41m after start: the axis broken after the timeout, the tail squeezed."""
    assert snap(snap_compare, demo, keys("5", "j", "j", "j", "j", "j", "j", "j", "j", "j"))


def test_explain_a_recovered_timeout(snap_compare: Snap, demo: Path) -> None:
    assert snap(snap_compare, demo, explained("5", "j", "j"))


def test_explain_a_broken_host_pipe(snap_compare: Snap, demo: Path) -> None:
    assert snap(snap_compare, demo, explained("3"))
