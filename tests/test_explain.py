"""The triage summary (`explain`): every saga kind and outcome of the demo, recovered sagas,
kinds and steps this tool does not know, broken JSON, hostile text; and `show --explain`."""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import saga_inspector
from saga_inspector import cli
from saga_inspector.demo import (
    REASON_PIPE,
    REASON_RESTART_RUNNING,
    REASON_TIMEOUT,
    REASON_WINDOW,
    RECOVERED_FROM_FAILED,
    write_demo,
)
from saga_inspector.explain import (
    Explanation,
    explain,
    explain_text,
    explanation_to_dict,
    render_text,
)
from saga_inspector.report import LABEL_WIDTH, render_show
from saga_inspector.sanitize import is_safe
from saga_inspector.store import SagaDetail, SagaStore
from saga_inspector.store.kinds import Cause, split_reason

from .factory import (
    HOSTILE,
    HOSTILE_SHOWN,
    LOOSE_DDL,
    T0,
    SagaLogFactory,
    cleanup_saga,
    compact,
    recovered_saga,
    respawn_saga,
    ts,
)

NOW = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)  # the morning after the demo's last saga


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times in the summary are local: pinned to UTC so the expected text is exact."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def read(path: Path, saga_id: int) -> SagaDetail:
    with SagaStore.open(path) as store:
        detail = store.saga(saga_id)
    assert detail is not None
    return detail


def one(make_log: SagaLogFactory, saga: object, **kwargs: object) -> SagaDetail:
    path = make_log([saga], **kwargs)
    return read(path, saga.saga_id)  # type: ignore[attr-defined]


def section(explanation: Explanation, title: str) -> list[str]:
    found = [s for s in explanation.sections if s.title.startswith(title)]
    assert found, f"no section {title!r}"
    return [" " * line.indent + line.text for line in found[0].lines]


# -- every kind and outcome of the demo --------------------------------------------------------


def expected_cause(state: str, reason: str | None) -> str:
    if state in ("completed", "running", "compensating"):
        return state
    if reason is None:
        return "no_reason"
    return {"saga timeout": "timeout", "host pipe send failed": "host_pipe",
            "host action failed": "host_action",
            "launcher restarted while saga in state": "launcher_restart"}.get(
        next((p for p in ("saga timeout", "host pipe send failed", "host action failed",
                          "launcher restarted while saga in state") if reason.startswith(p)),
             ""), "other")


VERDICT_START = {
    "completed": "Completed: every step got its reply",
    "running": "Not ended: waiting for the host to answer",
    "compensating": "Compensating:",
    "timeout": "Timed out: the host did not answer",
    "host_pipe": "Failed: ",
    "host_action": "Failed: the host could not carry out spawn_pool_window: window not found",
    "launcher_restart": "Left unresolved: the launcher stopped while waiting for the host",
    "other": "Failed: ",
}
AWAITED = {"issue_cmd_host_spawn_pool_window": "pool_window_added",
           "issue_cmd_host_reap_panes": "panes_reaped",
           "issue_cmd_host_drain_pool_if_last": "pool_drained or pool_not_last"}
COMMAND = {"issue_cmd_host_spawn_pool_window": "spawn_pool_window",
           "issue_cmd_host_reap_panes": "reap_panes",
           "issue_cmd_host_drain_pool_if_last": "drain_pool_if_last"}


@pytest.fixture(scope="module")
def demo_details(tmp_path_factory: pytest.TempPathFactory) -> list[SagaDetail]:
    path = write_demo(tmp_path_factory.mktemp("demo") / "launcher-sagas.db")
    with SagaStore.open(path) as store:
        return [store.saga(saga.saga_id) for saga in store.sagas(limit=1000)]


