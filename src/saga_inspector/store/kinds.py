"""What each format's saga kinds are: their input, steps, awaited events, undo and timeouts,
and how the launcher's failure reasons are worded. Format knowledge (each LogFormat holds its
kinds): the timeline and the triage summary read it from there; a kind not listed is shown
without it, never refused. Also how the server's undo rows are told from its forward steps.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from .states import StepRole


@dataclass(frozen=True, slots=True)
class StepKind:
    """One step the launcher writes: the command it sends and the events that answer it."""

    name: str
    command: str
    awaits: tuple[str, ...] = ()
    best_effort: bool = False  # its failure does not fail the saga (the server's clean-ups)
    repeats: bool = False  # one row per item (a tab, a block of the input)
    optional: bool = False  # written only when needed (e.g. the pane is now empty)


@dataclass(frozen=True, slots=True)
class SagaKind:
    name: str
    input_key: str  # the input's main field, naming what the saga is about
    timeout: timedelta  # the writer fails the saga this long after it started
    steps: tuple[StepKind, ...]
    # the input's other fields worth naming (the server's), after input_key
    other_inputs: tuple[str, ...] = ()
    # undo step name -> the forward step it undoes (the server's compensation); empty: a kind
    # whose failure undoes nothing, even when the saga is marked `compensated`
    undo: Mapping[str, str] = field(default_factory=dict)

    def step(self, name: str | None) -> StepKind | None:
        return next((step for step in self.steps if step.name == name), None)


POOL_RESPAWN = SagaKind(
    "pool_respawn_on_promote", "promoted_label", timedelta(seconds=5),
    (StepKind("issue_cmd_host_spawn_pool_window", "spawn_pool_window", ("pool_window_added",)),),
)
WINDOW_CLEANUP = SagaKind(
    "window_cleanup_cascade", "closed_label", timedelta(seconds=30),
    (StepKind("issue_cmd_host_reap_panes", "reap_panes", ("panes_reaped",)),
     StepKind("issue_cmd_host_drain_pool_if_last", "drain_pool_if_last",
              ("pool_drained", "pool_not_last"))),
)
LAUNCHER_KINDS: Mapping[str, SagaKind] = {kind.name: kind
                                          for kind in (POOL_RESPAWN, WINDOW_CLEANUP)}

# -- the server's nine kinds (agentmux-srv/src/sagas/, one file per kind) ---------------------

SERVER_TIMEOUT = timedelta(seconds=5)  # every server saga


def _step(name: str, **flags: bool) -> StepKind:
    return StepKind(name, name, **flags)


def _server(name: str, inputs: tuple[str, ...], steps: tuple[StepKind, ...],
            undo: Mapping[str, str] | None = None) -> SagaKind:
    return SagaKind(name, inputs[0], SERVER_TIMEOUT, steps, inputs[1:], undo or {})


SERVER_KINDS: Mapping[str, SagaKind] = {kind.name: kind for kind in (
    _server("tear_off_tab", ("tab_id", "source_workspace_id"),
            (_step("create_workspace"), _step("move_tab")),
            {"delete_workspace": "create_workspace"}),
    _server("tear_off_block", ("block_id", "source_tab_id"),
            (_step("create_workspace"), _step("create_tab"), _step("move_block")),
            {"delete_workspace": "create_workspace", "delete_tab": "create_tab"}),
    _server("promote_block_to_tab", ("block_id", "source_tab_id", "workspace_id"),
            (_step("create_tab"), _step("move_block")), {"delete_tab": "create_tab"}),
    _server("restore_torn_off_tab",
            ("tab_id", "source_workspace_id", "dest_workspace_id", "insert_index"),
            (_step("move_tab"), _step("delete_workspace", best_effort=True, optional=True))),
    _server("delete_block", ("block_id", "tab_id"),
            (_step("delete_block"), _step("layout_delete_node_by_block", best_effort=True))),
    _server("delete_tab", ("tab_id", "workspace_id"), (_step("delete_tab"),)),
    _server("delete_workspace", ("workspace_id", "tab_ids", "block_count"),
            (_step("delete_tab", repeats=True, optional=True), _step("delete_workspace"))),
    _server("redock_floating_pane", ("block_id", "source_tab_id", "target_tab_id", "dst_index"),
            (_step("move_block"),)),
    _server("close_pane", ("tab_id", "block_ids"),
            (_step("delete_block", repeats=True),
             _step("layout_delete_node", optional=True, best_effort=True))),
)}

# Rows recovery and compensation append that are never forward steps.
FALLBACK_UNDO = "compensate"  # an undo with an empty command
NO_INVERSE_PREFIX = "no_inverse_for_"


@dataclass(frozen=True, slots=True)
class StepPlace:
    """What one step row is: its role, the step_index of the forward step an undo row undoes
    (None where that cannot be told), and whether it is a best-effort step."""

    role: StepRole = StepRole.FORWARD
    undoes: int | None = None
    best_effort: bool = False


@dataclass(frozen=True, slots=True)
class StepRecord:
    """The little of a step row that classify_steps reads."""

    step_index: int
    name: str | None
    state: str | None


def _forward_count(kind: SagaKind | None, names: Sequence[str | None]) -> int:
    """How many rows from the first are the kind's forward steps in its order (repeating
    and optional steps matched as they can be)."""
    if kind is None:
        return len(names)
    position, expected = 0, 0
    while position < len(names) and expected < len(kind.steps):
        step = kind.steps[expected]
        if names[position] == step.name:
            position += 1
            if not step.repeats:
                expected += 1
        elif step.optional or (step.repeats and position > 0
                               and names[position - 1] == step.name):
            expected += 1
        else:
            break
    return position


def _roles(kind: SagaKind | None, names: Sequence[str | None]) -> list[StepRole]:
    """Each row's role. `compensate` and `no_inverse_for_<step>` rows are always undo rows.
    Past the kind's forward steps in its order, a row is an undo row only when it looks like
    one: an undo the kind's table names, or the name of an earlier forward step again
    (recovery's inverse: tear_off_tab's second `move_tab`). Any other row stays a forward
    step: a step a newer server renamed or added is not mistaken for an undo."""
    forward = _forward_count(kind, names)
    roles: list[StepRole] = []
    done: set[str | None] = set()
    for position, name in enumerate(names):
        text = name or ""
        if text.startswith(NO_INVERSE_PREFIX):
            role = StepRole.NO_UNDO
        elif text == FALLBACK_UNDO:
            role = StepRole.UNDO
        elif position < forward:
            role = StepRole.FORWARD
        elif kind is not None and (text in kind.undo or name in done):
            role = StepRole.UNDO
        else:
            role = StepRole.FORWARD
        if role is StepRole.FORWARD:
            done.add(name)
        roles.append(role)
    return roles


def classify_steps(kind: SagaKind | None, steps: Sequence[StepRecord],
                   undone_states: frozenset[str]) -> list[StepPlace]:
    """Tell undo rows from forward steps (see _roles: the undo is appended after the
    others). An undo is paired with the forward step it undoes: the newest not yet paired
    whose state is in `undone_states` (recovery undoes newest first), named by the kind's
    undo table, or the row's `no_inverse_for_` suffix."""
    roles = _roles(kind, [step.name for step in steps])
    best_effort = {s.name for s in kind.steps if s.best_effort} if kind else set()
    places = []
    unpaired = [s for s, role in zip(steps, roles, strict=True)
                if role is StepRole.FORWARD and s.state in undone_states][::-1]
    for step, role in zip(steps, roles, strict=True):
        name = step.name or ""
        if role is StepRole.FORWARD:
            places.append(StepPlace(best_effort=name in best_effort))
            continue
        if role is StepRole.NO_UNDO:
            target: str | None = name[len(NO_INVERSE_PREFIX):]
        elif kind is not None and name in kind.undo:
            target = kind.undo[name]
        else:
            target = None if name == FALLBACK_UNDO else name
        paired = next((s for s in unpaired if target is None or s.name == target), None)
        if paired is not None and (target is not None or len(unpaired) == 1):
            unpaired.remove(paired)
        else:
            paired = None
        places.append(StepPlace(role, None if paired is None else paired.step_index))
    return places


