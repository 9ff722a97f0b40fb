"""The triage summary of server sagas, in the server's language: what was asked (which tab,
block or workspace), what each step produced, what was undone and whether it worked,
`compensated` sagas that undid nothing, the step in flight at a crash, the recovery's
reasons and the 5 s timeout, failed best-effort steps, and concrete things to check."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saga_inspector.demo import SagaRow, StepRow, write_saga_log
from saga_inspector.explain import Explanation, explain, explain_text
from saga_inspector.sanitize import is_safe
from saga_inspector.store import SagaDetail, SagaStore, payload
from saga_inspector.store.formats import SERVER
from saga_inspector.store.kinds import SERVER_KINDS, Cause, split_reason, split_server_reason
from saga_inspector.store.states import StepRole
from saga_inspector.timeline import build_timeline

from .server_sagas import (
    BLOCK,
    BLOCK_2,
    NEW_WORKSPACE,
    T0_MS,
    TAB,
    WORKSPACE,
    close_pane_compensated,
    cmd,
    delete_block_best_effort_failed,
    delete_block_timed_out,
    error,
    events,
    promote_compensated,
    promote_nothing_to_undo,
    redock_running,
    restore_crashed,
    server_detail,
    sstep,
    tear_off_block_undo_refused,
    tear_off_completed,
    tear_off_no_inverse,
    tear_off_recovered,
)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def section(explanation: Explanation, title: str) -> list[str]:
    found = [s for s in explanation.sections if s.title.startswith(title)]
    assert found, f"no section {title!r} in {[s.title for s in explanation.sections]}"
    return [" " * line.indent + line.text for line in found[0].lines]


def titles(explanation: Explanation) -> list[str]:
    return [s.title.split(" (")[0] for s in explanation.sections]


def short(value: str) -> str:
    return value[:8] + "…"


# -- the reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "cause", "state"), [
    ("saga 'tear_off_tab' timed out after 5s", Cause.TIMEOUT, None),
    ("resumed on srv restart (was failed at startup)", Cause.RESUMED, "failed"),
    ("no succeeded steps to compensate (saga state at restart: running)",
     Cause.NOTHING_TO_UNDO, "running"),
    ("saga has 2 pending step(s) (crashed mid-dispatch); cannot auto-recover — operator "
     "review needed", Cause.CRASHED_MID_DISPATCH, None),
    ("step 1 (delete_tab): no inverse derivable from saga log — operator review needed",
     Cause.UNDO_INCOMPLETE, None),
    ("TearOffTab step 2 (MoveTab): tab not found: 5d07", Cause.STEP_ERROR, None),
])
def test_the_servers_reasons_are_told_apart(reason: str, cause: Cause, state: str | None) -> None:
    split = split_server_reason(reason)
    assert split.cause is cause and split.first == reason and split.state == state
    recovery = cause in (Cause.RESUMED, Cause.NOTHING_TO_UNDO, Cause.CRASHED_MID_DISPATCH,
                         Cause.UNDO_INCOMPLETE)
    assert (split.recovery == reason) is recovery
    # the launcher's reading is untouched: none of these is one of its prefixes
    assert split_reason(reason).cause is Cause.OTHER


def test_a_recovery_that_could_not_undo_names_each_step() -> None:
    split = split_server_reason(
        "step 1 (move_tab): no inverse derivable from saga log — operator review needed; "
        "step 0 (create_workspace): workspace is locked")
    assert [(p.step_number, p.step_name, p.problem) for p in split.problems] == [
        (1, "move_tab", "no inverse derivable from saga log"),
        (0, "create_workspace", "workspace is locked")]


# -- what was asked ---------------------------------------------------------------------------


def test_what_was_asked_names_the_ids_by_their_input_keys() -> None:
    said = explain(tear_off_completed())
    asked = section(said, "What was asked")
    assert asked[0] == (f"Tear tab {short(TAB)} off workspace {short(WORKSPACE)} into a new "
                        "workspace of its own.")
    assert f"  tab_id               {TAB}" in asked
    assert f"  source_workspace_id  {WORKSPACE}" in asked
    assert titles(said) == ["What was asked", "Outcome", "Steps", "Timeline", "What to check"]


def test_an_insert_index_of_u32_max_means_no_index_given() -> None:
    asked = section(explain(restore_crashed()), "What was asked")
    assert "(no index given: at the end)" in asked[0] and "4294967295" not in asked[0]
    assert "  insert_index         4294967295 (no index given)" in asked


def test_a_list_in_the_input_is_counted_and_given_whole() -> None:
    asked = section(explain(close_pane_compensated()), "What was asked")
    assert asked[0].startswith(f"Close a pane of tab {short(TAB)}: delete its 2 blocks")
    assert f"  block_ids  {BLOCK}, {BLOCK_2}" in asked


# -- the steps and what they produced ---------------------------------------------------------


def test_each_step_says_what_it_sent_produced_and_did() -> None:
    steps = section(explain(tear_off_completed()), "Steps")
    assert steps[0] == "step 0 create_workspace: done after 2.0 ms"
    assert steps[1] == '    sent     create_workspace (name "")'
    assert steps[2] == f"    produced workspace_created (workspace_id {NEW_WORKSPACE})"
    assert steps[3] == f"    did      created workspace {short(NEW_WORKSPACE)}"
    assert "    produced no events" in steps  # move_tab's `[]`
    assert f"    did      moved tab {short(TAB)} to workspace {short(NEW_WORKSPACE)}" in steps
    said = explain(tear_off_completed())
    assert said.cause == "completed"
    assert said.verdict.text == "Completed: every step succeeded, in 7.0 ms."
    assert section(said, "What to check") == ["Nothing to check: every step succeeded."]


def test_a_failed_steps_error_is_its_reason() -> None:
    steps = section(explain(close_pane_compensated()), "Steps")
    assert f"step 1 delete_block: failed: block not found: {BLOCK_2}" in steps


# -- undo ------------------------------------------------------------------------------------


def test_an_undo_that_worked_is_said_with_the_step_it_undid() -> None:
    said = explain(promote_compensated())
    assert said.cause == "step_error"
    assert said.verdict.text == (f"Compensated: step 1 move_block failed (block not found: "
                                 f"{BLOCK}), and what was done before it was undone.")
    steps = section(said, "Steps")
    assert steps[0] == "step 0 create_tab: done, then undone"
    assert "step 2 delete_tab ↶ undo of #0: undo done after 1.0 ms" in steps
    assert section(said, "What was undone") == ["step 0 create_tab: undone by step 2"]
    assert section(said, "What to check") == [
        "Nothing should be left half done: every step that was done was undone."]


def test_an_undo_that_was_refused_leaves_what_it_should_have_undone() -> None:
    said = explain(tear_off_block_undo_refused())
    assert said.verdict.text.startswith("Needs review: step 1 create_tab failed (workspace "
                                        "is locked)")
    assert section(said, "What was undone") == [
        f"step 0 create_workspace: its undo (step 2) failed: workspace not found: "
        f"{NEW_WORKSPACE}"]
    checks = section(said, "What to check")
    assert checks[0] == f"Check: workspace {short(NEW_WORKSPACE)} may be left (created, never " \
                        "deleted)."
    assert "Operator review needed: the server will not try this saga again." in checks


@pytest.mark.parametrize("kind", [name for name, kind in SERVER_KINDS.items() if not kind.undo])
def test_a_compensated_saga_of_a_kind_without_undo_says_nothing_was_undone(kind: str) -> None:
    first = SERVER_KINDS[kind].steps[0].name
    detail = server_detail(kind, "compensated", {},
                           sstep(0, first, "failed", cmd(first), error("not found"), 1, 2),
                           end_ms=3, reason="boom")
    said = explain(detail)
    assert said.verdict.text.startswith("Compensated in name only: step 0 ")
    assert f"a {kind} saga has no undo, so nothing was undone" in said.verdict.text
    assert section(said, "What was undone")[0] == (
        f"Nothing was undone: a {kind} saga has no undo (`compensated` here only means that "
        "it stopped at an error).")


def test_a_compensated_close_pane_names_what_is_left_half_done() -> None:
    said = explain(close_pane_compensated())
    undone = section(said, "What was undone")
    assert f"still done: deleted block {short(BLOCK)}" in undone
    assert section(said, "What to check") == [
        f"Check: block {short(BLOCK)} is gone (a delete is not undone).",
        f"Check: block {short(BLOCK_2)} may still be in tab {short(TAB)}"]


def test_a_close_pane_that_never_reached_a_block_says_it_may_still_be_there() -> None:
    detail = server_detail(
        "close_pane", "compensated", {"tab_id": TAB, "block_ids": [BLOCK, BLOCK_2]},
        sstep(0, "delete_block", "failed", cmd("delete_block", block_id=BLOCK),
              error("tab is locked"), 1, 2), end_ms=3, reason="ClosePane: tab is locked")
    said = explain(detail)
    assert f"delete_block of block {short(BLOCK_2)}: not started" in section(said, "Steps")
    assert f"Check: block {short(BLOCK_2)} was never deleted: it may still be there." in \
        section(said, "What to check")


# -- recovery and the timeout -----------------------------------------------------------------


def test_a_tear_off_recovered_at_a_restart_shows_its_undo_row() -> None:
    said = explain(tear_off_recovered())
    assert said.cause == "resumed"
    assert said.verdict.text == ("Recovered at a server restart (it was running): every step "
                                 "that had succeeded was undone.")
    outcome = section(said, "Outcome")
    assert "recovery  resumed on srv restart (was running at startup)" in outcome
    assert any(line.endswith("(when the next server start recovered it, not when it stopped)")
               for line in outcome)
    steps = section(said, "Steps")
    assert "step 1 delete_workspace ↶ undo of #0: undo done after 0.0 ms" in steps
    assert "move_tab: not started" in steps
    timeline = section(said, "Timeline")
    assert timeline[1].endswith("↶ undo of #0")
    assert "until a server restart closed it" in timeline[-1]


def test_a_step_with_no_inverse_stays_done_and_is_named_to_check() -> None:
    said = explain(tear_off_no_inverse())
    assert said.cause == "undo_incomplete"
    assert said.verdict.text.startswith("Needs review: recovery at a server restart could not")
    steps = section(said, "Steps")
    assert ("step 2 no_inverse_for_move_tab ⊘ no undo possible: no inverse derivable from "
            "saga log") in steps
    assert section(said, "What was undone") == [
        "step 1 move_tab: no undo possible (no inverse derivable from saga log), so it stays "
        "done",
        "step 0 create_workspace: undone by step 3"]
    assert section(said, "What to check")[0] == (
        f"Check: tab {short(TAB)} may be left in workspace {short(NEW_WORKSPACE)}")


def test_the_step_in_flight_at_a_crash_is_the_one_to_check() -> None:
    said = explain(restore_crashed())
    assert said.cause == "crashed_mid_dispatch"
    assert said.verdict.text.startswith("Needs review: the server stopped while step 0 "
                                        "move_tab was under way")
    assert section(said, "Steps")[0].startswith("step 0 move_tab: IN FLIGHT: under way when "
                                                "the saga stopped")
    assert section(said, "What to check")[0] == (
        f"step 0 move_tab was under way when the server stopped: check whether it moved tab "
        f"{short(TAB)} to workspace {short(WORKSPACE)}")
    assert section(said, "What was undone") == [
        "Nothing was undone: a restore_torn_off_tab saga has no undo."]


def test_no_succeeded_steps_means_nothing_was_there_to_undo() -> None:
    said = explain(promote_nothing_to_undo())
    assert said.cause == "nothing_to_undo"
    assert said.verdict.text == ("Closed at a server restart (it was running): no step had "
                                 "succeeded, so there was nothing to undo.")
    assert section(said, "What to check") == [
        "Nothing should be left: no step had taken effect."]


def test_the_five_second_timeout() -> None:
    said = explain(delete_block_timed_out())
    assert said.cause == "timeout"
    assert said.verdict.text.startswith("Timed out: step 0 delete_block did not finish within "
                                        "its 5 s timeout; the server marked the saga failed.")
    assert "still pending" in said.verdict.text
    assert "length    ended 5.00 s after start, 1.0 ms past its 5 s timeout" in \
        section(said, "Outcome")
    timeline = section(said, "Timeline")
    assert "timeout 5 s┊" in timeline[1] and timeline[0].endswith("<- in flight")
    checks = section(said, "What to check")
    assert checks[0].startswith("step 0 delete_block was under way when its 5 s timeout ran "
                                "out")
    assert checks[0].endswith(f"check whether it deleted block {short(BLOCK)}")
    assert "What was undone" not in titles(said)  # failed: nothing tried to undo it yet


def test_a_running_saga_within_its_timeout() -> None:
    said = explain(redock_running())
    assert said.cause == "running"
    assert section(said, "Steps")[0] == ("step 0 move_block: IN FLIGHT: under way the saga "
                                         "has not ended")
    assert "It is within its 5 s timeout: the server is still running it." in \
        section(said, "What to check")


# -- best effort -------------------------------------------------------------------------------


def test_a_completed_saga_with_a_failed_best_effort_step() -> None:
    said = explain(delete_block_best_effort_failed())
    assert said.cause == "completed"
    left = f"block {short(BLOCK)}'s node may be left in the layout of tab {short(TAB)} (an " \
           "empty pane)"
    assert said.verdict.text == ("Completed in 6.0 ms, but best-effort step 1 "
                                 f"layout_delete_node_by_block failed: {left}.")
    assert ("step 1 layout_delete_node_by_block (best effort): failed, and the saga went on "
            "without it: node not found") in section(said, "Steps")
    assert section(said, "What to check") == [f"Check: {left}."]


# -- safety -----------------------------------------------------------------------------------


def test_hostile_ids_and_errors_are_made_visible_and_cut() -> None:
    hostile = "\x1b[31mred\x1b]52;c;Zm9v\x07" + "x" * 500
    detail = server_detail(
        "delete_tab", "compensated", {"tab_id": hostile, "workspace_id": hostile},
        sstep(0, "delete_tab", "failed", cmd("delete_tab", tab_id=hostile), error(hostile),
              1, 2), end_ms=3, reason=hostile)
    text = explain_text(detail)
    assert is_safe(text, multiline=True) and "\x1b" not in text
    assert max(len(line) for line in text.splitlines()) < 400


def test_an_unknown_server_kind_is_listed_as_stored() -> None:
    detail = server_detail("split_pane", "completed", {"tab_id": TAB},
                           sstep(0, "split", "succeeded", cmd("split"), "[]", 1, 2), end_ms=3)
    said = explain(detail)
    assert section(said, "What was asked")[0] == ("A server saga of kind split_pane, which "
                                                  "this tool does not know: its steps are "
                                                  "listed as stored.")
    assert said.cause == "completed"


def test_payloads_that_are_not_json_are_said_so() -> None:
    detail = server_detail("delete_tab", "completed", {"tab_id": TAB},
                           sstep(0, "delete_tab", "succeeded", "{not json", "[oops", 1, 2),
                           end_ms=3)
    steps = section(explain(detail), "Steps")
    assert any("not valid JSON" in line for line in steps)
    assert json.loads(json.dumps(steps))  # plain strings


def test_a_server_saga_never_gets_the_launchers_host_wording() -> None:
    for make in (close_pane_compensated, tear_off_recovered, restore_crashed,
                 delete_block_timed_out, promote_compensated):
        detail: SagaDetail = make()
        text = explain_text(detail)
        assert "host" not in text and "launcher" not in text, make.__name__


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["cmd", "event", "error", "tab_id", "block_id", "block_ids", "tab_ids",
                         "workspace_id", "insert_index", "dst_workspace_id"]), inner,
        max_size=4),
    max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from([*SERVER_KINDS, "unknown_kind"]),
       state=st.sampled_from(["running", "completed", "failed", "compensating", "compensated",
                              "failed_compensation", "odd"]),
       given_input=_JSON, rows=st.lists(st.tuples(
           st.sampled_from(["create_workspace", "move_tab", "delete_block", "delete_tab",
                            "delete_workspace", "compensate", "no_inverse_for_move_tab",
                            "layout_delete_node"]),
           st.sampled_from(["pending", "succeeded", "failed", "compensated", "odd"]),
           _JSON, _JSON), max_size=5),
       reason=st.none() | st.sampled_from([
           "resumed on srv restart (was failed at startup)", "step 9 (x): y",
           "saga 'x' timed out after 5s", "no succeeded steps to compensate (saga state at "
           "restart: failed)", "saga has 3 pending step(s) (crashed mid-dispatch)"]))
def test_any_payloads_and_rows_are_summarised_without_an_error(
        kind: str, state: str, given_input: object, rows: list[tuple[str, str, object, object]],
        reason: str | None) -> None:
    steps = [sstep(n, name, row_state, json.dumps(sent), json.dumps(out), n, n + 1)
             for n, (name, row_state, sent, out) in enumerate(rows)]
    detail = server_detail(kind, state, {}, *steps, end_ms=9, reason=reason)
    detail = SagaDetail(replace(detail.saga, input_json=json.dumps(given_input)), detail.steps)
    text = explain_text(detail)
    assert is_safe(text, multiline=True) and text.startswith("saga 1 · ")


def test_a_server_file_read_by_the_store_is_explained_the_same(tmp_path: Path) -> None:
    """The hand-built details mean what the store gives: a recovered tear-off written as the
    server writes it (ms times, no target, the reason in the output) reads to the same text."""
    built = tear_off_no_inverse()
    rows = [SagaRow(1, built.saga.name, built.saga.state, T0_MS, T0_MS + 3600 * 1000,
                    built.saga.input_json, built.saga.failure_reason,
                    [StepRow(s.step_index, s.name, s.state, s.cmd_json, None,
                             int(s.started_at.raw), int(s.ended_at.raw), s.output_json)
                     for s in built.steps if s.started_at and s.ended_at])]
    path = write_saga_log(tmp_path / "sagas.db", rows, log_format=SERVER)
    with SagaStore.open(path) as store:
        assert store.format is SERVER
        read = store.saga(1)
    assert read is not None
    assert [(s.role, s.undoes, s.failure_reason) for s in read.steps] == [
        (s.role, s.undoes, s.failure_reason) for s in built.steps]
    assert explain_text(read) == explain_text(built)


# -- a saga of thousands of steps -------------------------------------------------------------


def close_pane_of(blocks: int) -> SagaDetail:
    """close_pane of `blocks` blocks: three quarters deleted, the next refused, the rest
    never reached (its `compensated` undid nothing: a close has no undo). The ids are
    shorter than the server's, so that the input stays small enough to be read."""
    ids = [f"{n:08x}abcd" for n in range(blocks)]
    done = blocks * 3 // 4
    steps = [sstep(n, "delete_block", "succeeded", cmd("delete_block", block_id=ids[n]),
                   json.dumps([{"event": "block_deleted", "block_id": ids[n]}]), n, n + 1)
             for n in range(done)]
    steps.append(sstep(done, "delete_block", "failed", cmd("delete_block", block_id=ids[done]),
                       error("tab is locked"), done, done + 1))
    return server_detail("close_pane", "compensated", {"tab_id": TAB, "block_ids": ids},
                         *steps, end_ms=done + 2, reason="ClosePane: tab is locked")


