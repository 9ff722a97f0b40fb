"""The dashboard app, built by `create_app` for both `run_dashboard` and the tests.

The app opens the logs (`MergedSource.open`, of one log or several) in a worker (the screen
shows a loading state meanwhile), hands them to the dashboard screen, or shows the error
screen when no log can be read. While a writer's lock keeps the one log from being read it
waits, and says so. Reopening one log (deleted or replaced while shown) hands the new source
over the same way; if that fails, the dashboard keeps what it shows. With several logs,
reopening opens again those gone or unreadable (`MergedSource.reopen`); the others stay.
Every key and paste passes through `type_ahead.TypeAhead` first, so that what is typed
right after `/`, `:` or `e` reaches the prompt it opens.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual._context import active_message_pump
from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from saga_inspector.config import save_zone
from saga_inspector.display_time import (
    ZoneChoice,
    choose_zone,
    display_choice,
    set_display_choice,
)
from saga_inspector.follow import DEFAULT_INTERVAL
from saga_inspector.store import ErrorKind, LogFormat, SagaStore, StoreError
from saga_inspector.store.merged import MergedSource

from .head_start import HeadStart, OpenedSource, Opener, Paths, as_paths, open_source, store_opener
from .screens.dashboard import Clock, DashboardScreen
from .screens.error import EXIT_UNREADABLE, ErrorScreen
from .text import markup_literal, safe
from .themes import remember_theme, restore_theme
from .type_ahead import TypeAhead
from .widgets.state_filter import StateFilterBar

# Between attempts to open a file a writer keeps locked (each waits the busy timeout too).
_OPEN_RETRY_PAUSE = 0.25


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def _nothing() -> None:
    """What a refused pop_screen awaits."""


class StoreOpened(Message):
    def __init__(self, opened: OpenedSource, again: bool) -> None:
        super().__init__()
        self.opened = opened
        self.again = again  # reopened while the dashboard showed the file


class StoreFailed(Message):
    def __init__(self, error: StoreError, again: bool) -> None:
        super().__init__()
        self.error = error
        self.again = again


class StoreWaiting(Message):
    """A writer's lock keeps the file from being opened; the open tries again."""


class SourcesReopened(Message):
    """Several logs: those gone or unreadable were opened again, in place."""

    def __init__(self, source: MergedSource) -> None:
        super().__init__()
        self.source = source


