"""SagaStore: the read-only repository over one saga log file.

One persistent connection; every public call runs inside one short read transaction
(or joins the caller's `snapshot()`), so nothing is ever left open between calls.
Safe to call from worker threads: calls are serialised by a lock.
"""

from __future__ import annotations

import heapq
import sqlite3
import sys
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import pairwise
from pathlib import Path

from .connection import (
    BUSY_TIMEOUT_S,
    connect_read_only,
    only_in_unread_wal,
    translate_error,
)
from .errors import ErrorKind, StoreError
from .first_page import (
    SPARE,
    Ceiling,
    Group,
    Lane,
    LaneRow,
    checked_page,
    span_ceiling,
    start_ceiling,
)
from .formats import FORMATS, LogFormat, described_formats, detect_format
from .formats.base import SAGA_FIELDS, STEP_FIELDS
from .kinds import StepPlace, StepRecord, classify_steps
from .labels import source_labels
from .models import (
    Saga,
    SagaDetail,
    SagaQuery,
    SchemaInfo,
    SortKey,
    SortOrder,
    StateCounts,
    Step,
    StoredValue,
)
from .query_sql import SqlColumns, register_functions, sort_value_sql, where_sql
from .scan import BlockSpans, IdRanges, ReadSpan
from .sort_index import (
    OTHER_STATE,
    RUN_SIZE,
    LocalKey,
    Progress,
    SortIndex,
    SortRun,
    records,
)
from .source_tag import SourceTag
from .sql import ident as _ident
from .sql import marks as _marks
from .start_order import BLOCK_BITS, Block, ReadBlock, StartBlocks, block_ids, merged_blocks
from .timestamps import NO_VALUE

PAGE_SIZE = 100
# Rows a walk reads at once under a sort no index serves: each read is a scan whatever its
# size (at 100 000 sagas: ~0.2 s for 100 rows, ~0.4 s for 5 000), so reads are big.
SCAN_PAGE_SIZE = 5_000
ALL_SAGAS = SagaQuery()
# SQLite's integer range: every saga id lies within it.
_MIN_ID, _MAX_ID = -(2**63), 2**63 - 1
# Ids bound in one `IN (...)` list: well under SQLite's limit on parameters.
_ID_CHUNK = 500
LEAN_CACHE_KIB = 64  # the page cache of each of many logs open at once (SQLite's: 2 MiB)
_RANGE_CHUNK = 200  # id ranges in one count (two parameters each)
# The sorts a SortIndex serves (sort_index.py), and the ids it reads in one statement
INDEXED_SORTS = frozenset({SortOrder.STARTED, SortOrder.DURATION})
_NEWEST_IDS = 1 << 12  # the ids whose times set a first page's floor (_near_the_top)
_PAGE_FIRST_WAIT_S = 2.0  # the longest a read of keys waits for first pages (_PagesFirst)
_HALVES_FROM = 1 << 13  # ids in a range read in two halves at once (_halves)
# The pause between two short reads of one answer while another connection commits (counts
# read apart, follow.py): back to back, short reads still leave a writer flat out (tens of
# thousands of commits a second) no moment without a reader in its -wal, so it cannot start
# the -wal over and it grows by all it writes meanwhile (bench_wal.py). A few ms between
# reads let its checkpoint finish and its -wal restart; an idle log pays nothing.
READ_GAP = 0.005
# Counts read apart (SagaStore._read_counts_apart): the rowids one statement counts a
# state in (at 1M sagas, ~15 000 failed_compensation ones: ≤ 1 ms).
_COUNT_SPAN = 100_000
_COUNT_SPANS_MOST = 100  # more ranges than this (ids far apart): none
_COUNT_HOLD = 0.0005  # seconds of reading between two pauses (READ_GAP) of a live count


def _text(value: StoredValue) -> str | None:
    """SQLite columns are loosely typed: whatever is stored, the field reads as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def _int(value: StoredValue, default: int = 0) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(_text(value) or "")
    except ValueError:
        return default


def walk_pages(read: Callable[..., list[Saga]], query: SagaQuery, limit: int, most: int, *,
               after: SortKey | None = None,
               cancelled: Callable[[], bool] | None = None) -> Iterator[Saga]:
    """Up to `limit` sagas (0: all) of `read(query, after=, limit=, cancelled=)` (a `sagas`
    method), `most` a page, each page after the last one's key."""
    remaining = limit or None
    while True:
        if cancelled is not None and cancelled():
            raise StoreError(ErrorKind.CANCELLED, "query cancelled")
        size = most if remaining is None else min(most, remaining)
        page = read(query, after=after, limit=size, cancelled=cancelled)
        yield from page
        if remaining is not None:
            remaining -= len(page)
        if len(page) < size or remaining == 0:
            return
        after = query.key_of(page[-1])


def _bindable(value: object) -> object:
    """`value` with lone surrogates in text written as `\\udcff`, so SQLite can take it."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


@dataclass(frozen=True, slots=True)
class _Bound:
    """Where a page starts: the rows whose key is `<` (after), `<=` (at) or `>` (before)
    `key`, in the query's sort."""

    key: SortKey
    op: str

    @property
    def reads_up(self) -> bool:
        return self.op == ">"


