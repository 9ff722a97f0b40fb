"""One log's sagas in one sort order, read once into compact columns: the index a read-only
file cannot be given (sorting by start time or duration is otherwise a scan of every saga).

A `SortIndex` is a few sorted runs (`SortRun`), one per range of ids as the store read them:
each holds its sagas' sort values, ids and states in the view's order (highest key first),
8 + 8 + 1 bytes a saga, 17 MB for a million. SQLite sorts each range as it reads it, so
the index is built without a sort (or a permutation) of a million keys in Python: its
temporaries are one range's. A page is then a bisection in each run and a merge of their
heads; a state filter a search of a run's state column (bytes, searched in C); a position a
sum of counts. The values are the SQL the pages use (`sort_value_sql`), so a key read here
is the key `SagaQuery.key_of` gives the saga's row.

Kept up to date, not rebuilt, when the file changes (`SortIndex.updated`): a writer appends
sagas and changes the state (and end) of unfinished ones only, so the index re-reads the
sagas above the highest id it holds and the unfinished ones. A file changed some other way
(rows deleted, a finished saga rewritten) shows in the counts by state, which must then
match the index's: when they do not, the index is dropped and read again.

Pure: no Textual, no SQL of its own (the store reads the rows: `IndexRows`).
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice, starmap
from operator import eq, gt, itemgetter

from .models import SortOrder
from .timestamps import NO_VALUE

# A state code for states the index was not told of (a schema with extra states): a filter
# naming one is left to SQL.
OTHER_STATE = 255
# Values this far from zero are exact as doubles: the sort then compares doubles (Python's
# fastest sort); beyond (times past the year 2255), it compares the integers.
_EXACT_AS_FLOAT = 2**53
# New sagas join the newest run until it holds this many; then they start a run of their own
# (a run is re-sorted in Python when sagas join it).
RUN_SIZE = 1 << 15

# (ids, values, state codes) of some sagas, in any order
IndexRows = tuple[Sequence[int], Sequence[int], Sequence[int]]
# A key in one log: (value, saga id)
LocalKey = tuple[int, int]


class _Descending:
    """A run's keys negated, so that `bisect` (which wants ascending) can search them."""

    def __init__(self, values: array[int], ids: array[int]) -> None:
        self._values, self._ids = values, ids

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, position: int) -> tuple[int, int]:
        return -self._values[position], -self._ids[position]


def _negated(key: LocalKey) -> tuple[int, int]:
    return -key[0], -key[1]


@dataclass
class SortRun:
    """Some sagas (one range of ids) in view order: value, then id, highest first."""

    values: array[int] = field(default_factory=lambda: array("q"))
    ids: array[int] = field(default_factory=lambda: array("q"))
    codes: bytearray = field(default_factory=bytearray)

    @classmethod
    def of(cls, ids: Sequence[int], values: Sequence[int], codes: Sequence[int]) -> SortRun:
        """The run of these sagas, given in any order."""
        if not ids:
            return cls()
        take = itemgetter(*_view_order(ids, values))
        if len(ids) == 1:  # (itemgetter of one position gives the item, not a tuple)
            return cls(array("q", values), array("q", ids), bytearray(codes))
        return cls(array("q", take(values)), array("q", take(ids)), bytearray(take(codes)))

    @classmethod
    def read(cls, values: array[int], ids: array[int], codes: bytearray) -> SortRun:
        """A run from columns SQL was asked to sort: kept as given when they are in view
        order (checked in C), sorted here when they are not."""
        if _in_view_order(values, ids):
            return cls(values, ids, codes)
        return cls.of(ids, values, codes)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        return len(self.values) * 8 + len(self.ids) * 8 + len(self.codes)

    def key(self, position: int) -> LocalKey:
        return self.values[position], self.ids[position]

    def position(self, key: LocalKey) -> int:
        """How many of its sagas have keys above `key`."""
        return bisect_left(_Descending(self.values, self.ids), _negated(key))

    def position_after(self, key: LocalKey) -> int:
        """How many of its sagas have keys at or above `key`."""
        return bisect_right(_Descending(self.values, self.ids), _negated(key))

    def matches_in(self, codes: bytes | None, start: int, end: int) -> int:
        if codes is None:
            return max(0, end - start)
        return sum(self.codes.count(code, start, end) for code in codes)

    def next_match(self, pattern: re.Pattern[bytes] | None, start: int) -> int:
        """The first position from `start` holding one of the pattern's codes (-1: none)."""
        if pattern is None:
            return start if start < len(self.ids) else -1
        found = pattern.search(self.codes, start)
        return -1 if found is None else found.start()

    def last_match(self, codes: bytes | None, end: int) -> int:
        """The last position below `end` holding one of these codes (-1: none)."""
        if codes is None:
            return min(end, len(self.ids)) - 1
        return max((self.codes.rfind(code, 0, end) for code in codes), default=-1)

    def keys(self, codes: bytes | None) -> Iterator[LocalKey]:
        """Its keys holding these codes, in view order (in C: zip and compress)."""
        keys = zip(self.values, self.ids, strict=True)
        if codes is None:
            return keys
        wanted = bytes(1 if code in codes else 0 for code in range(256))
        return compress(keys, self.codes.translate(wanted))

    def changed(self, gone: Sequence[int], added: IndexRows) -> SortRun:
        """This run without the sagas at these positions, with these sagas added."""
        kept = _without((self.values, self.ids, self.codes), sorted(set(gone), reverse=True))
        ids, values, codes = added
        if not ids:
            return SortRun(*kept)
        order = _view_order(ids, values)
        new = SortRun(*kept)
        places = [new.position((values[at], ids[at])) for at in order]
        rows = ([values[at] for at in order], [ids[at] for at in order],
                [codes[at] for at in order])
        return SortRun(*_with_inserted(kept, places, rows))


