"""A plain-language triage summary of one saga: what it was for, how far it got, what it
was waiting for when it stopped, why it failed, and what to check on the host. A server
saga is summarised in the server's words by explain_server (tabs, blocks, workspaces, undo).

Pure (no toolkit): a `SagaDetail` in, an `Explanation` (sections of lines) out, and one
plain-text rendering of it that the CLI (`show --explain`) and the dashboard (`x`) share.
Every string from the file passes through the one sanitiser (and is cut to a sensible
length) before it joins a sentence; payloads too large to read at a glance are not parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from . import explain_server as server
from .display_time import show_moment
from .explain_common import (
    ABANDONED_AFTER,
    BAD,
    DIM,
    MAX_REASON,
    OK,
    WARN,
    Line,
    Section,
    abandoned_for,
    age_words,
    cause_word,
    field,
    listed_steps,
    quote,
    read_payload,
    tagged,
)
from .report import (
    ENDS_BEFORE_START,
    MISSING,
    format_duration,
    format_time,
    format_timeout,
)
from .store.formats import SERVER
from .store.kinds import Cause, FailureReason, SagaKind, StepKind
from .store.models import SagaDetail, Step
from .store.states import SagaState, StepState
from .store.timestamps import Timestamp
from .timeline import (
    Timeline,
    build_timeline,
    chart,
    plain_lines,
    timeout_note,
)

# The public names of the summary; its parts live in explain_common (shared with the
# server's summary in explain_server).
__all__ = [
    "ABANDONED_AFTER", "BAD", "DIM", "OK", "WARN", "Explanation", "Line", "Section",
    "cause_word", "explain", "explain_text", "explanation_to_dict", "quote", "render_text",
]

TIMELINE_WIDTH = 50
_SUB = 4  # a step's details, under its line


@dataclass(frozen=True, slots=True)
class Explanation:
    saga_id: int
    title: str  # `saga 240 · window_cleanup_cascade · failed_compensation`
    verdict: Line  # the one sentence to read if nothing else
    cause: str  # for scripts: completed, running, compensating, a `Cause`, unknown_state
    sections: tuple[Section, ...]
    # Unresolved in a log nothing has written to for longer than ABANDONED_AFTER (how long
    # ago it was last written), else None: see `explain`'s last_write.
    abandoned: timedelta | None = None


def _tag(raw: str | None, tag: str) -> str | None:
    value, _problem = read_payload(raw)
    name = value.get(tag) if isinstance(value, dict) else None
    return quote(name, 60) if isinstance(name, str) else None


def _or(names: Sequence[str]) -> str:
    return " or ".join(names)


# -- what the saga was for ---------------------------------------------------------------------

_PURPOSE = {
    "pool_respawn_on_promote": "Respawn a pool window after {label} was promoted out of the "
                               "pool: the host was asked to add a fresh window to the pool.",
    "window_cleanup_cascade": "Clean up after window {label} closed: reap its panes on the "
                              "host, then drain the window pool if that was the last window.",
}
# What is true on the host when the command never reached it.
_UNDONE = {
    "spawn_pool_window": "no pool window was added",
    "reap_panes": "the panes of {label} are probably still there",
    "drain_pool_if_last": "the pool was not drained",
}
_EFFECT = {
    "spawn_pool_window": "a new pool window was added",
    "reap_panes": "the panes of {label} are gone",
    "drain_pool_if_last": "the pool was drained (if {label} was the last window)",
}


def _label(detail: SagaDetail, kind: SagaKind | None) -> str | None:
    value, _problem = read_payload(detail.saga.input_json)
    if kind is None or not isinstance(value, dict):
        return None
    label = value.get(kind.input_key)
    return quote(label, 80) if isinstance(label, str) else None


def _purpose(detail: SagaDetail, kind: SagaKind | None, label: str | None) -> list[Line]:
    saga = detail.saga
    _parsed, problem = read_payload(saga.input_json)
    if kind is None:
        named = quote(saga.name, 80)
        kind_said = f"of kind {named}, which this tool does not know" if named else \
            "with no kind (name) stored"
        lines = [Line(f"A saga {kind_said}: its steps are listed as stored.")]
    else:
        lines = [Line(_PURPOSE[kind.name].format(label=label or f"the window its input names "
                                                                f"({kind.input_key})"))]
    if saga.input_json is None:
        lines.append(Line("Its input is empty.", DIM))
    elif problem is not None:
        lines.append(Line(f"Its input is {problem}", WARN))
    elif kind is None or label is None:
        lines.append(Line(f"Its input: {quote(saga.input_json)}", DIM))
    return lines


# -- the steps ---------------------------------------------------------------------------------


def _on_host(said: dict[str, str], otherwise: str, step: Step | None,
             label: str | None) -> str:
    """What a step's command does (or did not do) on the host, in words."""
    command = _tag(step.cmd_json, "cmd") if step is not None else None
    known = said.get(command or "")
    if known is None:
        return f"{command or 'the step'} {otherwise}"
    return known.format(label=label or "the window")


