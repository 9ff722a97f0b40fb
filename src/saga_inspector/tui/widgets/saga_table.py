"""SagaTable: a virtual table of sagas that never holds the whole result.

It draws one line at a time (Textual's Line API) from a bounded cache of keyset pages, so a
million sagas scroll like ten. Every store call runs in a thread worker; results come back as
messages tagged with a generation number, and those of a superseded query are dropped.

Live refresh (a writer adds sagas while the table is shown): a reload keeps the highlighted
saga on its line of the screen. The rows that arrived above it are counted in the worker,
and the cursor, the scroll offset and the rows still drawn from the previous read all move
down by that many at once, so nothing jumps; the saga's id then confirms the place. The new
rows wait above the view, announced ("3 new — press g to see them"). A saga whose state
changed is marked for a moment.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.geometry import Region, Size, clamp
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from saga_inspector.report import format_duration, format_time
from saga_inspector.store import (
    PAGE_SIZE,
    ErrorKind,
    Saga,
    SagaQuery,
    SagaStore,
    StateCounts,
    StoreError,
    Timestamp,
)
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import format_age
from saga_inspector.tui.widgets.badges import STATE_COMPONENTS, state_badge

MAX_PAGES = 50  # pages kept in memory: 5 000 sagas whatever the size of the file
MAX_PLACES = 64  # queries whose place (highlighted saga, scroll) is remembered
MAX_EXTENTS = 8  # queries whose total and page anchors are remembered (until a reload)
_QUERY_GROUP = "saga-table-query"
_ANCHORS_GROUP = "saga-table-anchors"
ANY_GENERATION = -1
_PAGES_GROUP = "saga-table-pages"
FOREIGN_STALE_S = 0.15  # how long the previous query's rows may stand in for the new one's
CHANGED_MARK_SECONDS = 2.0  # how long a saga whose state changed stays marked


# -- the page cache: plain Python, no Textual -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One keyset read that fills page `page` of a result (never OFFSET)."""

    page: int
    limit: int
    older_than: int | None = None  # the sagas just below this id
    newer_than: int | None = None  # the sagas just above this id
    from_oldest: bool = False  # the last page, read from the oldest end

    def run(self, store: SagaStore, query: SagaQuery,
            cancelled: Callable[[], bool] | None = None) -> list[Saga]:
        if self.from_oldest:
            return store.oldest(query, limit=self.limit, cancelled=cancelled)
        return store.sagas(
            query, older_than=self.older_than, newer_than=self.newer_than, limit=self.limit,
            cancelled=cancelled,
        )


