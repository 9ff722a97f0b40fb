"""The saga logs opened, and the first page read, while Textual is still being imported.

Importing Textual and composing the dashboard take a few hundred milliseconds before the
first frame; opening the logs and reading the first page take a few. Done in a thread
meanwhile, the first frame already has the rows, where it would otherwise draw "opening the
file…" and the rows a frame or two later (issue 6: first rows within 2x of a bare Textual
app). Nothing here imports Textual: it runs before Textual is loaded.

Every open goes through `MergedSource.open` (the one place that opens logs and polls
them), of one log or of several.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from saga_inspector.store import PAGE_SIZE, LogFormat, Saga, SagaQuery, SagaStore, SortOrder
from saga_inspector.store.errors import ErrorKind, StoreError
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.source import SagaSource

# How one log is opened: SagaStore.open's form (`tag` is the log's label and rank).
Opener = Callable[..., SagaStore]
Paths = Sequence[Path | str] | Path | str

# What the dashboard shows first of one log: every state, no search, newest id first.
START_QUERY = SagaQuery()


def start_sort(source_count: int) -> SortOrder:
    """The first order shown: newest id for one log; newest start time for several (the
    only clock they share)."""
    return SortOrder.ID if source_count <= 1 else SortOrder.STARTED


def start_query(source_count: int) -> SagaQuery:
    return START_QUERY if source_count <= 1 else SagaQuery(sort=start_sort(source_count))


def store_opener(*, immutable: bool = False, force: bool = False,
                 log_format: LogFormat | None = None) -> Opener:
    """How the dashboard opens each log (see SagaStore.open)."""
    return partial(SagaStore.open, immutable=immutable, force=force, log_format=log_format)


def as_paths(paths: Paths) -> list[Path]:
    """One path or several, as a list."""
    if isinstance(paths, str | Path):
        return [Path(paths)]
    return [Path(path) for path in paths]


@dataclass(frozen=True, slots=True)
class FirstPage:
    """The first rows of a query, read before the table asked for them, and the highest
    id (widest_id) that sizes the id column."""

    query: SagaQuery
    rows: Sequence[Saga]
    widest_id: int | None = None


def widest_id(source: SagaSource, query: SagaQuery, rows: Sequence[Saga]) -> int | None:
    """The highest id of the logs, for the id column's width: the first row's when sorted
    by id, else read (a lookup of each primary key's end)."""
    if query.sort is SortOrder.ID or not rows:
        return rows[0].saga_id if rows else None
    return source.newest_id()


@dataclass(frozen=True, slots=True)
class OpenedSource:
    """The logs just opened, and the first page of the start query when it could be read
    (else the table reads it and reports what went wrong)."""

    source: MergedSource
    first_page: FirstPage | None = None

    @property
    def store(self) -> MergedSource:
        """(The older name.)"""
        return self.source


OpenedStore = OpenedSource  # the older name


def open_source(paths: Paths, opener: Opener,
                snapshots: Sequence[bool] | None = None) -> OpenedSource:
    """Open every log and take the baseline that looks for changes compare with. Raises
    StoreError when no log could be read (one log: its own error, as before)."""
    errors: list[StoreError] = []

    def recorded(path: Path, **options: object) -> SagaStore:
        try:
            return opener(path, **options)
        except StoreError as error:
            errors.append(error)
            raise

    listed = as_paths(paths)
    source = MergedSource.open(listed, snapshots=snapshots, opener=recorded)
    if source.readable_count == 0:
        source.close()
        if len(listed) == 1 and errors:
            raise errors[0]
        raise nothing_readable(source)
    source.changed()
    return OpenedSource(source)


def nothing_readable(source: MergedSource) -> StoreError:
    reasons = "; ".join(f"{member.tag.label} — {member.error}" for member in source.members)
    count = source.source_count
    return StoreError(ErrorKind.UNREADABLE if count else ErrorKind.NOT_FOUND,
                      f"none of the {count} logs could be read: {reasons}" if count
                      else "no saga log to open")


class HeadStart:
    """`open_source` plus the start query's first page, in a thread begun at once."""

    def __init__(self, paths: Paths, opener: Opener,
                 snapshots: Sequence[bool] | None = None) -> None:
        self._opened: OpenedSource | None = None
        self._error: BaseException | None = None
        self._taken = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(paths, opener, snapshots),
                                        name="saga-inspector head start", daemon=True)
        self._thread.start()

    def _run(self, paths: Paths, opener: Opener, snapshots: Sequence[bool] | None) -> None:
        try:
            opened = open_source(paths, opener, snapshots)
        except Exception as error:  # handed to the app, which reports it as its own open's
            self._error = error
        else:
            query = start_query(opened.source.source_count)
            try:
                rows = opened.source.sagas(query, limit=PAGE_SIZE)
                page = FirstPage(query, tuple(rows), widest_id(opened.source, query, rows))
            except Exception:
                page = None  # the table's own read says what is wrong
            self._opened = replace(opened, first_page=page)
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def result(self) -> OpenedSource:
        """The opened logs, now the caller's to close (waits for them; call off the UI
        thread unless `ready`). Raises the open's error (a StoreError)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        if self._opened is None:
            raise RuntimeError("the head start ended without a source or an error")
        self._taken = True
        return self._opened

    def discard(self) -> None:
        """Close the logs if nobody took them (the app ended first). An open still waiting
        for a writer's lock is left to end with the process (a daemon thread)."""
        if self._done.is_set() and self._opened is not None and not self._taken:
            self._taken = True
            self._opened.source.close()
