"""The dashboard's reads of the store, run in its thread workers, each answered by one
message that the screen applies on the UI thread. Nothing else in the screens calls the store
(the saga table does its own reads, the same way)."""

from __future__ import annotations

from textual.message import Message

from saga_inspector.follow import FileIdentity, PollResult, poll
from saga_inspector.store import SagaStore, StateCounts, StoreError
from saga_inspector.tui.views import SagaView, prepare_saga


class CountsLoaded(Message):
    def __init__(self, counts: StateCounts) -> None:
        super().__init__()
        self.counts = counts


class DetailLoaded(Message):
    """One saga ready to show (view None: it is no longer in the file)."""

    def __init__(self, saga_id: int, view: SagaView | None) -> None:
        super().__init__()
        self.saga_id = saga_id
        self.view = view


class Polled(Message):
    """One look at the file: still there, changed, or kept from being read."""

    def __init__(self, store: SagaStore, result: PollResult) -> None:
        super().__init__()
        self.store = store  # the store looked at (the file may have been reopened since)
        self.result = result


class ReadFailed(Message):
    def __init__(self, what: str, error: StoreError) -> None:
        super().__init__()
        self.what = what
        self.error = error


def read_counts(store: SagaStore) -> CountsLoaded | ReadFailed:
    try:
        return CountsLoaded(store.counts())
    except StoreError as error:
        return ReadFailed("counts", error)


def read_detail(store: SagaStore, saga_id: int) -> DetailLoaded | ReadFailed:
    """The saga with its steps, payloads parsed and prepared (the slow part, off the UI)."""
    try:
        detail = store.saga(saga_id)
    except StoreError as error:
        return ReadFailed(f"saga {saga_id}", error)
    return DetailLoaded(saga_id, prepare_saga(detail) if detail is not None else None)


def read_poll(store: SagaStore, opened: FileIdentity | None) -> Polled:
    """A stat of the path and `PRAGMA data_version`: almost free on an idle file."""
    return Polled(store, poll(store, opened))
