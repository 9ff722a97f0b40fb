"""Property-based: arbitrary rows (any text, any bytes, text that is not UTF-8, any JSON-like
value, any timestamp string, any number, ids across the whole 64-bit range, steps with or
without their saga) are written to a file and read back through the store, printed by the
CLI in both output modes, and drawn by the dashboard's row, step and detail builders. None
of it raises, and nothing drawn or printed holds a control character.

Example counts are modest (the suite stays fast); CI may raise them with
HYPOTHESIS_PROFILE=ci.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.content import Content

from saga_inspector import cli
from saga_inspector.report import render_list, render_show, saga_to_dict, to_json
from saga_inspector.sanitize import is_safe, sanitize
from saga_inspector.store import SagaQuery, SagaStore, StoreError
from saga_inspector.store.states import KNOWN_SAGA_STATES
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.text import markup_literal
from saga_inspector.tui.views import prepare_saga
from saga_inspector.tui.widgets.detail_pane import SagaPanel, StepDetail
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.tui.widgets.saga_table import SagaTable, column_widths
from saga_inspector.tui.widgets.state_filter import FilterChip, filters_for
from saga_inspector.tui.widgets.step_list import StepList

from .factory import HOSTILE, SagaLogFactory, cleanup_saga
from .helpers import NOW, SIZE, idle, make_app, pilot_test

settings.register_profile(
    "safety", max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("safety-ci", parent=settings.get_profile("safety"), max_examples=400)
SAFETY = settings.get_profile("safety")

# Columns typed as nothing: SQLite keeps whatever is stored (text, integer, real, blob).
ANY_DDL = """
CREATE TABLE launcher_saga (saga_id INTEGER PRIMARY KEY, name, state, started_at, ended_at,
                            input_json, failure_reason);
CREATE TABLE launcher_saga_step (saga_id, step_index, name, state, cmd_json, target,
                                 started_at, ended_at, output_json, failure_reason,
                                 PRIMARY KEY (saga_id, step_index));
