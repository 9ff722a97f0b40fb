"""The dashboard app, built by `create_app` for both `run_dashboard` and the tests.

The app opens the store in a worker (the screen shows a loading state meanwhile), hands it
to the dashboard screen, or shows the error screen when the file cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from saga_inspector.store import SagaStore, StoreError

from .screens.dashboard import Clock, DashboardScreen
from .screens.error import EXIT_UNREADABLE, ErrorScreen
from .screens.help import HelpScreen
from .text import markup_literal
from .widgets.state_filter import StateFilterBar


def wall_clock() -> datetime:
    return datetime.now(UTC)


class StoreOpened(Message):
    def __init__(self, store: SagaStore) -> None:
        super().__init__()
        self.store = store


class StoreFailed(Message):
    def __init__(self, error: StoreError) -> None:
        super().__init__()
        self.error = error


class SagaInspectorApp(App[None]):
    """A read-only, keyboard-driven view of one launcher saga log."""

    CSS_PATH = "app.tcss"
    TITLE = "saga-inspector"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, path: Path, *, now: Clock = wall_clock,
                 opener: Callable[[Path], SagaStore] = SagaStore.open) -> None:
        super().__init__()
        self.path = path
        self.now = now
        self.store: SagaStore | None = None
        self.failed: StoreError | None = None
        self._opener = opener

    def get_default_screen(self) -> Screen:
        return DashboardScreen(self.path, self.now)

    @on(DashboardScreen.Ready)
    def _dashboard_ready(self) -> None:
        self.open_store()

    @work(thread=True, exclusive=True, group="open")
    def open_store(self) -> None:
        try:
            store = self._opener(self.path)
        except StoreError as error:
            self.post_message(StoreFailed(error))
            return
        self.post_message(StoreOpened(store))

    @on(StoreOpened)
    def _store_opened(self, message: StoreOpened) -> None:
        self.store = message.store
        self.dashboard.attach(message.store)

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.failed = message.error
        self.push_screen(ErrorScreen(message.error))

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
        if self.store is not None:
            self.store.interrupt()
            self.store.close()

    # -- actions ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.exit(return_code=EXIT_UNREADABLE if self.failed is not None else 0)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, DashboardScreen) and self.store is not None:
            yield from self._dashboard_commands(screen)
        yield SystemCommand("Help", "Every key, with what it does", self.action_help)
        yield from super().get_system_commands(screen)

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
        yield SystemCommand("Refresh", "Re-read counts, sagas and steps (r)",
                            screen.action_refresh)
        yield SystemCommand("Copy saga as JSON", "The highlighted saga with its steps (y)",
                            screen.action_copy_saga)
        yield SystemCommand("Go to steps", "The highlighted saga's steps (enter)",
                            screen.action_focus_steps)
        yield SystemCommand("Go to payloads", "The highlighted step's cmd and output",
                            screen.action_focus_payloads)
        yield SystemCommand("Go to sagas", "The saga table (escape)", screen.action_focus_table)


def create_app(path: Path, *, now: Clock = wall_clock) -> SagaInspectorApp:
    """The dashboard on the saga log at `path`; `now` pins the clock (ages) for tests."""
    return SagaInspectorApp(Path(path), now=now)
