"""The one interface between the saga logs and everything that shows them.

A `SagaSource` is what the table, the dashboard, the CLI, follow mode and export read: one
log (`SagaStore`) and several logs merged into one view (`MergedSource`) both are one. A
saga's identity is `(source, saga_id)` (`Saga.ref`): ids collide across logs.

`SourceInfo` is what the sources screen and `stats` say of each log.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from .formats import LogFormat
from .models import Saga, SagaDetail, SagaQuery, SagaRef, SortKey, SortOrder, StateCounts
from .sort_index import Progress
from .source_tag import SourceTag

Cancelled = Callable[[], bool] | None


class SourceStatus(enum.StrEnum):
    LIVE = "live"  # read as it is written
    SNAPSHOT = "snapshot"  # a copy (snapshots/*.bak) or read immutable: it will not change
    GONE = "gone"  # the file vanished; its rows as last read are still shown
    ERROR = "error"  # could not be read (damaged, not a saga log, unreadable)
    HIDDEN = "hidden"  # left out of the view by the operator


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One log of a view, as the sources screen and `stats` show it."""

    tag: SourceTag
    status: SourceStatus
    log_format: LogFormat | None = None  # None: it could not be read
    schema_version: int | None = None
    newer_than_known: bool = False
    counts: StateCounts | None = None
    last_write: float | None = None  # seconds since the epoch: the later of file and -wal
    warnings: tuple[str, ...] = ()
    error: str | None = None
    newer_warning: str | None = field(default=None)

    @property
    def label(self) -> str:
        return self.tag.label

    @property
    def readable(self) -> bool:
        return self.status not in (SourceStatus.ERROR, SourceStatus.HIDDEN)


class AmbiguousSaga(LookupError):
    """A bare saga id that several logs hold: the caller must name the log."""

    def __init__(self, saga_id: int, holders: Iterable[SourceTag]) -> None:
        self.saga_id = saga_id
        self.holders = tuple(holders)
        names = ", ".join(f"{tag.label}:{saga_id}" for tag in self.holders)
        super().__init__(f"saga {saga_id} is in {len(self.holders)} logs: name one ({names})")


class SagaSource(Protocol):
    """What a view reads. Pages are by keyset on `SagaQuery.key_of` (descending keys)."""

    warnings: tuple[str, ...]

    @property
    def source_count(self) -> int: ...

    @property
    def format(self) -> LogFormat: ...

    def counts(self) -> StateCounts: ...

    def count(self, query: SagaQuery, *, cancelled: Cancelled = None) -> int: ...

    def sagas(self, query: SagaQuery = ..., *, after: SortKey | None = None,
              before: SortKey | None = None, at: SortKey | None = None,
              limit: int = ..., cancelled: Cancelled = None,
              progress: Progress | None = None) -> list[Saga]: ...

    def oldest(self, query: SagaQuery = ..., *, limit: int = ...,
               cancelled: Cancelled = None) -> list[Saga]: ...

    def walk(self, query: SagaQuery = ..., limit: int = 0, *, after: SortKey | None = None,
             cancelled: Cancelled = None) -> Iterator[Saga]: ...

    def count_before(self, query: SagaQuery, key: SortKey, *,
                     cancelled: Cancelled = None) -> int: ...

    def page_keys(self, query: SagaQuery = ..., *, stride: int = ...,
                  cancelled: Cancelled = None) -> list[SortKey]: ...

    def build_sort_index(self, sort: SortOrder, *, progress: Progress | None = None,
                         cancelled: Cancelled = None) -> bool: ...

    def first_page(self, query: SagaQuery, limit: int = ..., *,
                   cancelled: Cancelled = None) -> list[Saga] | None: ...

    def newest_id(self) -> int | None: ...

    def saga(self, saga_id: int, source: str | None = None) -> SagaDetail | None: ...

    def sagas_by_ref(self, refs: Iterable[SagaRef]) -> list[Saga]: ...

    def changed(self, *, lock_wait: float | None = None) -> bool: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...
