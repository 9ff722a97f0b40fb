"""Hostile and broken server logs (`sagas.db`): each opened by the store, the CLI (stats, list,
show, text and --json) and the dashboard. Each shows what it can, with a clear message where
it cannot, never a traceback; nothing stored reaches the terminal as what it is; the file's
user_version is never stamped.

The server's columns: times are INTEGER milliseconds (but SQLite lets any value into any
column), no CHECK constraints (any state), a failed step's reason is its output's
`{"error": ...}`. Files are written here with demo.write_saga_log(..., log_format=SERVER) or
raw sqlite3 and SERVER_DDL (test code writes test files; the app never does).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector import cli
from saga_inspector.demo import SagaRow, StepRow, write_saga_log
from saga_inspector.sanitize import is_safe
from saga_inspector.store import ErrorKind, SagaQuery, SagaStore, StoreError
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.formats.launcher import LAUNCHER_DDL
from saga_inspector.store.formats.server import SERVER_DDL
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.screens.error import ErrorScreen
from saga_inspector.tui.widgets.header import WarningBanner
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.step_list import StepList

from .factory import corrupt_page_holding
from .helpers import SIZE, idle, make_app, pilot_test, screen_text, wait_for
from .server_writer import T0_MS, server_saga, server_sagas

ESCAPES = "\x1b]0;pwned-title\x07\x1b[2J\x9b31m"
ESCAPES_SHOWN = "␛]0;pwned-title␇␛[2J\\x9b31m"
BAD_UTF8 = "6261648062ff1b5b324a00fe"  # bad \x80 b \xff ESC[2J NUL \xfe
BAD_SHOWN = "bad\\x80b\\xff␛[2J␀\\xfe"
BIG_ERROR = "E" * (8 << 20)  # 8 MiB in one step error
ORPHAN = 424_242  # steps with this saga id, and no such saga
YEAR_10000 = 253_402_300_800_000  # the first millisecond of the year 10000


def user_version(path: Path) -> int:
    """The file header's user_version (bytes 60-63), read without SQLite."""
    return int.from_bytes(path.read_bytes()[60:64], "big")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def show_json(capsys, log: Path, saga_id: int) -> dict:
    code, out, _ = run_cli(capsys, "show", log, saga_id, "--json")
    assert code == 0
    return json.loads(out)


def show_text(capsys, log: Path, saga_id: int) -> str:
    code, out, _ = run_cli(capsys, "show", log, saga_id)
    assert code == 0
    return out


def raw_sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


# -- one server file holding every kind of strange row -----------------------------------------

# saga id -> what is strange about it
TEXT_TIMES, REAL_TIMES, NEGATIVE, YEAR_10K, ZERO = 1, 2, 3, 4, 5
ESCAPED_STATE, UNKNOWN_STATE, ERROR_NUMBER, BIG, MALFORMED = 6, 7, 8, 9, 10
BAD_TEXT, BAD_BLOB, HUGE_INPUT, EXTRA = 11, 12, 13, 14
STRANGE_IDS = list(range(14, 0, -1))
HUGE_JSON = json.dumps({"tab_id": "x", "layout": [{"node": n} for n in range(200_000)]})


def strange_server_sagas() -> list[SagaRow]:
    rows = {n: server_saga(n, "completed", at=n * 1000) for n in STRANGE_IDS}
    rows[TEXT_TIMES].started_at = "2026-06-02T14:05:23.481+00:00"  # text in the integer column
    rows[TEXT_TIMES].ended_at = "yesterday"
    rows[TEXT_TIMES].steps[0].started_at = "1780409123481"  # digits: the column makes it an integer
    rows[REAL_TIMES].started_at = 1_780_409_123_481.5  # a real number
    rows[REAL_TIMES].ended_at = 1.7804091e12
    rows[REAL_TIMES].steps[0].ended_at = float("inf")
    rows[NEGATIVE].started_at, rows[NEGATIVE].ended_at = -5000, -1
    rows[YEAR_10K].started_at = YEAR_10000
    rows[YEAR_10K].ended_at = 2**63 - 1
    rows[ZERO].started_at = rows[ZERO].ended_at = 0  # a clock read before 1970
    rows[ESCAPED_STATE].state = f"st{ESCAPES}"
    rows[ESCAPED_STATE].failure_reason = f"why{ESCAPES}"
    rows[ESCAPED_STATE].steps[0].state = f"sp{ESCAPES}"
    rows[UNKNOWN_STATE].state = "paused"
    rows[UNKNOWN_STATE].steps[0].state = "skipped"
    for saga_id, output in ((ERROR_NUMBER, '{"error": 5}'),
                            (BIG, json.dumps({"error": BIG_ERROR})),
                            (MALFORMED, '{"error": "unterminated')):
        step = rows[saga_id].steps[0]
        step.state, step.output_json = "failed", output
    rows[HUGE_INPUT].input_json = HUGE_JSON
    rows[HUGE_INPUT].steps[1].output_json = "[" * 5000 + "]" * 5000  # past any nesting limit
    return [rows[n] for n in sorted(rows)]


