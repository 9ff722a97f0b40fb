"""The triage summary of a server saga (AgentMux's `sagas.db`), in the server's language:
which tab, block or workspace it was asked to change, what each step did (its events),
what compensation or recovery undid and whether that worked, whether a `compensated`
saga really undid anything, the step under way when the server stopped, and what to check
("tab 5d07a1b2… may be left in workspace d56b0c3e…").

`explain.explain` sends a server saga here; the lines, sections and quoting are explain_common's.
Every value from the file is quoted through the one sanitiser (explain_common.quote). Ids are
shortened in sentences and given whole in "What was asked".
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from .explain_common import (
    BAD,
    DIM,
    MAX_REASON,
    OK,
    WARN,
    Line,
    Section,
    cause_word,
    field,
    listed_steps,
    quote,
    read_payload,
    tagged_value,
)
from .report import (
    ENDS_BEFORE_START,
    LABEL_WIDTH,
    format_duration,
    format_time,
    format_timeout,
    undo_mark,
)
from .store.kinds import FALLBACK_UNDO, Cause, FailureReason, SagaKind
from .store.models import SagaDetail, Step
from .store.payload import strict_json
from .store.states import SagaState, StepRole, StepState
from .timeline import Timeline, timeout_note

ID_CHARS = 8  # an id in a sentence: its first characters, then …
MAX_EVENTS = 3  # a step's events named
MAX_ALIKE = 10  # lines of one kind (a check, a step not reached, ...) before "… N more"
MAX_NAMED = 10  # steps named in one sentence
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
    value, _problem = read_payload(raw)
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Payloads:
    """A step's command and output, each read once: a saga may hold thousands of steps, and
    every sentence about one of them looks at the others' events (see _values)."""

    command_value: object
    command_problem: str | None
    output_value: object
    output_problem: str | None

    @property
    def command(self) -> dict[object, object]:
        """The command as an object (empty when it is not one)."""
        return self.command_value if isinstance(self.command_value, dict) else {}

    @property
    def events(self) -> list[dict[object, object]]:
        """The output's events (an output that is not a list has none)."""
        value = self.output_value
        return [event for event in value if isinstance(event, dict)] \
            if isinstance(value, list) else []


def read_payloads(step: Step) -> Payloads:
    return Payloads(*read_payload(step.cmd_json), *read_payload(step.output_json))


class _Values(dict[str, str]):
    """Sentence values; a key none of the payloads holds reads as "(not stored)"."""

    def __missing__(self, key: str) -> str:
        return UNKNOWN_ID


def _placeholders(text: str) -> list[str]:
    return [part.split("}", 1)[0] for part in text.split("{")[1:]]


_EFFECT_KEYS = frozenset(key for effect in _EFFECTS.values()
                         for text in (effect.done, effect.kept, effect.missed)
                         for key in _placeholders(text))
# Every payload key a sentence value may be read from.
_VALUE_NAMES = frozenset(name for key in _EFFECT_KEYS for name in _ALIASES.get(key, (key,)))


def _held(source: dict[object, object], name: str) -> object | None:
    value = source.get(name)
    return value if isinstance(value, str | int) else None


def event_values(payloads: Iterable[Payloads]) -> dict[str, object]:
    """For each key a sentence may name, its value in the first event of the saga's steps
    that holds it (a workspace the first step created): found once for the whole saga."""
    found: dict[str, object] = {}
    for events in (step.events for step in payloads):
        for event in events:
            for name in _VALUE_NAMES - found.keys():
                value = _held(event, name)
                if value is not None:
                    found[name] = value
    return found


