"""The private parts of Textual the TUI relies on, each checked on the Textual installed
(issue 15: stay fast on the next Textual).

Textual promises nothing about a name that starts with `_`: a release may rename a method,
change its parameters or drop an attribute. The code using one would then break, or worse
stay correct and silently slow (an override Textual no longer calls). PRIVATE lists every
such name with what the code needs of it; a test per entry fails naming the name, what this
Textual has instead and the file to update. The scan below finds every private Textual name
the source uses (on `self` or `super()` in a Textual subclass, an override, a private
module imported), so a new one must be added to PRIVATE, and an entry no longer used must go.

What the step list's cells look like is checked against DataTable's own drawing in
test_read_ahead.py (`test_step_cells_are_drawn_as_the_data_table_draws_them`).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable

import saga_inspector
from saga_inspector.tui.widgets.step_list import StepList

from .factory import SagaLogFactory
from .helpers import SIZE, idle, make_app, mixed_log, pilot_test

TEXTUAL = version("textual")
SOURCE = Path(saga_inspector.__file__).parent


@dataclass(frozen=True)
class Private:
    """A private Textual name the code relies on, and what it needs of it."""

    owner: str  # "module:Class" the code reaches it through, or a module ("textual._context")
    name: str
    use: str  # what the code does with it: overrides, calls, reads, imports
    where: tuple[str, ...]  # the files under src/saga_inspector/ that use it
    params: tuple[str, ...] | None = None  # a method's parameters after self, as passed
    expect: str = ""  # an attribute: what the code needs it to be
    holds: Callable[[Any], bool] | None = None  # ... as a check on its value

    @property
    def label(self) -> str:
        owner = self.owner.rpartition(":")[2] or self.owner
        return f"{owner}.{self.name}"

    def spelled(self, params: tuple[str, ...] | None = None) -> str:
        listed = self.params if params is None else params
        return f"{self.label}({', '.join(listed or ())})"


def _is_cache(value: object) -> bool:
    return callable(getattr(value, "get", None)) and hasattr(type(value), "__setitem__")


STEP_LIST = ("tui/widgets/step_list.py",)
PRIVATE = (
    # The step list draws its cells itself (issue 6: most of its frame time went through
    # Rich's Padding and Styled), cached in DataTable's own cell cache and keyed as it is.
    Private("textual.widgets:DataTable", "_render_cell", "overrides (and calls super())",
            STEP_LIST, params=("row_index", "column_index", "base_style", "width", "cursor",
                               "hover")),
    Private("textual.widgets:DataTable", "_get_styles_to_render_cell", "calls", STEP_LIST,
            params=("is_header_cell", "is_row_label_cell", "is_fixed_style_cell", "hover",
                    "cursor", "show_cursor", "show_hover_cursor",
                    "has_css_foreground_priority", "has_css_background_priority")),
    Private("textual.widgets:DataTable", "_cell_render_cache", "reads and fills", STEP_LIST,
            expect="a cache with get() and item assignment", holds=_is_cache),
    Private("textual.widgets:DataTable", "_update_count", "reads (in the cell cache key)",
            STEP_LIST, expect="an int", holds=lambda value: isinstance(value, int)),
    Private("textual.widgets:DataTable", "_pseudo_class_state", "reads (in the cell cache key)",
            STEP_LIST, expect="a hashable value",
            holds=lambda value: isinstance(value, Hashable)),
    Private("textual.widgets:DataTable", "_show_hover_cursor", "reads", STEP_LIST,
            expect="a bool", holds=lambda value: isinstance(value, bool)),
    # Its virtual size is redeclared without layout=True; the scrollbars are updated by hand.
    Private("textual.widgets:DataTable", "_scroll_update", "calls", STEP_LIST,
            params=("virtual_size",)),
    # The panes below the table: no second layout after the one that sized them (issue 6).
    Private("textual.widgets:Static", "_size_updated", "overrides (and calls super())",
            ("tui/widgets/detail_pane.py",),
            params=("size", "virtual_size", "container_size", "layout")),
    # pop_screen refuses a screen no longer on top: which node is asking (issue 12).
    Private("textual._context", "active_message_pump", "imports", ("tui/app.py",),
            expect="a ContextVar", holds=lambda value: type(value).__name__ == "ContextVar"),
)
BY_NAME = {entry.name: entry for entry in PRIVATE}


def resolve(owner: str) -> ModuleType | type:
    """The Textual class ("module:Class") or module an entry names."""
    module_name, _, class_name = owner.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name) if class_name else module
    except (ImportError, AttributeError) as error:
        users = ", ".join(sorted({f for e in PRIVATE if e.owner == owner for f in e.where}))
        pytest.fail(f"saga-inspector uses {owner}: Textual {TEXTUAL} has none ({error}); "
                    f"update {users} (and PRIVATE in {Path(__file__).name})")


def update(entry: Private) -> str:
    return f"update {', '.join(entry.where)} (and PRIVATE in {Path(__file__).name})"


# -- each entry, as the code relies on it ----------------------------------------------------

@pytest.mark.parametrize("entry", [e for e in PRIVATE if e.params is not None],
                         ids=lambda entry: entry.label)
def test_a_private_method_has_the_parameters_the_code_passes(entry: Private) -> None:
    owner = resolve(entry.owner)
    method = getattr(owner, entry.name, None)
    assert callable(method), (
        f"saga-inspector {entry.use} {entry.spelled()}: Textual {TEXTUAL} has no "
        f"{entry.label}; {update(entry)}")
    params = tuple(inspect.signature(method).parameters)[1:]  # (without self)
    assert params == entry.params, (
        f"saga-inspector {entry.use} {entry.spelled()}: Textual {TEXTUAL} changed it to "
        f"{entry.spelled(params)}; {update(entry)}")


@pytest.mark.parametrize("entry", [e for e in PRIVATE if e.holds is not None],
                         ids=lambda entry: entry.label)
def test_a_private_attribute_is_there_as_the_code_uses_it(entry: Private) -> None:
    owner = resolve(entry.owner)
    # An instance attribute is set by the constructor: a bare widget has it (no app needed).
    holder = owner() if isinstance(owner, type) else owner
    missing = object()
    value = getattr(holder, entry.name, missing)
    assert value is not missing, (
        f"saga-inspector {entry.use} {entry.label} ({entry.expect}): Textual {TEXTUAL} has "
        f"no such attribute; {update(entry)}")
    assert entry.holds is not None and entry.holds(value), (
        f"saga-inspector {entry.use} {entry.label} ({entry.expect}): in Textual {TEXTUAL} it "
        f"is {type(value).__name__} {value!r:.60}; {update(entry)}")


def cache_key(function: Callable[..., Any]) -> list[str]:
    """The parts, in order, of the tuple `function` looks `self._cell_render_cache` up with
    (`key in cache`, `cache.get(key)`, `cache[key]`)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    tuples: dict[str, ast.Tuple] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Tuple):
            tuples[target.id] = value

    def is_cache(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "_cell_render_cache"

    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Compare) and any(map(is_cache, node.comparators)):
            key = node.left
        elif isinstance(node, ast.Subscript) and is_cache(node.value):
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and is_cache(node.func.value) and node.args):
            key = node.args[0]
        if isinstance(key, ast.Name) and key.id in tuples:
            return [ast.unparse(part) for part in tuples[key.id].elts]
    raise AssertionError(f"{function.__qualname__} looks up _cell_render_cache with no tuple "
                         f"key in Textual {TEXTUAL}; update {', '.join(STEP_LIST)}")


