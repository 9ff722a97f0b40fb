"""The triage summary of a server saga (AgentMux's `sagas.db`), in the server's language:
which tab, block or workspace it was asked to change, what each step did (its events),
what compensation or recovery undid and whether that worked, whether a `compensated`
saga really undid anything, the step under way when the server stopped, and what to check
("tab 5d07a1b2… may be left in workspace d56b0c3e…").

`explain.explain` sends a server saga here; the sections, lines and quoting are its own.
Every value from the file is quoted through the one sanitiser (explain.quote). Ids are
shortened in sentences and given whole in "What was asked".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from .explain import (
    BAD,
    DIM,
    MAX_REASON,
    OK,
    WARN,
    Line,
    Section,
    _field,
    _listed,
    _read,
    _tagged,
    cause_word,
    quote,
)
from .report import ENDS_BEFORE_START, format_duration, format_time, format_timeout, undo_mark
from .store.kinds import Cause, FailureReason, SagaKind
from .store.models import SagaDetail, Step
from .store.payload import strict_json
from .store.states import SagaState, StepRole, StepState
from .timeline import Timeline, timeout_note

ID_CHARS = 8  # an id in a sentence: its first characters, then …
MAX_EVENTS = 3  # a step's events named
NO_INDEX = 4294967295  # `insert_index` when the caller gave none (u32::MAX)

# -- what each kind was asked to do, from its input ---------------------------------------------

_ASKED = {
    "tear_off_tab": "Tear tab {tab_id} off workspace {source_workspace_id} into a new "
                    "workspace of its own.",
    "tear_off_block": "Tear block {block_id} off tab {source_tab_id} into a new workspace "
                      "(a new workspace and tab, then the block moved there).",
    "promote_block_to_tab": "Promote block {block_id} of tab {source_tab_id} to a tab of its "
                            "own in workspace {workspace_id}.",
    "restore_torn_off_tab": "Put torn-off tab {tab_id} back from workspace "
                            "{source_workspace_id} into workspace {dest_workspace_id} "
                            "{insert_index}, then delete workspace {source_workspace_id} if "
                            "that left it empty.",
    "delete_block": "Delete block {block_id} of tab {tab_id}, then remove its node from the "
                    "tab's layout.",
    "delete_tab": "Delete tab {tab_id} of workspace {workspace_id}.",
    "delete_workspace": "Delete workspace {workspace_id} with its {tab_ids} "
                        "({block_count} blocks).",
    "redock_floating_pane": "Redock the floating pane of block {block_id} from tab "
                            "{source_tab_id} into tab {target_tab_id} {dst_index}.",
    "close_pane": "Close a pane of tab {tab_id}: delete its {block_ids}, then the pane's "
                  "layout node if it is empty.",
}
# Input lists named by what they hold: `tab_ids` is "2 tabs".
_LISTS = {"tab_ids": "tab", "block_ids": "block"}
_INDEXES = ("insert_index", "dst_index")
# Kinds that repeat one step per item of an input list: (list key, step, the step's key).
_REPEATS = {"close_pane": ("block_ids", "delete_block", "block_id"),
            "delete_workspace": ("tab_ids", "delete_tab", "tab_id")}


@dataclass(frozen=True, slots=True)
class _Effect:
    """What a server command does, in words; `{key}` is filled from the step's command, its
    events, then the saga's input (see _values)."""

    done: str  # what it did
    kept: str  # what is left when it was done and not undone
    missed: str  # what is left when it was not done