STRANGE_SQL = [
    *(f"UPDATE saga SET {column} = CAST(X'{BAD_UTF8}' AS TEXT) WHERE saga_id = {BAD_TEXT}"
      for column in ("name", "state", "input_json", "failure_reason")),
    *(f"UPDATE saga_step SET {column} = CAST(X'{BAD_UTF8}' AS TEXT) WHERE saga_id = {BAD_TEXT}"
      for column in ("name", "state", "cmd_json", "output_json")),
    *(f"UPDATE saga SET {column} = X'{BAD_UTF8}' WHERE saga_id = {BAD_BLOB}"
      for column in ("name", "state", "input_json", "failure_reason", "started_at")),
    *(f"UPDATE saga_step SET {column} = X'{BAD_UTF8}' WHERE saga_id = {BAD_BLOB}"
      for column in ("name", "state", "cmd_json", "output_json")),
    # a step whose saga row is missing (the server's foreign key is not enforced on old rows,
    # and a failed log write can lose the saga's insert)
    f"INSERT INTO saga_step VALUES ({ORPHAN}, 0, 'orphan', 'pending', '{{}}', NULL, 5, NULL)",
    # a newer build's columns
    "ALTER TABLE saga ADD COLUMN origin TEXT",
    "ALTER TABLE saga_step ADD COLUMN attempt INTEGER",
    f"UPDATE saga SET origin = 'reaper{ESCAPES}' WHERE saga_id = {EXTRA}",
    f"UPDATE saga_step SET attempt = 3 WHERE saga_id = {EXTRA}",
]


@pytest.fixture(scope="module")
def strange_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("strange") / "sagas.db"
    write_saga_log(path, strange_server_sagas(), log_format=SERVER)
    raw_sql(path, *STRANGE_SQL)
    return path


@pytest.fixture
def strange_log(strange_template: Path, tmp_path: Path) -> Path:
    """A copy per test (the file closed cleanly: no -wal to copy)."""
    path = tmp_path / "sagas.db"
    path.write_bytes(strange_template.read_bytes())
    return path


def test_the_store_reads_every_strange_row(strange_log: Path) -> None:
    with SagaStore.open(strange_log) as store:
        assert store.format is SERVER
        assert store.warnings == ()
        counts = store.counts()
        # the orphan step belongs to no saga: not counted, not listed
        assert counts.total == len(STRANGE_IDS)
        assert sum(counts.by_state.values()) == len(STRANGE_IDS)
        assert [s.saga_id for s in store.sagas(limit=100)] == STRANGE_IDS
        assert store.saga(ORPHAN) is None
        for saga_id in STRANGE_IDS:
            assert store.saga(saga_id) is not None
        page = store.sagas(limit=100)
        assert sum(s.steps_total for s in page) == sum(
            len(store.saga(s.saga_id).steps) for s in page)
        assert store.count(SagaQuery(text="pwned")) >= 1
    assert user_version(strange_log) == 1


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
def test_every_command_shows_every_strange_row(strange_log: Path, capsys, mode) -> None:
    for argv in (["stats"], ["list", "--limit", "0"],
                 ["list", "--limit", "0", "--state", "attention"],
                 *(["show", saga_id] for saga_id in STRANGE_IDS)):
        code, out, err = run_cli(capsys, argv[0], strange_log, *argv[1:], *mode)
        assert (code, err) == (0, ""), argv
        if mode:
            json.loads(out)
            assert out.isascii()
        else:
            assert is_safe(out, multiline=True), argv
            assert "\x1b" not in out
    listed = json.loads(run_cli(capsys, "list", strange_log, "--limit", "0", "--json")[1])
    assert [saga["saga_id"] for saga in listed] == STRANGE_IDS
    code, _out, err = run_cli(capsys, "show", strange_log, ORPHAN)
    assert code == 1 and "Traceback" not in err
    assert user_version(strange_log) == 1


