"""Type-ahead: keys typed right after a key that opens a prompt (`/`, `:`, `e`) are meant for
that prompt, but Textual hands each key to the widget focused when the key is taken from the
queue, and the prompt takes focus only later (a focus move is itself queued; a pushed screen
is mounted first). So from such a key until the prompt's field has focus, the app holds the
keys and pastes that arrive and then hands them to the field, in order (`HeldKeys`). A
prompt that does not come (the key opened nothing) gets nothing: what was held is dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer

from .screens.dashboard import DashboardScreen

# The dashboard's actions that open a prompt, with the id of the field that takes what is
# typed after the key (search_bar.py, screens/jump.py, screens/export.py).
PROMPT_FIELDS = {"search": "search-input", "jump": "jump-input", "export": "export-path"}
# A prompt whose field has not taken focus this long after its key is not coming.
PROMPT_WAIT_S = 2.0


@dataclass(eq=False)
class HeldKeys:
    """What was typed after `opener`, a key opening a prompt on `screen`, before the prompt's
    field (`field_id`) took focus."""

    opener: events.Key
    screen: Screen
    field_id: str
    typed: list[events.Key | events.Paste] = field(default_factory=list)
    give_up: Timer | None = None


def shown(node: DOMNode) -> bool:
    """`node` is displayed: neither it nor a container of it on its screen is hidden."""
    for each in node.ancestors_with_self:
        if not each.display:
            return False
        if isinstance(each, Screen):
            return True
    return False


class TypeAhead:
    """The app's keys and pastes pass through here (`typed`), and every other event it
    handled is shown here afterwards (`seen`)."""

    def __init__(self, app: App[object],
                 hand_on: Callable[[events.Event], Awaitable[None]]) -> None:
        self.app = app
        self._hand_on = hand_on  # the app's own handling of an event
        self._held: HeldKeys | None = None  # what was typed for a prompt on its way

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

    async def typed(self, event: events.Key | events.Paste) -> None:
        """A key or paste from the terminal: held for a prompt on its way, or handed on
        (and, for a key that opens a prompt, what follows it is held from now on)."""
        if self._held is not None:
            self._held.typed.append(event)
            return
        field_id = self._prompt_opened_by(event) if isinstance(event, events.Key) else None
        await self._hand_on(event)
        if field_id is not None:
            held = HeldKeys(event, self.app.screen, field_id)
            held.give_up = self.app.set_timer(PROMPT_WAIT_S, lambda: self._drop(held))
            self._held = held

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
