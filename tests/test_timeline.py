"""The step timeline's layout maths: offsets, open-ended in-flight steps, the timeout, the
broken axis of long sagas, the slowest step, and times that are missing or unreadable."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.report import format_duration, format_timeout
from saga_inspector.store import LAUNCHER, Saga, SagaDetail
from saga_inspector.store.kinds import timeout_of
from saga_inspector.timeline import (
    BREAK,
    DONE,
    LATE,
    OPEN,
    TAIL,
    TIMEOUT,
    Scale,
    Timeline,
    bar_cells,
    bar_span,
    build_timeline,
    chart,
    plain_lines,
    scale_for,
)

from .factory import T0, ts
from .helpers import CLEANUP, RESPAWN, completed_cleanup, saga_detail, step, timed_out

MS = timedelta(milliseconds=1)


def text(cells: list[tuple[str, str]]) -> str:
    return "".join(glyph for glyph, _kind in cells)


def kinds(cells: list[tuple[str, str]]) -> list[str]:
    return [kind for _glyph, kind in cells]


# -- offsets and durations --------------------------------------------------------------------


def test_steps_are_measured_from_the_sagas_start() -> None:
    timeline = build_timeline(completed_cleanup())
    reap, drain = timeline.spans
    assert reap.start == timedelta(microseconds=300) and reap.end == 30 * MS
    assert drain.start == 31 * MS and drain.duration == 5 * MS
    assert timeline.end == 37 * MS and not timeline.until_now
    assert not reap.open_ended and timeline.extent == 37 * MS
    assert timeline.problems == ()


def test_the_in_flight_step_runs_open_ended_to_the_sagas_end() -> None:
    timeline = build_timeline(timed_out(5.01))
    (span,) = timeline.spans
    assert span.open_ended and span.end == timedelta(seconds=5.01)
    assert span.duration == timedelta(seconds=5.01) - timedelta(microseconds=400)


def test_a_running_saga_is_measured_up_to_now() -> None:
    detail = saga_detail(ts(0), None, step(0, ts(0.001), state="pending", in_flight=True),
                         state="running")
    now = T0 + timedelta(seconds=12)
    timeline = build_timeline(detail, now)
    assert timeline.until_now and timeline.end == timedelta(seconds=12)
    assert timeline.spans[0].end == timedelta(seconds=12)
    # without a clock the open end is unknown: said, not guessed
    blind = build_timeline(detail)
    assert blind.end is None and blind.spans[0].end is None
    assert blind.spans[0].problem == "in flight; the saga's end is not known"


def test_a_clock_behind_the_saga_is_said_and_drawn_as_zero() -> None:
    detail = saga_detail(ts(0), None, step(0, ts(0.001), state="pending", in_flight=True),
                         state="running")
    timeline = build_timeline(detail, T0 - timedelta(hours=1))
    assert timeline.end == timedelta(0)
    assert "the clock reads earlier than the saga's start" in timeline.problems
    assert timeline.spans[0].duration == timedelta(0)  # open end clamped to its start


def test_timeouts_per_saga_kind() -> None:
    assert timeout_of(LAUNCHER.kind(RESPAWN)) == timedelta(seconds=5)
    assert timeout_of(LAUNCHER.kind(CLEANUP)) == timedelta(seconds=30)
    assert LAUNCHER.kind("something_else") is None and timeout_of(LAUNCHER.kind(None)) is None
    assert build_timeline(timed_out()).timeout == timedelta(seconds=5)
    unknown = build_timeline(timed_out(name="something_else"))
    assert unknown.timeout is None and not unknown.known_kind


# -- the scale: zoomed, with the timeout, broken -----------------------------------------------


def test_a_quick_saga_is_zoomed_to_its_own_length() -> None:
    timeline = build_timeline(completed_cleanup())
    scale = scale_for(timeline, 74)
    assert scale == Scale(74, 37 * MS, 37 * MS, 74)  # 37 ms of 30 s: no timeout on the axis
    reap, drain = (bar_span(span, scale) for span in timeline.spans)
    assert reap == (0, 59)  # 0.3 ms .. 30 ms of 37 ms over 74 cells: cells 0 to 59
    assert drain == (62, 71)


def test_a_saga_near_its_timeout_has_it_marked() -> None:
    timeline = build_timeline(timed_out(5.01))
    scale = scale_for(timeline, 50)
    assert scale is not None and not scale.broken
    assert scale.end == timedelta(seconds=5.01)
    assert scale.timeout_cell == int(5 / 5.01 * 50) == 49
    # a saga that used half its timeout: the axis runs to the timeout, marked at the end
    half = scale_for(build_timeline(timed_out(2.5)), 40)
    assert half is not None and half.end == timedelta(seconds=5) and half.timeout_cell == 39


def test_a_saga_far_past_its_timeout_gets_a_broken_axis() -> None:
    detail = timed_out(4 * 3600)  # recovered at a launcher restart four hours later
    timeline = build_timeline(detail)
    scale = scale_for(timeline, 60)
    assert scale is not None and scale.broken
    tail = 60 // 5
    assert scale.break_cell == 60 - tail - 1 == 47
    assert scale.linear_end == timedelta(seconds=6)  # a little past the 5 s timeout
    assert scale.timeout_cell == int(5 / 6 * 47)
    assert scale.x(timedelta(hours=4)) == 60  # the end is the right edge
    assert scale.x(timedelta(seconds=3)) == pytest.approx(47 / 2)  # linear before the break
    cells = bar_cells(timeline.spans[0], scale)
    assert text(cells)[scale.break_cell] == "≈"
    assert set(kinds(cells)[scale.break_cell:]) == {TAIL}
    assert text(cells)[scale.break_cell + 1:] == "░" * tail


def test_an_unknown_kind_has_a_plain_linear_axis() -> None:
    timeline = build_timeline(timed_out(4 * 3600, name="mystery"))
    scale = scale_for(timeline, 30)
    assert scale is not None and not scale.broken and scale.timeout_cell is None


def test_too_narrow_or_nothing_to_place_gives_no_scale() -> None:
    assert scale_for(build_timeline(completed_cleanup()), 7) is None
    nothing = build_timeline(saga_detail("garbage", None, step(0, "nope")))
    assert nothing.extent is None and scale_for(nothing, 60) is None


# -- bars --------------------------------------------------------------------------------------


def test_a_finished_step_ends_to_an_eighth_of_a_cell() -> None:
    scale = Scale(10, timedelta(seconds=10), timedelta(seconds=10), 10)
    span = build_timeline(saga_detail(ts(0), ts(10), step(0, ts(0), ts(4.3)))).spans[0]
    cells = bar_cells(span, scale)
    assert text(cells) == "████▎     "  # 4.3 cells: four full, 0.3 of a cell as 2 eighths
    assert set(kinds(cells)[:5]) == {DONE}
    # however short, a step that took time shows
    tiny = build_timeline(saga_detail(ts(0), ts(10), step(0, ts(5), ts(5.0001)))).spans[0]
    assert text(bar_cells(tiny, scale)) == "     ▏    "


def test_the_in_flight_bar_is_shaded_and_turns_late_past_the_timeout() -> None:
    timeline = build_timeline(timed_out(9.0))  # 9 s of a 5 s timeout, not yet broken
    scale = scale_for(timeline, 18)
    assert scale is not None and scale.timeout_cell == 10
    cells = bar_cells(timeline.spans[0], scale)
    assert text(cells) == "▒" * 10 + "┃" + "▓" * 7
    assert kinds(cells) == [OPEN] * 10 + [LATE] * 8
    assert timeline.past_timeout == timedelta(seconds=4)


def test_rows_that_do_not_reach_the_timeout_show_it_as_a_guide() -> None:
    detail = saga_detail(ts(0), ts(40), step(0, ts(0), ts(1)),
                         step(1, ts(1), state="pending", in_flight=True))
    timeline = build_timeline(detail)
    scale = scale_for(timeline, 40)
    assert scale is not None and scale.timeout_cell == 30
    first = bar_cells(timeline.spans[0], scale)
    assert first[30] == ("┊", TIMEOUT) and text(first).startswith("█")


def test_a_step_without_a_readable_end_shows_a_question_mark_where_it_began() -> None:
    detail = saga_detail(ts(0), ts(1), step(0, ts(0), ts(0.5)), step(1, ts(0.5), "soon"))
    timeline = build_timeline(detail)
    assert timeline.spans[1].problem == "end time not readable"
    scale = scale_for(timeline, 20)
    assert scale is not None
    assert text(bar_cells(timeline.spans[1], scale)) == " " * 10 + "?" + " " * 9


def test_the_slowest_step_is_named_only_when_there_is_a_comparison() -> None:
    timeline = build_timeline(completed_cleanup())
    assert timeline.slowest is timeline.spans[0]  # 29.7 ms against 5 ms
    assert build_timeline(timed_out()).slowest is None  # one step: nothing to compare
    # the in-flight step counts with its open-ended length
    stuck = build_timeline(saga_detail(
        ts(0), ts(30.02), step(0, ts(0), ts(0.03)),
        step(1, ts(0.031), state="pending", in_flight=True), state="failed"))
    assert stuck.slowest is stuck.spans[1]


# -- missing and unreadable times ----------------------------------------------------------------


def test_an_unreadable_saga_start_is_measured_from_its_first_step() -> None:
    detail = saga_detail("yesterday", ts(1), step(0, ts(0.2), ts(0.4)), step(1, ts(0.5), ts(1)))
    timeline = build_timeline(detail)
    assert timeline.problems == ("saga start time not readable; measured from its first step",)
    assert timeline.spans[0].start == timedelta(0) and timeline.end == timedelta(seconds=0.8)


def test_a_step_whose_start_is_unreadable_is_listed_with_no_bar() -> None:
    detail = saga_detail(ts(0), ts(1), step(0, "\x1b[2J"), step(1, ts(0.5), ts(1)))
    drawn = chart(build_timeline(detail), 20, format_duration)
    first, second = drawn.rows
    assert first.span.problem == "start time not readable" and first.duration == ""
    assert set(text(list(first.bar))) <= {" ", "┊", "≈"}  # guides only
    assert second.duration == "500 ms"
    lines = plain_lines(drawn)
    assert lines[0].startswith("0 start time not readable")
    assert "\x1b" not in "\n".join(lines)  # no stored text is drawn at all


def test_no_times_at_all_still_give_a_chart_that_says_so() -> None:
    detail = saga_detail(None, None, step(0, None), state="failed")
    drawn = chart(build_timeline(detail), 40, format_duration)
    assert drawn.scale is None and drawn.axis == ()
    assert drawn.notes == ("saga start time missing",)
    assert [row.span.problem for row in drawn.rows] == ["start time missing"]


def test_an_unreadable_saga_end_leaves_the_in_flight_bar_unended() -> None:
    detail = saga_detail(ts(0), "later", step(0, ts(0), ts(0.2)),
                         step(1, ts(0.2), state="pending", in_flight=True), state="failed")
    timeline = build_timeline(detail)
    assert "saga end time not readable" in timeline.problems
    assert timeline.end is None and timeline.spans[1].end is None
    drawn = chart(timeline, 30, format_duration)
    assert drawn.scale is not None  # the finished step still places the axis
    assert text(list(drawn.rows[0].bar)).startswith("█")


def test_a_step_ending_before_it_starts_is_said_not_drawn_backwards() -> None:
    detail = saga_detail(ts(0), ts(2), step(0, ts(1), ts(0.5)))
    span = build_timeline(detail).spans[0]
    assert span.problem == "ends before it starts" and span.duration is None


# -- the whole chart -------------------------------------------------------------------------


def test_the_axis_names_the_timeout_and_the_end() -> None:
    drawn = chart(build_timeline(timed_out(4 * 3600)), 60, format_duration)
    axis = "".join(text for text, _kind in drawn.axis)
    assert len(axis) == 60
    assert axis.startswith("0─") and axis.endswith("4h 00m")
    assert "timeout 5 s┊" in axis and "≈" in axis
    assert ("≈", BREAK) in drawn.axis


def test_a_running_sagas_axis_ends_now() -> None:
    detail = saga_detail(ts(0), None, step(0, ts(0.001), state="pending", in_flight=True),
                         name=RESPAWN, state="running")
    drawn = chart(build_timeline(detail, T0 + timedelta(seconds=3)), 40, format_duration)
    axis = "".join(text for text, _kind in drawn.axis)
    # the axis runs on to the timeout; the end (now) is labelled where it falls
    assert axis == "0─────────────3.00 s now────timeout 5 s┊"
    assert drawn.notes[0] == "not ended after 3.00 s, 60% of its 5 s timeout"


def test_notes_compare_with_the_timeout_and_name_the_slowest_step() -> None:
    quick = chart(build_timeline(completed_cleanup()), 40, format_duration)
    assert quick.notes == ("ended 37 ms after start, under 1% of its 30 s timeout (off the "
                           "axis)", "slowest: step 0, 30 ms")
    late = chart(build_timeline(timed_out(4 * 3600)), 60, format_duration)
    assert late.notes == ("ended 4h 00m after start, 3h 59m past its 5 s timeout",
                          "≈ cut at 6.00 s: ░ squeezes the 3h 59m after it")


def test_the_recovered_saga_reads_at_a_glance() -> None:
    """The whole plain rendering of a saga recovered four hours after it stopped."""
    detail = saga_detail(ts(0), ts(4 * 3600), step(0, ts(0.0003), ts(0.03)),
                         step(1, ts(0.031), state="pending", in_flight=True,
                              name="issue_cmd_host_drain_pool_if_last"),
                         state="failed_compensation")
    assert plain_lines(chart(build_timeline(detail), 40, format_duration)) == [
        "0 ▏                        ┊     ≈            30 ms",
        "1 ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒┃▓▓▓▓▓≈░░░░░░░░   4h 00m <- in flight (slowest)",
        "  0────────────timeout 30 s┊─────≈──4h 00m",
        "ended 4h 00m after start, 3h 59m past its 30 s timeout",
        "slowest: step 1, 4h 00m, in flight: no reply",
        "≈ cut at 36.00 s: ░ squeezes the 3h 59m after it",
    ]


# -- anything a file holds ---------------------------------------------------------------------

times = st.one_of(
    st.none(),
    st.floats(min_value=-5, max_value=50_000, allow_nan=False).map(lambda s: ts(s)),
    st.sampled_from(["", "garbage", "2026-13-45T99:99:99+00:00", "\x1b[2J", "0"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=times, end=times,
    steps=st.lists(st.tuples(times, times, st.sampled_from(["succeeded", "pending", None,
                                                              "odd"]), st.booleans()),
                   max_size=6),
    name=st.sampled_from([CLEANUP, RESPAWN, "mystery", None]),
    width=st.integers(min_value=0, max_value=120),
    now_offset=st.one_of(st.none(), st.floats(min_value=-100, max_value=1e6)),
)
def test_any_times_give_rows_of_exactly_the_width(
    start: object, end: object, steps: list[tuple[object, object, str | None, bool]],
    name: str | None, width: int, now_offset: float | None,
) -> None:
    made = [step(n, a, b, state=state or "", in_flight=flight)
            for n, (a, b, state, flight) in enumerate(steps)]
    detail = saga_detail(start, end, *made, name=name or "", state="failed")
    now = None if now_offset is None else T0 + timedelta(seconds=now_offset)
    timeline = build_timeline(detail, now)
    drawn = chart(timeline, width, format_duration)
    if drawn.scale is not None:
        assert all(sum(len(t) for t, _k in row.bar) == width for row in drawn.rows)
        assert sum(len(t) for t, _k in drawn.axis) == width
    plain_lines(drawn)
    assert isinstance(timeline, Timeline)


def test_times_in_other_zones_are_placed_by_instant() -> None:
    start = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
    detail = saga_detail("2026-06-02T16:00:00+02:00", start.isoformat().replace("+00:00", "Z"),
                         step(0, "2026-06-02T14:00:00.5Z", "2026-06-02T09:00:01-05:00"))
    span = build_timeline(detail).spans[0]
    assert span.start == timedelta(seconds=0.5) and span.end == timedelta(seconds=1)


@pytest.mark.parametrize(("reason", "closed"), [
    ("launcher restarted while saga in state 'running'", True),
    ("saga timeout | recovered: launcher restarted while saga in state 'failed'", True),
    ("saga timeout", False),
    (None, False),
])
def test_a_saga_closed_at_a_restart_says_what_its_tail_is(reason: str | None,
                                                          closed: bool) -> None:
    detail = timed_out(4 * 3600)
    detail = SagaDetail(Saga(1, RESPAWN, "failed_compensation", detail.saga.started_at,
                             detail.saga.ended_at, "{}", reason), detail.steps)
    timeline = build_timeline(detail)
    assert timeline.closed_at_restart is closed
    cut = chart(timeline, 60, format_duration).notes[-1]
    until = "until a launcher restart closed it" if closed else "after it"
    assert cut == f"≈ cut at 6.00 s: ░ squeezes the 3h 59m {until}"


def test_the_timeline_and_the_summary_load_no_toolkit() -> None:
    """Pure modules: the timeline needs the store and the formatters of report.py only; the
    summary no more (report.py loads rich's cell widths only to align a table)."""
    code = ("import json, sys\n"
            "import saga_inspector.timeline\n"
            "before = sorted(sys.modules)\n"
            "import saga_inspector.explain\n"
            "print(json.dumps([before, sorted(sys.modules)]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    timeline_only, with_explain = json.loads(result.stdout)
    assert "saga_inspector.store.kinds" in timeline_only
    assert [m for m in timeline_only if m.split(".")[0] in ("textual", "rich")] == []
    assert "saga_inspector.report" in timeline_only
    assert "saga_inspector.explain" in with_explain
    assert [m for m in with_explain if m.split(".")[0] in ("textual", "rich")] == []


@pytest.mark.parametrize(("seconds", "said"), [(5, "5 s"), (30, "30 s"), (1.5, "1.5 s"),
                                               (0.25, "0.25 s"), (3600, "3600 s")])
def test_a_timeout_is_said_the_one_way_everywhere(seconds: float, said: str) -> None:
    timeout = timedelta(seconds=seconds)
    assert format_timeout(timeout) == said
    assert format_duration(timeout) != said  # a measured length keeps its precision
    detail = timed_out(seconds * 1.5)
    timeline = build_timeline(detail)
    timeline = Timeline(timeline.spans, timeline.end, False, timeout)
    drawn = chart(timeline, 60, format_duration)
    assert f"timeout {said}┊" in "".join(text for text, _kind in drawn.axis)
    assert any(note.endswith(f"past its {said} timeout") for note in drawn.notes)