class RowCache:
    """The rows of one query by position, held as a bounded LRU of pages.

    Pages are aligned (page k holds positions k*page_size onwards), so every way of reading a
    page — from the newest end, from a neighbouring page, from an anchor, from the oldest
    end — yields the same rows, and any mix of them can fill the cache.
    """

    def __init__(self, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self.total: int | None = None
        self._anchors: list[int] | None = None
        self._negated_anchors: list[int] = []  # ascending, for bisect
        self._pages: OrderedDict[int, list[Saga]] = OrderedDict()

    @property
    def anchors(self) -> list[int] | None:
        """The id starting each page, newest first (None until read)."""
        return self._anchors

    @anchors.setter
    def anchors(self, anchors: list[int] | None) -> None:
        self._anchors = anchors
        self._negated_anchors = [-anchor for anchor in anchors or ()]

    @property
    def pages_held(self) -> int:
        return len(self._pages)

    @property
    def row_count(self) -> int:
        """Rows known to exist: the total once counted, else up to the furthest page read."""
        if self.total is not None:
            return self.total
        return max((page * self.page_size + len(rows) for page, rows in self._pages.items()),
                   default=0)

    def has(self, page: int) -> bool:
        return page in self._pages

    def held(self) -> Iterator[Saga]:
        """Every saga held, in no particular order."""
        for rows in self._pages.values():
            yield from rows

    def row(self, position: int) -> Saga | None:
        page, index = divmod(position, self.page_size)
        rows = self._pages.get(page)
        if rows is None or not 0 <= index < len(rows):
            return None
        self._pages.move_to_end(page)
        return rows[index]

    def page_range(self, first_row: int, last_row: int) -> range:
        """The pages holding rows first_row..last_row, cut to the result when its size is known."""
        if self.total is not None:
            last_row = min(last_row, self.total - 1)
        first_row = max(first_row, 0)
        if last_row < first_row:
            return range(0)
        return range(first_row // self.page_size, last_row // self.page_size + 1)

    def plan(self, page: int) -> PageRequest | None:
        """How to read `page` with what is known now; None when it cannot be reached yet."""
        size = self.page_size
        if page < 0 or (self.total is not None and page * size >= self.total):
            return None
        if page == 0:
            return PageRequest(0, size)
        previous = self._pages.get(page - 1)
        if previous is not None and len(previous) == size:
            return PageRequest(page, size, older_than=previous[-1].saga_id)
        following = self._pages.get(page + 1)
        if following:
            return PageRequest(page, size, newer_than=following[0].saga_id)
        if self._anchors is not None and page < len(self._anchors):
            return PageRequest(page, size, older_than=self._anchors[page] + 1)
        if self.total is not None and page == (self.total - 1) // size:
            return PageRequest(page, self.total - page * size, from_oldest=True)
        return None

    def store(self, request: PageRequest, rows: Sequence[Saga]) -> None:
        self._pages[request.page] = list(rows)
        self._pages.move_to_end(request.page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        reads_down = not request.from_oldest and request.newer_than is None
        if self.total is None and reads_down and len(rows) < request.limit:
            self.total = request.page * self.page_size + len(rows)  # the result ends here

    def locate(self, saga_id: int) -> int | None:
        """The position of a saga among the pages held, or None."""
        for page, rows in self._pages.items():
            if rows and rows[-1].saga_id <= saga_id <= rows[0].saga_id:
                for index, saga in enumerate(rows):
                    if saga.saga_id == saga_id:
                        return page * self.page_size + index
        return None

    def page_holding(self, saga_id: int) -> int | None:
        """The page a saga would be on, from the anchors (None: unknown or outside)."""
        at_or_above = bisect.bisect_right(self._negated_anchors, -saga_id)
        return at_or_above - 1 if at_or_above else None


def dense_anchors(
    newest: int, oldest: int | None, total: int, page_size: int
) -> list[int] | None:
    """The page anchors without a scan, when the result's ids are every integer from the
    oldest to the newest (a log without deletions, viewed unfiltered); else None."""
    if oldest is None or newest - oldest + 1 != total:
        return None
    return list(range(newest, oldest - 1, -page_size))


def count_between(
    store: SagaStore, query: SagaQuery, above: int, up_to: int, page_size: int
) -> int:
    """How many sagas of the result have an id above `above` and at most `up_to`, by keyset
    upwards (the work grows with the sagas counted, not with the file)."""
    count = 0
    while True:
        page = store.sagas(query, newer_than=above, limit=page_size)
        count += sum(saga.saga_id <= up_to for saga in page)
        if len(page) < page_size or page[0].saga_id >= up_to:
            return count
        above = page[0].saga_id


# -- cells -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    ideal: int  # width when there is room
    right: bool = False


_COLUMNS = (
    _Column("id", 2, right=True),  # widened to the largest id
    _Column("name", 23),
    _Column("state", 21),  # " failed_compensation "
    _Column("started", 25),  # "06-02 14:05:23 (12d ago)"
    _Column("duration", 8, right=True),
    _Column("steps", 5, right=True),
    _Column("failure reason", 0),  # takes the rest
)
_GAP = 2
# Which column gives up width first when the table is narrow, and down to how much.
_SHRINK_ORDER = ((1, 12), (3, 14), (2, 12), (1, 8), (4, 6))
_REASON_MIN = 16


@lru_cache(maxsize=64)
def column_widths(width: int, id_width: int) -> tuple[int, ...]:
    """Widths of the columns for a table `width` cells wide; the failure reason gets the rest."""
    widths = [max(id_width, 2), *(column.ideal for column in _COLUMNS[1:-1])]
    gaps = _GAP * (len(_COLUMNS) - 1)
    for index, floor in _SHRINK_ORDER:
        excess = sum(widths) + gaps + _REASON_MIN - width
        if excess <= 0:
            break
        widths[index] = max(floor, widths[index] - excess)
    return (*widths, max(0, width - sum(widths) - gaps))


def format_started(stamp: Timestamp | None, now: datetime, *, with_age: bool = True) -> str:
    """`06-02 14:05:23 (5d ago)` in local time: `report.format_time` cut to fit a table.
    Odd values (missing, unparsable, out of range) as `format_time` shows them."""
    if stamp is None or stamp.value is None:
        return format_time(stamp)
    try:
        local = stamp.value.astimezone()
    except (OverflowError, OSError, ValueError):
        return format_time(stamp)
    short = local.strftime("%m-%d %H:%M:%S")
    return f"{short} ({format_age(stamp.value, now)})" if with_age else short


def _fit(text: Text, width: int, *, right: bool = False) -> Text:
    text.truncate(width, overflow="ellipsis", pad=not right)
    if right:
        text.align("right", width)
    return text


def _join(cells: Sequence[Text], widths: Sequence[int], style: Style) -> Text:
    """Cells fitted to their columns, on one line with the given base style."""
    line = Text(style=style, end="")
    for index, (cell, column, width) in enumerate(zip(cells, _COLUMNS, widths, strict=False)):
        if index:
            line.append(" " * _GAP)
        line.append_text(_fit(cell, width, right=column.right))
    return line


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- the widget --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the cursor was in a query: which saga, at which row, on which screen line."""

    saga_id: int | None
    position: int
    screen_row: int


@dataclass(frozen=True, slots=True)
class _Job:
    """What a worker reads: one query of one store, in pages of `page_size`."""

    store: SagaStore
    query: SagaQuery
    page_size: int
    counts: StateCounts | None = None  # the file's counts by state, when already read
    counts_epoch: int = 0
    newest_before: int | None = None  # a live reload: the newest id the previous read had


class _Result(Message, bubble=False):
    """A worker's result, applied on the UI thread if its generation is still current
    (ANY_GENERATION: whatever query is shown by then)."""

    def __init__(self, generation: int, apply: Callable[[], None]) -> None:
        super().__init__()
        self.generation = generation
        self.apply = apply


class _TableMessage(Message):
    """A message from a SagaTable, naming it as its control."""

    def __init__(self, saga_table: SagaTable) -> None:
        super().__init__()
        self.saga_table = saga_table

    @property
    def control(self) -> SagaTable:
        return self.saga_table


class SagaTable(ScrollView, can_focus=True, inherit_bindings=False):
    """The sagas of one query, newest first, read page by page as they come into view."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "first", "First"),
        Binding("G,end", "last", "Last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("enter", "choose", "Open"),
    ]

    # State badges use the app's shared `state--<state>` classes (badges.py, app.tcss).
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "saga-table--header",
        "saga-table--cursor",
        "saga-table--placeholder",
        "saga-table--message",
        "saga-table--error",
        "saga-table--changed",
        *STATE_COMPONENTS,
    }

    DEFAULT_CSS = """
    SagaTable {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        & > .saga-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .saga-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .saga-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .saga-table--placeholder { color: $text-muted; }
        & > .saga-table--message { color: $text-muted; }
        & > .saga-table--error { color: $text-error; text-style: bold; }
        & > .saga-table--changed { background: $accent 35%; text-style: bold; }
    }
    """

    class Highlighted(_TableMessage):
        """The highlighted saga changed (None: nothing to highlight)."""

        def __init__(self, saga_table: SagaTable, saga: Saga | None) -> None:
            super().__init__(saga_table)
            self.saga = saga

    class Chosen(_TableMessage):
        """Enter (or a double click) on a saga."""

        def __init__(self, saga_table: SagaTable, saga: Saga) -> None:
            super().__init__(saga_table)
            self.saga = saga

    class Loaded(_TableMessage):
        """A query's first rows arrived (total None while uncounted); posted again with the
        total once it is counted, and after each reload."""

        def __init__(self, saga_table: SagaTable, query: SagaQuery, total: int | None) -> None:
            super().__init__(saga_table)
            self.query = query
            self.total = total

    class Failed(_TableMessage):
        """Reading the current query failed; the table shows the error in place of rows."""

        def __init__(self, saga_table: SagaTable, error: StoreError) -> None:
            super().__init__(saga_table)
            self.error = error

    # Set with each new query; drawn when its rows come (no repaint of the old rows now).
    empty_message: reactive[str] = reactive("no sagas", repaint=False)
    # Reading the page anchors scans every id of the result and holds the store meanwhile,
    # so they are read only when something needs them (a far jump, finding a remembered
    # saga, G on a search) -- except for a search, whose total only that scan can tell:
    # its scan starts once the operator has stayed on it this many seconds (None: never).
    search_scan_delay: float | None = 0.5
    # The time ages are measured from; tests and snapshots may pin it.
    clock: Callable[[], datetime] = staticmethod(_utc_now)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store: SagaStore | None = None
        self._query: SagaQuery | None = None
        self._generation = 0
        self._cache = RowCache()
        self._stale: RowCache | None = None  # the previous read of a reloaded query
        self._loaded = False  # the current query's first page has arrived
        self._error: StoreError | None = None
        self._cursor = 0
        self._restore: _Place | None = None  # a place to find again as rows arrive
        self._restore_page: int | None = None
        self._places: OrderedDict[SagaQuery, _Place] = OrderedDict()
        self._pending: set[int] = set()  # pages requested, not arrived
        self._wanted: frozenset[int] = frozenset()  # pages near the view (read by workers)
        self._jump_to_end = False
        self._total_announced = False
        self._anchors_asked = False
        self._scan_timer: Timer | None = None
        self._stale_timer: Timer | None = None
        self._stale_foreign = False  # self._stale holds another query's rows
        # What is known of the file, reused across filters until a reload or another file:
        self._counts: StateCounts | None = None
        self._extents: OrderedDict[SagaQuery, tuple[int, list[int] | None]] = OrderedDict()
        self._counts_epoch = 0  # counts read under an older epoch are stale
        self._posted: Saga | None = None
        self._now = self.clock()
        # Live refresh: see the module's docstring.
        self._top_id: int | None = None  # the newest saga of the result, as last read
        self._newest_before: int | None = None  # _top_id when a live reload started
        self._stale_shift = 0  # rows that arrived above the stale ones since they were read
        self._previous_states: dict[int, str] = {}  # the stale rows' states, by saga id
        self._changed_marks: dict[int, Timer] = {}  # sagas marked as changed, until the timer
        self._stalled = False  # a writer's lock stopped the reads; what is drawn stays
        self.new_above = 0  # rows that arrived above the view since it was at the top

    # -- public interface ----------------------------------------------------------------

    @property
    def highlighted_saga(self) -> Saga | None:
        if self._error is not None or self._restore is not None or not self._loaded:
            return None
        return self._cache.row(self._cursor)

    @property
    def total(self) -> int | None:
        return self._cache.total

    @property
    def query(self) -> SagaQuery | None:
        return self._query

    @property
    def cursor_row(self) -> int:
        """The cursor's position in the result (0: the newest saga)."""
        return self._cursor

    @property
    def reading(self) -> bool:
        """The current read has not yet drawn its rows at their place (a newer reload would
        supersede it)."""
        return not self._stalled and self._error is None and (
            not self._loaded or self._restore is not None)

    def show(self, store: SagaStore, query: SagaQuery, *, at_newest: bool = False) -> None:
        """Switch to `query`, back at the place it was left if it was shown before
        (at_newest: on its newest saga)."""
        if store is self._store and query == self._query:
            # The same query again: keep what is drawn until fresh rows come.
            self.reload(at_newest=at_newest)
            return
        if store is not self._store:
            self._places.clear()
            self._forget_file_facts()
        elif self._query is not None:
            self._remember(self._query, self._current_place())
            self._remember_extent()
        place = None if at_newest else self._places.get(query)
        self._start(store, query, place, stale=None)

    def reload(self, *, at_newest: bool = False) -> None:
        """Read the current query again. The highlighted saga keeps its line of the screen:
        sagas that arrived above it move the scroll offset, not the saga (at_newest: the
        newest saga is highlighted instead, as when following)."""
        if self._store is not None:
            self._restart(self._store, None if at_newest else self._current_place(), live=True)

    def switch_store(self, store: SagaStore) -> None:
        """The same query from another store (the file reopened), the highlighted saga kept
        when the new file has it."""
        self._places.clear()
        self._restart(store, self._current_place(), live=False)

    def _restart(self, store: SagaStore, place: _Place | None, *, live: bool) -> None:
        if self._query is None:
            return
        self._forget_file_facts()  # the file may have changed: count again
        # Rows already on screen stay drawn until fresh ones replace them (no flash of "…").
        stale = self._cache if self._loaded else self._stale
        self._start(store, self._query, place, stale=stale, live=live)

    # -- starting a query ------------------------------------------------------------------

    def _forget_file_facts(self) -> None:
        self._counts, self._counts_epoch = None, self._counts_epoch + 1
        self._extents.clear()

    def _remember_extent(self) -> None:
        """A query's total and anchors, so that coming back to it needs no scan."""
        total, anchors = self._cache.total, self._cache.anchors
        if self._query is None or total is None or self._error:
            return
        self._extents[self._query] = (total, anchors)
        self._extents.move_to_end(self._query)
        while len(self._extents) > MAX_EXTENTS:
            self._extents.popitem(last=False)

    def _remember(self, query: SagaQuery, place: _Place) -> None:
        self._places[query] = place
        self._places.move_to_end(query)
        while len(self._places) > MAX_PLACES:
            self._places.popitem(last=False)

    def _current_place(self) -> _Place:
        if self._restore is not None:
            return self._restore
        saga = self.highlighted_saga
        return _Place(saga.saga_id if saga else None, self._cursor,
                      self._cursor - self.scroll_offset.y)

    def _start(
        self, store: SagaStore, query: SagaQuery, place: _Place | None, stale: RowCache | None,
        *, live: bool = False,
    ) -> None:
        self._begin_live(stale if live else None, place)
        self._generation += 1
        if self._scan_timer is not None:
            self._scan_timer.stop()
        if self._stale_timer is not None:
            self._stale_timer.stop()
        self._anchors_asked = False
        # Another query of the same file: its old rows stay drawn until the new first page
        # comes (one frame, no flash of "loading…"), or until it is slow in coming.
        switching = stale is None and self._loaded and store is self._store
        self._stale_foreign = switching
        if switching:
            stale = self._cache
            self._stale_timer = self.set_timer(
                FOREIGN_STALE_S, partial(self._drop_foreign_stale, self._generation))
        self._store, self._query, self._stale = store, query, stale
        self._cache = RowCache()
        if query in self._extents:
            self._cache.total, self._cache.anchors = self._extents[query]
        self._loaded, self._error, self._jump_to_end = False, None, False
        self._total_announced = False
        self._pending, self._wanted = {0}, frozenset({0})
        self._restore, self._restore_page = place, None
        self._choose_when_loaded = False
        self._cursor = place.position if place else 0
        if not switching:  # else what is drawn, and its size, stay until the new rows come
            self._update_virtual_size()
            self.refresh()
        if place is None:
            self.scroll_to(y=0, animate=False, force=True)
        if self.is_mounted:
            self._launch()

    def _begin_live(self, stale: RowCache | None, place: _Place | None) -> None:
        """What a live reload compares its fresh rows with: the states drawn before, and the
        newest id read before (when the place is kept); nothing for another query or file."""
        self._stale_shift, self._stalled = 0, False
        self._previous_states = {saga.saga_id: saga.state for saga in stale.held()} if stale else {}
        self._newest_before = self._top_id if stale is not None and place is not None else None
        if stale is None:
            self._top_id = None
            self._set_new_above(0)

    def on_mount(self) -> None:
        if self._query is not None:
            self._launch()

    def _job(self) -> _Job:
        assert self._store is not None and self._query is not None
        return _Job(self._store, self._query, self._cache.page_size, self._counts,
                    self._counts_epoch, self._newest_before)

    def _launch(self) -> None:
        self.workers.cancel_group(self, _PAGES_GROUP)
        self.workers.cancel_group(self, _ANCHORS_GROUP)
        self.run_worker(partial(self._load_query, self._generation, self._job()), thread=True,
                        group=_QUERY_GROUP, exclusive=True)

    def _need_anchors(self) -> None:
        """Something can only be reached through the anchors: read them (once) now."""
        if self._cache.anchors is not None or self._anchors_asked or self._error is not None:
            return
        if self._store is None or self._query is None or not self.is_mounted:
            return
        self._anchors_asked = True
        self.run_worker(partial(self._load_anchors, self._generation, self._job()),
                        thread=True, group=_ANCHORS_GROUP, exclusive=True)

    def _scan_when_settled(self) -> None:
        """A search's total needs the scan: run it once the operator stays on the search."""
        query, delay = self._query, self.search_scan_delay
        if query is None or not query.searching or self._cache.total is not None:
            return
        if delay is not None and delay <= 0:
            self._need_anchors()
        elif delay is not None:
            self._scan_timer = self.set_timer(
                delay, partial(self._scan_timer_fired, self._generation))

    def _scan_timer_fired(self, generation: int) -> None:
        if generation == self._generation:
            self._need_anchors()

    # -- workers (these run off the UI thread: no widget state is changed here) --------------

    def _post(self, generation: int, apply: Callable[[], None]) -> None:
        with suppress(RuntimeError):  # the app's loop closed while the worker ran
            self.post_message(_Result(generation, apply))

    def _superseded(self, generation: int) -> Callable[[], bool]:
        """For the store: stop this read as soon as a newer query replaces it."""
        return lambda: generation != self._generation

    def _load_query(self, generation: int, job: _Job) -> None:
        """The first page first (rows on screen soonest), then the total, cheap ways only."""
        first = PageRequest(0, job.page_size)
        try:
            rows = first.run(job.store, job.query, self._superseded(generation))
            above = self._rows_above(job, rows)
            self._post(generation, partial(self._first_page_arrived, first, rows, above))
            if len(rows) < job.page_size:  # the whole result is on the first page
                anchors = [rows[0].saga_id] if rows else []
                self._post(generation, partial(self._anchors_arrived, anchors))
            elif not job.query.searching and generation == self._generation:
                self._load_extent(generation, job, rows[0].saga_id)
        except StoreError as error:
            self._post(generation, partial(self._failed, error))

    @staticmethod
    def _rows_above(job: _Job, rows: list[Saga]) -> int:
        """In a live reload, the rows that arrived above the previous newest one: every row
        below moved down by that many."""
        if job.newest_before is None:
            return 0
        above = sum(saga.saga_id > job.newest_before for saga in rows)
        if above < len(rows) or len(rows) < job.page_size:
            return above
        # A whole page of new rows: count the rest, up to this page's newest (rows that
        # arrived since it was read belong to the next reload).
        return count_between(job.store, job.query, job.newest_before, rows[0].saga_id,
                             job.page_size)

    def _load_extent(self, generation: int, job: _Job, newest: int) -> None:
        """The total from the counts by state (read once per file and reload); the anchors
        too when the ids leave no gap (then they need no scan)."""
        counts = job.counts or job.store.counts()
        # The counts serve whatever filter is shown next, so they land even if superseded.
        self._post(ANY_GENERATION, partial(self._counts_arrived, job.counts_epoch, counts))
        total = counts.count(job.query.states)
        last: PageRequest | None = None
        if generation == self._generation:  # superseded: leave the store to the new query
            # The whole last page, not just the oldest id: `G` then draws from the cache.
            last_page = max(total - 1, 0) // job.page_size
            last = PageRequest(last_page, total - last_page * job.page_size, from_oldest=True)
            oldest = last.run(job.store, job.query, self._superseded(generation))
            anchors = dense_anchors(newest, oldest[-1].saga_id if oldest else None, total,
                                    job.page_size)
            if anchors is not None:  # before the total, so nothing asks for a scan meanwhile
                self._post(generation, partial(self._anchors_arrived, anchors))
        self._post(generation, partial(self._total_arrived, total))
        if last is not None and last.page > 0 and oldest:
            self._post(generation, partial(self._page_arrived, last, oldest))

    def _load_anchors(self, generation: int, job: _Job) -> None:
        """The scan for the anchors; for a search, then its last page, which tells the total
        (counting would be a second scan)."""
        try:
            anchors = job.store.page_anchors(job.query, stride=job.page_size,
                                             cancelled=self._superseded(generation))
            self._post(generation, partial(self._anchors_arrived, anchors))
            if job.query.searching and anchors:
                last = PageRequest(len(anchors) - 1, job.page_size,
                                   older_than=anchors[-1] + 1)
                rows = last.run(job.store, job.query, self._superseded(generation))
                self._post(generation, partial(self._page_arrived, last, rows))
                total = last.page * job.page_size + len(rows)
                self._post(generation, partial(self._total_arrived, total))
        except StoreError as error:
            self._post(generation, partial(self._failed, error))

    def _fetch_pages(
        self, generation: int, store: SagaStore, query: SagaQuery, requests: list[PageRequest]
    ) -> None:
        for request in requests:
            if generation != self._generation:  # superseded: its results would be dropped
                return
            if request.page not in self._wanted:  # scrolled past before its turn came
                self._post(generation, partial(self._pending.discard, request.page))
                continue
            try:
                rows = request.run(store, query, self._superseded(generation))
            except StoreError as error:
                self._post(generation, partial(self._failed, error))
                return
            self._post(generation, partial(self._page_arrived, request, rows))

    @on(_Result)
    def _apply_result(self, message: _Result) -> None:
        message.stop()
        if message.generation in (self._generation, ANY_GENERATION):
            message.apply()

    # -- results, on the UI thread ---------------------------------------------------------

    def _drop_foreign_stale(self, generation: int) -> None:
        """The rows of the previous query go: the new one's (or "loading…") are drawn."""
        if generation == self._generation and self._stale_foreign:
            self._stale_foreign, self._stale = False, None
            self._update_virtual_size()
            self.refresh()

    def _first_page_arrived(self, request: PageRequest, rows: list[Saga], above: int) -> None:
        if self._stale_foreign:
            self._stale_foreign, self._stale = False, None
        self._loaded = True
        # The next live reload counts the rows that arrive above this read's newest.
        self._top_id = rows[0].saga_id if rows else None
        if above:
            self._shift(above)
        self._page_arrived(request, rows)
        self._announce_total()
        self._scan_when_settled()

    def _page_arrived(self, request: PageRequest, rows: list[Saga]) -> None:
        self._pending.discard(request.page)
        self._cache.store(request, rows)
        self._mark_changed_states(rows)
        self._rows_changed()

    def _counts_arrived(self, epoch: int, counts: StateCounts) -> None:
        if epoch == self._counts_epoch:
            self._counts = counts

    def _total_arrived(self, total: int) -> None:
        self._cache.total = total
        self._announce_total()
        if self._jump_to_end:
            self._jump_to_end = False
            self._restore = None
            self._update_virtual_size()
            self._move_to(total - 1)
        self._rows_changed()

    def _anchors_arrived(self, anchors: list[int]) -> None:
        self._cache.anchors = anchors
        self._rows_changed()

    def _failed(self, error: StoreError) -> None:
        if error.kind is ErrorKind.BUSY and self._row_count() > 0:
            # A writer's lock: keep what is drawn; the refresh after the lock reads again.
            self._stalled = True
            self._pending.clear()
            self.post_message(self.Failed(self, error))
            return
        self._error = error
        self._stale_foreign, self._stale = False, None
        self._pending.clear()
        self._update_virtual_size()
        self.refresh()
        self.post_message(self.Failed(self, error))
        self._sync_highlight()

    def _announce_total(self) -> None:
        if self._total_announced or self._query is None:
            return
        self._total_announced = self._cache.total is not None
        self.post_message(self.Loaded(self, self._query, self._cache.total))

    def _rows_changed(self) -> None:
        self._update_virtual_size()
        self._resolve_restore()
        total = self._cache.total
        if self._restore is None and total is not None and self._cursor >= total:
            self._cursor = max(0, total - 1)
        self._sync_highlight()
        self.refresh()
        self._request_visible()

    # -- live refresh: rows that arrived above, states that changed ------------------------

    def _shift(self, rows: int) -> None:
        """`rows` sagas arrived above the previous newest: every row read before is now that
        many positions further down. The cursor, the place sought, the stale rows and the
        view all move together, so nothing moves on the screen."""
        self._stale_shift += rows
        self._cursor += rows
        if self._restore is not None:
            self._restore = replace(self._restore, position=self._restore.position + rows)
        self._update_virtual_size()
        self.scroll_to(y=self.scroll_offset.y + rows, animate=False, force=True)
        self._set_new_above(self.new_above + rows)

    def _set_new_above(self, count: int) -> None:
        self.new_above = count
        subtitle = f"{count} new — press g to see them" if count else ""
        if subtitle != (self.border_subtitle or ""):  # setting it repaints the whole table
            self.border_subtitle = subtitle

    def _mark_changed_states(self, rows: Sequence[Saga]) -> None:
        """Mark, for a moment, the sagas whose state differs from the one drawn before."""
        for saga in rows:
            before = self._previous_states.pop(saga.saga_id, None)
            if before is not None and before != saga.state:
                self._mark(saga.saga_id)

    def _mark(self, saga_id: int) -> None:
        timer = self._changed_marks.pop(saga_id, None)
        if timer is not None:
            timer.stop()
        self._changed_marks[saga_id] = self.set_timer(
            CHANGED_MARK_SECONDS, partial(self._unmark, saga_id))

    def _unmark(self, saga_id: int) -> None:
        self._changed_marks.pop(saga_id, None)
        self.refresh()

    @property
    def marked_as_changed(self) -> frozenset[int]:
        """Sagas drawn marked because their state just changed."""
        return frozenset(self._changed_marks)

    # -- finding a remembered place again ------------------------------------------------

    def _resolve_restore(self) -> None:
        place, total = self._restore, self._cache.total
        if place is None or not self._loaded:
            return
        # A saga found among the rows read is its place at once; anything else (the saga
        # gone, or on a page not read yet) needs the total first.
        located = None if place.saga_id is None else self._cache.locate(place.saga_id)
        if located is None and total is None:
            return
        position = located if located is not None else self._find(place)
        rows = self._row_count() if total is None else total
        self._cursor = clamp(place.position if position is None else position, 0,
                             max(0, rows - 1))
        self.scroll_to(y=self._cursor - place.screen_row, animate=False, force=True)
        if position is not None or total == 0:
            self._restore, self._restore_page = None, None

    def _find(self, place: _Place) -> int | None:
        """The row of the remembered saga; its old row if it left; None while unknown."""
        if place.saga_id is None:
            return place.position
        found = self._cache.locate(place.saga_id)
        if found is not None:
            return found
        if self._cache.anchors is None:
            self._need_anchors()
            return None  # the anchors will tell which page to look on
        page = self._cache.page_holding(place.saga_id)
        if page is None or self._cache.has(page):
            return place.position  # no longer in the result: the row at the same place
        self._restore_page = page
        return None

    # -- reading what comes into view ------------------------------------------------------

    def _request_visible(self) -> None:
        if self._store is None or self._query is None or self._error or not self._loaded:
            return
        cache, rows = self._cache, self._view_rows()
        top = self.scroll_offset.y
        # The screen, the cursor and a place being sought; then one screen of prefetch
        # either way (read when a neighbour gives the way, never worth a scan).
        needed = [*cache.page_range(top, top + rows - 1), self._cursor // cache.page_size]
        if self._restore_page is not None:
            needed.append(self._restore_page)
        near = [*needed, *cache.page_range(top - rows, top + 2 * rows - 1)]
        self._wanted = frozenset(near)
        todo = dict.fromkeys(p for p in near if not cache.has(p) and p not in self._pending)
        requests = [request for page in todo if (request := cache.plan(page)) is not None]
        self._pending.update(request.page for request in requests)
        if any(self._out_of_reach(page) for page in needed if page in todo):
            self._need_anchors()
        if not requests:
            return
        work = partial(self._fetch_pages, self._generation, self._store, self._query, requests)
        self.run_worker(work, thread=True, group=_PAGES_GROUP)

    def _out_of_reach(self, page: int) -> bool:
        """No way to read this page yet, nor a neighbour on its way that would give one."""
        pending = self._pending
        return (self._cache.plan(page) is None and page - 1 not in pending
                and page + 1 not in pending and page * self._cache.page_size < self._row_count())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < 1:  # the newest rows are in view: nothing new is hidden above
            self._set_new_above(0)
        self._request_visible()

    def on_resize(self, _event: events.Resize) -> None:
        self._request_visible()

    def _view_rows(self) -> int:
        """Rows of sagas that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _row_count(self) -> int:
        if self._error is not None:
            return 0
        if self._cache.total is not None or self._stale is None:
            return self._cache.row_count
        return max(self._cache.row_count, self._stale.row_count + self._stale_shift)

    def _stale_row(self, position: int) -> Saga | None:
        """The previous read's row at `position` (counted as now: after the shift)."""
        return None if self._stale is None else self._stale.row(position - self._stale_shift)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(0, self._row_count() + 1)  # +1: the header line

    # -- the highlighted saga ---------------------------------------------------------------

    def _sync_highlight(self) -> None:
        saga = self.highlighted_saga
        settled = saga is not None or self._error is not None or (
            self._loaded and self._cache.total == 0)
        if settled and saga != self._posted:
            self._posted = saga
            self.post_message(self.Highlighted(self, saga))
        if settled and self._choose_when_loaded:
            self._choose_when_loaded = False
            if saga is not None:
                self.post_message(self.Chosen(self, saga))

    def _move_to(self, position: int) -> None:
        count = self._row_count()
        if count == 0:
            return
        self._restore, self._restore_page = None, None
        self._cursor = clamp(position, 0, count - 1)
        rows, top = self._view_rows(), self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False, force=True)
        self.refresh()
        self._sync_highlight()
        self._request_visible()

    # -- keys and mouse ------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self._move_to(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self._move_to(self._cursor - 1)

    def action_first(self) -> None:
        self._jump_to_end = False
        self._move_to(0)

    def action_last(self) -> None:
        if self._cache.total is None:
            self._jump_to_end = self._loaded  # jump when the count arrives
            self._need_anchors()  # a search learns its total from them
            return
        self._move_to(self._cache.total - 1)

    def action_page_down(self) -> None:
        rows = self._view_rows()
        self.scroll_to(y=self.scroll_offset.y + rows, animate=False, force=True)
        self._move_to(self._cursor + rows)

    def action_page_up(self) -> None:
        rows = self._view_rows()
        self.scroll_to(y=self.scroll_offset.y - rows, animate=False, force=True)
        self._move_to(self._cursor - rows)

    def action_choose(self) -> None:
        saga = self.highlighted_saga
        if saga is not None:
            self.post_message(self.Chosen(self, saga))
        elif self._error is None and not self._loaded:
            # `5` then enter typed faster than the first page arrives: choose once it does.
            self._choose_when_loaded = True

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        position = self.scroll_offset.y + offset.y - 1
        if position >= self._row_count():
            return
        self._move_to(position)
        if event.chain == 2:
            self.action_choose()

    # -- drawing ---------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._now = self.clock()  # one "now" for every age drawn in this frame
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        message = self._message()
        if message is not None:
            return self._message_line(y, width, *message)
        position = self.scroll_offset.y + y - 1
        if position >= self._row_count():
            return Strip.blank(width, self.rich_style)
        return self._row_line(position, width)

    def _strip(self, text: Text, width: int) -> Strip:
        text.truncate(width, overflow="ellipsis", pad=True)
        # Text.render leaves the base style out when it has no spans: put it under every cell.
        console = self.app.console
        segments = Segment.apply_style(text.render(console), console.get_style(text.style))
        return Strip(list(segments), width)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def _widths(self, width: int) -> tuple[int, ...]:
        newest = self._cache.row(0) or (self._stale.row(0) if self._stale else None)
        return column_widths(width, len(str(newest.saga_id)) if newest else 2)

    def _header(self, width: int) -> Strip:
        titles = [Text(column.title) for column in _COLUMNS]
        style = self.rich_style + self._style("saga-table--header")
        return self._strip(_join(titles, self._widths(width), style), width)

    def _message(self) -> tuple[str, str] | None:
        """What to draw in place of rows (text, style class), or None to draw rows."""
        if self._error is not None and self._error.kind is ErrorKind.BUSY:
            return "waiting: a writer holds a lock on the file…", "saga-table--message"
        if self._error is not None:
            return f"cannot read sagas: {self._error.message}", "saga-table--error"
        if self._query is None:
            return "", "saga-table--message"
        if not self._loaded and self._stale is None:
            return "loading…", "saga-table--message"
        if self._loaded and self._cache.total == 0:
            return self.empty_message, "saga-table--message"
        return None

    def _message_line(self, y: int, width: int, message: str, style_name: str) -> Strip:
        if y != 1 + (self._view_rows() - 1) // 2:
            return Strip.blank(width, self.rich_style)
        text = plain(message, style=self.rich_style + self._style(style_name))
        text.truncate(width, overflow="ellipsis")
        text.align("center", width)
        return self._strip(text, width)

    def _row_line(self, position: int, width: int) -> Strip:
        saga = self._cache.row(position) or self._stale_row(position)
        base = self.rich_style
        if saga is not None and saga.saga_id in self._changed_marks:
            base += self._style("saga-table--changed")
        if position == self._cursor:
            base += self._style("saga-table--cursor")
        widths = self._widths(width)
        if saga is None:  # not read yet: a dim placeholder until its page arrives
            cells = [Text("…", style=self._style("saga-table--placeholder"))]
        else:
            cells = self._cells(saga, widths)
        return self._strip(_join(cells, widths, base), width)

    def _cells(self, saga: Saga, widths: Sequence[int]) -> list[Text]:
        started = format_started(saga.started_at, self._now)
        if len(started) > widths[3]:
            started = format_started(saga.started_at, self._now, with_age=False)
        steps = f"{saga.steps_done}/{saga.steps_total}" if saga.steps_total else ""
        return [
            Text(str(saga.saga_id)),
            plain(saga.name),
            Text.assemble(state_badge(self, saga.state)),  # its colour stops at the text
            Text(started),
            Text(format_duration(saga.duration) if saga.ended_at else ""),
            Text(steps),
            plain(saga.failure_reason) if saga.failure_reason is not None else Text(),
        ]
