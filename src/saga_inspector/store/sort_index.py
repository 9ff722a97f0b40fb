"""One log's sagas in one sort order, read once into compact columns: the index a read-only
file cannot be given (sorting by start time or duration is otherwise a scan of every saga).

A `SortIndex` holds every saga's sort value, id and state, in the view's order (highest key
first): 8 + 8 + 1 bytes a saga, 17 MB for a million. A page is then a bisection and a
slice; a state filter is a search of the state column (bytes, searched in C); a position is
a count of it. The values are the SQL the pages use (`sort_value_sql`), so a key read here
is the key `SagaQuery.key_of` gives the saga's row.

Kept up to date, not rebuilt, when the file changes (`SortIndex.updated`): a writer appends
sagas and changes the state (and end) of unfinished ones only, so the index re-reads the
sagas above the highest id it holds and those it holds unfinished. A file changed some other
way (rows deleted, a finished saga rewritten) shows in the counts by state, which must then
match the index's: when they do not, the index is dropped and read again.

Pure: no Textual, no SQL of its own (the store reads the rows: `IndexRows`).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from .models import SortOrder
from .timestamps import NO_VALUE

# A state code for states the index was not told of (a schema with extra states): a filter
# naming one is left to SQL.
OTHER_STATE = 255
# Values this far from zero are exact as doubles: the sort then compares doubles (Python's
# fastest sort); beyond (times past the year 2255), it compares the integers.
_EXACT_AS_FLOAT = 2**53

# (ids, values, state codes) of some sagas, in any order
IndexRows = tuple[Sequence[int], Sequence[int], Sequence[int]]
# A key in one log: (value, saga id)
LocalKey = tuple[int, int]


class _Descending:
    """The index's keys negated, so that `bisect` (which wants ascending) can search them."""

    def __init__(self, values: array[int], ids: array[int]) -> None:
        self._values, self._ids = values, ids

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, position: int) -> tuple[int, int]:
        return -self._values[position], -self._ids[position]


def _negated(key: LocalKey) -> tuple[int, int]:
    return -key[0], -key[1]


@dataclass
class SortIndex:
    sort: SortOrder
    states: tuple[str, ...]  # code -> state name (OTHER_STATE: any other)
    values: array[int] = field(default_factory=lambda: array("q"))
    ids: array[int] = field(default_factory=lambda: array("q"))
    codes: bytearray = field(default_factory=bytearray)
    version: int = -1  # the file's data_version when the rows were read
    newest_id: int | None = None  # the highest id read (sagas above it are new)
    # Sagas whose key or state can still change (unfinished), with their value now
    unfinished: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._patterns: dict[bytes, re.Pattern[bytes]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """What the columns take in memory (an unfinished saga's dict entry, with its two
        ints, counted as about 100 bytes)."""
        return (len(self.values) * self.values.itemsize + len(self.ids) * self.ids.itemsize
                + len(self.codes) + len(self.unfinished) * 100)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, sort: SortOrder, states: Sequence[str], rows: IndexRows, *,
                  version: int, newest_id: int | None,
                  finished_codes: Collection[int]) -> SortIndex:
        """The index of these sagas (ids, values and codes in any order)."""
        index = cls(sort, tuple(states), version=version, newest_id=newest_id)
        ids, values, codes = rows
        order = _view_order(ids, values)
        index.values = array("q", [values[at] for at in order])
        index.ids = array("q", [ids[at] for at in order])
        index.codes = bytearray([codes[at] for at in order])
        index._note_unfinished(ids, values, codes, finished_codes)
        return index

    def _note_unfinished(self, ids: Sequence[int], values: Sequence[int],
                         codes: Sequence[int], finished_codes: Collection[int]) -> None:
        for saga_id, value, code in zip(ids, values, codes, strict=True):
            if code not in finished_codes:
                self.unfinished[saga_id] = value

    def updated(self, rows: IndexRows, *, version: int, newest_id: int | None,
                finished_codes: Collection[int]) -> SortIndex:
        """This index with these sagas' rows read again: the new ones added and every
        unfinished one replaced (one missing from `rows` has left the file)."""
        ids, values, codes = rows
        gone = sorted((self._position((value, saga_id)) for saga_id, value
                       in self.unfinished.items()), reverse=True)
        fresh = SortIndex(self.sort, self.states, version=version,
                          newest_id=newest_id if newest_id is not None else self.newest_id)
        kept = _without((self.values, self.ids, self.codes), gone)
        fresh.values, fresh.ids, fresh.codes = kept
        order = _view_order(ids, values)
        places = [fresh._position((values[at], ids[at])) for at in order]
        added = ([values[at] for at in order], [ids[at] for at in order],
                 [codes[at] for at in order])
        fresh.values, fresh.ids, fresh.codes = _with_inserted(kept, places, added)
        fresh._note_unfinished(ids, values, codes, finished_codes)
        return fresh

    def count_by_code(self) -> dict[int, int]:
        """How many sagas hold each state code (to check against the file's counts)."""
        present = set(self.codes)
        return {code: self.codes.count(code) for code in present}

    # -- reading ----------------------------------------------------------------------------

    def codes_of(self, states: Collection[str] | None) -> bytes | None:
        """The codes of these states (None: every state); None too when a state is one the
        index lumps with others (OTHER_STATE): `serves` tells those apart."""
        if states is None:
            return None
        known = {name: code for code, name in enumerate(self.states)}
        return bytes(sorted(known[state] for state in states if state in known))

    def serves(self, states: Collection[str] | None) -> bool:
        """Whether the index can filter by these states (it cannot tell apart the states it
        was not told of)."""
        return states is None or all(state in self.states for state in states)

    def count(self, codes: bytes | None) -> int:
        return self._matches_in(codes, 0, len(self.ids))

    def count_before(self, codes: bytes | None, key: LocalKey) -> int:
        """The matching sagas whose keys are above `key`."""
        return self._matches_in(codes, 0, self._position(key))

    def page(self, codes: bytes | None, *, after: LocalKey | None = None,
             at: LocalKey | None = None, before: LocalKey | None = None,
             from_oldest: bool = False, limit: int) -> list[LocalKey]:
        """The keys of a page, in view order, as SagaStore.sagas reads it (after: below the
        key; at: from the key down; before: the `limit` just above it; from_oldest: the
        last `limit`; none: the first `limit`)."""
        if limit <= 0:
            return []
        if from_oldest:
            positions = self._backward(codes, len(self.ids), limit)
        elif before is not None:
            positions = self._backward(codes, self._position(before), limit)
        else:
            start = (self._position_after(after) if after is not None
                     else self._position(at) if at is not None else 0)
            positions = self._forward(codes, start, limit)
        return [(self.values[at_], self.ids[at_]) for at_ in positions]

    def columns(self, codes: bytes | None, stride: int = 1) -> tuple[array[int], array[int]]:
        """Every `stride`-th matching key (values, ids), in view order."""
        if codes is None:
            return self.values[::stride], self.ids[::stride]
        values, ids = array("q"), array("q")
        pattern = self._pattern(codes)
        for number, found in enumerate(pattern.finditer(self.codes)):
            if number % stride == 0:
                values.append(self.values[found.start()])
                ids.append(self.ids[found.start()])
        return values, ids

    # -- positions --------------------------------------------------------------------------

    def _position(self, key: LocalKey) -> int:
        """How many sagas have keys above `key`."""
        return bisect_left(_Descending(self.values, self.ids), _negated(key))

    def _position_after(self, key: LocalKey) -> int:
        return bisect_right(_Descending(self.values, self.ids), _negated(key))

    def _matches_in(self, codes: bytes | None, start: int, end: int) -> int:
        if codes is None:
            return max(0, end - start)
        return sum(self.codes.count(code, start, end) for code in codes)

    def _pattern(self, codes: bytes) -> re.Pattern[bytes]:
        pattern = self._patterns.get(codes)
        if pattern is None:
            pattern = re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in codes) + b"]")
            self._patterns[codes] = pattern
        return pattern

    def _forward(self, codes: bytes | None, start: int, limit: int) -> list[int]:
        if codes is None:
            return list(range(start, min(len(self.ids), start + limit)))
        search = self._pattern(codes).search
        positions: list[int] = []
        while len(positions) < limit:
            found = search(self.codes, start)
            if found is None:
                break
            positions.append(found.start())
            start = found.start() + 1
        return positions

    def _backward(self, codes: bytes | None, end: int, limit: int) -> list[int]:
        """The last `limit` matching positions below `end`, in view order."""
        if codes is None:
            return list(range(max(0, end - limit), end))
        # Each code's last place below the end so far; the highest is the next one taken.
        last = {code: self.codes.rfind(code, 0, end) for code in codes}
        positions: list[int] = []
        while len(positions) < limit:
            code, place = max(last.items(), key=lambda item: item[1])
            if place < 0:
                break
            positions.append(place)
            last[code] = self.codes.rfind(code, 0, place)
        positions.reverse()
        return positions


