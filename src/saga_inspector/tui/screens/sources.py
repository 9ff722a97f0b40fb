"""`S`: the sources screen: every log of the view, and hiding or showing one.

One row a log: its label, format, schema version (a version newer than this tool knows is
marked loudly), how many sagas it holds and how many need attention, whether it is live, a
snapshot, gone, unreadable or hidden, and when it was last written. Under the list, the
highlighted log in full: its state counts, its last write with the date, its error and
warnings, and (`p` or `enter`) its full path.

`space` (or `h`) hides the highlighted log from the view, or shows it again. The change is
made on the view at once (`MergedSource.set_hidden`); the screen hands back which logs
changed (`SourcesClosed`) so that the dashboard reads its view again when it closes.

The table takes the focus once the rows are read, not before: keys typed right after `S`
are held until then (tui/type_ahead.py), so that `S j space` hides the second log.

Everything about a log is read in a worker (`MergedSource.sources()` counts every log);
labels, paths, errors and warnings are file-system or file text, drawn through tui/text.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from saga_inspector.display_time import TimeStyle, zone_label
from saga_inspector.store import StoreError
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.source import SourceInfo, SourceStatus
from saga_inspector.store.timestamps import Timestamp
from saga_inspector.tui.text import plain, safe
from saga_inspector.tui.views import format_age, time_with_age

Clock = Callable[[], datetime]
# Below this many columns of table, the last write is its age alone (the date is below).
WIDE_TABLE = 100
MIN_LABEL = 12  # cells a label keeps however narrow the screen
_COLUMNS = ("source", "format", "schema", "status", "sagas", "attention", "last write")
_NARROW_COLUMNS = ("source", "format", "schema", "status", "sagas", "attn", "written")


@dataclass(frozen=True, slots=True)
class SourcesClosed:
    """What the sources screen hands back: the labels of the logs hidden or shown again
    while it was open (the view must be read again when there are any)."""

    toggled: frozenset[str] = frozenset()

    @property
    def changed(self) -> bool:
        return bool(self.toggled)


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, its end cut (`stable/0.41.2/…`): a label is the
    shortest path suffix that tells logs apart, so what tells them apart is at its start;
    its end is the format, which a column of its own shows."""
    if len(text) <= width:
        return text
    return f"{text[:width - 1]}…" if width > 1 else "…"[:width]


