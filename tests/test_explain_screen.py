"""Pilot tests of `x`: the triage summary of the highlighted saga in a scrollable modal."""

from __future__ import annotations

from saga_inspector.explain import explain_text
from saga_inspector.sanitize import is_safe
from saga_inspector.store import SagaStore
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.explain import ExplainBody, ExplainScreen
from saga_inspector.tui.screens.help import help_markdown

from .factory import HOSTILE, LOOSE_DDL, SagaLogFactory, cleanup_saga
from .helpers import NOW, SIZE, idle, make_app, mixed_log, pilot_test, press, screen_text, wait_for


def summary_in_file(path: object, saga_id: int) -> str:
    with SagaStore.open(path) as store:  # type: ignore[arg-type]
        detail = store.saga(saga_id)
    assert detail is not None
    return explain_text(detail, NOW)


@pilot_test
async def test_x_explains_the_highlighted_saga_and_escape_closes(
    make_log: SagaLogFactory,
) -> None:
    path = mixed_log(make_log)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "5")  # the recovered saga 4
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "the summary")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExplainScreen) and screen.detail.saga.saga_id == 4
        assert screen.summary == summary_in_file(path, 4)
        shown = screen_text(app)
        for phrase in ("triage summary · saga 4", "Left unresolved: the launcher stopped",
                       "What it was for", "awaited  pool_drained or pool_not_last",
                       "What to check", "≈"):
            assert phrase in shown, phrase
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        # x closes it as well as opening it
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "again")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


@pilot_test
async def test_x_with_no_saga_says_so(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "4")  # compensating: none in this file
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert [n.message for n in app._notifications] == ["no saga to explain yet"]


@pilot_test
async def test_the_summary_scrolls_and_copies(make_log: SagaLogFactory,
                                              clipboard: list[str]) -> None:
    path = mixed_log(make_log)
    app = make_app(path)
    async with app.run_test(size=(100, 24)) as pilot:  # too small for the whole summary
        await idle(pilot)
        await press(pilot, "5")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "the summary")
        await pilot.pause()
        scroll = app.screen.query_one("#explain-scroll")
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("k")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y - 1
        await pilot.press("g")
        await pilot.pause()
        assert scroll.scroll_y == 0
        await pilot.press("c")
        await wait_for(pilot, lambda: bool(clipboard), "the copy")
        assert clipboard == [summary_in_file(path, 4)]


@pilot_test
async def test_the_palette_explains_too(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "(x)" in commands["Explain saga"].help
        commands["Explain saga"].callback()
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "the summary")
        assert app.screen.detail.saga.saga_id == 6  # the highlighted (newest) saga


@pilot_test
async def test_hostile_text_in_the_summary_is_shown_plainly(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(1, "failed", drained=None, reason=HOSTILE)
    saga.name = HOSTILE
    path = make_log([saga], ddl=LOOSE_DDL)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "the summary")
        await pilot.pause()
        shown = screen_text(app)
        assert is_safe(shown, multiline=True)
        # markup-looking text stays as written; escapes are visible stand-ins
        assert "[/] [bold] [link=http://x]" in shown and "␛]0;pwned-title␇" in shown
        lines = app.screen.query_one(ExplainBody).query(".explain-line")
        assert all(line.allow_select for line in lines)  # mouse selection copies text


def test_help_lists_the_explain_keys() -> None:
    text = help_markdown()
    for binding in [*ExplainScreen.BINDINGS, *DashboardScreen.BINDINGS]:
        for key in binding.key.split(","):  # type: ignore[union-attr]
            shown = {"slash": "/"}.get(key, key)
            assert f"`{shown}`" in text, key
    assert "show DB ID --explain" in text
