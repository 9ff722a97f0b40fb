"""One display zone for the whole tool (issue 12): the one function that shows a stored moment,
under several TZ values (one with a half-hour offset); a time as shown, typed into since:/until:,
finds its saga again; --utc and the remembered setting; odd data named as such."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from saga_inspector.config import load_settings, save_zone, saved_zone
from saga_inspector.display_time import (
    TimeStyle,
    ZoneChoice,
    choose_zone,
    display_zone,
    set_display_choice,
    show_moment,
    show_time,
    zone_label,
)
from saga_inspector.explain import explain, explain_text
from saga_inspector.report import (
    BEFORE_START_MARK,
    ENDS_BEFORE_START,
    describe_duration,
    format_duration,
)
from saga_inspector.store import SagaQuery, SagaStore, parse_timestamp
from saga_inspector.timeline import build_timeline, chart, plain_lines
from saga_inspector.tui.widgets.header import InspectorHeader
from saga_inspector.tui.widgets.saga_table import SagaTable, format_started

from .factory import LOOSE_DDL, T0, SagaLogFactory, cleanup_saga, respawn_saga, ts
from .helpers import (
    NOW,
    dashboard,
    idle,
    lines,
    make_app,
    pilot_test,
    press,
    run_cli,
    saga_detail,
    step,
    wait_for,
)

if not hasattr(time, "tzset"):  # Windows: TZ cannot be changed in a running process
    pytest.skip("time.tzset is not available on this platform", allow_module_level=True)

# TZ, the zone's label, the offset text, T0 (14:05:23.481 UTC) on that zone's wall clock.
ZONES = [
    ("UTC", "UTC", "+00:00", "2026-06-02 14:05:23.481"),
    ("Asia/Tokyo", "JST +09:00", "+09:00", "2026-06-02 23:05:23.481"),
    ("Asia/Kolkata", "IST +05:30", "+05:30", "2026-06-02 19:35:23.481"),
]
TZ_NAMES = [zone[0] for zone in ZONES]


@pytest.fixture
def tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process's local zone set to the parametrised TZ, restored after the test."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


# -- the one function ------------------------------------------------------------------------


@pytest.mark.parametrize(("tz", "label", "offset", "wall"), ZONES, indirect=["tz"])
def test_one_function_shows_a_moment_in_the_local_zone_named(
        tz: str, label: str, offset: str, wall: str) -> None:
    stamp = parse_timestamp(ts(0))
    assert show_time(stamp) == f"{wall} {offset}"  # the default style: text that leaves
    assert show_time(stamp, TimeStyle.FULL) == f"{wall} {offset}"
    assert show_time(stamp, TimeStyle.SCREEN) == wall
    assert show_time(stamp, TimeStyle.SHORT) == wall[5:19]
    assert show_time(stamp, TimeStyle.CLOCK) == wall[11:19]
    assert show_moment(T0, TimeStyle.SCREEN) == wall
    assert zone_label(T0) == label
    # A time written in another zone is the same instant, shown the same way.
    assert show_time(parse_timestamp("2026-06-02T16:05:23.481+02:00")) == f"{wall} {offset}"


@pytest.mark.parametrize("tz", TZ_NAMES, indirect=True)
def test_utc_shows_utc_whatever_the_machine_zone(tz: str) -> None:
    set_display_choice(ZoneChoice.UTC)
    stamp = parse_timestamp(ts(0))
    assert show_time(stamp) == "2026-06-02 14:05:23.481 +00:00"
    assert show_time(stamp, TimeStyle.SHORT) == "06-02 14:05:23"
    assert zone_label(T0) == "UTC"


@pytest.mark.parametrize("tz", ["Asia/Kolkata"], indirect=True)
def test_the_variants_all_come_from_the_one_function(tz: str) -> None:
    """The table, the header's clock and the CLI text are show_time's styles, no other code."""
    stamp = parse_timestamp(ts(0))
    assert format_started(stamp, NOW) == f"{show_time(stamp, TimeStyle.SHORT)} (6d ago)"
    assert format_started(stamp, NOW) == "06-02 19:35:23 (6d ago)"


@pytest.mark.parametrize("raw", ["yesterday", "2026-06-02T14:05:23", "", "soon\x1b[2J"])
@pytest.mark.parametrize("style", list(TimeStyle))
def test_a_time_that_does_not_parse_is_marked_never_like_a_time(
        raw: str, style: TimeStyle) -> None:
    stamp = parse_timestamp(raw)
    shown = show_time(stamp, style)
    assert shown.startswith("unparsed: ")  # the mark first: a cut cell still shows it
    assert "\x1b" not in shown
    assert not shown[:1].isdigit()
    assert format_started(stamp, NOW) == show_time(stamp, TimeStyle.SHORT)  # and no age


@pytest.mark.parametrize("tz", ["Asia/Tokyo"], indirect=True)
def test_a_time_the_zone_cannot_hold_is_marked_out_of_range(tz: str) -> None:
    stamp = parse_timestamp("9999-12-31T23:59:59+00:00")  # past the year 9999 in Tokyo
    assert show_time(stamp) == 'out of range: "9999-12-31T23:59:59+00:00"'
    assert show_time(None) == "—"


# -- since:/until: read the time as it is shown ---------------------------------------------


def _found(store: SagaStore, text: str) -> list[int]:
    return [saga.saga_id for saga in store.sagas(SagaQuery(text=text, zone=display_zone()))]


@pytest.mark.parametrize("tz", TZ_NAMES, indirect=True)
def test_a_time_as_shown_finds_its_saga_again(tz: str, make_log: SagaLogFactory) -> None:
    # Saga 2 starts a minute after saga 1, saga 3 an hour after: each is found alone.
    path = make_log([cleanup_saga(1), cleanup_saga(2, at=60), cleanup_saga(3, at=3600)])
    with SagaStore.open(path) as store:
        saga = store.saga(2)
        assert saga is not None
        stamp = saga.saga.started_at
        # The table's cell (`06-02 23:06:23 (6d ago)`) with its year, as typed.
        cell = format_started(stamp, NOW, with_age=False)
        typed = f"2026-{cell.replace(' ', 'T')}"
        assert _found(store, f"since:{typed} until:{typed}") == [2]
        # The detail pane's time (to the millisecond) and explain's (with its offset), pasted.
        shown = show_time(stamp, TimeStyle.SCREEN)
        assert _found(store, f'since:"{shown}" until:"{shown}"') == [2]
        full = show_time(stamp, TimeStyle.FULL)
        assert _found(store, f'since:"{full}" until:"{full}"') == [2]
        # The same wall-clock time is read in UTC only by a query told UTC.
        utc = [s.saga_id for s in store.sagas(SagaQuery(text=f"since:{typed} until:{typed}"))]
        assert utc == ([2] if tz == "UTC" else [])


@pytest.mark.parametrize("tz", ["Asia/Kolkata"], indirect=True)
def test_an_explicit_offset_or_z_wins_over_the_display_zone(
        tz: str, make_log: SagaLogFactory) -> None:
    path = make_log([cleanup_saga(1), cleanup_saga(2, at=60)])
    with SagaStore.open(path) as store:
        assert _found(store, "since:2026-06-02T14:06Z until:2026-06-02T14:06Z") == [2]
        assert _found(store, "since:2026-06-02T16:06+02:00 until:2026-06-02T16:06+02:00") == [2]
        assert _found(store, "since:2026-06-02T19:36 until:2026-06-02T19:36") == [2]  # IST
        assert _found(store, "until:2026-06-02T19:35") == [1]


def test_the_cli_search_reads_in_the_zone_its_text_is_shown_in(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        make_log: SagaLogFactory) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        path = make_log([cleanup_saga(1), cleanup_saga(2, at=60)])
        local = run_cli(capsys, "list", path, "--search", "since:2026-06-02T23:06")
        assert local.code == 0
        assert "2026-06-02 23:06:23.481 +09:00" in local.out  # the text carries its offset
        assert "2026-06-02 23:05" not in local.out  # saga 1 started before 23:06 JST
        utc = run_cli(capsys, "list", path, "--utc", "--search", "since:2026-06-02T14:06")
        assert utc.code == 0
        assert "2026-06-02 14:06:23.481 +00:00" in utc.out
        assert "14:05:23" not in utc.out
        both = run_cli(capsys, "list", path, "--utc", "--local-time")
        assert both.code == 2
        assert "--utc or --local-time" in both.err
        raw = run_cli(capsys, "list", path, "--utc", "--json")  # JSON keeps the stored text
        assert ts(60) in raw.out
    finally:
        monkeypatch.undo()
        time.tzset()


# -- the zone chosen, remembered -------------------------------------------------------------


def test_the_flag_wins_for_the_run_then_the_remembered_zone_then_local(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    assert choose_zone(None, folder) is ZoneChoice.LOCAL
    assert choose_zone(None, None) is ZoneChoice.LOCAL
    assert save_zone(folder, "utc")
    assert saved_zone(folder) == "utc"
    assert choose_zone(None, folder) is ZoneChoice.UTC
    assert choose_zone(ZoneChoice.LOCAL, folder) is ZoneChoice.LOCAL
    save_zone(folder, "mars")
    assert saved_zone(folder) is None  # a value this tool does not know: ignored


# -- ends before it starts; sentences without missing values ----------------------------------


def test_an_end_before_the_start_is_never_a_negative_length() -> None:
    assert format_duration(timedelta(hours=-1)) == BEFORE_START_MARK
    assert describe_duration(timedelta(seconds=-5)) == ENDS_BEFORE_START
    assert describe_duration(timedelta(seconds=5)) == "5.00 s"
    detail = saga_detail(ts(3600), ts(0), step(0, ts(3600.1), ts(3600.2)))
    timeline = build_timeline(detail)
    notes = "\n".join(plain_lines(chart(timeline, 40, format_duration)))
    assert "the saga ends before it starts (clock skew or damage)" in notes
    assert "-1h" not in notes
    assert "timeout" not in notes.split("ends before it starts")[1].splitlines()[0]
    text = explain_text(detail)
    assert "-1h" not in text
    assert "ended -" not in text
    assert "ends before it starts (clock skew or damage)" in text
    assert explain(detail).verdict.text == ("Completed: every step got its reply; the saga "
                                            "ends before it starts (clock skew or damage).")


def test_a_step_that_ends_before_it_starts_is_named_in_the_notes() -> None:
    detail = saga_detail(ts(0), ts(1), step(0, ts(0.5), ts(0.2)), step(1, ts(0.6), ts(0.7)))
    notes = chart(build_timeline(detail), 40, format_duration).notes
    assert "step 0 ends before it starts (clock skew or damage)" in notes
    steps = "\n".join(line.text for line in explain(detail).sections[2].lines)
    assert "step 0 issue_cmd_host_reap_panes → host: done, but it ends before it starts" in steps


def test_no_explain_sentence_is_built_around_a_missing_time(
        make_log: SagaLogFactory) -> None:
    saga = respawn_saga(7, "failed", reason="some failure this tool does not know")
    saga.ended_at = "not a time"
    saga.steps[0].started_at = "whenever"  # the command's send time: unparsed
    path = make_log([saga], ddl=LOOSE_DDL)
    with SagaStore.open(path) as store:
        detail = store.saga(7)
    assert detail is not None
    text = explain_text(detail)
    for nonsense in ("around —", "around unparsed", "around not a time", "before —",
                     "at —", "(sent —)", "its its"):
        assert nonsense not in text
    assert "look in the launcher's log for it" in text
    assert 'ended     unparsed: "not a time"' in text  # the field itself still says it


def test_a_timeout_unknown_is_not_said_twice() -> None:
    detail = saga_detail(ts(0), None, step(0, ts(0.1), state="pending", in_flight=True),
                         name="some_new_kind", state="running")
    text = explain_text(detail, T0 + timedelta(seconds=1))
    assert "its its" not in text
    assert "timeout timeout" not in text


# -- the dashboard ---------------------------------------------------------------------------


def _drawn(table: SagaTable) -> list[str]:
    """The table's lines inside its border."""
    return [line.strip().strip("│").strip() for line in lines(table)]


