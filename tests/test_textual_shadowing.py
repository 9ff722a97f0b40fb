"""No name of ours shadows a Textual API (issue 12).

`SagaTable.query`, a property, hid Textual's `DOMNode.query()`; a triple click's select-all
calls that method, and the app ended with `TypeError: 'SagaQuery' object is not callable`.
So, for every class in the TUI deriving from a Textual class:

- each name its body defines that a Textual base also has is a hook Textual asks subclasses
  to define (HOOKS, HOOK_PREFIXES) or an override sanctioned below with its reason
  (SANCTIONED); anything else is a clash;
- each `self.name = ...` in its methods whose name a Textual base has sets one of Textual's
  settable properties or reactives (`display`, `border_title`, ...), never replaces a method
  or a plain attribute of Textual's.

A Textual name is one its classes define or one their methods assign on `self`.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator

from textual.reactive import Reactive
from textual.scroll_view import ScrollView

import saga_inspector.tui

# Class settings and methods Textual asks a subclass to define (it reads or calls them).
HOOKS = frozenset({
    "BINDINGS", "CSS_PATH", "DEFAULT_CSS", "COMPONENT_CLASSES", "TITLE", "AUTO_FOCUS",
    "HORIZONTAL_BREAKPOINTS", "VERTICAL_BREAKPOINTS",  # Screen: classes by terminal size
    "BUTTON_LEFT", "BUTTON_INNER", "BUTTON_RIGHT",  # ToggleButton: the glyphs it draws
    "compose", "render", "render_line", "render_lines", "check_action",
    "get_default_screen", "get_system_commands",
    "notify_style_update",  # called when the styles change: a widget caching styled text
    "control",  # Message: the widget a message is about, for `@on(..., selector)`
})
# Message handlers (Textual calls each class's own, along the MRO: none replaces another),
# watchers, and actions (what the class's bindings name).
HOOK_PREFIXES = ("on_", "watch_", "action_")
# Overrides of Textual methods beyond the hooks, each with why it is meant.
SANCTIONED = {
    ("SagaInspectorApp", "on_event"): "type-ahead: keys held for a prompt on its way, then "
                                      "handed on through Textual's own on_event",
    ("SagaInspectorApp", "pop_screen"): "Textual's, refused to a screen no longer on top "
                                        "(a second dismiss from a closed screen)",
    ("SteadyStatic", "update"): "Static.update without its layout unless the height changes",
    ("SteadyStatic", "_size_updated"): "no second layout after the one that sized it",
    ("StepList", "virtual_size"): "DataTable's reactive, redeclared without layout=True",
    ("StepList", "_render_cell"): "DataTable's cell rendering, cached per step row",
}
# Names Textual's metaclass machinery puts on every subclass (not written by us).
GENERATED = frozenset({
    "_decorated_handlers", "_reactives", "_inherit_css", "_inherit_bindings",
    "_inherit_component_classes", "_css_type_name", "_css_type_names", "_merged_bindings",
    "_computes", "can_focus", "can_focus_children", "_default_virtual_size",
    "bubble", "verbose", "no_dispatch",
})


def our_classes() -> Iterator[type]:
    """Every class defined in saga_inspector.tui with a Textual class among its bases."""
    package = saga_inspector.tui
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (inspect.isclass(value) and value.__module__ == module.__name__
                    and textual_bases(value)):
                yield value
                yield from nested(value)


def nested(cls: type) -> Iterator[type]:
    for value in vars(cls).values():
        if inspect.isclass(value) and value.__qualname__.startswith(cls.__qualname__ + "."):
            if textual_bases(value):
                yield value
            yield from nested(value)


def textual_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] == "textual"]


def assigned_on_self(cls: type) -> set[str]:
    """The names the methods in `cls`'s own body assign as `self.name = ...`."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return set()
    names: set[str] = set()
    [body] = tree.body
    assert isinstance(body, ast.ClassDef)
    for method in body.body:  # its methods only: a nested class's `self` is another object
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(method):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            for target in targets:
                for each in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if (isinstance(each, ast.Attribute) and isinstance(each.value, ast.Name)
                            and each.value.id == "self"):
                        names.add(each.attr)
    return names


@functools.cache
def textual_names(base: type) -> frozenset[str]:
    """What a Textual class has: its attributes, and what its methods set on `self`."""
    return frozenset(dir(base)) | assigned_on_self(base)


def settable(bases: list[type], name: str) -> bool:
    """Textual's `name` is a property with a setter, a reactive or another descriptor that
    takes a value (`border_title`): setting it is its API."""
    for base in bases:
        if name in vars(base):
            found = vars(base)[name]
            if isinstance(found, property):
                return found.fset is not None
            return isinstance(found, Reactive) or hasattr(type(found), "__set__")
    return False


def clashes(cls: type) -> list[str]:
    """The names of `cls` that shadow a Textual API, each saying where."""
    bases = textual_bases(cls)
    textual: set[str] = set()
    for base in bases:
        textual |= textual_names(base)
    found = []
    for name in vars(cls):
        if name.startswith("__") or name in GENERATED or name not in textual:
            continue
        if name in HOOKS or name.startswith(HOOK_PREFIXES) or (cls.__name__, name) in SANCTIONED:
            continue
        found.append(f"{cls.__qualname__}.{name} shadows {bases[0].__name__}.{name}")
    for name in sorted(assigned_on_self(cls) - set(vars(cls))):
        if name in textual and not settable(bases, name):
            found.append(f"{cls.__qualname__}: self.{name} = ... replaces "
                         f"{bases[0].__name__}.{name}")
    return found


def test_the_check_sees_every_kind_of_widget() -> None:
    names = {cls.__name__ for cls in our_classes()}
    for expected in ("SagaInspectorApp", "DashboardScreen", "JumpScreen", "ExportScreen",
                     "SagaTable", "StepList", "SearchBar", "KeyBar", "PayloadBlock"):
        assert expected in names


def test_no_name_of_ours_shadows_textual() -> None:
    found = [clash for cls in our_classes() for clash in clashes(cls)]
    assert found == []


def test_every_sanctioned_override_is_still_one() -> None:
    """The allow-list stays small: an entry whose override is gone is removed."""
    classes = {cls.__name__: cls for cls in our_classes()}
    for class_name, name in SANCTIONED:
        cls = classes[class_name]
        assert name in vars(cls), (class_name, name)
        assert any(name in textual_names(base) for base in textual_bases(cls))


def test_the_check_names_the_clash_that_crashed_a_triple_click() -> None:
    class Table(ScrollView):  # SagaTable as it was
        def __init__(self) -> None:
            super().__init__()
            self.title_text = ""
            self.display = True  # a Textual property: setting it is its API

        @property
        def query(self) -> object:
            return None

    class Other(ScrollView):
        def show(self, query: object) -> None:
            self.query = query  # the same mistake, as an attribute

    assert clashes(Table) == ["test_the_check_names_the_clash_that_crashed_a_triple_click"
                              ".<locals>.Table.query shadows ScrollView.query"]
    assert clashes(Other) == ["test_the_check_names_the_clash_that_crashed_a_triple_click"
                              ".<locals>.Other: self.query = ... replaces ScrollView.query"]
