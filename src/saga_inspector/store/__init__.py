"""The data layer: reads saga logs strictly read-only. Never imports the TUI toolkit."""

from .errors import ErrorKind, StoreError
from .models import Saga, SagaDetail, SagaQuery, SchemaInfo, StateCounts, Step
from .repository import PAGE_SIZE, SagaStore
from .schema import ATTENTION_STATES, KNOWN_SAGA_STATES, LAUNCHER, SagaState, StepState
from .timestamps import Timestamp, duration_between, parse_timestamp

__all__ = [
    "ATTENTION_STATES",
    "KNOWN_SAGA_STATES",
    "LAUNCHER",
    "PAGE_SIZE",
    "ErrorKind",
    "Saga",
    "SagaDetail",
    "SagaQuery",
    "SagaState",
    "SagaStore",
    "SchemaInfo",
    "StateCounts",
    "Step",
    "StepState",
    "StoreError",
    "Timestamp",
    "duration_between",
    "parse_timestamp",
]
