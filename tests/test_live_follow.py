"""`saga-inspector list --follow --jsonl`: each saga once as it appears, again when its state
changes, until ctrl+c (exit 0). The CLI runs in a process of its own beside the writer's;
the tracker behind it is checked directly too."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

from saga_inspector.demo import demo_sagas, write_saga_log
from saga_inspector.follow import SagaTracker, follow_sagas
from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.formats import SERVER, LogFormat

from .factory import SagaLogFactory, cleanup_saga, for_format, insert_sagas, respawn_saga
from .helpers import ROOT, StoreProxy, start_writer, summary_of

# The CLI with ctrl+c delivered as Python's KeyboardInterrupt, whatever SIGINT disposition
# the test runner passed down (a shell's background jobs start with SIGINT ignored).
FOLLOW = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
          "from saga_inspector.cli import main; sys.exit(main(sys.argv[1:]))")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class FollowingCli:
    """`list PATH --follow --jsonl` in its own process, its lines collected as they come."""

    def __init__(self, path: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", FOLLOW, "list", str(path), "--follow", "--jsonl",
             "--interval", "0.1", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict[str, object]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def pairs(self) -> list[tuple[int, str]]:
        return [(int(line["saga_id"]), str(line["state"])) for line in list(self.lines)]

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=15)
        return self.process.returncode, err


def test_follow_jsonl_streams_each_new_saga_once_and_ctrl_c_exits_0(
    make_log: SagaLogFactory,
) -> None:
    path = make_log(demo_sagas(30))
    with SagaStore.open(path) as store:
        newest_five = [saga.saga_id for saga in store.sagas(limit=5)]
    cli = FollowingCli(path, "--limit", "5")
    wait_for(lambda: len(cli.lines) >= 5, "the newest five")
    summary = summary_of(start_writer(path))
    with SagaStore.open(path) as store:
        final = {saga.saga_id: saga for saga in store.sagas(SagaQuery(), limit=10**6)}

    def last_states() -> dict[int, str]:
        return dict(cli.pairs())

    new_ids = {saga_id for saga_id in final if saga_id > max(newest_five)}
    wait_for(lambda: all(last_states().get(i) == final[i].state for i in new_ids),
             "every new saga in its final state")
    code, err = cli.interrupt()
    assert code == 0 and "Traceback" not in err, err

    pairs = cli.pairs()
    assert [saga_id for saga_id, _ in pairs[:5]] == sorted(newest_five)  # oldest first
    assert len(pairs) == len(set(pairs)), "a saga was reported twice in the same state"
    first_seen = [saga_id for n, (saga_id, _) in enumerate(pairs)
                  if saga_id not in {i for i, _ in pairs[:n]}]
    assert set(first_seen) == set(newest_five) | new_ids
    new_in_order = [saga_id for saga_id in first_seen if saga_id in new_ids]
    assert new_in_order == sorted(new_ids)  # each new saga once, as it appeared
    assert len(new_ids) == summary["newest_id"] - max(newest_five) > 100
    # Each line is the same object `list --json` gives for that saga.
    by_id = {int(line["saga_id"]): line for line in cli.lines}
    newest = max(new_ids)
    assert by_id[newest]["state"] == final[newest].state
    assert by_id[newest]["input_json"] == final[newest].input_json


def test_follow_needs_jsonl(make_log: SagaLogFactory, log_format: LogFormat) -> None:
    path = make_log([cleanup_saga(1)])
    result = subprocess.run([sys.executable, "-m", "saga_inspector", "list", str(path),
                             "--follow"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--follow streams JSON lines: give it --jsonl" in result.stderr


# -- the tracker, directly -------------------------------------------------------------------


# The tracker tests run once per format (log_format): each statement its own commit, as the
# server writes (autocommit), and as the launcher's short transactions look to a reader.


def execute(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def add_saga(path: Path, log_format: LogFormat, saga_id: int, state: str = "running") -> None:
    """A new saga (no steps yet) committed by a writer, as `log_format` stores it."""
    conn = sqlite3.connect(path, isolation_level=None)
    saga = cleanup_saga(saga_id, state, at=7 * 86_400.0, drained=None)
    saga.steps, saga.ended_at = [], None
    insert_sagas(conn, log_format, [saga])
    conn.close()


class Spy(StoreProxy):
    """A store that records which ids the tracker asks the states of."""

    def __init__(self, store: SagaStore) -> None:
        super().__init__(store)
        self.asked: list[set[int]] = []

    def saga_states(self, ids: object = None, **kwargs: object) -> dict[int, str]:
        if ids is not None:
            ids = list(ids)  # type: ignore[call-overload]
            self.asked.append(set(ids))
        return self.store.saga_states(ids, **kwargs)  # type: ignore[arg-type]


def test_the_tracker_reports_state_changes_rereading_only_sagas_that_can_change(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    sagas = [cleanup_saga(i, "completed", at=i) for i in range(1, 40)]
    sagas += [cleanup_saga(40, "running", at=40, drained=None),
              respawn_saga(41, "failed", at=41, reason="saga timeout"),
              cleanup_saga(42, "failed_compensation", at=42, drained=None)]
    path = make_log(sagas)
    spy = Spy(SagaStore.open(path))
    tracker = SagaTracker(spy, states=frozenset({"failed", "failed_compensation"}))  # type: ignore[arg-type]
    assert [s.saga_id for s in tracker.start(limit=2)] == [41, 42]
    assert tracker.updates() == []

    execute(path, f"UPDATE {log_format.saga_table} SET state = 'failed_compensation' "
                  "WHERE saga_id IN (40, 41)")
    add_saga(path, log_format, 43)
    add_saga(path, log_format, 44, "failed")
    reported = tracker.updates()
    assert [(s.saga_id, s.state) for s in reported] == [
        (40, "failed_compensation"), (41, "failed_compensation"), (44, "failed")]
    assert tracker.updates() == []  # nothing new: nothing again
    # Only sagas that could still change were re-read; never the completed ones, nor the
    # ones that reached a final state.
    assert all(asked <= {40, 41, 43, 44} for asked in spy.asked)
    assert spy.asked[-1] == {43, 44}
    assert {"completed", "failed_compensation"} <= log_format.final_states
    spy.store.close()


def test_on_a_server_log_a_compensated_saga_is_final_and_a_failed_one_is_not(
    make_log: SagaLogFactory,
) -> None:
    """The server's final states: completed, compensated, failed_compensation. A failed saga
    is taken up again by recovery at the next server start, so it is still watched."""
    path = SagaLogFactory(make_log.folder, SERVER)(
        [cleanup_saga(1, "compensated"), cleanup_saga(2, "failed", drained=None)])
    with SagaStore.open(path) as store:
        spy = Spy(store)
        tracker = SagaTracker(spy)  # type: ignore[arg-type]
        tracker.start(limit=0)
        execute(path, "UPDATE saga SET state = 'compensating' WHERE saga_id = 2")
        assert [(s.saga_id, s.state) for s in tracker.updates()] == [(2, "compensating")]
        assert spy.asked and all(1 not in asked for asked in spy.asked)


def test_a_saga_committed_after_a_higher_id_is_still_reported(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    path = make_log([cleanup_saga(1)])
    with SagaStore.open(path) as store:
        tracker = SagaTracker(store)
        tracker.start(limit=0)
        add_saga(path, log_format, 3)  # 2 was taken first but commits after 3
        assert [s.saga_id for s in tracker.updates()] == [3]
        add_saga(path, log_format, 2)
        assert [s.saga_id for s in tracker.updates()] == [2]


def test_following_by_path_survives_the_file_deleted_and_recreated(
    make_log: SagaLogFactory, log_format: LogFormat,
) -> None:
    path = make_log([cleanup_saga(1), cleanup_saga(2, "running", drained=None)])
    notes: list[str] = []
    table = log_format.saga_table
    ticks: list[Callable[[], None]] = [
        lambda: execute(path, f"UPDATE {table} SET state = 'completed' WHERE saga_id = 2"),
        lambda: [path.with_name(path.name + s).unlink(missing_ok=True)
                 for s in ("", "-wal", "-shm")],
        lambda: write_saga_log(path, for_format([cleanup_saga(1, "running", drained=None)],
                                                log_format), log_format=log_format),
        lambda: add_saga(path, log_format, 2, "failed"),
    ]

    def sleep(_seconds: float) -> None:
        if not ticks:
            raise KeyboardInterrupt
        ticks.pop(0)()

    followed: Iterator = follow_sagas(path, states=None, limit=0, note=notes.append,
                                      sleep=sleep, interval=0)
    seen = []
    with suppress(KeyboardInterrupt):
        for saga in followed:
            seen.append((saga.saga_id, saga.state))
    # Both of the old file; saga 2 completing; then the new file from its first saga.
    assert seen == [(1, "completed"), (2, "running"), (2, "completed"),
                    (1, "running"), (2, "failed")]
    assert any("deleted or renamed" in note for note in notes)
    assert any("following the new file" in note for note in notes)