def _effect(step: Step | None, label: str | None) -> str:
    return _on_host(_EFFECT, "took effect", step, label)


def _undone(step: Step | None, label: str | None) -> str:
    return _on_host(_UNDONE, "had no effect", step, label)


def _awaited(step: Step | None, kind: SagaKind | None) -> str:
    known = kind.step(step.name) if kind is not None and step is not None else None
    return _or(known.awaits) if known is not None else "its reply"


def _command_name(step: Step | None) -> str:
    if step is None:
        return "its next command"
    return _tag(step.cmd_json, "cmd") or quote(step.name, 60) or f"step {step.step_index}"


def _step_status(step: Step, drawn: timedelta | None, *, undelivered: bool) -> Line:
    took = f" after {format_duration(drawn)}" if drawn is not None else ""
    own = step.duration
    if own is not None and own < timedelta(0):
        took = f", but it {ENDS_BEFORE_START}"
    if step.in_flight and undelivered:
        return Line("IN FLIGHT: its command never reached the host (the pipe was broken)", BAD)
    if step.in_flight:
        return Line(f"IN FLIGHT: no reply{took}", BAD)
    if step.state == StepState.SUCCEEDED:
        return Line(f"done{took}", OK)
    if step.state == StepState.PENDING:
        return Line("pending", WARN)
    if step.state == StepState.FAILED:
        reason = f": {quote(step.failure_reason, MAX_REASON)}" if step.failure_reason else ""
        return Line(f"failed{reason}", BAD)
    return Line(f"{quote(step.state, 40) or 'no state'}{took}", WARN)


def _step_lines(step: Step, kind: SagaKind | None, known: StepKind | None,
                drawn: timedelta | None, *, undelivered: bool = False) -> list[Line]:
    """`undelivered`: the saga failed writing to the host pipe, so the step in flight never
    reached the host, and no reply was ever coming."""
    status = _step_status(step, drawn, undelivered=undelivered)
    target = f" → {quote(step.target, 40)}" if step.target is not None else ""
    head = f"step {step.step_index} {quote(step.name, 80) or MISSING}{target}: {status.text}"
    lines = [Line(head, status.tone)]
    if kind is not None and known is None:
        lines.append(Line("a step this saga kind does not have", WARN, _SUB))
    sent = tagged(step.cmd_json, "cmd", "a command")
    verb = "tried    " if step.in_flight and undelivered else "sent     "
    lines.append(Line(f"{verb}{sent or 'no command stored'}", indent=_SUB))
    reply = tagged(step.output_json, "event", "an output")
    if reply is not None:
        lines.append(Line(f"reply    {reply}", indent=_SUB))
    elif step.in_flight and undelivered:
        lines.append(Line(f"awaited  {_awaited(step, kind)}, which could not come", DIM, _SUB))
    elif step.in_flight or step.state == StepState.PENDING:
        lines.append(Line(f"awaited  {_awaited(step, kind)}, which never came", BAD, _SUB))
    else:
        lines.append(Line("reply    none stored", DIM, _SUB))
    if step.failure_reason is not None and step.state != StepState.FAILED:
        lines.append(Line(f"failure  {quote(step.failure_reason, MAX_REASON)}", BAD, _SUB))
    return lines


