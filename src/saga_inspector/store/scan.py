"""A scan in saga-id ranges: how a search that may read every saga (free text, `label:`,
`ref:`) goes through a log, one range of ids after another.

Read a range at a time, a scan can say how far it got (ids passed of the ids the log spans,
as a `Progress`), stops between two ranges when it is cancelled (and within one by the
store's progress handler), and tests the steps of a whole range in one pass
(`SqlColumns.within`). Each range is its own short statement, so no read transaction is held
over the scan (a writer's checkpoints go on).

A range's size follows what it costs: the first is small (a search that matches often fills
its page from it, at once), and each range after one read faster than RANGE_S is twice as
big, up to any size (ids may be sparse: spread over the whole 64-bit range, a scan would
otherwise never end); one read slower than twice RANGE_S halves it.

`BlockSpans` does the same for a page by start time (store/start_order.py), which reads
blocks of 1 024 ids in the order of their start times: a block asked for is read with the
blocks below it (or above it) that are still unread, a span of them at once.

Pure: no SQL here, no Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .sort_index import Progress
from .start_order import BLOCK, BLOCK_BITS, block_ids

FIRST_SPAN = 1 << 10  # ids in the first range
RANGE_S = 0.04  # a range read faster than this: the next is twice as big
BLOCK_SPAN_MOST = 1 << 7  # blocks read at once by start time (131 072 ids)

# A span's (value, id) pairs: read for the ids first..last
ReadSpan = Callable[[int, int], list[tuple[int, int]]]


def _grown(span: int, seconds: float, least: int, most: int | None = None) -> int:
    """The next span after one that took `seconds` to read."""
    if seconds < RANGE_S:
        return span * 2 if most is None else min(span * 2, most)
    if seconds > 2 * RANGE_S:
        return max(least, span // 2)
    return span


@dataclass
class IdRanges:
    """The ranges of ids `low`..`high` (both included) from one end to the other: from the
    top down (`descending`) or from the bottom up. Each range's size follows how long the
    caller took over the one before (the time between two ranges handed out)."""

    low: int
    high: int
    descending: bool = True
    span: int = FIRST_SPAN
    done: int = 0  # ids passed

    @property
    def total(self) -> int:
        """The ids of the whole scan (0 when it has none)."""
        return max(0, self.high - self.low + 1)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        low, high = self.low, self.high
        while low <= high:
            if self.descending:
                first, last = max(low, high - self.span + 1), high
                high = first - 1
            else:
                first, last = low, min(high, low + self.span - 1)
                low = last + 1
            started = time.perf_counter()
            yield first, last
            self.done += last - first + 1
            self.span = _grown(self.span, time.perf_counter() - started, FIRST_SPAN)


@dataclass
class BlockSpans:
    """Blocks of ids (start_order.py) read a span at a time, for a scan by start time.

    `read(number)` gives the block's pairs: those a span read before kept for it, or it
    reads a span from that block on, towards the lower numbers (`descending`: the way a page
    down by start time visits them when start times grow with ids) or the higher ones, over
    the `blocks` (their numbers) not read yet. A span grows as IdRanges' ranges do.
    `progress(ids read, ids in all)`, after each span: the ids of the blocks read, of all
    the blocks (BLOCK a block)."""

    read_span: ReadSpan
    blocks: frozenset[int]
    descending: bool = True
    progress: Progress | None = None
    span: int = 1  # blocks
    blocks_read: int = 0  # of `blocks`
    _kept: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _read: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lowest = min(self.blocks, default=0)
        self._highest = max(self.blocks, default=0)

    def read(self, number: int) -> list[tuple[int, int]]:
        if number in self._read:
            return self._kept.pop(number, [])
        numbers = self._unread_from(number)
        first, last = block_ids(min(numbers))[0], block_ids(max(numbers))[1]
        started = time.perf_counter()
        pairs = self.read_span(first, last)
        self.span = _grown(self.span, time.perf_counter() - started, 1, BLOCK_SPAN_MOST)
        self._read.update(numbers)
        for value, saga_id in pairs:
            self._kept.setdefault(saga_id >> BLOCK_BITS, []).append((value, saga_id))
        self.blocks_read += sum(1 for found in numbers if found in self.blocks)
        if self.progress is not None:
            self.progress(self.blocks_read * BLOCK, len(self.blocks) * BLOCK)
        return self._kept.pop(number, [])

    def _unread_from(self, number: int) -> list[int]:
        step = -1 if self.descending else 1
        numbers = [number]
        while len(numbers) < self.span:
            following = numbers[-1] + step
            if not self._lowest <= following <= self._highest or following in self._read:
                break
            numbers.append(following)
        return numbers


def share(done: int, total: int) -> int:
    """`done` of `total` as a whole percentage (100 when there is nothing to do), never
    more than 99 before the end: "100 %" would say it is over."""
    if total <= 0 or done >= total:
        return 100
    return min(99, 100 * done // total)
