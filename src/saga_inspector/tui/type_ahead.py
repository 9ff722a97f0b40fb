"""Type-ahead: keys typed in a burst go where they would have gone typed one at a time.

Textual hands each key to the widget focused when the key is taken from the app's queue, by
putting it on that widget's own queue; what the key does (a binding: close a screen, open a
prompt, move the focus) happens later, when the key comes back up to the app. So a key taken
while the one before it is still on its way goes to where the focus *was*: after `escape`
closes a dialog, the `:` and the id typed behind it went to the dialog's list and acted on
the dashboard, or on nothing. Two holds keep the order:

- A key in flight (`InFlight`): until the key handed on has passed every node from the
  widget it was handed to up to the app (a callback queued behind it on each, in turn), the
  keys after it wait, then are taken in order.
- A prompt on its way (`HeldKeys`): keys typed right after a key that opens a prompt (`/`,
  `:`, `e`) or a screen that takes keys once its rows are read (`S`) are meant for it, but
  the prompt takes focus only later (a focus move is itself queued; a pushed screen is
  mounted first). So from such a key until the prompt's field has focus, the app holds the
  keys and pastes that arrive and then hands them to the field, in order. A prompt that does
  not come (the key opened nothing) gets nothing: what was held is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from .screens.dashboard import DashboardScreen

# The dashboard's actions that open a prompt, with the id of the field that takes what is
# typed after the key (search_bar.py, screens/jump.py, screens/export.py; the sources
# screen focuses its table once its rows are read, screens/sources.py).
PROMPT_FIELDS = {"search": "search-input", "jump": "jump-input", "export": "export-path",
                 "sources": "sources-table"}
# A prompt whose field has not taken focus this long after its key is not coming; a key not
# back up at the app this long after it was handed on (its widget went away) is let go.
PROMPT_WAIT_S = 2.0

Typed = events.Key | events.Paste


@dataclass(eq=False)
class HeldKeys:
    """What was typed after `opener`, a key opening a prompt on `screen`, before the prompt's
    field (`field_id`) took focus."""

    opener: events.Key
    screen: Screen
    field_id: str
    typed: list[Typed] = field(default_factory=list)
    give_up: Timer | None = None


@dataclass(eq=False)
class InFlight:
    """A key or paste handed on and not yet back up at the app (see the module's docstring)."""

    event: Typed
    give_up: Timer | None = None


def shown(node: DOMNode) -> bool:
    """`node` is displayed: neither it nor a container of it on its screen is hidden."""
    for each in node.ancestors_with_self:
        if not each.display:
            return False
        if isinstance(each, Screen):
            return True
    return False


def typed_into_field(node: MessagePump, key: events.Key) -> bool:
    """A character the focused field takes as text: it moves no focus and runs no binding
    (the field stops it), so the key after it goes to the same field, and need not wait
    for it (a 21-character `LABEL:ID` typed in a burst waited 15 ms, one key at a time).
    (No handler of a field's Changed here moves the focus; one that did would need the
    wait back.)"""
    return isinstance(node, Input) and node.check_consume_key(key.key, key.character)


class TypeAhead:
    """The app's keys and pastes pass through here (`typed`), and every other event it
    handled is shown here afterwards (`seen`)."""

    def __init__(self, app: App[object],
                 hand_on: Callable[[events.Event], Awaitable[None]]) -> None:
        self.app = app
        self._hand_on = hand_on  # the app's own handling of an event
        self._held: HeldKeys | None = None  # what was typed for a prompt on its way
        self._in_flight: InFlight | None = None  # the key handed on last, on its way up
        self._waiting: deque[Typed] = deque()  # typed while a key was in flight

    async def seen(self, event: events.Event) -> None:
        """After the app handled `event`: a prompt's field took focus (hand it what was
        held), or the key that was to open a prompt opened none (drop what was held)."""
        held = self._held
        if held is None:
            return
        if isinstance(event, events.DescendantFocus):
            await self._prompt_focused(held, event.widget)
        elif event is held.opener and not self._prompt_coming(held):
            self._drop(held)  # the key was handled (it came back up) and opened nothing

    @property
    def holding(self) -> bool:
        return self._held is not None

    async def typed(self, event: Typed) -> None:
        """A key or paste from the terminal: it waits for the key in flight, or is held for
        a prompt on its way, or is handed on (and, for a key that opens a prompt, what
        follows it is held from now on)."""
        if self._in_flight is not None or self._waiting:
            self._waiting.append(event)
            return
        await self._take(event)

    async def _take(self, event: Typed) -> None:
        if self._held is not None:
            self._held.typed.append(event)
            return
        field_id = self._prompt_opened_by(event) if isinstance(event, events.Key) else None
        handed_to: MessagePump = self.app.focused or self.app.screen  # as Textual does
        typed_in = isinstance(event, events.Key) and typed_into_field(handed_to, event)
        await self._hand_on(event)
        if field_id is not None:  # what follows is held for the prompt: no need to wait here
            held = HeldKeys(event, self.app.screen, field_id)
            held.give_up = self.app.set_timer(PROMPT_WAIT_S, lambda: self._drop(held))
            self._held = held
            return
        if typed_in:  # (the next key goes to the same field: no need to wait for this one)
            return
        flight = InFlight(event)
        flight.give_up = self.app.set_timer(PROMPT_WAIT_S, lambda: self._lost(flight))
        self._in_flight = flight
        self._follow(flight, handed_to)

    def _follow(self, flight: InFlight, node: MessagePump) -> None:
        """Queue a look behind the key on `node`: when it runs, `node` has handled the key
        (and passed it up, unless stopped); then the same on its parent, up to the app."""
        if node is not self.app and not node.is_attached:
            node = self.app  # a node gone from the screen passes nothing up
        if not node.call_later(self._passed, flight, node):
            self.app.call_later(self._landed, flight)

    async def _passed(self, flight: InFlight, node: MessagePump) -> None:
        if node is self.app:
            await self._landed(flight)
        else:
            self._follow(flight, node.parent or self.app)

    async def _lost(self, flight: InFlight) -> None:
        if self._in_flight is flight:
            self.app.log.warning(f"type-ahead: {flight.event!r} did not come back up; going on")
            await self._landed(flight)

    async def _landed(self, flight: InFlight) -> None:
        """The key in flight was handled all the way up: the keys typed after it, in order."""
        if self._in_flight is not flight:
            return
        self._in_flight = None
        if flight.give_up is not None:
            flight.give_up.stop()
        while self._waiting and self._in_flight is None:
            await self._take(self._waiting.popleft())

    def _prompt_opened_by(self, key: events.Key) -> str | None:
        """The id of the field of the prompt `key` opens, if it opens one: the binding it
        runs where the focus is now, unless the focused widget takes the key itself (an
        Input takes `/`; Textual's binding chain misses that for keys named like `slash`)."""
        focused = self.app.focused
        if focused is not None and focused.check_consume_key(key.key, key.character):
            return None
        active = self.app.screen.active_bindings.get(key.key)
        if active is None or not active.enabled or not isinstance(active.node, DashboardScreen):
            return None
        return PROMPT_FIELDS.get(active.binding.action)

    def _prompt_coming(self, held: HeldKeys) -> bool:
        """After the key's action: a screen was pushed, or the field is shown for focus."""
        if self.app.screen is not held.screen:
            return True
        return any(shown(node) for node in held.screen.query(f"#{held.field_id}"))

    async def _prompt_focused(self, held: HeldKeys, widget: DOMNode) -> None:
        if widget.id != held.field_id or self.app.focused is not widget:
            return
        self._stop_holding(held)
        for event in held.typed:  # as if typed now (a key in them may hold the rest again)
            await self.typed(event)

    def _drop(self, held: HeldKeys) -> None:
        """The prompt is not coming: what was typed for it goes nowhere else."""
        if self._held is held:
            self._stop_holding(held)
            if held.typed:
                self.app.log.warning(f"type-ahead: {len(held.typed)} keys dropped, no prompt came")

    def _stop_holding(self, held: HeldKeys) -> None:
        self._held = None
        if held.give_up is not None:
            held.give_up.stop()
