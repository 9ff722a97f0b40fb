"""The paging model of a saga list: keyset pages of a SagaSource, cached by position.

No Textual here: the table (tui/widgets/saga_table.py) draws from a RowCache, and its workers
fill it with PageRequests; find_row and count_between place a saga in a result. All of it is
typed against the SagaSource interface, so one log and several merged page alike.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .models import Saga, SagaQuery, SagaRef, SortKey, SortOrder
from .repository import PAGE_SIZE
from .sort_index import Progress
from .source import SagaSource

MAX_PAGES = 50  # pages kept in memory: 5 000 sagas whatever the size of the file


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One keyset read that fills page `page` of a result (never OFFSET): the rows right
    after a sort key, right before one, from one on, or the last rows of the result."""

    page: int
    limit: int
    after: SortKey | None = None  # the rows just after this key (a page down)
    before: SortKey | None = None  # the rows just before it (a page up)
    at: SortKey | None = None  # the rows from this key on (a page anchor)
    from_oldest: bool = False  # the last page, read from the end of the sort

    def run(self, store: SagaSource, query: SagaQuery,
            cancelled: Callable[[], bool] | None = None,
            progress: Progress | None = None) -> list[Saga]:
        """`progress`: how far a search's scan got (SagaSource.sagas; not for the last
        page)."""
        if self.from_oldest:
            return store.oldest(query, limit=self.limit, cancelled=cancelled)
        return store.sagas(query, after=self.after, before=self.before, at=self.at,
                           limit=self.limit, cancelled=cancelled, progress=progress)


def _ascending(key: SortKey) -> tuple[int, int, int]:
    """A key by which descending keys (pages' anchors) ascend, for bisect."""
    return (-key.value, -key.source, -key.saga_id)


def _sort_key(saga: Saga) -> SortKey:
    return SagaQuery().key_of(saga)


