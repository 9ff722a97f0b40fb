"""The dashboard over several saga logs in one view (issue 14): a saga is (log, id) in the
table, the steps, the read-ahead and the jump; the order is newest start time first; the
table shows a source column and the header how many logs are open; a log that cannot be read
or that vanishes stays with its source, the others go on; new sagas from any log are
announced."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from saga_inspector.store import SagaRef, SortOrder
from saga_inspector.store.formats import LAUNCHER, SERVER, LogFormat
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.jump import JumpScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.saga_table import SagaTable, column_widths
from saga_inspector.tui.widgets.step_list import StepList

from .factory import (
    SagaLogFactory,
    cleanup_saga,
    insert_sagas,
    recovered_saga,
    respawn_saga,
    tear_off_tab_saga,
)
from .helpers import (
    INTERVAL,
    NOW,
    dashboard,
    idle,
    make_app,
    pilot_test,
    record_notifications,
    screen_text,
    wait_for,
)

SIZE = (160, 48)


def log_in(root: Path, folder: str, log_format: LogFormat, sagas: list) -> Path:
    place = root / folder
    place.mkdir(parents=True)
    name = "launcher-sagas.db" if log_format is LAUNCHER else "sagas.db"
    return SagaLogFactory(place, log_format)(sagas, name=name)


@pytest.fixture
def fleet(tmp_path: Path) -> list[Path]:
    """Two launcher logs and a server log, every one starting at id 1. Launcher A's saga 1
    is a window cleanup; launcher B's saga 1 a pool respawn (other step names); both have
    an unresolved saga 3 (failed_compensation, its drain step still in flight), B's newer."""
    a = log_in(tmp_path, "stable/0.41.2", LAUNCHER, [
        cleanup_saga(1, at=0, label="alpha"), cleanup_saga(2, at=10, label="beta"),
        recovered_saga(3, at=30)])
    b = log_in(tmp_path, "stable/0.42.0", LAUNCHER, [
        respawn_saga(1, at=5), respawn_saga(2, at=15), recovered_saga(3, at=60)])
    c = log_in(tmp_path, "stable/0.42.0/server", SERVER, [
        tear_off_tab_saga(1, at=20), tear_off_tab_saga(2, "running", at=90)])
    return [a, b, c]


def labels(app: SagaInspectorApp) -> list[str]:
    assert app.source is not None
    return [member.tag.label for member in app.source.members]


def table_of(app: SagaInspectorApp) -> SagaTable:
    return dashboard(app).query_one(SagaTable)


def shown_ref(app: SagaInspectorApp) -> SagaRef | None:
    saga = table_of(app).highlighted_saga
    return None if saga is None else saga.ref


async def settled(pilot: Pilot, app: SagaInspectorApp) -> None:
    await idle(pilot)
    await wait_for(pilot, lambda: app.settled, "the app settled")


def step_names(app: SagaInspectorApp) -> list[str]:
    steps = dashboard(app).query_one(StepList)
    assert steps.view is not None
    return [str(view.step.name) for view in steps.view.steps]


@pilot_test
async def test_colliding_ids_each_show_their_own_steps(fleet: list[Path]) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        a, b, c = labels(app)
        table, screen = table_of(app), dashboard(app)
        # Newest start first, whatever the log: C:2 (90 s), B:3 (60 s), A:3 (30 s), ...
        order = [saga.ref for saga in (table._cache.row(n) for n in range(table.total or 0))
                 if saga is not None]
        assert order == [SagaRef(c, 2), SagaRef(b, 3), SagaRef(a, 3), SagaRef(c, 1),
                         SagaRef(b, 2), SagaRef(a, 2), SagaRef(b, 1), SagaRef(a, 1)]
        for ref, own, other in ((SagaRef(b, 1), "spawn_pool_window", "reap_panes"),
                                (SagaRef(a, 1), "reap_panes", "spawn_pool_window"),
                                (SagaRef(b, 1), "spawn_pool_window", "reap_panes")):
            position = order.index(ref)
            while table.cursor_row != position:  # j/k: the read-ahead takes part too
                await pilot.press("j" if table.cursor_row < position else "k")
            await settled(pilot, app)
            assert shown_ref(app) == ref
            assert screen.view is not None and screen.view.ref == ref
            names = " ".join(step_names(app))
            assert own in names and other not in names, (ref, names)