@dataclass
class SortIndex:
    sort: SortOrder
    states: tuple[str, ...]  # code -> state name (OTHER_STATE: any other)
    # In ascending ranges of ids: run k holds the ids from lows[k] up to lows[k + 1]
    runs: list[SortRun] = field(default_factory=list)
    lows: list[int] = field(default_factory=list)
    version: int = -1  # the file's data_version when the rows were read
    newest_id: int | None = None  # the highest id read (sagas above it are new)
    # The sagas whose key or state can still change (unfinished), as records (see
    # `records`) in ascending ids: what a refresh compares the file's with
    unfinished: str = ""

    def __post_init__(self) -> None:
        self._patterns: dict[bytes, re.Pattern[bytes]] = {}

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    @property
    def nbytes(self) -> int:
        """What the columns and the unfinished sagas' records take in memory."""
        return sum(run.nbytes for run in self.runs) + len(self.unfinished)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_runs(cls, sort: SortOrder, states: Sequence[str], runs: Sequence[SortRun],
                  lows: Sequence[int], *, version: int, newest_id: int | None,
                  finished_codes: Collection[int]) -> SortIndex:
        """The index of these runs (each in view order; `lows` ascending, a run's lowest
        id or below)."""
        index = cls(sort, tuple(states), version=version, newest_id=newest_id)
        unfinished: list[str] = []
        for run, low in sorted(zip(runs, lows, strict=True), key=lambda pair: pair[1]):
            if len(run):
                index.runs.append(run)
                index.lows.append(low)
            # (a run at a time, in ascending ranges of ids: no list of every such saga)
            unfinished.append(records(*_unfinished_in(run, finished_codes)))
        index.unfinished = "".join(unfinished)
        return index

    @classmethod
    def from_rows(cls, sort: SortOrder, states: Sequence[str], rows: IndexRows, *,
                  version: int, newest_id: int | None,
                  finished_codes: Collection[int]) -> SortIndex:
        """The index of these sagas (ids, values and codes in any order), as one run."""
        ids, values, codes = rows
        return cls.from_runs(sort, states, [SortRun.of(ids, values, codes)],
                             [min(ids, default=0)], version=version, newest_id=newest_id,
                             finished_codes=finished_codes)

    def changes(self, unfinished: str) -> tuple[IndexRows, IndexRows]:
        """Against the records of the sagas unfinished now (ascending ids, as `records`
        writes them): (the rows it holds that are no longer so, the rows that are new or
        changed). Two sets of records compared, not a saga at a time in Python."""
        if unfinished == self.unfinished:
            return ((), (), ()), ((), (), ())
        held, now = set(_split(self.unfinished)), set(_split(unfinished))
        return parse_records(sorted(held - now)), parse_records(sorted(now - held))

    def updated(self, gone: IndexRows, added: IndexRows, *, unfinished: str, version: int,
                newest_id: int | None) -> SortIndex:
        """This index without the `gone` rows (each as it holds it), with the `added` ones;
        `unfinished`: the records of the sagas unfinished now. Only the runs whose sagas
        changed are rewritten; new sagas above its newest id join the newest run, or start
        one of their own once it is full."""
        fresh = SortIndex(self.sort, self.states, list(self.runs), list(self.lows),
                          version=version, unfinished=unfinished,
                          newest_id=newest_id if newest_id is not None else self.newest_id)
        places: dict[int, list[int]] = {}
        for saga_id, value, _code in zip(*gone, strict=True):
            run = self._run_of(saga_id)
            places.setdefault(run, []).append(self.runs[run].position((value, saga_id)))
        new_run = bool(self.runs) and len(self.runs[-1]) >= RUN_SIZE
        joining: dict[int, tuple[list[int], list[int], list[int]]] = {}
        for saga_id, value, code in zip(*added, strict=True):
            new = self.newest_id is None or saga_id > self.newest_id
            run = len(self.runs) if new and new_run else self._run_of(saga_id)
            ids, values, codes = joining.setdefault(run, ([], [], []))
            ids.append(saga_id)
            values.append(value)
            codes.append(code)
        for run in sorted(set(places) | set(joining)):
            change = joining.get(run, ([], [], []))
            if run == len(fresh.runs):
                fresh.runs.append(SortRun.of(*change))
                fresh.lows.append(min(change[0]))
            else:
                fresh.runs[run] = fresh.runs[run].changed(places.get(run, []), change)
        return fresh

    def _run_of(self, saga_id: int) -> int:
        """The run whose range holds this id (the first for an id below every range)."""
        return max(0, bisect_right(self.lows, saga_id) - 1)

    def count_by_code(self) -> dict[int, int]:
        """How many sagas hold each state code (to check against the file's counts)."""
        codes = [*range(min(len(self.states), OTHER_STATE)), OTHER_STATE]
        found = {code: sum(run.codes.count(code) for run in self.runs) for code in codes}
        return {code: n for code, n in found.items() if n}

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
        return sum(run.matches_in(codes, 0, len(run)) for run in self.runs)

    def extremes(self) -> tuple[int, int] | None:
        """The highest and the lowest sort value it holds, of any state (None: no saga)."""
        runs = [run for run in self.runs if len(run)]
        if not runs:
            return None
        return max(run.values[0] for run in runs), min(run.values[-1] for run in runs)

    def count_before(self, codes: bytes | None, key: LocalKey) -> int:
        """The matching sagas whose keys are above `key`."""
        return sum(run.matches_in(codes, 0, run.position(key)) for run in self.runs)

    def page(self, codes: bytes | None, *, after: LocalKey | None = None,
             at: LocalKey | None = None, before: LocalKey | None = None,
             from_oldest: bool = False, limit: int) -> list[LocalKey]:
        """The keys of a page, in view order, as SagaStore.sagas reads it (after: below the
        key; at: from the key down; before: the `limit` just above it; from_oldest: the
        last `limit`; none: the first `limit`)."""
        if limit <= 0:
            return []
        if from_oldest or before is not None:
            ends = [len(run) if before is None else run.position(before) for run in self.runs]
            return self._backward(codes, ends, limit)
        starts = [run.position_after(after) if after is not None
                  else run.position(at) if at is not None else 0 for run in self.runs]
        return self._forward(codes, starts, limit)

    def columns(self, codes: bytes | None, stride: int = 1) -> tuple[array[int], array[int]]:
        """Every `stride`-th matching key (values, ids), in view order."""
        if len(self.runs) == 1 and codes is None:
            return self.runs[0].values[::stride], self.runs[0].ids[::stride]
        merged = heapq.merge(*(run.keys(codes) for run in self.runs), reverse=True)
        values, ids = array("q"), array("q")
        for value, saga_id in islice(merged, 0, None, stride):
            values.append(value)
            ids.append(saga_id)
        return values, ids

    # -- the merge of the runs' heads -------------------------------------------------------

    def _pattern(self, codes: bytes | None) -> re.Pattern[bytes] | None:
        if codes is None:
            return None
        pattern = self._patterns.get(codes)
        if pattern is None:
            pattern = re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in codes) + b"]"
                                 if codes else b"(?!)")
            self._patterns[codes] = pattern
        return pattern

    def _forward(self, codes: bytes | None, starts: Sequence[int], limit: int) -> list[LocalKey]:
        """The first `limit` matching keys from each run's start on, in view order."""
        pattern = self._pattern(codes)
        heads: list[tuple[int, int, int, int]] = []  # (-value, -id, run, position)
        for number, (run, start) in enumerate(zip(self.runs, starts, strict=True)):
            found = run.next_match(pattern, start)
            if found >= 0:
                heads.append((-run.values[found], -run.ids[found], number, found))
        heapq.heapify(heads)
        keys: list[LocalKey] = []
        while heads and len(keys) < limit:
            value, saga_id, number, found = heads[0]
            keys.append((-value, -saga_id))
            run = self.runs[number]
            found = run.next_match(pattern, found + 1)
            if found >= 0:
                heapq.heapreplace(heads, (-run.values[found], -run.ids[found], number, found))
            else:
                heapq.heappop(heads)
        return keys

    def _backward(self, codes: bytes | None, ends: Sequence[int], limit: int) -> list[LocalKey]:
        """The last `limit` matching keys above each run's end, in view order."""
        heads: list[tuple[int, int, int, int]] = []  # (value, id, run, position): lowest first
        for number, (run, end) in enumerate(zip(self.runs, ends, strict=True)):
            found = run.last_match(codes, end)
            if found >= 0:
                heads.append((run.values[found], run.ids[found], number, found))
        heapq.heapify(heads)
        keys: list[LocalKey] = []
        while heads and len(keys) < limit:
            value, saga_id, number, found = heads[0]
            keys.append((value, saga_id))
            run = self.runs[number]
            found = run.last_match(codes, found)
            if found >= 0:
                heapq.heapreplace(heads, (run.values[found], run.ids[found], number, found))
            else:
                heapq.heappop(heads)
        keys.reverse()
        return keys