def test_the_demo_has_every_kind_and_outcome(demo_details: list[SagaDetail]) -> None:
    seen = {(d.saga.name, expected_cause(d.saga.state, d.saga.failure_reason))
            for d in demo_details}
    for kind in ("pool_respawn_on_promote", "window_cleanup_cascade"):
        for cause in ("completed", "timeout", "host_pipe", "launcher_restart"):
            assert (kind, cause) in seen
    assert ("pool_respawn_on_promote", "host_action") in seen
    for cause in ("running", "compensating"):
        assert any(found == cause for _kind, found in seen)


def test_every_demo_saga_is_explained_by_its_cause(demo_details: list[SagaDetail]) -> None:
    for detail in demo_details:
        saga = detail.saga
        explanation = explain(detail, NOW)
        cause = expected_cause(saga.state, saga.failure_reason)
        assert explanation.cause == cause, saga.saga_id
        assert explanation.verdict.text.startswith(VERDICT_START[cause]), saga.saga_id
        text = render_text(explanation)
        assert text.startswith(f"saga {saga.saga_id} · {saga.name} · {saga.state}\n")
        label = json.loads(saga.input_json).popitem()[1]
        assert label in section(explanation, "What it was for")[0]
        stuck = detail.in_flight_step
        if stuck is not None:  # what was sent, where, and which reply never came
            steps = "\n".join(section(explanation, "Steps"))
            assert f"step {stuck.step_index} {stuck.name} → host: IN FLIGHT" in steps
            if cause == "host_pipe":  # the command never left: no reply was coming
                assert f"tried    {COMMAND[stuck.name]}" in steps
                assert f"awaited  {AWAITED[stuck.name]}, which could not come" in steps
            else:
                assert f"sent     {COMMAND[stuck.name]}" in steps
                assert f"awaited  {AWAITED[stuck.name]}, which never came" in steps
        assert section(explanation, "What to check")
        assert is_safe(text, multiline=True)


def test_a_completed_cleanup(make_log: SagaLogFactory) -> None:
    explanation = explain(one(make_log, cleanup_saga(41, drained=False)))
    assert explanation.cause == "completed"
    assert explanation.verdict.text == "Completed: every step got its reply, in 37 ms."
    assert section(explanation, "What it was for") == [
        "Clean up after window main closed: reap its panes on the host, then drain the window "
        "pool if that was the last window."]
    assert section(explanation, "Steps (2 of 2 done)") == [
        "step 0 issue_cmd_host_reap_panes → host: done after 30 ms",
        "    sent     reap_panes (label main)",
        "    reply    panes_reaped (label main, version 1231)",
        "step 1 issue_cmd_host_drain_pool_if_last → host: done after 5.0 ms",
        "    sent     drain_pool_if_last (label main)",
        "    reply    pool_not_last (label main, version 1232)",
    ]
    assert section(explanation, "What to check") == ["Nothing to check: every step was answered."]


def test_a_respawn_that_timed_out(make_log: SagaLogFactory) -> None:
    explanation = explain(one(make_log, respawn_saga(43, "failed", reason=REASON_TIMEOUT)))
    label = f"window-pool-{43:032x}"
    assert explanation.cause == Cause.TIMEOUT
    assert explanation.verdict.text == ("Timed out: the host did not answer spawn_pool_window "
                                        "within 5 s.")
    assert section(explanation, "What it was for")[0].startswith(
        f"Respawn a pool window after {label} was promoted out of the pool")
    outcome = section(explanation, "Outcome")
    assert "length    ended 5.01 s after start, 10 ms past its 5 s timeout" in outcome
    assert "failure   saga timeout" in outcome
    checks = section(explanation, "What to check")
    assert checks[0].startswith("The host never sent pool_window_added for spawn_pool_window "
                                "(sent 2026-06-02 14:05:23.481 +00:00)")
    assert checks[1] == ("The host may still have done it after the launcher gave up: check "
                         "whether a new pool window was added.")