def _steps(detail: SagaDetail, kind: SagaKind | None, timeline: Timeline,
           listed: Sequence[int], cause: str) -> Section:
    lines: list[Line] = []
    for position in listed:
        step, span = detail.steps[position], timeline.spans[position]
        known = kind.step(step.name) if kind is not None else None
        lines += _step_lines(step, kind, known, span.duration,
                             undelivered=cause == Cause.HOST_PIPE)
    if len(listed) < len(detail.steps):
        lines.append(Line(f"… {len(detail.steps) - len(listed)} more steps, not listed here "
                          "(`show` lists them all)", DIM))
    recorded = {step.name for step in detail.steps}
    for missing in (kind.steps if kind is not None else ()):
        if missing.name not in recorded and detail.saga.state != SagaState.COMPLETED:
            lines.append(Line(f"{missing.name}: not started ({missing.command} was not "
                              "sent)", DIM))
    if not detail.steps:
        lines.append(Line("no steps recorded: the saga stopped before it sent anything, or "
                          "the file holds no steps for it", WARN))
    done = sum(step.state == StepState.SUCCEEDED for step in detail.steps)
    return Section(f"Steps ({done} of {len(detail.steps)} done)", tuple(lines))


# -- outcome and verdict -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Case:
    """What the summary is built around: the saga, its kind, the step it stopped in."""

    detail: SagaDetail
    kind: SagaKind | None
    label: str | None
    timeline: Timeline
    stuck: Step | None  # the step in flight (or the last one, when none is)
    reason: FailureReason | None

    @property
    def command(self) -> str:
        return _command_name(self.stuck)

    @property
    def limit(self) -> str:
        """`30 s`, or `its timeout` for a kind whose timeout is not known."""
        timeout = self.timeline.timeout
        return format_timeout(timeout) if timeout is not None else "its timeout"

    @property
    def timeout(self) -> str:
        """`its 30 s timeout`, or `its timeout` for a kind whose timeout is not known."""
        timeout = self.timeline.timeout
        return f"its {format_timeout(timeout)} timeout" if timeout is not None else "its timeout"

    @property
    def sent_at(self) -> str | None:
        """When the command was sent (the saga's start without a step), with its offset;
        None when that time is missing or does not parse: no sentence names it then."""
        stamp = self.stuck.started_at if self.stuck is not None else self.detail.saga.started_at
        return _when(stamp)

    @property
    def ended_at(self) -> str | None:
        return _when(self.detail.saga.ended_at)


def _when(stamp: Timestamp | None) -> str | None:
    """A time to put in a sentence, or None when there is none to put there."""
    return format_time(stamp) if stamp is not None and stamp.value is not None else None


def _clause(text: str, value: str | None) -> str:
    """`text` with `{}` filled by `value`, or nothing when there is no value."""
    return text.format(value) if value else ""


def _cause(case: _Case) -> str:
    return cause_word(case.detail.saga.state, case.reason)


def _reason_detail(case: _Case, limit: int) -> str:
    """What the reason says after its known prefix, without the command's name again
    (`host action failed: spawn_pool_window: window not found`)."""
    if case.reason is None:
        return ""
    detail = case.reason.detail
    command = _tag(case.stuck.cmd_json, "cmd") if case.stuck is not None else None
    if command and detail.startswith(f"{command}: "):
        detail = detail[len(command) + 2:]
    return quote(detail, limit)