def test_times_of_every_type_in_the_integer_column(strange_log: Path, capsys) -> None:
    text = show_json(capsys, strange_log, TEXT_TIMES)
    assert text["started_at"] == "2026-06-02T14:05:23.481+00:00"  # text parsed as RFC 3339
    assert text["ended_at"] == "yesterday" and text["duration_s"] is None  # kept raw
    # digits bound as text are stored as an integer (the column's INTEGER affinity)
    assert text["steps"][0]["started_at"] == "2026-06-02T14:05:23.481+00:00"
    assert text["steps"][0]["started_at_raw"] == 1780409123481

    real = show_json(capsys, strange_log, REAL_TIMES)
    assert real["started_at"] == "2026-06-02T14:05:23.481+00:00"
    assert real["started_at_raw"] == 1780409123481.5  # the real number as stored
    assert real["ended_at"] == "2026-06-02T14:05:00.000+00:00"
    assert real["steps"][0]["ended_at"] == "inf"  # infinity: no instant, kept as stored
    assert "ends before it starts" in show_text(capsys, strange_log, REAL_TIMES)

    negative = show_json(capsys, strange_log, NEGATIVE)
    assert negative["started_at"] == "1969-12-31T23:59:55.000+00:00"
    assert negative["started_at_raw"] == -5000
    assert negative["ended_at"] == "1969-12-31T23:59:59.999+00:00"

    future = show_json(capsys, strange_log, YEAR_10K)
    assert (future["started_at"], future["started_at_raw"]) == (str(YEAR_10000), YEAR_10000)
    assert future["ended_at_raw"] == 2**63 - 1 and future["duration_s"] is None
    assert f'unparsed: "{YEAR_10000}"' in show_text(capsys, strange_log, YEAR_10K)

    zero = show_json(capsys, strange_log, ZERO)
    assert zero["started_at"] == zero["ended_at"] == "1970-01-01T00:00:00.000+00:00"
    assert zero["duration_s"] == 0
    # the sorts and time filters put every row somewhere, none twice
    for sort in ("started", "duration"):
        code, out, _ = run_cli(capsys, "list", strange_log, "--limit", "0", "--json",
                               "--sort", sort)
        assert code == 0
        assert sorted(s["saga_id"] for s in json.loads(out)) == sorted(STRANGE_IDS)


def test_escapes_in_a_state_never_reach_the_terminal(strange_log: Path, capsys) -> None:
    stats = run_cli(capsys, "stats", strange_log)[1]
    assert f"st{ESCAPES_SHOWN}" in stats and "state unknown to this tool" in stats
    listed = run_cli(capsys, "list", strange_log)[1]
    assert f"st{ESCAPES_SHOWN}" in listed and f"why{ESCAPES_SHOWN}" in listed
    shown = show_text(capsys, strange_log, ESCAPED_STATE)
    assert f"sp{ESCAPES_SHOWN}" in shown
    for out in (stats, listed, shown):
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    # JSON keeps the value exactly, as escapes a terminal shows as text
    raw = run_cli(capsys, "show", strange_log, ESCAPED_STATE, "--json")[1]
    assert "\x1b" not in raw and "\\u001b]0;pwned-title\\u0007" in raw
    assert json.loads(raw)["state"] == f"st{ESCAPES}"


def test_invalid_utf8_as_text_and_as_blob(strange_log: Path, capsys) -> None:
    for saga_id in (BAD_TEXT, BAD_BLOB):
        text = show_text(capsys, strange_log, saga_id)
        assert text.count(BAD_SHOWN) >= 6, saga_id  # name, state, input, reason, step fields
        detail = show_json(capsys, strange_log, saga_id)
        assert detail["name"] == "bad\\x80b\\xff\x1b[2J\x00\\xfe"
        assert detail["steps"][0]["name"] == detail["name"]
        assert detail["input"] is None  # not JSON
    stats = run_cli(capsys, "stats", strange_log, "--json")[1]
    assert json.loads(stats)["counts"]["bad\\x80b\\xff\x1b[2J\x00\\xfe"] == 2
    # a BLOB in the time column: no instant, shown as its bytes
    assert show_json(capsys, strange_log, BAD_BLOB)["duration_s"] is None