_EFFECTS = {
    "create_workspace": _Effect("created workspace {workspace_id}",
                                "workspace {workspace_id} may be left (created, never deleted)",
                                "no workspace was created"),
    "create_tab": _Effect("created tab {tab_id} in workspace {workspace_id}",
                          "tab {tab_id} may be left in workspace {workspace_id}",
                          "no tab was created"),
    "move_tab": _Effect("moved tab {tab_id} to workspace {dst_workspace_id}",
                        "tab {tab_id} may be left in workspace {dst_workspace_id}",
                        "tab {tab_id} is probably still in workspace {src_workspace_id}"),
    "move_block": _Effect("moved block {block_id} to tab {dst_tab_id}",
                          "block {block_id} may be left in tab {dst_tab_id}",
                          "block {block_id} is probably still in tab {src_tab_id}"),
    "delete_workspace": _Effect("deleted workspace {workspace_id}",
                                "workspace {workspace_id} is gone (a delete is not undone)",
                                "workspace {workspace_id} may still be there"),
    "delete_tab": _Effect("deleted tab {tab_id}",
                          "tab {tab_id} is gone (a delete is not undone)",
                          "tab {tab_id} may still be in workspace {workspace_id}"),
    "delete_block": _Effect("deleted block {block_id}",
                            "block {block_id} is gone (a delete is not undone)",
                            "block {block_id} may still be in tab {tab_id}"),
    "layout_delete_node_by_block": _Effect(
        "removed block {block_id}'s node from the layout",
        "block {block_id}'s node is gone from the layout",
        "block {block_id}'s node may be left in the layout of tab {tab_id} (an empty pane)"),
    "layout_delete_node": _Effect(
        "removed the pane's node from the layout of tab {tab_id}",
        "the pane's node is gone from the layout of tab {tab_id}",
        "the pane's node may be left in the layout of tab {tab_id} (an empty pane)"),
}
# A key a sentence names, and the keys that may hold it (commands and inputs differ).
_ALIASES = {
    "src_workspace_id": ("src_workspace_id", "source_workspace_id"),
    "dst_workspace_id": ("dst_workspace_id", "dest_workspace_id"),
    "src_tab_id": ("src_tab_id", "source_tab_id"),
    "dst_tab_id": ("dst_tab_id", "target_tab_id"),
}
UNKNOWN_ID = "(not stored)"


# -- reading the payloads --------------------------------------------------------------------


def short_id(value: object) -> str:
    """An id (or any stored value) for a sentence: its first characters, then `…`."""
    if isinstance(value, bool) or value is None:
        return UNKNOWN_ID
    return quote(value if isinstance(value, str) else str(value), ID_CHARS + 1)


def _dict(raw: str | None) -> dict[object, object]:
    value, _problem = _read(raw)
    return value if isinstance(value, dict) else {}


def _events(step: Step) -> list[dict[object, object]]:
    value, _problem = _read(step.output_json)
    return [event for event in value if isinstance(event, dict)] \
        if isinstance(value, list) else []


class _Values(dict[str, str]):
    """Sentence values; a key none of the payloads holds reads as "(not stored)"."""

    def __missing__(self, key: str) -> str:
        return UNKNOWN_ID


def _values(step: Step | None, given: dict[object, object],
            others: Sequence[Step] = ()) -> _Values:
    """The ids a step's sentence names: from its command, its own events, the saga's
    input, then the events of the saga's other steps (a workspace the first step created)."""
    sources = [_dict(step.cmd_json), *_events(step)] if step is not None else []
    sources.append(given)
    sources += [event for other in others for event in _events(other)]
    values = _Values()
    for key in _EFFECT_KEYS:
        for name in _ALIASES.get(key, (key,)):
            found = next((source[name] for source in sources
                          if isinstance(source.get(name), str | int)), None)
            if found is not None:
                values[key] = short_id(found)
                break
    return values


def _placeholders(text: str) -> list[str]:
    return [part.split("}", 1)[0] for part in text.split("{")[1:]]


_EFFECT_KEYS = frozenset(key for effect in _EFFECTS.values()
                         for text in (effect.done, effect.kept, effect.missed)
                         for key in _placeholders(text))


def _command(step: Step) -> str:
    """The step's command name (its `cmd` tag, else its row's name)."""
    tag = _dict(step.cmd_json).get("cmd")
    return tag if isinstance(tag, str) else (step.name or "")


def _effect(step: Step) -> _Effect | None:
    command = _command(step)
    return _EFFECTS.get(command) or _EFFECTS.get(step.name or "")


def _said(step: Step, which: str, given: dict[object, object],
          others: Sequence[Step]) -> str | None:
    """What a step did (`done`), left done (`kept`) or left undone (`missed`), in words."""
    effect = _effect(step)
    if effect is None:
        return None
    return getattr(effect, which).format_map(_values(step, given, others))