def _verdict(case: _Case, cause: str) -> Line:
    saga, timeline = case.detail.saga, case.timeline
    end = timeline.end
    backwards = end is not None and end < timedelta(0)
    took = None if end is None or backwards else format_duration(end)
    if cause == "completed":
        if backwards:
            return Line(f"Completed: every step got its reply; the saga {ENDS_BEFORE_START}.",
                        WARN)
        return Line(f"Completed: every step got its reply{_clause(', in {}', took)}.", OK)
    if cause == "running":
        late = ", far past its timeout: its launcher is probably gone" \
            if timeline.past_timeout is not None else ""
        return Line(f"Not ended: waiting for the host to answer {case.command}"
                    f"{_clause(' for {}', took)}{late}.", WARN)
    if cause == "compensating":
        return Line("Compensating: the launcher was undoing the saga's steps and has not "
                    "finished.", WARN)
    if cause == "unknown_state":
        return Line(f"In state {quote(saga.state, 60)}, which this tool does not know.", WARN)
    sentence = {
        Cause.TIMEOUT: f"Timed out: the host did not answer {case.command} within {case.limit}.",
        Cause.HOST_PIPE: f"Failed: {case.command} could not be sent, the host pipe was broken.",
        Cause.HOST_ACTION: f"Failed: the host could not carry out {case.command}"
                           f"{_clause(': {}', _reason_detail(case, 80))}.",
        Cause.LAUNCHER_RESTART: "Left unresolved: the launcher stopped while waiting for the "
                                f"host to answer {case.command}; its next start marked the "
                                "saga failed.",
        Cause.OTHER: f"Failed: {quote(case.reason.first if case.reason else '', MAX_REASON)}.",
        "no_reason": "Failed, with no failure reason stored.",
    }[cause]
    if case.reason is not None and case.reason.recovery is not None:
        sentence += " The launcher's next start then closed it as failed_compensation."
    return Line(sentence, BAD)


def _outcome(case: _Case) -> Section:
    saga, timeline = case.detail.saga, case.timeline
    lines = [field("state", quote(saga.state, 60)),
             field("started", format_time(saga.started_at))]
    ended = format_time(saga.ended_at) if saga.ended_at is not None else "not ended"
    if saga.duration is not None and saga.duration < timedelta(0):
        ended += f" ({ENDS_BEFORE_START})"
    if case.reason is not None and (case.reason.recovery is not None
                                    or case.reason.cause is Cause.LAUNCHER_RESTART):
        ended += " (when the next launcher start closed it, not when it stopped)"
    lines.append(field("ended", ended))
    length = timeout_note(timeline, None, format_duration)
    if length is not None:
        lines.append(field("length", length))
    if case.reason is not None:
        lines.append(field("failure", quote(case.reason.first, MAX_REASON), BAD))
        if case.reason.recovery is not None:
            lines.append(field("recovery", quote(case.reason.recovery, MAX_REASON), WARN))
    elif saga.failure_reason is not None:
        lines.append(field("failure", quote(saga.failure_reason, MAX_REASON), BAD))
    return Section("Outcome", tuple(lines))


# -- what to check on the host -----------------------------------------------------------------