CREATE INDEX idx_launcher_saga_state ON launcher_saga(state);
"""


class NotUtf8(bytes):
    """Bytes stored as TEXT (`CAST(? AS TEXT)`): text that is not valid UTF-8."""


DANGEROUS = [*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)), "\u202e",
             "\u2066", "\u200b", "\ufeff", "\u2028", "[/]", "[bold]", "[link=http://x]",
             "[TODO]", "\x1b]0;t\x07", "\x1b]52;c;cHduZWQ=\x07", "\x1b[2J", "\\"]
texts = st.lists(st.one_of(st.characters(codec="utf-8"), st.sampled_from(DANGEROUS)),
                 max_size=30).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """JSON as a writer might store it: valid, cut short, or with numbers JSON cannot carry."""
    text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    how = draw(st.sampled_from(["as is", "cut", "deep", "huge number"]))
    if how == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if how == "deep":
        depth = draw(st.sampled_from([150, 250, 3000]))
        return "[" * depth + text + "]" * depth
    if how == "huge number":
        return f'{{"n": {draw(st.sampled_from(["1e400", "-1e999", "9" * 5000, "NaN"]))}}}'
    return text


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    offset = draw(st.integers(-14 * 60, 14 * 60))
    digits = draw(st.sampled_from([0, 3, 6, 9]))
    zoned = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    text = zoned.isoformat(timespec="seconds")
    if digits:
        fraction = f"{zoned.microsecond:06d}000"[:digits]
        text = text[:19] + "." + fraction + text[19:]
    return text


timestamps = st.one_of(
    timestamp_texts(), texts,
    st.sampled_from(["", "yesterday", "2026-13-45T99:99:99+00:00", "0001-01-01T00:00:00+14:00",
                     "9999-12-31T23:59:59-14:00", "2026-06-02T14:05:23.481526300Z"]),
)
values = st.one_of(
    st.none(), texts, json_texts(), timestamps, st.binary(max_size=40),
    st.binary(max_size=40).map(NotUtf8), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
ids = st.integers(-(2**63), 2**63 - 1)


@st.composite
def sagas(draw: st.DrawFn) -> list[dict[str, object]]:
    """Up to three sagas with any values, their steps (indexes of any kind, gaps, steps whose
    saga is missing)."""
    rows = []
    for saga_id in draw(st.lists(ids, min_size=1, max_size=3, unique=True)):
        row = {column: draw(values) for column in
               ("name", "started_at", "ended_at", "input_json", "failure_reason")}
        row["saga_id"] = saga_id
        row["state"] = draw(st.one_of(st.sampled_from(sorted(KNOWN_SAGA_STATES)), values))
        row["steps"] = [
            {"saga_id": draw(st.one_of(st.just(saga_id), ids)),
             "step_index": draw(st.one_of(st.integers(-3, 3), values)),
             "state": draw(st.one_of(st.sampled_from(["pending", "succeeded"]), values)),
             **{column: draw(values) for column in
                ("name", "cmd_json", "target", "started_at", "ended_at", "output_json",
                 "failure_reason")}}
            for _ in range(draw(st.integers(0, 3)))
        ]
        rows.append(row)
    return rows


SAGA_COLUMNS = ("saga_id", "name", "state", "started_at", "ended_at", "input_json",
                "failure_reason")
STEP_COLUMNS = ("saga_id", "step_index", "name", "state", "cmd_json", "target", "started_at",
                "ended_at", "output_json", "failure_reason")


def insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], row: dict) -> None:
    marks = ["CAST(? AS TEXT)" if isinstance(row[c], NotUtf8) else "?" for c in columns]
    conn.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
                 f"VALUES ({', '.join(marks)})",
                 [bytes(row[c]) if isinstance(row[c], NotUtf8) else row[c] for c in columns])


@contextlib.contextmanager
def written(rows: list[dict[str, object]]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="saga-property-") as folder:
        path = Path(folder) / "launcher-sagas.db"
        conn = sqlite3.connect(path)
        conn.executescript(ANY_DDL)
        for row in rows:
            insert(conn, "launcher_saga", SAGA_COLUMNS, row)
            for step in row["steps"]:
                insert(conn, "launcher_saga_step", STEP_COLUMNS, step)
        conn.commit()
        conn.close()
        yield path


def run_cli(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv])
    return code, out.getvalue(), err.getvalue()


# -- the store and the CLI -------------------------------------------------------------------


@SAFETY
@given(sagas(), texts)
def test_any_rows_read_and_print_safely(rows: list[dict[str, object]], search: str) -> None:
    with written(rows) as path:
        with SagaStore.open(path) as store:
            counts = store.counts()
            listed = store.sagas(limit=10)
            assert sorted(s.saga_id for s in listed) == sorted(r["saga_id"] for r in rows)
            assert counts.total == len(rows)
            store.count(SagaQuery(text=search or None))
            store.sagas(SagaQuery(frozenset(counts.by_state), search or None), limit=10)
            store.page_anchors(SagaQuery(frozenset(counts.by_state)), stride=1)
            details = [store.saga(saga.saga_id) for saga in listed]
        assert is_safe(render_list(listed), multiline=True)
        for detail in details:
            assert detail is not None
            assert is_safe(render_show(detail), multiline=True)
            assert to_json(saga_to_dict(detail.saga)).isascii()

        for mode in ([], ["--json"]):
            for argv in (["stats"], ["list", "--limit", "0"],
                         *(["show", r["saga_id"]] for r in rows)):
                code, out, err = run_cli(argv[0], path, *argv[1:], *mode)
                assert code == 0, (argv, err)
                assert is_safe(err, multiline=True)
                if mode:
                    assert out.isascii()
                    json.loads(out)
                else:
                    assert is_safe(out, multiline=True)


# -- the dashboard's drawing -----------------------------------------------------------------


def one_line(text: Text | str) -> None:
    plain = text.plain if isinstance(text, Text) else text
    assert is_safe(plain), plain


def lines(text: Text) -> None:
    assert is_safe(text.plain, multiline=True), text.plain


def draw_everything(app: SagaInspectorApp, path: Path) -> None:
    """What the dashboard draws for each saga, step and payload of the file, built by the
    widgets' own text builders."""
    screen = app.dashboard
    table, steps = screen.query_one(SagaTable), screen.query_one(StepList)
    panel, detail = screen.query_one(SagaPanel), screen.query_one(StepDetail)
    with SagaStore.open(path) as store:
        counts = store.counts()
        listed = store.sagas(limit=10)
        views = [prepare_saga(store.saga(saga.saga_id)) for saga in listed]
    for state_filter in filters_for(counts):  # the filter bar's chips, the palette's titles
        chip = FilterChip(state_filter)
        chip.show_count(counts.count(state_filter.states))
        one_line(str(chip.render()))
        assert Content.from_markup(markup_literal(state_filter.label)).plain == sanitize(
            state_filter.label)
    for warning in store.warnings:
        one_line(sanitize(warning))
    widths = column_widths(200, max(len(str(s.saga_id)) for s in listed))
    for saga, view in zip(listed, views, strict=True):
        for cell in table._cells(saga, widths):
            one_line(cell)
        lines(panel._summary(saga, NOW))
        lines(PayloadBlock._body(view.input, "nothing stored"))
        assert is_safe(view.as_json, multiline=True)
        for step_view in view.steps:
            for cell in steps._cells(step_view.step):
                one_line(cell)
            lines(detail._summary(step_view.step, saga.state, NOW))
            for payload in (step_view.cmd, step_view.output):
                lines(PayloadBlock._body(payload, "nothing stored"))
                assert payload.full is None or is_safe(payload.full, multiline=True)
        # and through the widgets themselves, as the screen places them
        panel.show_saga(saga, NOW, view)
        steps.show_steps(view)
        if view.steps:
            detail.show_step(view.steps[0], saga.state, NOW)