def timeout_of(kind: SagaKind | None) -> timedelta | None:
    """The saga kind's timeout; None for a kind this tool does not know."""
    return kind.timeout if kind is not None else None


# -- failure reasons (saga level) -------------------------------------------------------------


class Cause(enum.StrEnum):
    """What ended a failed saga first, read from the start of its failure reason."""

    TIMEOUT = "timeout"
    HOST_PIPE = "host_pipe"
    HOST_ACTION = "host_action"
    LAUNCHER_RESTART = "launcher_restart"
    OTHER = "other"
    # The server's: what its recovery (at the next server start) wrote in place of the reason.
    RESUMED = "resumed"  # every succeeded step undone
    NOTHING_TO_UNDO = "nothing_to_undo"  # no step had succeeded
    CRASHED_MID_DISPATCH = "crashed_mid_dispatch"  # a step was left pending
    UNDO_INCOMPLETE = "undo_incomplete"  # some steps could not be undone
    STEP_ERROR = "step_error"  # a step's error (`TearOffTab step 2 (MoveTab): ...`)


# Newer builds append the recovery to the reason the saga had failed with.
RECOVERED_SEPARATOR = " | recovered: "
_PREFIXES = (
    ("saga timeout", Cause.TIMEOUT),
    ("host pipe send failed", Cause.HOST_PIPE),
    ("host action failed", Cause.HOST_ACTION),
    ("launcher restarted while saga in state", Cause.LAUNCHER_RESTART),
)


