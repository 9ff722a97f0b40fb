"""What the launcher's two saga kinds are: their input, steps, awaited events and timeouts,
and how their failure reasons are worded. Format knowledge, like schema.py: the timeline and
the triage summary read it from here; a kind not listed is shown without it, never refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class StepKind:
    """One step the launcher writes: the command it sends and the events that answer it."""

    name: str
    command: str
    awaits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SagaKind:
    name: str
    input_key: str  # the input's one field, naming the window the saga is about
    timeout: timedelta  # the launcher fails the saga this long after it started
    steps: tuple[StepKind, ...]

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
SAGA_KINDS: Mapping[str, SagaKind] = {kind.name: kind for kind in (POOL_RESPAWN, WINDOW_CLEANUP)}


def saga_kind(name: str | None) -> SagaKind | None:
    return SAGA_KINDS.get(name) if isinstance(name, str) else None


def timeout_for(name: str | None) -> timedelta | None:
    """The saga kind's timeout; None for a kind this tool does not know."""
    kind = saga_kind(name)
    return kind.timeout if kind is not None else None


# -- failure reasons (saga level) -------------------------------------------------------------


class Cause(enum.StrEnum):
    """What ended a failed saga first, read from the start of its failure reason."""

    TIMEOUT = "timeout"
    HOST_PIPE = "host_pipe"
    HOST_ACTION = "host_action"
    LAUNCHER_RESTART = "launcher_restart"
    OTHER = "other"


# Newer builds append the recovery to the reason the saga had failed with.
RECOVERED_SEPARATOR = " | recovered: "
_PREFIXES = (
    ("saga timeout", Cause.TIMEOUT),
    ("host pipe send failed", Cause.HOST_PIPE),
    ("host action failed", Cause.HOST_ACTION),
    ("launcher restarted while saga in state", Cause.LAUNCHER_RESTART),
)


@dataclass(frozen=True, slots=True)
class FailureReason:
    """A saga's failure reason taken apart: `first` (why it failed), what `detail` came after
    the known prefix, and the `recovery` a later launcher start appended, if any."""

    cause: Cause
    first: str
    detail: str
    recovery: str | None


def split_reason(reason: str) -> FailureReason:
    first, found, recovery = reason.partition(RECOVERED_SEPARATOR)
    for prefix, cause in _PREFIXES:
        if first.startswith(prefix):
            detail = first[len(prefix):].lstrip(" :")
            return FailureReason(cause, first, detail, recovery if found else None)
    return FailureReason(Cause.OTHER, first, first, recovery if found else None)
