"""`:` — go to a saga by its id.

A one-line prompt over the dashboard. The id is looked up in a worker: a saga in the current
view is handed back to the screen, which puts the cursor on it (the table finds its row by
counting the rows before it, never by OFFSET). A saga that exists but that the filter or the
search hides is named, with its state, and a second `enter` shows all sagas and goes to it.
An id the file does not hold is said so; the prompt stays open for another.

With several logs, `SOURCE:ID` names the log (split on the last `:`: labels hold none). A
bare id that several logs hold is not guessed: a short list of `LABEL:ID` offers each, and
enter picks one. An id only one log holds goes there, as with one log. Typing while the list
has the focus goes on in the id field (the list hides): the list takes only the keys that
move in it and enter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from saga_inspector.store import Saga, SagaQuery, SagaRef, SagaStore, StoreError
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.source_tag import SourceTag
from saga_inspector.tui.read_ahead import read_views
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import SagaView
from saga_inspector.tui.widgets.saga_table import Lander, Landing

# Ids are SQLite integers: more digits than this cannot be one.
MAX_ID_DIGITS = 19
MAX_TYPED = 400  # a label and an id


@dataclass(frozen=True, slots=True)
class JumpTarget:
    """Where `:` goes: a saga, in the current view or (show_all) once all sagas are shown;
    `view`: its detail, read with the lookup (None: not read, e.g. its payloads are large),
    so that it is drawn in the frame the cursor lands in."""

    saga: Saga
    show_all: bool = False
    view: SagaView | None = None
    landing: Landing | None = None  # its row and page in the view, read ahead (lander)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the file says of an id: the saga (None: not in the file), and whether the
    current view (filter and search) holds it."""

    saga_id: int
    saga: Saga | None
    in_view: bool
    holders: tuple[SourceTag, ...] = ()  # a bare id several logs hold: choose one
    source: str | None = None  # the label typed (`SOURCE:ID`)
    unknown_source: bool = False  # no log has that label


def look_up(store: SagaStore | MergedSource, query: SagaQuery, saga_id: int,
            source: str | None = None) -> Lookup:
    """The saga with this id (in log `source` when given) and whether `query` holds it: one
    read by primary key, then a keyset read of the view from the saga's sort key (the first
    row there is the saga when the view holds it). Runs in a worker."""
    if isinstance(store, MergedSource):
        member = None if source is None else store.member(source)
        if source is not None and member is None:
            return Lookup(saga_id, None, in_view=False, source=source, unknown_source=True)
        holders = [member.tag] if member is not None else store.holders(saga_id)
        if len(holders) > 1:
            return Lookup(saga_id, None, in_view=False, holders=tuple(holders))
        found = store.sagas_by_ref([SagaRef(tag.label, saga_id) for tag in holders])
    else:  # one log read directly
        found = store.sagas_by_id([saga_id])
    if not found:
        return Lookup(saga_id, None, in_view=False, source=source)
    saga = found[0]
    if query.states is None and not query.searching:
        return Lookup(saga_id, saga, in_view=True, source=source)
    first = store.sagas(query, at=query.key_of(saga), limit=1)
    return Lookup(saga_id, saga, in_view=bool(first) and first[0].ref == saga.ref,
                  source=source)


def parse_id(text: str) -> int | None:
    """A saga id typed by the operator (`#` and spaces allowed around it), or None."""
    text = text.strip().removeprefix("#").strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    value = int(text)
    return value if value < 2**63 else None


def parse_ref(text: str) -> tuple[str | None, int | None]:
    """`SOURCE:ID` (split on the last `:`; labels hold none) or a bare id: the label typed
    (None: none) and the id (None: not one)."""
    label, colon, typed_id = text.strip().rpartition(":")
    if not colon:
        return None, parse_id(text)
    return label.strip() or None, parse_id(typed_id)