@pilot_test
async def test_three_logs_show_a_source_column_and_the_count_in_the_header(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        screen = dashboard(app)
        assert screen.sort is SortOrder.STARTED  # several logs: newest start time first
        assert table_of(app).total == 8
        shown = screen_text(app)
        assert "3 logs" in shown
        header_line = next(line for line in shown.splitlines() if "3 logs" in line)
        assert "schema v" not in header_line  # no one file's name or schema
        titles = next(line for line in shown.splitlines() if "duration" in line)
        assert titles.strip("│ ").split()[:3] == ["id", "source", "name"]  # after the id
        for label in labels(app):
            assert label in shown
        await pilot.press("s")  # s sorts the merged view too: by duration next
        await settled(pilot, app)
        assert screen.sort is SortOrder.DURATION


@pilot_test
async def test_the_source_column_fits_80_columns(fleet: list[Path]) -> None:
    app = make_app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        table = table_of(app)
        widths = column_widths(table.scrollable_content_region.width, 1,
                               table._source_width)
        assert sum(widths) + 2 * (len(widths) - 1) <= 80
        assert widths[1] >= 8  # the source keeps a readable start, cut with …
        rows = [line for line in screen_text(app).splitlines() if line.startswith("│")]
        assert rows and all(len(line) <= 80 for line in rows)
        first = labels(app)[0]
        assert any(f"{first[:5]}" in line and "…" in line for line in rows)  # cut, with …


def test_one_log_has_no_source_column() -> None:
    assert len(column_widths(160, 3)) == 7
    assert len(column_widths(160, 3, 20)) == 8


@pilot_test
async def test_5_then_enter_reaches_the_in_flight_step_of_the_newest_unresolved_saga(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        _, b, _ = labels(app)
        await pilot.press("5")  # failed_compensation, in every log
        await settled(pilot, app)
        assert table_of(app).total == 2
        await pilot.press("enter")
        await settled(pilot, app)
        screen, steps = dashboard(app), dashboard(app).query_one(StepList)
        assert screen.view is not None and screen.view.ref == SagaRef(b, 3)
        assert app.focused is steps
        in_flight = screen.view.in_flight_index()
        assert in_flight is not None and steps.cursor_row == in_flight
        assert screen.view.steps[in_flight].step.in_flight


async def jump(pilot: Pilot, app: SagaInspectorApp, typed: str) -> JumpScreen:
    await pilot.press("colon")
    await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen), "the jump prompt")
    screen = app.screen
    assert isinstance(screen, JumpScreen)
    screen.query_one(Input).value = typed
    await pilot.press("enter")
    return screen


@pilot_test
async def test_a_bare_id_in_several_logs_offers_a_choice_and_label_colon_id_jumps(
    fleet: list[Path],
) -> None:
    app = make_app(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        a, b, c = labels(app)
        prompt = await jump(pilot, app, "1")
        choice = prompt.query_one(OptionList)
        await wait_for(pilot, lambda: choice.option_count == 3, "the choice of logs")
        offered = [str(choice.get_option_at_index(n).prompt) for n in range(3)]
        assert sorted(offered) == sorted(f"{label}:1" for label in (a, b, c))
        assert app.screen is prompt  # not guessed: the prompt waits for a pick
        picked = choice.get_option_at_index(1).id
        choice.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, JumpScreen), "jumped")
        await settled(pilot, app)
        assert shown_ref(app) == SagaRef(str(picked), 1)

        await jump(pilot, app, f"{a}:1")
        await wait_for(pilot, lambda: not isinstance(app.screen, JumpScreen), "jumped")
        await settled(pilot, app)
        assert shown_ref(app) == SagaRef(a, 1)
        assert "reap_panes" in " ".join(step_names(app))

        prompt = await jump(pilot, app, "nowhere:1")
        await wait_for(pilot, lambda: "no log is labelled" in str(
            prompt.query_one("#jump-message").render()), "an unknown log said")