def _ids(table: SagaTable) -> list[int]:
    return [int(line.split()[0]) for line in _drawn(table)
            if line.split() and line.split()[0].isdigit()]


@pytest.mark.parametrize("tz", TZ_NAMES, indirect=True)
@pilot_test
async def test_dashboard_names_the_zone_and_a_shown_time_finds_its_saga(
        tz: str, make_log: SagaLogFactory) -> None:
    label = {name: shown for name, shown, _offset, _wall in ZONES}[tz]
    path = make_log([cleanup_saga(1), cleanup_saga(2, at=60), cleanup_saga(3, at=3600)])
    app = make_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        await idle(pilot)
        table = dashboard(app).query_one(SagaTable)
        header = dashboard(app).query_one(InspectorHeader)
        drawn = _drawn(table)
        assert any(line.startswith("id") and f"started ({label})" in line for line in drawn)
        status = str(header.render())
        assert f"times {label}" in status
        # The started cell of saga 2 as drawn, typed back into the search with its year.
        row = next(line for line in drawn if line.split()[:1] == ["2"])
        cell = format_started(parse_timestamp(ts(60)), NOW, with_age=False)
        assert cell in row
        typed = f"2026-{cell.replace(' ', 'T')}"
        await press(pilot, "slash", *f"since:{typed} until:{typed}", "enter")
        await wait_for(pilot, lambda: _ids(table) == [2], "the search by shown time")


