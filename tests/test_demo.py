"""The demo log: deterministic, realistic, read back by the store, never overwriting."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.demo import (
    CLEANUP,
    REASON_RESTART_RUNNING,
    RECOVERED_FROM_FAILED,
    RESPAWN,
    demo_sagas,
    write_demo,
)
from saga_inspector.store import KNOWN_SAGA_STATES, SagaStore, parse_timestamp
from saga_inspector.store.payload import parse_json

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
    assert all(counts.by_state[state] > 0 for state in KNOWN_SAGA_STATES), counts
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