class SagaInspectorApp(App[None]):
    """A read-only, keyboard-driven view of saga logs (the launcher's and the server's), one
    or several in one view."""

    CSS_PATH = "app.tcss"
    TITLE = "saga-inspector"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        # ctrl+c quits, as in any terminal program, from anywhere (the search line too):
        # this replaces Textual's "press ctrl+q to quit" notice (ctrl+q still quits). Not a
        # priority binding: where text is selected (in the search line, or with the mouse)
        # the focused widget's and the screen's ctrl+c copy it first, and skip when there
        # is none, so ctrl+c then reaches this.
        Binding("ctrl+c", "quit", "Quit", show=False),
        # The palette's ctrl+p is taken by VS Code's terminal (Quick Open) on Windows/Linux.
        # Its own action name: a binding to "command_palette" would stop Textual from
        # binding ctrl+p.
        Binding("P", "open_palette", "Commands", show=False),
    ]

    def __init__(self, paths: Paths, *, now: Clock = wall_clock,
                 opener: Opener = SagaStore.open,
                 interval: float = DEFAULT_INTERVAL, config_dir: Path | None = None,
                 head_start: HeadStart | None = None, collector_paused: bool = False,
                 zone: ZoneChoice | None = None,
                 snapshots: Sequence[bool] | None = None) -> None:
        """`paths`: one log or several; `snapshots`: which of them are snapshot copies;
        `opener`: how each is opened (SagaStore.open's form, `tag` among its keywords)."""
        super().__init__()
        self.paths = as_paths(paths)
        self.path = self.paths[0] if self.paths else Path()
        self.snapshots = snapshots
        # Where the chosen theme and zone are remembered (None: they are not, as in tests).
        self.config_dir = config_dir
        if config_dir is not None:
            restore_theme(self, config_dir)
        # The display zone, for every time the app shows: asked for (--utc), else remembered.
        set_display_choice(choose_zone(zone, config_dir))
        self.now = now
        self.interval = interval
        self.source: MergedSource | None = None
        self.failed: StoreError | None = None
        self._opener = opener
        # The file opened (and its first page read) before the app was built: taken once.
        self._head_start = head_start
        self._collector_paused = collector_paused  # see run_dashboard
        # Keys typed right after `/`, `:` or `e` go to the prompt that key opens.
        self.type_ahead = TypeAhead(self, partial(App.on_event, self))

    def get_default_screen(self) -> Screen:
        # Opened already: the dashboard draws the rows in its first frame. Else it asks
        # (DashboardScreen.Ready) and the open finishes in a worker.
        head_start, opened = self._head_start, None
        if head_start is not None and head_start.ready:
            with suppress(StoreError):  # the worker's first attempt raises it again
                opened = head_start.result()
                self._head_start, self.source = None, opened.source
        return DashboardScreen(self.paths, self.now, self.interval, opened=opened)

    def on_mount(self) -> None:
        if self.config_dir is not None:
            remember_theme(self, self.config_dir)

    @on(DashboardScreen.Ready)
    def _dashboard_ready(self) -> None:
        self.open_store()

    @on(DashboardScreen.PanesMounted)
    def _dashboard_up(self) -> None:
        if self._collector_paused:
            self._collector_paused = False
            # What exists now is nearly all as long-lived as the app (modules, stylesheet,
            # widgets): kept out of the collector's scans from now on. The few cycles the
            # start left as garbage stay too; a full pass to find them would cost 25 ms.
            gc.freeze()
            gc.enable()

    @property
    def store(self) -> MergedSource | None:
        """(The older name of `source`.)"""
        return self.source

    @on(DashboardScreen.Reopen)
    def _reopen(self) -> None:
        if self.source is not None and self.source.source_count > 1:
            self.reopen_sources(self.source)
        else:
            self.open_store(again=True)

    @work(thread=True, exclusive=True, group="open")
    def reopen_sources(self, source: MergedSource) -> None:
        """Several logs: the gone and unreadable ones opened again, the others untouched."""
        source.reopen()
        with suppress(StoreError):
            source.changed()  # the reopened logs' baseline
        if not get_current_worker().is_cancelled:
            self.post_message(SourcesReopened(source))

    @on(SourcesReopened)
    def _sources_reopened(self, message: SourcesReopened) -> None:
        if message.source is self.source:
            self.dashboard.reattach(message.source)

    @work(thread=True, exclusive=True, group="open")
    def open_store(self, *, again: bool = False) -> None:
        head_start, self._head_start = self._head_start, None  # the first open, if begun
        while True:
            try:
                opened = (head_start.result() if head_start
                          else open_source(self.paths, self._opener, self.snapshots))
                break
            except StoreError as error:
                head_start = None  # a retry opens again
                if error.kind is not ErrorKind.BUSY or get_current_worker().is_cancelled:
                    self.post_message(StoreFailed(error, again))
                    return
                # The open waited its busy timeout for a writer's lock: say so, try again.
                self.post_message(StoreWaiting())
                time.sleep(_OPEN_RETRY_PAUSE)
        if get_current_worker().is_cancelled:  # the app is closing: nobody will take it
            opened.source.close()
            return
        self.post_message(StoreOpened(opened, again))

    @on(StoreOpened)
    def _store_opened(self, message: StoreOpened) -> None:
        opened = message.opened
        previous, self.source = self.source, opened.source
        if message.again:
            self.dashboard.reattach(opened.source)
        else:
            self.dashboard.attach(opened)
        if previous is not None and previous is not opened.source:
            self.close_store(previous)

    @work(thread=True, group="close")
    def close_store(self, source: MergedSource) -> None:
        source.interrupt()  # a read still running on it ends now (its answer is not wanted)
        source.close()

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        if message.again:  # the dashboard keeps what it shows
            self.dashboard.notify(safe(message.error.message), title="cannot reopen the log",
                                  severity="error", timeout=10, markup=False)
            return
        self.failed = message.error
        self.dashboard.open_failed()
        self.push_screen(ErrorScreen(message.error))

    @on(StoreWaiting)
    def _store_waiting(self) -> None:
        self.dashboard.waiting_to_open()

    def pop_screen(self) -> AwaitComplete:
        """Textual's, except that a screen no longer on top pops nothing. Screen.dismiss pops
        whatever screen is on top: a second dismiss from a screen already closed (three
        clicks queued on the palette's background, or on a key bar's `esc Close`, before the
        first closed it) popped the screen under it, or raised ScreenStackError and ended
        the app when only the dashboard was left."""
        asking = active_message_pump.get(None)
        if isinstance(asking, DOMNode) and not isinstance(asking, App):
            screen = next((node for node in asking.ancestors_with_self
                           if isinstance(node, Screen)), None)
            if screen is not self.screen:
                self.log.warning(f"{screen} is not on top: it cannot pop {self.screen}")
                return AwaitComplete(_nothing()).call_next(self)
        return super().pop_screen()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            await self.type_ahead.typed(event)  # handed on, or held for a prompt on its way
            return
        await super().on_event(event)
        await self.type_ahead.seen(event)

    @property
    def holding_keys(self) -> bool:
        """Keys typed are being held for a prompt on its way (for tests)."""
        return self.type_ahead.holding

    @property
    def dashboard(self) -> DashboardScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    @property
    def settled(self) -> bool:
        """No read under way and the screen shows its results (for tests and scripts)."""
        if any(worker.is_running for worker in self.workers):
            return False
        return self.failed is not None or self.dashboard.settled

    def on_unmount(self) -> None:
        if self.source is not None:
            self.source.interrupt()
            self.source.close()

    # -- actions ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.exit(return_code=EXIT_UNREADABLE if self.failed is not None else 0)

    def action_open_palette(self) -> None:
        """`P`: the command palette, where the terminal keeps ctrl+p for itself."""
        self.action_command_palette()

    def action_help(self) -> None:
        # Imported here: Markdown costs ~45 ms at start, and most sessions never ask.
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            # Built once, shown again each time: composing its Markdown takes half a second.
            if not self.is_screen_installed("help"):
                self.install_screen(HelpScreen(), "help")
            self.push_screen("help")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, DashboardScreen) and self.source is not None:
            yield from self._dashboard_commands(screen)
        yield self._zone_command()
        yield SystemCommand("Help", "Every key, with what it does", self.action_help)
        yield from super().get_system_commands(screen)

    def _zone_command(self) -> SystemCommand:
        if display_choice() is ZoneChoice.UTC:
            return SystemCommand("Times in the local zone", "Show times (and read since:/"
                                 "until:) in this machine's zone; remembered",
                                 partial(self.switch_zone, ZoneChoice.LOCAL))
        return SystemCommand("Times in UTC", "Show times (and read since:/until:) in UTC; "
                             "remembered", partial(self.switch_zone, ZoneChoice.UTC))

    def switch_zone(self, choice: ZoneChoice) -> None:
        """Show every time in this zone from now on, and remember it (when settings are)."""
        set_display_choice(choice)
        if self.config_dir is not None:
            save_zone(self.config_dir, choice.value)
        with suppress(IndexError, AssertionError):  # no dashboard (yet): nothing drawn
            self.dashboard.zone_changed()

    def _dashboard_commands(self, screen: DashboardScreen) -> Iterable[SystemCommand]:
        for state_filter in screen.query_one(StateFilterBar).filters:
            key = f" (key {state_filter.key})" if state_filter.key else ""
            yield SystemCommand(
                f"Show: {markup_literal(state_filter.label)}",
                f"Filter the table{key}",
                partial(screen.pick_filter, state_filter),
            )
        yield SystemCommand("Search", "Search id, name, failure reason, input (/)",
                            screen.action_search)
        yield SystemCommand("Clear search", "Back to the whole filter (escape)",
                            screen.action_clear_search)
        yield SystemCommand("Sort: next order", "By id, then start time, then duration; "
                            "shown from the top of the new order (s)", screen.action_sort)
        yield SystemCommand("Go to saga id", "Type a saga id, the cursor goes to it (:)",
                            screen.action_jump)
        yield SystemCommand("Refresh", "Re-read counts, sagas and steps (r)",
                            screen.action_refresh)
        yield SystemCommand("Follow newest", "Keep the newest saga highlighted as sagas "
                            "arrive; again to stop (f)", screen.action_follow)
        yield SystemCommand("Pause refresh", "Stop looking at the file for changes; again "
                            "to resume (p)", screen.action_pause)
        yield SystemCommand("Reopen the file", "Open the file at the path again, after it "
                            "was deleted or replaced (R)", screen.action_reopen)
        yield SystemCommand("Copy payload", "The focused payload; on the steps the step's "
                            "output (or cmd), else the saga's input (y)",
                            screen.action_copy_payload)
        yield SystemCommand("Copy saga as JSON", "The highlighted saga with its steps (Y)",
                            screen.action_copy_saga)
        yield SystemCommand("Copy triage summary", "What the highlighted saga was doing and "
                            "what to check, as text (c)", screen.action_copy_summary)
        yield SystemCommand("Export the view", "The sagas of this filter and search to a "
                            "JSON lines or CSV file (e)", screen.action_export)
        yield SystemCommand("Explain saga", "A plain-language triage summary of the "
                            "highlighted saga: what it was doing, what to check (x)",
                            screen.action_explain)
        yield SystemCommand("Go to steps", "The highlighted saga's steps (enter)",
                            screen.action_focus_steps)
        yield SystemCommand("Go to payloads", "The highlighted step's cmd and output",
                            screen.action_focus_payloads)
        yield SystemCommand("Go to sagas", "The saga table (escape)", screen.action_focus_table)


