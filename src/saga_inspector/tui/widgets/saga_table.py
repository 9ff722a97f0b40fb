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

Sorts (by id, start time or duration): pages are read by keyset on the query's sort key
(`SagaQuery.key_of`: the value, then the id). A saga is found again in another sort, or
jumped to (`go_to`), by counting the rows before its key and reading the page around it.

What a key costs (issue 6): a cursor move repaints the two lines it changes; a query shown
again draws the rows it had in view at once, and reads them again behind them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
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

from saga_inspector.display_time import TimeStyle, show_time, zone_label
from saga_inspector.report import format_duration
from saga_inspector.store import (
    INDEXED_SORTS,
    PAGE_SIZE,
    ErrorKind,
    Saga,
    SagaQuery,
    SagaRef,
    SortKey,
    SortOrder,
    StateCounts,
    StoreError,
    Timestamp,
)
from saga_inspector.store.paging import (
    MAX_PAGES,
    PageRequest,
    RowCache,
    count_between,
    dense_anchors,
    find_row,
)
from saga_inspector.store.repository import READ_GAP
from saga_inspector.store.scan import share
from saga_inspector.store.source import SagaSource
from saga_inspector.tui.head_start import FirstPage, widest_id
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import time_with_age
from saga_inspector.tui.widgets.badges import STATE_COMPONENTS, state_badge
from saga_inspector.units import format_count

# A search sorted by duration reads every page as a scan of the whole result (no index of
# the file serves that order, and the store's own serves states only): the same cost for
# 1 000 rows as for 100. Pages are that much bigger then, and fewer are kept: still 5 000
# sagas at most. By id, by start time (store/start_order.py) and from the store's sort index
# (sort_index.py), a page reads only what it holds: small pages (_small_pages).
SORTED_PAGE_SIZE = 1000
SORT_PROGRESS_S = 0.1  # how often reading a sort's keys says how far it got
SEARCH_PROGRESS_S = 0.1  # how often a search's scan says how far it got
CANCEL_KEY = "esc"  # the dashboard's key that clears the search, which stops its scan
SMALL_PAGE_SORTS = frozenset({SortOrder.ID, SortOrder.STARTED})
MAX_PLACES = 64  # queries whose place (highlighted saga, scroll) is remembered
MAX_EXTENTS = 8  # queries whose total and page anchors are remembered (until a reload)
MAX_SHOWN_ROWS = 8  # queries whose rows in view are remembered (until a reload)
_QUERY_GROUP = "saga-table-query"
_ANCHORS_GROUP = "saga-table-anchors"
ANY_GENERATION = -1
_PAGES_GROUP = "saga-table-pages"
_SEEK_GROUP = "saga-table-seek"  # a jump's row and page (go_to)
FOREIGN_STALE_S = 0.15  # how long the previous query's rows may stand in for the new one's
CHANGED_MARK_SECONDS = 2.0  # how long a saga whose state changed stays marked


# -- cells -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    ideal: int  # width when there is room
    right: bool = False


# "06-02 14:05:23 (12d ago)"; its title names the display zone (started_title).
_STARTED = _Column("started", 25)
_ID = _Column("id", 2, right=True)  # widened to the largest id
# With several logs: the saga's log, after the id (widened to the longest label, at most
# SOURCE_MAX; the first to give up width on a narrow terminal, its labels cut with `…`).
_SOURCE = _Column("source", 0)
SOURCE_MAX = 24
_SOURCE_MIN = 8
_SOURCE_SHORT = 12  # (first down to this, once the name and the start have shrunk)
_COLUMNS = (
    _ID,
    _Column("name", 23),
    _Column("state", 21),  # " failed_compensation "
    _STARTED,
    _Column("duration", 8, right=True),
    _Column("steps", 5, right=True),
    _Column("failure reason", 0),  # takes the rest
)
_SOURCE_COLUMNS = (_ID, _SOURCE, *_COLUMNS[1:])
_GAP = 2
# Which column gives up width first when the table is narrow, and down to how much
# (indexes in _COLUMNS; with the source column, it goes first and the rest shift by one).
_SHRINK_ORDER = ((1, 12), (3, 14), (2, 12), (1, 8), (4, 6))
_REASON_MIN = 16


def columns_of(with_source: bool) -> tuple[_Column, ...]:
    return _SOURCE_COLUMNS if with_source else _COLUMNS


@lru_cache(maxsize=64)
def column_widths(width: int, id_width: int, source_width: int = 0) -> tuple[int, ...]:
    """Widths of the columns for a table `width` cells wide; the failure reason gets the rest.
    `source_width` (several logs): the source column's ideal width (0: no such column)."""
    columns = columns_of(source_width > 0)
    ideal = [column.ideal for column in _COLUMNS[1:-1]]
    widths = [max(id_width, 2), *([source_width] if source_width else []), *ideal]
    gaps = _GAP * (len(columns) - 1)
    shift = 1 if source_width else 0
    order = [(index + shift if index else index, floor) for index, floor in _SHRINK_ORDER]
    if source_width:
        # The log tells colliding ids apart: it gives up width after the name and the start
        # have given some (`0.42.0/serv…`, not `0.42.0/…`), and last down to its floor.
        order[2:2] = [(1, min(_SOURCE_SHORT, source_width))]
        order[-1:-1] = [(1, min(_SOURCE_MIN, source_width))]
    for index, floor in order:
        excess = sum(widths) + gaps + _REASON_MIN - width
        if excess <= 0:
            break
        widths[index] = max(floor, widths[index] - excess)
    return (*widths, max(0, width - sum(widths) - gaps))


def format_started(stamp: Timestamp | None, now: datetime, *, with_age: bool = True) -> str:
    """`06-02 14:05:23 (5d ago)` in the display zone (the column's title names it): the short
    style of `views.time_with_age`."""
    return time_with_age(stamp, now, TimeStyle.SHORT) if with_age else show_time(
        stamp, TimeStyle.SHORT)