def test_a_close_pane_of_2000_blocks_is_read_once_and_said_in_bounded_lines(
        monkeypatch: pytest.MonkeyPatch) -> None:
    detail = close_pane_of(2000)
    parsed = 0

    def counting(parse: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object, **kwargs: object) -> object:
            nonlocal parsed
            parsed += 1
            return parse(*args, **kwargs)
        return counted

    with monkeypatch.context() as patched:
        # Whoever parses a payload is counted: the one payload reader (which keeps its own
        # decoder, bypassing json.loads) and json.loads for anyone who calls it directly.
        patched.setattr(payload, "_loads", counting(payload._loads))
        patched.setattr(json, "loads", counting(json.loads))
        text = explain_text(detail)
    # Each payload once (a command and an output a step, the input): linear in the steps,
    # where reading every other step's events for each sentence was 2000 times 2000.
    assert 0 < parsed <= 2 * len(detail.steps) + 10
    # Bounded: as many lines as for a tenth of the blocks, and deterministic.
    assert len(text.splitlines()) == len(explain_text(close_pane_of(200)).splitlines()) < 150
    assert text == explain_text(detail)
    said = explain(detail)
    checks = section(said, "What to check")
    assert checks[:2] == ["Check: block 00000000… is gone (a delete is not undone).",
                          "Check: block 00000001… is gone (a delete is not undone)."]
    assert checks[10] == "… 1490 more like these"
    assert checks[11] == f"Check: block {'000005dc'}… may still be in tab {short(TAB)}"
    assert checks[12] == "Check: block 000005dd… was never deleted: it may still be there."
    assert checks[22] == "… 489 more like these"
    assert len(checks) == 23
    undone = section(said, "What was undone")
    assert undone[1:3] == ["still done: deleted block 00000000…",
                           "still done: deleted block 00000001…"]
    assert "… 1490 more like these" in undone and len(undone) == 12
    steps = section(said, "Steps")
    assert "… 1489 more steps, not listed here (`show` lists them all)" in steps
    assert "delete_block of block 000005dd…: not started" in steps
    assert steps[-1] == "… 489 more like these" and len(steps) == 60


