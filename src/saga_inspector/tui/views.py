"""What the dashboard shows of one saga, prepared off the UI thread.

A worker reads a saga with `store.saga(id)` and turns it into a `SagaView` here: payloads
parsed, pretty-printed, sanitised and cut to a preview, the "copy as JSON" text made. The
UI thread then only places ready-made values into widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from saga_inspector.display_time import OUT_OF_RANGE, TimeStyle, show_time
from saga_inspector.report import detail_to_dict
from saga_inspector.store import SagaDetail, SagaRef, Step, Timestamp
from saga_inspector.store.payload import (
    ParsedJson,
    parse_json,
    pretty_json,
    pretty_json_head,
    strict_json,
)

from .text import json_text, plain, safe

# Payloads above this many characters show a preview; the whole value opens on a key.
LARGE_PAYLOAD = 64 * 1024
PREVIEW_CHARS = 4 * 1024


@dataclass(frozen=True, slots=True)
class Payload:
    """One JSON payload (input, cmd or output), ready to show, copy or open in full."""

    label: str
    raw: str | None  # as stored; None when nothing is
    preview: Text
    size: int  # bytes stored
    note: str | None = None  # why it is not shown as JSON
    truncated: bool = False
    parsed: ParsedJson | None = None
    made: str | None = None  # the whole text, when it was cheap enough to make at once

    @property
    def present(self) -> bool:
        return self.raw is not None

    @property
    def full(self) -> str | None:
        """Sanitised text of the whole value (None when nothing is stored). For a large
        payload it is made here, when opened or copied: a second for many megabytes."""
        if self.raw is None or self.made is not None:
            return self.made
        return _whole_text(self.raw, self.parsed)


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

    @property
    def as_json(self) -> str:
        """The saga with its steps, for the clipboard: made when copied, since it writes
        every payload again (seconds for megabytes, on every highlight otherwise)."""
        return self.json_text()

    def json_text(self, *, with_source: bool = False) -> str:
        """`as_json`; `with_source` (several logs shown): it names the saga's log first."""
        as_dict = detail_to_dict(self.detail)
        label = self.detail.saga.source.label
        if with_source and label and "source" not in as_dict:
            as_dict = {"source": label, **as_dict}
        return safe(strict_json(as_dict, indent=2), multiline=True)

    @property
    def saga_id(self) -> int:
        return self.detail.saga.saga_id

    @property
    def ref(self) -> SagaRef:
        """The saga's identity: (its log's label, its id)."""
        return self.detail.saga.ref

    def in_flight_index(self) -> int | None:
        return next((i for i, view in enumerate(self.steps) if view.step.in_flight), None)


def _preview(full: str) -> str:
    head = full[:PREVIEW_CHARS]
    cut = head.rfind("\n")
    return head[:cut] if cut > PREVIEW_CHARS // 2 else head


def _whole_text(raw: str, parsed: ParsedJson | None) -> str:
    if parsed is not None and parsed.ok:
        return safe(pretty_json(parsed.value), multiline=True)
    return safe(raw, multiline=True)


def prepare_payload(label: str, raw: str | None) -> Payload:
    """Parse and sanitise one stored payload, pretty-printed; a large one gets a preview
    made from the head of its text only (the whole text is made when it is opened)."""
    if raw is None:
        return Payload(label, None, plain(None), 0)
    size = len(raw.encode("utf-8", errors="surrogatepass"))
    parsed = parse_json(raw)
    made = None
    if len(raw) > LARGE_PAYLOAD:
        # Pretty text is never shorter than compact text: this one is shown in part.
        head = pretty_json_head(parsed.value, PREVIEW_CHARS) if parsed.ok else raw[:PREVIEW_CHARS]
        shown, truncated = _preview(safe(head, multiline=True)), True
    else:
        made = _whole_text(raw, parsed)
        truncated = len(made) > LARGE_PAYLOAD
        shown = _preview(made) if truncated else made
    preview = json_text(shown) if parsed.ok else plain(shown, multiline=True)
    return Payload(label, raw, preview, size, parsed.error, truncated, parsed, made)


def prepare_saga(detail: SagaDetail) -> SagaView:
    """Everything the dashboard shows of one saga; runs in a worker thread."""
    steps = tuple(
        StepView(step, prepare_payload("cmd", step.cmd_json),
                 prepare_payload("output", step.output_json))
        for step in detail.steps
    )
    return SagaView(detail, prepare_payload("input", detail.saga.input_json), steps)


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


def time_with_age(stamp: Timestamp | None, now: datetime,
                  style: TimeStyle = TimeStyle.SCREEN) -> str:
    """The time in the display zone (the header names it), with its age when it is shown as
    a time: `2026-06-02 14:05:23.481 (5d ago)`; odd values (missing, unparsed, out of range)
    as `show_time` marks them, without an age."""
    shown = show_time(stamp, style)
    if stamp is None or stamp.value is None or shown.startswith(OUT_OF_RANGE):
        return shown
    return f"{shown} ({format_age(stamp.value, now)})"



def text_payload(label: str, value: object) -> Payload:
    """A stored text that is not JSON (a failure reason), to open full screen like a
    payload: sanitised, newlines kept."""
    raw = value if isinstance(value, str) else safe(value)
    made = safe(raw, multiline=True)
    size = len(raw.encode("utf-8", errors="surrogatepass"))
    return Payload(label, raw, plain(made, multiline=True), size,
                   note="plain text, not JSON", made=made)