class RowCache:
    """The rows of one query by position, held as a bounded LRU of pages.

    Pages are aligned (page k holds positions k*page_size onwards), so every way of reading a
    page — from the top, from a neighbouring page, from an anchor, from the end — yields the
    same rows, and any mix of them can fill the cache. `key` is the query's sort key of a
    row (`SagaQuery.key_of`): rows are in descending key order.
    """

    def __init__(self, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES,
                 key: Callable[[Saga], SortKey] = _sort_key) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self.key = key
        self.total: int | None = None
        self._anchors: list[SortKey] | None = None
        self._pages: OrderedDict[int, list[Saga]] = OrderedDict()

    @property
    def anchors(self) -> list[SortKey] | None:
        """The key starting each page, in sort order (None until read)."""
        return self._anchors

    @anchors.setter
    def anchors(self, anchors: list[SortKey] | None) -> None:
        self._anchors = anchors

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
            return PageRequest(page, size, after=self.key(previous[-1]))
        following = self._pages.get(page + 1)
        if following:
            return PageRequest(page, size, before=self.key(following[0]))
        if self._anchors is not None and page < len(self._anchors):
            return PageRequest(page, size, at=self._anchors[page])
        if self.total is not None and page == (self.total - 1) // size:
            return PageRequest(page, self.total - page * size, from_oldest=True)
        return None

    def trimmed(self, pages: Iterable[int]) -> RowCache:
        """A copy holding only these pages (those held), with what is known of the result."""
        copy = RowCache(self.page_size, self.max_pages, self.key)
        copy.total, copy.anchors = self.total, self.anchors
        for page in pages:
            if page in self._pages:
                copy._pages[page] = self._pages[page]
        return copy

    def store(self, request: PageRequest, rows: Sequence[Saga]) -> None:
        self._pages[request.page] = list(rows)
        self._pages.move_to_end(request.page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        reads_down = not request.from_oldest and request.before is None
        if self.total is None and reads_down and len(rows) < request.limit:
            self.total = request.page * self.page_size + len(rows)  # the result ends here

    def locate(self, ref: SagaRef) -> int | None:
        """The position of a saga among the pages held, or None (by identity: a saga's sort
        key may have changed since, e.g. the duration of a saga that ended)."""
        for page, rows in self._pages.items():
            for index, saga in enumerate(rows):
                if saga.ref == ref:
                    return page * self.page_size + index
        return None

    def page_holding(self, key: SortKey) -> int | None:
        """The page a row with this key would be on, from the anchors (None: unknown or
        outside). A bisection of the anchors as they are (nothing built: 10 000 of them at
        a million sagas), so it may run off the UI thread on a copy (RowCache.trimmed)."""
        at_or_above = bisect.bisect_right(self._anchors or (), _ascending(key), key=_ascending)
        return at_or_above - 1 if at_or_above else None


def dense_anchors(
    newest: int, oldest: int | None, total: int, page_size: int
) -> list[SortKey] | None:
    """The page anchors without a scan, when the result is sorted by id and its ids are
    every integer from the oldest to the newest (a log without deletions, viewed
    unfiltered); else None."""
    if oldest is None or newest - oldest + 1 != total:
        return None
    return [SortKey(anchor, anchor) for anchor in range(newest, oldest - 1, -page_size)]


def count_between(
    store: SagaSource, query: SagaQuery, above: SortKey, up_to: SortKey, page_size: int
) -> int:
    """How many sagas of the result sort before `above` and at or after `up_to` (keys in
    `(above, up_to]`), by keyset upwards (the work grows with the sagas counted, not with
    the file). One log sorted by id with states only: two counts on the primary key or the
    state index in one short read transaction, not a read of every page counted (a live
    reload counts the sagas a writer added meanwhile: thousands, under a busy one)."""
    snapshot = getattr(store, "snapshot", None)
    if (snapshot is not None and store.source_count == 1 and query.sort is SortOrder.ID
            and query.parsed.only_states):
        with snapshot():
            return store.count_before(query, above) - store.count_before(query, up_to)
    count = 0
    while True:
        page = store.sagas(query, before=above, limit=page_size)
        count += sum(query.key_of(saga) <= up_to for saga in page)
        if len(page) < page_size or query.key_of(page[0]) >= up_to:
            return count
        above = query.key_of(page[0])


@dataclass(frozen=True, slots=True)
class FoundRow:
    """Where a row with a given key is in a result, and the page that holds it."""

    position: int  # the rows before it (where it would be, when the result lacks it)
    request: PageRequest | None  # how its page was read (None: the result is empty)
    rows: list[Saga]  # that page
    anchors: list[SortKey] | None = None  # every page's first key, when they were read


def find_row(store: SagaSource, query: SagaQuery, key: SortKey, page_size: int,
             cancelled: Callable[[], bool] | None = None, *,
             position: int | None = None) -> FoundRow:
    """The position of the row with this key and its page, by keyset and counts (never
    OFFSET). The store counts the rows before the key where it can (`count_before`), and
    the page is read from the key both ways; else one scan reads every page's first key,
    and the page holding the key is read from its own. `position`: the row's position,
    known already (nothing is counted)."""
    count_before = getattr(store, "count_before", None)
    if count_before is not None or position is not None:
        if position is None:
            position = int(count_before(query, key, cancelled=cancelled))
        page, index = divmod(position, page_size)
        above = store.sagas(query, before=key, limit=index, cancelled=cancelled) if index else []
        rows = [*above, *store.sagas(query, at=key, limit=page_size - len(above),
                                     cancelled=cancelled)]
        request = PageRequest(page, page_size, at=query.key_of(rows[0])) if rows else None
        return FoundRow(position, request, rows)
    pages = RowCache(page_size, key=query.key_of)
    pages.anchors = store.page_keys(query, stride=page_size, cancelled=cancelled)
    page = pages.page_holding(key)
    if page is None or not pages.anchors:
        return FoundRow(0, None, [], pages.anchors)
    request = PageRequest(page, page_size, at=pages.anchors[page])
    rows = request.run(store, query, cancelled)
    position = page * page_size + sum(query.key_of(saga) > key for saga in rows)
    return FoundRow(position, request, rows, pages.anchors)