def _checks(case: _Case, cause: str) -> list[str]:
    """What to check on the host. A time, reason or timeout that is not known is left out
    of the sentence (never "around — " or "at not a time")."""
    effect = _effect(case.stuck, case.label)
    awaited = _awaited(case.stuck, case.kind)
    detail = _reason_detail(case, 120)
    sent = case.sent_at
    if cause == "completed":
        return ["Nothing to check: every step was answered."]
    if cause == "running":
        if case.timeline.past_timeout is None:
            return [f"It is within {case.timeout}: the launcher is still waiting for "
                    f"{awaited}.",
                    f"If it fails, check on the host whether {effect}."]
        return [f"It is past {case.timeout} yet not failed, so the launcher that ran it is "
                "most likely gone: check whether a launcher is running (its next start marks "
                "this saga failed_compensation).",
                f"Check on the host whether {effect}: the command sent"
                f"{_clause(' at {}', sent)} may or may not have been carried out."]
    if cause == "compensating":
        return ["Check whether the launcher is still running: compensation that never ends "
                "means it stopped midway.",
                "Check on the host what the completed steps did, and whether it was undone."]
    if cause == Cause.TIMEOUT:
        around = "around then " if sent else ""
        return [f"The host never sent {awaited} for {case.command}{_clause(' (sent {})', sent)}: "
                f"look in the host's log {around}for that command, and for errors or a stall "
                "(a hung host process, a blocked event loop, a loaded machine).",
                f"The host may still have done it after the launcher gave up: check whether "
                f"{effect}."]
    if cause == Cause.HOST_PIPE:
        return [f"The launcher could not write {case.command} to the host pipe"
                f"{_clause(' ({})', detail)}: the host process had exited or closed its end. "
                f"Check whether the host was running {_clause('at {}', sent) or 'then'}, and "
                f"why it stopped (crash, restart, kill).",
                f"The command never reached the host: unless something else did the work, "
                f"{_undone(case.stuck, case.label)}."]
    if cause == Cause.HOST_ACTION:
        hint = (" The window it acted on was gone by then: check whether it was closed or "
                "promoted again while the saga ran.") if "not found" in detail else ""
        return [f"The host received {case.command} and reported that it failed"
                f"{_clause(' ({})', detail)}: look in the host's log"
                f"{_clause(' around {}', sent)} for that action.{hint}"]
    if cause == Cause.LAUNCHER_RESTART:
        return [f"The launcher stopped while this saga waited for {awaited}: its log"
                f"{_clause(' before {}', case.ended_at)} says why (crash, kill, upgrade).",
                f"Whether {case.command} reached the host is unknown: check on the host "
                f"whether {effect}. Recovery only marked the saga failed; it retried nothing."]
    if cause == "unknown_state":
        return ["A newer launcher may write this state: check its release notes or log, and "
                f"on the host whether {effect}."]
    return [f"This failure is not one this tool knows: look in the launcher's log"
            f"{_clause(' around {}', case.ended_at)} for it, and check on the host whether "
            f"{effect}."]


def _host_checks(case: _Case, cause: str) -> Section:
    lines = [Line(text) for text in _checks(case, cause)]
    reason = case.reason
    if reason is not None and reason.recovery is not None and reason.cause is not \
            Cause.LAUNCHER_RESTART:
        lines.append(Line("The launcher also restarted before this saga was resolved: its end "
                          "time is that restart, not when the saga stopped.", DIM))
    return Section("What to check", tuple(lines))


# -- the whole summary -------------------------------------------------------------------------


def _stuck_step(detail: SagaDetail) -> Step | None:
    in_flight = detail.in_flight_step
    if in_flight is not None or detail.saga.state == SagaState.COMPLETED:
        return in_flight
    return detail.steps[-1] if detail.steps else None


def explain(detail: SagaDetail, now: datetime | None = None, *,
            last_write: float | None = None) -> Explanation:
    """The triage summary of one saga. `now` measures a saga that has not ended.

    `last_write`: when the saga's log was last written, in seconds since the epoch (its
    source's `SourceInfo.last_write`; None: not known). An unresolved saga in a log not
    written for longer than ABANDONED_AFTER is said to be abandoned (`Explanation.abandoned`,
    the verdict, the outcome and the first check say so); `now` (default the current time)
    is what that is measured against."""
    summary = _explanation(detail, now)
    elapsed = abandoned_for(detail.saga, last_write, now)
    if elapsed is None or last_write is None:
        return summary
    return _abandoned(summary, detail, elapsed, last_write)


def _explanation(detail: SagaDetail, now: datetime | None) -> Explanation:
    saga = detail.saga
    kind = saga.log_format.kind(saga.name)
    timeline = build_timeline(detail, now)
    if saga.log_format.name == SERVER.name:
        return _server_explanation(detail, kind, timeline)
    label = _label(detail, kind)
    reason = saga.log_format.split_reason(saga.failure_reason) \
        if saga.failure_reason is not None else None
    case = _Case(detail, kind, label, timeline, _stuck_step(detail), reason)
    cause = _cause(case)
    title = f"saga {saga.saga_id} · {quote(saga.name, 80) or MISSING} · {quote(saga.state, 60)}"
    listed = listed_steps(detail)
    sections = (
        Section("What it was for", tuple(_purpose(detail, kind, label))),
        _outcome(case),
        _steps(detail, kind, timeline, listed, cause),
        _timeline_section(detail, timeline),
        _host_checks(case, cause),
    )
    return Explanation(saga.saga_id, title, _verdict(case, cause), cause, sections)