def _view_order(ids: Sequence[int], values: Sequence[int]) -> list[int]:
    """The positions of these keys in view order: value, then id, highest first."""
    # By id first, then (a stable sort) by value: ties on the value keep the ids' order.
    by_id = sorted(range(len(ids)), key=ids.__getitem__, reverse=True)
    by_id.sort(key=_sortable(values).__getitem__, reverse=True)
    return by_id


def _sortable(values: Sequence[int]) -> Sequence[float] | Sequence[int]:
    """The values as doubles where that is exact (the fastest keys for Python's sort)."""
    if not values:
        return values
    lowest = min(values)
    if lowest == NO_VALUE:  # (exact as a double, and below every real value)
        lowest = min(filter(NO_VALUE.__ne__, values), default=0)
    if max(values) <= _EXACT_AS_FLOAT and lowest >= -_EXACT_AS_FLOAT:
        return array("d", values)
    return values


def _without(columns: tuple[array[int], array[int], bytearray],
             gone: Sequence[int]) -> tuple[array[int], array[int], bytearray]:
    """The columns without the rows at these positions (highest first): slices, copied in
    C, not a pass in Python."""
    kept: list[tuple[int, int]] = []
    end = len(columns[1])
    for place in gone:
        if place + 1 < end:
            kept.append((place + 1, end))
        end = place
    kept.append((0, end))
    kept.reverse()
    values, ids, codes = array("q"), array("q"), bytearray()
    for start, stop in kept:
        values += columns[0][start:stop]
        ids += columns[1][start:stop]
        codes += columns[2][start:stop]
    return values, ids, codes


def _with_inserted(columns: tuple[array[int], array[int], bytearray], places: Sequence[int],
                   added: tuple[list[int], list[int], list[int]],
                   ) -> tuple[array[int], array[int], bytearray]:
    """The columns with the added rows put in at these positions (non-decreasing; each the
    place among the old rows)."""
    if not places:
        return columns
    values, ids, codes = array("q"), array("q"), bytearray()
    start = 0
    for number, place in enumerate(places):
        values += columns[0][start:place]
        ids += columns[1][start:place]
        codes += columns[2][start:place]
        values.append(added[0][number])
        ids.append(added[1][number])
        codes.append(added[2][number])
        start = place
    values += columns[0][start:]
    ids += columns[1][start:]
    codes += columns[2][start:]
    return values, ids, codes


Progress = Callable[[int, int], None]  # (sagas read, sagas in all)
