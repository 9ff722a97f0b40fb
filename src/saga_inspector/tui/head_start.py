"""The saga log opened, and its first page read, while Textual is still being imported.

Importing Textual and composing the dashboard take a few hundred milliseconds before the
first frame; opening the file and reading the first page take a few. Done in a thread
meanwhile, the first frame already has the rows, where it would otherwise draw "opening the
file…" and the rows a frame or two later (issue 6: first rows within 2x of a bare Textual
app). Nothing here imports Textual: it runs before Textual is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from saga_inspector.follow import FileIdentity
from saga_inspector.store import PAGE_SIZE, LogFormat, Saga, SagaQuery, SagaStore

Opener = Callable[[Path], SagaStore]

# What the dashboard shows first: every state, no search, newest id first.
START_QUERY = SagaQuery()


def store_opener(*, immutable: bool = False, force: bool = False,
                 log_format: LogFormat | None = None) -> Opener:
    """How the dashboard opens its file (see SagaStore.open)."""
    return partial(SagaStore.open, immutable=immutable, force=force, log_format=log_format)


@dataclass(frozen=True, slots=True)
class FirstPage:
    """The first rows of a query, read before the table asked for them."""

    query: SagaQuery
    rows: Sequence[Saga]


@dataclass(frozen=True, slots=True)
class OpenedStore:
    """A store just opened: which file the path named before it was opened (the safe way
    round: if another file replaces it meanwhile, the next look at the path says so), and
    the first page of the start query when it could be read (else the table reads it and
    reports what went wrong)."""

    store: SagaStore
    identity: FileIdentity | None
    first_page: FirstPage | None = None


def open_with_baseline(path: Path, opener: Opener) -> OpenedStore:
    """Open the file and take the baseline that looks for changes compare with. Raises
    StoreError."""
    identity = FileIdentity.of(path)
    store = opener(path)
    store.changed()
    return OpenedStore(store, identity)


class HeadStart:
    """`open_with_baseline` plus the start query's first page, in a thread begun at once."""

    def __init__(self, path: Path, opener: Opener) -> None:
        self._opened: OpenedStore | None = None
        self._error: BaseException | None = None
        self._taken = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, opener),
                                        name="saga-inspector head start", daemon=True)
        self._thread.start()

    def _run(self, path: Path, opener: Opener) -> None:
        try:
            opened = open_with_baseline(path, opener)
        except Exception as error:  # handed to the app, which reports it as its own open's
            self._error = error
        else:
            try:
                rows = opened.store.sagas(START_QUERY, limit=PAGE_SIZE)
            except Exception:
                rows = None  # the table's own read says what is wrong
            page = None if rows is None else FirstPage(START_QUERY, tuple(rows))
            self._opened = replace(opened, first_page=page)
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def result(self) -> OpenedStore:
        """The opened store, now the caller's to close (waits for it; call off the UI
        thread unless `ready`). Raises the open's error (a StoreError)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        if self._opened is None:
            raise RuntimeError("the head start ended without a store or an error")
        self._taken = True
        return self._opened

    def discard(self) -> None:
        """Close the store if nobody took it (the app ended first). An open still waiting
        for a writer's lock is left to end with the process (a daemon thread)."""
        if self._done.is_set() and self._opened is not None and not self._taken:
            self._taken = True
            self._opened.store.close()