@pilot_test
async def test_a_damaged_log_among_good_ones_leaves_them_working(
    fleet: list[Path], tmp_path: Path,
) -> None:
    broken = tmp_path / "broken" / "launcher-sagas.db"
    broken.parent.mkdir()
    broken.write_bytes(b"text \x1b[31m" * 100)
    app = make_app([*fleet, broken])
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        label = labels(app)[3]
        assert table_of(app).total == 8  # the good logs' sagas, all of them
        banner = str(dashboard(app).query_one(WarningBanner).render())
        assert f"1 log could not be read: {label} — " in banner
        assert "\x1b" not in banner
        assert "4 logs · 1 unreadable" in screen_text(app)
        assert any(label in message for _, message in notes)
        await pilot.press("j")  # the others go on
        await settled(pilot, app)
        assert table_of(app).cursor_row == 1


def remove_log(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@pilot_test
async def test_a_log_that_vanishes_keeps_its_rows_marked_gone_and_R_reopens_it(
    fleet: list[Path], tmp_path: Path,
) -> None:
    app = make_app(fleet, interval=INTERVAL)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        _, b, _ = labels(app)
        screen, table = dashboard(app), table_of(app)
        remove_log(fleet[1])
        await wait_for(pilot, lambda: any(f.label == b and f.gone for f in screen.faults),
                       "the log seen gone")
        await settled(pilot, app)
        assert table.total == 8  # its rows stay, as last read
        assert b in table.gone_sources
        assert "✗" in screen_text(app)
        assert f"1 log gone: {b}" in str(screen.query_one(WarningBanner).render())
        assert any(b in message and "marked gone" in message for _, message in notes)
        assert screen.check_action("reopen", ()) is True

        SagaLogFactory(fleet[1].parent, LAUNCHER)([cleanup_saga(7, at=70)],
                                                  name=fleet[1].name)
        await pilot.press("R")
        await wait_for(pilot, lambda: not screen.faults, "the log reopened")
        await settled(pilot, app)
        assert b not in table.gone_sources
        assert table.total == 6  # A's 3, the server's 2, the new B's 1
        assert SagaRef(b, 7) in {saga.ref for saga in (table._cache.row(n) for n in range(6))
                                 if saga is not None}


@pilot_test
async def test_new_sagas_in_one_log_are_announced(fleet: list[Path]) -> None:
    app = make_app(fleet, interval=INTERVAL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app)
        table = table_of(app)
        await pilot.press("j")  # off the top: new rows wait above, announced
        await settled(pilot, app)
        kept = shown_ref(app)
        writer = sqlite3.connect(fleet[0])
        insert_sagas(writer, LAUNCHER, [cleanup_saga(4, at=100), cleanup_saga(5, at=110)])
        writer.commit()
        writer.close()
        await wait_for(pilot, lambda: table.new_above == 2, "the new sagas announced")
        await settled(pilot, app)
        assert shown_ref(app) == kept  # the cursor stays on its saga
        assert "2 new — press g" in str(table.border_subtitle)
        assert table.total == 10


def test_run_takes_one_path_or_several() -> None:
    import inspect

    from saga_inspector import tui

    assert tui.run is tui.run_dashboard
    assert "snapshots" in inspect.signature(tui.run).parameters
    app = SagaInspectorApp(Path("one.db"), now=lambda: NOW)
    assert app.paths == [Path("one.db")]
    several = SagaInspectorApp([Path("a.db"), Path("b.db")], now=lambda: NOW)
    assert several.paths == [Path("a.db"), Path("b.db")]
