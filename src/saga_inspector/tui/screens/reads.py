"""The dashboard's reads of the logs, run in its thread workers, each answered by one
message that the screen applies on the UI thread. Nothing else in the screens calls the
source (the saga table does its own reads, the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from saga_inspector.follow import POLL_LOCK_WAIT, FileIdentity, FileState, PollResult, file_state
from saga_inspector.store import ErrorKind, SagaRef, StateCounts, StoreError
from saga_inspector.store.merged import MergedSource
from saga_inspector.tui.views import SagaView, prepare_saga


@dataclass(frozen=True, slots=True)
class Fault:
    """One log of several that cannot be read now: gone (its rows as last read are kept),
    or unreadable (`reason`: why, as the store said it: untrusted text)."""

    label: str
    gone: bool
    reason: str | None = None


class CountsLoaded(Message):
    """The counts by state; `reload`: read for a live reload of `source` (the table and the
    detail are read again next, the table with these counts)."""

    def __init__(self, counts: StateCounts, source: MergedSource | None = None,
                 *, reload: bool = False) -> None:
        super().__init__()
        self.counts = counts
        self.source = source
        self.reload = reload


class DetailLoaded(Message):
    """One saga ready to show (view None: it is no longer in its log)."""

    def __init__(self, ref: SagaRef, view: SagaView | None) -> None:
        super().__init__()
        self.ref = ref
        self.view = view

    @property
    def saga_id(self) -> int:
        return self.ref.saga_id


class Polled(Message):
    """One look at the logs: still there, changed, or kept from being read."""

    def __init__(self, source: MergedSource, result: PollResult,
                 faults: tuple[Fault, ...] = ()) -> None:
        super().__init__()
        self.source = source  # the source looked at (it may have been reopened since)
        self.result = result
        self.faults = faults  # several logs: those gone or unreadable now

    @property
    def store(self) -> MergedSource:
        """(The older name of `source`.)"""
        return self.source


class ReadFailed(Message):
    def __init__(self, what: str, error: StoreError) -> None:
        super().__init__()
        self.what = what
        self.error = error


def read_counts(source: MergedSource, *, reload: bool = False) -> CountsLoaded | ReadFailed:
    try:
        return CountsLoaded(source.counts(), source, reload=reload)
    except StoreError as error:
        return ReadFailed("counts", error)


def saga_name(ref: SagaRef, several: bool) -> str:
    """`saga 12`, or `saga stable/0.41.2/launcher:12` when several logs are shown."""
    return f"saga {ref.source}:{ref.saga_id}" if several and ref.source else f"saga {ref.saga_id}"


def read_detail(source: MergedSource, ref: SagaRef) -> DetailLoaded | ReadFailed:
    """The saga with its steps, payloads parsed and prepared (the slow part, off the UI).
    Read from its own log: an id another log also holds is never that one's."""
    try:
        detail = source.saga(ref.saga_id, ref.source)
    except StoreError as error:
        return ReadFailed(saga_name(ref, source.source_count > 1), error)
    return DetailLoaded(ref, prepare_saga(detail) if detail is not None else None)


def faults_of(source: MergedSource) -> tuple[Fault, ...]:
    """The logs of several that are gone or cannot be read (none for one log: its trouble
    is the view's, said as before)."""
    if source.source_count <= 1:
        return ()
    return tuple(Fault(member.tag.label, member.gone and member.error is None,
                       member.error)
                 for member in source.members
                 if not member.hidden and (member.gone or member.error is not None
                                           or member.store is None))


def read_poll(source: MergedSource, lock_wait: float = POLL_LOCK_WAIT) -> Polled:
    """A stat of each path and `PRAGMA data_version` (MergedSource.changed): almost free on
    idle logs. One log: the file gone or replaced is said as such, as before."""
    member = source.members[0] if source.source_count == 1 else None
    if member is not None:
        opened = FileIdentity(*member.identity) if member.identity is not None else None
        state = file_state(member.tag.path, opened)
        if state is not FileState.PRESENT:
            return Polled(source, PollResult(state))
    try:
        changed = source.changed(lock_wait=lock_wait)
    except StoreError as error:
        if error.kind is ErrorKind.BUSY:
            return Polled(source, PollResult(FileState.PRESENT, waiting=error),
                          faults_of(source))
        return Polled(source, PollResult(FileState.PRESENT, error=error), faults_of(source))
    return Polled(source, PollResult(FileState.PRESENT, changed=changed), faults_of(source))