# -- the case ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerCase:
    detail: SagaDetail
    kind: SagaKind | None
    timeline: Timeline
    reason: FailureReason | None
    given: dict[object, object]  # the saga's input, parsed (empty when it is not an object)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.detail.steps

    @property
    def forward(self) -> list[Step]:
        return [step for step in self.steps if step.role is StepRole.FORWARD]

    @property
    def undos(self) -> list[Step]:
        return [step for step in self.steps if step.role is not StepRole.FORWARD]

    @property
    def in_flight(self) -> Step | None:
        return self.detail.in_flight_step

    @property
    def failed_step(self) -> Step | None:
        """The forward step whose error stopped the saga (not a best-effort one)."""
        return next((step for step in self.forward
                     if step.state == StepState.FAILED and not step.best_effort), None)

    @property
    def failed_best_effort(self) -> list[Step]:
        return [step for step in self.forward
                if step.state == StepState.FAILED and step.best_effort]

    @property
    def has_undo(self) -> bool:
        """The kind undoes anything at all (delete, close and redock do not)."""
        return self.kind is None or bool(self.kind.undo)

    @property
    def limit(self) -> str:
        timeout = self.timeline.timeout
        return f"its {format_timeout(timeout)} timeout" if timeout is not None else "its timeout"

    def said(self, step: Step, which: str) -> str | None:
        return _said(step, which, self.given, self.steps)

    def forward_step(self, step_index: int | None) -> Step | None:
        return next((step for step in self.forward if step.step_index == step_index), None)


def step_name(step: Step | None) -> str:
    if step is None:
        return "its next step"
    return f"step {step.step_index} {quote(_command(step), 60) or 'without a name'}"


def _error(step: Step, limit: int = MAX_REASON) -> str:
    return quote(step.failure_reason, limit) if step.failure_reason else "no error stored"


# -- what was asked ----------------------------------------------------------------------------


def _asked_value(key: str, value: object) -> str:
    if key in _LISTS:
        what = _LISTS[key]
        if not isinstance(value, list):
            return f"{what}s (not stored)"
        return f"{len(value)} {what}{'' if len(value) == 1 else 's'}"
    if key in _INDEXES:
        if value == NO_INDEX:
            return "(no index given: at the end)"
        return f"at index {short_id(value)}" if value is not None else "(index not stored)"
    return short_id(value) if value is not None else UNKNOWN_ID


def _whole(key: str, value: object) -> str:
    """An input value given whole (the ids to search for)."""
    if isinstance(value, list):
        items = [quote(item, 60) if isinstance(item, str) else quote(str(item), 60)
                 for item in value[:6]]
        more = f", … {len(value) - 6} more" if len(value) > 6 else ""
        return f"{', '.join(items)}{more}" if items else "none"
    if key in _INDEXES and value == NO_INDEX:
        return f"{value} (no index given)"
    return quote(value if isinstance(value, str) else str(value), 80)


def asked(case: ServerCase) -> list[Line]:
    saga = case.detail.saga
    _parsed, problem = _read(saga.input_json)
    template = _ASKED.get(case.kind.name) if case.kind is not None else None
    if template is None:
        named = quote(saga.name, 80)
        kind_said = f"of kind {named}, which this tool does not know" if named else \
            "with no kind (name) stored"
        lines = [Line(f"A server saga {kind_said}: its steps are listed as stored.")]
    else:
        values = _Values({key: _asked_value(key, case.given.get(key))
                          for key in _placeholders(template)})
        lines = [Line(template.format_map(values))]
    if saga.input_json is None:
        lines.append(Line("Its input is empty.", DIM))
    elif problem is not None:
        lines.append(Line(f"Its input is {problem}", WARN))
    elif not case.given:
        lines.append(Line(f"Its input: {quote(saga.input_json)}", DIM))
    known = (case.kind.input_key, *case.kind.other_inputs) if case.kind is not None else ()
    keys = [*(key for key in known if key in case.given),
            *(key for key in case.given if key not in known)]
    width = max([len(quote(key, 30)) for key in keys] or [0])
    lines += [Line(f"{quote(key, 30):<{width}}  {_whole(str(key), case.given[key])}", DIM,
                   indent=2) for key in keys[:8]]
    return lines


# -- the steps ---------------------------------------------------------------------------------


