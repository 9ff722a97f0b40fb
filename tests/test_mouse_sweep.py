"""No mouse action can crash the app (issue 12: a triple click on a saga row ended it with
`TypeError: 'SagaQuery' object is not callable`).

On every screen (one app each) every widget shown is clicked, double- and triple-clicked,
scrolled with the wheel both ways and dragged over, at a few points of its region. The
events go to the app as the terminal's driver sends them (mouse down/up, moves, wheel; the
app itself makes clicks and their chains), not around it. Afterwards the app still runs,
and its screens are in order. A click may quit the app on purpose (`q` in the key bar, the
palette's Quit): exits are recorded instead, so only a crash ends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.geometry import Offset, Region
from textual.pilot import Pilot
from textual.widget import Widget

from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.dashboard import DashboardScreen
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.screens.explain import ExplainScreen
from saga_inspector.tui.screens.export import ExportScreen
from saga_inspector.tui.screens.help import HelpScreen
from saga_inspector.tui.screens.jump import JumpScreen
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.widgets.search_bar import SearchBar

from .factory import SagaLogFactory
from .helpers import (
    SIZE,
    app_on,
    demo,
    fixed_place_and_zone,
    idle,
    press,
    wait_for,
)

__all__ = ["demo", "fixed_place_and_zone"]  # the shared fixtures (files by bare name, UTC)

LEFT, RIGHT = 1, 3  # mouse buttons
STILL = Offset(0, 0)


def mouse(kind: type[events.MouseEvent], at: Offset, *, button: int = LEFT,
          delta: Offset = STILL) -> events.MouseEvent:
    """A mouse event as the driver makes it: screen coordinates, no widget yet."""
    return kind(None, at.x, at.y, delta.x, delta.y, button, False, False, False,
                screen_x=at.x, screen_y=at.y)


WHEEL = (events.MouseScrollDown, events.MouseScrollDown, events.MouseScrollUp,
         events.MouseScrollRight, events.MouseScrollLeft)


def gestures(at: Offset, to: Offset) -> Iterator[events.MouseEvent]:
    """Click, double click, triple click, a right click, the wheel every way, a drag from
    `at` to `to`."""
    yield mouse(events.MouseMove, at, button=0)
    for _ in range(3):  # three clicks in a row at one place: the app chains them (1, 2, 3)
        yield mouse(events.MouseDown, at)
        yield mouse(events.MouseUp, at)
    yield mouse(events.MouseDown, at, button=RIGHT)
    yield mouse(events.MouseUp, at, button=RIGHT)
    for wheel in WHEEL:
        yield mouse(wheel, at, button=0)
    yield mouse(events.MouseDown, at)
    yield mouse(events.MouseMove, to, delta=to - at)
    yield mouse(events.MouseUp, to)


def points(region: Region) -> list[Offset]:
    """A few places in a region: its corners' insides and its middle."""
    x, y, width, height = region
    right, bottom = x + width - 1, y + height - 1
    middle = Offset(x + width // 2, y + height // 2)
    return list(dict.fromkeys([Offset(x, y), middle, Offset(right, bottom),
                               Offset(right, y), Offset(x, bottom)]))


def shown_regions(app: SagaInspectorApp) -> list[Region]:
    """The on-screen region of every widget the top screen shows."""
    screen = app.screen
    regions = [screen.region]
    for widget in screen.walk_children(Widget):
        if widget.display and widget.region.area:
            regions.append(widget.region.intersection(screen.region))
    return [region for region in dict.fromkeys(regions) if region.area]


PER_WIDGET = 3  # places swept on each widget (the one under the mouse there)


def places(app: SagaInspectorApp) -> dict[Widget, list[Offset]]:
    """A few places on each widget the top screen shows, by the widget under the mouse
    there (a container's places mostly land on what it contains)."""
    screen = app.screen
    found: dict[Widget, list[Offset]] = {}
    for region in shown_regions(app):
        for point in points(region):
            widget, _ = screen.get_widget_at(*point)
            chosen = found.setdefault(widget, [])
            if point not in chosen and len(chosen) < PER_WIDGET:
                chosen.append(point)
    return found


async def sweep(pilot: Pilot) -> int:
    """Every gesture at the places of every widget shown, all queued at once (as a busy
    app gets them), then the app catches up; the number of places swept."""
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    width, height = app.size
    swept = [at for offsets in places(app).values() for at in offsets]
    for at in swept:
        to = Offset(min(at.x + 7, width - 1), min(at.y + 3, height - 1))
        for event in gestures(at, to):
            app.post_message(event)
    await pilot.pause()
    assert app.is_running, "the app ended during the sweep"
    return len(swept)


def assert_sane(app: SagaInspectorApp, *, bottom: type = DashboardScreen) -> None:
    """Still running; the dashboard at the bottom; each screen once, all attached; the
    focus (if any) on the top screen."""
    assert app.is_running and app.return_code is None
    stack = app.screen_stack
    assert isinstance(stack[0], DashboardScreen)
    if bottom is not DashboardScreen:
        assert any(isinstance(screen, bottom) for screen in stack)
    assert len(set(map(id, stack))) == len(stack)
    assert all(screen.is_attached for screen in stack)
    if app.focused is not None:
        assert app.focused.screen is app.screen


Scene = Callable[[Pilot], Awaitable[None]]


def keys(*pressed: str, shows: type) -> Scene:
    async def open_scene(pilot: Pilot) -> None:
        await press(pilot, *pressed)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, shows), shows.__name__)
        await pilot.pause()

    return open_scene


