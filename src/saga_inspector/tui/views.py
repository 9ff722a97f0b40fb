"""What the dashboard shows of one saga, prepared off the UI thread.

A worker reads a saga with `store.saga(id)` and turns it into a `SagaView` here: payloads
parsed, pretty-printed, sanitised and cut to a preview, the "copy as JSON" text made. The
UI thread then only places ready-made values into widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from saga_inspector.report import detail_to_dict, format_time
from saga_inspector.store import SagaDetail, Step, Timestamp
from saga_inspector.store.payload import parse_json, pretty_json, strict_json

from .text import json_text, plain, safe

# Payloads above this many characters show a preview; the whole value opens on a key.
LARGE_PAYLOAD = 64 * 1024
PREVIEW_CHARS = 4 * 1024


@dataclass(frozen=True, slots=True)
class Payload:
    """One JSON payload (input, cmd or output), ready to show, copy or open in full."""

    label: str
    full: str | None  # sanitised text of the whole value; None when nothing is stored
    preview: Text
    size: int  # bytes stored
    note: str | None = None  # why it is not shown as JSON
    truncated: bool = False

    @property
    def present(self) -> bool:
        return self.full is not None


@dataclass(frozen=True, slots=True)
class StepView:
    step: Step
    cmd: Payload
    output: Payload


@dataclass(frozen=True, slots=True)
class SagaView:
    detail: SagaDetail
    input: Payload
    steps: tuple[StepView, ...]
    as_json: str  # the saga with its steps, for the clipboard

    @property
    def saga_id(self) -> int:
        return self.detail.saga.saga_id

    def in_flight_index(self) -> int | None:
        return next((i for i, view in enumerate(self.steps) if view.step.in_flight), None)


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _preview(full: str) -> str:
    head = full[:PREVIEW_CHARS]
    cut = head.rfind("\n")
    return head[:cut] if cut > PREVIEW_CHARS // 2 else head


def prepare_payload(label: str, raw: str | None) -> Payload:
    """Parse, pretty-print and sanitise one stored payload; large ones get a preview."""
    if raw is None:
        return Payload(label, None, plain(None), 0)
    size = len(raw.encode("utf-8", errors="surrogatepass"))
    parsed = parse_json(raw)
    if parsed.ok:
        full = safe(pretty_json(parsed.value), multiline=True)
    else:
        full = safe(raw, multiline=True)
    truncated = len(full) > LARGE_PAYLOAD
    shown = _preview(full) if truncated else full
    preview = json_text(shown) if parsed.ok else plain(shown, multiline=True)
    return Payload(label, full, preview, size, parsed.error, truncated)


def prepare_saga(detail: SagaDetail) -> SagaView:
    """Everything the dashboard shows of one saga; runs in a worker thread."""
    steps = tuple(
        StepView(step, prepare_payload("cmd", step.cmd_json),
                 prepare_payload("output", step.output_json))
        for step in detail.steps
    )
    as_json = safe(strict_json(detail_to_dict(detail), indent=2), multiline=True)
    return SagaView(detail, prepare_payload("input", detail.saga.input_json), steps, as_json)


def format_age(moment: datetime | None, now: datetime) -> str:
    """How long ago, roughly: `just now`, `42s ago`, `12m ago`, `5h ago`, `3d ago`."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in the future"
    if seconds < 1:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def time_with_age(stamp: Timestamp | None, now: datetime) -> str:
    """Local time, with its age when the stored text parses: `2026-06-02 14:05:23.481 (5d ago)`."""
    shown = format_time(stamp)
    if stamp is None or stamp.value is None:
        return shown
    return f"{shown} ({format_age(stamp.value, now)})"