def _status(case: ServerCase, step: Step, drawn: timedelta | None) -> Line:
    took = f" after {format_duration(drawn)}" if drawn is not None else ""
    if step.duration is not None and step.duration < timedelta(0):
        took = f", but it {ENDS_BEFORE_START}"
    undo = step.role is StepRole.UNDO
    if step.in_flight:
        when = "the saga has not ended" if case.detail.saga.state == SagaState.RUNNING \
            else "when the saga stopped"
        return Line(f"IN FLIGHT: under way {when}{took}", BAD)
    if step.role is StepRole.NO_UNDO:  # (its mark says "no undo possible")
        return Line(_error(step), BAD)
    if step.state == StepState.SUCCEEDED:
        return Line(f"{'undo done' if undo else 'done'}{took}", OK)
    if step.state == StepState.COMPENSATED:
        return Line(f"undo done{took}", OK) if undo else Line("done, then undone", WARN)
    if step.state == StepState.FAILED:
        what = "undo failed" if undo else "failed"
        if step.best_effort:
            what = "failed, and the saga went on without it"
        return Line(f"{what}: {_error(step)}", WARN if step.best_effort else BAD)
    if step.state == StepState.PENDING:
        return Line("left pending", WARN)
    return Line(f"{quote(step.state, 40) or 'no state'}{took}", WARN)


def _produced(step: Step) -> Line | None:
    """What the step's output says it produced: its events, or nothing."""
    if step.output_json is None:
        return None if step.in_flight else Line("produced no output stored", DIM, 4)
    if step.state == StepState.FAILED or step.failure_reason is not None:
        return None  # its error is its status
    value, problem = _read(step.output_json)
    if problem is not None:
        return Line(f"produced an output that is {problem}", WARN, 4)
    if isinstance(value, list):
        if not value:
            return Line("produced no events", DIM, 4)
        named = [_tagged(strict_json(event), "event", "an event") or "" for event in value]
        more = f"; … {len(named) - MAX_EVENTS} more" if len(named) > MAX_EVENTS else ""
        return Line(f"produced {'; '.join(named[:MAX_EVENTS])}{more}", indent=4)
    return Line(f"produced {quote(step.output_json)}", indent=4)


def _sent(step: Step) -> Line:
    if step.role is StepRole.NO_UNDO and not _dict(step.cmd_json).get("cmd"):
        return Line("sent     nothing (recovery's note that it could not undo)", DIM, 4)
    if not (step.cmd_json or "").strip():
        return Line("sent     no command (a fallback undo)", DIM, 4)
    return Line(f"sent     {_tagged(step.cmd_json, 'cmd', 'a command')}", indent=4)


def _step_lines(case: ServerCase, step: Step, drawn: timedelta | None) -> list[Line]:
    status = _status(case, step, drawn)
    mark = undo_mark(step.role, step.undoes)
    mark = f" {mark}" if mark else (" (best effort)" if step.best_effort else "")
    head = f"step {step.step_index} {quote(step.name, 80) or 'without a name'}{mark}: " \
           f"{status.text}"
    lines = [Line(head, status.tone), _sent(step)]
    produced = _produced(step)
    if produced is not None:
        lines.append(produced)
    done = step.state in (StepState.SUCCEEDED, StepState.COMPENSATED) and not step.is_undo
    said = case.said(step, "done") if done else None
    if said is not None:
        lines.append(Line(f"did      {said}", indent=4))
    if case.kind is not None and not step.is_undo and case.kind.step(step.name) is None:
        lines.append(Line("a step this saga kind does not have", WARN, 4))
    return lines


def _not_started(case: ServerCase) -> list[str]:
    """The kind's steps the saga never wrote (and items of a repeating step never reached)."""
    if case.kind is None or case.detail.saga.state == SagaState.COMPLETED:
        return []
    recorded = {step.name for step in case.forward}
    missing = [f"{step.name}: not started" for step in case.kind.steps
               if step.name not in recorded and not step.optional]
    return missing + [f"{line}: not started" for line in _items_not_reached(case)]


def _items_not_reached(case: ServerCase) -> list[str]:
    """`delete_block of block 3c1f…`: an item of a repeating step's list never reached."""
    if case.kind is None or case.kind.name not in _REPEATS:
        return []
    key, name, item_key = _REPEATS[case.kind.name]
    items = case.given.get(key)
    if not isinstance(items, list):
        return []
    reached = {str(_dict(step.cmd_json).get(item_key)) for step in case.forward
               if step.name == name}
    what = item_key.removesuffix("_id")
    return [f"{name} of {what} {short_id(item)}" for item in items
            if isinstance(item, str) and item not in reached]


