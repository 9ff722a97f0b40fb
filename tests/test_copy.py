"""Copy: `y` the focused payload, `Y` the whole saga as JSON, `c` the triage summary, through
the terminal's clipboard; over 64 KB, or when the terminal cannot take it, into a private
file (0600, in a 0700 folder, never in the saga log's folder) that a notification names."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from saga_inspector.explain import explain_text
from saga_inspector.handoff import (
    CLIPBOARD_LIMIT,
    CLIPBOARD_SETTING,
    Why,
    choose_route,
    private_folder,
    text_size,
    write_private_copy,
)
from saga_inspector.report import detail_to_dict
from saga_inspector.sanitize import is_safe, sanitize
from saga_inspector.store import SagaDetail, SagaStore
from saga_inspector.store.payload import pretty_json, strict_json
from saga_inspector.tui.app import SagaInspectorApp
from saga_inspector.tui.clipboard import because
from saga_inspector.tui.widgets.payload import PayloadBlock
from saga_inspector.units import format_size

from .factory import LOOSE_DDL, SagaLogFactory, cleanup_saga
from .helpers import (
    HOSTILE,
    NOW,
    SIZE,
    hostile_saga,
    idle,
    make_app,
    pilot_test,
    press,
    record_notifications,
)

BIG = {"event": "panes_reaped", "panes": [f"pane-{n:06d}" for n in range(6000)]}


@dataclass
class Copies:
    """Where copies went: the clipboard (caught), the state folder, the notifications."""

    clipboard: list[str]
    state: Path

    @property
    def folder(self) -> Path:
        return self.state / "saga-inspector" / "copies"

    def files(self) -> list[Path]:
        return sorted(self.folder.iterdir()) if self.folder.exists() else []


@pytest.fixture
def copies(clipboard: list[str], tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Copies]:
    """A terminal with a clipboard, whatever the one running the tests is, and a state
    folder in tmp_path (never the real home)."""
    for name in (CLIPBOARD_SETTING, "TERM_PROGRAM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    yield Copies(clipboard, state)


def big_output_log(make_log: SagaLogFactory) -> Path:
    saga = cleanup_saga(1)
    saga.steps[0].output_json = json.dumps(BIG)
    return make_log([saga])


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def detail_of(path: Path, saga_id: int) -> SagaDetail | None:
    with SagaStore.open(path) as store:
        return store.saga(saga_id)


# -- what each key copies -----------------------------------------------------------------------


@pilot_test
async def test_y_on_the_table_copies_the_saga_input(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    app = make_app(make_log([hostile_saga()], ddl=LOOSE_DDL))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "y")
    saga_input = json.loads(hostile_saga().input_json or "")
    assert copies.clipboard == [sanitize(pretty_json(saga_input), multiline=True)]
    assert is_safe(copies.clipboard[0], multiline=True)
    size = format_size(text_size(copies.clipboard[0]))
    assert notes[-1] == ("information", f"copied the input of saga 9 to the clipboard ({size})")
    assert copies.files() == []


@pilot_test
async def test_y_on_the_steps_copies_the_output_or_the_in_flight_cmd(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    saga = cleanup_saga(3, "failed", drained=None, reason="saga timeout")
    app = make_app(make_log([saga]))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y")  # lands on the in-flight drain step: no output
        await press(pilot, "k", "y")  # the reap step: its output
    drain_cmd, reap_output = saga.steps[1].cmd_json, saga.steps[0].output_json
    assert copies.clipboard == [pretty_json(json.loads(drain_cmd or "")),
                                pretty_json(json.loads(reap_output or ""))]
    assert [message for _, message in notes] == [
        f"copied the cmd of step 1 of saga 3 to the clipboard ({len(copies.clipboard[0])} B)",
        f"copied the output of step 0 of saga 3 to the clipboard ({len(copies.clipboard[1])} B)",
    ]


@pilot_test
async def test_y_on_a_payload_block_copies_that_payload(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    saga = cleanup_saga(3)
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "enter", "y")  # the steps, then the first step's cmd
        assert isinstance(app.focused, PayloadBlock) and app.focused.label == "cmd"
    assert copies.clipboard == [pretty_json(json.loads(saga.steps[0].cmd_json or ""))]


@pilot_test
async def test_the_palettes_copy_payload_copies_the_focused_payload(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    saga = cleanup_saga(3)
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "enter")  # the steps, then the first step's cmd
        assert isinstance(app.focused, PayloadBlock) and app.focused.label == "cmd"
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        app.call_next(commands["Copy payload"].callback)  # as the palette runs it
        await idle(pilot)
        await pilot.app.workers.wait_for_complete()
    assert copies.clipboard == [pretty_json(json.loads(saga.steps[0].cmd_json or ""))]


@pilot_test
async def test_Y_copies_the_whole_saga_as_exact_json(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    path = make_log([hostile_saga()], ddl=LOOSE_DDL)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "Y")
    [copied] = copies.clipboard
    assert copied.isascii() and is_safe(copied, multiline=True)
    detail = detail_of(path, 9)
    assert detail is not None
    assert copied == strict_json(detail_to_dict(detail), indent=2)  # made exactly once
    value = json.loads(copied)
    assert value["failure_reason"] == HOSTILE  # lossless: escaped, not replaced
    assert [step["in_flight"] for step in value["steps"]] == [False, True]


@pilot_test
async def test_c_copies_the_triage_summary(make_log: SagaLogFactory, copies: Copies) -> None:
    path = make_log([hostile_saga()], ddl=LOOSE_DDL)
    app = make_app(path)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "c")
    detail = detail_of(path, 9)
    assert detail is not None
    [copied] = copies.clipboard
    assert copied == sanitize(explain_text(detail, NOW), multiline=True)
    assert "\x1b" not in copied and is_safe(copied, multiline=True)
    assert notes[-1][1].startswith("copied the triage summary of saga 9 to the clipboard")


@pilot_test
async def test_nothing_to_copy_before_a_saga_is_shown(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    app = make_app(make_log([]))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "y", "Y", "c")
    assert copies.clipboard == [] and copies.files() == []
    assert [severity for severity, _ in notes] == ["warning"] * 3


# -- too large, or no clipboard: a private file ----------------------------------------------


@pilot_test
async def test_a_copy_over_the_limit_goes_to_a_private_file(
    make_log: SagaLogFactory, copies: Copies
) -> None:
    path = big_output_log(make_log)
    app = make_app(path)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y")  # the steps: step 0's large output
    assert copies.clipboard == []
    [written] = copies.files()
    assert written.read_text(encoding="utf-8") == pretty_json(BIG)
    assert len(pretty_json(BIG).encode()) > CLIPBOARD_LIMIT
    assert mode(written) == 0o600 and mode(copies.folder) == 0o700
    assert written.name.startswith("output-") and written.suffix == ".json"
    assert path.parent not in written.parents
    severity, message = notes[-1]
    assert severity == "information"
    assert message.startswith("the output of step 0 of saga 1 is ")
    assert "more than terminals take through the clipboard (64.0 KiB)" in message
    assert message.endswith(f": written to {written}")


@pilot_test
async def test_each_copy_gets_its_own_file(make_log: SagaLogFactory, copies: Copies) -> None:
    app = make_app(big_output_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y", "y", "Y")
    files = copies.files()
    assert len(files) == 3 and len({f.read_text() for f in files}) == 2
    assert sorted(f.name.split("-")[0] for f in files) == ["output", "output", "saga"]


@pilot_test
async def test_the_file_never_lands_in_the_database_folder(
    make_log: SagaLogFactory, copies: Copies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = big_output_log(make_log)
    monkeypatch.setenv("XDG_STATE_HOME", str(path.parent))  # the state folder is the log's
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    app = make_app(path)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y")
    # Nothing beside the log but SQLite's own -wal and -shm.
    assert [p.name for p in path.parent.iterdir() if not p.name.startswith(path.name)] == []
    [folder] = elsewhere.iterdir()
    [written] = folder.iterdir()
    assert mode(folder) == 0o700 and mode(written) == 0o600
    assert written.read_text() == pretty_json(BIG)
    assert notes[-1][1].endswith(f"written to {written}")


@pilot_test
async def test_through_a_symlink_the_file_avoids_the_real_logs_folder(
    make_log: SagaLogFactory, copies: Copies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = big_output_log(make_log)
    opened_as = tmp_path / "links" / "alias.db"
    opened_as.parent.mkdir()
    opened_as.symlink_to(path)
    # The state folder is the real log's folder, where SQLite keeps the -wal and -shm.
    monkeypatch.setenv("XDG_STATE_HOME", str(path.parent))
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    app = make_app(opened_as)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y")
    assert [p.name for p in path.parent.iterdir() if not p.name.startswith(path.name)] == []
    [folder] = elsewhere.iterdir()
    assert [f.read_text() for f in folder.iterdir()] == [pretty_json(BIG)]


@pilot_test
async def test_the_setting_sends_every_copy_to_a_file(
    make_log: SagaLogFactory, copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CLIPBOARD_SETTING, "file")
    app = make_app(make_log([cleanup_saga(4)]))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "Y")
    assert copies.clipboard == []
    [written] = copies.files()
    assert json.loads(written.read_text())["saga_id"] == 4
    assert written.name.startswith("saga-4-")
    assert notes[-1][1] == (f"saga 4 as JSON goes to a file ({CLIPBOARD_SETTING}=file): "
                            f"written to {written}")


@pilot_test
async def test_a_headless_app_ignores_the_terminal_it_was_started_from(
    make_log: SagaLogFactory, copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run headless: macOS Terminal running them must not send copies to files."""
    monkeypatch.setenv("TERM_PROGRAM", "Apple_Terminal")
    app = make_app(make_log([cleanup_saga(4)]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "Y")
    assert len(copies.clipboard) == 1 and copies.files() == []


@pytest.mark.parametrize(("env", "terminal"), [
    ({"TERM_PROGRAM": "Apple_Terminal"}, "macOS Terminal"),
    ({"TERM": "linux"}, "the Linux console"),
])
def test_a_terminal_without_a_clipboard_gets_a_file(env: dict[str, str], terminal: str) -> None:
    route = choose_route("small", env)
    assert (route.why, route.terminal) == (Why.NO_CLIPBOARD, terminal)
    assert because(route, "small") == f"cannot go to the clipboard of {terminal}"
    assert choose_route("small", env, terminal=False).to_clipboard
    assert choose_route("small", {"TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"})\
        .to_clipboard


@pilot_test
async def test_a_failed_terminal_write_falls_back_to_a_file(
    make_log: SagaLogFactory, copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    def closed(self: SagaInspectorApp, text: str) -> None:
        raise OSError("the terminal went away")

    monkeypatch.setattr(SagaInspectorApp, "copy_to_clipboard", closed)
    app = make_app(make_log([cleanup_saga(4)]))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "y")
    [written] = copies.files()
    assert json.loads(written.read_text()) == {"closed_label": "main"}
    assert "could not be sent to the terminal's clipboard: written to" in notes[-1][1]


@pilot_test
async def test_nowhere_to_write_is_said_not_raised(
    make_log: SagaLogFactory, copies: Copies, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    app = make_app(big_output_log(make_log))
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "y")
    assert notes[-1][0] == "error"
    assert notes[-1][1].startswith("could not copy the output of step 0 of saga 1: ")


# -- the rules, without the app ------------------------------------------------------------------


def test_the_limit_counts_utf8_bytes() -> None:
    env = {"TERM": "xterm-256color"}
    assert choose_route("a" * CLIPBOARD_LIMIT, env).to_clipboard
    assert choose_route("a" * (CLIPBOARD_LIMIT + 1), env).why is Why.TOO_LARGE
    assert choose_route("é" * (CLIPBOARD_LIMIT // 2), env).to_clipboard
    assert choose_route("é" * (CLIPBOARD_LIMIT // 2) + "a", env).why is Why.TOO_LARGE
    # Forcing the terminal still respects the limit; forcing a file always writes one.
    forced = {**env, "TERM_PROGRAM": "Apple_Terminal", CLIPBOARD_SETTING: "terminal"}
    assert choose_route("small", forced).to_clipboard
    assert choose_route("a" * (CLIPBOARD_LIMIT + 1), forced).why is Why.TOO_LARGE
    assert choose_route("", {**env, CLIPBOARD_SETTING: " FILE "}).why is Why.SETTING


def test_an_existing_state_folder_is_made_private(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    folder = tmp_path / "state" / "saga-inspector" / "copies"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    assert private_folder(None, env) == folder and mode(folder) == 0o700


def test_private_copies_never_replace_one_another(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path)}
    first = write_private_copy("one", "saga-1", ".json", avoid=None, env=env, now=NOW)
    second = write_private_copy("two", "saga-1", ".json", avoid=None, env=env, now=NOW)
    assert first != second and first.parent == second.parent
    assert (first.read_text(), second.read_text()) == ("one", "two")
    assert first.name.startswith("saga-1-20260609-120000-")


def test_a_symlinked_state_folder_into_the_database_folder_is_avoided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_folder = tmp_path / "evidence"
    (database_folder / "copies").mkdir(parents=True)
    state = tmp_path / "state"
    state.mkdir()
    (state / "saga-inspector").symlink_to(database_folder)
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    folder = private_folder(database_folder, {"XDG_STATE_HOME": str(state)})
    assert folder.parent == elsewhere and mode(folder) == 0o700
