"""Server sagas built by hand, as the store would give them (times as the server stores them,
undo rows placed by kinds.classify_steps the way the store places them): for the triage
summary, timeline and step-view tests."""

from __future__ import annotations

import json
from dataclasses import replace

from saga_inspector.store import Saga, SagaDetail, Step
from saga_inspector.store.formats import SERVER
from saga_inspector.store.formats.server import decode_millis
from saga_inspector.store.kinds import StepRecord, classify_steps

T0_MS = 1_780_409_123_000  # 2026-06-02 14:05:23 UTC
TAB = "5d07a1b2-0c4e-4f7a-9a61-3f2b8c9d0e11"
WORKSPACE = "d56b0c3e-8f21-47d9-b0aa-6c5e4d3b2a19"
NEW_WORKSPACE = "9e8f7a6b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
BLOCK = "3c1f9e2d-7b6a-4c5d-8e9f-a0b1c2d3e4f5"
BLOCK_2 = "7a2b3c4d-5e6f-4a7b-8c9d-e0f1a2b3c4d5"


def cmd(tag: str, /, **fields: object) -> str:
    return json.dumps({"cmd": tag, **fields})


def events(*named: tuple[str, dict[str, object]]) -> str:
    return json.dumps([{"event": event, **fields} for event, fields in named])


def error(message: str) -> str:
    return json.dumps({"error": message})


def sstep(index: int, name: str, state: str, cmd_json: str, output: str | None,
          start_ms: int, end_ms: int | None) -> Step:
    """A server step: times in ms after T0_MS; the reason read from `{"error": ...}`."""
    reason = None
    if output is not None and output.startswith("{"):
        value = json.loads(output)
        reason = value.get("error") if isinstance(value, dict) else None
    return Step(1, index, name, state, None, cmd_json, output,
                decode_millis(T0_MS + start_ms),
                decode_millis(None if end_ms is None else T0_MS + end_ms), reason)


def server_detail(name: str, state: str, given: dict[str, object], *steps: Step,
                  end_ms: int | None = None, reason: str | None = None,
                  saga_id: int = 1) -> SagaDetail:
    """The saga with its steps placed (roles, undo pairs, best effort, in flight) as the
    store places them."""
    saga = Saga(saga_id, name, state, decode_millis(T0_MS),
                decode_millis(None if end_ms is None else T0_MS + end_ms), json.dumps(given),
                reason, len(steps), sum(s.state == "succeeded" for s in steps),
                log_format=SERVER)
    in_flight = state in SERVER.in_flight_states
    places = classify_steps(SERVER.kind(name),
                            [StepRecord(s.step_index, s.name, s.state) for s in steps],
                            frozenset({"succeeded", "compensated"}))
    placed = tuple(replace(s, saga_id=saga_id, in_flight=in_flight and s.state == "pending",
                           role=p.role, undoes=p.undoes, best_effort=p.best_effort)
                   for s, p in zip(steps, places, strict=True))
    return SagaDetail(saga, placed)


# -- the situations ---------------------------------------------------------------------------


def close_pane_compensated() -> SagaDetail:
    """close_pane: the first block deleted, the second refused: `compensated`, nothing undone."""
    return server_detail(
        "close_pane", "compensated", {"tab_id": TAB, "block_ids": [BLOCK, BLOCK_2]},
        sstep(0, "delete_block", "succeeded", cmd("delete_block", block_id=BLOCK), "[]", 1, 4),
        sstep(1, "delete_block", "failed", cmd("delete_block", block_id=BLOCK_2),
              error(f"block not found: {BLOCK_2}"), 5, 6),
        end_ms=7, reason=f"ClosePane: {BLOCK_2}: block not found: {BLOCK_2}")


def tear_off_recovered() -> SagaDetail:
    """tear_off_tab left running by a crash after its workspace was made; the next start
    undid it (an undo row appended hours later)."""
    later = 3 * 3600 * 1000
    return server_detail(
        "tear_off_tab", "compensated", {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace", "compensated", cmd("create_workspace", name=""),
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE, "name": "",
                                            "version": 17})), 2, 9),
        sstep(1, "delete_workspace", "compensated",
              cmd("delete_workspace", workspace_id=NEW_WORKSPACE, force=True), "[]",
              later, later),
        end_ms=later, reason="resumed on srv restart (was running at startup)")


def tear_off_no_inverse() -> SagaDetail:
    """tear_off_tab: both steps done, the server stopped before it was marked completed;
    recovery found no undo for move_tab and undid the workspace."""
    later = 3600 * 1000
    return server_detail(
        "tear_off_tab", "failed_compensation",
        {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace", "compensated", cmd("create_workspace", name=""),
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 3),
        sstep(1, "move_tab", "succeeded",
              cmd("move_tab", tab_id=TAB, src_workspace_id=WORKSPACE,
                  dst_workspace_id=NEW_WORKSPACE, dst_index=0),
              events(("tab_moved", {"tab_id": TAB})), 4, 6),
        sstep(2, "no_inverse_for_move_tab", "failed", "{}",
              error("no inverse derivable from saga log"), later, later),
        sstep(3, "delete_workspace", "compensated",
              cmd("delete_workspace", workspace_id=NEW_WORKSPACE, force=True), "[]",
              later, later),
        end_ms=later,
        reason="step 1 (move_tab): no inverse derivable from saga log — operator review "
               "needed")


