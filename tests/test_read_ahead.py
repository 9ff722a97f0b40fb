"""What keeps a key cheap at a million sagas (issue 6): the neighbours' detail read ahead,
panes repainted in place when their height stays, the keys line drawn as one line, help
built once."""

from __future__ import annotations

from datetime import timedelta
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from saga_inspector.store import SagaRef, SagaStore
from saga_inspector.store.labels import source_labels
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.read_ahead import ReadAhead, read_views, stored_size
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.views import LARGE_PAYLOAD, prepare_saga
from saga_inspector.tui.widgets.detail_pane import SteadyStatic, StepDetail
from saga_inspector.tui.widgets.header import InspectorHeader, LiveStatus
from saga_inspector.tui.widgets.key_bar import KeyBar
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory, cleanup_saga, respawn_saga
from .helpers import (
    NOW,
    SIZE,
    dashboard,
    idle,
    make_app,
    mixed_log,
    pilot_test,
    press,
    screen_text,
    wait_for,
)


def views_of(path: Path, *ids: int) -> list[Any]:
    with SagaStore.open(path) as store:
        return [prepare_saga(store.saga(saga_id)) for saga_id in ids]


def test_read_ahead_keeps_a_few_views_and_forgets_them_when_the_file_changes(
    make_log: SagaLogFactory,
) -> None:
    path = make_log([cleanup_saga(n, at=n) for n in range(1, 6)])
    ahead = ReadAhead(max_held=3)
    ahead.keep(ahead.epoch, views_of(path, 1, 2, 3, 4))
    label = source_labels([path])[0]  # (the log's label when opened on its own)

    def ref(n: int) -> SagaRef:
        return SagaRef(label, n)

    assert [ahead.get(ref(n)) is not None for n in (1, 2, 3, 4)] == [False, True, True, True]
    assert ahead.missing([ref(2), ref(5), ref(4)]) == [ref(5)]
    assert ahead.get(SagaRef("another log", 3)) is None  # the same id in another log
    epoch = ahead.epoch
    ahead.forget()
    assert ahead.get(ref(3)) is None
    ahead.keep(epoch, views_of(path, 5))  # read before the change: not taken
    assert ahead.get(ref(5)) is None


def test_read_views_skips_large_sagas_and_ids_not_in_the_file(
    make_log: SagaLogFactory,
) -> None:
    big = respawn_saga(2)
    big.input_json = '{"promoted_label":"' + "x" * (LARGE_PAYLOAD + 10) + '"}'
    path = make_log([cleanup_saga(1), big, cleanup_saga(3)])
    with SagaStore.open(path) as store:
        assert stored_size(store.saga(2)) > LARGE_PAYLOAD
        refs = [SagaRef(store.tag.label, n) for n in (1, 2, 3, 99)]
        views = read_views(store, refs, lambda: False)
        assert [view.saga_id for view in views] == [1, 3]
        assert read_views(store, refs[:1], lambda: True) == []  # superseded: nothing read


