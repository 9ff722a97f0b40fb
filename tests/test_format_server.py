"""Server-only store behaviour over rows shaped like the server's (tests/factory.py's server
builders): undo and no-undo rows, best-effort steps, a step's `{"error": ...}` as its reason
(`reason:` and Step.failure_reason), `ref:` on ids inside inputs, commands and events (the
value quoted in a payload's text: see sql.json_strings_hold)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from saga_inspector.store import SagaQuery, SagaStore
from saga_inspector.store.formats import SERVER
from saga_inspector.store.states import StepRole

from .factory import (
    NO_INVERSE_ERROR,
    SagaLogFactory,
    delete_block_saga,
    server_id,
    server_sagas,
    tear_off_tab_saga,
)
from .query_cases import every_saga, expected_ids


def broken_json_saga() -> object:
    """A completed tear_off_tab whose input, a command and an output are not JSON (yet hold
    its tab id, and the command its workspace id)."""
    saga = tear_off_tab_saga(11, at=80, tab=31, workspace=32)
    saga.input_json = '{"tab_id": "' + server_id(31) + '"'  # cut short
    saga.steps[1].cmd_json = saga.steps[1].cmd_json[:-1]
    saga.steps[1].output_json = "not json " + server_id(31)
    return saga


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return SagaLogFactory(tmp_path_factory.mktemp("server"), SERVER)(
        [*server_sagas(), broken_json_saga()])


@pytest.fixture(scope="module")
def store(server_log: Path) -> Iterator[SagaStore]:
    with SagaStore.open(server_log) as opened:
        yield opened


def ids(sagas: list) -> list[int]:
    return [saga.saga_id for saga in sagas]


def test_the_builders_rows_read_back_as_the_server_wrote_them(store: SagaStore) -> None:
    assert store.format is SERVER and store.warnings == ()
    counts = store.counts()
    assert dict(counts.by_state) == {"running": 0, "completed": 5, "failed": 1,
                                     "compensating": 0, "failed_compensation": 1,
                                     "compensated": 2}
    assert counts.needs_attention == 2  # failed, failed_compensation
    assert ids(store.sagas(SagaQuery(frozenset({"compensated"})))) == [4, 2]
    assert ids(store.sagas()) == [11, 9, 8, 6, 5, 4, 3, 2, 1]  # (no saga 7: ids have gaps)
    assert all(step.target is None for detail in every_saga(store) for step in detail.steps)


def test_an_undo_row_is_marked_with_the_forward_step_it_undoes(store: SagaStore) -> None:
    create, move, undo = store.saga(2).steps
    assert (create.state, create.role) == ("compensated", StepRole.FORWARD)
    assert move.failure_reason == f"tab not found: {server_id(21)}"
    assert (undo.name, undo.role, undo.undoes, undo.is_undo) == (
        "delete_workspace", StepRole.UNDO, 0, True)


def test_a_no_inverse_row_is_no_undo_possible(store: SagaStore) -> None:
    detail = store.saga(8)
    forward, no_inverse = detail.steps
    assert forward.role is StepRole.FORWARD and not forward.is_undo
    assert (no_inverse.role, no_inverse.undoes) == (StepRole.NO_UNDO, 0)
    assert no_inverse.failure_reason == NO_INVERSE_ERROR
    assert detail.saga.failure_reason.startswith("step 1 (delete_tab): ")


def test_a_failed_best_effort_step_in_a_completed_saga(store: SagaStore) -> None:
    detail = store.saga(5)
    assert detail.saga.state == "completed" and detail.saga.failure_reason is None
    delete, layout = detail.steps
    assert not delete.best_effort
    assert (layout.state, layout.best_effort) == ("failed", True)
    assert layout.failure_reason == f"layout not found for {server_id(6)}"
    assert detail.in_flight_step is None
    # the output stays as stored, the reason read from it
    assert layout.output_json == '{"error":"layout not found for ' + server_id(6) + '"}'
    assert len(store.saga(5).steps[0].output_json) < len(delete_block_saga(1).steps[1]
                                                          .output_json)


def test_a_timed_out_saga_keeps_its_step_in_flight(store: SagaStore) -> None:
    detail = store.saga(9)
    assert detail.saga.state == "failed"
    assert detail.saga.failure_reason == "saga 'redock_floating_pane' timed out after 5s"
    assert detail.saga.duration.total_seconds() == 5.0
    assert detail.in_flight_step is detail.steps[0]
    assert detail.steps[0].state == "pending" and detail.steps[0].failure_reason is None


def test_only_a_steps_error_is_its_reason_never_its_events(store: SagaStore) -> None:
    for detail in every_saga(store):
        for step in detail.steps:
            if step.state in ("succeeded", "pending") or step.name == "delete_workspace":
                assert step.failure_reason is None, (detail.saga.saga_id, step)


@pytest.mark.parametrize(("text", "expected"), [
    ('reason:"layout not found"', [5]),        # only in a step's error: a completed saga
    ('reason:"block not found"', [4]),
    ("reason:inverse", [8]),
    ("reason:tab", [8, 2]),  # the saga's reason (8: delete_tab) or a step's (2: tab not found)
    ("reason:layout", [5]),
    ("-reason:not", [11, 9, 8, 6, 3, 1]),
    ("reason:error", []),                       # the key is not the reason
    ("reason:workspace_created", []),           # nor is an event
])
def test_reason_finds_a_steps_error_in_its_output(store: SagaStore, text: str,
                                                  expected: list[int]) -> None:
    query = SagaQuery(text=text)
    assert expected_ids(every_saga(store), query) == expected
    assert ids(list(store.walk(query))) == expected
    assert store.count(query) == len(expected)


@pytest.mark.parametrize(("text", "expected"), [
    (f"ref:{server_id(9)}", [6]),               # a tab id inside the input's tab_ids array
    (f"ref:{server_id(1001)}", [1]),            # the workspace created: in events, a command
    (f"ref:{server_id(21)}", [2]),              # a tab: input, command and the error
    (f"ref:{server_id(9)[:8]}*", [6]),          # a prefix
    (f"ref:{server_id(9)[:8]}", []),            # not a prefix without the *
    (f"ref:{server_id(9).upper()}", []),        # exact: case matters
    (f"-ref:{server_id(9)}", [11, 9, 8, 5, 4, 3, 2, 1]),
    # 11: its input and its command are not JSON, and hold the id quoted: a text test finds
    # it (the output holds it unquoted: no string)
    (f"ref:{server_id(31)}", [11]),
    (f"-ref:{server_id(31)}", [9, 8, 6, 5, 4, 3, 2, 1]),
    ("ref:delete_block", [5, 4, 3]),            # a command's tag is a string too
    ("ref:layout_delete_node", [3]),            # exact: not layout_delete_node_by_block
    ("ref:layout_delete_node*", [5, 3]),
    # A key is quoted text too: found (harmless for ids, which are never keys).
    ("ref:tab_id", [11, 8, 6, 5, 4, 3, 2, 1]),
])
def test_ref_finds_ids_in_inputs_commands_and_outputs(store: SagaStore, text: str,
                                                      expected: list[int]) -> None:
    query = SagaQuery(text=text)
    assert expected_ids(every_saga(store), query) == expected
    assert ids(list(store.walk(query))) == expected
    assert store.count(query) == len(expected)


def test_ref_on_malformed_json_does_not_raise(store: SagaStore) -> None:
    # 32: the workspace in 11's cut-short command only
    assert ids(store.sagas(SagaQuery(text=f"ref:{server_id(32)}*"))) == [11]
    assert store.count(SagaQuery(text=f"-ref:{server_id(32)}")) == 8