def delete_block_timed_out() -> SagaDetail:
    """delete_block: its first step never finished; failed at the 5 s timeout."""
    return server_detail(
        "delete_block", "failed", {"tab_id": TAB, "block_id": BLOCK},
        sstep(0, "delete_block", "pending", cmd("delete_block", block_id=BLOCK), None, 1, None),
        end_ms=5001, reason="saga 'delete_block' timed out after 5s")


def restore_crashed() -> SagaDetail:
    """restore_torn_off_tab: the server stopped while move_tab ran (no index given)."""
    later = 600 * 1000
    return server_detail(
        "restore_torn_off_tab", "failed_compensation",
        {"tab_id": TAB, "source_workspace_id": NEW_WORKSPACE, "dest_workspace_id": WORKSPACE,
         "insert_index": 4294967295},
        sstep(0, "move_tab", "pending",
              cmd("move_tab", tab_id=TAB, src_workspace_id=NEW_WORKSPACE,
                  dst_workspace_id=WORKSPACE, dst_index=4294967295), None, 2, None),
        end_ms=later,
        reason="saga has 1 pending step(s) (crashed mid-dispatch); cannot auto-recover — "
               "operator review needed")


def promote_nothing_to_undo() -> SagaDetail:
    """promote_block_to_tab: left running with no step written; closed at the next start."""
    return server_detail(
        "promote_block_to_tab", "compensated",
        {"block_id": BLOCK, "source_tab_id": TAB, "workspace_id": WORKSPACE},
        end_ms=90_000,
        reason="no succeeded steps to compensate (saga state at restart: running)")


def promote_compensated() -> SagaDetail:
    """promote_block_to_tab: the tab made, the move refused, the tab deleted again."""
    new_tab = "b0b1b2b3-c4c5-4d6e-8f70-8182838485ff"
    return server_detail(
        "promote_block_to_tab", "compensated",
        {"block_id": BLOCK, "source_tab_id": TAB, "workspace_id": WORKSPACE},
        sstep(0, "create_tab", "compensated", cmd("create_tab", workspace_id=WORKSPACE),
              events(("tab_created", {"tab_id": new_tab, "workspace_id": WORKSPACE})), 1, 2),
        sstep(1, "move_block", "failed",
              cmd("move_block", block_id=BLOCK, src_tab_id=TAB, dst_tab_id=new_tab),
              error(f"block not found: {BLOCK}"), 3, 4),
        sstep(2, "delete_tab", "compensated", cmd("delete_tab", tab_id=new_tab, force=True),
              "[]", 5, 6),
        end_ms=7,
        reason=f"PromoteBlockToTab step 2 (MoveBlock): block not found: {BLOCK}")


def tear_off_block_undo_refused() -> SagaDetail:
    """tear_off_block: the tab could not be made, and the workspace's undo was refused."""
    return server_detail(
        "tear_off_block", "failed_compensation", {"block_id": BLOCK, "source_tab_id": TAB},
        sstep(0, "create_workspace", "succeeded", cmd("create_workspace", name=""),
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 2),
        sstep(1, "create_tab", "failed", cmd("create_tab", workspace_id=NEW_WORKSPACE),
              error("workspace is locked"), 3, 4),
        sstep(2, "delete_workspace", "failed",
              cmd("delete_workspace", workspace_id=NEW_WORKSPACE, force=True),
              error(f"workspace not found: {NEW_WORKSPACE}"), 5, 6),
        end_ms=7, reason="TearOffBlock step 2 (CreateTab): workspace is locked")


def delete_block_best_effort_failed() -> SagaDetail:
    """delete_block completed; its best-effort layout clean-up failed."""
    return server_detail(
        "delete_block", "completed", {"tab_id": TAB, "block_id": BLOCK},
        sstep(0, "delete_block", "succeeded", cmd("delete_block", block_id=BLOCK),
              events(("block_deleted", {"block_id": BLOCK})), 1, 3),
        sstep(1, "layout_delete_node_by_block", "failed",
              cmd("layout_delete_node_by_block", tab_id=TAB, block_id=BLOCK),
              error("node not found"), 4, 5),
        end_ms=6)


def tear_off_completed() -> SagaDetail:
    return server_detail(
        "tear_off_tab", "completed", {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace", "succeeded", cmd("create_workspace", name=""),
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 3),
        sstep(1, "move_tab", "succeeded",
              cmd("move_tab", tab_id=TAB, src_workspace_id=WORKSPACE,
                  dst_workspace_id=NEW_WORKSPACE, dst_index=0), "[]", 4, 6),
        end_ms=7)


def redock_running() -> SagaDetail:
    """redock_floating_pane: move_block under way, the saga not ended."""
    return server_detail(
        "redock_floating_pane", "running",
        {"block_id": BLOCK, "source_tab_id": TAB, "target_tab_id": TAB, "dst_index": 2},
        sstep(0, "move_block", "pending", cmd("move_block", block_id=BLOCK), None, 1, None))