def test_error_outputs_that_are_not_text_or_not_json(strange_log: Path, capsys) -> None:
    number = show_json(capsys, strange_log, ERROR_NUMBER)["steps"][0]
    assert number["output"] == {"error": 5}
    assert number["failure_reason"] is None  # an error that is not text is no reason
    malformed = show_json(capsys, strange_log, MALFORMED)["steps"][0]
    assert (malformed["output"], malformed["failure_reason"]) == (None, None)
    assert malformed["output_json"] == '{"error": "unterminated'  # as stored
    assert "unterminated" in show_text(capsys, strange_log, MALFORMED)

    big = show_json(capsys, strange_log, BIG)["steps"][0]
    assert big["failure_reason"] == BIG_ERROR  # the export is lossless
    huge = show_json(capsys, strange_log, HUGE_INPUT)
    assert huge["input_json"] == HUGE_JSON
    assert huge["steps"][1]["output"] is None  # too deep to parse: kept as text
    code, out, _ = run_cli(capsys, "list", strange_log, "--search", "reason:EEEE", "--json")
    assert code == 0 and [s["saga_id"] for s in json.loads(out)] == [BIG]


def test_unknown_states_and_extra_columns_are_kept_and_shown(strange_log: Path, capsys) -> None:
    stats = json.loads(run_cli(capsys, "stats", strange_log, "--json")[1])
    assert stats["counts"]["paused"] == 1
    assert "paused" in run_cli(capsys, "list", strange_log, "--state", "paused")[1]
    unknown = show_json(capsys, strange_log, UNKNOWN_STATE)
    assert (unknown["state"], unknown["steps"][0]["state"]) == ("paused", "skipped")

    with SagaStore.open(strange_log) as store:  # a newer build's columns, as they are
        detail = store.saga(EXTRA)
        assert detail.saga.extra == {"origin": f"reaper{ESCAPES}"}
        assert detail.steps[0].extra == {"attempt": 3}
    text = show_text(capsys, strange_log, EXTRA)
    assert f"  origin    reaper{ESCAPES_SHOWN}\n" in text
    assert "    attempt   3\n" in text