def create_app(paths: Paths, *, now: Clock = wall_clock, immutable: bool = False,
               force: bool = False, interval: float = DEFAULT_INTERVAL,
               config_dir: Path | None = None,
               head_start: HeadStart | None = None,
               collector_paused: bool = False,
               zone: ZoneChoice | None = None,
               log_format: LogFormat | None = None,
               snapshots: Sequence[bool] | None = None) -> SagaInspectorApp:
    """The dashboard on the saga log at `paths` (one path, or several shown as one view;
    `snapshots`: which are snapshot copies); `now` pins the clock (ages) for tests.
    `immutable`/`force` are SagaStore.open's (a snapshot that creates no file); `interval`
    is the seconds between looks at the file for changes; `config_dir` is where the theme
    is remembered (None: not remembered); `head_start`: the same file's open, begun with
    the same `store_opener` before Textual was imported; `collector_paused`: Python's
    garbage collector was disabled for the start, to be enabled once the dashboard is
    drawn (both: see run_dashboard); `zone`: the display zone asked for (None: the one
    remembered in `config_dir`, else the local zone); `log_format`: read the file as this
    format (None: told by its tables)."""
    opener = store_opener(immutable=immutable, force=force, log_format=log_format)
    return SagaInspectorApp(as_paths(paths), now=now,
                            opener=opener, interval=interval, config_dir=config_dir,
                            head_start=head_start, collector_paused=collector_paused,
                            zone=zone, snapshots=snapshots)
