"""Pages by start time without a scan per page: the bounds of each block of ids.

No index orders a saga log by start time, and the file is read-only. But a log's ids grow
with its start times (a saga gets the next id when it starts), except across a clock
change. So the log is cut into blocks of BLOCK consecutive ids, and one pass reads each
block's lowest and highest sort value (StartBlocks). A page by start time then reads only
the blocks that can hold its rows, best bound first, and stops as soon as no unread block
can hold a row that sorts above the ones it has: for a log whose times grow with its ids,
one or two blocks a page. A clock change only makes the blocks it touches overlap; a
damaged time only widens its own block's bounds. The bounds are exact values of the same
SQL the sort orders by, so a page is exactly the one the ORDER BY would give.

Freshness: the bounds are read again for the blocks from the newest one known on whenever
the file changes (a writer appends sagas with growing ids, and never rewrites a start
time). A block whose rows were deleted keeps bounds that still hold (they only widen).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .timestamps import NO_VALUE

BLOCK_BITS = 10
BLOCK = 1 << BLOCK_BITS  # ids per block: 1 024

# A block's matching rows: (value, saga_id) pairs, for the query being paged.
ReadBlock = Callable[[int], list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class Block:
    number: int  # saga_id >> BLOCK_BITS
    low: int  # the lowest sort value in the block (NO_VALUE when a start is missing)
    high: int  # the highest

    @property
    def first_id(self) -> int:
        return block_ids(self.number)[0]

    @property
    def last_id(self) -> int:
        return block_ids(self.number)[1]


def block_ids(number: int) -> tuple[int, int]:
    """The first and last id of block `number` (within SQLite's 64-bit range)."""
    return number << BLOCK_BITS, min(((number + 1) << BLOCK_BITS) - 1, 2**63 - 1)


@dataclass(frozen=True, slots=True)
class StartBlocks:
    """The bounds of every block holding a saga, newest block first."""

    version: int
    blocks: tuple[Block, ...]

    def reach_below(self, ceiling: int | None) -> int | None:
        """The highest value a row at or under `ceiling` can have (None: no block can hold
        one)."""
        reaches = [b.high if ceiling is None else min(b.high, ceiling)
                   for b in self.blocks if ceiling is None or b.low <= ceiling]
        return max(reaches, default=None)

    def reach_above(self, floor: int | None) -> int | None:
        """The lowest value a row at or over `floor` can have (None: none can)."""
        reaches = [b.low if floor is None else max(b.low, floor)
                   for b in self.blocks if floor is None or b.high >= floor]
        return min(reaches, default=None)

    def below(self, key: tuple[int, int] | None, inclusive: bool, limit: int,
              read: ReadBlock) -> list[tuple[int, int]]:
        """The `limit` highest (value, id) pairs under `key` (at or under: `inclusive`), in
        descending order (None: from the top)."""
        def fits(pair: tuple[int, int]) -> bool:
            return key is None or pair < key or (inclusive and pair == key)
        ceiling = None if key is None else key[0]
        candidates = [b for b in self.blocks if ceiling is None or b.low <= ceiling]
        # Best first: the highest value a block can still give.
        order = sorted(candidates, key=lambda b: b.high if ceiling is None
                       else min(b.high, ceiling), reverse=True)
        best: list[tuple[int, int]] = []  # a min-heap of the `limit` best pairs
        for block in order:
            if len(best) == limit:
                worst_value = best[0][0]
                reach = block.high if ceiling is None else min(block.high, ceiling)
                # No row of this block (or of any later one) can beat the worst kept:
                # its value would have to be above it (ties go by id, and are read).
                if reach < worst_value:
                    break
            for pair in read(block.number):
                if not fits(pair):
                    continue
                if len(best) < limit:
                    heapq.heappush(best, pair)
                elif pair > best[0]:
                    heapq.heapreplace(best, pair)
        return sorted(best, reverse=True)

    def above(self, key: tuple[int, int] | None, limit: int,
              read: ReadBlock) -> list[tuple[int, int]]:
        """The `limit` lowest (value, id) pairs above `key` (None: from the bottom), in
        descending order: the page just before the key, or the last page."""
        floor = None if key is None else key[0]
        candidates = [b for b in self.blocks if floor is None or b.high >= floor]
        order = sorted(candidates, key=lambda b: b.low if floor is None
                       else max(b.low, floor))
        best: list[tuple[int, int]] = []  # a max-heap (negated) of the `limit` lowest
        for block in order:
            if len(best) == limit:
                worst_value = -best[0][0]
                reach = block.low if floor is None else max(block.low, floor)
                if reach > worst_value:
                    break
            for value, saga_id in read(block.number):
                if key is not None and (value, saga_id) <= key:
                    continue
                negated = (-value, -saga_id)
                if len(best) < limit:
                    heapq.heappush(best, negated)
                elif negated > best[0]:
                    heapq.heapreplace(best, negated)
        return sorted(((-v, -i) for v, i in best), reverse=True)

    def count_above(self, key: tuple[int, int], count_ids: Callable[[Sequence[tuple[int, int]]],
                                                                     int],
                    read: ReadBlock) -> int:
        """How many pairs sort above `key`: whole blocks by a count over their id ranges
        (`count_ids`, ranges of first and last id), the blocks the key falls in by reading
        them."""
        whole: list[tuple[int, int]] = []
        total = 0
        for block in self.blocks:
            if block.low > key[0]:
                whole.append((block.first_id, block.last_id))
            elif block.high >= key[0]:
                total += sum(pair > key for pair in read(block.number))
        return total + (count_ids(_joined(whole)) if whole else 0)


def _joined(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Id ranges (first, last) with the adjacent ones joined (a run of blocks: one range)."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if joined and joined[-1][1] + 1 == first:
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    return joined


def merged_blocks(previous: StartBlocks | None, fresh: Sequence[Block],
                  from_number: int | None, version: int) -> StartBlocks:
    """`previous`'s blocks below `from_number`, with the fresh ones read from there on."""
    kept = () if previous is None or from_number is None else tuple(
        b for b in previous.blocks if b.number < from_number)
    blocks = sorted((*kept, *fresh), key=lambda b: b.number, reverse=True)
    return StartBlocks(version, tuple(blocks))


__all__ = ["BLOCK", "BLOCK_BITS", "NO_VALUE", "Block", "StartBlocks", "block_ids", "merged_blocks"]