# -- the case ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerCase:
    detail: SagaDetail
    kind: SagaKind | None
    timeline: Timeline
    reason: FailureReason | None
    given: dict[object, object]  # the saga's input, parsed (empty when it is not an object)
    forward: tuple[Step, ...]
    undos: tuple[Step, ...]
    # Each step's payloads, by the step's identity (a Step is not hashable: its `extra` is a
    # dict; the detail keeps every step alive while the case is used).
    payloads: Mapping[int, Payloads]
    found_in_events: Mapping[str, object]  # see event_values
    forward_by_index: Mapping[int, Step]  # the first forward step of each step_index

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.detail.steps

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

    def read(self, step: Step) -> Payloads:
        return self.payloads[id(step)]

    def values(self, step: Step | None) -> _Values:
        """The ids a step's sentence names: from its command, its own events, the saga's
        input, then the events of the saga's steps (a workspace the first step created)."""
        own = [self.read(step).command, *self.read(step).events] if step is not None else []
        own.append(self.given)
        values = _Values()
        for key in _EFFECT_KEYS:
            for name in _ALIASES.get(key, (key,)):
                found = next((value for source in own
                              if (value := _held(source, name)) is not None),
                             self.found_in_events.get(name))
                if found is not None:
                    values[key] = short_id(found)
                    break
        return values

    def command(self, step: Step) -> str:
        """The step's command name (its `cmd` tag, else its row's name)."""
        tag = self.read(step).command.get("cmd")
        return tag if isinstance(tag, str) else (step.name or "")

    def effect(self, step: Step) -> _Effect | None:
        return _EFFECTS.get(self.command(step)) or _EFFECTS.get(step.name or "")

    def said(self, step: Step, which: str) -> str | None:
        """What a step did (`done`), left done (`kept`) or left undone (`missed`), in words."""
        effect = self.effect(step)
        if effect is None:
            return None
        return getattr(effect, which).format_map(self.values(step))

    def step_name(self, step: Step | None) -> str:
        if step is None:
            return "its next step"
        return f"step {step.step_index} {quote(self.command(step), 60) or 'without a name'}"

    def forward_step(self, step_index: int | None) -> Step | None:
        return self.forward_by_index.get(step_index) if step_index is not None else None


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
    _parsed, problem = read_payload(saga.input_json)
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


def _produced(case: ServerCase, step: Step) -> Line | None:
    """What the step's output says it produced: its events, or nothing."""
    if step.output_json is None:
        return None if step.in_flight else Line("produced no output stored", DIM, 4)
    if step.state == StepState.FAILED or step.failure_reason is not None:
        return None  # its error is its status
    payloads = case.read(step)
    value = payloads.output_value
    if payloads.output_problem is not None:
        return Line(f"produced an output that is {payloads.output_problem}", WARN, 4)
    if isinstance(value, list):
        if not value:
            return Line("produced no events", DIM, 4)
        named = [tagged_value(event, strict_json(event), "event", "an event")
                 for event in value[:MAX_EVENTS]]
        more = f"; … {len(value) - MAX_EVENTS} more" if len(value) > MAX_EVENTS else ""
        return Line(f"produced {'; '.join(named)}{more}", indent=4)
    return Line(f"produced {quote(step.output_json)}", indent=4)


def _sent(case: ServerCase, step: Step) -> Line:
    payloads = case.read(step)
    if step.role is StepRole.NO_UNDO and not payloads.command.get("cmd"):
        return Line("sent     nothing (recovery's note that it could not undo)", DIM, 4)
    if not (step.cmd_json or "").strip():
        # Only recovery's fallback undo is written without a command; any other row that
        # has none is said as it is.
        said = "no command (a fallback undo)" if step.name == FALLBACK_UNDO else \
            "no command stored"
        return Line(f"sent     {said}", DIM, 4)
    if payloads.command_problem is not None:
        return Line(f"sent     a command that is {payloads.command_problem}", indent=4)
    sent = tagged_value(payloads.command_value, step.cmd_json or "", "cmd", "a command")
    return Line(f"sent     {sent}", indent=4)


def _step_lines(case: ServerCase, step: Step, drawn: timedelta | None) -> list[Line]:
    status = _status(case, step, drawn)
    mark = undo_mark(step.role, step.undoes)
    mark = f" {mark}" if mark else (" (best effort)" if step.best_effort else "")
    head = f"step {step.step_index} {quote(step.name, 80) or 'without a name'}{mark}: " \
           f"{status.text}"
    lines = [Line(head, status.tone), _sent(case, step)]
    produced = _produced(case, step)
    if produced is not None:
        lines.append(produced)
    done = step.state in (StepState.SUCCEEDED, StepState.COMPENSATED) and not step.is_undo
    said = case.said(step, "done") if done else None
    if said is not None:
        lines.append(Line(f"did      {said}", indent=4))
    if case.kind is not None and not step.is_undo and case.kind.step(step.name) is None:
        lines.append(Line("a step this saga kind does not have", WARN, 4))
    return lines


def _alike(lines: Iterable[tuple[Hashable, Line]]) -> list[Line]:
    """Lines grouped by their kind (in the order each kind first comes), a line said twice
    said once, and at most MAX_ALIKE of a kind, then `… N more like these`: a close_pane of
    2000 blocks is checked in ten lines, not 2000."""
    groups: dict[Hashable, list[Line]] = {}
    seen: set[str] = set()
    for kind, line in lines:
        if line.text not in seen:
            seen.add(line.text)
            groups.setdefault(kind, []).append(line)
    shown: list[Line] = []
    for group in groups.values():
        shown += group[:MAX_ALIKE]
        if len(group) > MAX_ALIKE:
            shown.append(Line(f"… {len(group) - MAX_ALIKE} more like these", DIM,
                              group[0].indent))
    return shown