@pilot_test
async def test_the_palette_switches_to_utc_and_remembers_it(
        monkeypatch: pytest.MonkeyPatch, make_log: SagaLogFactory, tmp_path: Path) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        path = make_log([cleanup_saga(1), cleanup_saga(2, at=60)])
        folder = tmp_path / "settings"
        app = make_app(path, config_dir=folder)
        async with app.run_test(size=(160, 40)) as pilot:
            await idle(pilot)
            table = dashboard(app).query_one(SagaTable)
            assert "started (JST +09:00)" in "\n".join(_drawn(table))
            await press(pilot, "slash", *"since:2026-06-02T14:06", "enter")
            await wait_for(pilot, lambda: _ids(table) == [2, 1], "both: 14:06 JST is early")
            app.switch_zone(ZoneChoice.UTC)
            await idle(pilot)
            await wait_for(pilot, lambda: _ids(table) == [2], "read again in UTC")
            assert "started (UTC)" in "\n".join(_drawn(table))
            assert "times UTC" in str(dashboard(app).query_one(InspectorHeader).render())
        assert load_settings(folder)["zone"] == "utc"
        set_display_choice(ZoneChoice.LOCAL)
        make_app(path, config_dir=folder)  # the next start takes the remembered zone
        assert display_zone().local is False
    finally:
        monkeypatch.undo()
        time.tzset()