def steps_section(case: ServerCase) -> Section:
    lines: list[Line] = []
    listed = _listed(case.detail)
    for position in listed:
        lines += _step_lines(case, case.steps[position], case.timeline.spans[position].duration)
    if len(listed) < len(case.steps):
        lines.append(Line(f"… {len(case.steps) - len(listed)} more steps, not listed here "
                          "(`show` lists them all)", DIM))
    lines += [Line(text, DIM) for text in _not_started(case)]
    if not case.steps:
        lines.append(Line("no steps recorded: the saga stopped before its first step, or the "
                          "file holds no steps for it", WARN))
    done = sum(step.state in (StepState.SUCCEEDED, StepState.COMPENSATED)
               for step in case.forward)
    undos = len(case.undos)
    tail = f", {undos} undo row{'' if undos == 1 else 's'}" if undos else ""
    return Section(f"Steps ({done} of {len(case.forward)} done{tail})", tuple(lines))


# -- what was undone ---------------------------------------------------------------------------


def _undo_line(case: ServerCase, step: Step) -> Line:
    undone = case.forward_step(step.undoes)
    of = step_name(undone) if undone is not None else "a step that cannot be told"
    if step.role is StepRole.NO_UNDO:
        return Line(f"{of}: no undo possible ({_error(step, 120)}), so it stays done", BAD)
    row = f"step {step.step_index}"
    if step.in_flight or step.state == StepState.PENDING:
        return Line(f"{of}: its undo ({row}) was left pending", BAD)
    if step.state == StepState.FAILED:
        return Line(f"{of}: its undo ({row}) failed: {_error(step, 120)}", BAD)
    if step.state in (StepState.COMPENSATED, StepState.SUCCEEDED):
        return Line(f"{of}: undone by {row}", OK)
    return Line(f"{of}: its undo ({row}) is in state {quote(step.state, 40)}", WARN)


def undone_section(case: ServerCase) -> Section | None:
    """What compensation or recovery undid; None for a saga that never tried to undo."""
    state = case.detail.saga.state
    undoing = state in (SagaState.COMPENSATING, SagaState.COMPENSATED,
                        SagaState.FAILED_COMPENSATION)
    if not undoing and not case.undos:
        return None
    lines = [_undo_line(case, step) for step in case.undos]
    done = [step for step in case.forward if step.state == StepState.SUCCEEDED]
    if not case.has_undo:
        assert case.kind is not None
        only = " (`compensated` here only means that it stopped at an error)" \
            if state == SagaState.COMPENSATED else ""
        lines.insert(0, Line(f"Nothing was undone: a {case.kind.name} saga has no undo{only}.",
                             WARN))
        lines += [Line(f"still done: {case.said(step, 'done') or step_name(step)}", WARN)
                  for step in done]
    elif not case.undos:
        if done:
            lines.append(Line("No undo was recorded, yet "
                              f"{', '.join(step_name(step) for step in done)} had succeeded.",
                              WARN))
        else:
            lines.append(Line("Nothing was undone: no step had succeeded, so there was "
                              "nothing to undo.", OK))
    else:
        left = [step for step in done
                if not any(undo.undoes == step.step_index for undo in case.undos)]
        lines += [Line(f"{step_name(step)}: succeeded and not undone", WARN) for step in left]
    return Section("What was undone", tuple(lines))


# -- outcome, verdict, checks ------------------------------------------------------------------


def cause_of(case: ServerCase) -> str:
    return cause_word(case.detail.saga.state, case.reason)


def _recovered(case: ServerCase) -> bool:
    return case.reason is not None and case.reason.recovery is not None


def outcome(case: ServerCase) -> Section:
    saga = case.detail.saga
    lines = [_field("state", quote(saga.state, 60)),
             _field("started", format_time(saga.started_at))]
    ended = format_time(saga.ended_at) if saga.ended_at is not None else "not ended"
    if saga.duration is not None and saga.duration < timedelta(0):
        ended += f" ({ENDS_BEFORE_START})"
    if _recovered(case):
        ended += " (when the next server start recovered it, not when it stopped)"
    lines.append(_field("ended", ended))
    length = timeout_note(case.timeline, None, format_duration)
    if length is not None:
        lines.append(_field("length", length))
    reason = case.reason
    if reason is not None and reason.recovery is not None:
        lines.append(_field("recovery", quote(reason.recovery, MAX_REASON), WARN))
        if len(reason.problems) > 1:  # one a line
            lines += [Line(f"step {p.step_number} ({quote(p.step_name, 60)}): "
                           f"{quote(p.problem, 120)}", BAD, 10) for p in reason.problems]
    elif saga.failure_reason is not None:
        lines.append(_field("failure", quote(saga.failure_reason, MAX_REASON), BAD))
    return Section("Outcome", tuple(lines))