def test_a_saga_with_many_undo_rows_lists_ten_of_a_kind() -> None:
    rows = [sstep(0, "create_workspace", "compensated", cmd("create_workspace"),
                  events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 2),
            *(sstep(n, "compensate", "compensated", "", "[]", n, n) for n in range(1, 300))]
    said = explain(server_detail("tear_off_tab", "compensated",
                                 {"tab_id": TAB, "source_workspace_id": WORKSPACE}, *rows,
                                 end_ms=400, reason="resumed on srv restart (was running "
                                                    "at startup)"))
    undone = section(said, "What was undone")
    assert undone[0] == "step 0 create_workspace: undone by step 1"
    assert undone[10] == "… 289 more like these" and len(undone) == 11


# -- a step without a command ------------------------------------------------------------------


def test_only_recoverys_fallback_undo_is_said_to_be_one() -> None:
    detail = server_detail(
        "tear_off_tab", "compensated", {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace", "compensated", "",
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 2),
        replace(sstep(1, "move_tab", "compensated", "", "[]", 3, 4), cmd_json=None),
        sstep(2, "compensate", "compensated", "", "[]", 5, 6),
        end_ms=7, reason="resumed on srv restart (was running at startup)")
    steps = section(explain(detail), "Steps")
    assert steps.count("    sent     no command stored") == 2  # empty, and not stored at all
    assert steps.count("    sent     no command (a fallback undo)") == 1
    assert steps[steps.index("    sent     no command (a fallback undo)") - 1].startswith(
        "step 2 compensate ↶ undo")


