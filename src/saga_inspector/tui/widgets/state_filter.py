"""The state filter bar: every state with its live count, the active filter highlighted."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.message import Message
from textual.widgets import Static

from saga_inspector.store import ATTENTION_STATES, LAUNCHER, LogFormat, SagaState, StateCounts
from saga_inspector.tui.text import plain, safe
from saga_inspector.units import format_count

# Keys for states this tool does not know, in the order the file's counts list them (after
# the known states' keys: 1-5 on every format, 6 the server's compensated).
UNKNOWN_STATE_KEYS = ("7", "8", "9")


@dataclass(frozen=True, slots=True)
class StateFilter:
    """One choice in the bar: which states it shows (None = all) and the key that picks it."""

    name: str  # stable id: "all", "attention", or the state itself
    key: str
    label: str
    states: frozenset[str] | None
    short: str = ""  # the label on a narrow terminal ("" : the label itself)

    def label_at(self, narrow: bool) -> str:
        return (self.short or _shortened(self.label)) if narrow else self.label

    def empty_message(self, search: str | None) -> str:
        what = {
            "all": "no sagas",
            "attention": "no sagas need attention",
        }.get(self.name, f"no {self.label} sagas")
        if search:
            what = f"{what} match “{search}”"
        elif self.name == "all":
            what = f"{what} in this file"
        return safe(what)


def _shortened(label: str) -> str:
    """A state this tool does not know, cut in the middle: states often share a start
    (`cancelled`, `cancelling`) and differ at the end (`canc…led`, `canc…ing`)."""
    if len(label) <= _SHORT_LABEL:
        return label
    tail = (_SHORT_LABEL - 1) // 2
    return label[:_SHORT_LABEL - 1 - tail] + "…" + label[-tail:]


_SHORT_LABEL = 8
# On a narrow terminal every chip must still be seen: the states in words an operator reads
# at a glance (the table's badges spell them out).
_SHORT = {"running": "run", "completed": "done", "failed": "fail", "compensating": "comp",
          "failed_compensation": "fail_comp", "compensated": "cmpd"}
ALL = StateFilter("all", "0", "all", None)
ATTENTION = StateFilter("attention", "a", "needs attention", ATTENTION_STATES, "attn")
# One filter per state a known format writes: a state keeps its key on every format.
STATE_FILTERS = tuple(
    StateFilter(state.value, str(n), state.value, frozenset({state.value}),
                _SHORT.get(state.value, ""))
    for n, state in enumerate(SagaState, start=1)
)
KNOWN_FILTERS = (ALL, ATTENTION, *STATE_FILTERS)
KNOWN_NAMES = frozenset(f.name for f in KNOWN_FILTERS)


def filters_for(counts: StateCounts | None,
                log_format: LogFormat | None = None) -> tuple[StateFilter, ...]:
    """All, needs attention and the file's format's states (the counts' format, else
    `log_format`, else the launcher's), then one per state the file holds that its format
    does not know."""
    log_format = counts.log_format if counts is not None else (log_format or LAUNCHER)
    known = tuple(f for f in STATE_FILTERS if log_format.knows_state(f.name))
    unknown = counts.unknown_states if counts is not None else ()
    extra = tuple(
        StateFilter(state, UNKNOWN_STATE_KEYS[n] if n < len(UNKNOWN_STATE_KEYS) else "",
                    state, frozenset({state}))
        for n, state in enumerate(unknown)
    )
    return (ALL, ATTENTION, *known, *extra)


def filter_bindings() -> list[Binding]:
    """The filter keys, for the screen that owns them (the bar itself never has focus)."""
    known = [
        Binding(f.key, f"filter('{f.name}')", f.label, show=False) for f in KNOWN_FILTERS
    ]
    unknown = [
        Binding(key, f"filter_key('{key}')", "unknown state", show=False)
        for key in UNKNOWN_STATE_KEYS
    ]
    return known + unknown


class FilterChip(Static):
    """One filter: its key, its name, its count. Clicking it picks it."""

    def __init__(self, state_filter: StateFilter) -> None:
        super().__init__(markup=False, classes="chip")
        self.state_filter = state_filter
        self._shown: Text | None = None
        self.set_class(state_filter.name not in KNOWN_NAMES, "-unknown")

    def show_count(self, count: int | None, *, narrow: bool = False) -> None:
        self.update_text(self.words(count, narrow=narrow))
        self.set_class(count == 0, "-zero")

    def words(self, count: int | None, *, narrow: bool = False) -> Text:
        text = Text(end="")
        if self.state_filter.key:
            text.append(f"{self.state_filter.key} ", style="bold")
        text.append_text(plain(self.state_filter.label_at(narrow)))
        text.append(f" {format_count(count)}" if count is not None else " …")
        return text

    def update_text(self, text: Text) -> None:
        # Static.update lays the whole screen out again: only when the words change.
        if text != self._shown:
            self._shown = text
            self.update(text)

    def on_click(self) -> None:
        self.post_message(StateFilterBar.Picked(self.state_filter))


class StateFilterBar(HorizontalScroll, can_focus=False):
    """All, needs attention, each known state and any unknown one, each with a count.

    On a narrow terminal the chips use short labels (`attn`, `fail_comp`); should they
    still not fit (huge counts, unknown states), the bar scrolls to keep the active one in
    view."""

    class Picked(Message):
        def __init__(self, state_filter: StateFilter) -> None:
            super().__init__()
            self.state_filter = state_filter

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filters: tuple[StateFilter, ...] = filters_for(None)
        self.active: StateFilter = ALL
        self.counts: StateCounts | None = None
        self.log_format: LogFormat | None = None
        self._scrolled_for: tuple[StateFilter, int] | None = None  # the active chip shown

    def compose(self) -> ComposeResult:
        for state_filter in self.filters:
            yield FilterChip(state_filter)

    def on_mount(self) -> None:
        self._refresh_chips()

    def show_format(self, log_format: LogFormat) -> None:
        """The file's format, known as soon as it opens: its chips (the server's `6`) are
        there before its counts are read, so a key pressed meanwhile finds its filter."""
        self.log_format = log_format
        self._show_filters(filters_for(self.counts, log_format))

    def show_counts(self, counts: StateCounts) -> None:
        self.counts = counts
        self._show_filters(filters_for(counts, self.log_format))

    def _show_filters(self, wanted: tuple[StateFilter, ...]) -> None:
        if wanted != self.filters:
            self.filters = wanted
            self.call_later(self._remount, wanted)
        self._refresh_chips()

    async def _remount(self, wanted: tuple[StateFilter, ...]) -> None:
        """The chips of `wanted`, drawn with the counts known once they are mounted (the
        format's chips come just before the counts, which must not land on the old ones)."""
        await self.remove_children()
        await self.mount_all(FilterChip(f) for f in wanted)
        self._refresh_chips()

    def set_active(self, state_filter: StateFilter) -> None:
        self.active = state_filter
        self._refresh_chips()

    def on_resize(self) -> None:
        self._refresh_chips()

    def _refresh_chips(self) -> None:
        chips = list(self.query(FilterChip))
        counts = [None if self.counts is None else self.counts.count(chip.state_filter.states)
                  for chip in chips]
        # Chip padding: one cell each side.
        wide = sum(chip.words(count).cell_len + 2 for chip, count in zip(chips, counts,
                                                                       strict=True))
        narrow = self.size.width > 0 and wide > self.size.width
        for chip, count in zip(chips, counts, strict=True):
            chip.show_count(count, narrow=narrow)
            chip.set_class(chip.state_filter == self.active, "-active")
            # Brought into view when the filter or the width changes, not on every count
            # (a writer's second-by-second counts would undo a scroll with the wheel).
            if (chip.state_filter == self.active and chip.is_mounted
                    and self._scrolled_for != (self.active, self.size.width)):
                self._scrolled_for = (self.active, self.size.width)
                self.call_after_refresh(self.scroll_to_widget, chip, animate=False)

    def by_key(self, key: str) -> StateFilter | None:
        return next((f for f in self.filters if f.key == key), None)

    def by_name(self, name: str) -> StateFilter | None:
        return next((f for f in self.filters if f.name == name), None)
