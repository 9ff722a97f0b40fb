"""Several saga logs as one view: `MergedSource`, the one place that opens logs and polls them.

Every view reads a MergedSource, of one log or of many (it is a `SagaSource`). Each log is a
`Member` with its own `SagaStore`; nothing is ATTACHed (the authorizer refuses it, and SQLite
takes at most 10 attached files).

Order: a page of the view is the merge of what every log holds on the page's side of its
keyset bound. A saga's key is (value, source rank, id) (SortKey): a view key is turned into
each log's own bound (`_member_bound`), so every log returns exactly its rows on either side
of it, and the merge is exact whatever the logs hold. With one log this is the log's own
order. By id, and from the logs' sort indexes, the merge is lazy (`_lazy_merge`): a log is
read a few rows (keys) at a time, only while its best key left can still enter the page; by
start time the logs' blocks say how far each can reach (`_start_page`); else (a search, an
order no index serves yet) every log's page is read and merged.

Faults stay with their log: a read that fails on one log marks that log (its status says
why), leaves it out from then on, and the others go on. Reads of different logs are separate
short transactions: reading one log never holds another's snapshot open.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from saga_inspector.os_specific import allow_open_logs

from .errors import ErrorKind, StoreError
from .formats import LogFormat, combined_format
from .labels import source_labels
from .models import (
    NO_VALUE,
    Saga,
    SagaDetail,
    SagaQuery,
    SagaRef,
    SortKey,
    SortOrder,
    StateCounts,
)
from .repository import (
    INDEXED_SORTS,
    PAGE_SIZE,
    SCAN_PAGE_SIZE,
    IndexReader,
    SagaStore,
    walk_pages,
)
from .sort_index import Progress
from .source import AmbiguousSaga, Cancelled, SourceInfo, SourceStatus
from .source_tag import SourceTag

ALL_SAGAS = SagaQuery()
_MAX_ID = 2**63 - 1
_MIN_ID = -(2**63)
_OPENERS = 2  # big logs opened at once
_BIG_LOG_BYTES = 4 << 20
T = TypeVar("T")
Opener = Callable[..., SagaStore]


@dataclass(slots=True)
class Member:
    """One log of a view: its store while it can be read, else why not."""

    tag: SourceTag
    snapshot: bool = False  # a copy that will not change (snapshots/*.bak)
    store: SagaStore | None = None
    error: str | None = None
    gone: bool = False
    hidden: bool = False
    identity: tuple[int, int] | None = None  # (st_dev, st_ino) when opened
    warnings: tuple[str, ...] = field(default=())

    @property
    def readable(self) -> bool:
        return self.store is not None and self.error is None and not self.hidden

    def query_for(self, query: SagaQuery) -> SagaQuery | None:
        """The query this log is asked: None when its `source:` words leave it out; else
        without them (so that a filter by state alone stays a count by state)."""
        parsed = query.parsed
        if not parsed.names_sources:
            return query
        if not parsed.source_matches(self.tag.label):
            return None
        return SagaQuery(query.states, parsed.text_without_sources() or None, query.sort,
                         query.zone)


def last_write(path: Path) -> float | None:
    """The later of the file's and its -wal's modification times (stat only): a live writer
    writes into the -wal, and the file itself changes only at a checkpoint."""
    times = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if candidate == path or info.st_size > 0:
            times.append(info.st_mtime)
    return max(times) if times else None


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


class MergedSource:
    """One view over one or several saga logs (see the module's docstring)."""

    def __init__(self, members: Sequence[Member], opener: Opener = SagaStore.open) -> None:
        self.members: tuple[Member, ...] = tuple(members)
        self._opener = opener
        self._lock = threading.Lock()
        self._by_label = {member.tag.label: member for member in self.members}
        self._format: LogFormat | None = None
        self._read_ahead: ThreadPoolExecutor | None = None  # see _reader
        self._read_ahead_lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, paths: Sequence[str | Path], *, snapshots: Sequence[bool] | None = None,
             opener: Opener = SagaStore.open, **options: object) -> MergedSource:
        """Open every log of `paths` (a log that cannot be read is kept, with its error).
        `options`: SagaStore.open's keywords (immutable, force, log_format)."""
        resolved = [Path(path).expanduser() for path in paths]
        flags = list(snapshots) if snapshots is not None else [False] * len(resolved)
        labels = source_labels(resolved, flags)
        count = len(resolved)
        # Ranks from 0: one log's keys are then the same as its store's own.
        members = [Member(SourceTag(label, path, count - 1 - index), snapshot)
                   for index, (label, path, snapshot)
                   in enumerate(zip(labels, resolved, flags, strict=True))]
        allow_open_logs(count)
        if count > 1:  # (every opener takes SagaStore.open's keywords)
            options = {"lean": True, **options}
        source = cls(members, _bound_opener(opener, options))
        source._open_members(members)
        return source

    def _open_members(self, members: Sequence[Member]) -> None:
        # Big logs side by side (their first reads are scans, and SQLite lets go of the GIL
        # while it reads); small ones one after the other here, where threads only contend.
        is_big = [_size(member.tag.path) >= _BIG_LOG_BYTES for member in members]
        big = [member for member, flag in zip(members, is_big, strict=True) if flag]
        small = [member for member, flag in zip(members, is_big, strict=True) if not flag]
        if len(big) <= 1:
            small, big = list(members), []
        with ThreadPoolExecutor(_OPENERS) as pool:
            opened = pool.map(self._open_member, big)
            for member in small:
                self._open_member(member)
            list(opened)

    def _open_member(self, member: Member) -> None:
        try:
            store = self._opener(member.tag.path, tag=member.tag)
        except StoreError as error:
            member.store, member.error = None, error.message
            member.gone = error.kind is ErrorKind.NOT_FOUND
            return
        self._attach(member, store)

    def _attach(self, member: Member, store: SagaStore) -> None:
        """`store` is now the log's: readable, and the file it names the one opened."""
        member.store, member.error, member.gone = store, None, False
        member.identity = _identity(member.tag.path)
        member.warnings = store.warnings
        self._format = None

    def reopen(self) -> None:
        """Open again every log that vanished or could not be read (`R`), and those whose
        path now names another file."""
        again = [member for member in self.members if member.store is None or member.gone
                 or member.error is not None
                 or _identity(member.tag.path) != member.identity]
        # A log still gone keeps the rows it has (its store stays open on the file it read).
        again = [member for member in again
                 if member.store is None or _identity(member.tag.path) is not None]
        with self._lock:  # (not while a poll looks at the same logs)
            old = [member.store for member in again if member.store is not None]
            self._open_members(again)  # each log's new store replaces its old one
            for store in old:
                store.close()

    def close(self) -> None:
        if self._read_ahead is not None:
            self._read_ahead.shutdown(wait=True)
        for member in self.members:
            if member.store is not None:
                member.store.close()

    def _reader(self) -> ThreadPoolExecutor:
        """The threads a search reads two logs in at once (_ReadAhead), made when first
        needed."""
        with self._read_ahead_lock:
            if self._read_ahead is None:
                self._read_ahead = ThreadPoolExecutor(2, thread_name_prefix="saga-view-scan")
            return self._read_ahead

    def __enter__(self) -> MergedSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- what it holds -------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file, when the view is of one log."""
        return self.members[0].tag.path if len(self.members) == 1 else None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One log: its reads inside are one read transaction. Several: each log's reads
        stay their own short transactions (one log's never holds another's open)."""
        single = self.single
        if single is None or self.members[0].error is not None:
            yield
            return
        with single.snapshot():
            yield

    @property
    def source_count(self) -> int:
        return len(self.members)

    @property
    def single(self) -> SagaStore | None:
        """The store, when the view is of one log (its schema and warnings are the view's)."""
        return self.members[0].store if len(self.members) == 1 else None

    @property
    def format(self) -> LogFormat:
        """The logs' format as a whole (formats.combined_format)."""
        if self._format is None:
            self._format = combined_format(
                member.store.format for member in self.members if member.store is not None)
        return self._format

    @property
    def warnings(self) -> tuple[str, ...]:
        single = len(self.members) == 1
        found: list[str] = []
        for member in self.members:
            prefix = "" if single else f"{member.tag.label}: "
            found += [prefix + warning for warning in member.warnings]
            if member.error is not None and not single:
                found.append(prefix + member.error)
        return tuple(found)

    @property
    def readable_count(self) -> int:
        return sum(member.store is not None and member.error is None
                   for member in self.members)

    def member(self, label: str) -> Member | None:
        return self._by_label.get(label)

    def sources(self) -> list[SourceInfo]:
        """Every log of the view as the sources screen shows it (reads the counts)."""
        return [self._info(member) for member in self.members]

    def _info(self, member: Member) -> SourceInfo:
        store = member.store
        written = last_write(member.tag.path)
        if store is None:
            return SourceInfo(member.tag, SourceStatus.GONE if member.gone else
                              SourceStatus.ERROR, last_write=written, error=member.error,
                              warnings=member.warnings)
        counts = None
        if member.error is None:
            try:
                counts = store.counts()
            except StoreError as error:
                self._fail(member, error)
        status = (SourceStatus.HIDDEN if member.hidden else SourceStatus.ERROR
                  if member.error is not None else SourceStatus.GONE if member.gone
                  else SourceStatus.SNAPSHOT if member.snapshot or store.is_snapshot
                  else SourceStatus.LIVE)
        schema = store.schema
        return SourceInfo(
            member.tag, status, store.format, schema.user_version, schema.newer_than_known,
            counts, written, member.warnings, member.error,
            store.format.newer_warning(schema.user_version) if schema.newer_than_known
            else None)

    def set_hidden(self, label: str, hidden: bool) -> None:
        member = self._by_label[label]
        member.hidden = hidden

    # -- reading every log ---------------------------------------------------------------

    def _readable(self) -> list[Member]:
        return [member for member in self.members if member.readable]

    def _each(self, query: SagaQuery,
              read: Callable[[SagaStore, SagaQuery, Member], T]) -> list[T]:
        """`read` on every readable log the query lets in; a log whose read fails is marked
        and left out (a cancelled read is the caller's: it goes on up)."""
        return [found for member in self._readable()
                for kept, found in [self._read_one(member, query, read)] if kept]  # type: ignore[misc]

    def _each_side_by_side(self, query: SagaQuery,
                           read: Callable[[SagaStore, SagaQuery, Member], T]) -> list[T]:
        """As _each, two logs at a time (each log has its own connection, and SQLite lets
        go of the GIL while it reads); the results in the logs' order."""
        members = self._readable()
        with ThreadPoolExecutor(_OPENERS) as pool:
            return [found for kept, found in pool.map(
                lambda member: self._read_one(member, query, read), members) if kept]  # type: ignore[misc]

    def _read_one(self, member: Member, query: SagaQuery,
                  read: Callable[[SagaStore, SagaQuery, Member], T]) -> tuple[bool, T | None]:
        """`read` on one log, if the query lets it in: (whether it was read, what it gave)."""
        member_query, store = member.query_for(query), member.store
        if member_query is None or store is None:
            return False, None
        try:
            return True, read(store, member_query, member)
        except StoreError as error:
            if error.kind in (ErrorKind.CANCELLED, ErrorKind.BUSY):
                raise
            self._fail(member, error, store)
            return False, None

    def _fail(self, member: Member, error: StoreError,
              store: SagaStore | None = None) -> None:
        """Mark the log whose read failed (`store`: the one read; a log reopened meanwhile
        is left as it now is)."""
        if len(self.members) == 1:
            raise error  # one log: its failure is the view's, as before
        if store is None or member.store is store:
            member.error = error.message

    def counts(self) -> StateCounts:
        """Sagas per state over every log shown."""
        found: dict[str, int] = {}
        for counts in self._each(ALL_SAGAS, lambda store, _q, _m: store.counts()):
            for state, n in counts.by_state.items():
                found[state] = found.get(state, 0) + n
        fmt = self.format
        by_state = {state: found.pop(state, 0) for state in fmt.saga_states}
        return StateCounts({**by_state, **dict(sorted(found.items()))}, fmt)

    def count(self, query: SagaQuery, *, cancelled: Cancelled = None) -> int:
        return sum(self._each(query, lambda store, q, _m: store.count(q, cancelled=cancelled)))

    def sagas(self, query: SagaQuery = ALL_SAGAS, *, after: SortKey | None = None,
              before: SortKey | None = None, at: SortKey | None = None,
              limit: int = PAGE_SIZE, cancelled: Cancelled = None,
              progress: Progress | None = None) -> list[Saga]:
        """A page in the query's sort by keyset, as SagaStore.sagas, over every log; a
        search's `progress` over several logs is in sagas (_ViewProgress)."""
        if limit <= 0:
            return []
        if len(self.members) == 1:  # the log's own order and plan, untouched
            found = self._each(query, lambda store, q, _m: store.sagas(
                q, after=after, before=before, at=at, limit=limit, cancelled=cancelled,
                progress=progress))
            return found[0] if found else []

        readers = self._index_readers(query)
        if readers is not None:
            return self._indexed_page(query, readers, after=after, before=before, at=at,
                                      limit=limit)
        scan = None if progress is None else _ViewProgress(progress, self._sizes(query))
        if query.sort is SortOrder.STARTED and after is None and before is None and at is None \
                and not query.searching:
            return self._first_start_page(query, limit, cancelled)
        if query.sort is SortOrder.STARTED:
            return self._start_page(query, after=after, before=before, at=at, limit=limit,
                                    cancelled=cancelled, scan=scan)
        if _reads_by_id(query):
            return self._id_page(query, after=after, before=before, at=at, limit=limit,
                                 cancelled=cancelled)

        def page(store: SagaStore, member_query: SagaQuery, member: Member) -> list[Saga]:
            bound = _member_bound(member.tag.rank, member_query, after=after, before=before,
                                  at=at)
            if not isinstance(bound, dict):
                return store.oldest(member_query, limit=limit, cancelled=cancelled)
            found = store.sagas(member_query, **bound, limit=limit, cancelled=cancelled,
                                progress=None if scan is None else scan.of(member))
            if scan is not None:
                scan.finished(member)
            return found

        pages = self._each(query, page)
        if before is not None:
            return _merged(pages, query, len(pages) * limit)[-limit:]
        return _merged(pages, query, limit)

    def oldest(self, query: SagaQuery = ALL_SAGAS, *, limit: int = PAGE_SIZE,
               cancelled: Cancelled = None) -> list[Saga]:
        if limit <= 0:
            return []
        readers = self._index_readers(query) if len(self.members) > 1 else None
        if readers is not None:
            return self._indexed_page(query, readers, limit=limit, from_oldest=True)
        if query.sort is SortOrder.STARTED and len(self.members) > 1:
            return self._start_page(query, limit=limit, from_oldest=True, cancelled=cancelled)
        if len(self.members) > 1 and _reads_by_id(query):
            return self._id_page(query, limit=limit, from_oldest=True, cancelled=cancelled)
        pages = self._each(query, lambda store, q, _m: store.oldest(q, limit=limit,
                                                                   cancelled=cancelled))
        return _merged(pages, query, len(pages) * limit)[-limit:]

    def walk(self, query: SagaQuery = ALL_SAGAS, limit: int = 0, *,
             after: SortKey | None = None, cancelled: Cancelled = None) -> Iterator[Saga]:
        """Up to `limit` sagas (0: all) in the query's sort, page by page by keyset."""
        if len(self.members) == 1:  # the log's own walk, untouched
            walks = self._each(query, lambda store, q, _m: store.walk(
                q, limit, after=after, cancelled=cancelled))
            yield from (walks[0] if walks else ())
            return
        most = PAGE_SIZE if query.sort is SortOrder.ID else SCAN_PAGE_SIZE
        yield from walk_pages(self.sagas, query, limit, most, after=after, cancelled=cancelled)

    def _sizes(self, query: SagaQuery) -> dict[int, int]:
        """The sagas of each log a search reads (by rank), from the counts by state (read
        once per change of a log, as the dashboard's chips read them)."""
        sizes = self._each(query, lambda store, _q, member: (member.tag.rank,
                                                             store.counts().total))
        return dict(sizes)

    def _first_start_page(self, query: SagaQuery, limit: int,
                          cancelled: Cancelled) -> list[Saga]:
        """The view's first page by start time before its indexes are read (as it opens):
        every log's own first page, by its proxies (SagaStore.first_page: one pass of cheap
        comparisons, where the blocks' bounds _start_page needs cost three times as much to
        read), two logs at a time, merged. The bounds are read with the index of start
        times (build_sort_index)."""
        def page(store: SagaStore, member_query: SagaQuery, _member: Member) -> list[Saga]:
            found = store.first_page(member_query, limit, cancelled=cancelled)
            return found if found is not None else store.sagas(
                member_query, limit=limit, cancelled=cancelled)
        return _merged(self._each_side_by_side(query, page), query, limit)

    def _start_page(self, query: SagaQuery, *, after: SortKey | None = None,
                    before: SortKey | None = None, at: SortKey | None = None,
                    limit: int, from_oldest: bool = False,
                    cancelled: Cancelled = None,
                    scan: _ViewProgress | None = None) -> list[Saga]:
        """A page by start time over several logs: the logs are asked for keys only, the
        most promising first (the highest start its blocks can still hold, start_order.py),
        and no further once none left can beat the page; then only the page's rows are
        read, each from its log."""
        upward = from_oldest or before is not None
        plans = self._each(query, lambda store, q, member: _start_plan(
            store, q, member, after=after, before=before, at=at, upward=upward,
            from_oldest=from_oldest, cancelled=cancelled))
        plans = sorted((plan for plan in plans if plan is not None), key=lambda p: p.reach,
                       reverse=not upward)
        chosen: list[SortKey] = []

        def keys_of(plan: _StartPlan) -> list[SortKey] | None:
            found = self._guarded(plan.member, lambda: plan.store.start_keys(
                plan.query, **plan.bound, from_oldest=plan.from_oldest, limit=limit,
                cancelled=cancelled, progress=None if scan is None else scan.of(plan.member)))
            if scan is not None:
                scan.finished(plan.member)
            return found
        # A search may read every log to its end: two logs are read at once, in two threads
        # (each log has its own connection; SQLite leaves the GIL while it reads).
        ahead = _ReadAhead(self._reader() if query.searching else None, keys_of, plans)
        for number, plan in enumerate(plans):
            if len(chosen) >= limit:
                edge = chosen[-limit] if upward else chosen[limit - 1]
                # Ties on the value are read: the log's rank or id may still put a row in.
                if (plan.reach > edge.value) if upward else (plan.reach < edge.value):
                    ahead.drop()
                    break
            found = ahead.keys(number)
            rank = plan.member.tag.rank
            chosen = sorted([*chosen, *(SortKey(k.value, k.saga_id, rank) for k in found or ())],
                            reverse=True)
            chosen = chosen[-limit:] if upward else chosen[:limit]
        return self._rows_of(chosen)

    def _id_page(self, query: SagaQuery, *, after: SortKey | None = None,
                 before: SortKey | None = None, at: SortKey | None = None, limit: int,
                 from_oldest: bool = False, cancelled: Cancelled = None) -> list[Saga]:
        """A page by id over several logs, a lazy merge (_lazy_merge) of the logs' rows:
        each log stands in it by its highest id (its lowest reading up) within the bound,
        so that a log whose ids cannot reach the page is never read."""
        upward = from_oldest or before is not None
        leads = self._each(query, lambda store, q, member: _id_lead(
            store, q, member, after=after, before=before, at=at, upward=upward,
            from_oldest=from_oldest))
        found = self._lazy_merge([lead for lead in leads if lead is not None], limit, upward,
                                 cancelled)
        return [item for item in found if isinstance(item, Saga)]

    def _lazy_merge(self, leads: Sequence[_Lead], limit: int, upward: bool,
                    cancelled: Cancelled) -> list[Saga | SortKey]:
        """The first `limit` items (rows or keys) of the logs' `leads` merged, in the view's
        order. Every log stands in the merge by the best key it can still give (its `reach`;
        unknown: first), and is read only when that comes first, a few items at a time (twice
        as many each time it comes first again): logs that share the page are read a few
        items each, not a page each, and a log that cannot reach the page is not read."""
        sign = 1 if upward else -1  # heapq pops the least: reading down, keys negated
        heap: list[tuple[float, int, int, int, int, _Lead | Saga | SortKey]] = []
        count = 0  # (a tie-break: entries never compare their last item)

        def push(key: SortKey | None, item: _Lead | Saga | SortKey, is_lead: bool) -> None:
            nonlocal count
            count += 1
            if key is None:  # (a lead of unknown reach: before every key)
                heapq.heappush(heap, (-math.inf, 0, 0, 1, count, item))
                return
            # On the same key an item comes before its log's lead: the lead is then not read.
            heapq.heappush(heap, (sign * key.value, sign * key.source, sign * key.saga_id,
                                  int(is_lead), count, item))

        for lead in leads:
            push(lead.reach, lead, True)
        waiting = len(leads)  # leads in the heap
        page: list[Saga | SortKey] = []
        while heap and len(page) < limit:
            item = heapq.heappop(heap)[-1]
            if not isinstance(item, _Lead):
                page.append(item)
                continue
            waiting -= 1
            remaining = limit - len(page)
            size = min(remaining, max(_FIRST_READ, -(-remaining // (waiting + 1)))
                       if item.read == 0 else 2 * item.read)
            found = self._guarded(item.member, lambda i=item, n=size: i.items(n, cancelled))
            if not found:
                continue
            ordered = found[::-1] if upward else found  # best first
            for key, row in ordered:
                push(key, row, False)
            if len(found) == size:  # the log may hold more beyond its last item read
                item.read, item.cursor = size, ordered[-1][0]
                push(item.cursor, item, True)
                waiting += 1
        return page[::-1] if upward else page

    # -- sort indexes (sort_index.py) ----------------------------------------------------

    def build_sort_index(self, sort: SortOrder, *, progress: Progress | None = None,
                         cancelled: Cancelled = None) -> bool:
        """Read (or bring up to date) every shown log's index of `sort`, the smallest logs
        first; `progress(read, total)` over all of them. False for a sort no index serves."""
        if sort not in INDEXED_SORTS:
            return False
        members = [m for m in self._readable() if not m.hidden and m.store is not None]
        totals = {id(m): self._guarded(m, m.store.counts) for m in members}  # type: ignore[union-attr]
        sizes = {id(m): counts.total if counts is not None else 0
                 for m in members for counts in [totals[id(m)]]}
        total = sum(sizes.values())
        read = {id(m): 0 for m in members}
        tally = threading.Lock()

        def told(member: Member, done: int) -> None:
            with tally:
                read[id(member)] = min(done, sizes[id(member)])
                if progress is not None:
                    progress(min(sum(read.values()), total), total)

        def build(member: Member) -> None:
            store = member.store
            assert store is not None
            self._guarded(member, lambda: store.build_sort_index(
                sort, progress=lambda done, _of: told(member, done), cancelled=cancelled))
            if sort is SortOrder.STARTED:  # what a search by start time reads first
                self._guarded(member, lambda: store.start_bounds(cancelled))
            told(member, sizes[id(member)])

        # The logs whose index is read and up to date need no thread (a sort switched back
        # to asks every log again): counted read. With nothing to read, nothing is said (as
        # one log's store says nothing): a table would draw that progress for nothing.
        kept = [m for m in members
                if self._guarded(m, lambda s=m.store: s.sort_index(sort)) is not None]  # type: ignore[union-attr]
        read.update((id(m), sizes[id(m)]) for m in kept)
        kept_ids = {id(m) for m in kept}
        # Smallest first (the most logs ready soonest), two at a time: a log of many open
        # at once reads on one connection, so two logs keep both cores busy.
        ordered = sorted((m for m in members if id(m) not in kept_ids), key=lambda m: sizes[id(m)])
        if len(ordered) > 1:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(build, ordered))
        else:
            for member in ordered:
                build(member)
        return True

    def _index_readers(self, query: SagaQuery) -> list[_IndexedLog] | None:
        """Every log the query reads with its sort's index (up to date) that serves it; None
        unless each has one. (Each index is found, and its version checked, once a page.)"""
        if query.sort not in INDEXED_SORTS or not query.parsed.only_states:
            return None
        found = self._each(query, lambda store, q, member: (member, store, q,
                                                             store.index_reader(q)))
        if not found or any(reader is None for *_log, reader in found):
            return None
        return [_IndexedLog(*log) for log in found]

    def _indexed_page(self, query: SagaQuery, readers: Sequence[_IndexedLog], *,
                      after: SortKey | None = None, before: SortKey | None = None,
                      at: SortKey | None = None, limit: int,
                      from_oldest: bool = False) -> list[Saga]:
        """A page from the logs' indexes: each gives the keys of its own page (no rows),
        those are merged, and only the page's rows are read, each from its log. A log
        stands in the merge by the best value its index's span lets it reach: one whose
        span cannot reach the page (most, when logs cover different times) is not read."""
        upward = from_oldest or before is not None
        leads = []
        for log in readers:
            rank = log.member.tag.rank
            bound = {} if from_oldest else _member_bound(
                rank, log.query, after=after, before=before, at=at)
            reach = _index_reach(log.reader, bound, upward, rank)
            if reach is not None:
                leads.append(_Lead(log.member, log.store, log.query, bound, upward, reach,
                                   index=log.reader, keys_only=True))
        chosen = self._lazy_merge(leads, limit, upward, None)
        return self._rows_of([key for key in chosen if isinstance(key, SortKey)])

    def _rows_of(self, keys: Sequence[SortKey]) -> list[Saga]:
        """The sagas of these keys (of several logs), in their order."""
        wanted: dict[int, list[int]] = {}
        for key in keys:
            wanted.setdefault(key.source, []).append(key.saga_id)
        by_rank = {member.tag.rank: member for member in self.members}
        found: dict[tuple[int, int], Saga] = {}
        for rank, ids in wanted.items():
            member = by_rank[rank]
            if member.store is None:
                continue
            store = member.store
            for saga in self._guarded(member, lambda s=store, i=ids: s.sagas_in_order(i)) or ():
                found[(rank, saga.saga_id)] = saga
        return [found[(key.source, key.saga_id)] for key in keys
                if (key.source, key.saga_id) in found]

    def _guarded(self, member: Member, read: Callable[[], T]) -> T | None:
        """`read` on one log; a failure marks it (see _each) and gives None."""
        store = member.store
        try:
            return read()
        except StoreError as error:
            if error.kind in (ErrorKind.CANCELLED, ErrorKind.BUSY):
                raise
            self._fail(member, error, store)
            return None

    def count_before(self, query: SagaQuery, key: SortKey, *,
                     cancelled: Cancelled = None) -> int:
        """How many sagas of the view sort before `key` (keys above it)."""
        def before(store: SagaStore, member_query: SagaQuery, member: Member) -> int:
            bound = _member_bound(member.tag.rank, member_query, before=key)
            if not isinstance(bound, dict):
                return store.count(member_query, cancelled=cancelled)
            if member_query.sort is SortOrder.STARTED:  # a log wholly on one side: no read
                blocks = store.start_bounds(cancelled)
                highest, lowest = blocks.reach_below(None), blocks.reach_above(None)
                if highest is None or highest < bound["before"].value:
                    return 0
                if lowest is not None and lowest > bound["before"].value:
                    return store.count(member_query, cancelled=cancelled)
            return store.count_before(member_query, bound["before"], cancelled=cancelled)
        if len(self.members) == 1:
            found = self._each(query, lambda store, q, _m: store.count_before(
                q, key, cancelled=cancelled))
            return found[0] if found else 0
        return sum(self._each(query, before))

    def page_keys(self, query: SagaQuery = ALL_SAGAS, *, stride: int = PAGE_SIZE,
                  cancelled: Cancelled = None) -> list[SortKey]:
        """The key of the first saga of each page of `stride` sagas (one scan per log, one
        after the other, then one merge of their keys)."""
        if len(self.members) == 1:
            found = self._each(query, lambda store, q, _m: store.page_keys(
                q, stride=stride, cancelled=cancelled))
            return found[0] if found else []
        # Each log's keys as two compact columns (16 bytes a saga), read one log after the
        # other, then merged.
        streams = self._each(query, lambda store, q, member: _ranked(
            store.key_columns(q, cancelled=cancelled), member.tag.rank))
        # (merged as plain tuples, (value, rank, id): compared in C)
        return [SortKey(value, saga_id, rank) for position, (value, rank, saga_id)
                in enumerate(heapq.merge(*streams, reverse=True)) if position % stride == 0]

    def first_page(self, query: SagaQuery, limit: int = PAGE_SIZE, *,
                   cancelled: Cancelled = None) -> list[Saga] | None:
        """One log: its first page by its proxies (SagaStore.first_page). Several: None (a
        view of several logs reads its sort indexes ahead, from the start: a page waits for
        them rather than scanning every log while they are read)."""
        if len(self.members) != 1:
            return None
        pages = self._each(query, lambda store, q, _m: store.first_page(
            q, limit, cancelled=cancelled))
        return pages[0] if pages else None

    def newest_id(self) -> int | None:
        found = [n for n in self._each(ALL_SAGAS, lambda store, _q, _m: store.newest_id())
                 if n is not None]
        return max(found, default=None)

    # -- one saga ------------------------------------------------------------------------

    def holders(self, saga_id: int) -> list[SourceTag]:
        """The logs that hold a saga with this id."""
        return [tag for tag in self._each(ALL_SAGAS, lambda store, _q, member: (
            member.tag if store.saga_states([saga_id]) else None)) if tag is not None]

    def saga(self, saga_id: int, source: str | None = None) -> SagaDetail | None:
        """One saga with its steps. `source`: the label of its log; without it, the one log
        holding that id (AmbiguousSaga when several do)."""
        if source is not None:
            member = self._by_label.get(source)
            if member is None or not member.readable or member.store is None:
                return None
            return member.store.saga(saga_id)
        holders = self.holders(saga_id)
        if len(holders) > 1:
            raise AmbiguousSaga(saga_id, holders)
        return self.saga(saga_id, holders[0].label) if holders else None

    def sagas_by_ref(self, refs: Iterable[SagaRef]) -> list[Saga]:
        """The sagas named that are in their logs, in no particular order."""
        wanted: dict[str, list[int]] = {}
        for ref in refs:
            wanted.setdefault(ref.source, []).append(ref.saga_id)
        found: list[Saga] = []
        for label, ids in wanted.items():
            member = self._by_label.get(label)
            if member is not None and member.readable and member.store is not None:
                found += member.store.sagas_by_id(ids)
        return found

    # -- live ----------------------------------------------------------------------------

    def changed(self, *, lock_wait: float | None = None) -> bool:
        """Whether any log changed since the last call, or vanished (a log that vanished
        keeps its rows as last read, marked gone)."""
        with self._lock:  # (not while R reopens the same logs)
            return self._poll(lock_wait)

    def _poll(self, lock_wait: float | None) -> bool:
        changed = False
        for member in self.members:
            if member.store is None or member.error is not None:
                continue
            now = _identity(member.tag.path)
            if now != member.identity and not member.gone:
                member.gone = changed = True
                if len(self.members) == 1:
                    raise StoreError(ErrorKind.NOT_FOUND,
                                     f"{member.tag.path} was removed or replaced")
                continue
            try:
                changed = member.store.changed(lock_wait=lock_wait) or changed
            except StoreError as error:
                if error.kind is ErrorKind.BUSY or len(self.members) == 1:
                    raise
                member.error = error.message
                changed = True
        return changed

    def interrupt(self) -> None:
        for member in self.members:
            if member.store is not None:
                member.store.interrupt()

    # -- following (cli helper) ----------------------------------------------------------

    def replace_store(self, label: str) -> SagaStore | None:
        """Open `label`'s path afresh, for a follower whose file was replaced by a new one
        (`list --follow`, like `tail -F`): the new store, the old one closed; None while the
        new file cannot be read yet (a writer still creating it), the old store kept."""
        member = self._by_label[label]
        try:
            store = self._opener(member.tag.path, tag=member.tag)
        except StoreError:
            return None
        if member.store is not None:
            member.store.close()
        self._attach(member, store)
        return store


_EVERY_ROW_ABOVE = object()  # every row of the log sorts above the key


@dataclass(frozen=True, slots=True)
class _StartPlan:
    """One log's part in a page by start time: its bound and how far it can reach."""

    member: Member
    store: SagaStore
    query: SagaQuery
    bound: dict[str, SortKey]
    from_oldest: bool
    reach: int  # the best value it can give (the highest reading down, lowest reading up)


class _ViewProgress:
    """A search's scan of several logs as one Progress in sagas: each log counts for its
    sagas (`sizes`, by rank), and what it says of its own scan (done of total, in its own
    units) for that share of them. Two logs may be read at once (_ReadAhead): what is said
    never goes down."""

    def __init__(self, progress: Progress, sizes: dict[int, int]) -> None:
        self._progress = progress
        self._sizes = sizes
        self._total = sum(sizes.values())
        self._parts: dict[int, int] = {}  # sagas read, by rank
        self._said = 0
        self._lock = threading.Lock()

    def of(self, member: Member) -> Progress:
        rank = member.tag.rank
        size = self._sizes.get(rank, 0)

        def progress(done: int, total: int) -> None:
            self._read(rank, size if total <= 0 else size * min(done, total) // total)
        return progress

    def finished(self, member: Member) -> None:
        self._read(member.tag.rank, self._sizes.get(member.tag.rank, 0))

    def _read(self, rank: int, part: int) -> None:
        with self._lock:
            self._parts[rank] = max(part, self._parts.get(rank, 0))
            done = min(sum(self._parts.values()), self._total)
            if done < self._said:
                return
            self._said = done
            self._progress(done, self._total)


class _ReadAhead:
    """The keys of each log's plan, in order (`keys(number)`); with a `pool` (two threads),
    the next plan's are read while this one's are. `drop()`: no more are wanted (a read
    under way is waited for: nothing reads on after the page is made)."""

    def __init__(self, pool: ThreadPoolExecutor | None,
                 read: Callable[[_StartPlan], list[SortKey] | None],
                 plans: Sequence[_StartPlan]) -> None:
        self._pool, self._read, self._plans = pool, read, plans
        self._reading: dict[int, Future[list[SortKey] | None]] = {}

    def keys(self, number: int) -> list[SortKey] | None:
        if self._pool is None:
            return self._read(self._plans[number])
        for wanted in (number, number + 1):
            if wanted < len(self._plans) and wanted not in self._reading:
                self._reading[wanted] = self._pool.submit(self._read, self._plans[wanted])
        try:
            return self._reading.pop(number).result()
        except BaseException:
            self.drop()
            raise

    def drop(self) -> None:
        reading, self._reading = self._reading, {}
        for future in reading.values():
            with contextlib.suppress(StoreError):
                future.result()


_FIRST_READ = 4  # items a log is first asked for in a lazy merge (_lazy_merge)


@dataclass(slots=True)
class _Lead:
    """One log's place in a lazy merge (MergedSource._lazy_merge): the best key it can
    still give (`reach`, None when not known; then its last item read), and how to read on:
    its rows, or (`keys_only`) the keys of its sort's index."""

    member: Member
    store: SagaStore
    query: SagaQuery
    bound: dict[str, SortKey] | object  # its own bound (_member_bound) for the first read
    upward: bool
    reach: SortKey | None
    keys_only: bool = False
    index: IndexReader | None = None  # (keys_only) its index's keys; None: no index serves
    read: int = 0  # items it was last asked for (0: not read yet)
    cursor: SortKey | None = None  # the key of its last item read

    def items(self, limit: int, cancelled: Cancelled) -> list[tuple[SortKey, Saga | SortKey]]:
        """Its next `limit` items on the page's side with their keys, in the view's
        (descending) order."""
        bound = self.bound
        if self.cursor is not None:
            bound = {"before" if self.upward else "after":
                     SortKey(self.cursor.value, self.cursor.saga_id)}
        oldest = not isinstance(bound, dict) or (self.upward and not bound)
        own = {} if oldest or not isinstance(bound, dict) else bound
        if self.keys_only:
            rank = self.member.tag.rank
            found = [] if self.index is None else self.index.keys(**own, from_oldest=oldest,
                                                                  limit=limit)
            return [(key, key) for key in (SortKey(k.value, k.saga_id, rank) for k in found)]
        if oldest:
            rows = self.store.oldest(self.query, limit=limit, cancelled=cancelled)
        else:
            rows = self.store.sagas(self.query, **own, limit=limit, cancelled=cancelled)
        return [(self.query.key_of(saga), saga) for saga in rows]


@dataclass(frozen=True, slots=True)
class _IndexedLog:
    """A log a page reads from its sort's index (MergedSource._index_readers)."""

    member: Member
    store: SagaStore
    query: SagaQuery
    reader: IndexReader


def _index_reach(reader: IndexReader, bound: dict[str, SortKey] | object, upward: bool,
                 rank: int) -> SortKey | None:
    """The best key a log's index can give on the page's side of its `bound` (as
    _member_bound gives it), from the span of its values alone; None: it holds none
    there. Reading down, no key is above the bound or the highest value; up, none below
    the bound or the lowest."""
    span = reader.extremes()
    if span is None:
        return None
    highest, lowest = span
    local = next(iter(bound.values()), None) if isinstance(bound, dict) else None
    if not upward:
        if local is None:
            return SortKey(highest, _MAX_ID, rank)
        if lowest > local.value:
            return None
        return (SortKey(local.value, local.saga_id, rank) if highest >= local.value
                else SortKey(highest, _MAX_ID, rank))
    if local is None:  # from the oldest, or every row of the log above the key
        return SortKey(lowest, _MIN_ID, rank)
    if highest < local.value:
        return None
    return (SortKey(local.value, local.saga_id, rank) if lowest <= local.value
            else SortKey(lowest, _MIN_ID, rank))


def _id_lead(store: SagaStore, query: SagaQuery, member: Member, *, after: SortKey | None,
             before: SortKey | None, at: SortKey | None, upward: bool,
             from_oldest: bool) -> _Lead | None:
    """A log's lead in a page by id, from its lowest and highest ids (two lookups) and its
    bound; None when it holds nothing on the page's side (nor of the states asked)."""
    states = store.state_set(query)  # (counts by state: read once per change of the log)
    if states is not None and store.counts().count(states) == 0:
        return None
    extent = store.id_extent()
    if extent is None:
        return None
    low, high = extent
    rank = member.tag.rank
    bound = {} if from_oldest else _member_bound(rank, query, after=after, before=before,
                                                 at=at)
    reach = low if upward else high
    if isinstance(bound, dict) and bound:
        (side, local), = bound.items()
        edge = local.saga_id  # (by id a key's value is its id)
        if side == "before":  # ids above the edge
            if edge >= high:
                return None
            reach = max(low, edge)
        else:  # ids below the edge (at: or on it)
            if edge < low or (side == "after" and edge == low):
                return None
            reach = min(high, edge)
    return _Lead(member, store, query, bound, upward, SortKey(reach, reach, rank))


def _start_plan(store: SagaStore, query: SagaQuery, member: Member, *,
                after: SortKey | None, before: SortKey | None, at: SortKey | None,
                upward: bool, from_oldest: bool, cancelled: Cancelled) -> _StartPlan | None:
    bound = {} if from_oldest else _member_bound(member.tag.rank, query, after=after,
                                                 before=before, at=at)
    if not isinstance(bound, dict):  # every row of the log is above the key: its last ones
        bound, from_oldest = {}, True
    blocks = store.start_bounds(cancelled)
    if query.parsed.only_states:  # none of the states asked for: no rows to look for
        counts = store.counts_at(blocks.version) or store.counts()
        if counts.count(store.state_set(query)) == 0:
            return None
    local = next(iter(bound.values()), None)
    edge = None if local is None else local.value
    reach = blocks.reach_above(edge) if upward else blocks.reach_below(edge)
    if reach is None:
        return None
    return _StartPlan(member, store, query, bound, from_oldest, reach)


def _member_bound(rank: int, query: SagaQuery, *, after: SortKey | None = None,
                  before: SortKey | None = None,
                  at: SortKey | None = None) -> dict[str, SortKey] | object:
    """A view's keyset bound as one log's own (keys are (value, rank, id); the log's rows
    all have `rank`): the rows of that log on the same side of the key, exactly."""
    key = after or at or before
    if key is None:
        return {}
    value, key_rank = key.value, key.source
    if rank == key_rank:
        name = "after" if after is not None else "at" if at is not None else "before"
        return {name: SortKey(value, key.saga_id)}
    by_id = query.sort is SortOrder.ID  # (a log sorted by id bounds the id: the value)

    def local(value: int, extreme: int) -> SortKey:
        return SortKey(value, value if by_id else extreme)

    if before is None:  # the rows below the key
        # A log ranked below the key's: its rows with the key's value are below it too.
        return ({"at": local(value, _MAX_ID)} if rank < key_rank
                else {"after": local(value, _MIN_ID)})
    if rank < key_rank:  # the rows above the key: those with a higher value
        return {"before": local(value, _MAX_ID)}
    # A log ranked above the key's: its rows with the key's value are above it too.
    if value == NO_VALUE:
        return _EVERY_ROW_ABOVE
    return {"before": local(value - 1, _MAX_ID)}


def _ranked(columns: tuple[Sequence[int], Sequence[int]],
            rank: int) -> Iterator[tuple[int, int, int]]:
    """A log's keys as (value, rank, id) tuples: SortKey's order, compared in C."""
    values, ids = columns
    return ((value, rank, saga_id) for value, saga_id in zip(values, ids, strict=True))


def _merged(pages: Sequence[Sequence[Saga]], query: SagaQuery, limit: int) -> list[Saga]:
    """The first `limit` sagas of the logs' pages (each in the query's order) merged."""
    merged = heapq.merge(*pages, key=lambda saga: query.key_of(saga).order, reverse=True)
    return list(islice(merged, limit))


def _reads_by_id(query: SagaQuery) -> bool:
    """Whether a page of the view is read by id a few rows a log at a time (_id_page):
    sorted by id, states only (a search's page is a scan of each log: read once)."""
    return query.sort is SortOrder.ID and query.parsed.only_states


def _bound_opener(opener: Opener, options: dict[str, object]) -> Opener:
    def open_log(path: Path, *, tag: SourceTag) -> SagaStore:
        return opener(path, tag=tag, **options)
    return open_log