def last_write_stamp(last_write: float | None) -> Timestamp | None:
    """A log's last write (seconds since the epoch) as a moment `show_time` shows."""
    if last_write is None:
        return None
    try:
        moment = datetime.fromtimestamp(last_write, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return Timestamp(moment.isoformat(), moment)


def schema_text(info: SourceInfo) -> str:
    if info.schema_version is None:
        return "—"
    return f"{info.schema_version} newer!" if info.newer_than_known else str(info.schema_version)


def counts_text(info: SourceInfo) -> str:
    """`running 3 · completed 92 · …`: every state the log holds (those at 0 left out)."""
    if info.counts is None:
        return "not counted"
    held = [f"{safe(state)} {n}" for state, n in info.counts.by_state.items() if n]
    return " · ".join(held) if held else "no sagas"


class SourceList(DataTable[Text]):
    """The logs, one a row; the cursor is the highlighted log."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "source-list--newer", "source-list--problem", "source-list--hidden",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class SourcesScreen(ModalScreen[SourcesClosed]):
    """The sources of a view (see the module's docstring)."""

    AUTO_FOCUS = None  # the table, once its rows are read (see the module's docstring)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,S", "close", "Close", key_display="esc"),
        Binding("space,h", "toggle_hidden", "Hide / show", key_display="space"),
        Binding("p", "show_path", "Full path"),
    ]

    class Read(Message):
        """The logs as a worker read them (None: the read failed, `error` says why)."""

        def __init__(self, infos: list[SourceInfo] | None, error: str | None = None) -> None:
            super().__init__()
            self.infos = infos
            self.error = error

    def __init__(self, merged: MergedSource, now: Clock) -> None:
        super().__init__()
        self.merged = merged
        self._clock = now
        self._infos: list[SourceInfo] = []
        self._hidden_at_open = {member.tag.label: member.hidden for member in merged.members}
        self._path_shown = False  # `p`: the highlighted log's full path is shown below
        self._said: Text | None = None  # a one-off message under the list (a refusal)

    def compose(self) -> ComposeResult:
        with Vertical(id="sources-box"):
            yield SourceList(id="sources-table", cursor_type="row", zebra_stripes=False)
            yield Static(id="sources-detail", markup=False)

    def on_mount(self) -> None:
        box = self.query_one("#sources-box")
        count = self.merged.source_count
        box.border_title = f"sources · {count} log{'' if count == 1 else 's'}"
        box.border_subtitle = "space hide/show · p path · escape close"
        self.query_one("#sources-detail", Static).update(Text("reading the logs…", "dim"))
        self.read_sources()

    # -- reading -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="sources")
    def read_sources(self) -> None:
        try:
            message = self.Read(self.merged.sources())
        except StoreError as error:  # one log: its failure is the view's
            message = self.Read(None, error.message)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @on(Read)
    def _read(self, message: Read) -> None:
        if message.infos is None:
            self._say(plain(f"cannot read the logs: {message.error}", "bold"))
        else:
            self._infos = message.infos
            self._fill()
        if self.focused is None:
            self.query_one(SourceList).focus()

    # -- drawing -------------------------------------------------------------------------

    @property
    def highlighted_info(self) -> SourceInfo | None:
        table = self.query_one(SourceList)
        row = table.cursor_row
        return self._infos[row] if 0 <= row < len(self._infos) else None

    def _style(self, name: str) -> Style:
        return self.query_one(SourceList).get_component_rich_style(f"source-list--{name}")

    def _cells(self, info: SourceInfo, wide: bool, now: datetime) -> list[Text]:
        problem, newer, hidden = self._style("problem"), self._style("newer"), self._style("hidden")
        status = info.status
        status_style = problem if status in (SourceStatus.ERROR, SourceStatus.GONE) else \
            hidden if status is SourceStatus.HIDDEN else Style()
        stamp = last_write_stamp(info.last_write)
        written = time_with_age(stamp, now, TimeStyle.SHORT) if wide else (
            format_age(stamp.value, now) if stamp is not None and stamp.value else "—")
        counts = info.counts
        return [
            plain(info.label, hidden if status is SourceStatus.HIDDEN else ""),
            Text(info.log_format.name if info.log_format is not None else "—"),
            Text(schema_text(info), newer if info.newer_than_known else ""),
            Text(status.value, status_style),
            Text(str(counts.total) if counts is not None else "—", justify="right"),
            Text(str(counts.needs_attention) if counts is not None else "—", justify="right"),
            Text(written),
        ]

    def _fill(self) -> None:
        """The rows again (after a read, or on a resize: the label's room changes)."""
        table = self.query_one(SourceList)
        row = table.cursor_row
        now = self._clock()
        width = table.size.width or self.size.width
        wide = width >= WIDE_TABLE
        rows = [self._cells(info, wide, now) for info in self._infos]
        titles = [*_COLUMNS[:-1], f"last write ({zone_label()})"] if wide else \
            list(_NARROW_COLUMNS)
        # What the other columns take (their widest cell, or title, and padding each side):
        # the label gets the rest, its end cut.
        others = sum(max([len(titles[n]), *(row[n].cell_len for row in rows)]) + 2
                     for n in range(1, len(titles)))
        room = max(MIN_LABEL, width - others - 3)  # its padding, and the scroll bar's cell
        for cells, info in zip(rows, self._infos, strict=True):
            cells[0] = plain(cut(safe(info.label), room), cells[0].style)
        table.clear(columns=True)
        table.add_columns(*titles)
        table.add_rows(rows)
        if rows:
            table.move_cursor(row=min(max(row, 0), len(rows) - 1), animate=False)
        self._show_detail()

    def on_resize(self) -> None:
        if self._infos:
            self.call_after_refresh(self._fill)

    @on(DataTable.RowHighlighted, "#sources-table")
    def _highlighted(self) -> None:
        self._said = None
        self._show_detail()

    @on(DataTable.RowSelected, "#sources-table")
    def _selected(self) -> None:
        self.action_show_path()

    def _show_detail(self) -> None:
        info = self.highlighted_info
        detail = self.query_one("#sources-detail", Static)
        if info is None:
            detail.update(Text("no logs", "dim"))
            return
        detail.update(self.describe(info))

    def describe(self, info: SourceInfo) -> Text:
        """The highlighted log in full, a line a fact."""
        problem, newer = self._style("problem"), self._style("newer")
        lines: list[Text] = []
        head = plain(info.label, "bold")
        head.append(f"  {info.status.value}")
        if info.log_format is not None:
            head.append(f" · {info.log_format.label}")
        lines.append(head)
        if self._path_shown:
            path = Text("path  ", "dim")
            path.append_text(plain(str(info.tag.path)))
            lines.append(path)
        if info.newer_warning:
            lines.append(plain(info.newer_warning, newer))
        if info.error:
            lines.append(plain(f"error: {info.error}", problem))
        lines += [plain(f"warning: {warning}", problem) for warning in info.warnings]
        lines.append(Text(f"sagas  {counts_text(info)}"))
        stamp = last_write_stamp(info.last_write)
        lines.append(Text(f"last write  {time_with_age(stamp, self._clock())} "
                          f"{zone_label() if stamp is not None else ''}".rstrip()))
        if not self._path_shown:
            lines.append(Text("p: full path", "dim"))
        if self._said is not None:
            lines.append(self._said)
        return Text("\n").join(lines)

    def _say(self, message: Text) -> None:
        self._said = message
        info = self.highlighted_info
        detail = self.query_one("#sources-detail", Static)
        detail.update(self.describe(info) if info is not None else message)

    # -- keys ----------------------------------------------------------------------------

    def action_show_path(self) -> None:
        """p / enter: the full path of the highlighted log (again: hidden)."""
        self._path_shown = not self._path_shown
        self._show_detail()

    def action_toggle_hidden(self) -> None:
        """space / h: leave the highlighted log out of the view, or show it again."""
        info = self.highlighted_info
        if info is None:
            return
        member = self.merged.member(info.label)
        if member is None:
            return
        if member.store is None or member.error is not None:
            self._say(plain(f"{info.label} cannot be read ({info.status.value}): it is not "
                            "in the view anyway", self._style("problem")))
            return
        hide = not member.hidden
        if hide and self._shown_count() <= 1:
            self._say(plain("the last log shown stays shown: show another one first",
                            self._style("problem")))
            return
        self.merged.set_hidden(info.label, hide)
        self._said = None
        self.read_sources()

    def _shown_count(self) -> int:
        return sum(1 for member in self.merged.members if not member.hidden
                   and member.store is not None and member.error is None)

    def toggled(self) -> frozenset[str]:
        return frozenset(member.tag.label for member in self.merged.members
                         if member.hidden != self._hidden_at_open.get(member.tag.label, False))

    def action_close(self) -> None:
        self.dismiss(SourcesClosed(self.toggled()))