@pilot_test
async def test_the_dashboard_walks_every_strange_row(strange_log: Path) -> None:
    app = make_app(strange_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert not isinstance(app.screen, ErrorScreen)
        table = app.dashboard.query_one(SagaTable)
        assert table.total == len(STRANGE_IDS)
        for expected in STRANGE_IDS:
            assert table.highlighted_saga.saga_id == expected
            assert app.dashboard.view is not None and app.dashboard.view.saga_id == expected
            text = screen_text(app)
            assert is_safe(text, multiline=True), expected
            if expected == ESCAPED_STATE:
                assert f"st{ESCAPES_SHOWN}" in text
            if expected in (BIG, ERROR_NUMBER, BAD_TEXT, HUGE_INPUT):  # into the steps
                await pilot.press("enter")
                await idle(pilot)
                steps = app.dashboard.query_one(StepList)
                assert app.focused is steps
                await pilot.press("g")
                await idle(pilot)
                summary = str(app.dashboard.query_one("#step-summary").render())
                assert len(summary) < 5000, expected  # a reason of 8 MiB is cut
                if expected == BIG:
                    assert "EEEE" in summary and "(o shows all)" in summary
                assert is_safe(screen_text(app), multiline=True)
                await pilot.press("escape")
                await idle(pilot)
            await pilot.press("j")
            await idle(pilot)
        await pilot.press("0", "6", "1", "0", "slash", *"pwn", "enter")
        await idle(pilot)
        assert table.total == 1  # the saga with escapes in its state and reason
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert user_version(strange_log) == 1


# -- newer, mixed and partial files ------------------------------------------------------------


@pytest.fixture
def newer_log(tmp_path: Path) -> Path:
    return write_saga_log(tmp_path / "sagas.db", server_sagas(12), log_format=SERVER,
                          user_version=2)


NEWER = ("user_version=2 is above 1: this file was written by a newer server build (the "
         "server itself would refuse to open it); it is shown read-compatible")


def test_a_newer_file_is_shown_read_compatible_and_never_stamped(newer_log: Path,
                                                                 capsys) -> None:
    with SagaStore.open(newer_log) as store:
        assert store.warnings == (NEWER,)
        assert store.schema.user_version == 2
        assert store.counts().total == 12
    stats = json.loads(run_cli(capsys, "stats", newer_log, "--json")[1])
    assert stats["warnings"] == [NEWER]
    assert (stats["schema_version"], stats["newer_than_known"], stats["format"]) == (
        2, True, "server")
    code, out, err = run_cli(capsys, "stats", newer_log)
    assert code == 0
    assert "written by a newer server build (the server itself would refuse to open it), " \
           "shown read-compatible" in out
    for argv in (["list"], ["list", "--json"], ["show", "3"], ["show", "3", "--json"]):
        code, out, err = run_cli(capsys, argv[0], newer_log, *argv[1:])
        assert code == 0, argv
        assert NEWER in err, argv  # said on stderr beside the output
        assert user_version(newer_log) == 2
    assert user_version(newer_log) == 2


@pilot_test
async def test_a_newer_file_in_the_dashboard_says_so(newer_log: Path) -> None:
    app = make_app(newer_log)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.dashboard.query_one(WarningBanner).display
        text = " ".join(screen_text(app).split())
        assert "written by a newer server build" in text
        assert "would refuse to open it" in text
        assert app.dashboard.query_one(SagaTable).total == 12
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert user_version(newer_log) == 2


def both_formats_log(tmp_path: Path) -> Path:
    """A server log that also holds the launcher's two tables (with one saga)."""
    path = write_saga_log(tmp_path / "sagas.db", server_sagas(5), log_format=SERVER)
    raw_sql(path, *[s for s in LAUNCHER_DDL.split(";") if s.strip()],
            "INSERT INTO launcher_saga VALUES (1, 'window_cleanup_cascade', 'completed', "
            "'2026-06-02T14:05:23+00:00', NULL, '{}', NULL)")
    return path


def test_a_file_with_both_formats_tables_reads_the_one_asked_for(tmp_path: Path,
                                                                 capsys) -> None:
    path = both_formats_log(tmp_path)
    for name, fmt, total in (("launcher", LAUNCHER, 1), ("server", SERVER, 5)):
        with SagaStore.open(path, log_format=fmt) as store:
            assert store.counts().total == total
        stats = json.loads(run_cli(capsys, "stats", path, "--format", name, "--json")[1])
        assert (stats["format"], stats["total"]) == (name, total)
        code, out, _ = run_cli(capsys, "list", path, "--log-format", name, "--json")
        assert code == 0 and len(json.loads(out)) == total
    with SagaStore.open(path) as store:  # told by the tables: one of the two, never an error
        assert store.format in (LAUNCHER, SERVER)


def test_a_file_with_both_formats_tables_says_the_other_is_there(tmp_path: Path,
                                                                 capsys) -> None:
    path = both_formats_log(tmp_path)
    with SagaStore.open(path) as store:
        warnings = " ".join(store.warnings)
    assert "--format" in warnings
    assert "saga_step" in warnings or "server" in warnings


def test_a_server_file_without_a_step_table(tmp_path: Path, capsys) -> None:
    path = write_saga_log(tmp_path / "sagas.db", server_sagas(6), log_format=SERVER)
    raw_sql(path, "DROP TABLE saga_step")
    with SagaStore.open(path) as store:
        assert store.warnings == ("no usable saga_step table: steps cannot be shown",)
        assert store.saga(1) is not None and store.saga(1).steps == ()
    for mode in ([], ["--json"]):
        for argv in (["stats"], ["list"], ["show", 1]):
            code, out, err = run_cli(capsys, argv[0], path, *argv[1:], *mode)
            assert code == 0, argv
            assert "no usable saga_step table: steps cannot be shown" in (err + out)
    assert "no steps recorded" in show_text(capsys, path, 1)
    assert user_version(path) == 1


@pilot_test
async def test_a_server_file_without_a_step_table_in_the_dashboard(tmp_path: Path) -> None:
    path = write_saga_log(tmp_path / "sagas.db", server_sagas(6), log_format=SERVER)
    raw_sql(path, "DROP TABLE saga_step")
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.dashboard.query_one(WarningBanner).display
        assert "no usable saga_step table" in " ".join(screen_text(app).split())
        await pilot.press("j", "enter")
        await idle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_format_launcher_forced_on_a_server_file_names_both_formats(tmp_path: Path,
                                                                    capsys) -> None:
    path = write_saga_log(tmp_path / "sagas.db", server_sagas(3), log_format=SERVER)
    expected = (f"{path}: not a launcher saga log (no launcher_saga table; found: saga, "
                "saga_step); this tool reads a launcher saga log (tables launcher_saga, "
                "launcher_saga_step) or a server saga log (tables saga, saga_step)")
    with pytest.raises(StoreError) as caught:
        SagaStore.open(path, log_format=LAUNCHER)
    assert caught.value.kind is ErrorKind.NOT_SAGA_LOG
    assert caught.value.message == expected
    for argv in (["stats", path, "--format", "launcher"],
                 ["list", path, "--log-format", "launcher", "--json"],
                 ["show", path, "1", "--format", "launcher"]):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err == f"saga-inspector: error: {expected}\n"
    assert user_version(path) == 1


@pilot_test
async def test_format_launcher_forced_in_the_dashboard_is_an_error_screen(tmp_path: Path) -> None:
    path = write_saga_log(tmp_path / "sagas.db", server_sagas(3), log_format=SERVER)
    app = make_app(path, log_format=LAUNCHER)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "not a launcher saga" in text and "server saga log" in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


# -- truncated and damaged server files --------------------------------------------------------


@pytest.fixture(scope="module")
def whole_server_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("whole") / "sagas.db"
    return write_saga_log(path, server_sagas(300), log_format=SERVER).read_bytes()


def read_everything(store: SagaStore) -> None:
    """Every public read, over every saga: a damaged page anywhere is met."""
    store.counts()
    store.count(SagaQuery(text="tab"))
    store.page_anchors()
    store.page_anchors(SagaQuery(frozenset({"completed", "compensated"})))
    store.oldest()
    page = store.sagas()
    while page:
        for saga in page:
            store.saga(saga.saga_id)
        page = store.sagas(older_than=page[-1].saga_id)


def test_the_whole_server_log_before_truncation_is_fine(whole_server_log: bytes,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "sagas.db"
    path.write_bytes(whole_server_log)
    with SagaStore.open(path) as store:
        read_everything(store)
        assert store.counts().total == 300


@pytest.mark.parametrize("keep", [1, 100, 600, 3000, 4096, 4097, 8192, 20_000, 0.5, -4096])
def test_a_truncated_server_log(whole_server_log: bytes, tmp_path: Path, capsys, keep) -> None:
    size = len(whole_server_log)
    cut = int(size * keep) if isinstance(keep, float) else (size + keep if keep < 0 else keep)
    path = tmp_path / "sagas.db"
    path.write_bytes(whole_server_log[:cut])
    with pytest.raises(StoreError) as caught, SagaStore.open(path) as store:
        read_everything(store)
    error = caught.value
    assert str(path) in error.message and "Traceback" not in error.message
    expected = ErrorKind.NOT_SQLITE if cut < 512 else ErrorKind.DAMAGED
    assert error.kind is expected, error.message
    # the CLI: exit 2 and one line, or what could be read before the damage
    for argv in (["stats", path], ["list", path, "--limit", "0", "--json"]):
        code, _out, err = run_cli(capsys, *argv)
        assert code in (0, 2), argv
        if code == 2:
            assert err.startswith(f"saga-inspector: error: {path}: ") and err.count("\n") == 1


def damaged_server_log(tmp_path: Path, count: int = 400) -> Path:
    """A server log whose saga table has one garbage page in the middle."""
    sagas = [server_saga(n, "completed", at=n * 1000) for n in range(1, count + 1)]
    for saga in sagas:
        saga.input_json = json.dumps({"tab_id": f"marker-{saga.saga_id:05d}"})
    path = write_saga_log(tmp_path / "sagas.db", sagas, log_format=SERVER)
    corrupt_page_holding(path, f'"tab_id": "marker-{count // 2:05d}"'.encode())
    return path


def test_a_damaged_server_log_is_a_store_error_and_the_store_carries_on(tmp_path: Path) -> None:
    path = damaged_server_log(tmp_path)
    with SagaStore.open(path) as store:
        assert store.saga(1) is not None  # pages away from the damage still read
        for call in (lambda: read_everything(store), lambda: store.saga(200),
                     lambda: store.sagas(limit=400)):
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.kind is ErrorKind.DAMAGED
            assert str(path) in caught.value.message
            assert not store._conn.in_transaction
        assert store.saga(1) is not None  # and the store still works afterwards


def test_a_damaged_server_log_in_the_cli(tmp_path: Path, capsys) -> None:
    path = damaged_server_log(tmp_path)
    assert run_cli(capsys, "show", path, 1)[0] == 0
    for argv in (["list", path, "--limit", "0"], ["list", path, "--limit", "0", "--json"],
                 ["show", path, 200], ["show", path, 200, "--json"]):
        code, _out, err = run_cli(capsys, *argv)
        assert code == 2, argv
        assert err.startswith(f"saga-inspector: error: {path}: the database is damaged")
        assert err.count("\n") == 1


def words_shown(app: SagaInspectorApp) -> str:
    """The screen's words, one space apart, the error panel's side borders left out: a
    phrase the message wraps (where depends on the length of the file's path) reads
    whole."""
    return " ".join(screen_text(app).replace("█", " ").split())


def _truncated(tmp_path: Path) -> Path:
    whole = write_saga_log(tmp_path / "whole.db", server_sagas(200), log_format=SERVER)
    path = tmp_path / "sagas.db"
    path.write_bytes(whole.read_bytes()[:3000])
    return path


@pilot_test
async def test_a_truncated_server_log_in_the_dashboard(tmp_path: Path) -> None:
    app = make_app(_truncated(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error screen")
        # (its message is laid out a frame or more after the screen is pushed, on a busy
        # machine several)
        await wait_for(pilot, lambda: "damaged or truncated" in words_shown(app),
                       "the error screen's message")
        text = words_shown(app)
        assert "cannot open this saga log" in text and "damaged or truncated" in text
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 2


@pilot_test
async def test_a_damaged_server_log_in_the_dashboard_is_reported_and_it_carries_on(
    tmp_path: Path,
) -> None:
    """The server's only state index is partial: the counts read the damaged table too."""
    app = make_app(damaged_server_log(tmp_path))
    async with app.run_test(size=SIZE) as pilot:

        def reported() -> list[str]:
            return [n.title for n in app._notifications if "cannot read" in n.title]

        await wait_for(pilot, lambda: bool(reported()), "an error notification")
        await pilot.press("G", "j", "3", "0", "question_mark", "escape")
        await pilot.pause()
        assert app.is_running and not isinstance(app.screen, ErrorScreen)
        assert "the database is damaged" in " ".join(screen_text(app).split())
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_raw_server_ddl_with_hostile_values_still_opens(tmp_path: Path, capsys) -> None:
    """SERVER_DDL by hand, rows bound as the values themselves (not via the demo writer)."""
    path = tmp_path / "sagas.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SERVER_DDL)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO saga VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (1, b"\xff\xfe", "running", b"\x00\x01", 3.5e300, None, "[]"))
    conn.execute("INSERT INTO saga_step VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (1, 0, "move_tab", "pending", b"\x80", '{"error": null}', -(2**63), None))
    conn.close()
    for argv in (["stats"], ["list"], ["show", "1"], ["show", "1", "--json"]):
        code, out, err = run_cli(capsys, argv[0], path, *argv[1:])
        assert (code, err) == (0, ""), argv
        assert "\x1b" not in out and "\x00" not in out
    detail = show_json(capsys, path, 1)
    assert detail["steps"][0]["in_flight"] is True  # pending in a running saga
    assert detail["steps"][0]["failure_reason"] is None


def iter_ids(rows: list[SagaRow]) -> Iterator[int]:
    for row in rows:
        assert isinstance(row.saga_id, int)
        yield row.saga_id


def test_the_fixture_rows_are_server_shaped() -> None:
    """server_saga writes what the sheet describes: integer ms, no target, errors in output."""
    rows = server_sagas(40)
    assert list(iter_ids(rows)) == list(range(1, 41))
    for row in rows:
        assert isinstance(row.started_at, int) and row.started_at >= T0_MS
        for step in row.steps:
            assert isinstance(step, StepRow) and step.target is None
            assert step.failure_reason is None
            if step.state == "failed":
                assert "error" in json.loads(step.output_json)
    assert {row.state for row in rows} >= {"completed", "compensated", "failed", "running",
                                            "failed_compensation"}