@dataclass(frozen=True, slots=True)
class RecoveryProblem:
    """One problem a server recovery names: `step 1 (delete_tab): no inverse derivable ...`."""

    step_number: int
    step_name: str
    problem: str


@dataclass(frozen=True, slots=True)
class FailureReason:
    """A saga's failure reason taken apart: `first` (why it failed), what `detail` came after
    the known prefix, and the `recovery` a later start appended (the launcher) or wrote in
    its place (the server), if any. `problems`: the steps a server recovery could not undo;
    `state`: the saga's state its recovery found at startup (the server's)."""

    cause: Cause
    first: str
    detail: str
    recovery: str | None
    problems: tuple[RecoveryProblem, ...] = ()
    state: str | None = None


def split_reason(reason: str) -> FailureReason:
    first, found, recovery = reason.partition(RECOVERED_SEPARATOR)
    for prefix, cause in _PREFIXES:
        if first.startswith(prefix):
            detail = first[len(prefix):].lstrip(" :")
            return FailureReason(cause, first, detail, recovery if found else None)
    return FailureReason(Cause.OTHER, first, first, recovery if found else None)


# The server's reasons (agentmux-srv sagas/mod.rs and recovery.rs). Recovery overwrites the
# reason the saga had: `first` is then the recovery's own words, and so is `recovery`.
_SERVER_TIMEOUT = re.compile(r"saga '.*' timed out after (?P<detail>.+)\Z", re.DOTALL)
_SERVER_RECOVERY = (
    (re.compile(r"resumed on srv restart \(was (?P<state>\S+) at startup\)"), Cause.RESUMED),
    (re.compile(r"no succeeded steps to compensate \(saga state at restart: (?P<state>\S+)\)"),
     Cause.NOTHING_TO_UNDO),
    (re.compile(r"saga has (?P<detail>\d+) pending step"), Cause.CRASHED_MID_DISPATCH),
)
# At most 18 digits: a longer "number" is not a step's (and int() refuses over 4300 digits);
# such a reason is read as a step's error, as it stands.
_SERVER_PROBLEM = re.compile(
    r"step (?P<number>[0-9]{1,18}) \((?P<name>[^)]*)\): (?P<problem>.*)", re.DOTALL)
OPERATOR_REVIEW = " — operator review needed"


def split_server_reason(reason: str) -> FailureReason:
    """A server saga's failure reason: its timeout, one of its recovery's sentences, or the
    error a step returned (`TearOffTab step 2 (MoveTab): tab not found: ...`)."""
    timeout = _SERVER_TIMEOUT.match(reason)
    if timeout is not None:
        return FailureReason(Cause.TIMEOUT, reason, timeout["detail"], None)
    for pattern, cause in _SERVER_RECOVERY:
        found = pattern.match(reason)
        if found is not None:
            named = found.groupdict()
            return FailureReason(cause, reason, named.get("detail") or "", reason,
                                 state=named.get("state"))
    problems = [_SERVER_PROBLEM.match(part) for part in reason.split("; ")]
    if problems and all(problem is not None for problem in problems):
        parsed = tuple(RecoveryProblem(int(p["number"]), p["name"],
                                       p["problem"].removesuffix(OPERATOR_REVIEW))
                       for p in problems if p is not None)
        return FailureReason(Cause.UNDO_INCOMPLETE, reason, "", reason, parsed)
    return FailureReason(Cause.STEP_ERROR, reason, reason, None)
