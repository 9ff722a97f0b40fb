"""The names of saga and step states, and of step roles: the vocabulary every format shares.
Which of them a file's format writes, and what they mean for it, is the format's to say
(store/formats/)."""

from __future__ import annotations

import enum


class SagaState(enum.StrEnum):
    """Every saga state a known format writes (each format says which of them it has).
    The order is the number keys' order: 1 running ... 5 failed_compensation, 6 compensated."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATING = "compensating"
    FAILED_COMPENSATION = "failed_compensation"
    COMPENSATED = "compensated"


class StepState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATED = "compensated"


class StepRole(enum.StrEnum):
    """What a step row is: a forward step, or a row appended to undo one."""

    FORWARD = "forward"
    UNDO = "undo"  # an undo written by compensation or recovery
    NO_UNDO = "no_undo"  # recovery found no undo for a forward step (`no_inverse_for_<step>`)


# Sagas an operator must look at, on every format: unresolved (running, compensating) or
# ended badly. A pending step of a saga in one of these states was in flight.
ATTENTION_STATES: frozenset[str] = frozenset(
    state.value for state in
    (SagaState.RUNNING, SagaState.COMPENSATING, SagaState.FAILED, SagaState.FAILED_COMPENSATION)
)
# Every state any known format writes: a state outside it is shown as unknown.
KNOWN_SAGA_STATES: frozenset[str] = frozenset(state.value for state in SagaState)
