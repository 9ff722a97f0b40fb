"""Small SQL builders every part of the data layer shares: quoting, parameter lists, text
and JSON tests. No format knowledge here (that is store/formats/)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# SQLite refuses LIKE patterns longer than this many bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH).
_MAX_LIKE_PATTERN_BYTES = 50_000


class ValueMatch(Protocol):
    """A value to find (query.LabelMatch): the text, or a prefix of it."""

    text: str
    prefix: bool


def ident(name: str) -> str:
    """A table or column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def text_literal(text: str) -> str:
    """A text value written into SQL as a literal (for a partial index's WHERE term, which a
    bound parameter cannot match)."""
    return "'" + text.replace("'", "''") + "'"


def marks(count: int) -> str:
    """`?, ?, ?`: the parameters of an `IN (...)` list."""
    return ", ".join("?" * count)


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_test(text: str) -> tuple[str, str]:
    """SQL (with `{}` for the column) testing that a column contains `text`, ignoring ASCII
    case, and its one parameter. LIKE is the fast way; a text too long for a LIKE pattern
    uses instr() on lowered text, which gives the same answer more slowly."""
    pattern = like_pattern(text)
    if len(pattern.encode("utf-8", "surrogatepass")) <= _MAX_LIKE_PATTERN_BYTES:
        return "{} LIKE ? ESCAPE '\\'", pattern
    return "instr(lower({}), lower(?)) > 0", text


def _equals(value: str, match: ValueMatch, params: list[object]) -> str:
    if match.prefix:
        # `>= ?` keeps text only (numbers sort below any text); substr counts characters.
        params += [match.text, len(match.text), match.text]
        return f"({value} >= ? AND substr({value}, 1, ?) = ?)"
    params.append(match.text)
    return f"{value} = ?"


def glob_contains(text: str) -> str | None:
    """A GLOB pattern for text containing `text` (case and all), or None where GLOB cannot
    say it: GLOB reads a pattern up to its first NUL."""
    if "\0" in text:
        return None
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in text)
    return f"*{escaped}*"


def _guarded(column: str, match: ValueMatch, test: str) -> tuple[str, list[object]]:
    """`test` only on JSON that may hold the value: JSON text without a backslash holds its
    strings as written, so it must contain the value's text; only then is it parsed (valid
    JSON only: the JSON functions raise on anything else). The text is looked for with GLOB,
    which finds a character with the C library's strcspn: twice as fast as instr() (over four
    million steps' commands and outputs, 1.0 s against 2.0 s). It reads the JSON up to a NUL,
    as SQLite's JSON functions do."""
    pattern = glob_contains(match.text)
    if pattern is None:
        return (f"CASE WHEN instr({column}, '\\') > 0 OR instr({column}, ?) > 0 THEN "
                f"CASE WHEN json_valid({column}) THEN {test} END END"), [match.text]
    # (GLOB finds nothing in a BLOB, which the JSON functions read as text: cast, as they do)
    text = f"CAST({column} AS TEXT)"
    return (f"CASE WHEN {text} GLOB ? OR {text} GLOB '*\\*' THEN "
            f"CASE WHEN json_valid({column}) THEN {test} END END"), [pattern]


def json_keys_hold(column: str, keys: Sequence[str], match: ValueMatch) -> tuple[str, list[object]]:
    """SQL: the string value of one of the top-level `keys` of the JSON in `column` equals
    (or starts with) the match's text. "0" without keys or without a column."""
    if column == "NULL" or not keys:
        return "0", []
    params: list[object] = []
    tests = [_equals(f"json_extract({column}, '$.{key}')", match, params) for key in keys]
    guard, guard_params = _guarded(column, match, " OR ".join(tests))
    return guard, [*guard_params, *params]


def json_strings_hold(column: str, match: ValueMatch) -> tuple[str, list[object]]:
    """SQL: some string anywhere in the JSON in `column` (a value at any depth, in arrays
    too) is the match's text (or starts with it): the text appears quoted in it. A test on
    the text, not json_tree(): SQLite asks the authorizer to let a table-valued function
    write sqlite_master, which the read-only authorizer rightly refuses; and it is faster.
    (A string written with JSON escapes is not found; ids and labels have none.)"""
    if column == "NULL":
        return "0", []
    quoted = f'"{match.text}' if match.prefix else f'"{match.text}"'
    return f"instr({column}, ?) > 0", [quoted]


def json_text_at(column: str, path: str) -> str:
    """SQL: the value at `path` of the JSON in `column` when it is text, else NULL (also
    for text that is not JSON, which json_extract would raise on)."""
    return (f"CASE WHEN json_valid({column}) AND json_type({column}, '{path}') = 'text' "
            f"THEN json_extract({column}, '{path}') END")
