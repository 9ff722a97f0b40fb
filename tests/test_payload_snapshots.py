"""Snapshots of the full-screen payload viewer at 80x24 (issue 12): a long failure reason
wrapped, and unwrapped at the widest line's end. The SVGs are made and reviewed by hand:
`pytest tests/test_payload_snapshots.py --snapshot-update`, then look at each one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.widgets.payload_view import PayloadView

from .factory import SagaLogFactory, cleanup_saga
from .helpers import Driver, app_on, demo, fixed_place_and_zone, idle, wait_for

__all__ = ["demo", "fixed_place_and_zone"]  # the shared snapshot fixtures

SMALL = (80, 24)
REASON = " ".join(f"tmux: pane %{n} is gone, respawn refused by the pool;" for n in range(16))


def failed_reap(make_log: SagaLogFactory) -> Path:
    saga = cleanup_saga(1, "failed", reason="reap failed")
    saga.steps[0].output_json = json.dumps(
        {"event": "reap_failed", "reason": REASON, "panes": [f"%{n}" for n in range(16)]})
    return make_log([saga])


def viewer(*pressed: str) -> Driver:
    """Open the step's output full screen, wait for its text, then press keys."""

    async def drive(pilot: Pilot) -> None:
        await idle(pilot)
        pilot.app.screen.query_one("#step-output").focus()
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PayloadScreen), "viewer")
        view = pilot.app.screen.query_one(PayloadView)
        await wait_for(pilot, lambda: view.ready, "the text")
        for key in pressed:
            await pilot.press(key)
        await pilot.pause()

    return drive


def test_payload_viewer_wraps_at_80x24(
    snap_compare: Callable[..., bool], make_log: SagaLogFactory
) -> None:
    path = failed_reap(make_log)
    assert snap_compare(app_on(path), terminal_size=SMALL, run_before=viewer())


def test_payload_viewer_unwrapped_at_the_line_end_at_80x24(
    snap_compare: Callable[..., bool], make_log: SagaLogFactory
) -> None:
    path = failed_reap(make_log)
    assert snap_compare(app_on(path), terminal_size=SMALL, run_before=viewer("w", "end"))