def _stopped_by(case: ServerCase) -> str:
    """`step 1 move_tab failed (tab not found: …)`: what stopped a compensated saga."""
    failed = case.failed_step
    if failed is None:
        said = quote(case.reason.first, 120) if case.reason is not None else ""
        return f"it failed{f' ({said})' if said else ''}"
    return f"{step_name(failed)} failed ({_error(failed, 120)})"


def _next_start(case: ServerCase) -> str:
    """What the server's next start will do with a saga left `failed` (recovery.rs)."""
    if case.in_flight is not None:
        return (f"With {step_name(case.in_flight)} still pending, its next start cannot "
                "recover it: it will mark it failed_compensation for operator review.")
    return "Its next start will undo the steps that succeeded."


def verdict(case: ServerCase, cause: str) -> Line:
    saga, timeline = case.detail.saga, case.timeline
    end = timeline.end
    took = format_duration(end) if end is not None and end >= timedelta(0) else None
    at = f" in {took}" if took else ""
    state = quote(case.reason.state, 40) if case.reason and case.reason.state else "unresolved"
    if cause == "completed":
        broken = case.failed_best_effort
        if broken:
            step = broken[0]
            return Line(f"Completed{at}, but best-effort {step_name(step)} failed: "
                        f"{case.said(step, 'missed') or 'its work was not done'}.", WARN)
        return Line(f"Completed: every step succeeded{f',{at}' if at else ''}.", OK)
    if cause == "running":
        late = timeline.past_timeout is not None
        return Line(f"Not ended: {step_name(case.in_flight)} was under way"
                    + (f", far past {case.limit}: the server that ran it probably stopped "
                       "(its next start recovers it)." if late else "."), WARN)
    if cause == "compensating":
        return Line("Compensating: the server was undoing the saga's steps and has not "
                    "finished (its next start takes it up again).", WARN)
    if cause == "unknown_state":
        return Line(f"In state {quote(saga.state, 60)}, which this tool does not know.", WARN)
    if cause == Cause.TIMEOUT:
        return Line(f"Timed out: {step_name(case.in_flight)} did not finish within "
                    f"{case.limit}; the server marked the saga failed. {_next_start(case)}",
                    BAD)
    if cause == Cause.RESUMED:
        return Line(f"Recovered at a server restart (it was {state}): every step that had "
                    "succeeded was undone.", OK)
    if cause == Cause.NOTHING_TO_UNDO:
        return Line(f"Closed at a server restart (it was {state}): no step had succeeded, so "
                    "there was nothing to undo.", OK)
    if cause == Cause.CRASHED_MID_DISPATCH:
        return Line(f"Needs review: the server stopped while {step_name(case.in_flight)} was "
                    "under way; at its next start recovery could not tell whether it took "
                    "effect, and undid nothing.", BAD)
    if cause == Cause.UNDO_INCOMPLETE:
        return Line("Needs review: recovery at a server restart could not undo every step "
                    "that had succeeded.", BAD)
    if saga.state == SagaState.COMPENSATED:
        if not case.has_undo:
            assert case.kind is not None
            return Line(f"Compensated in name only: {_stopped_by(case)}; a {case.kind.name} "
                        "saga has no undo, so nothing was undone.", WARN)
        if any(step.state == StepState.COMPENSATED for step in case.undos):
            return Line(f"Compensated: {_stopped_by(case)}, and what was done before it was "
                        "undone.", WARN)
        return Line(f"Compensated: {_stopped_by(case)} before anything was done: nothing "
                    "needed undoing.", WARN)
    if saga.state == SagaState.FAILED_COMPENSATION:
        return Line(f"Needs review: {_stopped_by(case)}, and undoing what was done did not "
                    "succeed.", BAD)
    if cause == "no_reason":
        return Line(f"{quote(saga.state, 60).capitalize()}, with no failure reason stored.",
                    BAD)
    return Line(f"{quote(saga.state, 60).capitalize()}: "
                f"{quote(case.reason.first if case.reason else '', MAX_REASON)}.", BAD)