# A record: a saga's id, value and state code as 16 + 16 + 2 hexadecimal digits (two's
# complement), what SQLite's printf('%016x%016x%02x', id, value, code) writes
RECORD_CHARS = 34
_WORD = 1 << 64


def records(ids: Sequence[int], values: Sequence[int], codes: Sequence[int]) -> str:
    """These sagas' records, one after the other."""
    return "".join(f"{saga_id % _WORD:016x}{value % _WORD:016x}{code:02x}"
                   for saga_id, value, code in zip(ids, values, codes, strict=True))


def _split(text: str) -> list[str]:
    return [text[at:at + RECORD_CHARS] for at in range(0, len(text), RECORD_CHARS)]


def parse_records(found: Sequence[str]) -> IndexRows:
    """(ids, values, codes) of these records."""
    ids, values, codes = [], [], []
    for record in found:
        ids.append(_signed(int(record[:16], 16)))
        values.append(_signed(int(record[16:32], 16)))
        codes.append(int(record[32:], 16))
    return ids, values, codes


def _signed(word: int) -> int:
    return word - _WORD if word >= _WORD // 2 else word


def _unfinished_in(run: SortRun, finished_codes: Collection[int]) -> IndexRows:
    """(ids, values, codes) of the run's sagas whose state is not a finished one, in
    ascending ids."""
    finished = bytes(1 if code in finished_codes else 0 for code in range(256))
    flags = run.codes.translate(finished)
    places = sorted((run.ids[found.start()], found.start())
                    for found in re.finditer(b"\x00", flags))  # (found in C)
    return ([saga_id for saga_id, _ in places], [run.values[at] for _, at in places],
            [run.codes[at] for _, at in places])


def _view_order(ids: Sequence[int], values: Sequence[int]) -> list[int]:
    """The positions of these keys in view order: value, then id, highest first."""
    # By id first, then (a stable sort) by value: ties on the value keep the ids' order.
    by_id = sorted(range(len(ids)), key=ids.__getitem__, reverse=True)
    by_id.sort(key=_sortable(values).__getitem__, reverse=True)
    return by_id


def _in_view_order(values: array[int], ids: array[int]) -> bool:
    """Whether the keys descend: values never rising, ids falling where values tie (all in
    C: a sort of sorted values is one pass)."""
    listed = values.tolist()
    if sorted(listed, reverse=True) != listed:
        return False
    ties = map(eq, listed, islice(listed, 1, None))
    return all(starmap(gt, compress(zip(ids, islice(ids, 1, None), strict=False), ties)))


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