def _named(names: list[str]) -> str:
    """Steps named in one sentence: at most MAX_NAMED, then how many more."""
    more = f", … {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return ", ".join(names[:MAX_NAMED]) + more


def _not_started(case: ServerCase) -> list[Line]:
    """The kind's steps the saga never wrote (and items of a repeating step never reached)."""
    if case.kind is None or case.detail.saga.state == SagaState.COMPLETED:
        return []
    recorded = {step.name for step in case.forward}
    missing = [("step", Line(f"{step.name}: not started", DIM)) for step in case.kind.steps
               if step.name not in recorded and not step.optional]
    return _alike([*missing, *(("item", Line(f"{line}: not started", DIM))
                               for line in _items_not_reached(case))])


def _items_not_reached(case: ServerCase) -> list[str]:
    """`delete_block of block 3c1f…`: an item of a repeating step's list never reached."""
    if case.kind is None or case.kind.name not in _REPEATS:
        return []
    key, name, item_key = _REPEATS[case.kind.name]
    items = case.given.get(key)
    if not isinstance(items, list):
        return []
    reached = {str(case.read(step).command.get(item_key)) for step in case.forward
               if step.name == name}
    what = item_key.removesuffix("_id")
    return [f"{name} of {what} {short_id(item)}" for item in items
            if isinstance(item, str) and item not in reached]


def steps_section(case: ServerCase) -> Section:
    lines: list[Line] = []
    listed = listed_steps(case.detail)
    for position in listed:
        lines += _step_lines(case, case.steps[position], case.timeline.spans[position].duration)
    if len(listed) < len(case.steps):
        lines.append(Line(f"… {len(case.steps) - len(listed)} more steps, not listed here "
                          "(`show` lists them all)", DIM))
    lines += _not_started(case)
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
    of = case.step_name(undone) if undone is not None else "a step that cannot be told"
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
    # An undo row's kind: what became of it.
    lines = _alike(((step.role, step.state, step.in_flight), _undo_line(case, step))
                   for step in case.undos)
    done = [step for step in case.forward if step.state == StepState.SUCCEEDED]
    if not case.has_undo:
        assert case.kind is not None
        only = " (`compensated` here only means that it stopped at an error)" \
            if state == SagaState.COMPENSATED else ""
        lines.insert(0, Line(f"Nothing was undone: a {case.kind.name} saga has no undo{only}.",
                             WARN))
        lines += _alike((case.command(step), Line(
            f"still done: {case.said(step, 'done') or case.step_name(step)}", WARN))
            for step in done)
    elif not case.undos:
        if done:
            lines.append(Line("No undo was recorded, yet "
                              f"{_named([case.step_name(step) for step in done])} had "
                              "succeeded.", WARN))
        else:
            lines.append(Line("Nothing was undone: no step had succeeded, so there was "
                              "nothing to undo.", OK))
    else:
        paired = {undo.undoes for undo in case.undos}
        lines += _alike(("left", Line(f"{case.step_name(step)}: succeeded and not undone",
                                      WARN))
                        for step in done if step.step_index not in paired)
    return Section("What was undone", tuple(lines))


# -- outcome, verdict, checks ------------------------------------------------------------------


def cause_of(case: ServerCase) -> str:
    return cause_word(case.detail.saga.state, case.reason)


def _recovered(case: ServerCase) -> bool:
    return case.reason is not None and case.reason.recovery is not None


def outcome(case: ServerCase) -> Section:
    saga = case.detail.saga
    lines = [field("state", quote(saga.state, 60)),
             field("started", format_time(saga.started_at))]
    ended = format_time(saga.ended_at) if saga.ended_at is not None else "not ended"
    if saga.duration is not None and saga.duration < timedelta(0):
        ended += f" ({ENDS_BEFORE_START})"
    if _recovered(case):
        ended += " (when the next server start recovered it, not when it stopped)"
    lines.append(field("ended", ended))
    length = timeout_note(case.timeline, None, format_duration)
    if length is not None:
        lines.append(field("length", length))
    reason = case.reason
    if reason is not None and len(reason.problems) > 1:  # one a line, not all in one
        lines.append(field("recovery", f"could not undo {len(reason.problems)} steps:", WARN))
        lines += _alike(("problem", Line(f"step {p.step_number} ({quote(p.step_name, 60)}): "
                                         f"{quote(p.problem, 120)}", BAD, LABEL_WIDTH + 1))
                        for p in reason.problems)
    elif reason is not None and reason.recovery is not None:
        lines.append(field("recovery", quote(reason.recovery, MAX_REASON), WARN))
    elif saga.failure_reason is not None:
        lines.append(field("failure", quote(saga.failure_reason, MAX_REASON), BAD))
    return Section("Outcome", tuple(lines))


