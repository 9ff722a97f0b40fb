"""The first page under a sort no index serves yet (start time, duration), without the exact
time of every saga: SQL orders by a cheap proxy, and only the candidates it returns are
timed exactly.

The exact time (the store's `micros_sql`) costs over a microsecond a saga: at a million
sagas, a first page by start time or duration took most of a second of CPU. A proxy costs a
fraction of that:
- by start time, the stored value itself: where it is in the format's own form (launcher
  text `…T…+00:00`, server milliseconds in range: `TimeEncoding.ordered_sql`), its SQL order
  is its time's order (equal times may differ in text: non-strictly);
- by duration, an approximate span (`TimeEncoding.span_sql`: julianday's difference, within
  `span_error` µs of the exact one) where both ends are in the own form.

Each id range (a lane) returns, in this order: the rows not in the own form (their proxy
tells nothing: all of them are candidates), then the best rows by proxy, then the rows with
no value at all (by duration: unfinished), `LIMIT limit + SPARE`. A row left out of a lane
that filled its limit can reach at most that lane's `ceiling`. The sagas of every candidate
are read, keyed exactly (`SagaQuery.key_of`, what the ORDER BY orders by) and sorted: the
first `limit` are the page when the last of them is above every full lane's ceiling (a tie
could let a left-out row in by its id). Otherwise nobody can tell cheaply: None, and the
caller takes the exact way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from .models import Saga, SortKey
from .timestamps import NO_VALUE

SPARE = 16  # candidates past the page's size a lane returns: room for near-ties


class Group(IntEnum):
    """Where a lane puts a row (its ORDER BY's first term)."""

    UNORDERED = 0  # a value the proxy cannot place (not in the own form): always read
    ORDERED = 1  # placed by the proxy
    NO_VALUE = 2  # no value to sort by (by duration: not finished): sorts last, by id


@dataclass(frozen=True, slots=True)
class LaneRow:
    saga_id: int
    group: Group
    proxy: float | int | None  # the span's approximation in µs (by duration), else None


@dataclass(frozen=True, slots=True)
class Lane:
    """One id range's candidates, best first, and whether rows were left out."""

    rows: Sequence[LaneRow]
    full: bool  # the lane returned its limit: rows may have been left out


# The highest exact value a row left out after `last` can have (None: cannot tell). Given
# the last row and the exact key of its saga (None: its saga was not read back).
Ceiling = Callable[[LaneRow, SortKey | None], int | None]


def start_ceiling(last: LaneRow, key: SortKey | None) -> int | None:
    """By start time: a row left out sorts at or under the last one by its stored value,
    so its time is at most the last one's."""
    # (a stored value of the own form's shape that is no time has none: the rows left out
    # can then be later than it)
    if last.group is not Group.ORDERED or key is None or key.value == NO_VALUE:
        return None
    return key.value


def span_ceiling(error: int) -> Ceiling:
    """By duration: a row left out has a span at most the last one's proxy, so its exact
    duration is at most that plus the proxy's error."""
    def ceiling(last: LaneRow, _key: SortKey | None) -> int | None:
        if last.group is Group.NO_VALUE:
            return NO_VALUE  # (the rows left out have no value either)
        if last.group is not Group.ORDERED or last.proxy is None:
            return None
        if not math.isfinite(last.proxy):
            return None
        return math.ceil(last.proxy) + error
    return ceiling


def checked_page(lanes: Sequence[Lane], sagas: Sequence[Saga],
                 key_of: Callable[[Saga], SortKey], limit: int,
                 ceiling: Ceiling) -> list[Saga] | None:
    """The first `limit` of the candidates' `sagas` in exact order, or None when a row a
    lane left out could belong among them."""
    keyed = sorted(((key_of(saga), saga) for saga in sagas),
                   key=lambda pair: pair[0], reverse=True)
    page = keyed[:limit]
    full = [lane for lane in lanes if lane.full and lane.rows]
    if not full:  # every lane returned all its rows: the candidates are the whole view
        return [saga for _key, saga in page]
    if len(page) < limit:
        return None
    keys = {saga.saga_id: key for key, saga in keyed}
    lowest = page[-1][0].value
    for lane in full:
        last = lane.rows[-1]
        reach = ceiling(last, keys.get(last.saga_id))
        if reach is None or lowest <= reach:
            return None
    return [saga for _key, saga in page]