def test_the_step_lists_cell_cache_key_has_every_part_of_the_data_tables() -> None:
    """StepList keeps its cells in DataTable's own cache under a key made the same way (by
    place instead of by row and column key): a part DataTable adds to its key (a state the
    drawing depends on) must be in ours, or a cell drawn before that state changed would be
    shown after it."""
    theirs, ours = cache_key(DataTable._render_cell), cache_key(StepList._render_cell)
    by_place = {"row_key": "row_index", "column_key": "column_index"}
    expected = [by_place.get(part, part) for part in theirs]
    assert ours == expected, (
        f"DataTable._render_cell keys its cell cache on ({', '.join(theirs)}) in Textual "
        f"{TEXTUAL}; StepList._render_cell keys it on ({', '.join(ours)}): make its key "
        f"({', '.join(expected)}); update {', '.join(STEP_LIST)}")


@pilot_test
async def test_textual_still_calls_what_the_code_overrides(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An override Textual stopped calling breaks nothing visible: the screen is drawn the
    slow way. Each one is counted while the dashboard draws a saga and its steps."""
    calls: Counter[str] = Counter()
    overriders = {(use.cls, use.name) for use in private_uses() if use.how == "def"}
    assert overriders, "the scan finds the overrides"
    for cls, name in overriders:
        monkeypatch.setattr(cls, name, counted(getattr(cls, name), name, calls))
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j")
        await idle(pilot)
    for cls, name in sorted(overriders, key=str):
        entry = BY_NAME[name]
        assert calls[name], (
            f"Textual {TEXTUAL} no longer calls {entry.label}: {cls.__name__}'s override is "
            f"dead code and the dashboard is drawn the slow way; {update(entry)}")


def counted(method: Callable[..., Any], name: str, calls: Counter[str]) -> Callable[..., Any]:
    @functools.wraps(method)
    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    return counting


# -- the scan: every private Textual name the source uses is in PRIVATE -----------------------

@dataclass(frozen=True)
class Use:
    """One private Textual name used by the source."""

    name: str
    file: str  # under src/saga_inspector/
    line: int
    # "self" / "super()" (read, set or called), "def" (an override), "import", "other" (on
    # another object, or by getattr)
    how: str
    cls: Any = None  # our class, for "self", "super()" and "def"
    owners: tuple[type, ...] = ()  # the Textual classes that have the name

    def __str__(self) -> str:
        owners = f" (of {', '.join(o.__name__ for o in self.owners)})" if self.owners else ""
        return f"{self.file}:{self.line}: {self.how} {self.name}{owners}"


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def textual_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] == "textual"]


@functools.cache
def textual_names(base: type) -> frozenset[str]:
    """What a Textual class has: its attributes, and what its methods set on `self` (an
    instance attribute is not on the class)."""
    names = set(dir(base))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(base)))
    except (OSError, TypeError):
        return frozenset(names)
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
              and isinstance(node.value, ast.Name) and node.value.id == "self"}
    return frozenset(names)


def private_imports(tree: ast.Module, file: str) -> Iterator[Use]:
    """`from textual._x import y`, `import textual._x`, `from textual.x import _y`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textual":
            parts = (node.module or "").split(".")
            for alias in node.names:
                if any(map(private, parts)) or private(alias.name):
                    yield Use(alias.name, file, node.lineno, "import")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "textual" and any(map(private, parts)):
                    yield Use(alias.name, file, node.lineno, "import")


def receiver(node: ast.Attribute) -> str | None:
    value = node.value
    if isinstance(value, ast.Name) and value.id in ("self", "cls"):
        return "self"
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "super"):
        return "super()"
    return None


