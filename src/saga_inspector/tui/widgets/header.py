"""The header line (file, format and schema version, totals, whether the view is live) and
the banner for what must not be missed: a file written by a newer launcher or server build,
one whose steps cannot be read, one deleted or replaced while shown. With several logs in
one view the header says how many are open, and the banner which of them could not be read
or vanished, and which a newer build wrote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from saga_inspector.display_time import TimeStyle, show_moment, zone_label
from saga_inspector.store import StateCounts
from saga_inspector.store.merged import Member, MergedSource
from saga_inspector.tui.text import plain
from saga_inspector.units import format_count


def _sagas(n: int) -> str:
    return "1 saga" if n == 1 else f"{format_count(n)} sagas"


def _attention(n: int) -> str:
    return "1 needs attention" if n == 1 else f"{format_count(n)} need attention"


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


GAP = 3  # cells between the file and the status


def _logs(n: int) -> str:
    return "1 log" if n == 1 else f"{format_count(n)} logs"


def newer_logs(source: MergedSource) -> list[Member]:
    """The logs a newer build wrote than this tool knows."""
    return [member for member in source.members
            if member.store is not None and member.store.schema.newer_than_known]


def fault_lines(source: MergedSource) -> list[str]:
    """Several logs: which could not be read, and why; which vanished (their rows kept).
    Labels and reasons are file and SQLite text: drawn through `plain`."""
    if source.source_count <= 1:
        return []
    unreadable = [member for member in source.members
                  if not member.hidden and member.error is not None]
    gone = [member for member in source.members
            if not member.hidden and member.gone and member.error is None]
    lines = []
    if unreadable:
        reasons = "; ".join(f"{member.tag.label} — {member.error}" for member in unreadable)
        lines.append(f"{_logs(len(unreadable))} could not be read: {reasons}"
                     " (R tries again)")
    if gone:
        labels = ", ".join(member.tag.label for member in gone)
        were = "was" if len(gone) == 1 else "were"
        lines.append(f"{_logs(len(gone))} gone: {labels} {were} deleted or replaced; its "
                     "sagas are shown as last read (R opens the path again)")
    return lines


def source_warnings(source: MergedSource) -> list[str]:
    """The logs' own warnings (a newer build's first), each named by its log when several."""
    if source.source_count <= 1:
        return list(source.warnings)
    found = []
    for member in sorted(source.members, key=lambda m: m not in newer_logs(source)):
        found += [f"{member.tag.label}: {warning}" for warning in member.warnings]
    return found


class InspectorHeader(Widget):
    """One line: ` saga-inspector  <file>` on the left, the file cut from the left when
    long (`…/db/launcher-sagas.db`), and `schema v1   320 sagas · 53 need attention   ●
    live · refreshed 14:05:23` on the right, its least needed parts left out on a narrow
    terminal (the refresh time, then the schema, then the words), the mode always shown."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header--live", "header--following", "header--paused", "header--snapshot",
        "header--trouble",
    }
    BRAND = " saga-inspector "
    FILE_ROOM = 24  # cells the file keeps before the status gives up its parts

    def __init__(self, paths: Path | Sequence[Path], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.paths = [paths] if isinstance(paths, Path) else list(paths)
        self.path = self.paths[0] if self.paths else Path()
        self._store: MergedSource | None = None
        self._counts: StateCounts | None = None
        self.live: LiveStatus | None = None
        self._state: str | None = "opening…"  # said in place of the status until the store

    def show_state(self, message: str) -> None:
        self._state = message
        self.refresh()

    def show_store(self, store: MergedSource, counts: StateCounts | None) -> None:
        self._store, self._counts, self._state = store, counts, None
        self.refresh()

    def show_live(self, live: LiveStatus) -> None:
        if live != self.live:
            self.live = live
            # One line whatever it says: repainted in place, never a layout (the clock
            # ticking over each second would otherwise delay the frame of a key).
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        status = self._status_fitting(width)
        file_room = width - status.cell_len - GAP
        brand = Text(self.BRAND, style="bold", end="")
        name = self._file_words()
        line = Text(end="", no_wrap=True, overflow="crop")
        if file_room >= brand.cell_len + 2 + min(name.cell_len, self.FILE_ROOM):
            line.append_text(brand)
            line.append("  ")
        else:
            line.append(" ")
        line.append_text(_cut_left(name, file_room - line.cell_len))
        line.append(" " * max(0, width - line.cell_len - status.cell_len))
        line.append_text(status)
        return line

    def _file_words(self) -> Text:
        """The file shown; with several logs, how many (and how many cannot be read)."""
        source = self._store
        count = source.source_count if source is not None else len(self.paths)
        if count <= 1:
            return plain(str(self.path))
        said = _logs(count)
        if source is not None and source.readable_count < count:
            said += f" · {format_count(count - source.readable_count)} unreadable"
        return Text(said, end="")

    def _status_fitting(self, width: int) -> Text:
        """The fullest status that leaves the file its room."""
        room = width - GAP - min(self._file_words().cell_len, self.FILE_ROOM)
        choices = self._status_choices()
        return next((text for text in choices if text.cell_len <= room), choices[-1])

    def _status_choices(self) -> list[Text]:
        """The status from the fullest to the shortest."""
        if self._state is not None or self._store is None:
            return [Text(f"{self._state or ''} ", style="italic", end="")]
        counts = self._counts
        schema_text = self._schema_text(self._store)
        totals = short_totals = None
        if counts is not None:
            totals = f"{_sagas(counts.total)} · {_attention(counts.needs_attention)}"
            short_totals = (f"{format_count(counts.total)} · "
                            f"{format_count(counts.needs_attention)} attention")
        live, live_short = self._live_words()
        choices = []
        for with_schema, counted, with_time in (
                (True, totals, True), (True, totals, False), (False, totals, False),
                (False, short_totals, False), (False, None, False)):
            parts = [schema_text] if with_schema and schema_text.cell_len else []
            if counted:
                parts.append(Text(counted, end=""))
            parts.append(live if with_time else live_short)
            text = Text("   ", end="").join(parts)
            text.append(" ")
            choices.append(text)
        return choices

    @staticmethod
    def _schema_text(source: MergedSource) -> Text:
        """One log: its format and schema version. Several: the logs a newer build wrote,
        named (loud: what is shown of them may be incomplete)."""
        single = source.single
        if single is not None:
            schema = single.schema
            text = Text(f"{schema.log_format.name} schema v{schema.user_version}", end="")
            if schema.newer_than_known:
                text.append(f" (this tool knows v{schema.known_version})", style="bold")
            return text
        newer = newer_logs(source)
        if not newer:
            return Text("", end="")
        names = ", ".join(member.tag.label for member in newer)
        return plain(f"newer than this tool: {names}", "bold")

    def _live_words(self) -> tuple[Text, Text]:
        """The mode with the refresh time, and without."""
        if self.live is None:
            return Text(end=""), Text(end="")
        words, component = self.live.describe()
        short, _ = LiveStatus(self.live.mode, None, self.live.trouble).describe()
        style = self.get_component_rich_style(component, partial=True)
        return Text(words, style=style, end=""), Text(short, style=style, end="")


def _cut_left(text: Text, width: int) -> Text:
    """The end of `text` in `width` cells, `…` where its start was cut (a path's file name
    matters more than the folders above it)."""
    if text.cell_len <= width:
        return text
    if width <= 1:
        return Text("…" if width == 1 else "", end="")
    start, kept = len(text.plain), 0
    while start > 0 and kept + cell_len(text.plain[start - 1]) <= width - 1:
        start -= 1
        kept += cell_len(text.plain[start])
    cut = Text("…", end="")
    cut.append_text(text[start:])
    return cut


class WarningBanner(Static):
    """Hidden unless there is something to say: the store's warnings (a newer schema gets
    the loudest style), and a file gone or replaced while shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self.display = False
        self._warnings: tuple[str, ...] = ()
        self.trouble: str | None = None

    def show_warnings(self, store: MergedSource) -> None:
        """The logs' warnings and, with several, those that cannot be read or vanished."""
        self._warnings = (*source_warnings(store), *fault_lines(store))
        self.set_class(bool(newer_logs(store)), "-newer")
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