class JumpScreen(ModalScreen[JumpTarget | None]):
    """The prompt: type an id, enter goes there, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    JumpScreen {
        align: center middle;
        background: $background 40%;
    }
    #jump-box {
        width: 72;
        max-width: 95%;
        height: auto;
        padding: 0 1;
        border: round $accent;
        border-title-style: bold;
        background: $surface;
    }
    #jump-input { margin: 1 0 0 0; }
    #jump-message { height: auto; margin: 1 0 0 0; color: $text-muted; }
    #jump-message.-problem { color: $text-warning; }
    #jump-choice { height: auto; max-height: 10; margin: 1 0 0 0; display: none; }
    #jump-choice.-shown { display: block; }
    """

    class Looked(Message):
        def __init__(self, lookup: Lookup | None, error: StoreError | None = None, *,
                     view: SagaView | None = None, landing: Landing | None = None) -> None:
            super().__init__()
            self.lookup = lookup
            self.error = error
            self.view = view  # the saga's detail, when found and read
            self.landing = landing  # its row and page in the view, when read

    def __init__(self, store: SagaStore | MergedSource, query: SagaQuery, view: str,
                 lander: Lander | None = None) -> None:
        super().__init__()
        self.store = store
        self.lander = lander  # the table's read of a saga's row and page (SagaTable.lander)
        self.several = store.source_count > 1
        self.view_query = query  # (`query` is a DOM method)
        self.view = view  # the view in words, e.g. "completed · search “pipe”"
        self._hidden: Lookup | None = None  # a saga the view hides, offered on enter
        self._hidden_view: SagaView | None = None  # its detail, read with it
        self.choice_id = 0  # the bare id whose logs the choice offers

    def compose(self) -> ComposeResult:
        # (validate_on=(): what is typed is read on enter, parse_ref; the field's validation
        # would restyle it on the first key: a stylesheet pass, 5 ms, in a burst after `:`)
        with Vertical(id="jump-box"):
            if self.several:
                yield Label(Text("saga id or LOG:ID, then enter  ·  escape: cancel",
                                 style="dim"))
                yield Input(id="jump-input", placeholder="e.g. 1200 or stable/launcher:1200",
                            max_length=MAX_TYPED, validate_on=())
            else:
                yield Label(Text("saga id, then enter  ·  escape: cancel", style="dim"))
                yield Input(id="jump-input", placeholder="e.g. 1200", restrict=r"[#0-9 ]*",
                            max_length=MAX_ID_DIGITS + 4, validate_on=())
            yield Static(id="jump-message", markup=False)
            yield OptionList(id="jump-choice")

    def on_mount(self) -> None:
        self.query_one("#jump-box").border_title = "go to saga"
        # The view's words hold text from the file (an unknown state's chip) and the search
        # typed: drawn through the one bridge, like every stored string.
        said = Text("in the view: ", end="")
        said.append_text(plain(self.view))
        self._say(said)

    def _say(self, message: str | Text, *, problem: bool = False) -> None:
        label = self.query_one("#jump-message", Static)
        label.update(message)
        label.set_class(problem, "-problem")

    @on(Input.Changed)
    def _typed(self) -> None:
        self._hidden = None  # another id: what was offered no longer stands
        self._offer_choice(())

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        source, saga_id = parse_ref(event.value) if self.several else (None,
                                                                        parse_id(event.value))
        if saga_id is None:
            self._say("a saga id is a whole number, e.g. 1200" + (
                ", or LOG:ID" if self.several else ""), problem=True)
            return
        self._go(source, saga_id)

    def _go(self, source: str | None, saga_id: int) -> None:
        hidden = self._hidden
        if hidden is not None and hidden.saga is not None and hidden.saga_id == saga_id and (
                source is None or hidden.saga.source.label == source):
            self.dismiss(JumpTarget(hidden.saga, show_all=True, view=self._hidden_view))
            return
        self._say(f"looking for saga {self._ref_words(source, saga_id)}…")
        self.look(saga_id, source)

    @staticmethod
    def _ref_words(source: str | None, saga_id: int) -> str:
        return f"{source}:{saga_id}" if source else str(saga_id)

    def _offer_choice(self, holders: tuple[SourceTag, ...], saga_id: int = 0) -> None:
        """A bare id several logs hold: each as `LABEL:ID`, enter picks (none: hidden)."""
        choice = self.query_one("#jump-choice", OptionList)
        if not holders and not choice.has_class("-shown"):
            return
        choice.clear_options()
        choice.add_options([Option(plain(f"{tag.label}:{saga_id}"), id=tag.label)
                            for tag in holders])
        choice.set_class(bool(holders), "-shown")
        self.choice_id = saga_id
        if holders:
            choice.highlighted = 0
            choice.focus()

    def _choice_focused(self) -> bool:
        return self.focused is not None and self.focused.id == "jump-choice"

    def on_key(self, event: events.Key) -> None:
        """A character or backspace at the choice: on in the id field, at its end."""
        if not self._choice_focused() or not (event.is_printable or event.key == "backspace"):
            return
        event.stop()
        field = self.query_one("#jump-input", Input)
        field.focus()
        field.action_end()
        if event.key == "backspace":
            field.action_delete_left()
        elif event.character is not None:
            field.insert_text_at_cursor(event.character)

    def on_paste(self, event: events.Paste) -> None:
        """A paste at the choice: the id field takes it, as its own (its first line)."""
        if self._choice_focused():
            event.stop()
            field = self.query_one("#jump-input", Input)
            field.focus()
            field.action_end()
            field.post_message(events.Paste(event.text))

    @on(OptionList.OptionSelected, "#jump-choice")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        label = event.option.id
        if label is not None:
            self.query_one("#jump-input", Input).focus()
            self._go(label, self.choice_id)

    @work(thread=True, exclusive=True, group="jump")
    def look(self, saga_id: int, source: str | None = None) -> None:
        """The lookup, and when the saga is found, its detail, and its row and page in the
        view (read here, the dashboard draws them in the frame that closes the prompt: no
        read after the jump)."""
        worker = get_current_worker()
        try:
            lookup = look_up(self.store, self.view_query, saga_id, source)
            saga, cancelled = lookup.saga, lambda: worker.is_cancelled
            views = [] if saga is None else read_views(self.store, [saga.ref], cancelled)
            landing = (self.lander(saga, cancelled)
                       if saga is not None and lookup.in_view and self.lander else None)
            message = self.Looked(lookup, view=views[0] if views else None, landing=landing)
        except StoreError as error:
            message = self.Looked(None, error)
        if not worker.is_cancelled:
            self.post_message(message)

    @on(Looked)
    def _looked(self, message: Looked) -> None:
        lookup = message.lookup
        if lookup is None:
            error = message.error.message if message.error is not None else "unknown error"
            self._say(plain(f"cannot look it up: {error}"), problem=True)
        elif lookup.unknown_source:
            self._say(plain(f"no log is labelled {lookup.source}"), problem=True)
        elif lookup.holders:
            self._say(f"saga {lookup.saga_id} is in {len(lookup.holders)} logs: pick one "
                      "(enter), or type LOG:ID")
            self._offer_choice(lookup.holders, lookup.saga_id)
        elif lookup.saga is None:
            where = (f"in {lookup.source}" if lookup.source else
                     "in these logs" if self.several else "in this file")
            self._say(plain(f"there is no saga {lookup.saga_id} {where}"), problem=True)
        elif lookup.in_view:
            self.dismiss(JumpTarget(lookup.saga, view=message.view, landing=message.landing))
        else:
            self._hidden, self._hidden_view = lookup, message.view
            named = self._ref_words(lookup.saga.source.label if self.several else None,
                               lookup.saga_id)
            said = plain(f"saga {named} is ")
            said.append_text(plain(lookup.saga.state, "bold"))
            said.append(": not in this view (")
            said.append_text(plain(self.view))
            said.append("). enter shows all sagas and goes to it; escape cancels.")
            self._say(said, problem=True)

    def action_cancel(self) -> None:
        self.dismiss(None)