def test_the_outcome_lines_up_its_labels_like_show(make_log: SagaLogFactory) -> None:
    detail = one(make_log, respawn_saga(43, "failed", reason=f"{REASON_TIMEOUT}   "))
    shown = render_show(detail).splitlines()
    outcome = section(explain(detail), "Outcome")
    for label in ("started", "ended", "failure"):
        (line,) = [line for line in outcome if line.startswith(label + " ")]
        assert f"  {line.rstrip()}" in shown
        assert line[LABEL_WIDTH] == " " and line[len(label):LABEL_WIDTH].strip() == ""


def test_a_cleanup_stuck_in_its_drain_asks_whether_the_pool_was_drained(
    make_log: SagaLogFactory,
) -> None:
    saga = cleanup_saga(44, "failed", drained=None, reason=REASON_TIMEOUT)
    saga.ended_at = ts(30.02)
    explanation = explain(one(make_log, saga))
    assert explanation.verdict.text == ("Timed out: the host did not answer drain_pool_if_last "
                                        "within 30 s.")
    steps = section(explanation, "Steps (1 of 2 done)")
    assert steps[3:] == [
        "step 1 issue_cmd_host_drain_pool_if_last → host: IN FLIGHT: no reply after 29.99 s",
        "    sent     drain_pool_if_last (label main)",
        "    awaited  pool_drained or pool_not_last, which never came",
    ]
    assert section(explanation, "What to check")[1].endswith(
        "check whether the pool was drained (if main was the last window).")


