"""Snapshot tests of the dashboard on the server's demo log (pytest-textual-snapshot): the
overview with the server's states (6 compensated), a compensated saga's undo row, the triage
summary of a tear-off left half done at a crash, and the in-flight step at 80x24.

Deterministic as tests/test_snapshots.py is (seeded demo, pinned clock, UTC, bare name).
Update with `pytest tests/test_server_snapshots.py --snapshot-update`, then look at every SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from saga_inspector.demo import write_demo

from .helpers import fixed_place_and_zone, keys, snap

__all__ = ["fixed_place_and_zone"]  # the shared snapshot fixture

# Sagas of the seeded server demo: a compensated promote_block_to_tab with its undo row
# (step 2, delete_tab), a tear_off_block recovered as failed_compensation.
UNDONE, HALF_DONE = 303, 239


@pytest.fixture
def server_demo() -> Path:
    """The server's demo log, by its bare name (use with fixed_place_and_zone)."""
    return write_demo(Path("sagas.db"), log_format="server")


def _jump(saga_id: int) -> tuple[str, ...]:
    return ("colon", *str(saga_id), "enter")


def test_server_overview(snap_compare: Callable[..., bool], server_demo: Path) -> None:
    assert snap(snap_compare, server_demo, keys())


def test_server_undo_row(snap_compare: Callable[..., bool], server_demo: Path) -> None:
    assert snap(snap_compare, server_demo, keys(*_jump(UNDONE), "enter", "j", "j"))


def test_server_explain_half_done(snap_compare: Callable[..., bool],
                                  server_demo: Path) -> None:
    assert snap(snap_compare, server_demo, keys(*_jump(HALF_DONE), "x"))


def test_server_in_flight_at_80x24(snap_compare: Callable[..., bool],
                                   server_demo: Path) -> None:
    assert snap(snap_compare, server_demo, keys("1", "enter"), (80, 24))
