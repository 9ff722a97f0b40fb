"""Every dashboard key that works on a launcher log works on a server log: the same keys run
over both demo logs, and what each shows is checked against the store (the one source of
truth), not against numbers written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from saga_inspector.demo import write_demo
from saga_inspector.store import (
    ATTENTION_STATES,
    SERVER,
    SagaQuery,
    SagaStore,
    SortOrder,
    StepRole,
)
from saga_inspector.tui.screens.explain import ExplainScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.state_filter import FilterChip, StateFilterBar
from saga_inspector.tui.widgets.step_list import StepList

from .helpers import (
    dashboard,
    drawn_ids,
    idle,
    make_app,
    pilot_test,
    press,
    record_notifications,
    screen_text,
    wait_for,
)

SIZE = (160, 48)
FILE_NAMES = {"launcher": "launcher-sagas.db", "server": "sagas.db"}


@pytest.fixture(scope="module", params=sorted(FILE_NAMES))
def demo_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"{request.param}-demo")
    return write_demo(folder / FILE_NAMES[request.param], log_format=request.param)


def _chips(app: object) -> dict[str, str]:
    bar = dashboard(app).query_one(StateFilterBar)  # type: ignore[arg-type]
    return {chip.state_filter.name: str(chip.render()) for chip in bar.query(FilterChip)}


def _typed(text: str) -> list[str]:
    """`text` as the keys that type it."""
    return [{":": "colon", "-": "minus", " ": "space", "*": "asterisk"}.get(c, c) for c in text]


def _shows_first_of(table: SagaTable, store: SagaStore, query: SagaQuery) -> bool:
    """The table draws the first sagas of `query`, as the store lists them."""
    drawn = drawn_ids(table)
    expected = [saga.saga_id for saga in store.sagas(query, limit=max(len(drawn), 1))]
    return drawn == expected[:len(drawn)] and (bool(drawn) or not expected)


@pilot_test
async def test_every_state_key_filters_to_what_the_store_counts(demo_log: Path) -> None:
    store = SagaStore.open(demo_log)
    counts, fmt = store.counts(), store.format
    app = make_app(demo_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        # The chips: all, attention, then the format's own states (6 compensated: server only).
        assert [name for name in _chips(app) if name not in ("all", "attention")] == list(
            fmt.saga_states)
        for key, state in enumerate(fmt.saga_states, start=1):
            await press(pilot, str(key))
            assert table.total == counts.by_state[state], state
            assert _shows_first_of(table, store, SagaQuery(frozenset({state}))), state
        await press(pilot, "a")
        assert table.total == counts.count(ATTENTION_STATES)
        assert _shows_first_of(table, store, SagaQuery(ATTENTION_STATES))
        await press(pilot, "0")
        assert table.total == counts.total
        assert _shows_first_of(table, store, SagaQuery())
    store.close()


@pilot_test
async def test_jump_steps_explain_sort_and_help_on_either_format(demo_log: Path) -> None:
    with SagaStore.open(demo_log) as store:
        target = store.sagas(SagaQuery(frozenset({"failed_compensation"})), limit=1)[0]
        detail = store.saga(target.saga_id)
        by_duration = store.sagas(SagaQuery(sort=SortOrder.DURATION), limit=1)[0]
    assert detail is not None and detail.steps
    app = make_app(demo_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = dashboard(app)
        table = screen.query_one(SagaTable)
        await press(pilot, *_typed(f":{target.saga_id}"), "enter")
        assert table.highlighted_saga is not None
        assert table.highlighted_saga.saga_id == target.saga_id
        await press(pilot, "enter")
        steps = screen.query_one(StepList)
        assert app.focused is steps and steps.row_count == len(detail.steps)
        await press(pilot, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "explain")
        assert isinstance(app.screen, ExplainScreen)
        assert f"saga {target.saga_id}" in app.screen.summary
        await press(pilot, "escape", "escape")
        await press(pilot, "s", "s")  # id -> start time -> duration, from its top
        assert table.highlighted_saga is not None
        assert table.highlighted_saga.saga_id == by_duration.saga_id
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert app.screen is screen


@pilot_test
async def test_a_server_undo_row_is_marked_in_the_step_list(tmp_path: Path) -> None:
    path = write_demo(tmp_path / "sagas.db", log_format=SERVER.name)
    with SagaStore.open(path) as store:
        undone = next(
            saga for saga in store.walk(SagaQuery(frozenset({"compensated"})))
            if any(step.role is StepRole.UNDO and step.undoes is not None
                   for step in (store.saga(saga.saga_id) or _none()).steps))
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, *_typed(f":{undone.saga_id}"), "enter", "enter")
        assert "↶ undo of #" in screen_text(app)
        steps = dashboard(app).query_one(StepList)
        assert [str(column.label) for column in steps.columns.values()] == [
            "#", "step", "state", "duration"]  # no target: the server stores none


@pilot_test
async def test_ref_finds_every_saga_that_mentions_an_id(tmp_path: Path) -> None:
    path = write_demo(tmp_path / "sagas.db", log_format=SERVER.name)
    with SagaStore.open(path) as store:
        saga = store.sagas(SagaQuery(frozenset({"compensated"})), limit=1)[0]
        tab = _first_id(saga.input_json or "")
        expected = [s.saga_id for s in store.walk(SagaQuery(text=f"ref:{tab}"))]
    assert saga.saga_id in expected
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "slash", *_typed(f"ref:{tab}"), "enter")
        table = dashboard(app).query_one(SagaTable)
        assert table.total == len(expected)
        assert drawn_ids(table) == expected


def _first_id(input_json: str) -> str:
    import json

    value = json.loads(input_json)
    return next(v for k, v in value.items() if k.endswith("_id"))


def _none() -> object:
    raise AssertionError("a saga listed has no detail")


@pilot_test
async def test_a_qualifier_the_server_has_nothing_for_is_said(tmp_path: Path) -> None:
    path = write_demo(tmp_path / "sagas.db", log_format=SERVER.name)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        shown = record_notifications(app)
        await idle(pilot)
        await press(pilot, "slash", *_typed("target:host"), "enter")
        assert any("target: finds nothing in a server saga log" in message
                   for _severity, message in shown)


@pilot_test
async def test_the_servers_own_key_works_before_its_counts_arrive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`6` pressed while the counts are still being read (a big server log): its chip is
    there from the file's format, so the key is not dropped."""
    import threading

    path = write_demo(tmp_path / "sagas.db", log_format=SERVER.name)
    release = threading.Event()
    counts = SagaStore.counts

    def held_counts(store: SagaStore) -> object:
        release.wait(10)
        return counts(store)

    monkeypatch.setattr(SagaStore, "counts", held_counts)
    app = make_app(path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = dashboard(app)
            bar = screen.query_one(StateFilterBar)
            await wait_for(pilot, lambda: screen.store is not None, "the store")
            await pilot.pause()
            assert "compensated" in _chips(app)  # before any count was read
            await pilot.press("6")
            await pilot.pause()
            assert screen.active.name == "compensated"
            release.set()
            await idle(pilot)
            assert bar.active.name == "compensated"
            table = screen.query_one(SagaTable)
            assert table.saga_query is not None
            assert table.saga_query.states == frozenset({"compensated"})
    finally:
        release.set()