def started_title(width: int) -> str:
    """The started column's title, naming the display zone: `started (JST +09:00)`, or as
    much of that as the column has room for (`started (JST)`, `started JST`)."""
    label = zone_label()
    short = label.split(" ")[0]
    forms = (f"started ({label})", f"started ({short})", f"started {short}", f"start {short}")
    return next((form for form in forms if len(form) <= width), forms[-1])


def _title(column: _Column, width: int) -> str:
    return started_title(width) if column is _STARTED else column.title


def source_cell(label: str, gone: bool) -> Text:
    """A saga's log in the source column (file-system text: through `plain`); a log that
    vanished is marked, its rows being the last ones read."""
    cell = plain(label, "dim" if gone else "")
    if gone:
        cell = Text.assemble(Text("✗ ", style="bold"), cell, end="")
    return cell


def _fit(text: Text, width: int, *, right: bool = False) -> Text:
    text.truncate(width, overflow="ellipsis", pad=not right)
    if right:
        text.align("right", width)
    return text


def _join(cells: Sequence[Text], widths: Sequence[int], style: Style,
          columns: Sequence[_Column] = _COLUMNS) -> Text:
    """Cells fitted to their columns, on one line with the given base style."""
    line = Text(style=style, end="")
    for index, (cell, column, width) in enumerate(zip(cells, columns, widths, strict=False)):
        if index:
            line.append(" " * _GAP)
        line.append_text(_fit(cell, width, right=column.right))
    return line


# The mark on the sorted column's title. Every order lists the highest key first
# (SortOrder): the newest id, the latest start, the longest duration, so it points down.
SORT_MARK = "▼"
_SORTED_COLUMN = {SortOrder.ID: 0, SortOrder.STARTED: 3, SortOrder.DURATION: 4}  # _COLUMNS


def sorted_column(sort: SortOrder, columns: Sequence[_Column] = _COLUMNS) -> int:
    """The index in `columns` of the column `sort` orders by."""
    return columns.index(_COLUMNS[_SORTED_COLUMN[sort]])


def _marked_header(titles: list[Text], widths: Sequence[int], style: Style,
                   sort: SortOrder | None, columns: Sequence[_Column] = _COLUMNS) -> Text:
    """The header line, with SORT_MARK after the title of the column `sort` orders by
    (None: no query yet, no mark): inside a left-aligned column (its title cut to leave
    room), in the gap after a right-aligned one (its title ends at the column's edge)."""
    if sort is None:
        return _join(titles, widths, style, columns)
    sorted_by = sorted_column(sort, columns)
    start = sum(widths[:sorted_by]) + _GAP * sorted_by
    if columns[sorted_by].right:
        at = start + widths[sorted_by]
    else:
        title = titles[sorted_by]
        title.truncate(max(0, widths[sorted_by] - 2), overflow="ellipsis")
        at = start + title.cell_len + 1
    line = _join(titles, widths, style, columns)
    if at >= line.cell_len:  # narrower than the columns: nowhere to draw it
        return line
    return Text.assemble(line[:at], SORT_MARK, line[at + 1:], style=style, end="")


def _small_pages(query: SagaQuery) -> bool:
    """Whether a page of this query reads only what it holds: by id, by start time, and
    by duration where the store's sort index serves it (states only: the table reads the
    index before the first page)."""
    return query.sort in SMALL_PAGE_SORTS or (
        query.sort in INDEXED_SORTS and query.parsed.only_states)


def _every(seconds: float, progress: Callable[[int, int], None], *,
           at_once: bool = True) -> Callable[[int, int], None]:
    """`progress`, told at most once every `seconds` (it posts a message each time); not
    `at_once`: not before the first `seconds` either (a quick read says nothing)."""
    shown = 0.0 if at_once else time.monotonic()

    def told(done: int, total: int) -> None:
        nonlocal shown
        now = time.monotonic()
        if now - shown >= seconds:
            shown = now
            progress(done, total)
    return told


def _sorting_words(sort: SortOrder, sorting: tuple[int, int]) -> str:
    done, total = sorting
    share = 100 * done // total if total else 100
    return f"sorting by {sort.label}: {share} % of {format_count(total)} sagas read"


def _searching_words(searching: tuple[int, int] | None) -> str:
    """What the table says while a search scans for its first rows: how far it got (the
    share of the log's sagas read, once known) and the key that stops it."""
    done = "" if searching is None else f" {share(*searching)} %"
    return f"searching…{done} · {CANCEL_KEY} cancels"


def _read_gap(job: _Job) -> None:
    """Between two reads of a live reload, a pause (READ_GAP): back to back, the reads of a
    reload (first page, rows above, the sought saga's page, the last page) left a writer
    flat out no moment to restart its -wal, which grew by all it wrote meanwhile (bench_wal
    --trace: stretches of 8-13 ms at 100k sagas where each read took 0.2-5)."""
    if job.live:
        _pause(READ_GAP)


_pause = time.sleep  # (tests count the pauses)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _counted_on_an_index(query: SagaQuery) -> bool:
    """The rows before a key of this query are counted on the primary key or the state
    index (a short read), not by a scan: sorted by id, states only (no search)."""
    return query.sort is SortOrder.ID and query.parsed.only_states


