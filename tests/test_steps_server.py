"""Server steps in the timeline, the step list, the step detail and `show`: the 5 s timeout,
undo rows marked with the forward step they undo (`↶ undo of #0`), `⊘ no undo possible`,
best-effort steps, no target line or column (the server stores none), a step's
`{"error": ...}` as its reason."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App, ComposeResult

from saga_inspector.report import format_duration, render_show
from saga_inspector.store import SERVER
from saga_inspector.store.kinds import (
    SERVER_KINDS,
    SERVER_TIMEOUT,
    StepRecord,
    classify_steps,
    timeout_of,
)
from saga_inspector.store.states import StepRole
from saga_inspector.timeline import DONE, UNDO, build_timeline, chart, plain_lines
from saga_inspector.tui.views import prepare_saga
from saga_inspector.tui.widgets.detail_pane import StepDetail, role_note
from saga_inspector.tui.widgets.step_list import StepList
from saga_inspector.tui.widgets.timeline import StepTimeline

from .helpers import NOW, pilot_test
from .server_sagas import (
    BLOCK,
    delete_block_best_effort_failed,
    delete_block_timed_out,
    promote_compensated,
    tear_off_no_inverse,
    tear_off_recovered,
)

# -- the timeline ------------------------------------------------------------------------------


def test_every_server_kind_has_the_five_second_timeout() -> None:
    assert {timeout_of(kind) for kind in SERVER_KINDS.values()} == {timedelta(seconds=5)}
    timeline = build_timeline(delete_block_timed_out())
    assert timeline.timeout == SERVER_TIMEOUT and timeline.past_timeout == timedelta(
        milliseconds=1)
    drawn = plain_lines(chart(timeline, 50, format_duration))
    assert "timeout 5 s┊" in drawn[1]
    assert "ended 5.00 s after start, 1.0 ms past its 5 s timeout" in drawn


def test_undo_rows_are_marked_in_plain_lines_and_drawn_apart() -> None:
    timeline = build_timeline(promote_compensated())
    create, move, undo = timeline.spans
    assert (undo.role, undo.undoes, undo.mark) == (StepRole.UNDO, 0, "↶ undo of #0")
    assert create.mark == move.mark == ""
    drawn = chart(timeline, 40, format_duration)
    lines = plain_lines(drawn)
    assert lines[2].endswith("↶ undo of #0") and "undo" not in lines[0] + lines[1]
    kinds = [{kind for _text, kind in row.bar} - {"empty"} for row in drawn.rows]
    assert kinds[0] == {DONE} and kinds[2] == {UNDO}


def test_a_row_with_no_undo_is_marked_so() -> None:
    lines = plain_lines(chart(build_timeline(tear_off_no_inverse()), 50, format_duration))
    assert lines[2].endswith("⊘ no undo possible") and lines[3].endswith("↶ undo of #0")


def test_a_recovered_saga_was_closed_by_a_server_restart() -> None:
    timeline = build_timeline(tear_off_recovered())
    assert timeline.closed_at_restart and timeline.writer == "server"
    notes = plain_lines(chart(timeline, 50, format_duration))
    assert any(note.endswith("until a server restart closed it") for note in notes)


# -- the dashboard's panes ---------------------------------------------------------------------


class StepPanes(App[None]):
    """The step list with its timeline, and the step detail, as the dashboard lays them."""

    def compose(self) -> ComposeResult:
        timeline = StepTimeline(lambda: NOW, id="timeline")
        yield StepList(id="steps", timeline=timeline)
        yield timeline
        yield StepDetail(id="step-detail")


def cells(steps: StepList, row: int) -> list[str]:
    return [cell.plain for cell in steps.get_row_at(row)]


@pilot_test
async def test_the_step_list_marks_undo_rows_and_best_effort_steps() -> None:
    app = StepPanes()
    async with app.run_test(size=(140, 30)) as pilot:
        steps = app.query_one(StepList)
        steps.show_steps(prepare_saga(tear_off_no_inverse()))
        await pilot.pause()
        # The server's steps have no target: no column for it.
        assert [str(column.label) for column in steps.columns.values()] == [
            "#", "step", "state", "duration"]
        assert cells(steps, 0)[1:3] == ["create_workspace", "compensated"]
        assert cells(steps, 2)[2] == "failed ⊘ no undo possible"
        assert cells(steps, 3)[2] == "compensated ↶ undo of #0"
        timeline = app.query_one(StepTimeline)
        drawn = str(timeline.render()).split("\n")
        assert drawn[2].endswith(" ⊘") and drawn[3].endswith(" ↶0")
        assert "↶" not in drawn[0] + drawn[1]
        steps.show_steps(prepare_saga(delete_block_best_effort_failed()))
        await pilot.pause()
        assert cells(steps, 1)[2] == "failed best effort"
        assert cells(steps, 0)[2] == "succeeded"


@pilot_test
async def test_the_step_detail_says_what_an_undo_row_is_and_why_a_step_failed() -> None:
    app = StepPanes()
    async with app.run_test(size=(140, 30)) as pilot:
        view = prepare_saga(promote_compensated())
        detail = app.query_one(StepDetail)
        detail.show_step(view.steps[2], "compensated", NOW, log_format=SERVER)
        await pilot.pause()
        summary = str(app.query_one("#step-summary").render())
        assert ("↶ undo of #0: appended by compensation or recovery to undo step 0"
                in summary)
        assert "target" not in summary
        detail.show_step(view.steps[1], "compensated", NOW)
        await pilot.pause()
        summary = str(app.query_one("#step-summary").render())
        assert f"failure  block not found: {BLOCK}" in summary
        assert "undo" not in summary


def test_role_notes() -> None:
    no_inverse = tear_off_no_inverse().steps[2]
    assert role_note(no_inverse) == ("⊘ no undo possible: recovery found no way to undo "
                                     "step 1")
    best_effort = delete_block_best_effort_failed().steps[1]
    assert role_note(best_effort) == "best effort: its failure does not fail the saga"
    assert role_note(promote_compensated().steps[0]) is None


# -- show --------------------------------------------------------------------------------------


def test_show_marks_undo_rows_and_best_effort_steps() -> None:
    text = render_show(tear_off_no_inverse())
    assert "  step 2  no_inverse_for_move_tab  ⊘ no undo possible" in text
    assert "  step 3  delete_workspace  ↶ undo of #0" in text
    assert "  step 0  create_workspace\n" in text
    assert "target" not in text  # the server's steps have none
    assert "    failure   no inverse derivable from saga log" in text
    shown = render_show(delete_block_best_effort_failed())
    assert "  step 1  layout_delete_node_by_block  best effort" in shown
    assert "    failure   node not found" in shown


# -- telling undo rows from forward steps ------------------------------------------------------


def roles(kind: str, *rows: tuple[str, str]) -> list[tuple[StepRole, int | None]]:
    places = classify_steps(SERVER_KINDS[kind],
                            [StepRecord(n, name, state) for n, (name, state) in enumerate(rows)],
                            frozenset({"succeeded", "compensated"}))
    return [(place.role, place.undoes) for place in places]


FORWARD = (StepRole.FORWARD, None)


def test_recoverys_own_inverse_and_the_kinds_undo_are_undo_rows() -> None:
    # The seeded demo's saga 79: move_tab's inverse is a move_tab again.
    assert roles("tear_off_tab", ("create_workspace", "compensated"),
                 ("move_tab", "compensated"), ("move_tab", "compensated"),
                 ("delete_workspace", "compensated")) == [
        FORWARD, FORWARD, (StepRole.UNDO, 1), (StepRole.UNDO, 0)]


def test_a_renamed_first_step_is_a_forward_step_not_an_undo() -> None:
    assert roles("tear_off_tab", ("create_workspace_v2", "succeeded"),
                 ("move_tab", "succeeded")) == [FORWARD, FORWARD]
    # and the undo rows recovery appends after it are still told apart
    assert roles("tear_off_tab", ("create_workspace_v2", "compensated"),
                 ("move_tab", "compensated"), ("move_tab", "compensated"),
                 ("compensate", "compensated")) == [
        FORWARD, FORWARD, (StepRole.UNDO, 1), (StepRole.UNDO, 0)]


def test_an_extra_unknown_step_of_a_completed_saga_is_a_forward_step() -> None:
    assert roles("tear_off_tab", ("create_workspace", "succeeded"), ("move_tab", "succeeded"),
                 ("focus_tab", "succeeded")) == [FORWARD, FORWARD, FORWARD]
    assert roles("tear_off_tab", ("create_workspace", "succeeded"), ("snapshot", "succeeded"),
                 ("move_tab", "succeeded")) == [FORWARD, FORWARD, FORWARD]
    assert roles("close_pane", *[("delete_block", "succeeded")] * 3,
                 ("layout_delete_node", "succeeded"), ("refresh_layout", "succeeded")) == [
        FORWARD] * 5