def _bound(after: SortKey | None, before: SortKey | None, at: SortKey | None,
           older_than: int | None, newer_than: int | None, sort: SortOrder) -> _Bound | None:
    given = [(name, value) for name, value in (
        ("after", after), ("before", before), ("at", at), ("older_than", older_than),
        ("newer_than", newer_than)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"give one of after/before/at/older_than/newer_than, not "
                         f"{' and '.join(name for name, _ in given)}")
    if not given:
        return None
    name, value = given[0]
    if name in ("older_than", "newer_than"):
        if sort is not SortOrder.ID:
            raise ValueError(f"{name} is a saga id: it only places a page sorted by id "
                             f"(use after/before with SagaQuery.key_of under {sort})")
        assert isinstance(value, int)
        value = SortKey(value, value)
    assert isinstance(value, SortKey)
    return _Bound(value, {"after": "<", "older_than": "<", "at": "<=", "before": ">",
                          "newer_than": ">"}[name])


class _PagesFirst:
    """First pages under way (SagaStore.first_page): a read of a sort's keys waits
    between its ranges while one runs, so that the page the operator waits for has the
    connections and the cores (bounded: a page never stops a read for long)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._reading = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._changed:
            self._reading += 1
        try:
            yield
        finally:
            with self._changed:
                self._reading -= 1
                self._changed.notify_all()

    def wait(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._reading == 0, timeout=_PAGE_FIRST_WAIT_S)


@dataclass(frozen=True, slots=True)
class _StateIds:
    """The ids of every saga whose state no index serves but the usual one's, by state, in
    ascending order, as the file held them at `data_version` `version` (see counts()).
    8 bytes a saga: at a million sagas of which 5 % are not completed, 0.4 MB."""

    version: int
    ids: Mapping[str, array[int]]


class SagaStore:
    """Reads one saga log strictly read-only. Create with `SagaStore.open(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, log_format: LogFormat | None = None,
                 scan_conn: sqlite3.Connection | None = None,
                 tag: SourceTag | None = None,
                 helper_conn: sqlite3.Connection | None = None) -> None:
        """`log_format` None: told from the file's tables (detect_format). `tag`: the log's
        label and rank among those shown together (default: as alone in a view, rank 0)."""
        self.path = path
        # (alone, a log is labelled as a view of it alone labels it)
        self.tag = tag if tag is not None else SourceTag(source_labels([path])[0], path)
        self._conn = conn
        # Long scans (a search, the page anchors) run on a second connection with its own
        # lock, so the short reads (a page, a saga's steps) never wait behind one. Without
        # it, they share the first connection and its lock.
        self._scan_conn = scan_conn
        self._scan_lock = threading.Lock()
        # A search reads each big range in two halves at once, the second half on this
        # third connection, in a thread of its own (SQLite leaves the GIL while it reads):
        # on two cores, a scan in a little more than half the time (_halves). None: one
        # half after the other.
        self._helper_conn = helper_conn
        self._helper_lock = threading.Lock()
        self._helper: ThreadPoolExecutor | None = None
        self._format: LogFormat | None = log_format
        for connection in (conn, scan_conn, helper_conn):
            if connection is not None:
                register_functions(connection)
        self._lock = threading.RLock()
        self._depth = 0
        self._last_data_version: int | None = None
        self._counts_cache: tuple[int, StateCounts] | None = None
        self._tables: frozenset[str] = frozenset()
        # Where no index serves a state (see _StateIds): its saga ids, from the scan that
        # counted the states, at the same data_version as _counts_cache.
        self._state_ids: _StateIds | None = None
        self._start_bounds: StartBlocks | None = None  # by start time: see start_order.py
        self._bounds_lock = threading.Lock()  # (one read of them at a time: the others wait)
        self._indexes: dict[SortOrder, SortIndex] = {}  # see sort_index.py
        self._pages_first = _PagesFirst()
        # One read or update of each index at a time (each its own: pages under one sort
        # never wait for another's read). Taken before the connection's lock, never after;
        # reentrant: a page holds it around its snapshot, and asks for the index inside.
        self._index_locks = {sort: threading.RLock() for sort in INDEXED_SORTS}
        self.schema = self._read_schema()
        self._sql = SqlColumns.of(self.format, self.schema, source_label=self.tag.label)
        self.warnings: tuple[str, ...] = tuple(self._schema_warnings())
        # Read as a snapshot (immutable): what the file holds now, never its later changes.
        self.is_snapshot = False

    @property
    def source_count(self) -> int:
        return 1

    @property
    def format(self) -> LogFormat:
        """The file's format (known once the schema is read, in __init__)."""
        assert self._format is not None
        return self._format

    @classmethod
    def open(cls, path: str | Path, *, immutable: bool = False, force: bool = False,
             log_format: LogFormat | None = None, tag: SourceTag | None = None,
             lean: bool = False) -> SagaStore:
        """`log_format`: read the file as this format (`--format`); None: tell it from the
        file's tables. `tag`: see __init__. `lean`: one of many logs open at once: one
        connection (no second one for long scans) that keeps little of the file in memory."""
        path = Path(path).expanduser()
        cache_kib = LEAN_CACHE_KIB if lean else None
        conn = connect_read_only(path, immutable=immutable, force=force, cache_kib=cache_kib)
        scan_conn = helper_conn = None
        try:
            # Opened now, the same way: later, the path might name another file.
            if not lean:
                scan_conn = connect_read_only(path, immutable=immutable, force=force)
                helper_conn = connect_read_only(path, immutable=immutable, force=force)
            store = cls(path, conn, log_format, scan_conn, tag, helper_conn)
        except BaseException:
            for opened in (conn, scan_conn, helper_conn):
                if opened is not None:
                    opened.close()
            raise
        store.warnings = (*conn.notes, *store.warnings)  # how it was opened, first
        store.is_snapshot = conn.is_snapshot
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        with self._scan_lock:
            if self._scan_conn is not None:
                self._scan_conn.close()
        if self._helper is not None:
            self._helper.shutdown(wait=True)
        with self._helper_lock:
            if self._helper_conn is not None:
                self._helper_conn.close()

    @contextmanager
    def _cancellable(self, conn: sqlite3.Connection,
                     cancelled: Callable[[], bool] | None) -> Iterator[None]:
        """While inside, `cancelled()` returning True stops the statement running on `conn`
        (it raises CANCELLED): a superseded read gives its connection up at once."""
        if cancelled is None:
            yield
            return
        # Every 200 000 SQLite steps (a few ms): often enough to stop at once, rarely enough
        # that the callback (it takes the GIL) does not slow the scan down.
        conn.set_progress_handler(lambda: 1 if cancelled() else 0, 200_000)
        try:
            yield
        finally:
            conn.set_progress_handler(None, 0)

    @contextmanager
    def _scanning(self, cancelled: Callable[[], bool] | None) -> Iterator[sqlite3.Connection]:
        conn, lock = ((self._scan_conn, self._scan_lock) if self._scan_conn is not None
                      else (self._conn, self._lock))
        with lock, self._cancellable(conn, cancelled):
            yield conn

    def _scan_rows(self, sql: str, params: Sequence[object],
                   cancelled: Callable[[], bool] | None) -> list[tuple[StoredValue, ...]]:
        """One statement on the scan connection (its own implicit read transaction)."""
        with self._scanning(cancelled) as conn:
            try:
                return conn.execute(sql, [_bindable(p) for p in params]).fetchall()
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None

    def __enter__(self) -> SagaStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Group several reads into one consistent, short read transaction."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._execute_raw("BEGIN")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outermost and self._conn.in_transaction:
                    # A read transaction left open would stop the writer's checkpoints.
                    try:
                        self._conn.execute("COMMIT")
                    except sqlite3.Error:
                        self._conn.rollback()

    def interrupt(self) -> None:
        """Cancel the queries running now (from any thread); they raise CANCELLED."""
        self._conn.interrupt()
        if self._scan_conn is not None:
            self._scan_conn.interrupt()
        if self._helper_conn is not None:
            self._helper_conn.interrupt()

    def _execute_raw(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except OverflowError:
            raise ValueError("a saga id must fit in 64 bits") from None
        except UnicodeEncodeError:
            # Text that is not valid Unicode cannot be bound: a command-line argument with
            # non-UTF-8 bytes arrives as lone surrogates. It is looked for as its escaped text.
            return self._execute_raw(sql, [_bindable(value) for value in params])
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from None

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[StoredValue, ...]]:
        with self.snapshot():
            cursor = self._execute_raw(sql, params)
            try:
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None
            finally:
                cursor.close()

    # -- schema ---------------------------------------------------------------------------

    def _read_schema(self) -> SchemaInfo:
        with self.snapshot():
            user_version = _int(self._rows("PRAGMA user_version")[0][0])
            tables = {
                _text(row[0])
                for row in self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            self._tables = frozenset(t for t in tables if t)
            if self._format is None:
                self._format = detect_format(tables)
            fmt = self._format
            if fmt is None or fmt.saga_table not in tables:
                raise self._not_a_saga_log(tables)
            saga_columns = self._columns(fmt.saga_table)
            has_steps = fmt.step_table in tables
            step_columns = self._columns(fmt.step_table) if has_steps else ()
        missing = fmt.required_saga_fields - {
            f for f, c in fmt.saga_columns.items() if c in saga_columns
        }
        if missing:
            raise StoreError(
                ErrorKind.NOT_SAGA_LOG,
                f"{self.path}: table {fmt.saga_table} has no {', '.join(sorted(missing))} column; "
                f"not a {fmt.label} this tool can read",
            )
        step_known = set(fmt.step_columns.values())
        saga_known = set(fmt.saga_columns.values())
        step_usable = has_steps and all(
            fmt.step_columns[f] in step_columns for f in fmt.required_step_fields
        )
        return SchemaInfo(
            user_version=user_version,
            known_version=fmt.known_schema_version,
            saga_columns=saga_columns,
            step_columns=step_columns,
            extra_saga_columns=tuple(c for c in saga_columns if c not in saga_known),
            extra_step_columns=tuple(c for c in step_columns if c not in step_known),
            missing_saga_columns=tuple(c for c in fmt.saga_columns.values()
                                       if c not in saga_columns),
            missing_step_columns=tuple(c for c in fmt.step_columns.values()
                                       if c not in step_columns) if has_steps else (),
            has_step_table=step_usable,
            log_format=fmt,
        )

    def _columns(self, table: str) -> tuple[str, ...]:
        rows = self._rows(f"PRAGMA table_info({_ident(table)})")
        return tuple(_text(row[1]) or "" for row in rows)

    def _not_a_saga_log(self, tables: set[str | None]) -> StoreError:
        found_tables = sorted(t for t in tables if t)
        unread = getattr(self._conn, "unread_wal", None)
        if unread is not None:  # a snapshot without its -wal: the -wal is the likely cause
            wanted = (self._format.saga_table if self._format is not None
                      else " or ".join(fmt.saga_table for fmt in FORMATS))
            return only_in_unread_wal(self.path, unread, wanted, found_tables)
        found = ", ".join(found_tables) or "no tables at all"
        if self._format is not None:  # forced (--format), and not what the file is
            what = f"not a {self.format.label} (no {self.format.saga_table} table"
        else:
            what = "not a saga log (neither of the formats this tool reads"
        return StoreError(
            ErrorKind.NOT_SAGA_LOG,
            f"{self.path}: {what}; found: {found}); this tool reads {described_formats()}",
        )

    def _schema_warnings(self) -> Iterator[str]:
        info = self.schema
        if info.newer_than_known:
            yield self.format.newer_warning(info.user_version)
        if not info.has_step_table:
            yield f"no usable {self.format.step_table} table: steps cannot be shown"
        for other in FORMATS:
            if other is not self.format and other.saga_table in self._tables:
                yield (f"this file also holds a {other.label}'s tables "
                       f"({', '.join(sorted(other.tables & self._tables))}); shown here as a "
                       f"{self.format.label}: --format {other.name} shows the other")

    # -- select lists -------------------------------------------------------------------

    def _saga_select(self, *, with_extra: bool) -> tuple[str, list[object], tuple[str, ...]]:
        """Columns for a saga row (missing ones as NULL), its step counts, extra columns."""
        fmt, info, sql = self.format, self.schema, self._sql
        parts = [sql.saga[f] for f in SAGA_FIELDS]
        params: list[object] = []
        if sql.step_table is not None:
            steps_of_saga = (f"FROM {sql.step_table} t "
                             f"WHERE {sql.step['saga_id']} = {sql.saga['saga_id']}")
            parts.append(f"(SELECT count(*) {steps_of_saga})")
            if sql.step["state"] != "NULL":
                done = sorted(fmt.done_step_states)
                parts.append(f"(SELECT count(*) {steps_of_saga} AND {sql.step['state']} IN "
                             f"({_marks(len(done))}))")
                params += done
            else:
                parts.append("0")
        else:
            parts += ["0", "0"]
        extra = info.extra_saga_columns if with_extra else ()
        parts += [f"s.{_ident(c)}" for c in extra]
        return ", ".join(parts), params, extra

    def _saga_from_row(self, row: Sequence[StoredValue], extra: Sequence[str]) -> Saga:
        fmt = self.format
        decode = fmt.time.decode
        n = len(SAGA_FIELDS)
        saga_id, name, state, started, ended, input_json, reason = row[:n]
        # Positional, in Saga's field order: an export makes a million of these, and a
        # keyword call costs a third more.
        return Saga(
            _int(saga_id),
            _text(name),
            _text(state) or "",
            decode(started),
            decode(ended),
            _text(input_json),
            _text(reason),
            _int(row[n]),
            _int(row[n + 1]),
            dict(zip(extra, row[n + 2:], strict=True)) if extra else {},
            fmt,
            self.tag,
        )

    # -- queries --------------------------------------------------------------------------

    def data_version(self) -> int:
        """SQLite's `data_version`: changes whenever another connection commits. (A pragma
        that reads no table: no transaction around it, one statement.)"""
        with self._lock:
            try:
                return _int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None

    def changed(self, *, lock_wait: float | None = None) -> bool:
        """Whether another connection committed since the last call (True the first time).

        `lock_wait`: wait at most this many seconds for a writer's lock (instead of the
        connection's usual busy timeout) before raising BUSY: a poll says "waiting" soon
        instead of holding the store for seconds."""
        with self._lock_wait(lock_wait):
            version = self.data_version()
        changed = version != self._last_data_version
        self._last_data_version = version
        return changed

    @contextmanager
    def _lock_wait(self, seconds: float | None) -> Iterator[None]:
        if seconds is None:
            yield
            return
        with self._lock:
            self._set_busy_timeout(seconds)
            try:
                yield
            finally:
                self._set_busy_timeout(BUSY_TIMEOUT_S)

    def _set_busy_timeout(self, seconds: float) -> None:
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {max(0, round(seconds * 1000))}")
        except sqlite3.Error as exc:  # e.g. the store was closed meanwhile (file reopened)
            raise translate_error(exc, self.path) from None

    def counts_at(self, version: int) -> StateCounts | None:
        """The counts by state read at this data_version, if they were (no statement)."""
        cached = self._counts_cache
        return cached[1] if cached is not None and cached[0] == version else None

    def counts(self) -> StateCounts:
        """Sagas per state. Kept until another connection commits: at a million sagas the
        GROUP BY costs ~100 ms, `data_version` ~0.01 ms. Where the state index is partial
        (the server's), the same read keeps the ids of the states no index serves.

        Asked outside a snapshot (the dashboard's live reload), they are read apart, in
        short statements (_read_counts_apart), not in one read transaction that a writer
        committing meanwhile would wait on to restart its -wal (17 ms at 1M sagas)."""
        cached = self._counts_cache
        if self._depth == 0:
            version = self.data_version()
            if cached is not None and cached[0] == version:
                return cached[1]  # (one statement: many logs of a view are asked at every page)
            if self.format.partial_state_index is None:
                # (the first counts are read at once; again, after a writer's commit, apart)
                counts = self._read_counts_apart(apart=cached is not None)
                self._counts_cache = (version, counts)
                return counts
        with self.snapshot():
            version = self.data_version()
            if self._counts_cache is None or self._counts_cache[0] != version:
                if self.format.partial_state_index is None:
                    self._counts_cache = (version, self._read_counts())
                else:
                    counts, ids = self._read_counts_and_ids()
                    self._counts_cache = (version, counts)
                    self._state_ids = _StateIds(version, ids)
            return self._counts_cache[1]

    def _read_counts(self) -> StateCounts:
        """The states other than the usual one are counted on the state index, on either
        side of it; the usual state is the rest of the total (count(*) reads the smallest
        index). One statement: at a million sagas 13 ms where a GROUP BY over every row's
        state took 37, and the read transaction a writer committing meanwhile waits on is
        that much shorter."""
        state, table = self._sql.saga["state"], _ident(self.format.saga_table)
        usual = self.format.usual_state
        others = " UNION ALL ".join(
            f"SELECT 0, {state}, count(*) FROM {table} s WHERE {where} GROUP BY {state}"
            for where in (f"{state} < ?1", f"{state} > ?1", f"{state} IS NULL"))
        found: dict[str, int] = {}
        total = 0
        for is_total, raw_state, n in self._rows(
                # (the total as a scalar subquery keeps SQLite's quick count of the index)
                f"SELECT 1, NULL, (SELECT count(*) FROM {table} s) UNION ALL {others}",
                [usual]):
            if is_total:
                total = _int(n)
                continue
            name = _text(raw_state) or ""
            found[name] = found.get(name, 0) + _int(n)
        found[usual] = found.get(usual, 0) + total - sum(found.values())
        return self._state_counts(found)

    def _read_counts_apart(self, *, apart: bool = True,
                           pause: Callable[[], None] | None = None) -> StateCounts:
        """The counts of _read_counts in short statements, each its own read transaction
        (`apart`: with a pause, READ_GAP or `pause`, before one once those since the last
        pause have read for _COUNT_HOLD): the total (count(*), the quick count of the
        smallest index);
        each of the format's states but the usual one on the state index, in rowid ranges of
        _COUNT_SPAN; any other state by the ranges of the index between those (empty ones
        cost a seek), and the sagas without one. The usual state is the rest of the total.
        (No state read is bound back: a state not valid as text would not find itself.)

        Under a writer the statements see successive states of the file: each count is
        then of a moment during the read (exact on a file at rest, and at the next reload
        once the writer rests); the usual state's takes what the others do not."""
        state, table = self._sql.saga["state"], _ident(self.format.saga_table)
        usual = self.format.usual_state
        wait = pause if pause is not None else partial(time.sleep, READ_GAP)
        held = 0.0  # seconds read since the last pause

        def read(sql: str, params: Sequence[object] = ()) -> list[tuple[StoredValue, ...]]:
            nonlocal held
            if apart and held >= _COUNT_HOLD:
                wait()
                held = 0.0
            began = time.perf_counter()
            try:
                return self._rows(sql, params)
            finally:
                held += time.perf_counter() - began

        total = _int(read(f"SELECT count(*) FROM {table} s")[0][0])
        # (two subqueries: min and max in one select would scan the table)
        low, high = read(f"SELECT (SELECT min(rowid) FROM {table}), "
                         f"(SELECT max(rowid) FROM {table})")[0]
        # (ids far apart, up to SQLite's whole range: each state in one statement)
        width = 0 if low is None or high is None else _int(high) - _int(low)
        spans: list[tuple[int, int] | None] = (
            [None] if width < _COUNT_SPAN or width // _COUNT_SPAN >= _COUNT_SPANS_MOST
            else [(start, start + _COUNT_SPAN)
                  for start in range(_int(low), _int(high) + 1, _COUNT_SPAN)])
        found: dict[str, int] = {}
        known = sorted(set(self.format.saga_states) | {usual})
        for name in known:
            if name == usual:
                continue
            for span in spans:
                where, params = ((f"{state} = ?", [name]) if span is None else
                                 (f"{state} = ? AND rowid >= ? AND rowid < ?", [name, *span]))
                n = _int(read(f"SELECT count(*) FROM {table} s WHERE {where}", params)[0][0])
                found[name] = found.get(name, 0) + n
        gaps = [(f"{state} < ?", [known[0]]),
                *[(f"{state} > ? AND {state} < ?", [below, above])
                  for below, above in pairwise(known)],
                (f"{state} > ?", [known[-1]]), (f"{state} IS NULL", [])]
        for where, params in gaps:
            for raw_state, n in read(f"SELECT {state}, count(*) FROM {table} s WHERE {where} "
                                     f"GROUP BY {state}", params):
                name = _text(raw_state) or ""
                found[name] = found.get(name, 0) + _int(n)
        found[usual] = max(found.get(usual, 0) + total - sum(found.values()), 0)
        return self._state_counts(found)

    def _state_counts(self, found: dict[str, int]) -> StateCounts:
        """The format's states first (0 when absent), then the others by name."""
        by_state = {s: 0 for s in self.format.saga_states}
        unknown = {name: n for name, n in found.items() if name not in by_state}
        by_state.update((name, n) for name, n in found.items() if name in by_state)
        return StateCounts({**by_state, **dict(sorted(unknown.items()))}, self.format)

    def _read_counts_and_ids(self) -> tuple[StateCounts, dict[str, array[int]]]:
        """The counts by state in one pass over the table that also keeps the ids of every
        saga not in the usual state (a few per cent of a real file). Quicker than the
        GROUP BY, which sorts every row's state: no index serves it here. The usual state's
        count is the rest of the total (count(*) reads the smallest index)."""
        fmt = self.format
        saga_id, state = self._sql.saga["saga_id"], self._sql.saga["state"]
        table = _ident(fmt.saga_table)
        found: dict[str, int] = {}
        ids: dict[str, array[int]] = {}
        unlisted: set[str] = set()
        with self.snapshot():
            total = _int(self._rows(f"SELECT count(*) FROM {table} s")[0][0])
            cursor = self._execute_raw(
                f"SELECT {saga_id}, {state}, typeof({state}) = 'text', "
                f"typeof({saga_id}) = 'integer' FROM {table} s "
                f"WHERE {state} IS NOT ? ORDER BY {saga_id}", [fmt.usual_state])
            try:
                for row_id, raw_state, is_text, has_int_id in cursor:
                    name = _text(raw_state) or ""
                    found[name] = found.get(name, 0) + 1
                    if not is_text or "\\" in name or not has_int_id:
                        # Not text as stored (or not valid UTF-8): `state = ?` never finds it
                        # by this name; an id that is not an integer (a table without an
                        # INTEGER PRIMARY KEY) would unsort the ids. Such a state's pages keep
                        # SQLite's own answer.
                        unlisted.add(name)
                    ids.setdefault(name, array("q")).append(_int(row_id))
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None
            finally:
                cursor.close()
        found[fmt.usual_state] = found.get(fmt.usual_state, 0) + total - sum(found.values())
        served = set(fmt.partial_state_index or ())
        kept = {name: found_ids for name, found_ids in ids.items()
                if name not in unlisted and name not in served and name != fmt.usual_state}
        return self._state_counts(found), kept

    def _kept_state(self, query: SagaQuery) -> str | None:
        """The state of a query on one state whose ids are kept (see _listed_ids), else None."""
        fmt = self.format
        if (fmt.partial_state_index is None or query.states is None or len(query.states) != 1
                or query.parsed.terms or fmt.state_index_serves(query.states)):
            return None
        (state,) = query.states
        return None if state == fmt.usual_state else state

    def _listed_ids(self, query: SagaQuery) -> array[int] | None:
        """The ids (ascending) of the sagas of a one-state query whose state no index serves,
        as the file holds them now (read again when another connection committed); None
        where an index, or the walk of the primary key, serves the state (see
        LogFormat.usual_state). A state no saga has: no ids."""
        state = self._kept_state(query)
        if state is None:
            return None
        self.counts()  # (the caller's snapshot: the ids are those of its data_version)
        known = self._state_ids
        assert known is not None
        if state in known.ids:
            return known.ids[state]
        counts = self.counts().by_state
        return None if counts.get(state) else array("q")

    def count(self, query: SagaQuery, *, cancelled: Callable[[], bool] | None = None) -> int:
        """How many sagas match: from the counts by state when only states are asked for
        (chips and `state:` words), else a scan (`cancelled()` True stops it: CANCELLED)."""
        if query.parsed.only_states:
            states = self.state_set(query)
            return self.counts().count(states)
        where, params = self._where(query)
        rows = self._page_rows(
            query, f"SELECT count(*) FROM {_ident(self.format.saga_table)} s WHERE {where}",
            params, cancelled)
        return _int(rows[0][0])

    def sagas(
        self,
        query: SagaQuery = ALL_SAGAS,
        *,
        after: SortKey | None = None,
        before: SortKey | None = None,
        at: SortKey | None = None,
        older_than: int | None = None,
        newer_than: int | None = None,
        limit: int = PAGE_SIZE,
        cancelled: Callable[[], bool] | None = None,
        progress: Progress | None = None,
    ) -> list[Saga]:
        """A page of sagas in the query's sort (by descending SortKey), by keyset.

        `after`: the `limit` sagas right after that key (page down); `before`: the `limit`
        sagas right before it, still in sort order (page up); `at`: like `after`, the saga
        with that key included. Under SortOrder.ID, `older_than`/`newer_than` (saga ids) are
        `after`/`before`. None of them: the first page. Keys: `SagaQuery.key_of(saga)`.
        A search reads the sagas an id range at a time (scan.py): `progress(done, total)`
        after each range says how far it got (ids passed; blocks of ids by start time).
        """
        bound = _bound(after, before, at, older_than, newer_than, query.sort)
        return self._keyset(query, bound, limit, from_oldest=False, cancelled=cancelled,
                            progress=progress)

    def oldest(self, query: SagaQuery = ALL_SAGAS, *, limit: int = PAGE_SIZE,
               cancelled: Callable[[], bool] | None = None) -> list[Saga]:
        """The last page of the sort (the `limit` last sagas), in sort order."""
        return self._keyset(query, None, limit, from_oldest=True, cancelled=cancelled)

    def walk(self, query: SagaQuery = ALL_SAGAS, limit: int = 0, *,
             after: SortKey | None = None,
             cancelled: Callable[[], bool] | None = None) -> Iterator[Saga]:
        """Up to `limit` sagas (0: all) in the query's sort (after `after` when given), page
        by page by keyset. Each page is its own short read: one transaction held over a long
        listing would stop the writer's checkpoints. `cancelled()` returning True stops it
        (StoreError CANCELLED), within a page's scan or between pages."""
        # Sorted by id, a page walks an index: small pages cost little and start the output
        # at once. Under another sort every page is a scan (SCAN_PAGE_SIZE).
        most = PAGE_SIZE if query.sort is SortOrder.ID else SCAN_PAGE_SIZE
        return walk_pages(self.sagas, query, limit, most, after=after, cancelled=cancelled)

    # -- following a file as it is written ------------------------------------------------

    def newest_id(self) -> int | None:
        """The highest saga id in the file (None when it holds no saga)."""
        saga_id = _ident(self.format.saga_columns["saga_id"])
        rows = self._rows(f"SELECT max({saga_id}) FROM {_ident(self.format.saga_table)}")
        return None if rows[0][0] is None else _int(rows[0][0])

    def saga_states(
        self, ids: Iterable[int] | None = None, *, excluding: Collection[str] = ()
    ) -> dict[int, str]:
        """The state of each saga of `ids` (None: of every saga) by id, leaving out sagas in
        a state of `excluding` and ids not in the file. Reads ids and states only (by primary
        key, or the state index): the cheap way to tell which sagas changed state."""
        fmt = self.format
        saga_id, state = (_ident(fmt.saga_columns[f]) for f in ("saga_id", "state"))
        select = f"SELECT {saga_id}, {state} FROM {_ident(fmt.saga_table)} WHERE 1"
        params: list[object] = []
        if excluding:
            select += f" AND {state} NOT IN ({_marks(len(excluding))})"
            params += sorted(excluding)
        found: dict[int, str] = {}
        with self.snapshot():
            for chunk in self._id_chunks(ids):
                where = "" if chunk is None else f" AND {saga_id} IN ({_marks(len(chunk))})"
                for row_id, row_state in self._rows(select + where, [*params, *(chunk or ())]):
                    found[_int(row_id)] = _text(row_state) or ""
        return found

    def sagas_by_id(self, ids: Iterable[int]) -> list[Saga]:
        """The sagas of `ids` that are in the file, newest first (as `sagas` gives them)."""
        fmt = self.format
        select, select_params, extra = self._saga_select(with_extra=False)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        found: list[Saga] = []
        with self.snapshot():
            for chunk in self._id_chunks(ids):
                if not chunk:
                    continue
                rows = self._rows(
                    f"SELECT {select} FROM {_ident(fmt.saga_table)} s "
                    f"WHERE {saga_id} IN ({_marks(len(chunk))})",
                    [*select_params, *chunk],
                )
                found += (self._saga_from_row(row, extra) for row in rows)
        return sorted(found, key=lambda saga: saga.saga_id, reverse=True)

    @staticmethod
    def _id_chunks(ids: Iterable[int] | None) -> Iterator[list[int] | None]:
        """`ids` in lists short enough to bind (None: one pass over every saga)."""
        if ids is None:
            yield None
            return
        wanted = sorted({saga_id for saga_id in ids if _MIN_ID <= saga_id <= _MAX_ID})
        for start in range(0, len(wanted), _ID_CHUNK):
            yield wanted[start:start + _ID_CHUNK]

    def _keyset(
        self,
        query: SagaQuery,
        bound: _Bound | None,
        limit: int,
        *,
        from_oldest: bool,
        cancelled: Callable[[], bool] | None = None,
        progress: Progress | None = None,
    ) -> list[Saga]:
        if limit <= 0:
            # SQLite reads `LIMIT -1` as "no limit": a size worked out from a stale count
            # must not turn into a read of the whole file.
            return []
        ascending = from_oldest or (bound is not None and bound.reads_up)
        if query.sort in self._indexes:
            # The index's version and the page's rows: one snapshot. Its lock first: a read
            # or refresh of the index holds that lock and then takes the connection's (the
            # other order deadlocks with it).
            with self._index_locks[query.sort], self.snapshot():
                served = self._serving_index(query)
                if served is not None:
                    keys = _index_page(*served, bound, limit, from_oldest=from_oldest)
                    return self.sagas_in_order([saga_id for _value, saga_id in keys])
        if bound is None and not from_oldest:
            page = self.first_page(query, limit, cancelled=cancelled)
            if page is not None:
                return page
        if query.sort is SortOrder.STARTED:
            return self._start_page(query, bound, limit, from_oldest=from_oldest,
                                    cancelled=cancelled, progress=progress)
        if query.sort is not SortOrder.ID:
            return self._sorted_page(query, bound, limit, ascending=ascending,
                                     cancelled=cancelled)
        states = self.state_set(query) if query.parsed.only_states else None
        if states is None:
            return self._page(query, bound, limit, ascending=ascending, cancelled=cancelled,
                              progress=progress)
        # One keyset query per state walks the (state, saga_id) index without sorting;
        # `state IN (...)` would make SQLite sort every matching row first.
        pages = [
            self._page(SagaQuery(frozenset({state})), bound, limit, ascending=ascending,
                       cancelled=cancelled)
            for state in sorted(states)
        ]
        merged = list(heapq.merge(*pages, key=lambda saga: saga.saga_id, reverse=True))
        return merged[-limit:] if ascending else merged[:limit]

    def state_set(self, query: SagaQuery) -> frozenset[str] | None:
        """The states a query allows, from the chips and its `state:` words (None: all)."""
        allowed, excluded = query.parsed.state_bounds()
        states = query.states
        if allowed is not None:
            states = allowed if states is None else states & allowed
        if excluded:
            present = states if states is not None else frozenset(self.counts().by_state)
            states = present - excluded
        return states

    def _page(
        self,
        query: SagaQuery,
        bound: _Bound | None,
        limit: int,
        *,
        ascending: bool,
        cancelled: Callable[[], bool] | None = None,
        progress: Progress | None = None,
    ) -> list[Saga]:
        """A page sorted by id: SQLite walks the primary key (or the state index) in order;
        a state no index serves but the usual one: by the ids kept for it (_listed_ids); a
        search: an id range at a time (_scanned_rows)."""
        fmt = self.format
        select, select_params, extra = self._saga_select(with_extra=False)
        where, params = self._where(query)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        if bound is not None:
            key = bound.key.saga_id
            if _MIN_ID <= key <= _MAX_ID:
                where += f" AND {saga_id} {bound.op} ?"
                params.append(key)
            # A bound past SQLite's integer range (e.g. anchors[k] + 1 at the top id) cannot
            # be bound as a parameter: it either excludes nothing or everything.
            elif (key > _MAX_ID) == bound.reads_up:
                return []
        order = f"ORDER BY {saga_id} {'ASC' if ascending else 'DESC'}"
        rows = None
        if self._kept_state(query) is not None:
            with self._lock, self.snapshot():  # the ids kept, and the rows, of one snapshot
                ids = self._listed_ids(query)
                if ids is not None:
                    rows = self._rows_of_ids(ids, bound, limit, ascending, select, where,
                                             [*select_params, *params], order)
        if rows is None and query.searching:
            rows = self._scanned_rows(query, bound, limit, ascending=ascending,
                                      cancelled=cancelled, progress=progress)
        if rows is None:
            sql = (f"SELECT {select} FROM {_ident(fmt.saga_table)} s WHERE {where} {order} "
                   "LIMIT ?")
            rows = self._page_rows(query, sql, [*select_params, *params, limit], cancelled)
        sagas = [self._saga_from_row(row, extra) for row in rows]
        if ascending:
            sagas.reverse()
        return sagas

    def id_extent(self) -> tuple[int, int] | None:
        """The lowest and highest saga id in the file (None when it holds no saga): two
        lookups at the ends of the primary key."""
        saga_id = _ident(self.format.saga_columns["saga_id"])
        table = _ident(self.format.saga_table)
        rows = self._rows(f"SELECT (SELECT min({saga_id}) FROM {table}), "
                          f"(SELECT max({saga_id}) FROM {table})")
        low, high = rows[0]
        return None if low is None or high is None else (_int(low), _int(high))

    def _scanned_rows(self, query: SagaQuery, bound: _Bound | None, limit: int, *,
                      ascending: bool, cancelled: Callable[[], bool] | None,
                      progress: Progress | None) -> list[tuple[StoredValue, ...]]:
        """A page of a search sorted by id, read an id range at a time from the bound on
        (scan.py), until the page is full or the ids run out; the steps of each range are
        tested in one pass (SqlColumns.within). Each range is its own statement."""
        extent = self.id_extent()
        if extent is None:
            return []
        low, high = extent
        if bound is not None:
            key = bound.key.saga_id
            if bound.op == "<":
                high = min(high, key - 1)
            elif bound.op == "<=":
                high = min(high, key)
            else:
                low = max(low, key + 1)
        fmt = self.format
        select, select_params, _extra = self._saga_select(with_extra=False)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        order = f"ORDER BY {saga_id} {'ASC' if ascending else 'DESC'}"
        ranges = IdRanges(low, high, descending=not ascending)
        rows: list[tuple[StoredValue, ...]] = []
        for first, last in ranges:
            if cancelled is not None and cancelled():
                raise StoreError(ErrorKind.CANCELLED, "query cancelled")
            wanted = limit - len(rows)

            def read(low: int, high: int, on_helper: bool, wanted: int = wanted) -> list[
                    tuple[StoredValue, ...]]:
                where, params = self._where(query, within=(low, high))
                sql = (f"SELECT {select} FROM {_ident(fmt.saga_table)} s WHERE {where} "
                       f"{order} LIMIT ?")
                return self._range_rows(query, sql, [*select_params, *params, wanted],
                                        cancelled, on_helper)
            rows += self._halves(read, first, last, descending=not ascending)[:wanted]
            if progress is not None:
                progress(ranges.done + last - first + 1, ranges.total)
            if len(rows) >= limit:
                break
        return rows

    def _rows_of_ids(self, ids: array[int], bound: _Bound | None, limit: int, ascending: bool,
                     select: str, where: str, params: list[object],
                     order: str) -> list[tuple[StoredValue, ...]]:
        """A page's rows from the kept ids of its state (ascending): the `limit` ids nearest
        the bound, read by primary key, still checked against the query's WHERE (which then
        decides, as for any page; more ids are taken if a row no longer matches)."""
        low, high = 0, len(ids)
        if bound is not None:
            key = bound.key.saga_id
            if bound.op == "<":
                high = bisect_left(ids, key)
            elif bound.op == "<=":
                high = bisect_right(ids, key)
            else:
                low = bisect_right(ids, key)
        table = _ident(self.format.saga_table)
        saga_id = f"s.{_ident(self.format.saga_columns['saga_id'])}"
        rows: list[tuple[StoredValue, ...]] = []
        while len(rows) < limit and low < high:
            wanted = min(limit - len(rows), _ID_CHUNK)
            if ascending:
                chunk, low = ids[low:low + wanted], low + wanted
            else:
                chunk, high = ids[max(low, high - wanted):high], max(low, high - wanted)
            rows += self._rows(f"SELECT {select} FROM {table} s WHERE {where} "
                               f"AND {saga_id} IN ({_marks(len(chunk))}) {order}",
                               [*params, *chunk])
        return rows

    def _sorted_page(
        self,
        query: SagaQuery,
        bound: _Bound | None,
        limit: int,
        *,
        ascending: bool,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[Saga]:
        """A page under a sort no index serves: SQLite computes every matching saga's sort
        value and keeps the best `limit` (a scan). Only the ids are sorted; the rows of the
        page are read by primary key afterwards (the step counts are not worth computing for
        every row the sort looks at)."""
        fmt = self.format
        select, select_params, extra = self._saga_select(with_extra=False)
        where, params = self._where(query)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        bounded = ""
        if bound is not None:
            bounded = f"WHERE (page_value, page_id) {bound.op} (?, ?) "
            params += [bound.key.value, bound.key.saga_id]
        direction = "ASC" if ascending else "DESC"
        sql = (f"SELECT {select} FROM {_ident(fmt.saga_table)} s JOIN ("
               f"SELECT page_id, page_value FROM {self._sort_values(query, where)} {bounded}"
               f"ORDER BY page_value {direction}, page_id {direction} LIMIT ?"
               f") page ON {saga_id} = page.page_id "
               f"ORDER BY page.page_value {direction}, page.page_id {direction}")
        rows = self._scan_rows(sql, [*select_params, *params, limit], cancelled)
        sagas = [self._saga_from_row(row, extra) for row in rows]
        if ascending:
            sagas.reverse()
        return sagas

    # -- by start time: the blocks' bounds (start_order.py) ------------------------------

    def start_keys(self, query: SagaQuery, *, after: SortKey | None = None,
                   before: SortKey | None = None, at: SortKey | None = None,
                   from_oldest: bool = False, limit: int = PAGE_SIZE,
                   cancelled: Callable[[], bool] | None = None,
                   progress: Progress | None = None) -> list[SortKey]:
        """The keys of a page by start time (as `sagas` under SortOrder.STARTED would give,
        and `oldest` with `from_oldest`), without reading the sagas: a view of several logs
        reads only the rows that make its page (`sagas_in_order`). `progress`: as `sagas`."""
        bound = _bound(after, before, at, None, None, SortOrder.STARTED)
        return [SortKey(value, saga_id) for value, saga_id in self._start_pairs(
            query, bound, limit, from_oldest=from_oldest, cancelled=cancelled,
            progress=progress)]

    def _start_page(self, query: SagaQuery, bound: _Bound | None, limit: int, *,
                    from_oldest: bool, cancelled: Callable[[], bool] | None,
                    progress: Progress | None = None) -> list[Saga]:
        """A page by start time from the blocks that can hold it (start_order.py)."""
        pairs = self._start_pairs(query, bound, limit, from_oldest=from_oldest,
                                  cancelled=cancelled, progress=progress)
        return self.sagas_in_order([saga_id for _value, saga_id in pairs])

    def _start_pairs(self, query: SagaQuery, bound: _Bound | None, limit: int, *,
                     from_oldest: bool, cancelled: Callable[[], bool] | None,
                     progress: Progress | None = None) -> list[tuple[int, int]]:
        if limit <= 0:
            return []
        served = self._serving_index(query)
        if served is not None:
            return _index_page(*served, bound, limit, from_oldest=from_oldest)
        blocks = self.start_bounds(cancelled)
        read = self._block_reader(query, cancelled)
        if query.searching:  # blocks read a span at a time (scan.py)
            upward = from_oldest or (bound is not None and bound.reads_up)
            read = BlockSpans(self._span_reader(query, cancelled),
                              frozenset(b.number for b in blocks.blocks),
                              descending=not upward, progress=progress).read
        key = None if bound is None else (bound.key.value, bound.key.saga_id)
        if from_oldest:
            pairs = blocks.above(None, limit, read)
        elif bound is not None and bound.reads_up:
            pairs = blocks.above(key, limit, read)
        else:
            pairs = blocks.below(key, bound is not None and bound.op == "<=", limit, read)
        return pairs

    # -- the first page before the sort's index: proxies checked exact (first_page.py) -----

    def first_page(self, query: SagaQuery, limit: int = PAGE_SIZE, *,
                   cancelled: Callable[[], bool] | None = None) -> list[Saga] | None:
        """The first page by start time or duration, from proxies SQL sorts cheaply and an
        exact check of the candidates (first_page.py): what `sagas(query, limit=limit)`
        gives, in a fraction of the time. None where the proxies cannot tell (or for
        another sort, a search, a page bigger than a scan's, or once the sort's index is
        read: it serves `sagas`)."""
        proxies = self._proxy_sql(query.sort)
        if (proxies is None or query.searching or not 0 < limit <= SCAN_PAGE_SIZE
                or query.sort in self._indexes):
            return None
        group, proxy, order, ceiling = proxies
        extent = self.id_extent()
        if extent is None:
            return []
        saga_id = f"s.{_ident(self.format.saga_columns['saga_id'])}"
        table = _ident(self.format.saga_table)

        def read(low: int, high: int, on_helper: bool,
                 near: tuple[str, list[object]] | None = None) -> list[tuple[StoredValue, ...]]:
            if cancelled is not None and cancelled():
                raise StoreError(ErrorKind.CANCELLED, "query cancelled")
            where, params = self._where(query, within=(low, high))
            if near is not None:
                where, params = f"{where} AND {near[0]}", [*params, *near[1]]
            sql = (f"SELECT {saga_id}, {group} AS lane_group, {proxy} AS lane_proxy "
                   f"FROM {table} s WHERE {where} "
                   f"ORDER BY lane_group ASC, {order}, {saga_id} DESC LIMIT ?")
            # (a scan: on the scan connections, never on the one pages need)
            if on_helper:
                return self._range_rows(query, sql, [*params, limit + SPARE], cancelled, True)
            return self._scan_rows(sql, [*params, limit + SPARE], cancelled)
        with self._pages_first.reading():
            near = self._near_the_top(query, extent, read, limit)
            halves = self._each_half(partial(read, near=near), *extent, descending=True)
        lanes = [Lane([LaneRow(_int(found), Group(_int(kind)), _proxy(value))
                       for found, kind, value in rows], len(rows) == limit + SPARE)
                 for rows in halves]
        sagas = self.sagas_in_order([row.saga_id for lane in lanes for row in lane.rows])
        return checked_page(lanes, sagas, query.key_of, limit, ceiling)

    def _near_the_top(self, query: SagaQuery, extent: tuple[int, int],
                      read: Callable[[int, int, bool], list[tuple[StoredValue, ...]]],
                      limit: int) -> tuple[str, list[object]] | None:
        """By start time, a cheap test (TimeEncoding.near_sql) that every saga of the page
        passes: a log's ids grow with its start times, so the newest ids' `limit`-th time
        is a floor the page's last row is at or above, and a saga whose stored time is
        surely below it need not be sorted at all. None: no such test."""
        near_sql = self.format.time.near_sql
        if query.sort is not SortOrder.STARTED or near_sql is None:
            return None
        low, high = extent
        rows = read(max(low, high - _NEWEST_IDS + 1), high, False)
        values = sorted((value for saga in self.sagas_in_order([_int(row[0]) for row in rows])
                         if (value := query.key_of(saga).value) != NO_VALUE), reverse=True)
        if len(values) < limit:
            return None
        return near_sql(self._sql.saga["started_at"], True, values[limit - 1])

    def _proxy_sql(self, sort: SortOrder) -> tuple[str, str, str, Ceiling] | None:
        """(the lane's group, its proxy, its ORDER BY after the group, the ceiling of the
        rows a lane leaves out) under `sort`, for this format's times; None: no proxy."""
        time = self.format.time
        started, ended = self._sql.saga["started_at"], self._sql.saga["ended_at"]
        if time.ordered_sql is None or started == "NULL":
            return None
        ordered, unordered = int(Group.ORDERED), int(Group.UNORDERED)
        if sort is SortOrder.STARTED:
            group = f"(CASE WHEN {time.ordered_sql(started)} THEN {ordered} ELSE {unordered} END)"
            return group, "NULL", f"{started} DESC", start_ceiling
        if sort is not SortOrder.DURATION or time.span_sql is None or ended == "NULL":
            return None
        group = (f"(CASE WHEN {ended} IS NULL THEN {int(Group.NO_VALUE)} "
                 f"WHEN {time.ordered_sql(started)} AND {time.ordered_sql(ended)} "
                 f"THEN {ordered} ELSE {unordered} END)")
        proxy = f"(CASE WHEN {ended} IS NULL THEN NULL ELSE {time.span_sql(ended, started)} END)"
        # (an ordered row with no span sorts first, as if unordered: it is read)
        return (group, proxy, "lane_proxy IS NOT NULL, lane_proxy DESC",
                span_ceiling(time.span_error))

    def start_bounds(self, cancelled: Callable[[], bool] | None = None) -> StartBlocks:
        """Every block's bounds, read again from the newest block known on when the file
        changed (a writer appends). A view of several logs reads them in the background
        (with its index of start times): a page that needs them meanwhile waits for that
        read rather than reading them too."""
        with self._bounds_lock:
            version = self.data_version()
            known = self._start_bounds
            if known is not None and known.version == version:
                return known
            newest_known = (known.blocks[0].number if known is not None and known.blocks
                            else None)
            fresh = self._read_blocks(newest_known, cancelled)
            self._start_bounds = merged_blocks(known, fresh, newest_known, version)
            return self._start_bounds

    def _read_blocks(self, down_to: int | None,
                     cancelled: Callable[[], bool] | None) -> list[Block]:
        """The bounds of the blocks from the newest down to block `down_to` (None: all),
        one short statement each (no transaction held over the pass)."""
        fmt = self.format
        table, saga_id = _ident(fmt.saga_table), _ident(fmt.saga_columns["saga_id"])
        value = sort_value_sql(SortOrder.STARTED, self._sql)
        in_block = f"FROM {table} s WHERE {saga_id} BETWEEN ? AND ?"
        exact_sql = f"SELECT min({value}), max({value}) {in_block}"
        time = fmt.time
        cheap_sql = (None if time.bounds_sql is None or self._sql.saga["started_at"] == "NULL"
                     else f"SELECT {time.bounds_sql(self._sql.saga['started_at'])} {in_block}")
        newest_below = f"SELECT max({saga_id}) FROM {table} WHERE {saga_id} < ?"
        blocks: list[Block] = []
        top, bottom = self._scan_rows(f"SELECT max({saga_id}), min({saga_id}) FROM {table}",
                                      [], cancelled)[0]
        number = None if top is None else _int(top) >> BLOCK_BITS
        last_number = None if bottom is None else _int(bottom) >> BLOCK_BITS
        while number is not None and (down_to is None or number >= down_to):
            ids = list(block_ids(number))
            found = None
            if cheap_sql is not None and time.bounds is not None:
                found = time.bounds(self._scan_rows(cheap_sql, ids, cancelled)[0])
            if found is None:
                low, high = self._scan_rows(exact_sql, ids, cancelled)[0]
                found = None if low is None else (_int(low), _int(high))
            if found is not None:
                blocks.append(Block(number, *found))
            if last_number is not None and number <= last_number:
                break  # the block of the lowest id: no block below
            below = self._scan_rows(newest_below, [block_ids(number)[0]], cancelled)[0][0]
            number = None if below is None else _int(below) >> BLOCK_BITS
        return blocks

    def _block_reader(self, query: SagaQuery,
                      cancelled: Callable[[], bool] | None) -> ReadBlock:
        """Reads one block's (start value, id) pairs that match the query."""
        fmt = self.format
        table = _ident(fmt.saga_table)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        value = sort_value_sql(SortOrder.STARTED, self._sql)
        where, params = self._where(query)
        sql = (f"SELECT {value}, {saga_id} FROM {table} s WHERE {where} "
               f"AND {saga_id} BETWEEN ? AND ?")

        def read(number: int) -> list[tuple[int, int]]:
            rows = self._page_rows(query, sql, [*params, *block_ids(number)], cancelled)
            return [(_int(found_value), _int(found_id)) for found_value, found_id in rows]
        return read

    def _span_reader(self, query: SagaQuery,
                     cancelled: Callable[[], bool] | None) -> ReadSpan:
        """Reads the (start value, id) pairs that match a search among the ids first..last
        (several blocks at once: BlockSpans), its steps tested in one pass."""
        fmt = self.format
        table = _ident(fmt.saga_table)
        value = sort_value_sql(SortOrder.STARTED, self._sql)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"

        def read_half(low: int, high: int, on_helper: bool) -> list[tuple[StoredValue, ...]]:
            where, params = self._where(query, within=(low, high))
            return self._range_rows(query, f"SELECT {value}, {saga_id} FROM {table} s "
                                           f"WHERE {where}", params, cancelled, on_helper)

        def read(first: int, last: int) -> list[tuple[int, int]]:
            if cancelled is not None and cancelled():
                raise StoreError(ErrorKind.CANCELLED, "query cancelled")
            rows = self._halves(read_half, first, last, descending=True)
            return [(_int(found_value), _int(found_id)) for found_value, found_id in rows]
        return read

    def _halves(self, read: Callable[[int, int, bool], list[tuple[StoredValue, ...]]],
                first: int, last: int, *, descending: bool) -> list[tuple[StoredValue, ...]]:
        """`read(low, high, on_helper)` over the ids first..last: a range big enough in two
        halves at once (the far half on the helper connection), their rows in the scan's
        order (the higher half first, `descending`). A small range is one read."""
        return [row for half in self._each_half(read, first, last, descending=descending)
                for row in half]

    def _each_half(self, read: Callable[[int, int, bool], list[tuple[StoredValue, ...]]],
                   first: int, last: int, *,
                   descending: bool) -> list[list[tuple[StoredValue, ...]]]:
        """As _halves, each half's rows apart."""
        if self._helper_conn is None or last - first < _HALVES_FROM:
            return [read(first, last, False)]
        middle = first + (last - first) // 2
        near, far = ((middle + 1, last), (first, middle)) if descending else (
            (first, middle), (middle + 1, last))
        with self._helper_lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(1, thread_name_prefix="saga-scan")
        later = self._helper.submit(read, *far, True)
        try:
            rows = read(*near, False)
        finally:
            found = later.result()  # (its error, if any, is the scan's)
        return [rows, found]

    def _range_rows(self, query: SagaQuery, sql: str, params: Sequence[object],
                    cancelled: Callable[[], bool] | None,
                    on_helper: bool) -> list[tuple[StoredValue, ...]]:
        """One statement of a scan: on the scan connection, or on the helper's."""
        if not on_helper or self._helper_conn is None:
            return self._page_rows(query, sql, params, cancelled)
        with self._helper_lock, self._cancellable(self._helper_conn, cancelled):
            try:
                return self._helper_conn.execute(
                    sql, [_bindable(p) for p in params]).fetchall()
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None

    def _count_in_ranges(self, query: SagaQuery, cancelled: Callable[[], bool] | None,
                         ranges: Sequence[tuple[int, int]]) -> int:
        """The sagas of the query whose ids are in these (first, last) ranges."""
        fmt = self.format
        table = _ident(fmt.saga_table)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        where, params = self._where(query)
        total = 0
        for start in range(0, len(ranges), _RANGE_CHUNK):
            chunk = ranges[start:start + _RANGE_CHUNK]
            within = " OR ".join(f"{saga_id} BETWEEN ? AND ?" for _ in chunk)
            rows = self._page_rows(query, f"SELECT count(*) FROM {table} s WHERE {where} "
                                          f"AND ({within})",
                                   [*params, *(edge for pair in chunk for edge in pair)],
                                   cancelled)
            total += _int(rows[0][0])
        return total

    def sagas_in_order(self, ids: Sequence[int]) -> list[Saga]:
        """The sagas of `ids` in that order (one statement: rows of one snapshot)."""
        if not ids:
            return []
        fmt = self.format
        select, select_params, extra = self._saga_select(with_extra=False)
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        found: dict[int, Saga] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = list(ids[start:start + _ID_CHUNK])
            rows = self._rows(f"SELECT {select} FROM {_ident(fmt.saga_table)} s "
                              f"WHERE {saga_id} IN ({_marks(len(chunk))})",
                              [*select_params, *chunk])
            for row in rows:
                saga = self._saga_from_row(row, extra)
                found[saga.saga_id] = saga
        return [found[saga_id] for saga_id in ids if saga_id in found]

    def _sort_values(self, query: SagaQuery, where: str) -> str:
        """A subquery of (page_id, page_value) for the matching sagas. Its `LIMIT -1` keeps
        SQLite from merging it into the outer query, which would compute each value twice
        (for the bound and for the order)."""
        fmt = self.format
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        value = sort_value_sql(query.sort, self._sql)
        return (f"(SELECT {saga_id} AS page_id, {value} AS page_value "
                f"FROM {_ident(fmt.saga_table)} s WHERE {where} LIMIT -1)")

    def _page_rows(self, query: SagaQuery, sql: str, params: Sequence[object],
                   cancelled: Callable[[], bool] | None) -> list[tuple[StoredValue, ...]]:
        if query.searching:  # may read the whole table: not on the connection pages need
            return self._scan_rows(sql, params, cancelled)
        # The lock first: the handler must only ever see this call's statement.
        with self._lock, self._cancellable(self._conn, cancelled):
            return self._rows(sql, params)

    def count_before(self, query: SagaQuery, key: SortKey, *,
                     cancelled: Callable[[], bool] | None = None) -> int:
        """How many sagas of `query` come before `key` in its sort (keys above it, as
        `before=key` reads them): the position a saga with that key has, or would have, in
        the list. Sorted by id with states only: counts on the state index (or the primary
        key), per state; otherwise a scan on the scan connection, cancellable."""
        fmt = self.format
        table, saga_id = _ident(fmt.saga_table), f"s.{_ident(fmt.saga_columns['saga_id'])}"
        if query.sort is SortOrder.ID:
            if not _MIN_ID <= key.saga_id <= _MAX_ID:
                return 0 if key.saga_id > _MAX_ID else self.count(query)
            # (every state allowed: one count by the primary key, no counts by state read)
            states = self.state_set(query) if query.parsed.only_states else None
            parts = ([SagaQuery(frozenset({state})) for state in sorted(states)]
                     if states is not None else [query])
            total = 0
            for part in parts:
                ids = None
                if self._kept_state(part) is not None:
                    with self._lock, self.snapshot():
                        ids = self._listed_ids(part)
                if ids is not None:  # (a count of kept ids is exact: they match the WHERE)
                    total += len(ids) - bisect_right(ids, key.saga_id)
                    continue
                where, params = self._where(part)
                rows = self._page_rows(part, f"SELECT count(*) FROM {table} s WHERE {where} "
                                             f"AND {saga_id} > ?", [*params, key.saga_id],
                                       cancelled)
                total += _int(rows[0][0])
            return total
        served = self._serving_index(query)
        if served is not None:
            index, codes = served
            return index.count_before(codes, (key.value, key.saga_id))
        if query.sort is SortOrder.STARTED:
            return self.start_bounds(cancelled).count_above(
                (key.value, key.saga_id), partial(self._count_in_ranges, query, cancelled),
                self._block_reader(query, cancelled))
        where, params = self._where(query)
        rows = self._scan_rows(
            f"SELECT count(*) FROM {self._sort_values(query, where)} "
            f"WHERE (page_value, page_id) > (?, ?)", [*params, key.value, key.saga_id],
            cancelled)
        return _int(rows[0][0])

    def page_keys(self, query: SagaQuery = ALL_SAGAS, *, stride: int = PAGE_SIZE,
                  cancelled: Callable[[], bool] | None = None) -> list[SortKey]:
        """The key of the first saga of each page of `stride` sagas, in the query's sort,
        for random access: page k is `sagas(query, at=keys[k], limit=stride)`. Its length
        times `stride` bounds the count. One scan (of ids only when sorted by id)."""
        if stride < 1:
            raise ValueError("stride must be 1 or more")
        if query.sort is SortOrder.ID:
            return [SortKey(found, found) for found in self.page_anchors(
                query, stride=stride, cancelled=cancelled)]
        values, ids = self.key_columns(query, stride=stride, cancelled=cancelled)
        return [SortKey(value, saga_id) for value, saga_id in zip(values, ids, strict=True)]

    def key_columns(self, query: SagaQuery = ALL_SAGAS, *, stride: int = 1,
                    cancelled: Callable[[], bool] | None = None) -> tuple[array[int], array[int]]:
        """Every `stride`-th key of the query's sort (all of them by default) as two compact
        columns, values and ids (16 bytes a saga), in descending order. One scan (none
        when the sort's index is read: sort_index.py)."""
        served = self._serving_index(query)
        if served is not None:
            index, codes = served
            return index.columns(codes, stride)
        where, params = self._where(query)
        # Every key streams through Python and every stride-th is kept: numbering them with
        # a window function in SQL instead computed each sort value twice (slower).
        sql = (f"SELECT page_value, page_id FROM {self._sort_values(query, where)} "
               f"ORDER BY page_value DESC, page_id DESC")
        values, ids = array("q"), array("q")
        with self._scanning(cancelled) as conn:
            try:
                cursor = conn.execute(sql, [_bindable(p) for p in params])
                for position, (found_value, found_id) in enumerate(cursor):
                    if position % stride == 0:
                        values.append(_int(found_value))
                        ids.append(_int(found_id))
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None
        return values, ids

    def page_anchors(self, query: SagaQuery = ALL_SAGAS, *, stride: int = PAGE_SIZE,
                     cancelled: Callable[[], bool] | None = None) -> list[int]:
        """The id that starts each page of `stride` sagas, for random access: sorted by id,
        page k is `sagas(query, older_than=anchors[k] + 1, limit=stride)`. Its length times
        `stride` bounds the count. Reads ids only (from the state index when filtering).
        Under another sort: the first saga id of each page (use page_keys to reach them)."""
        if stride < 1:
            raise ValueError("stride must be 1 or more")
        if query.sort is not SortOrder.ID:
            return [key.saga_id for key in self.page_keys(query, stride=stride,
                                                          cancelled=cancelled)]
        fmt = self.format
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        states = self.state_set(query) if query.parsed.only_states else None
        queries = ([SagaQuery(frozenset({state})) for state in sorted(states)]
                   if states is not None else [query])
        anchors: list[int] = []
        with self._scanning(cancelled) as conn:
            cursors = []
            began = not conn.in_transaction  # (inside the caller's snapshot: its transaction)
            if began:
                conn.execute("BEGIN")
            try:
                for part in queries:
                    where, params = self._where(part)
                    cursors.append(conn.execute(
                        f"SELECT {saga_id} FROM {_ident(fmt.saga_table)} s WHERE {where} "
                        f"ORDER BY {saga_id} DESC",
                        [_bindable(p) for p in params],
                    ))
                streams = [(_int(row[0]) for row in cursor) for cursor in cursors]
                for position, found in enumerate(heapq.merge(*streams, reverse=True)):
                    if position % stride == 0:
                        anchors.append(found)
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from None
            finally:
                for cursor in cursors:
                    cursor.close()
                if began and conn.in_transaction:
                    try:
                        conn.execute("COMMIT")
                    except sqlite3.Error:
                        conn.rollback()
        return anchors

    # -- sort indexes: start time and duration without a scan (sort_index.py) -----------

    def build_sort_index(self, sort: SortOrder, *, progress: Progress | None = None,
                         cancelled: Callable[[], bool] | None = None) -> bool:
        """Read the index of `sort` now (a scan in chunks of ids, on the scan connection,
        `progress(read, total)` after each) unless one is kept, else bring it up to date.
        False for a sort no index serves (by id: the primary key does)."""
        if sort not in INDEXED_SORTS:
            return False
        with self._index_locks[sort]:
            if self._fresh_index(sort) is None:
                self._indexes[sort] = self._read_index(sort, progress, cancelled)
        return True

    def sort_index(self, sort: SortOrder) -> SortIndex | None:
        """The index of `sort` if one is read and up to date (brought up to date if the
        file changed since); None if it must be read (build_sort_index)."""
        if sort not in self._indexes:
            return None
        with self._index_locks[sort]:
            return self._fresh_index(sort)

    def serves_by_index(self, query: SagaQuery) -> bool:
        """Whether this query's pages come from its sort's index (read and up to date)."""
        return self._serving_index(query) is not None

    def index_reader(self, query: SagaQuery) -> IndexReader | None:
        """The keys of pages from the sort's index (as `sagas` would order them; rows are
        not read), for the reads that make one page of a view (MergedSource._lazy_merge
        asks a log a few keys at a time): the index found, and its version checked, once
        (a check is a statement: a page over 50 logs made hundreds). None when no index
        serves the query."""
        served = self._serving_index(query)
        return None if served is None else IndexReader(*served, query.sort)

    def _serving_index(self, query: SagaQuery) -> tuple[SortIndex, bytes | None] | None:
        """The index that answers this query, and the state codes it filters by: under its
        sort, with states only (a query's other terms are SQL's)."""
        if query.sort not in self._indexes or not query.parsed.only_states:
            return None
        index = self.sort_index(query.sort)
        states = self.state_set(query)
        if index is None or not index.serves(states):
            return None
        return index, index.codes_of(states)

    def _fresh_index(self, sort: SortOrder) -> SortIndex | None:
        """(under its lock) The kept index at the file's version now, or None."""
        index = self._indexes.get(sort)
        if index is None:
            return None
        if index.version == self.data_version():
            return index
        refreshed = self._refreshed_index(index)
        if refreshed is None:  # the file changed in a way the index cannot follow
            del self._indexes[sort]
            return None
        self._indexes[sort] = refreshed
        return refreshed

    def _index_states(self) -> tuple[tuple[str, ...], frozenset[int]]:
        """The states an index tells apart (the format's and those present, up to a byte's
        worth), and the codes of the finished ones (their sagas no longer change)."""
        names = list(self.format.saga_states)
        names += [name for name in self.counts().by_state if name not in names]
        names = names[:OTHER_STATE]
        finished = frozenset(code for code, name in enumerate(names)
                             if name in self.format.final_states)
        return tuple(names), finished

    def _index_sql(self, sort: SortOrder, states: Sequence[str], where: str) -> str:
        """(id, value, state code) of the sagas `where` holds; the states are its first
        parameters."""
        fmt = self.format
        saga_id = f"s.{_ident(fmt.saga_columns['saga_id'])}"
        code = (f"CASE {self._sql.saga['state']} "
                + " ".join(f"WHEN ? THEN {number}" for number in range(len(states)))
                + f" ELSE {OTHER_STATE} END")
        return (f"SELECT {saga_id} AS i, {sort_value_sql(sort, self._sql)} AS v, {code} AS c "
                f"FROM {_ident(fmt.saga_table)} s WHERE {where}")

    def _packed_index_sql(self, sort: SortOrder, states: Sequence[str], where: str) -> str:
        """The same sagas as `_index_sql`, sorted by SQLite in view order and packed into
        one row: the count, the sagas whose id is not an integer, the values and ids as
        hexadecimal text and the codes as characters 0-255 (all turned into columns in C:
        no Python object a saga)."""
        return ("SELECT count(*), sum(typeof(i) <> 'integer'), "
                "group_concat(printf('%016x', v), ''), group_concat(printf('%016x', i), ''), "
                "group_concat(char(c), '') "
                f"FROM ({self._index_sql(sort, states, where)} ORDER BY v DESC, i DESC)")

    def _index_lanes(self) -> list[tuple[sqlite3.Connection, AbstractContextManager[object]]]:
        """The connections an index is read on, each with its lock: two (two cores read
        it; the scan and helper connections, leaving the first free for pages), or the
        one a lean store has."""
        lanes: list[tuple[sqlite3.Connection, AbstractContextManager[object]]] = [
            (self._conn, self._lock)]
        if self._scan_conn is not None:
            lanes.insert(0, (self._scan_conn, self._scan_lock))
        if self._helper_conn is not None:
            lanes[1] = (self._helper_conn, self._helper_lock)
        return lanes

    def _read_index(self, sort: SortOrder, progress: Progress | None,
                    cancelled: Callable[[], bool] | None) -> SortIndex:
        """Every saga's key and state, one range of ids at a time, each its own short
        statement (the writer's checkpoints are never held up for the whole read), the
        ranges shared out over both connections."""
        version = self.data_version()  # before the rows: a commit during the read shows
        states, finished = self._index_states()
        total = self.counts().total
        table, saga_id = _ident(self.format.saga_table), _ident(self.format.saga_columns["saga_id"])
        top, bottom = self._scan_rows(f"SELECT max({saga_id}), min({saga_id}) FROM {table}",
                                      [], cancelled)[0]
        ranges: list[tuple[int, int]] = []
        if top is not None and bottom is not None:
            high = _int(top)
            while high >= _int(bottom):
                ranges.append((max(_int(bottom), high - RUN_SIZE + 1), high))
                high = ranges[-1][0] - 1
        runs = self._read_runs(sort, states, ranges, total, progress, cancelled)
        return SortIndex.from_runs(sort, states, runs, [low for low, _ in ranges],
                                   version=version, newest_id=None if top is None else _int(top),
                                   finished_codes=finished)

    def _read_runs(self, sort: SortOrder, states: Sequence[str],
                   ranges: Sequence[tuple[int, int]], total: int, progress: Progress | None,
                   cancelled: Callable[[], bool] | None) -> list[SortRun]:
        """The run of each range of ids; every connection reads every other range."""
        packed = self._packed_index_sql(sort, states, self._id_range_sql())
        runs: list[SortRun] = [SortRun()] * len(ranges)
        lanes = self._index_lanes()
        done = [0]
        tally = threading.Lock()
        failed = threading.Event()

        def read_lane(lane: int) -> None:
            conn, lock = lanes[lane]
            try:
                for number in range(lane, len(ranges), len(lanes)):
                    if failed.is_set():
                        return
                    self._pages_first.wait()
                    with lock, self._cancellable(conn, cancelled):
                        runs[number] = self._read_run(conn, packed, sort, states, ranges[number])
                    with tally:
                        done[0] += len(runs[number])
                        if progress is not None:
                            progress(min(done[0], total), max(total, done[0]))
            except BaseException:
                failed.set()  # the other lane stops at its next range
                raise

        if len(ranges) < 2:
            for lane in range(len(lanes)):
                read_lane(lane)
        else:
            with ThreadPoolExecutor(len(lanes)) as pool:
                list(pool.map(read_lane, range(len(lanes))))  # (raises what a lane raised)
        return runs

    def _id_range_sql(self) -> str:
        return f"{self._sql.saga['saga_id']} BETWEEN ? AND ?"

    def _refreshed_index(self, index: SortIndex) -> SortIndex | None:
        """The index brought up to the file's version, in one snapshot: the unfinished
        sagas' records now (one statement) against those it holds, the sagas above its
        newest id, and those it held unfinished that have finished since. None when the
        index cannot follow the change (a finished saga unfinished again, rows deleted or
        rewritten: the counts by state then disagree with the file's): read it again."""
        states, finished = self._index_states()
        if states[:len(index.states)] != index.states:
            return None  # (a state appeared that the codes do not know)
        saga_id = f"s.{_ident(self.format.saga_columns['saga_id'])}"
        above = index.newest_id if index.newest_id is not None else _MIN_ID
        with self.snapshot():
            version = self.data_version()
            newest = self.newest_id()
            unfinished = self._unfinished_records(index.sort, states, finished, above)
            gone, came = index.changes(unfinished)
            if set(came[0]) - set(gone[0]):
                return None  # a saga it holds finished is not any more
            new = self._packed_rows(index.sort, states, f"{saga_id} > ?", [above])
            ended = sorted(set(gone[0]) - set(came[0]))  # (or deleted: the counts tell)
            for chunk in self._id_chunks(ended):
                assert chunk is not None
                more = self._packed_rows(index.sort, states,
                                         f"{saga_id} IN ({_marks(len(chunk))})", chunk)
                new = (new[0] + more[0], new[1] + more[1], new[2] + more[2])
            counts = self.counts()
        new_unfinished = [(i, v, c) for i, v, c in zip(*new, strict=True) if c not in finished
                          and i > above]
        added = (list(came[0]), list(came[1]), list(came[2]))
        for saga_id_, value, code in zip(*new, strict=True):
            if code in finished or saga_id_ > above:
                added[0].append(saga_id_)
                added[1].append(value)
                added[2].append(code)
        if new_unfinished:
            unfinished += records(*zip(*sorted(new_unfinished), strict=True))
        fresh = index.updated(gone, added, unfinished=unfinished, version=version,
                              newest_id=newest)
        expected = {code: counts.by_state.get(name, 0) for code, name in enumerate(states)}
        found = fresh.count_by_code()
        if any(found.get(code, 0) != n for code, n in expected.items()) or (
                sum(found.values()) != counts.total):
            return None
        return fresh

    def _unfinished_records(self, sort: SortOrder, states: Sequence[str],
                            finished: Collection[int], highest: int) -> str:
        """The records (sort_index.records) of the sagas unfinished now, up to `highest`,
        in ascending ids (through the state index where one holds those states)."""
        unfinished = frozenset(name for code, name in enumerate(states) if code not in finished)
        saga_id = f"s.{_ident(self.format.saga_columns['saga_id'])}"
        # (where no index holds them all, every saga's state is read, but only these
        # sagas' sort values are computed)
        where, params = self._where(SagaQuery(states=unfinished))
        rows = self._rows(
            "SELECT group_concat(printf('%016x%016x%02x', i, v, c), '') FROM ("
            f"{self._index_sql(sort, states, f'({where}) AND {saga_id} <= ?')} ORDER BY i)",
            [*states, *params, highest])
        return rows[0][0] or ""

    def _packed_rows(self, sort: SortOrder, states: Sequence[str], where: str,
                     params: Sequence[object]) -> tuple[array[int], array[int], bytearray]:
        """(ids, values, codes) of the sagas `where` holds, read packed (in the snapshot of
        the caller's)."""
        return _unpacked(
            self._rows(self._packed_index_sql(sort, states, where), [*states, *params])[0],
            lambda: self._rows(self._index_sql(sort, states, where), [*states, *params]))

    def _read_run(self, conn: sqlite3.Connection, packed: str, sort: SortOrder,
                  states: Sequence[str], ids: tuple[int, int]) -> SortRun:
        """One range's run, from its packed row (sorted by SQLite: SortRun.read checks)."""
        try:
            ids_, values, codes = _unpacked(
                conn.execute(packed, [*states, *ids]).fetchone(),
                lambda: conn.execute(self._index_sql(sort, states, self._id_range_sql()),
                                     [*states, *ids]).fetchall())
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from None
        return SortRun.read(values, ids_, codes)

    def _where(self, query: SagaQuery,
               within: tuple[int, int] | None = None) -> tuple[str, list[object]]:
        """The chips' states and the query's terms as SQL over the saga table `s`; `within`:
        only the sagas with ids first..last (their steps read in one pass: any_step)."""
        columns = self._sql if within is None else self._sql.within(*within)
        clauses: list[str] = [] if within is None else [columns.id_range_sql()]
        params: list[object] = []
        if query.states is not None:
            state = self._sql.saga["state"]
            clauses.append(f"{state} IN ({_marks(len(query.states))})")
            params += sorted(query.states)
            index_term = self.format.state_index_sql(state)
            if index_term is not None and self.format.state_index_serves(query.states):
                # Repeats the partial index's WHERE (implied by the states asked for): only
                # then will SQLite walk that index instead of every row.
                clauses.append(index_term)
        terms, term_params = where_sql(query.parsed, columns)
        clauses.append(terms)
        return " AND ".join(clauses), [*params, *term_params]

    def saga(self, saga_id: int, source: str | None = None) -> SagaDetail | None:
        """One saga with all its steps and every column the file has, or None (also when
        `source` is given and is not this log's label)."""
        fmt = self.format
        if not -(2**63) <= saga_id < 2**63 or source not in (None, self.tag.label):
            return None
        select, select_params, extra = self._saga_select(with_extra=True)
        # The saga and its steps of one snapshot; made into objects after it ends (a read
        # transaction held over Python work holds a writer's -wal meanwhile: issue 15).
        with self.snapshot():
            rows = self._rows(
                f"SELECT {select} FROM {_ident(fmt.saga_table)} s "
                f"WHERE s.{_ident(fmt.saga_columns['saga_id'])} = ?",
                [*select_params, saga_id],
            )
            step_rows = self._step_rows(saga_id) if rows else []
        if not rows:
            return None
        saga = self._saga_from_row(rows[0], extra)
        return SagaDetail(saga, self._steps(saga, step_rows))

    def _step_rows(self, saga_id: int) -> list[tuple[StoredValue, ...]]:
        info, sql = self.schema, self._sql
        if sql.step_table is None:
            return []
        parts = [sql.step[f] for f in STEP_FIELDS] + [f"t.{_ident(c)}"
                                                      for c in info.extra_step_columns]
        return self._rows(
            f"SELECT {', '.join(parts)} FROM {sql.step_table} t "
            f"WHERE {sql.step['saga_id']} = ? ORDER BY {sql.step['step_index']}",
            [saga_id],
        )

    def _steps(self, saga: Saga, rows: list[tuple[StoredValue, ...]]) -> tuple[Step, ...]:
        fmt, info = self.format, self.schema
        if self._sql.step_table is None:
            return ()
        in_flight_possible = saga.state in fmt.in_flight_states
        n = len(STEP_FIELDS)
        steps = []
        for row in rows:
            (saga_id, index, name, state, cmd, target, started, ended, output, reason) = row[:n]
            state_text = _text(state)
            steps.append(Step(
                saga_id=_int(saga_id),
                step_index=_int(index),
                name=_text(name),
                state=state_text,
                target=_text(target),
                cmd_json=_text(cmd),
                output_json=_text(output),
                started_at=fmt.time.decode(started),
                ended_at=fmt.time.decode(ended),
                failure_reason=_text(reason),
                in_flight=in_flight_possible and state_text == fmt.pending_step_state,
                extra=dict(zip(info.extra_step_columns, row[n:], strict=True)),
            ))
        return self._placed(saga, steps)

    def _placed(self, saga: Saga, steps: list[Step]) -> tuple[Step, ...]:
        """The steps with their roles (undo rows, best-effort steps) where the format
        appends undo rows."""
        fmt = self.format
        if not fmt.appends_undo_rows:
            return tuple(steps)
        # An undo row undoes a forward step that was done (and may have been flipped to
        # compensated since).
        places = classify_steps(fmt.kind(saga.name),
                                [StepRecord(s.step_index, s.name, s.state) for s in steps],
                                fmt.done_step_states)
        return tuple(_with_place(step, place) for step, place in zip(steps, places, strict=True))


def _with_place(step: Step, place: StepPlace) -> Step:
    return replace(step, role=place.role, undoes=place.undoes, best_effort=place.best_effort)


def _proxy(value: StoredValue) -> float | int | None:
    return value if isinstance(value, int | float) else None


def _index_columns(rows: Sequence[tuple[StoredValue, ...]],
                   ) -> tuple[array[int], array[int], bytearray]:
    """(id, value, state code) rows as three columns, each value read as the pages read
    it (a loosely typed file's ids may be text)."""
    if not rows:
        return array("q"), array("q"), bytearray()
    ids, values, codes = zip(*rows, strict=True)
    return _int_column(ids, "q"), _int_column(values, "q"), bytearray(_int_column(codes, "B"))


def _unpacked(packed: Sequence[StoredValue],
              rows: Callable[[], Sequence[tuple[StoredValue, ...]]],
              ) -> tuple[array[int], array[int], bytearray]:
    """(ids, values, codes) of a packed row (`_packed_index_sql`); where an id is not an
    integer, of `rows()` instead (the same sagas unpacked, read as the pages read them)."""
    count, loose, values, saga_ids, codes = packed
    if not count:
        return array("q"), array("q"), bytearray()
    if loose:
        return _index_columns(rows())
    return _hex_column(saga_ids), _hex_column(values), bytearray(codes, "latin-1")  # type: ignore[arg-type]


def _hex_column(text: str) -> array[int]:
    """A column SQLite wrote as 16 hexadecimal digits a value (big-endian two's complement:
    printf('%016x'))."""
    column = array("q", bytes.fromhex(text))
    if sys.byteorder == "little":
        column.byteswap()
    return column


def _int_column(found: Sequence[StoredValue], typecode: str) -> array[int]:
    try:  # (a whole column at once, in C: the index's SQL gives integers)
        return array(typecode, found)  # type: ignore[arg-type]
    except (TypeError, OverflowError):
        # A loosely typed file: each value reads as the pages read it.
        return array(typecode, (_int(value) for value in found))


@dataclass(frozen=True, slots=True)
class IndexReader:
    """The keys of pages from one log's sort index (SagaStore.index_reader), and the
    span of its values, which tells a merge of several logs' pages where the log can
    reach before any of its keys is read."""

    index: SortIndex
    codes: bytes | None  # the states it is filtered by (None: all)
    sort: SortOrder

    def keys(self, *, after: SortKey | None = None, before: SortKey | None = None,
             at: SortKey | None = None, from_oldest: bool = False,
             limit: int = PAGE_SIZE) -> list[SortKey]:
        """A page's keys, as `sagas` with the same bound would order its rows."""
        bound = _bound(after, before, at, None, None, self.sort)
        return [SortKey(value, saga_id) for value, saga_id in _index_page(
            self.index, self.codes, bound, limit, from_oldest=from_oldest)]

    def extremes(self) -> tuple[int, int] | None:
        """The highest and the lowest value of the index (of any state; None: empty)."""
        return self.index.extremes()


def _index_page(index: SortIndex, codes: bytes | None, bound: _Bound | None, limit: int, *,
                from_oldest: bool) -> list[LocalKey]:
    """A page's keys from the index, as the SQL page would read them."""
    if bound is None or from_oldest:
        return index.page(codes, from_oldest=from_oldest, limit=limit)
    key = (bound.key.value, bound.key.saga_id)
    side = {"<": "after", "<=": "at", ">": "before"}[bound.op]
    return index.page(codes, limit=limit, **{side: key})