# -- the widget --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the cursor was in a query: which saga (and its sort key), at which row, on
    which screen line. `seek`: the row is not known yet, it is to be counted from the key
    (a jump to a saga, another sort with the same saga highlighted)."""

    ref: SagaRef | None
    position: int
    screen_row: int
    key: SortKey | None = None
    seek: bool = False


@dataclass(frozen=True, slots=True)
class Landing:
    """A jump's saga, read ahead (SagaTable.lander): its row in the query as read under
    `generation`, and the page around it."""

    generation: int
    key: SortKey
    position: int
    request: PageRequest | None
    rows: list[Saga]


# SagaTable.lander's read: a saga, and a test that the read is no longer wanted.
Lander = Callable[[Saga, Callable[[], bool]], Landing | None]


@dataclass(frozen=True, slots=True)
class _Job:
    """What a worker reads: one query of one store, in pages of `page_size`."""

    store: SagaSource
    query: SagaQuery
    page_size: int
    counts: StateCounts | None = None  # the file's counts by state, when already read
    counts_epoch: int = 0
    newest_before: SortKey | None = None  # a live reload: the top key the last read had
    seek: SortKey | None = None  # a saga to find: its row is counted, its page read
    # A live reload's place (sought, see _live_place): its row before the reload; the sagas
    # that arrived above it since are counted anyway, so its row is known without a count.
    seek_below: int | None = None
    live: bool = False  # a live reload: its reads READ_GAP apart (see _load_query)


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
        Binding("ctrl+d", "half_page_down", "Half a page down", show=False),
        Binding("ctrl+u", "half_page_up", "Half a page up", show=False),
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
        self._store: SagaSource | None = None
        self._query: SagaQuery | None = None
        self._generation = 0
        self._cache = RowCache()
        self._widest: int | None = None  # the file's highest id (the id column's width)
        self._stale: RowCache | None = None  # the previous read of a reloaded query
        self._loaded = False  # the current query's first page has arrived
        self._unmounted = False
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
        self._extents: OrderedDict[SagaQuery, tuple[int, list[SortKey] | None]] = OrderedDict()
        self._shown_rows: OrderedDict[SagaQuery, RowCache] = OrderedDict()  # rows last in view
        self._counts_epoch = 0  # counts read under an older epoch are stale
        self._posted: Saga | None = None
        self._now = self.clock()
        # Live refresh: see the module's docstring.
        self._top_key: SortKey | None = None  # the first row of the result, as last read
        self._newest_before: SortKey | None = None  # _top_key when a live reload started
        self._live = False  # the query being read is a live reload's (_read_gap)
        self._stale_shift = 0  # rows that arrived above the stale ones since they were read
        self._previous_states: dict[SagaRef, str] = {}  # the stale rows' states, by saga
        self._changed_marks: dict[SagaRef, Timer] = {}  # sagas marked as changed, until the timer
        self._stalled = False  # a writer's lock stopped the reads; what is drawn stays
        self._given_page: FirstPage | None = None  # the next query's first page, read
        self.new_above = 0  # rows that arrived above the view since it was at the top
        # Several logs (set by the screen): their labels (the source column shows when there
        # are two or more), and those that vanished (their rows are marked).
        self._source_labels: tuple[str, ...] = ()
        self._gone_sources: frozenset[str] = frozenset()
        self._source_width = 0  # the source column's ideal width (0: no such column)
        # The sort's keys being read into an index (sort_index.py): (read, of) sagas
        self._sorting: tuple[int, int] | None = None
        self._sorting_ahead: dict[SortOrder, tuple[int, int]] = {}  # reads ahead under way
        # A search scanning for its first page (store/scan.py): (done, of), None until the
        # scan first says how far it got
        self._searching: tuple[int, int] | None = None

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
    def saga_query(self) -> SagaQuery | None:
        return self._query

    @property
    def cursor_row(self) -> int:
        """The cursor's position in the result (0: the newest saga)."""
        return self._cursor

    def refs_near_cursor(self, distance: int = 1) -> list[SagaRef]:
        """The sagas (refs: ids collide across logs) of the rows read within `distance` of
        the cursor, nearest first (what the screen reads ahead)."""
        if self.highlighted_saga is None:
            return []
        near = (self._cursor + sign * step for step in range(1, distance + 1)
                for sign in (1, -1))
        return [saga.ref for position in near
                if position >= 0 and (saga := self._cache.row(position)) is not None]

    @property
    def reading(self) -> bool:
        """The current read has not yet drawn its rows at their place (a newer reload would
        supersede it)."""
        return not self._stalled and self._error is None and (
            not self._loaded or self._restore is not None)

    def show(self, store: SagaSource, query: SagaQuery, *, at_newest: bool = False,
             keep: Saga | None = None, first_page: FirstPage | None = None) -> None:
        """Switch to `query`, back at the place it was left if it was shown before
        (at_newest: on its first row, the newest saga when sorted by id; keep: on this
        saga, on the same screen line, when the new query has it, e.g. under another sort;
        first_page: its first rows, already read from this store, drawn in this frame)."""
        if store is self._store and query == self._query:
            # The same query again: keep what is drawn until fresh rows come.
            self.reload(at_newest=at_newest)
            return
        screen_row = self._cursor - self.scroll_offset.y
        if store is not self._store:
            self._places.clear()
            self._forget_file_facts()
        elif self._query is not None:
            self._remember(self._query, self._current_place())
            self._remember_extent()
            self._remember_rows()
        place = None if at_newest else self._places.get(query)
        if keep is not None and not at_newest:
            place = _Place(keep.ref, self._cursor, screen_row, query.key_of(keep),
                           seek=True)
        # Back to a query shown before (since the file last changed): its rows are drawn at
        # once, in the frame that takes the key, and read again behind them.
        remembered = place is not None and not place.seek
        shown = self._shown_rows.pop(query, None) if remembered else None
        given = first_page if (first_page is not None and first_page.query == query
                               and place is None) else None
        self._start(store, query, place, stale=shown, given=given)
        if shown is not None and place is not None:  # drawn now: where the place was left
            self.scroll_to(y=place.position - place.screen_row, animate=False, force=True)

    def go_to(self, saga: Saga, landing: Landing | None = None) -> None:
        """Put the cursor on this saga of the current query: at once when its row is read
        (or `landing`, read ahead by `lander`, holds it), else once its row and its page are
        read (the rows drawn stay meanwhile). It lands on the middle line of the view."""
        if self._store is None or self._query is None:
            return
        middle = self._view_rows() // 2
        found = self._cache.locate(saga.ref) if self._restore is None else None
        if found is not None:
            self.scroll_to(y=found - middle, animate=False, force=True)
            self._move_to(found)
            return
        key = self._query.key_of(saga)
        if self._settled():
            # The query stays as read: its counts, total, anchors and pages are still its
            # own. Only the saga's row and its page are read (_land); the rows drawn stay,
            # the cursor off them, until they come.
            self._restore = _Place(saga.ref, self._cursor, middle, key, seek=True)
            self._restore_page = None
            if (landing is not None and landing.generation == self._generation
                    and landing.key == key):
                self._seek_arrived(key, landing.position, landing.request, landing.rows)
                return
            self.run_worker(partial(self._land, self._generation, self._job(), key,
                                    self._top_key, self._cache.trimmed(())),
                            thread=True, group=_SEEK_GROUP, exclusive=True)
            return
        # The query is still being read: read again, this saga sought. With the page anchors
        # known (sorted by id, no gap in the ids: without a scan), they tell the saga's page;
        # else its row is counted.
        seek = self._cache.anchors is None
        place = _Place(saga.ref, self._cursor, middle, key, seek=seek)
        stale = self._cache if self._loaded else self._stale
        self._remember_extent()
        self._start(self._store, self._query, place, stale=stale)

    def lander(self) -> Lander:
        """For `:` (screens/jump.py): a read of what a jump to a saga needs (its row, its
        page), to run in the prompt's worker, so that go_to lands in the frame that closes
        the prompt. Made for the query as read now: a landing of an older read (a reload came
        meanwhile) is not taken. It reads nothing (None) for a saga among the rows read, or
        while the query is still being read; nor when a read fails (go_to reads again, and
        says what failed)."""
        if self._store is None or self._query is None or not self._settled():
            return lambda _saga, _cancelled: None
        generation, job, top = self._generation, self._job(), self._top_key
        held = frozenset(saga.ref for saga in self._cache.held())
        extent = self._cache.trimmed(())  # the anchors (a copy: its bisection is its own)

        def read(saga: Saga, cancelled: Callable[[], bool]) -> Landing | None:
            if saga.ref in held:
                return None
            key = job.query.key_of(saga)
            try:
                found = self._landing_rows(job, key, top, extent, lambda: (
                    cancelled() or generation != self._generation))
            except StoreError:
                return None
            return Landing(generation, key, *found)
        return read

    def _settled(self) -> bool:
        """The query's first page and total are in, nothing is sought, nothing failed or
        stalled: a jump can read only the saga's page."""
        return (self._loaded and self._cache.total is not None and self._restore is None
                and self._error is None and not self._stalled and self.is_mounted)

    def reload(self, *, at_newest: bool = False, counts: StateCounts | None = None) -> None:
        """Read the current query again. The highlighted saga keeps its line of the screen:
        sagas that arrived above it move the scroll offset, not the saga (at_newest: the
        newest saga is highlighted instead, as when following). `counts`: the file's counts
        by state, read for this reload by the caller (the table then reads none itself)."""
        if self._store is not None:
            place = None if at_newest else self._live_place()
            self._restart(self._store, place, live=True, counts=counts)

    def _live_place(self) -> _Place:
        """The place a live reload finds again. Sorted by id it is sought (its row is the one
        it had plus the sagas counted above it, and its page read around its key: short
        reads) rather than looked up in the page anchors, which are a scan of every id:
        under a writer committing fast, a read transaction that long keeps the writer's
        -wal from being reset (issue 15)."""
        place = self._current_place()
        if place.key is None or self._query is None or not _counted_on_an_index(self._query):
            return place
        return replace(place, seek=True)

    def switch_store(self, store: SagaSource) -> None:
        """The same query from another store (the file reopened), the highlighted saga kept
        when the new file has it."""
        self._places.clear()
        self._restart(store, self._current_place(), live=False)

    def _restart(self, store: SagaSource, place: _Place | None, *, live: bool,
                 counts: StateCounts | None = None) -> None:
        if self._query is None:
            return
        self._forget_file_facts()  # the file may have changed: count again
        self._counts = counts  # (unless the caller just did)
        # Rows already on screen stay drawn until fresh ones replace them (no flash of "…").
        stale = self._cache if self._loaded else self._stale
        self._start(store, self._query, place, stale=stale, live=live)

    # -- starting a query ------------------------------------------------------------------

    def _forget_file_facts(self) -> None:
        self._counts, self._counts_epoch = None, self._counts_epoch + 1
        self._extents.clear()
        self._shown_rows.clear()

    def _remember_rows(self) -> None:
        """The rows in view of the query being left, to draw them at once when it is shown
        again (the pages of the view only: a few hundred sagas at most per query)."""
        if (self._query is None or not self._loaded or self._error is not None
                or self._restore is not None):
            return
        top = self.scroll_offset.y
        pages = [0, *self._cache.page_range(top, top + self._view_rows() - 1)]  # 0: id widths
        self._shown_rows[self._query] = self._cache.trimmed(pages)
        self._shown_rows.move_to_end(self._query)
        while len(self._shown_rows) > MAX_SHOWN_ROWS:
            self._shown_rows.popitem(last=False)

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
        if saga is None or self._query is None:
            return _Place(None, self._cursor, self._cursor - self.scroll_offset.y)
        return _Place(saga.ref, self._cursor, self._cursor - self.scroll_offset.y,
                      self._query.key_of(saga))

    def _start(
        self, store: SagaSource, query: SagaQuery, place: _Place | None, stale: RowCache | None,
        *, live: bool = False, given: FirstPage | None = None,
    ) -> None:
        self._begin_live(stale if live else None, place)
        self._live = live
        self._given_page = given  # for _launch (now, or once mounted)
        self._generation += 1
        if self._scan_timer is not None:
            self._scan_timer.stop()
        if self._stale_timer is not None:
            self._stale_timer.stop()
        self._anchors_asked = False
        self._sorting = None  # (a superseded read of the keys says no more)
        self._searching = None  # (nor a superseded search)
        self._show_subtitle()
        # Another query of the same file: its old rows stay drawn until the new first page
        # comes (one frame, no flash of "loading…"), or until it is slow in coming.
        switching = stale is None and self._loaded and store is self._store
        self._stale_foreign = switching
        if switching:
            stale = self._cache
            self._stale_timer = self.set_timer(
                FOREIGN_STALE_S, partial(self._drop_foreign_stale, self._generation))
        self._store, self._query, self._stale = store, query, stale
        if query.sort in self._sorting_ahead:  # a read ahead of its keys goes on: said at once
            self._sorting_arrived(self._sorting_ahead[query.sort])
        size = PAGE_SIZE if _small_pages(query) else SORTED_PAGE_SIZE
        self._cache = RowCache(size, MAX_PAGES * PAGE_SIZE // size, query.key_of)
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
        self._previous_states = {saga.ref: saga.state for saga in stale.held()} if stale else {}
        self._newest_before = self._top_key if stale is not None and place is not None else None
        if stale is None:
            self._top_key = None
            self._set_new_above(0)

    def on_mount(self) -> None:
        if self._query is not None:
            self._launch()

    def on_unmount(self) -> None:
        self._unmounted = True  # (a read ahead stops: nobody will sort this table again)

    def _job(self) -> _Job:
        assert self._store is not None and self._query is not None
        place = self._restore
        seek = place.key if place is not None and place.seek else None
        below = (place.position if place is not None and seek is not None
                 and self._newest_before is not None else None)  # (a live reload's place)
        return _Job(self._store, self._query, self._cache.page_size, self._counts,
                    self._counts_epoch, self._newest_before, seek, below, self._live)

    def _launch(self) -> None:
        self.workers.cancel_group(self, _PAGES_GROUP)
        self.workers.cancel_group(self, _ANCHORS_GROUP)
        job, given, self._given_page = self._job(), self._given_page, None
        rows = None if given is None else list(given.rows)
        if given is not None and rows is not None:  # read at start: drawn now, the rest behind
            first = PageRequest(0, job.page_size)
            self._first_page_arrived(first, rows, 0, given.widest_id)
        self.run_worker(partial(self._load_query, self._generation, job, rows), thread=True,
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

    def _load_query(self, generation: int, job: _Job, given: list[Saga] | None = None) -> None:
        """The first page first (rows on screen soonest; unless `given`, read and drawn
        already), then the row of a saga sought, then the total, cheap ways only."""
        first = PageRequest(0, job.page_size)
        try:
            above = 0
            if given is not None:
                rows = given
            else:
                rows = self._quick_first_rows(generation, job)
                if rows is None:
                    # By duration, the keys first: the first page is then a bisection,
                    # where SQL would sort every saga for it (and again for the next).
                    if job.query.sort is SortOrder.DURATION:
                        self._read_sort_index(generation, job)
                    rows = self._first_rows(generation, job, first)
                _read_gap(job)
                above = self._rows_above(job, rows)
                widest = widest_id(job.store, job.query, rows)
                self._post(generation,
                           partial(self._first_page_arrived, first, rows, above, widest))
            whole = len(rows) < job.page_size  # the whole result is on the first page
            if not whole:
                self._read_sort_index(generation, job)
            counted = not whole and not job.query.searching
            total = self._count(generation, job) if counted else None
            if total is not None and job.query.sort is not SortOrder.ID:
                # Under this sort the last page (below) is a scan: the count does not wait.
                self._post(generation, partial(self._total_arrived, total))
            sought = job.seek
            if sought is not None and all(job.query.key_of(saga) != sought for saga in rows):
                # A live reload's place: its row before the sagas just added above, plus
                # those (counted above), not a count of every row above it.
                below = None if job.seek_below is None else job.seek_below + above
                _read_gap(job)
                self._seek(generation, job, sought, below)
            if whole:
                anchors = [job.query.key_of(rows[0])] if rows else []
                self._post(generation, partial(self._anchors_arrived, anchors))
            elif total is not None and generation == self._generation:
                _read_gap(job)
                self._load_extent(generation, job, rows[0].saga_id, total)
            if not whole:
                self._read_ahead_sort(job)
        except StoreError as error:
            self._post(generation, partial(self._failed, error))

    def _read_ahead_sort(self, job: _Job) -> None:
        """Sorted by start time, the next `s` sorts by duration: its keys are read now, in
        the background, so that it draws at once (not superseded by that `s`: its read is
        what the new query's waits for)."""
        if job.query.sort is not SortOrder.STARTED or not job.query.parsed.only_states:
            return
        ahead = job.query.sort.next
        if ahead not in INDEXED_SORTS:
            return

        def progress(done: int, total: int) -> None:
            self._post(ANY_GENERATION, partial(self._ahead_arrived, ahead, (done, total)))
        try:
            job.store.build_sort_index(ahead, progress=_every(SORT_PROGRESS_S, progress),
                                       cancelled=lambda: self._unmounted
                                       or self._store is not job.store)
        except StoreError:
            pass  # (the query under that sort reads it again and says what failed)
        finally:
            self._post(ANY_GENERATION, partial(self._ahead_arrived, ahead, None))

    def _ahead_arrived(self, sort: SortOrder, sorting: tuple[int, int] | None) -> None:
        """Progress of the keys read ahead, shown once the table is sorted that way."""
        if sorting is None:
            self._sorting_ahead.pop(sort, None)
        else:
            self._sorting_ahead[sort] = sorting
        if self._query is not None and self._query.sort is sort:
            self._sorting_arrived(sorting)

    def _quick_first_rows(self, generation: int, job: _Job) -> list[Saga] | None:
        """By duration before its index, the first page by cheap proxies checked exact
        (store/first_page.py: 0.3 s at 1M, where the exact scan takes 1.2 s); its keys are
        read next. None: not that way (by start time, `sagas` itself takes it)."""
        if job.query.sort is not SortOrder.DURATION:
            return None
        return job.store.first_page(job.query, job.page_size,
                                    cancelled=self._superseded(generation))

    def _first_rows(self, generation: int, job: _Job, first: PageRequest) -> list[Saga]:
        """The first page. A search's first page is a scan of the log, an id range at a time
        (store/scan.py): how far it got is said every SEARCH_PROGRESS_S (never for a quick
        one), and its `cancelled` stops it between ranges and within one."""
        cancelled = self._superseded(generation)
        if not job.query.searching:
            return first.run(job.store, job.query, cancelled)

        def progress(done: int, total: int) -> None:
            self._post(generation, partial(self._searching_arrived, (done, total)))
        try:
            return first.run(job.store, job.query, cancelled, progress=_every(
                SEARCH_PROGRESS_S, progress, at_once=False))
        finally:
            self._post(generation, partial(self._searching_arrived, None))

    def _searching_arrived(self, searching: tuple[int, int] | None) -> None:
        self._searching = searching
        self._progress_changed()

    def _read_sort_index(self, generation: int, job: _Job) -> None:
        """Under a sort no index of the file serves (start time, duration): every saga's
        key read once into the store's own index (sort_index.py), saying how far it got;
        positions, far pages and the last page then need no scan."""
        query = job.query
        if query.sort not in INDEXED_SORTS or not query.parsed.only_states:
            return

        def progress(done: int, total: int) -> None:
            self._post(generation, partial(self._sorting_arrived, (done, total)))
        try:
            job.store.build_sort_index(query.sort, progress=_every(SORT_PROGRESS_S, progress),
                                       cancelled=self._superseded(generation))
        finally:
            self._post(generation, partial(self._sorting_arrived, None))

    def _sorting_arrived(self, sorting: tuple[int, int] | None) -> None:
        if sorting == self._sorting:  # (an index up to date: no progress, nothing to redraw)
            return
        self._sorting = sorting
        self._progress_changed()

    def _progress_changed(self) -> None:
        """A read's progress is said in the bottom border, and in place of rows until the
        first page has come."""
        self._show_subtitle()
        if not self._loaded:
            self.refresh()

    def _count(self, generation: int, job: _Job) -> int:
        """The total from the counts by state (read once per file and reload)."""
        counts = job.counts or job.store.counts()
        # The counts serve whatever filter is shown next, so they land even if superseded.
        self._post(ANY_GENERATION, partial(self._counts_arrived, job.counts_epoch, counts))
        return counts.count(job.query.states)


    def _seek(self, generation: int, job: _Job, key: SortKey,
              position: int | None = None) -> None:
        """The row of the saga with this key, and its page (see find_row; `position`: its
        row, when known)."""
        found = find_row(job.store, job.query, key, job.page_size, self._superseded(generation),
                         position=position)
        if found.anchors is not None:  # read on the way: no far page needs a scan now
            self._post(generation, partial(self._anchors_arrived, found.anchors))
        self._post(generation, partial(self._seek_arrived, key, found.position,
                                       found.request, found.rows))

    def _land(self, generation: int, job: _Job, key: SortKey, top: SortKey | None,
              extent: RowCache) -> None:
        """A jump's saga, far from the rows read: its row and its page (_landing_rows)."""
        try:
            found = self._landing_rows(job, key, top, extent, self._superseded(generation))
            self._post(generation, partial(self._seek_arrived, key, *found))
        except StoreError as error:
            self._post(generation, partial(self._failed, error))

    @staticmethod
    def _landing_rows(job: _Job, key: SortKey, top: SortKey | None, extent: RowCache,
                      cancelled: Callable[[], bool]) -> tuple[int, PageRequest | None,
                                                              list[Saga]]:
        """The row of the saga with this key and its page, nothing else (the first page,
        the counts, the total and the last page are the query's already): with the page
        anchors (`extent`'s), its page read from its anchor (no count); else the rows before
        its key counted (_row_of)."""
        anchors = extent.anchors
        page = extent.page_holding(key) if anchors is not None else None
        if anchors is not None and page is not None:
            request = PageRequest(page, job.page_size, at=anchors[page])
            rows = request.run(job.store, job.query, cancelled)
            index = next((i for i, saga in enumerate(rows) if job.query.key_of(saga) == key),
                         None)
            if index is not None:
                return page * job.page_size + index, request, rows
        return SagaTable._row_of(job, key, top, cancelled)

    @staticmethod
    def _row_of(job: _Job, key: SortKey, top: SortKey | None,
                cancelled: Callable[[], bool]) -> tuple[int, PageRequest | None, list[Saga]]:
        """The row of the saga with this key and its page: one count, and the page read
        around the key (find_row). `top`: the first row as read; sagas that arrived above it
        since are not in the rows read, so not counted in the saga's row either."""
        store, query = job.store, job.query
        if getattr(store, "count_before", None) is None:
            found = find_row(store, query, key, job.page_size, cancelled)
            return found.position, found.request, found.rows
        snapshot = getattr(store, "snapshot", None)
        with snapshot() if snapshot is not None else nullcontext():
            position = store.count_before(query, key, cancelled=cancelled)
            if top is not None:
                position -= SagaTable._arrived_above(store, query, top, cancelled)
            found = find_row(store, query, key, job.page_size, cancelled,
                             position=max(position, 0))
        return found.position, found.request, found.rows

    @staticmethod
    def _arrived_above(store: SagaSource, query: SagaQuery, top: SortKey,
                       cancelled: Callable[[], bool]) -> int:
        """Sagas that sort before `top` (the first row read): they arrived since, and the
        rows read are counted without them. One log: one row read above it, counted only
        if there is one; several: one count (each log's, a short one). Not for a search
        (a count of its matches is a scan): the next reload moves its rows."""
        if query.searching:
            return 0
        if store.source_count == 1 and not store.sagas(query, before=top, limit=1,
                                                       cancelled=cancelled):
            return 0
        return store.count_before(query, top, cancelled=cancelled)

    @staticmethod
    def _rows_above(job: _Job, rows: list[Saga]) -> int:
        """In a live reload, the rows that arrived above the previous first one: every row
        below moved down by that many."""
        before = job.newest_before
        if before is None:
            return 0
        key = job.query.key_of
        above = sum(key(saga) > before for saga in rows)
        if above < len(rows) or len(rows) < job.page_size:
            return above
        # A whole page of new rows: count the rest, up to this page's first (rows that
        # arrived since it was read belong to the next reload).
        return count_between(job.store, job.query, before, key(rows[0]), job.page_size)

    def _load_extent(self, generation: int, job: _Job, newest: int, total: int) -> None:
        """The last page (so that `G` draws from the cache), and the total; sorted by id, the
        anchors too when the ids leave no gap (then they need no scan)."""
        # (ids of several logs overlap: only one log's can be dense)
        by_id = job.query.sort is SortOrder.ID and job.store.source_count == 1
        last: PageRequest | None = None
        if generation == self._generation:  # superseded: leave the store to the new query
            # The whole last page, not just the oldest id: `G` then draws from the cache.
            last_page = max(total - 1, 0) // job.page_size
            last = PageRequest(last_page, total - last_page * job.page_size, from_oldest=True)
            oldest = last.run(job.store, job.query, self._superseded(generation))
            anchors = dense_anchors(newest, oldest[-1].saga_id if oldest else None, total,
                                    job.page_size) if by_id else None
            if anchors is not None:  # before the total, so nothing asks for a scan meanwhile
                self._post(generation, partial(self._anchors_arrived, anchors))
        if job.query.sort is SortOrder.ID:  # (under another sort it came before the last
            # page; by id over several logs too, whose anchors are not dense)
            self._post(generation, partial(self._total_arrived, total))
        if last is not None and last.page > 0 and oldest:
            self._post(generation, partial(self._page_arrived, last, oldest))

    def _load_anchors(self, generation: int, job: _Job) -> None:
        """The scan for the anchors; for a search, then its last page, which tells the total
        (counting would be a second scan)."""
        try:
            anchors = job.store.page_keys(job.query, stride=job.page_size,
                                          cancelled=self._superseded(generation))
            self._post(generation, partial(self._anchors_arrived, anchors))
            if job.query.searching and anchors:
                last = PageRequest(len(anchors) - 1, job.page_size, at=anchors[-1])
                rows = last.run(job.store, job.query, self._superseded(generation))
                self._post(generation, partial(self._page_arrived, last, rows))
                total = last.page * job.page_size + len(rows)
                self._post(generation, partial(self._total_arrived, total))
        except StoreError as error:
            self._post(generation, partial(self._failed, error))

    def _fetch_pages(
        self, generation: int, store: SagaSource, query: SagaQuery, requests: list[PageRequest]
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

    def _first_page_arrived(self, request: PageRequest, rows: list[Saga], above: int,
                            widest: int | None) -> None:
        if self._stale_foreign:
            self._stale_foreign, self._stale = False, None
        self._loaded = True
        self._widest = widest
        # The next live reload counts the rows that arrive above this read's first.
        self._top_key = self._cache.key(rows[0]) if rows else None
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

    def _seek_arrived(self, key: SortKey, position: int, request: PageRequest | None,
                      rows: list[Saga]) -> None:
        """The row of the saga sought (by `key`) is known, and the page around it is read."""
        if request is not None:
            self._pending.discard(request.page)
            self._cache.store(request, rows)
        place = self._restore
        if place is not None and place.seek and place.key == key:  # (not an earlier jump's)
            self._restore = replace(place, position=position, seek=False)
        self._rows_changed()

    def _anchors_arrived(self, anchors: list[SortKey]) -> None:
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
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        count = self.new_above
        subtitle = f"{format_count(count)} new — press g to see them" if count else ""
        if self._sorting is not None and self._query is not None:
            subtitle = _sorting_words(self._query.sort, self._sorting)
        if self._searching is not None:
            subtitle = _searching_words(self._searching)
        if subtitle != (self.border_subtitle or ""):  # setting it repaints the whole table
            self.border_subtitle = subtitle

    def _mark_changed_states(self, rows: Sequence[Saga]) -> None:
        """Mark, for a moment, the sagas whose state differs from the one drawn before."""
        for saga in rows:
            before = self._previous_states.pop(saga.ref, None)
            if before is not None and before != saga.state:
                self._mark(saga.ref)

    def _mark(self, ref: SagaRef) -> None:
        timer = self._changed_marks.pop(ref, None)
        if timer is not None:
            timer.stop()
        self._changed_marks[ref] = self.set_timer(
            CHANGED_MARK_SECONDS, partial(self._unmark, ref))

    def _unmark(self, ref: SagaRef) -> None:
        self._changed_marks.pop(ref, None)
        self.refresh()

    @property
    def marked_as_changed(self) -> frozenset[SagaRef]:
        """Sagas drawn marked because their state just changed."""
        return frozenset(self._changed_marks)

    # -- finding a remembered place again ------------------------------------------------

    def _resolve_restore(self) -> None:
        place, total = self._restore, self._cache.total
        if place is None or not self._loaded:
            return
        # A saga found among the rows read is its place at once; anything else (the saga
        # gone, or on a page not read yet) needs the total first, or the count of the rows
        # before it when it is sought.
        located = None if place.ref is None else self._cache.locate(place.ref)
        if located is None and (total is None or place.seek):
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
        if place.ref is None:
            return place.position
        found = self._cache.locate(place.ref)
        if found is not None:
            return found
        if place.key is None:
            return place.position
        if self._cache.anchors is None:
            self._need_anchors()
            return None  # the anchors will tell which page to look on
        page = self._cache.page_holding(place.key)
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
        seeking = self._restore is not None and self._restore.seek  # (its page shows the way)
        if not seeking and any(self._out_of_reach(page) for page in needed if page in todo):
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
        seeking = self._restore is not None
        self._restore, self._restore_page = None, None
        previous, self._cursor = self._cursor, clamp(position, 0, count - 1)
        rows, top = self._view_rows(), self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + rows:
            self.scroll_to(y=self._cursor - rows + 1, animate=False, force=True)
        if seeking or self.scroll_offset.y != top:
            self.refresh()
        else:  # the view stays: only the line left and the line reached change
            self._refresh_rows(previous, self._cursor)
        self._sync_highlight()
        self._request_visible()

    def _refresh_rows(self, *positions: int) -> None:
        """Repaint the lines of these rows (a cursor move): repainting all of them would
        make each `j` cost a whole table's worth of lines."""
        top, width = self.scroll_offset.y, self.size.width
        for position in positions:
            self.refresh(Region(0, position - top + 1, width, 1))  # +1: under the header

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
        self._page_by(self._view_rows())

    def action_page_up(self) -> None:
        self._page_by(-self._view_rows())

    def action_half_page_down(self) -> None:
        """ctrl+d, as in vim, less, k9s and lazygit."""
        self._page_by(max(1, self._view_rows() // 2))

    def action_half_page_up(self) -> None:
        self._page_by(-max(1, self._view_rows() // 2))

    def _page_by(self, rows: int) -> None:
        """The view and the cursor move together by `rows` (the cursor keeps its line of the
        screen); the pages that come into view are read as for any scroll."""
        self.scroll_to(y=self.scroll_offset.y + rows, animate=False, force=True)
        self._move_to(self._cursor + rows)

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
        widest = self._widest
        if widest is None:  # not read yet: the rows drawn meanwhile are the previous read's
            newest = self._cache.row(0) or (self._stale.row(0) if self._stale else None)
            widest = newest.saga_id if newest else None
        return column_widths(width, len(str(widest)) if widest is not None else 2,
                             self._source_width)

    @property
    def source_labels(self) -> tuple[str, ...]:
        """The labels of the logs shown (two or more: the source column is drawn)."""
        return self._source_labels

    @source_labels.setter
    def source_labels(self, labels: tuple[str, ...]) -> None:
        if labels != self._source_labels:
            self._source_labels = labels
            self._measure_sources()

    @property
    def gone_sources(self) -> frozenset[str]:
        """The labels of the logs that vanished: their rows are marked gone."""
        return self._gone_sources

    @gone_sources.setter
    def gone_sources(self, labels: frozenset[str]) -> None:
        if labels != self._gone_sources:
            self._gone_sources = labels
            self._measure_sources()

    def _measure_sources(self) -> None:
        labels = self._source_labels
        if len(labels) < 2:
            self._source_width = 0
        else:
            widest = max(plain(label).cell_len for label in labels)
            widest += 2 if self._gone_sources else 0  # the gone mark
            self._source_width = min(SOURCE_MAX, max(len(_SOURCE.title), widest))
        self.refresh()

    @property
    def _columns(self) -> tuple[_Column, ...]:
        return columns_of(self._source_width > 0)

    def _header(self, width: int) -> Strip:
        widths = self._widths(width)
        columns = self._columns
        sort = None if self._query is None else self._query.sort
        # The sorted column's title leaves room for its mark (see _marked_header).
        marked = None if sort is None else sorted_column(sort, columns)
        titles = [Text(_title(column, cells - 2 if index == marked else cells))
                  for index, (column, cells) in enumerate(zip(columns, widths, strict=False))]
        style = self.rich_style + self._style("saga-table--header")
        return self._strip(_marked_header(titles, widths, style, sort, columns), width)

    def _message(self) -> tuple[str, str] | None:
        """What to draw in place of rows (text, style class), or None to draw rows."""
        if self._error is not None and self._error.kind is ErrorKind.BUSY:
            return "waiting: a writer holds a lock on the file…", "saga-table--message"
        if self._error is not None:
            return f"cannot read sagas: {self._error.message}", "saga-table--error"
        if self._query is None:
            return "", "saga-table--message"
        if not self._loaded and self._stale is None:
            if self._query.searching:
                return _searching_words(self._searching), "saga-table--message"
            sort = self._query.sort
            said = ("loading…" if sort is SortOrder.ID else f"sorting by {sort.label}…"
                    if self._sorting is None else _sorting_words(sort, self._sorting))
            return said, "saga-table--message"
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
        if saga is not None and saga.ref in self._changed_marks:
            base += self._style("saga-table--changed")
        if position == self._cursor:
            base += self._style("saga-table--cursor")
        widths = self._widths(width)
        if saga is None:  # not read yet: a dim placeholder until its page arrives
            cells = [Text("…", style=self._style("saga-table--placeholder"))]
        else:
            cells = self._cells(saga, widths)
        return self._strip(_join(cells, widths, base, self._columns), width)

    def _cells(self, saga: Saga, widths: Sequence[int]) -> list[Text]:
        with_source = self._source_width > 0
        started = format_started(saga.started_at, self._now)
        if len(started) > widths[self._columns.index(_STARTED)]:
            started = format_started(saga.started_at, self._now, with_age=False)
        steps = f"{saga.steps_done}/{saga.steps_total}" if saga.steps_total else ""
        label = saga.source.label
        source = [source_cell(label, label in self.gone_sources)] if with_source else []
        return [
            Text(str(saga.saga_id)),
            *source,
            plain(saga.name),
            Text.assemble(state_badge(self, saga.state)),  # its colour stops at the text
            Text(started),
            Text(format_duration(saga.duration) if saga.ended_at else ""),
            Text(steps),
            plain(saga.failure_reason) if saga.failure_reason is not None else Text(),
        ]