# -- a recovery that names several steps ------------------------------------------------------


def test_a_recovery_that_could_not_undo_several_steps_names_each_once() -> None:
    built = tear_off_no_inverse()
    reason = ("step 1 (move_tab): no inverse derivable from saga log — operator review "
              "needed; step 0 (create_workspace): workspace is locked")
    detail = SagaDetail(replace(built.saga, failure_reason=reason), built.steps)
    outcome = section(explain(detail), "Outcome")
    recovery = outcome.index("recovery  could not undo 2 steps:")
    assert outcome[recovery + 1:] == [
        "          step 1 (move_tab): no inverse derivable from saga log",
        "          step 0 (create_workspace): workspace is locked"]
    assert sum("no inverse derivable" in line for line in outcome) == 1


def test_a_recovery_that_names_one_step_gives_its_reason_once() -> None:
    outcome = section(explain(tear_off_no_inverse()), "Outcome")
    assert outcome[-1] == ("recovery  step 1 (move_tab): no inverse derivable from saga log "
                           "— operator review needed")
    assert sum("no inverse derivable" in line for line in outcome) == 1


# -- a step number no int holds ---------------------------------------------------------------


def test_a_step_number_of_thousands_of_digits_is_read_as_a_steps_error() -> None:
    reason = f"step {'9' * 5000} (move_tab): tab not found"
    assert split_server_reason(reason).cause is Cause.STEP_ERROR
    assert split_server_reason(f"step {'9' * 18} (x): y").problems[0].step_number == int(
        "9" * 18)
    detail = server_detail(
        "tear_off_tab", "failed_compensation", {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace", "succeeded", cmd("create_workspace"), "[]", 1, 2),
        end_ms=3, reason=reason)
    assert not build_timeline(detail).closed_at_restart
    said = explain(detail)
    assert said.cause == "step_error"
    assert is_safe(explain_text(detail), multiline=True)


# -- steps a newer server renamed or added ----------------------------------------------------


def test_a_renamed_first_step_and_an_added_step_are_not_undo_rows() -> None:
    detail = server_detail(
        "tear_off_tab", "completed", {"tab_id": TAB, "source_workspace_id": WORKSPACE},
        sstep(0, "create_workspace_v2", "succeeded", cmd("create_workspace_v2"),
              events(("workspace_created", {"workspace_id": NEW_WORKSPACE})), 1, 2),
        sstep(1, "move_tab", "succeeded",
              cmd("move_tab", tab_id=TAB, dst_workspace_id=NEW_WORKSPACE), "[]", 3, 4),
        sstep(2, "focus_tab", "succeeded", cmd("focus_tab", tab_id=TAB), "[]", 5, 6),
        end_ms=7)
    assert [step.role for step in detail.steps] == [StepRole.FORWARD] * 3
    said = explain(detail)
    steps = section(said, "Steps")
    assert "↶" not in "\n".join(steps)
    assert "step 2 focus_tab: done after 1.0 ms" in steps
    assert steps.count("    a step this saga kind does not have") == 2
    assert said.verdict.text == "Completed: every step succeeded, in 7.0 ms."