def class_uses(node: ast.ClassDef, cls: type, file: str) -> Iterator[Use]:
    """The private names `cls`'s body uses on `self` or `super()`, or defines, that one of
    its Textual bases has."""
    bases = textual_bases(cls)

    def owners(name: str) -> tuple[type, ...]:
        return tuple(base for base in bases if name in textual_names(base))

    for item in node.body:
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if private(item.name) and (found := owners(item.name)):
            yield Use(item.name, file, item.lineno, "def", cls, found)
        for sub in ast.walk(item):
            if (isinstance(sub, ast.Attribute) and private(sub.attr)
                    and (how := receiver(sub)) and (found := owners(sub.attr))):
                yield Use(sub.attr, file, sub.lineno, how, cls, found)


def classes_in(tree: ast.Module, module: ModuleType) -> Iterator[tuple[ast.ClassDef, type]]:
    """Each class statement (nested ones too) with the class it made, where it has a Textual
    base."""
    def walk(body: list[ast.stmt], scope: object) -> Iterator[tuple[ast.ClassDef, type]]:
        for node in body:
            if isinstance(node, ast.ClassDef):
                cls = getattr(scope, node.name, None)
                if isinstance(cls, type):
                    if textual_bases(cls):
                        yield node, cls
                    yield from walk(node.body, cls)

    yield from walk(tree.body, module)


def defined(tree: ast.Module) -> set[str]:
    """The names a module of ours defines: functions, classes, attributes it sets."""
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)} | {
        node.attr for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)} | {
        node.id for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def other_uses(tree: ast.Module, file: str, textual: dict[str, list[type]],
               ours: set[str]) -> Iterator[Use]:
    """`x._name` on anything but `self` or `super()` (`self.app._driver`), and
    `getattr(x, "_name")`: a name one of the Textual classes ours derive from has and no
    code of ours defines."""
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute) and receiver(node) is None:
            name = node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            name = node.args[1].value
        if name is not None and private(name) and name in textual and name not in ours:
            yield Use(name, file, node.lineno, "other", owners=tuple(textual[name]))


