"""The main screen: filter bar, saga table, the highlighted saga's steps and detail.

Every read of the store runs in a thread worker; results come back as messages and are
applied here, on the UI thread, which never calls the store itself.

Everything here reads one `MergedSource` (of one log or several; app.py opens it). A saga is
its `ref` (log label, id) everywhere: ids collide across logs.

Live: every `interval` seconds a worker looks at the logs (a stat and `PRAGMA data_version`
each); when a writer committed, counts, rows and the open saga's steps are read again in
place. A writer's lock, or the one file deleted or replaced, is said in the header (and the
banner), and what is shown stays until the file can be read again or is reopened (`R`).
With several logs, one that vanishes or cannot be read is said in the banner and a notice;
its rows stay, marked gone, and the others go on; `R` opens it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from saga_inspector.display_time import display_zone
from saga_inspector.follow import DEFAULT_INTERVAL, FileState
from saga_inspector.store import ErrorKind, Saga, SagaQuery, SagaRef, SortOrder, StateCounts
from saga_inspector.store.merged import MergedSource
from saga_inspector.tui.head_start import FirstPage, OpenedSource, as_paths, start_sort
from saga_inspector.tui.read_ahead import (
    READ_AHEAD,
    ReadAhead,
    ViewsReadAhead,
    hold_frame,
    read_views,
)
from saga_inspector.tui.screens.reads import (
    CountsLoaded,
    DetailLoaded,
    Fault,
    Polled,
    ReadFailed,
    faults_of,
    read_counts,
    read_detail,
    read_poll,
    saga_name,
)
from saga_inspector.tui.text import plain, safe
from saga_inspector.tui.views import SagaView, text_payload
from saga_inspector.tui.widgets.detail_pane import SagaPanel, StepDetail
from saga_inspector.tui.widgets.header import InspectorHeader, LiveStatus, WarningBanner
from saga_inspector.tui.widgets.key_bar import KeyBar
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.search_bar import SearchBar
from saga_inspector.tui.widgets.state_filter import (
    ALL,
    StateFilter,
    StateFilterBar,
    filter_bindings,
)
from saga_inspector.tui.widgets.step_list import StepList
from saga_inspector.tui.widgets.timeline import StepTimeline
from saga_inspector.units import format_count

if TYPE_CHECKING:
    from saga_inspector.tui.screens.jump import JumpTarget

Clock = Callable[[], datetime]
PENDING_DETAIL_S = 0.15  # a saga's steps usually arrive well within this
# While every look at the logs sees a change (a writer committing without a rest), a live
# reload every this many looks, the change seen between two of them read at the next: each
# reload's reads are read transactions a writer flat out waits on to restart its -wal
# (bench_wal.py), so half as many of them; the screen at most this many intervals behind.
# A change after a quiet look is read at once.
RELOAD_EVERY_POLLS = 2

WAITING = "waiting for the writer's lock"
# What the banner says when the file is no longer the one shown ({name}: the file's name).
_LOST = {
    FileState.GONE: ("file gone", "{name} was deleted or renamed: the sagas shown are the "
                     "last ones read. R opens whatever file is at that path again."),
    FileState.REPLACED: ("file replaced", "{name} was replaced by another file: the sagas "
                         "shown are the old file's, as last read. R opens the new one."),
}


# The panes `h`/`l` move between, left to right (tab also visits the payloads one by one),
# and the screen class each gives while it has the focus (app.tcss lays the screen out by it).
PANES = ("sagas", "saga", "steps", "detail")


class DashboardScreen(Screen[None]):
    AUTO_FOCUS = "#sagas"
    # app.tcss lays the screen out by these classes (see its layout section).
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"), (100, "-medium"), (140, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-short"), (36, "-middling"), (46, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "pane(-1)", "Pane left", show=False),
        Binding("l", "pane(1)", "Pane right", show=False),
        Binding("t", "toggle_timeline", "Timeline", show=False),
        Binding("o", "open_reason", "Open reason", show=False),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding(":", "jump", "Go to id", key_display=":"),
        Binding("escape", "clear_search", "Clear search"),
        Binding("r", "refresh", "Refresh"),
        Binding("f", "follow", "Follow"),
        Binding("p", "pause", "Pause"),
        Binding("R", "reopen", "Reopen file"),
        Binding("y", "copy_payload", "Copy"),
        Binding("Y", "copy_saga", "Copy saga JSON", show=False),
        Binding("c", "copy_summary", "Copy summary", show=False),
        Binding("e", "export", "Export"),
        Binding("x", "explain", "Explain"),
        *filter_bindings(),
        Binding("S", "sources", "Sources"),
    ]

    class Ready(Message):
        """Composed and mounted: the app may open the store and hand it over."""

    class Reopen(Message):
        """The operator asked to open the file at the path again (R)."""

    class PanesMounted(Message):
        """The panes below the table are mounted, a frame after the first: the whole
        dashboard is up."""

    def __init__(self, paths: Path | Sequence[Path], now: Clock,
                 interval: float = DEFAULT_INTERVAL,
                 opened: OpenedSource | None = None) -> None:
        super().__init__()
        self.paths = as_paths(paths)
        self.path = self.paths[0] if self.paths else Path()
        self._opened_early = opened  # the logs, opened before the screen was built
        self._clock = now
        self.interval = interval  # seconds between looks at the logs
        self.source: MergedSource | None = None
        self.faults: tuple[Fault, ...] = ()  # several logs: those gone or unreadable
        self.following = False
        self.paused = False
        self.refreshed_at: datetime | None = None
        self.trouble: str | None = None  # what keeps the file from being read now
        self._refresh_owed = False  # a change seen while the table was still reading
        self._changed_polls = 0  # looks in a row that saw a change
        self._polls_since_reload = RELOAD_EVERY_POLLS  # looks since a live reload began
        self._reload_counts: Worker[None] | None = None  # a reload's first read
        self._poll_timer: Timer | None = None
        self._poll_worker: Worker[None] | None = None
        self.counts: StateCounts | None = None
        self.active: StateFilter = ALL
        self.search = ""
        self.sort = SortOrder.ID  # s cycles it (several logs start by start time)
        self._start_sort = SortOrder.ID
        self.highlighted: Saga | None = None
        self.view: SagaView | None = None
        self._enter_steps_for: SagaRef | None = None
        self._pending: Timer | None = None
        self._query_shown: Timer | None = None
        self._ahead = ReadAhead()  # the neighbours' detail, so j/k draw in one frame
        self._step_shown: tuple[SagaView, int] | None = None
        # The panes below the table come a frame after the rows (see _mount_panes); what
        # they are to show meanwhile waits here.
        self.panes_ready = False
        self._placeholder = ""
        self._detail_waiting: DetailLoaded | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield InspectorHeader(self.paths, id="header")
        yield WarningBanner(id="banner")
        yield StateFilterBar(id="filters")
        search = SearchBar(id="search")
        search.display = False
        yield search
        yield SagaTable(id="sagas")
        # Empty, at its size, in the first frame: the panes are mounted in the next.
        yield Horizontal(id="lower")
        yield KeyBar()  # Textual's Footer, drawn as one line (a focus change is a repaint)

    async def _mount_panes(self) -> None:
        """The saga, steps, timeline and step detail panes, after the first frame: styling
        and drawing them took half the time of the first frame, which now shows the rows
        sooner (issue 6: first rows within 2x of a bare Textual app)."""
        saga, timeline = SagaPanel(id="saga"), StepTimeline(self._clock, id="timeline")
        steps, detail = StepList(id="steps", timeline=timeline), StepDetail(id="detail")
        saga.border_title, steps.border_title = "saga", "steps"
        detail.border_title = "step detail"
        await self.query_one("#lower").mount_all(
            [Vertical(saga, steps, timeline, id="saga-side"), detail])
        if not detail.is_attached:  # the app closed meanwhile
            return
        self.panes_ready = True
        waiting, self._detail_waiting = self._detail_waiting, None
        highlighted = self.highlighted
        if highlighted is not None and self.view is None:
            self._show_loading(highlighted)
        else:
            self._clear_detail(self._placeholder)
        if waiting is not None:
            self._apply_detail(waiting)
        self.post_message(self.PanesMounted())

    def on_mount(self) -> None:
        self.add_class("-pane-sagas")
        table = self.query_one(SagaTable)
        table.clock = self._clock
        table.loading = True
        table.border_title = "sagas"
        self._clear_detail("opening the file…")
        self.call_after_refresh(self._mount_panes)
        table.focus()
        self.app.theme_changed_signal.subscribe(self, self._restyle)
        if self._opened_early is not None:  # its rows are drawn in the first frame
            opened, self._opened_early = self._opened_early, None
            self.attach(opened)
        else:
            self.post_message(self.Ready())

    @property
    def now(self) -> datetime:
        return self._clock()

    @property
    def store(self) -> MergedSource | None:
        """(The older name of `source`.)"""
        return self.source

    @property
    def several(self) -> bool:
        """More than one log in the view: sagas are named with their log."""
        return self.source is not None and self.source.source_count > 1

    @property
    def settled(self) -> bool:
        """Counts and rows are in, the panes are up, and the detail shown is the
        highlighted saga's."""
        table = self.query_one(SagaTable)
        if not self.panes_ready:
            return False
        if self.source is None or self.counts is None or table.total is None:
            return False
        # A read's rows may still be on their way in a message after its worker ended; the
        # title and chips may be waiting for them; the keys line catches up when idle.
        if table.reading or table.saga_query != self._query() or self._query_shown is not None:
            return False
        if table.total == 0:
            return True
        saga = table.highlighted_saga
        return saga is not None and self.view is not None and self.view.ref == saga.ref

    # -- the logs arrive --------------------------------------------------------------------

    def attach(self, opened: OpenedSource) -> None:
        """The logs opened (in the app's worker, or before the screen was built): show the
        first page and counts, then keep looking at the logs for changes. Several logs
        start by start time, newest first (the only clock they share)."""
        source = opened.source
        self.source = source
        self.sort = self._start_sort = start_sort(source.source_count)
        table = self.query_one(SagaTable)
        table.loading = False
        self._show_sources(source)
        self.query_one(StateFilterBar).show_format(source.format)
        self._clear_detail("no saga highlighted")
        self._apply_query(first_page=opened.first_page)
        self.load_counts(source)
        self._set_trouble(None)
        self._note_faults(source, faults_of(source), opening=True)
        if self._poll_timer is None:
            self._poll_timer = self.set_interval(self.interval, self._poll_tick)

    def _show_sources(self, source: MergedSource) -> None:
        """What the header, banner and table say of the logs themselves."""
        table = self.query_one(SagaTable)
        several = source.source_count > 1
        table.source_labels = tuple(m.tag.label for m in source.members) if several else ()
        table.gone_sources = frozenset(fault.label for fault in self.faults if fault.gone)
        self.query_one(InspectorHeader).show_store(source, self.counts)
        self.query_one(WarningBanner).show_warnings(source)

    def reattach(self, source: MergedSource) -> None:
        """The logs reopened: the same filter and search over them, at the same saga when
        it is there; what was drawn stays until its rows arrive."""
        self.source = source
        self._ahead.forget()
        self.faults = faults_of(source)
        self._show_sources(source)
        self.query_one(StateFilterBar).show_format(source.format)
        self._set_trouble(None)
        self.query_one(SagaTable).switch_store(source)
        self.load_counts(source)
        if self.highlighted is not None:
            self.load_detail(source, self.highlighted.ref)

    def waiting_to_open(self) -> None:
        """The app's open waits for a writer's lock."""
        self._set_trouble(WAITING)

    def open_failed(self) -> None:
        """The file cannot be opened (the error screen says why): nothing is loading any
        more, and nothing under the error screen keeps redrawing."""
        self.query_one(SagaTable).loading = False
        self.query_one(InspectorHeader).show_state("cannot be opened")

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        # The keys line shows the focused widget's keys in the same frame as the focus.
        self.query_one(KeyBar).sync()
        self._show_focused_pane()

    def _focused_pane(self) -> str:
        """Which of PANES holds the focus ("sagas" when it is elsewhere, e.g. the search)."""
        focused = self.focused
        for pane in reversed(PANES[1:]):
            if focused is not None and any(
                    node.id == pane for node in focused.ancestors_with_self):
                return pane
        return "sagas"

    def _show_focused_pane(self) -> None:
        focused = self._focused_pane()
        for pane in PANES:
            self.set_class(pane == focused, f"-pane-{pane}")

    def _view_in_words(self) -> str:
        """The view for the jump and export prompts, e.g. "failed · search “drain”"."""
        return self.active.label + (f" · search “{self.search}”" if self.search else "")

    def _query(self) -> SagaQuery:
        return SagaQuery(self.active.states, self.search or None, self.sort, display_zone())

    def _apply_query(self, keep: Saga | None = None,
                     first_page: FirstPage | None = None, *, at_top: bool = False) -> None:
        """Show the query of the chips, search and sort (keep: on this saga, found in it;
        first_page: rows read already, used if they are this query's; at_top: on its first
        row, not where it was last left)."""
        if self.source is None:
            return
        table = self.query_one(SagaTable)
        table.empty_message = self.active.empty_message(self.search or None)
        table.show(self.source, self._query(), at_newest=self.following or at_top, keep=keep,
                   first_page=first_page)
        # The chips and the title change with the new rows (one frame, not two), or on their
        # own when the rows are slow to come.
        if self._query_shown is not None:
            self._query_shown.stop()
        self._query_shown = self.set_timer(PENDING_DETAIL_S, partial(self._show_query, None))

    def _show_query(self, total: int | None) -> None:
        if self._query_shown is not None:
            self._query_shown.stop()
            self._query_shown = None
        self.query_one(StateFilterBar).set_active(self.active)
        self._set_table_title(total)

    def _set_table_title(self, total: int | None) -> None:
        title = Text("sagas · ", end="")
        title.append_text(plain(self.active.label, "bold"))
        if self.search:
            title.append(" · search “")
            title.append_text(plain(self.search))
            title.append("”")
        title.append(f" · {format_count(total)}" if total is not None else " · …")
        if self.sort is not self._start_sort:  # the first order goes without saying
            title.append(f" · by {self.sort.label}")
        self.query_one(SagaTable).border_title = title

    # -- workers ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="counts")
    def load_counts(self, source: MergedSource, *, reload: bool = False) -> None:
        self._answer(read_counts(source, reload=reload))

    @work(thread=True, exclusive=True, group="detail")
    def load_detail(self, source: MergedSource, ref: SagaRef) -> None:
        self._answer(read_detail(source, ref))

    @work(thread=True, exclusive=True, group="poll")
    def poll_file(self, source: MergedSource) -> None:
        self._answer(read_poll(source))

    def _answer(self, message: Message) -> None:
        """From a worker: post its result unless a newer request superseded it."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        self.counts = message.counts
        self.query_one(StateFilterBar).show_counts(message.counts)
        if self.source is not None:
            self.query_one(InspectorHeader).show_store(self.source, message.counts)
        self._mark_refreshed()
        if message.reload and message.source is self.source:
            self._reload_with(message.counts)

    @on(ReadFailed)
    def _read_failed(self, message: ReadFailed) -> None:
        kind = message.error.kind
        if kind is ErrorKind.CANCELLED:  # superseded, or the app is closing: nothing to say
            return
        if kind is ErrorKind.BUSY:  # a writer's lock: the next look at the file catches up
            self._set_trouble(WAITING)
            return
        # Store messages quote paths and SQLite's words: shown as text, never markup.
        self.notify(safe(message.error.message), title=f"cannot read {message.what}",
                    severity="error", timeout=10, markup=False)

    # -- live: looking at the file for changes ----------------------------------------------

    def _poll_tick(self) -> None:
        if self.source is None or self.paused:
            return
        if self._poll_worker is not None and self._poll_worker.is_running:
            return  # the last look is not back yet (a writer's lock): never pile them up
        self._poll_worker = self.poll_file(self.source)

    def _note_faults(self, source: MergedSource, faults: tuple[Fault, ...], *,
                     opening: bool = False) -> None:
        """Several logs: a log newly gone or unreadable is said once (a notice) and stays
        said in the banner; its rows stay, marked gone. The others are left alone."""
        new = [fault for fault in faults if fault not in self.faults]
        self.faults = faults
        self._show_sources(source)
        self.refresh_bindings()  # R is offered while a log is gone or unreadable
        if not new:
            return
        unreadable = [fault for fault in new if not fault.gone]
        gone = [fault for fault in new if fault.gone]
        if unreadable:
            said = "; ".join(f"{fault.label} — {fault.reason}" for fault in unreadable)
            count = len(unreadable)
            self.notify(safe(f"{count} log{'s' if count > 1 else ''} could not be read: "
                             f"{said}"), title="the other logs are shown",
                        severity="warning" if opening else "error", timeout=10, markup=False)
        if gone:
            said = ", ".join(fault.label for fault in gone)
            self.notify(safe(f"{said}: deleted or replaced; its sagas are kept as last read, "
                             "marked gone. R opens the path again."), title="log gone",
                        severity="warning", timeout=10, markup=False)

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        if message.source is not self.source or self.paused:
            return  # a look at logs since reopened, or one taken before a pause
        if message.faults != self.faults:
            self._note_faults(message.source, message.faults)
        result = message.result
        if result.file is not FileState.PRESENT:
            trouble, said = _LOST[result.file]
            self._set_trouble(trouble, said.format(name=self.path.name))
        elif result.waiting is not None:
            self._set_trouble(WAITING)
        elif result.error is not None:
            self._set_trouble("file unreadable", f"{result.error.message}: the sagas shown "
                              "are the last ones read. R opens the file again.")
        else:
            recovered = self.trouble is not None  # read nothing meanwhile: read it all now
            self._set_trouble(None)
            self._changed_polls = self._changed_polls + 1 if result.changed else 0
            self._polls_since_reload += 1
            if (self._changed_polls > 1 and self._polls_since_reload < RELOAD_EVERY_POLLS
                    and not recovered):
                self._refresh_owed = True  # a writer without a rest: read at the next look
            elif result.changed or recovered or self._refresh_owed:
                self._refresh_live()
            else:
                self._mark_refreshed()

    def _refresh_live(self) -> None:
        """Read again what changed, unless the last reload is still reading (a newer one
        would supersede it, and under a busy writer nothing would settle): while changes
        keep coming, at most one reload a poll (every RELOAD_EVERY_POLLS, see _polled)."""
        counting = self._reload_counts is not None and self._reload_counts.is_running
        if counting or self.query_one(SagaTable).reading:
            self._refresh_owed = True
            return
        self._refresh_owed = False
        self._polls_since_reload = 0
        self.action_refresh()

    def _mark_refreshed(self) -> None:
        self.refreshed_at = self.now
        self._show_live()

    def _set_trouble(self, trouble: str | None, banner: str | None = None) -> None:
        """What keeps the file from being read (None: nothing), in the header; the banner
        says more when the file itself is gone or unreadable."""
        self.trouble = trouble
        banner_was = self.query_one(WarningBanner).trouble
        self.query_one(WarningBanner).show_trouble(banner)
        self._show_live()
        if banner != banner_was:
            self.refresh_bindings()  # R is offered while the banner says what is wrong

    def _show_live(self) -> None:
        snapshot = self.source is not None and all(
            member.snapshot or (member.store is not None and member.store.is_snapshot)
            for member in self.source.members if member.readable)
        mode = ("paused" if self.paused else "following" if self.following
                else "snapshot" if snapshot else "live")
        live = LiveStatus(mode, self.refreshed_at, self.trouble)
        self.query_one(InspectorHeader).show_live(live)

    # -- the table --------------------------------------------------------------------------

    @on(SagaTable.Loaded)
    def _table_loaded(self, message: SagaTable.Loaded) -> None:
        if message.query == self._query():
            self._show_query(message.total)

    @on(SagaTable.Failed)
    def _table_failed(self, message: SagaTable.Failed) -> None:
        self.post_message(ReadFailed("sagas", message.error))

    @on(SagaTable.Highlighted)
    def _saga_highlighted(self, message: SagaTable.Highlighted) -> None:
        saga = message.saga
        self.highlighted = saga
        if self.following and message.saga_table.cursor_row != 0:
            # Following keeps the newest saga highlighted: the operator moved off it.
            self._set_following(False)
            self.notify("stopped following (f follows again)", timeout=3)
        if saga is None:
            self.view = None
            self._stop_pending()
            table = self.query_one(SagaTable)
            self._clear_detail(table.empty_message if table.total == 0 else "no saga highlighted")
            return
        if self.view is not None and self.view.ref == saga.ref:
            return
        self.view = None
        if self._detail_waiting is not None and self._detail_waiting.ref != saga.ref:
            self._detail_waiting = None  # the panes are not up yet: another saga's detail
        ahead = self._ahead.get(saga.ref)
        if ahead is not None:  # read ahead: drawn in the same frame as the cursor
            self._stop_pending()
            hold_frame(self)
            self._apply_detail(DetailLoaded(saga.ref, ahead))
            return
        if self.source is not None:
            self.load_detail(self.source, saga.ref)
        # The panes below keep the previous saga until this one's detail arrives, redrawn
        # once (a full layout) instead of twice; they say "loading" only when it is slow.
        self._stop_pending()
        self._pending = self.set_timer(PENDING_DETAIL_S, partial(self._show_pending, saga))

    def _show_pending(self, saga: Saga) -> None:
        self._pending = None
        if self.highlighted is saga and self.view is None and self.panes_ready:
            self._show_loading(saga)

    def _show_loading(self, saga: Saga) -> None:
        """The saga's row, while its steps are read."""
        self.query_one(SagaPanel).show_saga(saga, self.now)
        self.query_one(StepList).show_steps(None)
        self.query_one(StepDetail).show_placeholder("loading steps…")

    def _stop_pending(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None

    @on(SagaTable.Chosen)
    def _saga_chosen(self, message: SagaTable.Chosen) -> None:
        self._enter_steps_for = message.saga.ref
        self._maybe_enter_steps()

    def _maybe_enter_steps(self) -> None:
        view = self.view
        if view is None or self._enter_steps_for != view.ref:
            return
        self._enter_steps_for = None
        steps = self.query_one(StepList)
        if not view.steps:
            self.notify("this saga has no steps recorded")
            return
        in_flight = view.in_flight_index()
        if in_flight is not None:
            steps.move_cursor(row=in_flight, animate=False)
            if self._step_shown != (view, in_flight):  # (usually it is shown already)
                self._show_step(in_flight)
        steps.focus()

    # -- the detail -------------------------------------------------------------------------

    @on(DetailLoaded)
    def _detail_loaded(self, message: DetailLoaded) -> None:
        # After the frame already due (the table's new rows or cursor): that one stays
        # cheap, and the panes below, which need a full layout, follow in the next.
        self.call_after_refresh(self._apply_detail, message)

    def _apply_detail(self, message: DetailLoaded) -> None:
        if self.highlighted is None or self.highlighted.ref != message.ref:
            return  # an answer for a saga no longer highlighted (ids collide across logs)
        if not self.panes_ready:
            self._detail_waiting = message  # drawn once the panes are mounted
            return
        self._stop_pending()
        view = message.view
        if view is None:
            self.view = None
            self._clear_detail(f"{saga_name(message.ref, self.several)} is no longer in "
                               "its log")
            return
        steps = self.query_one(StepList)
        # The same saga read again keeps its step; another starts on its in-flight step.
        same_saga = self.view is not None and self.view.ref == view.ref
        if same_saga and self.view is not None and self.view.detail == view.detail:
            self._maybe_enter_steps()  # read again, unchanged: nothing to redraw
            return
        cursor = steps.cursor_row if same_saga else (view.in_flight_index() or 0)
        self.view = view
        self.query_one(SagaPanel).show_saga(view.detail.saga, self.now, view)
        steps.show_steps(view, cursor)
        self._show_step(steps.cursor_row)
        self._maybe_enter_steps()
        self._read_ahead()

    def _read_ahead(self) -> None:
        """Read the neighbours' detail now, while the operator looks at this saga."""
        refs = self._ahead.missing(self.query_one(SagaTable).refs_near_cursor(READ_AHEAD))
        if refs and self.source is not None:
            self.read_ahead(self.source, refs, self._ahead.epoch)

    @work(thread=True, exclusive=True, group="read-ahead")
    def read_ahead(self, source: MergedSource, refs: list[SagaRef], epoch: int) -> None:
        worker = get_current_worker()
        views = read_views(source, refs, lambda: worker.is_cancelled)
        self._answer(ViewsReadAhead(epoch, views))

    @on(ViewsReadAhead)
    def _views_read_ahead(self, message: ViewsReadAhead) -> None:
        self._ahead.keep(message.epoch, message.views)

    def _show_step(self, position: int) -> None:
        view = self.view
        detail = self.query_one(StepDetail)
        if view is None:
            return
        if not view.steps:
            detail.show_placeholder("this saga has no steps recorded")
            return
        position = min(max(position, 0), len(view.steps) - 1)
        self._step_shown = (view, position)
        saga = view.detail.saga
        detail.show_step(view.steps[position], saga.state, self.now,
                         log_format=saga.log_format)

    @on(DataTable.RowHighlighted, "#steps")
    def _step_highlighted(self, message: DataTable.RowHighlighted) -> None:
        message.stop()
        steps = self.query_one(StepList)
        # The list held the frame (its cursor and the step's detail are drawn together).
        if self.view is not None and steps.view is self.view and (
                self._step_shown != (self.view, message.cursor_row)):
            self._show_step(message.cursor_row)

    def _clear_detail(self, message: str) -> None:
        self._placeholder, self._detail_waiting = message, None
        if not self.panes_ready:
            return
        self.query_one(SagaPanel).show_placeholder(message)
        self.query_one(StepList).show_steps(None)
        self.query_one(StepDetail).show_placeholder("")

    # -- filters and search -----------------------------------------------------------------

    def pick_filter(self, state_filter: StateFilter) -> None:
        self.active = state_filter
        self._apply_query()

    def action_filter(self, name: str) -> None:
        found = self.query_one(StateFilterBar).by_name(name)
        if found is not None:
            self.pick_filter(found)

    def action_filter_key(self, key: str) -> None:
        found = self.query_one(StateFilterBar).by_key(key)
        if found is not None:
            self.pick_filter(found)

    @on(StateFilterBar.Picked)
    def _filter_clicked(self, message: StateFilterBar.Picked) -> None:
        self.pick_filter(message.state_filter)

    def action_sort(self) -> None:
        """s: the next order (id, start time, duration), shown from its top: its first
        saga highlighted (the newest, the latest started, the longest), since that is what
        a sort is asked for. (A refresh keeps the highlighted saga instead.)"""
        self.sort = self.sort.next
        self._apply_query(at_top=True)

    def action_jump(self) -> None:
        """`:`: a prompt for a saga id (`SOURCE:ID` with several logs); the cursor goes to
        that saga."""
        if self.source is None:
            return
        from .jump import JumpScreen  # the copy, jump and export code loads on first use

        view = self._view_in_words()
        lander = self.query_one(SagaTable).lander()
        self.app.push_screen(JumpScreen(self.source, self._query(), view, lander),
                             partial(self._jump_to, epoch=self._ahead.epoch))

    def _jump_to(self, target: JumpTarget | None, epoch: int) -> None:
        if target is None:
            return
        if target.view is not None:  # read with the lookup: drawn when the cursor lands
            self._ahead.keep(epoch, [target.view])
        if target.show_all:  # the saga is hidden by the filter or search: show all sagas
            self.active, self.search = ALL, ""
            self.query_one(SearchBar).clear()
            self._apply_query(keep=target.saga)
        else:
            table = self.query_one(SagaTable)
            table.go_to(target.saga, target.landing)
            landed = table.highlighted_saga
            if target.view is not None and landed is not None and landed.ref == target.saga.ref:
                # Landed at once (its row was read, or read with the lookup): its detail is
                # drawn now too, so that the frame closing the prompt has the cursor, the rows
                # and the panes (the table's Highlighted, later, finds the saga shown).
                self.highlighted = landed
                self._stop_pending()
                self._apply_detail(DetailLoaded(landed.ref, target.view))
        self.action_focus_table()

    def action_search(self) -> None:
        self.query_one(SearchBar).open()

    def action_clear_search(self) -> None:
        self.query_one(SearchBar).clear()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            return bool(self.search) or self.query_one(SearchBar).display
        if action == "reopen":  # offered when a log shown is gone, replaced or unreadable
            return self.query_one(WarningBanner).trouble is not None or bool(self.faults)
        return True

    @on(SearchBar.Changed)
    def _search_changed(self, message: SearchBar.Changed) -> None:
        self._set_search(message.text)
        if message.submitted:
            self.action_focus_table()
            self._note_what_the_format_lacks(message.text)

    def _note_what_the_format_lacks(self, text: str) -> None:
        """`target:` on a server log: said, rather than left to an empty list."""
        if self.source is None:
            return
        terms = SagaQuery(text=text).parsed.terms
        for note in self.source.format.query_notes(
                str(term.qualifier) for term in terms if term.qualifier):
            self.notify(safe(note), severity="warning")

    @on(SearchBar.Cleared)
    def _search_cleared(self) -> None:
        self._set_search("")
        self.action_focus_table()

    def _set_search(self, text: str) -> None:
        if text != self.search:
            self.search = text
            self._apply_query()
        self.refresh_bindings()

    # -- actions ----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Read the counts, then (_reload_with) the table with them and the detail: the
        counts are read once a reload (the table's total comes from them)."""
        if self.source is None:
            return
        self._ahead.forget()  # the file changed: what was read ahead may be stale
        self._reload_counts = self.load_counts(self.source, reload=True)

    def _reload_with(self, counts: StateCounts) -> None:
        if self.source is None:
            return
        self.query_one(SagaTable).reload(at_newest=self.following, counts=counts)
        if self.highlighted is not None:
            self.load_detail(self.source, self.highlighted.ref)

    def action_follow(self) -> None:
        self._set_following(not self.following)
        if self.following:
            self.query_one(SagaTable).action_first()

    def _set_following(self, following: bool) -> None:
        self.following = following
        self._show_live()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._show_live()
        if not self.paused:
            self._poll_tick()  # catch up at once

    def action_reopen(self) -> None:
        if self.several:
            count = len(self.faults)
            said = f"{count} log{'s' if count != 1 else ''}" if count else "the logs"
            self.notify(f"reopening {said}…", timeout=3, markup=False)
        else:
            self.notify(f"reopening {safe(self.path.name)}…", timeout=3, markup=False)
        self.post_message(self.Reopen())

    def zone_changed(self) -> None:
        """Times are shown in another zone: everything that shows one is drawn again, and a
        search is run again (its since:/until: are read in the new zone)."""
        self._restyle(None)
        self.query_one(SagaTable).refresh()
        if self.search:
            self._apply_query(keep=self.highlighted)

    def _restyle(self, _theme: object) -> None:
        """A new theme: text drawn with the old theme's colours baked in (state badges,
        in-flight marks, the header's status) is drawn again."""
        if self.source is not None:
            self.query_one(InspectorHeader).show_store(self.source, self.counts)
        view = self.view
        if view is not None:
            steps = self.query_one(StepList)
            cursor = steps.cursor_row
            self.query_one(SagaPanel).show_saga(view.detail.saga, self.now, view)
            steps.show_steps(view, cursor)
            self._show_step(cursor)

    # -- hand it on: copy and export ------------------------------------------------------

    def _view_to_copy(self) -> SagaView | None:
        if self.view is None:
            self.notify("no saga to copy yet", severity="warning")
        return self.view

    def action_copy_payload(self) -> None:
        """y: a focused payload copies itself; on the steps, the highlighted step's output
        (its cmd when it has none); elsewhere the saga's input."""
        if isinstance(self.focused, PayloadBlock):  # from the palette: the block has focus
            self.focused.action_copy()
            return
        from saga_inspector.tui.clipboard import chosen_payload, copy_payload

        if (view := self._view_to_copy()) is not None:
            steps = self.query_one(StepList)
            row = steps.cursor_row if self.focused is steps else None
            copy_payload(self.app, *chosen_payload(view, row, self.several),
                         database=view.detail.saga.source.path if self.several else None)

    def action_copy_saga(self) -> None:
        from saga_inspector.tui.clipboard import copy_saga

        if (view := self._view_to_copy()) is not None:
            copy_saga(self.app, view, self.several)

    def action_copy_summary(self) -> None:
        from saga_inspector.tui.clipboard import copy_summary

        if (view := self._view_to_copy()) is not None:
            copy_summary(self.app, view, self.now, self.several)

    def action_export(self) -> None:
        table = self.query_one(SagaTable)
        if self.source is None or table.saga_query is None or table.total == 0:
            self.notify("no sagas in this view to export", severity="warning")
            return
        from saga_inspector.export import name_safe

        from .export import ExportScreen  # on demand, like help: most sessions never export

        view = self._view_in_words()
        name = self.active.name + ("-search" if self.search else "")
        self.app.push_screen(ExportScreen(
            self.source, table.saga_query, database=self.paths, view=view,
            view_name=name_safe(name), total=table.total, now=self.now))

    def action_explain(self) -> None:
        """x: the plain-language triage summary of the highlighted saga, full screen."""
        if self.view is None:
            self.notify("no saga to explain yet", severity="warning")
            return
        from saga_inspector.store.merged import last_write

        from .explain import ExplainScreen

        detail = self.view.detail
        self.app.push_screen(ExplainScreen(detail, self.now,
                                           last_write=last_write(detail.saga.source.path),
                                           several=self.source.source_count > 1))

    def action_focus_table(self) -> None:
        self.query_one(SagaTable).focus()

    def action_focus_steps(self) -> None:
        if self.panes_ready and not self._focus_pane("steps"):
            self.action_focus_table()

    def action_pane(self, step: int) -> None:
        """h/l: the focus to the pane on the left or right, skipping the ones with nothing
        to focus (a saga without input, a saga without steps)."""
        if not self.panes_ready:
            return
        order = list(PANES)
        position = order.index(self._focused_pane()) + step
        while 0 <= position < len(order):
            if self._focus_pane(order[position]):
                return
            position += step

    def _focus_pane(self, pane: str) -> bool:
        if pane == "sagas":
            self.action_focus_table()
            return True
        if pane == "saga":
            block = self.query_one(SagaPanel).query_one(PayloadBlock)
            if block.display:
                block.focus()
            return block.display
        if pane == "steps":
            steps = self.query_one(StepList)
            if steps.row_count:
                steps.focus()
            return bool(steps.row_count)
        return self.action_focus_payloads()

    def action_toggle_timeline(self) -> None:
        """t: the timeline on a short terminal (hidden there), off on a tall one."""
        self.toggle_class("-timeline-toggled")

    def action_open_reason(self) -> None:
        """o outside a payload: the whole failure reason, full screen (the panes show its
        first lines): the highlighted step's when the focus is on the steps, else the
        saga's."""
        reason, label = None, "failure reason"
        if self._focused_pane() in ("steps", "detail") and self._step_shown is not None:
            view, position = self._step_shown
            reason, label = view.steps[position].step.failure_reason, "step failure reason"
        if not reason:
            saga = self.view.detail.saga if self.view is not None else self.highlighted
            reason = saga.failure_reason if saga is not None else None
            label = "failure reason"
        if not reason:
            self.notify("no failure reason to open", severity="warning")
            return
        from .payload import PayloadScreen

        self.app.push_screen(PayloadScreen(text_payload(label, reason)))

    def action_focus_payloads(self) -> bool:
        if not self.panes_ready:
            return False
        for block in self.query_one(StepDetail).query(PayloadBlock):
            if block.display:
                block.focus()
                return True
        return False

    def action_sources(self) -> None:
        """S: the logs of the view (format, counts, status, last write); space hides or
        shows one, and the view is read again when the screen closes on a change."""
        from saga_inspector.store.merged import MergedSource

        from .sources import SourcesClosed, SourcesScreen

        if not isinstance(self.store, MergedSource):
            self.notify("no logs open yet", severity="warning")
            return

        def closed(result: SourcesClosed | None) -> None:
            if result is not None and result.changed and isinstance(self.store, MergedSource):
                self._show_sources(self.store)
                self.action_refresh()

        self.app.push_screen(SourcesScreen(self.store, lambda: self.now), closed)
