"""The format layer owns every difference between the log formats: nothing outside
store/formats/ names a table, a format-specific column or a time encoding, and the data
layer's modules import one another without a cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from saga_inspector.store import FORMATS, LAUNCHER, SERVER, format_named
from saga_inspector.store.formats import described_formats, detect_format
from saga_inspector.store.formats.launcher import TIME_FUNCTION

SOURCE = Path(__file__).resolve().parents[1] / "src" / "saga_inspector"
FORMAT_LAYER = SOURCE / "store" / "formats"
# Words only a format may say: its tables, the columns one format has and another lacks,
# and the SQL that decodes a stored time (julianday, the time function).
FORMAT_WORDS = sorted({
    *(fmt.saga_table for fmt in FORMATS), *(fmt.step_table for fmt in FORMATS),
    "terminal_at", "julianday", TIME_FUNCTION,
} - {"saga"})  # "saga" is also an ordinary word (a pane, a variable)


def _outside_format_layer() -> list[Path]:
    return [path for path in SOURCE.rglob("*.py") if FORMAT_LAYER not in path.parents]


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_table_column_or_time_encoding_named_outside_the_format_layer() -> None:
    found = []
    for path in _outside_format_layer():
        for text in _string_constants(path):
            found += [(path.relative_to(SOURCE), word) for word in FORMAT_WORDS
                      if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]
    assert found == []


def test_the_guard_sees_a_table_name_in_code() -> None:
    # The guard reads string constants: a table name spelled in SQL would be caught.
    assert any("launcher_saga" in text
               for text in _string_constants(FORMAT_LAYER / "launcher.py"))


def _store_imports() -> dict[str, set[str]]:
    """Module -> the store modules it imports at module level (not inside functions)."""
    store = SOURCE / "store"
    graph: dict[str, set[str]] = {}
    for path in store.rglob("*.py"):
        name = ".".join(path.relative_to(store).with_suffix("").parts)
        package = name.rsplit(".", 1)[0] if "." in name else ""
        imported: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                imported |= _targets(node, package, name)
        graph[name] = imported
    return graph


def _targets(node: ast.ImportFrom, package: str, name: str) -> set[str]:
    module = node.module or ""
    if node.level == 0:
        prefix = "saga_inspector.store."
        return {module[len(prefix):]} if module.startswith(prefix) else set()
    base = package if name.endswith("__init__") is False else name.rsplit(".", 1)[0]
    parts = [part for part in base.split(".") if part]
    parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
    if module:
        return {".".join([*parts, module])}
    return {".".join([*parts, alias.name]) for alias in node.names}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    def normal(module: str) -> str:
        return module if module in graph else f"{module}.__init__"

    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in visiting:
            return [*visiting[visiting.index(module):], module]
        if module in done or module not in graph:
            return None
        visiting.append(module)
        for target in sorted(graph[module]):
            found = visit(normal(target))
            if found:
                return found
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def test_the_data_layer_imports_without_a_cycle() -> None:
    graph = _store_imports()
    assert "query" in graph["models"]  # the edge that used to close a cycle
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


@pytest.mark.parametrize("log_format", FORMATS, ids=lambda fmt: fmt.name)
def test_a_format_is_told_by_its_tables(log_format: object) -> None:
    assert log_format is format_named(log_format.name)  # type: ignore[attr-defined]
    assert detect_format({log_format.saga_table, log_format.step_table}) is log_format  # type: ignore[attr-defined]


def test_a_file_with_both_formats_tables_and_one_without() -> None:
    assert detect_format({"saga", "saga_step", "launcher_saga"}) is SERVER
    assert detect_format({"launcher_saga", "launcher_saga_step", "saga"}) is LAUNCHER
    assert detect_format({"something_else"}) is None
    assert "launcher_saga" in described_formats() and "saga_step" in described_formats()


def test_each_format_has_its_own_states_and_wording() -> None:
    assert "compensated" in SERVER.saga_states and "compensated" not in LAUNCHER.saga_states
    assert SERVER.saga_states[:5] == LAUNCHER.saga_states  # the number keys keep their meaning
    assert "failed" not in SERVER.final_states  # recovery takes failed sagas up again
    assert "refuse" in SERVER.newer_warning(2) and "server" in SERVER.newer_warning(2)
    assert "launcher" in LAUNCHER.newer_warning(2)


@pytest.mark.parametrize(("stored", "text", "raw"), [
    (1_780_409_123_481, "2026-06-02T14:05:23.481+00:00", 1_780_409_123_481),
    (1.5, "1970-01-01T00:00:00.001+00:00", 1.5),
    (float("inf"), "inf", "inf"),  # JSON holds no infinity: its text
    ("²", "²", "²"),  # a digit to Unicode, not to int(): kept as text
    ("١٢", "١٢", "١٢"),
    ("2026-06-02T14:05:23Z", "2026-06-02T14:05:23.000+00:00", "2026-06-02T14:05:23Z"),
    (10**17, "100000000000000000", 10**17),  # past the year 9999
])
def test_a_server_time_in_json_is_rfc3339_with_the_stored_value(
        stored: object, text: str, raw: object) -> None:
    from saga_inspector.report import saga_to_dict, to_json
    from saga_inspector.store import Saga
    from saga_inspector.store.formats.server import decode_millis

    stamp = decode_millis(stored)
    saga = Saga(1, "delete_tab", "completed", stamp, stamp, "{}", None, log_format=SERVER)
    fields = saga_to_dict(saga)
    assert (fields["started_at"], fields["started_at_raw"]) == (text, raw)
    assert (fields["ended_at"], fields["ended_at_raw"]) == (text, raw)
    to_json(fields)  # strict JSON takes it (no NaN, no infinity)


def test_an_id_shown_shortened_is_a_prefix_in_ref() -> None:
    from saga_inspector.store.query import LabelMatch, parse_query

    assert parse_query("ref:5d07a1b2…").terms[0].value == LabelMatch("5d07a1b2", prefix=True)
    assert parse_query("ref:5d07").terms[0].value == LabelMatch("5d07", prefix=False)