async def dashboard(pilot: Pilot) -> None:
    await press(pilot, "5", "enter")  # in flight, into its steps: every pane shows something


async def search_open(pilot: Pilot) -> None:
    await pilot.press("slash")
    app = pilot.app
    assert isinstance(app, SagaInspectorApp)
    await wait_for(pilot, lambda: app.dashboard.query_one(SearchBar).display, "the search")
    await pilot.press(*"state:")  # a query not finished: the line under it says why
    await pilot.pause()


SCENES: dict[str, tuple[Scene, type]] = {
    "dashboard": (dashboard, DashboardScreen),
    "search": (search_open, DashboardScreen),
    "help": (keys("question_mark", shows=HelpScreen), HelpScreen),
    "explain": (keys("x", shows=ExplainScreen), ExplainScreen),
    "export": (keys("e", shows=ExportScreen), ExportScreen),
    "jump": (keys("colon", shows=JumpScreen), JumpScreen),
    "payload": (keys("5", "enter", "enter", "o", shows=PayloadScreen), PayloadScreen),
    "palette": (keys("ctrl+p", shows=CommandPalette), CommandPalette),
}


def record_exits(app: SagaInspectorApp) -> list[object]:
    """A deliberate quit (`q` clicked in the key bar) is noted, not done: only a crash
    ends the app during a sweep. Links are not opened either."""
    exits: list[object] = []
    app.exit = lambda *args, **kwargs: exits.append((args, kwargs))  # type: ignore[method-assign]
    app.open_url = lambda *args, **kwargs: None  # type: ignore[method-assign]
    return exits


@pytest.mark.parametrize("scene", SCENES)
def test_no_mouse_action_crashes_a_screen(demo: Path, scene: str, clipboard: list[str],
                                          run_pilot: Callable[..., None]) -> None:
    opens, shows = SCENES[scene]

    async def drive(app: SagaInspectorApp, pilot: Pilot) -> None:
        await idle(pilot)
        await opens(pilot)
        assert isinstance(app.screen, shows)
        swept = await sweep(pilot)
        assert swept > 10
        await pilot.pause()
        assert_sane(app)

    run_pilot(app_on(demo), drive)


def test_no_mouse_action_crashes_the_error_screen(
    make_log: SagaLogFactory, clipboard: list[str], run_pilot: Callable[..., None],
) -> None:
    bad = make_log.file_with(b"not a database, " * 100, name="bad.db")

    async def drive(app: SagaInspectorApp, pilot: Pilot) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
        await pilot.pause()
        assert await sweep(pilot) > 3
        assert_sane(app, bottom=ErrorScreen)

    run_pilot(app_on(bad), drive)


def test_clicks_queued_on_a_closing_screen_close_only_that_screen(
    demo: Path, run_pilot: Callable[..., None],
) -> None:
    """Three clicks on the palette's background reach it before the first has closed it:
    the first closes it; the others close nothing else (Screen.dismiss pops whatever is on
    top: the help under it, and then, with the dashboard alone, a ScreenStackError)."""
    async def drive(app: SagaInspectorApp, pilot: Pilot) -> None:
        await idle(pilot)
        await keys("question_mark", shows=HelpScreen)(pilot)
        await keys("ctrl+p", shows=CommandPalette)(pilot)
        corner = Offset(0, SIZE[1] - 1)
        assert app.screen.get_widget_at(*corner)[0] is app.screen  # the background
        for _ in range(3):
            app.post_message(mouse(events.MouseDown, corner))
            app.post_message(mouse(events.MouseUp, corner))
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), "closed")
        await pilot.pause()
        assert app.is_running
        assert [type(screen) for screen in app.screen_stack] == [DashboardScreen, HelpScreen]

    run_pilot(app_on(demo), drive)


@pytest.fixture
def run_pilot() -> Callable[..., None]:
    """run_pilot(app, drive): the app under Pilot at the test size, exits recorded."""
    import asyncio

    def run(app: SagaInspectorApp,
            drive: Callable[[SagaInspectorApp, Pilot], Awaitable[None]]) -> None:
        async def main() -> None:
            record_exits(app)
            async with app.run_test(size=SIZE) as pilot:
                await drive(app, pilot)

        asyncio.run(main())

    return run