def test_a_broken_host_pipe(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(45, "failed", drained=None, reason=REASON_PIPE, label="window-x")
    saga.steps = saga.steps[:1]
    saga.steps[0].state, saga.steps[0].ended_at, saga.steps[0].output_json = "pending", None, None
    explanation = explain(one(make_log, saga))
    assert explanation.cause == Cause.HOST_PIPE
    assert explanation.verdict.text == ("Failed: reap_panes could not be sent, the host pipe "
                                        "was broken.")
    steps = section(explanation, "Steps (0 of 1 done)")
    # The command never left the launcher: no reply was on its way.
    assert steps[:3] == [
        "step 0 issue_cmd_host_reap_panes → host: IN FLIGHT: its command never reached the "
        "host (the pipe was broken)",
        "    tried    reap_panes (label window-x)",
        "    awaited  panes_reaped, which could not come",
    ]
    assert steps[-1] == ("issue_cmd_host_drain_pool_if_last: not started "
                         "(drain_pool_if_last was not sent)")
    checks = section(explanation, "What to check")
    assert "(write to host pipe failed: Broken pipe (os error 32))" in checks[0]
    assert "the host process had exited or closed its end" in checks[0]
    assert checks[1] == ("The command never reached the host: unless something else did the "
                         "work, the panes of window-x are probably still there.")


def test_a_host_action_that_failed(make_log: SagaLogFactory) -> None:
    saga = respawn_saga(46, "failed", reason=REASON_WINDOW)
    explanation = explain(one(make_log, saga))
    assert explanation.cause == Cause.HOST_ACTION
    assert explanation.verdict.text == ("Failed: the host could not carry out spawn_pool_window: "
                                        "window not found.")
    assert "The window it acted on was gone by then" in section(explanation, "What to check")[0]


def test_a_saga_left_running_at_a_restart(make_log: SagaLogFactory) -> None:
    explanation = explain(one(make_log, recovered_saga(47)))
    assert explanation.cause == Cause.LAUNCHER_RESTART
    assert explanation.verdict.text.startswith("Left unresolved: the launcher stopped while "
                                               "waiting for the host to answer drain_pool_if_last")
    outcome = section(explanation, "Outcome")
    assert outcome[2] == ("ended     2026-06-02 18:05:23.481 +00:00 (when the next launcher start "
                          "closed it, not when it stopped)")
    assert f"failure   {REASON_RESTART_RUNNING}" in outcome
    checks = section(explanation, "What to check")
    assert checks[0].startswith("The launcher stopped while this saga waited for pool_drained "
                                "or pool_not_last: its log before 2026-06-02 18:05:23.481 +00:00")
    assert "Recovery only marked the saga failed; it retried nothing." in checks[1]
    timeline = "\n".join(section(explanation, "Timeline"))
    assert "until a launcher restart closed it" in timeline


def test_a_failed_saga_recovered_later_splits_its_reason(make_log: SagaLogFactory) -> None:
    reason = f"{REASON_TIMEOUT} | {RECOVERED_FROM_FAILED}"
    saga = respawn_saga(48, "failed_compensation", reason=reason)
    saga.ended_at = ts(3 * 3600)
    explanation = explain(one(make_log, saga))
    assert explanation.cause == Cause.TIMEOUT  # what stopped it first
    assert explanation.verdict.text.endswith(
        "The launcher's next start then closed it as failed_compensation.")
    outcome = section(explanation, "Outcome")
    assert "failure   saga timeout" in outcome
    assert "recovery  launcher restarted while saga in state 'failed'" in outcome
    assert section(explanation, "What to check")[-1].startswith(
        "The launcher also restarted before this saga was resolved")
    assert split_reason(reason).recovery == RECOVERED_FROM_FAILED.removeprefix("recovered: ")


def test_a_running_saga_within_and_past_its_timeout(make_log: SagaLogFactory) -> None:
    detail = one(make_log, cleanup_saga(49, "running", drained=None))
    soon = explain(detail, T0 + timedelta(seconds=3))
    assert soon.verdict.text == ("Not ended: waiting for the host to answer drain_pool_if_last "
                                 "for 3.00 s.")
    assert section(soon, "What to check")[0].startswith("It is within its 30 s timeout")
    late = explain(detail, T0 + timedelta(hours=2))
    assert late.verdict.text.endswith("for 2h 00m, far past its timeout: its launcher is "
                                      "probably gone.")
    assert "check whether a launcher is running" in section(late, "What to check")[0]


# -- what this tool does not know ----------------------------------------------------------------


def test_an_unknown_kind_with_extra_steps_is_still_summarised(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(50, "failed", drained=None, reason="quota exceeded")
    saga.name = "window_teleport"
    saga.input_json = compact({"where": "mars"})
    saga.steps[1].name = "issue_cmd_host_teleport"
    saga.steps[1].cmd_json = compact({"cmd": "teleport", "to": "mars", "speed": 9})
    explanation = explain(one(make_log, saga))
    assert explanation.cause == Cause.OTHER
    assert explanation.verdict.text == "Failed: quota exceeded."
    assert section(explanation, "What it was for") == [
        "A saga of kind window_teleport, which this tool does not know: its steps are listed "
        "as stored.",
        'Its input: {"where":"mars"}']
    steps = section(explanation, "Steps")
    assert "step 1 issue_cmd_host_teleport → host: IN FLIGHT: no reply after 6.0 ms" in steps
    assert "    sent     teleport (to mars, speed 9)" in steps
    assert "    awaited  its reply, which never came" in steps
    assert section(explanation, "What to check")[0].startswith(
        "This failure is not one this tool knows")
    assert "no timeout known for this saga kind" in render_text(explanation)


def test_a_step_the_kind_does_not_have_is_pointed_out(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(51)
    saga.steps[1].name = "issue_cmd_host_polish_panes"
    steps = section(explain(one(make_log, saga)), "Steps")
    assert steps[4] == "    a step this saga kind does not have"


def test_an_unknown_state(make_log: SagaLogFactory) -> None:
    explanation = explain(one(make_log, cleanup_saga(52, "paused"), ddl=LOOSE_DDL))
    assert explanation.cause == "unknown_state"
    assert explanation.verdict.text == "In state paused, which this tool does not know."


def test_broken_and_huge_payloads(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(53, "failed", drained=None, reason=REASON_TIMEOUT)
    saga.input_json = '{"closed_label": "main"'
    saga.steps[0].cmd_json = "reap everything"
    saga.steps[0].output_json = json.dumps({"event": "panes_reaped", "panes": ["p"] * 40_000})
    saga.steps[1].cmd_json = None
    explanation = explain(one(make_log, saga))
    purpose = section(explanation, "What it was for")
    assert purpose[0].startswith("Clean up after window the window its input names "
                                 "(closed_label) closed")
    assert purpose[1].startswith("Its input is not valid JSON: {\"closed_label\": \"main\"")
    steps = section(explanation, "Steps")
    assert steps[1].startswith("    sent     a command that is not valid JSON: reap everything")
    assert steps[2].startswith("    reply    an output that is too large to summarise (")
    assert "    sent     no command stored" in steps
    assert explanation.verdict.text == ("Timed out: the host did not answer "
                                        "issue_cmd_host_drain_pool_if_last within 30 s.")


def test_a_saga_without_steps_or_times(make_log: SagaLogFactory) -> None:
    saga = respawn_saga(54, "failed", reason=REASON_TIMEOUT)
    saga.steps = []
    saga.started_at, saga.ended_at = "whenever", "later"
    explanation = explain(one(make_log, saga, ddl=LOOSE_DDL))
    steps = section(explanation, "Steps (0 of 0 done)")
    assert steps[0] == ("issue_cmd_host_spawn_pool_window: not started (spawn_pool_window "
                        "was not sent)")
    assert steps[1].startswith("no steps recorded")
    assert 'started   unparsed: "whenever"' in section(explanation, "Outcome")
    assert section(explanation, "Timeline")[0] == ("saga start time not readable")
    assert explanation.verdict.text == ("Timed out: the host did not answer its next command "
                                        "within 5 s.")


def test_hostile_text_everywhere_is_made_visible(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(55, "failed", drained=None, reason=f"{HOSTILE} | recovered: {HOSTILE}")
    saga.name = HOSTILE
    saga.input_json = json.dumps({"closed_label": HOSTILE})
    for step in saga.steps:
        step.name = step.target = step.failure_reason = HOSTILE
        step.cmd_json = json.dumps({"cmd": HOSTILE, HOSTILE: HOSTILE})
    saga.steps[0].output_json = json.dumps({"event": HOSTILE})
    detail = one(make_log, saga, ddl=LOOSE_DDL)
    text = explain_text(detail, NOW)
    assert is_safe(text, multiline=True)
    for shown in ("␛]0;pwned-title␇", "␛[2J", "\\x9b31m", "<U+202E>evil<U+2066>", "[/]"):
        assert shown in text
    assert all(is_safe(line, multiline=False) for line in text.split("\n"))
    document = explanation_to_dict(explain(detail, NOW))  # sanitised before it is JSON
    lines = [line for part in document["sections"] for line in part["lines"]]  # type: ignore
    assert all(is_safe(line) for line in [document["title"], document["verdict"], *lines])


def test_hostile_strings_are_cut_to_a_readable_length(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(56, "failed", drained=None, reason="x" * 5000)
    saga.input_json = json.dumps({"closed_label": "w" * 5000})
    text = explain_text(one(make_log, saga))
    assert max(len(line) for line in text.split("\n")) < 600
    assert "w" * 79 + "…" in text


# -- show --explain ------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_show_explain_prints_the_summary(make_log: SagaLogFactory, capsys) -> None:
    path = make_log([recovered_saga(7), cleanup_saga(8)])
    code, out, err = run(capsys, "show", path, 7, "--explain")
    assert (code, err) == (0, "")
    assert out == render_text(explain(read(path, 7))) + "\n"
    assert out.startswith("saga 7 · window_cleanup_cascade · failed_compensation\nLeft "
                          "unresolved:")
    for title in ("What it was for", "Outcome", "Steps (1 of 2 done)", "Timeline",
                  "What to check"):
        assert f"\n\n{title}\n" in out
    # the option can come before the operands too
    assert run(capsys, "show", "--explain", path, 8)[1].startswith(
        "saga 8 · window_cleanup_cascade · completed\nCompleted:")


def test_show_explain_json(make_log: SagaLogFactory, capsys) -> None:
    path = make_log([recovered_saga(7)])
    code, out, _err = run(capsys, "show", path, 7, "--explain", "--json")
    assert code == 0 and out.isascii()
    document = json.loads(out)
    assert list(document) == ["saga_id", "cause", "title", "verdict", "sections", "text"]
    assert document["cause"] == "launcher_restart"
    assert [s["title"] for s in document["sections"]] == [
        "What it was for", "Outcome", "Steps (1 of 2 done)", "Timeline", "What to check"]
    assert document["text"] == render_text(explain(read(path, 7)))


def test_show_explain_exit_codes(make_log: SagaLogFactory, capsys) -> None:
    path = make_log([cleanup_saga(1)])
    code, out, err = run(capsys, "show", path, 99, "--explain")
    assert (code, out) == (1, "")
    assert err == f"saga-inspector: error: no saga with id 99 in {path}\n"
    code, out, err = run(capsys, "show", path, "one", "--explain")
    assert code == 2 and err.startswith("saga-inspector: error: a saga id is a whole number")
    notes = make_log.file_with(b"plain text, not a database\n" * 50, name="notes.db")
    code, out, err = run(capsys, "show", notes, 1, "--explain")
    assert code == 2 and out == "" and err.count("\n") == 1


def test_show_explain_of_a_hostile_file_is_terminal_safe(
    make_log: SagaLogFactory, capsys
) -> None:
    saga = cleanup_saga(9, "failed", drained=None, reason=HOSTILE)
    saga.name = HOSTILE
    path = make_log([saga], ddl=LOOSE_DDL)
    for extra in ([], ["--json"]):
        code, out, err = run(capsys, "show", path, 9, "--explain", *extra)
        assert code == 0 and err == ""
        assert is_safe(out, multiline=True)
        assert "\x1b" not in out and "\x9b" not in out
    assert HOSTILE_SHOWN[0] in run(capsys, "show", path, 9, "--explain")[1]


def test_a_saga_of_thousands_of_steps_names_a_few(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(57, "failed", drained=None, reason=REASON_TIMEOUT)
    drain = saga.steps.pop()
    for n in range(1, 3000):
        step = cleanup_saga(57).steps[0]
        step.step_index = n
        saga.steps.append(step)
    drain.step_index = 3000
    saga.steps.append(drain)  # the one in flight comes last
    explanation = explain(one(make_log, saga))
    steps = section(explanation, "Steps (3000 of 3001 done)")
    assert steps[-1] == "… 2989 more steps, not listed here (`show` lists them all)"
    assert steps[-4].startswith("step 3000 issue_cmd_host_drain_pool_if_last → host: IN FLIGHT")
    assert len(section(explanation, "Timeline")) == 12 + 2  # rows, axis, the slowest
    assert len(render_text(explanation).split("\n")) < 120


# -- how the two summaries are laid out --------------------------------------------------------


def _imports(module: str) -> tuple[set[str], list[str]]:
    """The modules a source file imports at its top, and those it imports inside a function
    (a lazy import, the sign of a hidden cycle)."""
    path = Path(saga_inspector.__file__).parent / f"{module}.py"
    tree = ast.parse(path.read_text(), str(path))
    top = {node.module or "" for node in tree.body if isinstance(node, ast.ImportFrom)}
    top |= {alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
            and node.module is None for alias in node.names}
    lazy = [ast.unparse(node) for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)]
    return top, lazy


def test_both_summaries_build_on_a_common_module_without_a_cycle() -> None:
    explain_top, explain_lazy = _imports("explain")
    server_top, server_lazy = _imports("explain_server")
    assert "explain_server" in explain_top and explain_lazy == []
    assert "explain_common" in server_top and "explain" not in server_top and server_lazy == []
    # the public names stay importable from explain
    from saga_inspector import explain as public
    from saga_inspector import explain_common

    for name in ("explain", "explain_text", "render_text", "explanation_to_dict",
                 "Explanation", "Line", "Section", "quote"):
        assert hasattr(public, name), name
    assert public.Line is explain_common.Line and public.quote is explain_common.quote