def _abandoned(summary: Explanation, detail: SagaDetail, elapsed: timedelta,
               last_write: float) -> Explanation:
    """The summary of an unresolved saga whose log nothing has written to for `elapsed`:
    said in the verdict, the outcome (when the log was written) and the first check."""
    saga = detail.saga
    writer = saga.log_format.writer
    ago = age_words(elapsed)
    written = show_moment(datetime.fromtimestamp(last_write, UTC))
    verdict = Line(f"{summary.verdict.text} Abandoned: its log was last written {ago} ago, "
                   f"so no {writer} is running this saga any more.",
                   BAD if summary.verdict.tone == BAD else WARN)
    note = Line(
        f"This log was last written {ago} ago ({written}) and nothing has written to it "
        f"since: nothing is running this saga any more; it was abandoned in state "
        f"{quote(saga.state, 40)}. "
        f"Only a start of the {writer} that writes this log would take it up (its recovery "
        f"at start-up); if that {writer} is gone (an old version, a copied log), the saga "
        "stays as it is. Check on the host whether what it did, or left undone, still "
        "matters.", WARN)
    sections = []
    for section in summary.sections:
        if section.title == "Outcome":
            section = Section(section.title, (
                *section.lines, field("log", f"last written {written} ({ago} ago)", WARN)))
        elif section.title == "What to check":
            section = Section(section.title, (note, *section.lines))
        sections.append(section)
    return replace(summary, verdict=verdict, sections=tuple(sections), abandoned=elapsed)


def _timeline_section(detail: SagaDetail, timeline: Timeline) -> Section:
    drawn = chart(timeline, TIMELINE_WIDTH, format_duration, listed_steps(detail))
    return Section("Timeline", tuple(Line(text, chart=True) for text in plain_lines(drawn)
                                     if not text.startswith(("ended", "not ended"))))


def _server_explanation(detail: SagaDetail, kind: SagaKind | None,
                        timeline: Timeline) -> Explanation:
    """A server saga's summary, in the server's words (tabs, blocks, workspaces, undo)."""
    saga = detail.saga
    case = server.server_case(detail, kind, timeline)
    cause = server.cause_of(case)
    title = f"saga {saga.saga_id} · {quote(saga.name, 80) or MISSING} · {quote(saga.state, 60)}"
    return Explanation(saga.saga_id, title, server.verdict(case, cause), cause,
                       server.sections(case, cause, _timeline_section(detail, timeline)))


def render_text(explanation: Explanation) -> str:
    """The summary as plain text: title, verdict, then each section indented under its
    title. The CLI prints it; the dashboard shows and copies it."""
    lines = [explanation.title, explanation.verdict.text]
    for section in explanation.sections:
        lines += ["", section.title,
                  *(f"  {' ' * line.indent}{line.text}" for line in section.lines)]
    return "\n".join(line.rstrip() for line in lines)


def explain_text(detail: SagaDetail, now: datetime | None = None, *,
                 last_write: float | None = None) -> str:
    """The triage summary of one saga as plain text (what `x` shows and `c` copies);
    `last_write` as for `explain`."""
    return render_text(explain(detail, now, last_write=last_write))


def explanation_to_dict(explanation: Explanation) -> dict[str, object]:
    """For `show --explain --json`: the cause as a stable word, the text by section."""
    return {
        "saga_id": explanation.saga_id,
        "cause": explanation.cause,
        "title": explanation.title,
        "verdict": explanation.verdict.text,
        "sections": [{"title": section.title,
                      "lines": [" " * line.indent + line.text for line in section.lines]}
                     for section in explanation.sections],
        "text": render_text(explanation),
    }