@pilot_test
async def test_any_rows_draw_without_a_control_character(make_log: SagaLogFactory) -> None:
    app = make_app(make_log([cleanup_saga(1, reason=HOSTILE)]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)

        @SAFETY
        @given(sagas())
        def draws(rows: list[dict[str, object]]) -> None:
            with written(rows) as path:
                draw_everything(app, path)

        draws()
        await pilot.pause()  # the last example's widgets render: no error on the way
        assert app.is_running


@pytest.mark.parametrize("raw", ["[" * 100_000, "{" * 50_000 + "}" * 50_000, "\x00" * 1000])
def test_payload_text_nobody_would_write_opens(raw: str) -> None:
    from saga_inspector.tui.views import prepare_payload

    payload = prepare_payload("output", raw)
    assert payload.full is not None and is_safe(payload.full, multiline=True)
    lines(PayloadBlock._body(payload, "nothing stored"))


def test_the_strategies_reach_the_strange_cases() -> None:
    """The generators really produce what the suite claims to cover."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(values)
    def sample(value: object) -> None:
        if isinstance(value, NotUtf8):
            seen.add("not utf-8")
        elif isinstance(value, bytes):
            seen.add("bytes")
        elif isinstance(value, float):
            seen.add("float")
        elif isinstance(value, int):
            seen.add("int")
        elif isinstance(value, str) and any(c in value for c in "\x1b\x00\x9b"):
            seen.add("controls")
        elif value is None:
            seen.add("null")

    sample()
    assert {"not utf-8", "bytes", "float", "int", "controls", "null"} <= seen


def test_time_strategy_gives_parsable_and_unparsable_times() -> None:
    from saga_inspector.store import parse_timestamp

    parsed = []

    @settings(max_examples=100, deadline=None, database=None)
    @given(timestamp_texts())
    def sample(text: str) -> None:
        parsed.append(parse_timestamp(text).parsed)

    sample()
    assert all(parsed)
    assert parse_timestamp("yesterday").value is None
    assert datetime(1, 1, 2, tzinfo=UTC) <= parse_timestamp("0001-01-02T00:00:00Z").value


def test_a_store_error_is_the_only_way_reading_can_fail() -> None:
    """Guards the property above from passing vacuously: a broken file does fail, typed."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.db"
        path.write_bytes(b"x" * 4096)
        with pytest.raises(StoreError):
            SagaStore.open(path)
