"""The one timestamp parser: RFC 3339 as chrono writes it and a bit beyond; anything else is
kept as text, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saga_inspector.demo import rfc3339
from saga_inspector.store import Timestamp, duration_between, parse_timestamp

MOMENT = datetime(2026, 6, 2, 14, 5, 23, 481526, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-06-02T14:05:23+00:00", MOMENT.replace(microsecond=0)),
        ("2026-06-02T14:05:23.481+00:00", MOMENT.replace(microsecond=481000)),
        ("2026-06-02T14:05:23.481526+00:00", MOMENT),
        ("2026-06-02T14:05:23.481526300+00:00", MOMENT),        # nanoseconds dropped
        ("2026-06-02T14:05:23.481526999+00:00", MOMENT),        # truncated, not rounded
        ("2026-06-02T14:05:23.481526Z", MOMENT),
        ("2026-06-02t14:05:23.481526z", MOMENT),
        ("2026-06-02 14:05:23.481526+00:00", MOMENT),
        ("2026-06-02T16:05:23.481526+02:00", MOMENT),
        ("2026-06-02T08:35:23.481526-05:30", MOMENT),
        ("2026-06-02T14:05:23.4815261234+00:00", MOMENT),       # more than 9 digits
        ("2026-06-02T14:05:23.4+00:00", MOMENT.replace(microsecond=400000)),
        (" 2026-06-02T14:05:23.481526+00:00\n", MOMENT),
    ],
)
def test_rfc3339_forms_parse_to_the_same_utc_instant(raw, expected):
    stamp = parse_timestamp(raw)
    assert stamp == Timestamp(raw, expected)
    assert stamp.parsed
    assert stamp.value.tzinfo == UTC
    assert str(stamp) == raw


@pytest.mark.parametrize("digits", [0, 3, 6, 9])
def test_what_chrono_and_the_demo_writer_produce_parses(digits):
    raw = rfc3339(MOMENT, digits)
    assert raw.endswith("+00:00")
    assert raw.count(".") == (1 if digits else 0)
    stamp = parse_timestamp(raw)
    cut = {0: 0, 3: 481000, 6: 481526, 9: 481526}[digits]
    assert stamp.value == MOMENT.replace(microsecond=cut)


@pytest.mark.parametrize(
    "raw",
    [
        "", " ", "garbage", "yesterday at noon", "2026-06-02", "14:05:23",
        "2026-06-02T14:05:23",                  # no offset: which zone? not guessed
        "2026-13-45T00:00:00+00:00",            # no such month or day
        "2026-02-30T00:00:00+00:00",
        "2026-06-02T25:00:00+00:00",
        "2026-06-02T23:59:60+00:00",            # a leap second
        "2026-06-02T14:05:23+24:00",            # no such offset
        "2026-06-02T14:05:23+0000",
        "2026-06-02T14:05:23.+00:00",
        "0000-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+05:00",            # before year 1 in UTC
        "9999-12-31T23:59:59-05:00",            # after year 9999 in UTC
        "\u0662\u0660\u0662\u0666-06-02T14:05:23+00:00",  # other scripts' digits (Arabic-Indic)
        "2026-06-02T14:05:23+00:00 trailing",
        "1717337123",
        "1717337123481",
    ],
)
def test_text_that_does_not_parse_is_kept_as_it_is(raw):
    stamp = parse_timestamp(raw)
    assert stamp == Timestamp(raw, None)
    assert not stamp.parsed


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (1717337123, "1717337123"),             # an integer stored in the column
        (1.5, "1.5"),
        (b"2026-06-02T14:05:23Z", "2026-06-02T14:05:23Z"),   # a blob: its text
        (b"\xff2026", "\\xff2026"),
    ],
)
def test_values_that_are_not_text_are_kept_as_their_text(raw, text):
    stamp = parse_timestamp(raw)
    assert stamp.raw == text
    if isinstance(raw, bytes) and raw.isascii():
        assert stamp.parsed
    else:
        assert not stamp.parsed


def test_none_stays_none():
    assert parse_timestamp(None) is None


def test_durations():
    start = parse_timestamp("2026-06-02T14:05:23.481526300+00:00")
    end = parse_timestamp("2026-06-02T16:05:28.481526+02:00")
    assert duration_between(start, end) == timedelta(seconds=5)
    # An end before its start (clock steps, hand edits) is a negative duration, not an error.
    assert duration_between(end, start) == timedelta(seconds=-5)
    assert duration_between(start, None) is None
    assert duration_between(None, end) is None
    assert duration_between(start, parse_timestamp("garbage")) is None
    assert duration_between(parse_timestamp(""), end) is None
    extremes = (parse_timestamp("0001-01-01T00:00:00Z"), parse_timestamp("9999-12-31T23:59:59Z"))
    assert duration_between(*extremes).days == 3652058


STORED = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet="0123456789-+:.TZtz ", max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
)


@given(STORED)
def test_parsing_anything_never_raises(raw):
    stamp = parse_timestamp(raw)
    if raw is None:
        assert stamp is None
        return
    assert isinstance(stamp.raw, str)
    assert stamp.value is None or stamp.value.tzinfo == UTC


@given(STORED, STORED)
def test_a_duration_between_anything_never_raises(first, second):
    duration = duration_between(parse_timestamp(first), parse_timestamp(second))
    assert duration is None or isinstance(duration, timedelta)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.just(UTC)),
       st.sampled_from([0, 3, 6, 9]))
def test_every_chrono_time_round_trips(moment, digits):
    stamp = parse_timestamp(rfc3339(moment, digits))
    kept = {0: 0, 3: moment.microsecond // 1000 * 1000, 6: moment.microsecond,
            9: moment.microsecond}[digits]
    assert stamp.value == moment.replace(microsecond=kept)