@functools.cache
def private_uses() -> tuple[Use, ...]:
    uses: list[Use] = []
    trees = {path.relative_to(SOURCE): ast.parse(path.read_text(encoding="utf-8"))
             for path in sorted(SOURCE.rglob("*.py"))}
    bases: set[type] = set()
    for relative, tree in trees.items():
        file = relative.as_posix()
        uses += private_imports(tree, file)
        if not any(isinstance(node, ast.ClassDef) for node in tree.body):
            continue  # (no class to look up; importing __main__ would run the CLI)
        module = importlib.import_module(
            ".".join(("saga_inspector", *relative.with_suffix("").parts)))
        for node, cls in classes_in(tree, module):
            uses += class_uses(node, cls, file)
            bases.update(textual_bases(cls))
    textual = names_of(bases)
    ours = set().union(*map(defined, trees.values()))
    for relative, tree in trees.items():
        uses += other_uses(tree, relative.as_posix(), textual, ours)
    return tuple(uses)


def names_of(bases: Iterable[type]) -> dict[str, list[type]]:
    """Each name these Textual classes have, with the classes that have it."""
    textual: dict[str, list[type]] = {}
    for base in sorted(bases, key=lambda base: base.__qualname__):
        for name in textual_names(base):
            textual.setdefault(name, []).append(base)
    return textual


def test_the_scan_finds_what_the_code_uses() -> None:
    """The scan sees an override, a call on `super()`, a read on `self` and an import."""
    found = {(use.name, use.how, use.file) for use in private_uses()}
    assert ("_render_cell", "def", "tui/widgets/step_list.py") in found
    assert ("_size_updated", "super()", "tui/widgets/detail_pane.py") in found
    assert ("_update_count", "self", "tui/widgets/step_list.py") in found
    assert ("active_message_pump", "import", "tui/app.py") in found
    # Our own private names on a Textual subclass are ours, not Textual's.
    assert not {name for name, _how, _file in found} & {"_fitting_cell", "_shown_row",
                                                        "_fitted_to", "_columns"}


NEWCOMER = """
from textual.app import App
from textual.widgets import DataTable
from textual._context import active_app
from textual.widgets._data_table import default_cell_formatter

class Table(DataTable):
    def _on_idle(self, event):
        self._require_update_dimensions = True
        super()._clear_caches()
        self._fitted = default_cell_formatter  # (a name of ours)
        return self.app._driver, getattr(self, "_row_render_cache"), self._fitted
"""


def test_the_scan_names_each_kind_of_private_use_a_newcomer_might_add() -> None:
    module = ModuleType("newcomer")
    exec(compile(NEWCOMER, "newcomer.py", "exec"), module.__dict__)
    tree = ast.parse(NEWCOMER)
    uses = [*private_imports(tree, "newcomer.py"),
            *(use for node, cls in classes_in(tree, module)
              for use in class_uses(node, cls, "newcomer.py")),
            *other_uses(tree, "newcomer.py", names_of([DataTable, App]), defined(tree))]
    assert sorted((use.how, use.name, use.line) for use in uses) == [
        ("def", "_on_idle", 8),
        ("import", "active_app", 4),
        ("import", "default_cell_formatter", 5),
        ("other", "_driver", 12),
        ("other", "_row_render_cache", 12),
        ("self", "_require_update_dimensions", 9),
        ("super()", "_clear_caches", 10),
    ]


def test_no_private_textual_name_is_left_out_of_the_table() -> None:
    uses = private_uses()
    unlisted = [str(use) for use in uses if use.name not in BY_NAME]
    assert unlisted == [], (
        "private Textual names used but not in PRIVATE (tests/test_textual_private_api.py): "
        "add each with the signature or attribute the code relies on, or use Textual's "
        "public API instead:\n" + "\n".join(unlisted))
    for entry in PRIVATE:
        files = sorted({use.file for use in uses if use.name == entry.name})
        assert files == sorted(entry.where), (
            f"{entry.label} is used in {files or 'no file'}, PRIVATE says {list(entry.where)}:"
            f" correct its entry (or remove it when no longer used)")


def test_each_entry_names_the_textual_class_the_code_reaches_it_through() -> None:
    """So that the signature checked is the one the code gets (an override's base)."""
    for use in private_uses():
        if use.cls is None or use.name not in BY_NAME:  # (unlisted: the test above says so)
            continue
        owner = resolve(BY_NAME[use.name].owner)
        assert owner in textual_bases(use.cls), (
            f"{use}: {use.cls.__name__} is no {BY_NAME[use.name].owner}; correct the owner in"
            f" PRIVATE")