def _left_over(case: ServerCase) -> list[str]:
    """What may be left half done, concretely: each thing a done step left (unless its undo
    worked), each thing a step that was not done left as it was."""
    saga = case.detail.saga
    found: list[str] = []
    undone = {undo.undoes for undo in case.undos
              if undo.role is StepRole.UNDO and undo.state in (StepState.COMPENSATED,
                                                               StepState.SUCCEEDED)}
    for step in case.forward:
        if step.in_flight:
            continue  # said on its own
        if step.state == StepState.SUCCEEDED and saga.state != SagaState.COMPLETED \
                and step.step_index not in undone:
            said = case.said(step, "kept")
            if said is not None:
                found.append(said)
        elif step.state == StepState.FAILED and (step.best_effort or not case.has_undo):
            said = case.said(step, "missed")
            if said is not None:
                found.append(said)
    if not case.has_undo and saga.state != SagaState.COMPLETED:
        recorded = {step.name for step in case.forward}
        found += [said for kind_step in (case.kind.steps if case.kind else ())
                  if kind_step.name not in recorded and not kind_step.optional
                  for said in [_said_missing(case, kind_step.name)] if said]
        found += [f"{item.split(' of ', 1)[1]} was never deleted: it may still be there"
                  for item in _items_not_reached(case)]
    return list(dict.fromkeys(found))


def _said_missing(case: ServerCase, name: str) -> str | None:
    effect = _EFFECTS.get(name)
    return effect.missed.format_map(_values(None, case.given, case.steps)) if effect else None


def _sentence(text: str) -> str:
    """A full stop, unless the text ends with a shortened id's `…`."""
    return text if text.endswith(("…", ".")) else f"{text}."


def _nothing_left(case: ServerCase, cause: str) -> str:
    if cause == "completed":
        return "Nothing to check: every step succeeded."
    if case.detail.saga.state == SagaState.COMPENSATED:
        if not any(step.state in (StepState.SUCCEEDED, StepState.COMPENSATED)
                   for step in case.forward):
            return "Nothing should be left: no step had taken effect."
        return "Nothing should be left half done: every step that was done was undone."
    return "Look in the server's log around its end time for this saga."


def checks(case: ServerCase, cause: str) -> list[Line]:
    saga = case.detail.saga
    lines: list[Line] = []
    flying = case.in_flight
    if flying is not None:
        did = case.said(flying, "done")
        what = f"whether it {did}" if did else "what it did"
        when = {Cause.TIMEOUT: f"when {case.limit} ran out (the server may still have "
                               "finished it after giving up)",
                Cause.CRASHED_MID_DISPATCH: "when the server stopped"}.get(
            cause, "when the saga stopped" if saga.state != SagaState.RUNNING else "")
        lines.append(Line(_sentence(f"{step_name(flying)} was under way"
                                    f"{f' {when}' if when else ''}: check {what}"), BAD))
    lines += [Line(_sentence(f"Check: {said}"), WARN) for said in _left_over(case)]
    if cause == "running":
        lines.append(Line(
            f"It is past {case.limit} yet not ended, so the server that ran it most likely "
            "stopped: its next start recovers it (undoes what was done, or asks for review)."
            if case.timeline.past_timeout is not None else
            f"It is within {case.limit}: the server is still running it.", WARN))
    elif saga.state == SagaState.FAILED:
        lines.append(Line(_next_start(case), DIM))
    elif saga.state == SagaState.FAILED_COMPENSATION:
        lines.append(Line("Operator review needed: the server will not try this saga again.",
                          WARN))
    elif cause == "compensating":
        lines.append(Line("Check whether the server is running: compensation that never ends "
                          "means it stopped midway; its next start takes the saga up again.",
                          WARN))
    if not lines:
        lines.append(Line(_nothing_left(case, cause)))
    return lines


def server_case(detail: SagaDetail, kind: SagaKind | None, timeline: Timeline) -> ServerCase:
    saga = detail.saga
    reason = saga.log_format.split_reason(saga.failure_reason) \
        if saga.failure_reason is not None else None
    given = _dict(saga.input_json)
    return ServerCase(detail, kind, timeline, reason, given)


def sections(case: ServerCase, cause: str, timeline: Section) -> tuple[Section, ...]:
    undone = undone_section(case)
    return (
        Section("What was asked", tuple(asked(case))),
        outcome(case),
        steps_section(case),
        *((undone,) if undone is not None else ()),
        timeline,
        Section("What to check", tuple(checks(case, cause))),
    )

