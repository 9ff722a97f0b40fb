"""A sort's progress is drawn only when it changes (issue 15): a switch to an order whose index
is up to date says none, and the table must not draw its stale rows again for it (that frame
made the new first page wait for the next one)."""

from __future__ import annotations

from saga_inspector.tui.widgets.saga_table import SagaTable


def test_a_progress_that_did_not_change_draws_nothing() -> None:
    table = SagaTable()
    drawn: list[object] = []
    table._progress_changed = lambda: drawn.append(table._sorting)  # type: ignore[method-assign]
    table._sorting_arrived(None)  # an index up to date: the read said nothing
    assert drawn == []
    table._sorting_arrived((10, 40))
    table._sorting_arrived((10, 40))
    table._sorting_arrived(None)
    assert drawn == [(10, 40), None]
