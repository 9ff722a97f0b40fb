"""The detail of the sagas next to the highlighted one, read ahead of the cursor.

`j` and `k` are how an operator walks the table, and each move shows another saga's steps.
Read only once the saga is highlighted, that detail arrives after the frame that moves the
cursor, and Textual draws at most 60 frames a second: the panes below came 17-33 ms after
the cursor (issue 6). Read in a worker as soon as a saga is shown, its neighbours' views are
at hand when the cursor reaches them, and cursor and panes are drawn in one frame.

Views are dropped when the file changes (a reload reads the shown saga again anyway), and
sagas whose payloads are large are not read ahead: preparing them takes long enough that it
is better done only for the saga the operator lands on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack

from textual.message import Message
from textual.screen import Screen

from saga_inspector.store import SagaDetail, SagaRef, StoreError
from saga_inspector.store.source import SagaSource
from saga_inspector.tui.views import LARGE_PAYLOAD, SagaView, prepare_saga

READ_AHEAD = 1  # sagas read ahead on each side of the highlighted one
MAX_HELD = 8  # views kept: the neighbours of the last few sagas shown
HOLD_FRAME_S = 0.002  # long enough for the panes' repaint requests, short next to a frame


class ViewsReadAhead(Message):
    """Views of sagas near the highlighted one, read under `epoch` (see ReadAhead)."""

    def __init__(self, epoch: int, views: Sequence[SagaView]) -> None:
        super().__init__()
        self.epoch = epoch
        self.views = views


class ReadAhead:
    """A few prepared views by saga (its ref: ids collide across logs), least recently
    used dropped first."""

    def __init__(self, max_held: int = MAX_HELD) -> None:
        self.max_held = max_held
        self.epoch = 0  # views read before the last `forget` are not taken
        self._views: OrderedDict[SagaRef, SagaView] = OrderedDict()

    def get(self, ref: SagaRef) -> SagaView | None:
        view = self._views.get(ref)
        if view is not None:
            self._views.move_to_end(ref)
        return view

    def missing(self, refs: Iterable[SagaRef]) -> list[SagaRef]:
        return [ref for ref in refs if ref not in self._views]

    def keep(self, epoch: int, views: Iterable[SagaView]) -> None:
        if epoch != self.epoch:
            return  # read before the file changed
        for view in views:
            self._views[view.ref] = view
            self._views.move_to_end(view.ref)
        while len(self._views) > self.max_held:
            self._views.popitem(last=False)

    def forget(self) -> None:
        """The file changed (or another was opened): what was read ahead may be stale."""
        self.epoch += 1
        self._views.clear()


def stored_size(detail: SagaDetail) -> int:
    """Characters of payload the saga holds (input, every cmd and output)."""
    texts = [detail.saga.input_json, *(t for step in detail.steps
                                       for t in (step.cmd_json, step.output_json))]
    return sum(len(text) for text in texts if text is not None)


def read_views(source: SagaSource, refs: Iterable[SagaRef],
               cancelled: Callable[[], bool]) -> list[SagaView]:
    """The views of these sagas, each read from its own log, skipping large ones and ones
    no longer there; runs in a worker. A read that fails is left to the highlight's own
    read to report."""
    views = []
    for ref in refs:
        if cancelled():
            break
        try:
            detail = source.saga(ref.saga_id, ref.source)
        except StoreError:
            break
        if detail is not None and stored_size(detail) <= LARGE_PAYLOAD:
            views.append(prepare_saga(detail))
    return views


def hold_frame(screen: Screen, seconds: float = HOLD_FRAME_S) -> None:
    """Hold the screen's next frame for a moment (at most `seconds`).

    A cursor move asks for its repaint before the screen handles the move; the panes the
    screen then fills ask for theirs a moment later, after the frame with the cursor alone
    has started, and Textual draws the next frame 17-33 ms after that one. Held until the
    panes have asked, the cursor and the detail are drawn in the same frame."""
    batch = ExitStack()
    batch.enter_context(screen.app.batch_update())

    def release() -> None:
        batch.close()
        screen.check_idle()  # the screen skipped its frame while held: draw it now

    # The app's timer, not the screen's: the hold must end even if the screen goes.
    screen.app.set_timer(seconds, release)