class Counting:
    """The store, counting the sagas read in full (`saga(id)`) by id."""

    def __init__(self, store: SagaStore) -> None:
        self.store, self.read = store, []

    def saga(self, saga_id: int) -> Any:
        self.read.append(saga_id)
        return self.store.saga(saga_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pilot_test
async def test_j_shows_the_next_saga_from_what_was_read_ahead(make_log: SagaLogFactory) -> None:
    path = make_log([cleanup_saga(n, at=n, label=f"w{n}") for n in range(1, 40)])
    stores: list[Counting] = []

    def opener(opened: Path, **options: Any) -> Any:
        stores.append(Counting(SagaStore.open(opened, **options)))
        return stores[-1]

    app = SagaInspectorApp(path, now=lambda: NOW, opener=opener)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        screen, store = dashboard(app), stores[-1]
        await wait_for(pilot, lambda: 38 in store.read, "the next saga read ahead")
        store.read.clear()
        await pilot.press("j")
        # Shown at once, from the view read ahead: no read for it before the panes change.
        assert screen.view is not None and screen.view.saga_id == 38
        assert 38 not in store.read
        await idle(pilot)
        assert "w38" in str(screen.query_one("#saga-input").render())
        await wait_for(pilot, lambda: 37 in store.read, "the one after read ahead")


class Steady(App[None]):
    def compose(self) -> ComposeResult:
        yield SteadyStatic("one\ntwo", id="text")


@pilot_test
async def test_a_steady_static_lays_out_only_when_its_height_changes() -> None:
    app = Steady()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        text = app.query_one(SteadyStatic)
        text.update(Text("three\nfour"))
        assert not text._layout_required  # as many lines: repainted where it is
        await pilot.pause()
        text.update(Text("five\nsix\nseven"))
        assert text._layout_required
        await pilot.pause()
        assert text.size.height == 3
        text.update(Text("x" * 100))  # one line of text, wrapped to three at 40 columns
        assert not text._layout_required
        await pilot.pause()
        assert str(text.render()).startswith("xxx")


@pilot_test
async def test_the_keys_line_follows_the_focus_and_a_click_presses_a_key(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(make_log([cleanup_saga(n, at=n) for n in range(1, 5)]))
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        bar = dashboard(app).query_one(KeyBar)
        line = str(bar.render())
        assert " g First " in line and " / Search " in line and line.endswith("^p palette ")
        await pilot.press("slash")
        await pilot.pause()
        line = str(bar.render())
        assert " esc Clear search " in line and "First" not in line
        await pilot.press("escape")
        await idle(pilot)
        start = str(bar.render()).index(" ? Help ")
        await pilot.click(KeyBar, offset=(start + 1, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")


@pilot_test
async def test_help_is_built_once_and_opens_at_the_top(make_log: SagaLogFactory) -> None:
    app = make_app(make_log([cleanup_saga(1)]))
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        first = app.screen
        await pilot.press("j", "j", "j", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help again")
        await pilot.pause()
        assert app.screen is first
        assert app.screen.query_one("#help-body").scroll_offset.y == 0
        assert dashboard(app).query_one(SagaTable) is not None


@pilot_test
async def test_a_new_sagas_steps_show_only_its_in_flight_step(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list posts a highlight for each row its cursor passes while it is filled; those
    are stale by the time they arrive, and drawing them drew (and laid out) a step that was
    not the one shown."""
    shown: list[int] = []
    original = StepDetail.show_step

    def show_step(self: StepDetail, view: Any, *args: Any, **kwargs: Any) -> None:
        shown.append(view.step.step_index)
        original(self, view, *args, **kwargs)

    monkeypatch.setattr(StepDetail, "show_step", show_step)
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "j")  # saga 5
        shown.clear()
        await press(pilot, "j")  # saga 4, on its in-flight step 1
        assert dashboard(app).view is not None and dashboard(app).view.saga_id == 4
        assert shown == [1]
        await press(pilot, "enter", "k")  # into its steps, then up a step
        assert shown == [1, 0]


@pilot_test
async def test_step_cells_are_drawn_as_the_data_table_draws_them(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        steps = dashboard(app).query_one(StepList)
        bases = [steps.rich_style, steps.get_component_styles("datatable--header").rich_style]
        compared = 0
        for _saga in range(6):
            for row, column in product(range(-1, steps.row_count), range(len(steps.columns))):
                width = steps.ordered_columns[column].get_render_width(steps)
                for base, cursor in product(bases, (False, True)):
                    steps._cell_render_cache.clear()
                    fast = steps._render_cell(row, column, base, width, cursor)
                    steps._cell_render_cache.clear()
                    own = DataTable._render_cell(steps, row, column, base, width, cursor)
                    assert [list(Segment.simplify(line)) for line in fast] == [
                        list(Segment.simplify(line)) for line in own], (row, column, cursor)
                    compared += 1
            await press(pilot, "j")
        assert compared > 200


@pilot_test
async def test_the_header_clock_ticking_over_is_repainted_without_a_layout(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        header = dashboard(app).query_one(InspectorHeader)
        header.show_live(LiveStatus("live", NOW))
        await pilot.pause()
        header.show_live(LiveStatus("live", NOW + timedelta(seconds=1)))
        assert not header._layout_required and header._repaint_required
        await pilot.pause()
        header.show_live(LiveStatus("paused", NOW))  # other words, the same one line
        assert not header._layout_required and header._repaint_required
        await pilot.pause()
        assert "○ paused" in screen_text(app).split("\n")[0]
