"""The data layer: reads saga logs strictly read-only. Never imports the TUI toolkit."""

from .errors import ErrorKind, StoreError
from .formats import FORMAT_NAMES, FORMATS, LAUNCHER, SERVER, LogFormat, format_named
from .models import (
    NO_VALUE,
    Saga,
    SagaDetail,
    SagaQuery,
    SagaRef,
    SchemaInfo,
    SortKey,
    SortOrder,
    StateCounts,
    Step,
)
from .query import ParsedQuery, QueryError, parse_query
from .repository import INDEXED_SORTS, PAGE_SIZE, SagaStore
from .states import ATTENTION_STATES, KNOWN_SAGA_STATES, SagaState, StepRole, StepState
from .timestamps import UTC_ZONE, Timestamp, Zone, duration_between, local_zone, parse_timestamp

__all__ = [
    "ATTENTION_STATES",
    "FORMATS",
    "FORMAT_NAMES",
    "INDEXED_SORTS",
    "KNOWN_SAGA_STATES",
    "LAUNCHER",
    "NO_VALUE",
    "PAGE_SIZE",
    "SERVER",
    "UTC_ZONE",
    "ErrorKind",
    "LogFormat",
    "ParsedQuery",
    "QueryError",
    "Saga",
    "SagaDetail",
    "SagaQuery",
    "SagaRef",
    "SagaState",
    "SagaStore",
    "SchemaInfo",
    "SortKey",
    "SortOrder",
    "StateCounts",
    "Step",
    "StepRole",
    "StepState",
    "StoreError",
    "Timestamp",
    "Zone",
    "duration_between",
    "format_named",
    "local_zone",
    "parse_query",
    "parse_timestamp",
]