def _stopped_by(case: ServerCase) -> str:
    """`step 1 move_tab failed (tab not found: …)`: what stopped a compensated saga."""
    failed = case.failed_step
    if failed is None:
        said = quote(case.reason.first, 120) if case.reason is not None else ""
        return f"it failed{f' ({said})' if said else ''}"
    return f"{case.step_name(failed)} failed ({_error(failed, 120)})"


def _next_start(case: ServerCase) -> str:
    """What the server's next start will do with a saga left `failed` (recovery.rs)."""
    if case.in_flight is not None:
        return (f"With {case.step_name(case.in_flight)} still pending, its next start cannot "
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
            return Line(f"Completed{at}, but best-effort {case.step_name(step)} failed: "
                        f"{case.said(step, 'missed') or 'its work was not done'}.", WARN)
        return Line(f"Completed: every step succeeded{f',{at}' if at else ''}.", OK)
    if cause == "running":
        late = timeline.past_timeout is not None
        return Line(f"Not ended: {case.step_name(case.in_flight)} was under way"
                    + (f", far past {case.limit}: the server that ran it probably stopped "
                       "(its next start recovers it)." if late else "."), WARN)
    if cause == "compensating":
        return Line("Compensating: the server was undoing the saga's steps and has not "
                    "finished (its next start takes it up again).", WARN)
    if cause == "unknown_state":
        return Line(f"In state {quote(saga.state, 60)}, which this tool does not know.", WARN)
    if cause == Cause.TIMEOUT:
        return Line(f"Timed out: {case.step_name(case.in_flight)} did not finish within "
                    f"{case.limit}; the server marked the saga failed. {_next_start(case)}",
                    BAD)
    if cause == Cause.RESUMED:
        return Line(f"Recovered at a server restart (it was {state}): every step that had "
                    "succeeded was undone.", OK)
    if cause == Cause.NOTHING_TO_UNDO:
        return Line(f"Closed at a server restart (it was {state}): no step had succeeded, so "
                    "there was nothing to undo.", OK)
    if cause == Cause.CRASHED_MID_DISPATCH:
        return Line(f"Needs review: the server stopped while {case.step_name(case.in_flight)} was "
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


def _left_over(case: ServerCase) -> list[tuple[Hashable, str]]:
    """What may be left half done, concretely, each with its kind (which command, and whether
    it was left done or not done): each thing a done step left (unless its undo worked), each
    thing a step that was not done left as it was."""
    saga = case.detail.saga
    found: list[tuple[Hashable, str]] = []
    undone = {undo.undoes for undo in case.undos
              if undo.role is StepRole.UNDO and undo.state in (StepState.COMPENSATED,
                                                               StepState.SUCCEEDED)}
    for step in case.forward:
        if step.in_flight:
            continue  # said on its own
        which = None
        if step.state == StepState.SUCCEEDED and saga.state != SagaState.COMPLETED \
                and step.step_index not in undone:
            which = "kept"
        elif step.state == StepState.FAILED and (step.best_effort or not case.has_undo):
            which = "missed"
        said = case.said(step, which) if which is not None else None
        if said is not None:
            found.append(((case.command(step), which), said))
    if not case.has_undo and saga.state != SagaState.COMPLETED:
        recorded = {step.name for step in case.forward}
        found += [((kind_step.name, "missing"), said)
                  for kind_step in (case.kind.steps if case.kind else ())
                  if kind_step.name not in recorded and not kind_step.optional
                  for said in [_said_missing(case, kind_step.name)] if said]
        found += [("not reached", f"{item.split(' of ', 1)[1]} was never deleted: it may "
                                  "still be there")
                  for item in _items_not_reached(case)]
    return found


def _said_missing(case: ServerCase, name: str) -> str | None:
    effect = _EFFECTS.get(name)
    return effect.missed.format_map(case.values(None)) if effect else None


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
        lines.append(Line(_sentence(f"{case.step_name(flying)} was under way"
                                    f"{f' {when}' if when else ''}: check {what}"), BAD))
    lines += _alike((kind, Line(_sentence(f"Check: {said}"), WARN))
                    for kind, said in _left_over(case))
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
    payloads = {id(step): read_payloads(step) for step in detail.steps}  # each read once
    forward = tuple(step for step in detail.steps if step.role is StepRole.FORWARD)
    by_index: dict[int, Step] = {}
    for step in forward:
        by_index.setdefault(step.step_index, step)
    return ServerCase(detail, kind, timeline, reason, given, forward,
                      tuple(step for step in detail.steps if step.role is not StepRole.FORWARD),
                      payloads, event_values(payloads.values()), by_index)


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

