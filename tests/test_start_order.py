"""Pages by start time from the blocks' bounds (store/start_order.py): the launcher's cheap
bounds are sound, and pages agree with the ORDER BY over any file."""

from __future__ import annotations

import sqlite3

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saga_inspector.store.formats.launcher import text_bounds, text_bounds_sql
from saga_inspector.store.timestamps import NO_VALUE, micros, parse_timestamp

from .test_query_store import LAUNCHER_FORMS, NEAR_MISSES, stored_times


def bounds_of(values: list[object]) -> tuple[int, int] | None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
        row = conn.execute(f"SELECT {text_bounds_sql('x')} FROM t").fetchone()
    finally:
        conn.close()
    return text_bounds(row)


def key(value: object) -> int:
    found = micros(parse_timestamp(value))
    return NO_VALUE if found is None else found


def check(values: list[object]) -> None:
    """Where the cheap bounds answer, every value's time lies within them."""
    found = bounds_of(values)
    if found is None:
        return  # the block is read exactly
    low, high = found
    for value in values:
        assert low <= key(value) <= high, (value, found)


def test_the_launchers_own_forms_are_bounded_without_a_time_per_row() -> None:
    own = [form for form in LAUNCHER_FORMS if "1900" <= form < "2200"]
    assert bounds_of(own) == (key("1969-12-31T23:59:59.999999+00:00"),
                              key("2026-06-02T23:59:59.999999999+00:00"))
    found = bounds_of([*own, None])
    assert found is not None and found[0] == NO_VALUE  # a missing time sorts lowest


def test_a_near_miss_sends_its_block_to_the_exact_read() -> None:
    for near_miss in NEAR_MISSES:
        if key(near_miss) != NO_VALUE and near_miss.endswith("+00:00"):
            continue  # a form the parser reads exactly as its text sorts
        assert bounds_of([LAUNCHER_FORMS[0], near_miss]) is None, near_miss


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(stored_times(), st.text(max_size=40), st.none(),
                          st.sampled_from(LAUNCHER_FORMS + NEAR_MISSES)), min_size=1,
                max_size=6))
def test_cheap_bounds_hold_every_time_of_the_block(values: list[str | None]) -> None:
    assume(all(value is None or "\x00" not in value for value in values))
    check(values)


@settings(max_examples=500, deadline=None)
@given(st.lists(stored_times(), min_size=2, max_size=5))
def test_cheap_bounds_hold_for_forms_that_pass(values: list[str]) -> None:
    check([LAUNCHER_FORMS[0], *values])


def test_ids_at_the_ends_of_sqlites_range_page_by_start_time(tmp_path) -> None:
    from saga_inspector.demo import write_saga_log
    from saga_inspector.store import SagaQuery, SagaStore, SortOrder

    from .factory import cleanup_saga

    ends = [-(2**63), -5, 0, 7, 2**63 - 1]
    path = write_saga_log(tmp_path / "ends.db",
                          [cleanup_saga(saga_id, "completed", at=float(n))
                           for n, saga_id in enumerate(ends)])
    query = SagaQuery(sort=SortOrder.STARTED)
    with SagaStore.open(path) as store:
        listed = store.sagas(query, limit=10)
        assert [saga.saga_id for saga in listed] == list(reversed(ends))  # latest start first
        assert [saga.saga_id for saga in store.oldest(query, limit=2)] == ends[1::-1]
        assert store.count_before(query, query.key_of(listed[2])) == 2
