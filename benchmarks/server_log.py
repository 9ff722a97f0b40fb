"""A huge server saga log (`sagas.db`) for the benchmarks, built fast.

`server_sagas(count, seed)` yields SagaRow/StepRow shaped like the server's rows (see
shared/reference/server-saga-log.md): the nine kinds weighted like a real file (the reaper's
`close_pane` and `delete_block` first), 1-4 forward steps, undo rows after compensation and
recovery, `no_inverse_for_` rows, step errors as `{"error": ...}`, integer millisecond times,
UUID ids, gaps in the ids. Written by `demo.write_saga_log(..., log_format=SERVER)`.

The demo's own server generator (`demo.iter_server_demo_sagas`) was being written at the same
time; this one is lean on purpose (no explain-grade detail, ~1 min per million sagas), and
only its shape matters to the figures: row sizes, step counts and how states are spread.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from saga_inspector.demo import SagaRow, StepRow

# Real files: almost everything completes; failures are compensated; what recovery could not
# undo (a step in flight at a crash) is failed_compensation, rare and spread over the file.
# Recovery at each server start resolves every running, compensating and failed saga, so
# those are only found among the sagas since the last start (the newest RECENT ones).
STATE_WEIGHTS = {"completed": 9450, "compensated": 545, "failed_compensation": 5}
RECENT = 5_000
RECENT_WEIGHTS = {"completed": 9200, "compensated": 520, "failed": 200, "running": 40,
                  "compensating": 20, "failed_compensation": 20}
KIND_WEIGHTS = {
    "close_pane": 30, "delete_block": 24, "delete_tab": 12, "tear_off_tab": 8,
    "redock_floating_pane": 8, "restore_torn_off_tab": 5, "tear_off_block": 5,
    "promote_block_to_tab": 4, "delete_workspace": 4,
}
_UNDO = {"tear_off_tab": "delete_workspace", "tear_off_block": "delete_workspace",
         "promote_block_to_tab": "delete_tab"}
_STATES, _STATE_W = zip(*STATE_WEIGHTS.items(), strict=True)
_RECENT, _RECENT_W = zip(*RECENT_WEIGHTS.items(), strict=True)
_KINDS, _KIND_W = zip(*KIND_WEIGHTS.items(), strict=True)
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NO_INDEX = 4294967295


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

    def inputs(self, kind: str) -> dict[str, object]:
        u = self.uuid
        return {
            "close_pane": lambda: {"tab_id": u(), "block_ids": [u() for _ in
                                                                range(self.rng.choice((1, 1, 2)))]},
            "delete_block": lambda: {"tab_id": u(), "block_id": u()},
            "delete_tab": lambda: {"workspace_id": u(), "tab_id": u()},
            "tear_off_tab": lambda: {"tab_id": u(), "source_workspace_id": u()},
            "redock_floating_pane": lambda: {"block_id": u(), "source_tab_id": u(),
                                             "target_tab_id": u(), "dst_index": 0},
            "restore_torn_off_tab": lambda: {"tab_id": u(), "source_workspace_id": u(),
                                             "dest_workspace_id": u(),
                                             "insert_index": NO_INDEX},
            "tear_off_block": lambda: {"block_id": u(), "source_tab_id": u()},
            "promote_block_to_tab": lambda: {"block_id": u(), "source_tab_id": u(),
                                             "workspace_id": u()},
            "delete_workspace": lambda: {"workspace_id": u(), "tab_ids": [u(), u()],
                                         "block_count": 3},
        }[kind]()

    def forward(self, kind: str, given: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
        """(step name, command) of the kind's forward steps for this input."""
        if kind == "close_pane":
            blocks = given["block_ids"]
            assert isinstance(blocks, list)
            steps = [("delete_block", {"cmd": "delete_block", "block_id": b}) for b in blocks]
            return [*steps, ("layout_delete_node", {"cmd": "layout_delete_node",
                                                    "tab_id": given["tab_id"]})]
        if kind == "delete_block":
            return [("delete_block", {"cmd": "delete_block", "block_id": given["block_id"]}),
                    ("layout_delete_node_by_block", {"cmd": "layout_delete_node_by_block",
                                                     "tab_id": given["tab_id"],
                                                     "block_id": given["block_id"]})]
        if kind == "delete_workspace":
            tabs = given["tab_ids"]
            assert isinstance(tabs, list)
            return [*[("delete_tab", {"cmd": "delete_tab", "tab_id": t, "force": True})
                      for t in tabs],
                    ("delete_workspace", {"cmd": "delete_workspace", "force": True,
                                          "workspace_id": given["workspace_id"]})]
        names = {"delete_tab": ["delete_tab"], "tear_off_tab": ["create_workspace", "move_tab"],
                 "redock_floating_pane": ["move_block"],
                 "restore_torn_off_tab": ["move_tab", "delete_workspace"],
                 "tear_off_block": ["create_workspace", "create_tab", "move_block"],
                 "promote_block_to_tab": ["create_tab", "move_block"]}[kind]
        return [(name, {"cmd": name, **{k: v for k, v in given.items()
                                        if k.endswith("_id")}}) for name in names]

    def output(self, name: str) -> str:
        if name == "create_workspace":
            return _compact([{"event": "workspace_created", "workspace_id": self.uuid(),
                              "name": "", "version": self.rng.randrange(1, 9000)}])
        if name == "create_tab":
            return _compact([{"event": "tab_created", "tab_id": self.uuid(),
                              "version": self.rng.randrange(1, 9000)}])
        if name == "layout_delete_node_by_block":  # the whole layout tree (kept short here)
            return _compact([{"event": "layout_changed", "layout": {
                "root": {"node_id": self.uuid(), "children": [
                    {"node_id": self.uuid(), "block_id": self.uuid(), "size": 50}
                    for _ in range(3)]}}}])
        return "[]"

    def saga(self, saga_id: int, started: int, recent: bool) -> SagaRow:
        rng = self.rng
        kind = rng.choices(_KINDS, _KIND_W)[0]
        state = (rng.choices(_RECENT, _RECENT_W) if recent else rng.choices(_STATES, _STATE_W))[0]
        given = self.inputs(kind)
        forward = self.forward(kind, given)
        steps: list[StepRow] = []
        at = started + rng.randrange(0, 3)

        def add(name: str, cmd: dict[str, object] | str, step_state: str, out: str | None,
                done: bool = True) -> None:
            nonlocal at
            began = at
            at += rng.randrange(1, 40)
            steps.append(StepRow(len(steps), name, step_state,
                                 cmd if isinstance(cmd, str) else _compact(cmd), None,
                                 began, at if done else None, out))

        reason: str | None = None
        # How far the forward steps got: all (completed), or up to a failing / pending one.
        stop = len(forward) if state == "completed" else rng.randrange(len(forward))
        for name, cmd in forward[:stop]:
            add(name, cmd, "succeeded", self.output(name))
        failing = forward[stop] if stop < len(forward) else None
        if state == "completed" and kind in ("delete_block", "restore_torn_off_tab") \
                and rng.random() < 0.03:  # a best-effort clean-up that failed
            last = steps[-1]
            last.state, last.output_json = "failed", _compact({"error": "node not found"})
        elif failing is not None and state in ("running", "failed", "failed_compensation"):
            add(failing[0], failing[1], "pending", None, done=False)
            if state == "failed":
                reason = f"saga '{kind}' timed out after 5s"
            elif state == "failed_compensation":
                reason = ("saga has 1 pending step(s) (crashed mid-dispatch); cannot "
                          "auto-recover — operator review needed")
        elif failing is not None:  # compensated / compensating: the step failed, then undo
            error = f"{failing[0].split('_')[-1]} not found: {self.uuid()}"
            add(failing[0], failing[1], "failed", _compact({"error": error}))
            reason = f"{kind} step {stop + 1} ({failing[0]}): {error}"
            undo = _UNDO.get(kind)
            if undo is not None and stop > 0:
                steps[0].state = "compensated"
                add(undo, {"cmd": undo, "force": True}, "pending" if state == "compensating"
                    else "compensated", None if state == "compensating" else "[]",
                    done=state != "compensating")
            elif stop > 0 and rng.random() < 0.3:  # recovery found nothing to undo it with
                add(f"no_inverse_for_{steps[0].name}", "{}", "failed",
                    _compact({"error": "no inverse derivable from saga log"}))
        terminal = None if state in ("running", "compensating") else at + rng.randrange(0, 3)
        return SagaRow(saga_id, kind, state, started, terminal, _compact(given), reason, steps)


def server_sagas(count: int, seed: int = 0) -> Iterator[SagaRow]:
    """`count` server-shaped sagas, oldest first, ids growing with a gap now and then."""
    maker = _Maker(seed)
    saga_id, started = 1, START_MS
    for n in range(count):
        yield maker.saga(saga_id, started, recent=n >= count - RECENT)
        saga_id += 1 if maker.rng.random() > 0.001 else maker.rng.randrange(2, 6)
        started += maker.rng.randrange(50, 30_000)
