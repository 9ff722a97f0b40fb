"""The demo log: deterministic, realistic, read back by the store, never overwriting."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.demo import (
    CLEANUP,
    NO_INSERT_INDEX,
    NO_INVERSE_ERROR,
    PENDING_AT_RESTART,
    REASON_RESTART_RUNNING,
    RECOVERED_FROM_FAILED,
    RESPAWN,
    demo_sagas,
    iter_server_demo_sagas,
    server_demo_sagas,
    write_demo,
)
from saga_inspector.store import SagaStore, parse_timestamp
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.kinds import SERVER_KINDS
from saga_inspector.store.payload import parse_json
from saga_inspector.store.states import StepRole

from .helpers import Run, run

__all__ = ["run"]  # the CLI fixture

KINDS = {
    RESPAWN: (["issue_cmd_host_spawn_pool_window"], "promoted_label"),
    CLEANUP: (["issue_cmd_host_reap_panes", "issue_cmd_host_drain_pool_if_last"],
              "closed_label"),
}


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Iterator[SagaStore]:
    with SagaStore.open(write_demo(tmp_path_factory.mktemp("demo") / "demo.db")) as store:
        yield store


@pytest.fixture(scope="module")
def details(demo_store):
    return [demo_store.saga(s.saga_id) for s in demo_store.sagas(limit=10_000)]


def test_the_demo_is_deterministic(tmp_path):
    assert demo_sagas() == demo_sagas()
    first, second = write_demo(tmp_path / "a.db"), write_demo(tmp_path / "b.db")
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(
        second.read_bytes()).digest()
    assert demo_sagas(seed=1) != demo_sagas(seed=2)


def test_the_demo_refuses_to_overwrite_anything(tmp_path):
    existing = tmp_path / "launcher-sagas.db"
    existing.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_demo(existing)
    assert existing.read_bytes() == b"precious"
    with pytest.raises(FileExistsError):
        write_demo(tmp_path)


def test_a_few_hundred_sagas_of_both_kinds_in_every_state(demo_store):
    counts = demo_store.counts()
    assert 200 <= counts.total <= 1000
    assert counts.unknown_states == ()
    assert all(counts.by_state[state] > 0 for state in LAUNCHER.saga_states), counts
    assert demo_store.schema.user_version == 1
    assert demo_store.warnings == ()
    names = Counter(saga.name for saga in demo_store.sagas(limit=10_000))
    assert set(names) == {RESPAWN, CLEANUP}
    assert min(names.values()) > counts.total // 5


def test_rows_are_shaped_like_the_launchers(details):
    for detail in details:
        saga = detail.saga
        step_names, input_key = KINDS[saga.name]
        assert [step.name for step in detail.steps] == step_names[:len(detail.steps)]
        assert list(parse_json(saga.input_json).value) == [input_key]
        assert saga.started_at.parsed and saga.started_at.raw.endswith("+00:00")
        assert (saga.ended_at is None) == (saga.state in ("running", "compensating"))
        if saga.ended_at is not None:
            assert saga.duration.total_seconds() >= 0     # no time runs backwards
        for step in detail.steps:
            assert step.started_at.value >= saga.started_at.value
            assert step.duration is None or step.duration.total_seconds() >= 0
            assert step.target == "host"
            assert parse_json(step.cmd_json).value["saga_id"] == 0
            assert step.state in ("pending", "succeeded")
            assert step.failure_reason is None
            if step.state == "succeeded":
                assert parse_json(step.output_json).ok and step.ended_at.parsed
            else:
                assert step.output_json is None and step.ended_at is None
        if saga.state == "completed":
            assert all(step.state == "succeeded" for step in detail.steps)
            assert saga.failure_reason is None


def test_failed_and_recovered_sagas_show_their_in_flight_step(details):
    for state in ("failed", "failed_compensation", "running"):
        of_state = [d for d in details if d.saga.state == state]
        assert of_state
        assert all(d.in_flight_step is not None for d in of_state)
    # Both kinds, and both places a cleanup saga can stop (reap or drain).
    stopped_at = {(d.saga.name, d.in_flight_step.step_index) for d in details
                  if d.in_flight_step is not None}
    assert stopped_at == {(RESPAWN, 0), (CLEANUP, 0), (CLEANUP, 1)}


def test_recovered_sagas_carry_the_real_reasons_and_share_an_end_time(details):
    recovered = [d.saga for d in details if d.saga.state == "failed_compensation"]
    reasons = Counter(saga.failure_reason for saga in recovered)
    assert REASON_RESTART_RUNNING in reasons
    # A saga that had already failed keeps its own reason, with the recovery appended.
    appended = {r for r in reasons if r != REASON_RESTART_RUNNING}
    assert appended
    assert all(r.endswith(f" | {RECOVERED_FROM_FAILED}") for r in appended)
    assert f"saga timeout | {RECOVERED_FROM_FAILED}" in appended
    # Each launcher start marks its leftovers within a moment of each other: the ended_at
    # values fall into a few tight clusters, one per restart.
    ends = sorted(parse_timestamp(saga.ended_at.raw).value for saga in recovered)
    clusters = [[ends[0]]]
    for end in ends[1:]:
        if (end - clusters[-1][-1]).total_seconds() < 1:
            clusters[-1].append(end)
        else:
            clusters.append([end])
    assert 2 <= len(clusters) <= 5
    assert all(len(cluster) >= 2 for cluster in clusters)
    assert all((c[-1] - c[0]).total_seconds() < 1 for c in clusters)
    # A recovered saga ended long after it started: at the next launcher start.
    assert all(saga.duration.total_seconds() > 60 for saga in recovered)


def test_other_failures_use_the_launchers_reasons(details):
    reasons = {d.saga.failure_reason for d in details if d.saga.state == "failed"}
    assert "saga timeout" in reasons
    assert reasons <= {
        "saga timeout",
        "host pipe send failed: write to host pipe failed: Broken pipe (os error 32)",
        "host action failed: spawn_pool_window: window not found",
    }


def test_all_four_fraction_lengths_appear(details):
    lengths = Counter()
    for detail in details:
        raw = detail.saga.started_at.raw
        lengths[len(raw.split(".")[1].split("+")[0]) if "." in raw else 0] += 1
    assert set(lengths) == {0, 3, 6, 9}


def test_ids_grow_with_start_times(details):
    by_id = sorted(details, key=lambda d: d.saga.saga_id)
    starts = [d.saga.started_at.value for d in by_id]
    assert starts == sorted(starts)
    assert [d.saga.saga_id for d in by_id] == list(range(1, len(by_id) + 1))


def test_write_demo_returns_the_path_it_wrote(tmp_path):
    path = write_demo(tmp_path / "small.db", count=20)
    assert path == tmp_path / "small.db"
    with SagaStore.open(Path(path)) as store:
        assert store.counts().total == 20


# -- the server's demo (sagas.db) ------------------------------------------------------------

SERVER_STATES = ("running", "completed", "failed", "compensating", "failed_compensation",
                 "compensated")


@pytest.fixture(scope="module")
def server_store(tmp_path_factory) -> Iterator[SagaStore]:
    path = write_demo(tmp_path_factory.mktemp("server") / "sagas.db", log_format="server")
    with SagaStore.open(path) as store:
        yield store


@pytest.fixture(scope="module")
def server_details(server_store):
    return [server_store.saga(s.saga_id) for s in server_store.sagas(limit=10_000)]


def steps_named(details, name):
    return [(d, step) for d in details for step in d.steps if step.name == name]


def test_the_server_demo_is_read_as_a_server_log_with_every_kind_and_state(server_store):
    assert server_store.format is SERVER
    assert server_store.schema.user_version == 1
    assert server_store.warnings == ()
    counts = server_store.counts()
    assert counts.total == 400
    assert counts.unknown_states == ()
    assert all(counts.by_state[state] > 0 for state in SERVER_STATES), counts
    kinds = Counter(saga.name for saga in server_store.sagas(limit=10_000))
    assert set(kinds) == set(SERVER_KINDS)
    # The reaper's two kinds are the most common, as on a real server.
    assert {name for name, _ in kinds.most_common(2)} == {"close_pane", "delete_block"}


def test_server_rows_are_shaped_like_the_servers(server_store, server_details):
    raw = [row for row in server_demo_sagas()]
    assert all(isinstance(r.started_at, int) for r in raw)
    assert all(isinstance(t.started_at, int) and t.target is None
               for r in raw for t in r.steps)
    ids = [r.saga_id for r in raw]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert max(ids) > len(ids)  # a start whose insert failed leaves a gap
    for detail in server_details:
        saga, kind = detail.saga, SERVER_KINDS[detail.saga.name]
        given = parse_json(saga.input_json).value
        assert set(given) == {kind.input_key, *kind.other_inputs}
        assert uuid.UUID(str(given[kind.input_key]))
        for step in detail.steps:
            cmd = step.cmd_json
            assert cmd == "" or cmd.startswith('{"cmd":"'), cmd  # tag first, serde-compact
            assert step.target is None
            assert step.started_at.value >= saga.started_at.value
            assert step.duration is None or step.duration.total_seconds() >= 0
        if saga.ended_at is not None:
            assert saga.duration.total_seconds() >= 0
    restores = [parse_json(d.saga.input_json).value for d in server_details
                if d.saga.name == "restore_torn_off_tab"]
    assert any(value["insert_index"] == NO_INSERT_INDEX for value in restores)
    layout = [len(step.output_json) for _, step in
              steps_named(server_details, "layout_delete_node_by_block")
              if step.state == "succeeded"]
    assert max(layout) > 2000  # the whole layout tree, kilobytes


def test_compensation_appends_undo_rows_paired_with_what_they_undo(server_details):
    undone = [(d, step) for d in server_details for step in d.steps
              if step.role is StepRole.UNDO]
    assert {step.state for _, step in undone} >= {"compensated", "failed"}
    for detail, step in undone:
        assert detail.saga.state in ("compensated", "compensating", "failed_compensation")
        if step.undoes is not None:
            forward = detail.steps[step.undoes]
            assert forward.role is StepRole.FORWARD
            assert forward.step_index < step.step_index
    # The saga's own compensation: its undo row after the failed step, the forward step
    # it undid flipped to compensated.
    tear_off = next(d for d in server_details if d.saga.name == "tear_off_tab"
                    and (d.saga.failure_reason or "").startswith("TearOffTab step 2 (MoveTab): ")
                    and any(s.name == "delete_workspace" for s in d.steps))
    assert tear_off.saga.state == "compensated"
    assert [(s.name, s.state) for s in tear_off.steps] == [
        ("create_workspace", "compensated"), ("move_tab", "failed"),
        ("delete_workspace", "compensated")]
    assert tear_off.steps[2].role is StepRole.UNDO and tear_off.steps[2].undoes == 0
    refused = [step for _, step in undone if step.state == "failed"]
    assert all(step.failure_reason == parse_json(step.output_json).value["error"]
               for step in refused)
    fallback = [step for _, step in undone if step.name == "compensate"]
    assert fallback and all(step.cmd_json == "" for step in fallback)


def test_recovery_writes_the_servers_reasons(server_details):
    reasons = Counter(d.saga.failure_reason for d in server_details
                      if d.saga.state in ("compensated", "failed_compensation"))
    assert PENDING_AT_RESTART.format(count=1) in reasons
    assert "no succeeded steps to compensate (saga state at restart: running)" in reasons
    assert "resumed on srv restart (was running at startup)" in reasons
    no_inverse = [(d, step) for d in server_details for step in d.steps
                  if step.role is StepRole.NO_UNDO]
    assert no_inverse
    for detail, step in no_inverse:
        assert step.name.startswith("no_inverse_for_")
        assert step.failure_reason == NO_INVERSE_ERROR
        assert parse_json(step.output_json).value == {"error": NO_INVERSE_ERROR}
        forward = detail.steps[step.undoes]
        assert step.name == f"no_inverse_for_{forward.name}"
        assert (f"step {forward.step_index} ({forward.name}): no inverse derivable from saga "
                "log — operator review needed") in detail.saga.failure_reason
        assert detail.saga.state in ("failed_compensation", "compensating")
    # One saga's final write was lost at the last restart: still compensating, its undo
    # rows appended, its end time not written.
    compensating = [d for d in server_details if d.saga.state == "compensating"]
    assert compensating and all(d.saga.ended_at is None for d in compensating)
    assert all(any(step.is_undo for step in d.steps) for d in compensating)


def test_failed_steps_keep_their_reason_in_the_output(server_details):
    failed = [(d, step) for d in server_details for step in d.steps
              if step.state == "failed" and step.role is StepRole.FORWARD]
    assert failed
    for _, step in failed:
        assert step.failure_reason == parse_json(step.output_json).value["error"]
    reasons = {d.saga.failure_reason for d in server_details if d.saga.state == "compensated"}
    assert any(r.startswith("ClosePane: ") for r in reasons)
    assert any(r.startswith("DeleteBlock: ") for r in reasons)


def test_completed_sagas_can_hold_a_failed_best_effort_step(server_details):
    held = {(d.saga.name, step.name) for d in server_details if d.saga.state == "completed"
            for step in d.steps if step.state == "failed"}
    assert ("delete_block", "layout_delete_node_by_block") in held
    assert ("restore_torn_off_tab", "delete_workspace") in held
    for d in server_details:
        if d.saga.state == "completed":
            assert all(step.best_effort for step in d.steps if step.state == "failed")


def test_timeouts_and_crashes_leave_a_step_in_flight(server_details):
    timed_out = [d for d in server_details if d.saga.state == "failed"]
    assert timed_out
    for detail in timed_out:
        assert detail.saga.failure_reason == f"saga '{detail.saga.name}' timed out after 5s"
        assert detail.saga.duration.total_seconds() >= 5
        assert detail.in_flight_step is not None and detail.in_flight_step.state == "pending"
    running = [d for d in server_details if d.saga.state == "running"]
    assert running and all(d.in_flight_step is not None for d in running)
    # The crash is at the end of the file: the newest saga is the one in flight.
    newest = max(server_details, key=lambda d: d.saga.saga_id)
    assert newest.saga.state == "running" and newest.saga.ended_at is None


def test_the_server_demo_is_deterministic(tmp_path):
    assert server_demo_sagas() == server_demo_sagas()
    assert server_demo_sagas(50, seed=1) != server_demo_sagas(50, seed=2)
    assert list(iter_server_demo_sagas(120, seed=7)) == server_demo_sagas(120, seed=7)
    first = write_demo(tmp_path / "a.db", log_format="server")
    second = write_demo(tmp_path / "b.db", log_format="server")
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(
        second.read_bytes()).digest()


@pytest.mark.parametrize("count", [1, 7, 41, 1000])
def test_any_count_gives_that_many_sagas(count):
    sagas = server_demo_sagas(count, seed=3)
    assert len(sagas) == count
    assert sagas[-1].state == "running"


# -- the demo command ------------------------------------------------------------------------


def test_demo_format_server_via_the_cli(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "sagas.db"
    result = run("demo", path, "--format", "server")
    assert result.code == 0
    assert str(path) in result.out
    with SagaStore.open(path) as store:
        assert store.format is SERVER
        assert store.counts().total == 400
    stats = run("stats", path, "--json").json
    assert all(stats["counts"][state] > 0 for state in SERVER_STATES)
    before = path.read_bytes()
    again = run("demo", path, "--format", "server")
    assert again.code == 2
    assert again.error_lines == [
        f"saga-inspector: error: {path} already exists; the demo is only written to a new file"]
    assert path.read_bytes() == before


def test_demo_format_defaults_to_the_launcher(run: Run, tmp_path: Path) -> None:
    assert run("demo", tmp_path / "a.db").code == 0
    assert run("demo", tmp_path / "b.db", "--format", "launcher").code == 0
    for name in ("a.db", "b.db"):
        with SagaStore.open(tmp_path / name) as store:
            assert store.format is LAUNCHER


def test_demo_format_with_a_bad_name_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    result = run("demo", tmp_path / "x.db", "--format", "serverr")
    assert result.code == 2
    [line] = result.error_lines
    assert "invalid choice: 'serverr'" in line and "'launcher', 'server'" in line
    assert "Traceback" not in result.err
    assert not (tmp_path / "x.db").exists()
    assert "--format launcher|server" in run("demo", "--help").out
