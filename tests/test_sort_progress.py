"""A sort's progress is drawn only when it changes (issue 15): a switch to an order whose index
is up to date says none, and the table must not draw its stale rows again for it (that frame
made the new first page wait for the next one)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from saga_inspector.store import SagaQuery, SortOrder
from saga_inspector.tui.widgets.saga_table import SagaTable

from .helpers import pilot_test


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


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SagaTable()


@pilot_test
async def test_a_switch_to_a_sort_read_ahead_says_its_progress_at_once() -> None:
    """Sorted by start time, duration's keys are read ahead; after `s` to duration its
    progress is said at once, not only at the read's next report (none comes while the
    first page is read: the screen said nothing of a read under way)."""
    app = TableApp()
    async with app.run_test():
        table = app.query_one(SagaTable)
        table._launch = lambda: None  # type: ignore[method-assign]  # (no store: no reads)
        table._ahead_arrived(SortOrder.DURATION, (10, 40))  # sorted by start time: not shown
        assert table._sorting is None
        table._start(object(), SagaQuery(sort=SortOrder.DURATION), None, None)  # type: ignore[arg-type]
        assert table._sorting == (10, 40)
        assert table.border_subtitle == "sorting by duration: 25 % of 40 sagas read"
        table._ahead_arrived(SortOrder.DURATION, None)  # read: nothing more to say
        assert table._sorting is None and table._sorting_ahead == {}
