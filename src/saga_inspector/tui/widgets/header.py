"""The header line (file, schema version, totals, whether the view is live) and the banner
for what must not be missed: a file written by a newer launcher build, one whose steps cannot
be read, one deleted or replaced while shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from saga_inspector.display_time import TimeStyle, show_moment, zone_label
from saga_inspector.store import SagaStore, StateCounts
from saga_inspector.tui.text import plain


def _sagas(n: int) -> str:
    return "1 saga" if n == 1 else f"{n} sagas"


def _attention(n: int) -> str:
    return "1 needs attention" if n == 1 else f"{n} need attention"


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """How current the view is: its mode, when the file was last found unchanged or read
    afresh, and what (if anything) keeps it from being read now."""

    mode: str = "live"  # "live", "following", "paused" or "snapshot" (changes not seen)
    refreshed_at: datetime | None = None
    trouble: str | None = None  # e.g. "waiting for the writer's lock", "file gone"

    def describe(self) -> tuple[str, str]:
        """The header's words for it, and the component class that colours them."""
        when = ""
        if self.refreshed_at is not None:
            when = f" · refreshed {show_moment(self.refreshed_at, TimeStyle.CLOCK)}"
        when += f" · times {zone_label(self.refreshed_at)}"
        if self.trouble:
            return f"▲ {self.trouble}{when}", "header--trouble"
        symbol = {"paused": "○", "snapshot": "■"}.get(self.mode, "●")
        return f"{symbol} {self.mode}{when}", f"header--{self.mode}"


class InspectorHeader(Horizontal):
    """` saga-inspector  <file>` on the left (cut short when long), `schema v1   320 sagas ·
    53 need attention   ● live · refreshed 14:05:23` on the right, always in view."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header--live", "header--following", "header--paused", "header--snapshot",
        "header--trouble",
    }

    def __init__(self, path: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path = path
        self._store: SagaStore | None = None
        self._counts: StateCounts | None = None
        self.live: LiveStatus | None = None
        self._status_width: int | None = None  # cells of the status last drawn

    def compose(self) -> ComposeResult:
        line = Text(" saga-inspector ", style="bold", end="")
        line.append("  ")
        line.append_text(plain(str(self.path)))
        yield Static(line, id="header-file", markup=False)
        yield Static(id="header-status", markup=False)

    def on_mount(self) -> None:
        self.show_state("opening…")

    def show_state(self, message: str) -> None:
        self._status_width = None
        self.query_one("#header-status", Static).update(Text(f"{message} ", style="italic"))

    def show_store(self, store: SagaStore, counts: StateCounts | None) -> None:
        self._store, self._counts = store, counts
        self._redraw()

    def show_live(self, live: LiveStatus) -> None:
        if live != self.live:
            self.live = live
            self._redraw()

    def _redraw(self) -> None:
        if self._store is None:
            return
        schema, counts = self._store.schema, self._counts
        line = Text(f"schema v{schema.user_version}", end="")
        if schema.newer_than_known:
            line.append(f" (this tool knows v{schema.known_version})", style="bold")
        if counts is not None:
            line.append(f"   {_sagas(counts.total)} · {_attention(counts.needs_attention)}")
        if self.live is not None:
            words, component = self.live.describe()
            line.append(f"   {words}", style=self.get_component_rich_style(component, partial=True))
        line.append(" ")
        # Sized to its text: the time ticking over each second keeps the width, so the line
        # is repainted in place, not the screen laid out again every second (a layout frame
        # then also delays the frame of a key pressed just after it).
        self.query_one("#header-status", Static).update(
            line, layout=line.cell_len != self._status_width)
        self._status_width = line.cell_len


class WarningBanner(Static):
    """Hidden unless there is something to say: the store's warnings (a newer schema gets
    the loudest style), and a file gone or replaced while shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self.display = False
        self._warnings: tuple[str, ...] = ()
        self.trouble: str | None = None

    def show_warnings(self, store: SagaStore) -> None:
        self._warnings = store.warnings
        self.set_class(store.schema.newer_than_known, "-newer")
        self._redraw()

    def show_trouble(self, trouble: str | None) -> None:
        """A line about the file itself (None: nothing wrong with it)."""
        if trouble != self.trouble:
            self.trouble = trouble
            self.set_class(trouble is not None, "-trouble")
            self._redraw()

    def _redraw(self) -> None:
        said = [*self._warnings, *([self.trouble] if self.trouble else [])]
        self.display = bool(said)
        if said:
            lines = [plain(f"⚠ {line}") for line in said]
            self.update(Text("\n", end="").join(lines))
