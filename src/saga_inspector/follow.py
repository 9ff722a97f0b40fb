"""Following saga logs while launchers and servers write them: the poll the dashboard and
`list --follow` share, and the tracker that streams each saga as it appears or changes state
(one tracker per log: `follow_sources` follows every log of a MergedSource).

A poll costs a `stat` of the path and `PRAGMA data_version` on the store's one connection
(one short read transaction): nearly nothing on an idle file. Nothing is held open between
polls, so the writer's checkpoints go on. No Textual here: the CLI uses it too.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .store import ErrorKind, Saga, SagaQuery, SagaStore, SortKey, SortOrder, StoreError
from .store.merged import Member, MergedSource
from .store.repository import ALL_SAGAS, READ_GAP

_T = TypeVar("_T")

DEFAULT_INTERVAL = 1.0
# How long a poll waits for a writer's lock before it reports "waiting" (the store's reads
# otherwise wait their full busy timeout, holding the store meanwhile).
POLL_LOCK_WAIT = 0.25
# Below every saga id: "newer than this" starts from the oldest saga.
_BELOW_EVERY_ID = -(2**63) - 1
# An id skipped among new sagas may be one committed a moment after a higher one: it is
# looked for at this many further changes, then given up (an insert rolled back).
GAP_CHECKS = 10
# A jump in ids wider than this is not a gap to watch (ids seeded anew, or a bulk insert).
_MAX_GAP = 1000
# The states of the sagas watched are read this many at a time, each read its own short
# transaction (the store's own IN-list size: one statement each).
STATES_A_READ = 500
# New sagas are read this many a transaction. Against a writer flat out (40 000 commits a
# second, ~40 000 new sagas a poll) every transaction begun is a chance to meet the writer
# as it writes the -wal's header (the reader then takes the write lock a moment, and a
# writer without a busy timeout gets SQLITE_BUSY: bench_wal.py saw one in 10 s with pages
# of 100, 400 transactions a poll); a page of 500 reads in ~2.5 ms, which grows the -wal
# at most ~0.9 MB past a checkpoint it delays (the target: 1.5x of 4 MB).
NEW_SAGAS_A_READ = 500
# Between two reads of one poll: READ_GAP (the store's, as its counts read apart pause).


class FileState(enum.Enum):
    PRESENT = "present"
    GONE = "gone"  # nothing at the path any more: deleted or renamed
    REPLACED = "replaced"  # another file is at the path now


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file a path named when it was opened (device and inode, from `stat`: the
    database file is never opened here, which would drop SQLite's locks)."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        return cls(info.st_dev, info.st_ino)


def file_state(path: Path, opened: FileIdentity | None) -> FileState:
    """Whether `path` still names the file that was opened."""
    now = FileIdentity.of(path)
    if now is None:
        return FileState.GONE
    return FileState.PRESENT if opened is None or now == opened else FileState.REPLACED


@dataclass(frozen=True, slots=True)
class PollResult:
    file: FileState
    changed: bool = False
    waiting: StoreError | None = None  # a writer holds a lock: try again later
    error: StoreError | None = None  # the file cannot be read any more


def poll(store: SagaStore, opened: FileIdentity | None,
         *, lock_wait: float = POLL_LOCK_WAIT) -> PollResult:
    """One look at the file: is it still there, and did a writer commit since the last look."""
    state = file_state(store.path, opened)
    if state is not FileState.PRESENT:
        return PollResult(state)
    try:
        return PollResult(state, changed=store.changed(lock_wait=lock_wait))
    except StoreError as error:
        if error.kind is ErrorKind.BUSY:
            return PollResult(state, waiting=error)
        return PollResult(state, error=error)


# -- streaming sagas (`list --follow`) ---------------------------------------------------------


class SagaTracker:
    """Reports each saga once as it appears, and again each time its state changes.

    New sagas are found by keyset above the highest id seen (ids only grow); changes by
    re-reading the states of the sagas that can still change (not in the format's final
    states, LogFormat.final_states), by primary key. Neither rescans the file.
    """

    def __init__(self, store: SagaStore, states: frozenset[str] | None = None, *,
                 pause: Callable[[], None] = lambda: time.sleep(READ_GAP)) -> None:
        self.store = store
        self.states = states  # report only sagas in these states (None: all)
        self._pause = pause  # between two reads of one `updates` (READ_GAP)
        self._reads = 0  # the reads of the current `updates` so far
        self._newest = _BELOW_EVERY_ID
        self._unsettled: dict[int, str] = {}  # saga id -> state last seen
        self._gaps: dict[int, int] = {}  # id skipped among new sagas -> checks left

    def start(self, limit: int) -> list[Saga]:
        """Begin tracking; the `limit` newest matching sagas (0: all), oldest first."""
        store = self.store
        newest = self.baseline()
        query = SagaQuery(self.states)
        shown = [] if newest is None else list(
            store.walk(query, limit, after=SortKey(newest + 1, newest + 1)))
        for saga in shown:  # read after that moment: their states may be newer
            self._record(saga)
        shown.reverse()
        return shown

    def baseline(self) -> int | None:
        """Begin tracking from now without listing anything: the highest id and the open
        sagas as of one moment (one read transaction). Returns that id (None: no saga)."""
        store = self.store
        with store.snapshot():
            newest = store.newest_id()
            self._unsettled = store.saga_states(excluding=store.format.final_states)
        self._newest = _BELOW_EVERY_ID if newest is None else newest
        return newest

    def shown(self, saga: Saga) -> bool:
        """Take `saga` (read after the baseline) as reported; False when it is newer than
        the baseline, so that it is left for `updates` (which reports it as new)."""
        if saga.saga_id > self._newest:
            return False
        self._record(saga)
        return True

    def updates(self) -> list[Saga]:
        """Sagas that appeared or changed state since the last call, oldest first.

        Read in short transactions, one after the other (a chunk of states, the sagas that
        moved, a page of new sagas), never in one snapshot: while a writer commits, a read
        transaction held open keeps its checkpoint from resetting the -wal, which grows by
        what it writes meanwhile. Each saga is read whole in one of them; the new ones
        (above the highest id seen) and the ones watched (at or below it) never overlap."""
        store, newest_before = self.store, self._newest
        self._reads = 0
        states: dict[int, str] = {}
        for chunk in _chunks(list(self._unsettled), STATES_A_READ):
            states.update(self._read(store.saga_states, chunk))
        moved = [i for i, state in states.items() if self._unsettled[i] != state]
        changed = self._read(store.sagas_by_id, moved) if moved else []
        late = self._read(store.sagas_by_id, self._gaps) if self._gaps else []
        fresh = self._fresh()
        for gone in self._unsettled.keys() - states.keys():  # deleted (retention)
            del self._unsettled[gone]
        self._watch_gaps(newest_before, fresh, late)
        reported = sorted([*changed, *late, *fresh], key=lambda saga: saga.saga_id)
        for saga in reported:
            self._record(saga)
        return [saga for saga in reported if self._wanted(saga)]

    def _fresh(self) -> list[Saga]:
        """Every saga above the highest id seen, oldest first (a page a transaction)."""
        found: list[Saga] = []
        while True:
            page = self._read(lambda: self.store.sagas(ALL_SAGAS, newer_than=self._newest,
                                                       limit=NEW_SAGAS_A_READ))
            found += reversed(page)
            if page:
                self._newest = page[0].saga_id
            if len(page) < NEW_SAGAS_A_READ:
                return found

    def _read(self, read: Callable[..., _T], *args: object) -> _T:
        """One read of `updates`, after a pause when another came before it (READ_GAP)."""
        if self._reads:
            self._pause()
        self._reads += 1
        return read(*args)

    def _watch_gaps(self, newest_before: int, fresh: list[Saga], late: list[Saga]) -> None:
        """Ids skipped between the sagas just found are looked for at the next changes."""
        for saga in late:
            del self._gaps[saga.saga_id]
        for saga_id in list(self._gaps):
            self._gaps[saga_id] -= 1
            if not self._gaps[saga_id]:
                del self._gaps[saga_id]
        below = newest_before
        for saga in fresh:  # oldest first
            if below != _BELOW_EVERY_ID and 1 < saga.saga_id - below <= _MAX_GAP:
                self._gaps.update(dict.fromkeys(range(below + 1, saga.saga_id), GAP_CHECKS))
            below = saga.saga_id

    def _record(self, saga: Saga) -> None:
        if saga.state in self.store.format.final_states:
            self._unsettled.pop(saga.saga_id, None)
        else:
            self._unsettled[saga.saga_id] = saga.state
        self._newest = max(self._newest, saga.saga_id)

    def _wanted(self, saga: Saga) -> bool:
        return self.states is None or saga.state in self.states


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


Opener = Callable[..., SagaStore]  # SagaStore.open's shape: (path, *, tag=..., ...)
Note = Callable[[str], None]


def follow_sagas(
    path: Path,
    *,
    states: frozenset[str] | None,
    limit: int,
    interval: float = DEFAULT_INTERVAL,
    note: Note = lambda _message: None,
    opener: Opener = SagaStore.open,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Saga]:
    """One saga log followed by its path (see follow_sources); StoreError when it cannot be
    read at the start."""
    source = MergedSource.open([path], opener=opener)
    member = source.members[0]
    if member.error is not None:
        source.close()
        raise StoreError(ErrorKind.NOT_FOUND if member.gone else ErrorKind.UNREADABLE,
                         member.error)
    return follow_sources(source, states=states, limit=limit, interval=interval, note=note,
                          sleep=sleep)


def follow_sources(
    source: MergedSource,
    *,
    states: frozenset[str] | None,
    limit: int,
    interval: float = DEFAULT_INTERVAL,
    note: Note = lambda _message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Saga]:
    """The `limit` newest matching sagas (0: all), oldest first, then each saga as it
    appears or changes state in any readable log of `source`, for ever (until the caller
    stops or an interrupt). Closes `source` at the end.

    Newest: by id in one log (as ever); by start time over several (the only clock they
    share: the merged view's own order, SortOrder.STARTED). After that, each poll reports
    every log's news in turn, each log's oldest first. Each log is read in its own short
    transactions, one after the other: reading one never holds another's open.

    Like `tail -F`, per log: when a file is deleted it says so once and waits (the other logs
    go on); when a new file appears at the path (a launcher started afresh) it follows that
    one, from its first saga. A log that can no longer be read is said once and left; with
    one log, that ends the follow (StoreError), as before several logs could be followed.
    """
    followers = [_Follower(source, member, states, note) for member in source.members
                 if member.readable]
    try:
        yield from _begin(source, followers, states, limit)
        while True:
            sleep(interval)
            for follower in list(followers):
                try:
                    yield from follower.step()
                except StoreError as error:
                    if len(source.members) == 1:
                        raise
                    note(f"{follower.path}: {error.message}; no longer followed")
                    followers.remove(follower)
                    if not followers:
                        raise StoreError(ErrorKind.UNREADABLE, "none of the saga logs "
                                         "followed can be read any more") from None
    finally:
        source.close()


def _begin(source: MergedSource, followers: list[_Follower], states: frozenset[str] | None,
           limit: int) -> list[Saga]:
    if len(followers) == 1 and len(source.members) == 1:
        return followers[0].begin(limit)
    for follower in followers:
        follower.begin(None)
    by_label = {follower.label: follower for follower in followers}
    newest_started = SagaQuery(states, sort=SortOrder.STARTED)
    shown = [saga for saga in source.walk(newest_started, limit)
             if saga.source.label in by_label and by_label[saga.source.label].shown(saga)]
    shown.reverse()
    return shown


_TROUBLE_NOTES = {
    "gone": "the file was deleted or renamed; waiting for a file at that path",
    "replaced": "a new file replaced it; following it as soon as it can be read",
    "waiting": "a writer holds a lock on it; waiting",
    None: "readable again",
}


def _trouble(result: PollResult) -> str | None:
    """What keeps a poll from reading the file (None: nothing)."""
    if result.file is not FileState.PRESENT:
        return result.file.value
    return "waiting" if result.waiting is not None else None


class _Follower:
    """One saga log of a view followed by its path, reopened (through the view) when a new
    file takes its place."""

    def __init__(self, source: MergedSource, member: Member, states: frozenset[str] | None,
                 note: Note) -> None:
        assert member.store is not None
        self._source, self.states, self._note = source, states, note
        self.label, self.path = member.tag.label, member.tag.path
        self.store: SagaStore = member.store
        self._noted_warnings(member.warnings)
        self._trouble: str | None = None  # what was last said about the file

    def _noted_warnings(self, warnings: Sequence[str]) -> None:
        prefix = "" if len(self._source.members) == 1 else f"{self.label}: "
        for warning in warnings:
            self._note(prefix + warning)

    def begin(self, limit: int | None) -> list[Saga]:
        """Track from now: the `limit` newest matching sagas, oldest first (None: none
        listed, the caller lists them and hands each to `shown`)."""
        self._opened = FileIdentity.of(self.path)
        self.store.changed()  # the baseline: what start() reads is reported already
        self._tracker = SagaTracker(self.store, self.states)
        if limit is None:
            self._tracker.baseline()
            return []
        return self._tracker.start(limit)

    def shown(self, saga: Saga) -> bool:
        return self._tracker.shown(saga)

    def step(self) -> list[Saga]:
        result = poll(self.store, self._opened)
        if result.error is not None:
            raise result.error
        if result.file is FileState.REPLACED and self._reopen():
            return self.begin(0)
        trouble = _trouble(result)
        if trouble != self._trouble:
            self._note(f"{self.path}: {_TROUBLE_NOTES[trouble]}")
            self._trouble = trouble
        return self._tracker.updates() if result.changed else []

    def _reopen(self) -> bool:
        """Follow the new file at the path; False while it cannot be read yet (a launcher
        still creating it)."""
        store = self._source.replace_store(self.label)
        if store is None:
            return False
        self.store, self._trouble = store, None
        self._noted_warnings(store.warnings)
        self._note(f"{self.path}: a new file replaced it; following the new file from its "
                   "first saga")
        return True
