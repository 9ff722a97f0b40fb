"""The export's fast paths write what the plain per-saga path wrote, byte for byte.

The export writes a page of sagas at a time: CSV a column at a time with its cells checked
for the sanitiser and the formula guard a page at once, JSON lines through a reader and a
writer made once; the sanitiser, the RFC 3339 parser and the JSON reader each have a fast
path. The reference here is the code as it was before (a saga at a time: `saga_to_dict`,
the csv module's writer, `json.dumps`, the sanitiser's translation table), kept verbatim,
run over logs of nasty text (controls, escapes, text that is not UTF-8, numbers in text
columns, formula starters, quotes and line ends, huge and deeply nested JSON) in both
formats, one log and several, every sort.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saga_inspector import sanitize as sanitizer
from saga_inspector.export import (
    CSV,
    CSV_COLUMNS,
    FORMULA_STARTS,
    JSONL,
    csv_records,
    csv_row,
    jsonl_line,
    write_sagas,
)
from saga_inspector.sanitize import all_safe, is_safe, sanitize
from saga_inspector.store import PAGE_SIZE, LogFormat, Saga, SagaQuery, SortOrder, timestamps
from saga_inspector.store import payload as payloads
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.payload import MAX_JSON_DEPTH, parse_json
from saga_inspector.store.timestamps import Timestamp

from .factory import LOOSE_DDL, SagaLogFactory, cleanup_saga, hostile_sagas, respawn_saga
from .test_safety_content import strange_sagas

# -- the per-saga path as it was: the reference ----------------------------------------------


def old_sanitize(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    return text.translate(sanitizer._ONE_LINE)


def old_parsed(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        value = json.loads(raw, parse_float=payloads._number, parse_int=payloads._integer,
                           parse_constant=str, strict=False)
    except (RecursionError, ValueError, TypeError):
        return None
    return None if payloads._nested_deeper_than(value, MAX_JSON_DEPTH) else value


def old_times(log_format: LogFormat, **stamps: Timestamp | None) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name, stamp in stamps.items():
        text, raw = log_format.export_time(stamp)
        fields[name] = text
        if log_format.time.export_raw:
            fields[f"{name}_raw"] = raw
    return fields


def old_saga_to_dict(saga: Saga) -> dict[str, object]:
    tag = saga.source
    duration = saga.duration
    return {
        "saga_id": saga.saga_id,
        "name": saga.name,
        "state": saga.state,
        **old_times(saga.log_format, started_at=saga.started_at, ended_at=saga.ended_at),
        "duration_s": None if duration is None else duration.total_seconds(),
        "failure_reason": saga.failure_reason,
        "input": old_parsed(saga.input_json),
        "input_json": saga.input_json,
        "steps_total": saga.steps_total,
        "steps_done": saga.steps_done,
        "source": tag.label or None,
        "source_path": str(tag.path) if tag.label else None,
    }


def old_csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    text = old_sanitize(value)
    return "'" + text if str(value).startswith(FORMULA_STARTS) else text


def old_export(sagas: list[Saga], fmt: str) -> str:
    out = io.StringIO()
    if fmt == CSV:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for saga in sagas:
            fields = old_saga_to_dict(saga)
            writer.writerow([old_csv_cell(fields[column]) for column in CSV_COLUMNS])
    else:
        for saga in sagas:
            out.write(json.dumps(old_saga_to_dict(saga), ensure_ascii=True,
                                 allow_nan=False) + "\n")
    return out.getvalue()


def new_export(sagas: list[Saga], fmt: str) -> str:
    out = io.StringIO()
    assert write_sagas(iter(sagas), out, fmt) == len(sagas)
    return out.getvalue()


# -- nasty logs ---------------------------------------------------------------------------------

BAD_UTF8 = "CAST(X'6261648062ff1b5b324a00fe' AS TEXT)"  # bad\x80b\xff ESC[2J NUL \xfe
CSV_SPECIALS = ("=1+2", "+x", "-x", "@x", "\tx", "\rx", "a,b", 'say "hi"', "line\nbreak",
                "crlf\r\nend", "", " lead", "café ☃ 𝄞", "\u202eevil", '"', ",", "'quoted'")


def nasty_sagas() -> list:
    sagas = [*strange_sagas(), *hostile_sagas(),
             *(cleanup_saga(n, "failed", drained=None, at=float(n)) for n in (60, 61, 62))]
    for n, text in enumerate(CSV_SPECIALS, start=100):
        saga = cleanup_saga(n, "failed", at=float(n), reason=text)
        saga.name = text
        sagas.append(saga)
    bom = respawn_saga(200, "failed", at=200.0)
    bom.input_json = "\ufeff{}"  # json.loads refuses it: so must the decoder made once
    huge = respawn_saga(201, "completed", at=201.0)
    huge.input_json = json.dumps({"blob": "x" * 2_000_000, "list": list(range(50_000))})
    edge = respawn_saga(202, "completed", at=202.0)  # the depth limit itself, then past it
    edge.input_json = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    past = respawn_saga(203, "completed", at=203.0)
    past.input_json = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    braces = respawn_saga(204, "completed", at=204.0)  # brackets in text, not nesting
    braces.input_json = json.dumps({"text": "[{" * 400})
    sagas += [bom, huge, edge, past, braces]
    # Pages of plain sagas around them: pages the fast path takes and pages it leaves.
    sagas += [cleanup_saga(n, at=float(n)) for n in range(1000, 1000 + 4 * PAGE_SIZE)]
    return sagas


def nasty_log(make_log: SagaLogFactory) -> Path:
    fmt = make_log.fmt
    table = fmt.saga_table
    column = fmt.saga_columns
    saga_id = column["saga_id"]
    texts = [column[f] for f in ("name", "input_json", "failure_reason") if f in column]
    return make_log(nasty_sagas(), ddl=LOOSE_DDL, sql=[
        *(f"UPDATE {table} SET {c} = {BAD_UTF8} WHERE {saga_id} = 60" for c in texts),
        f"UPDATE {table} SET {column['name']} = 42 WHERE {saga_id} = 61",  # a number as text
        f"UPDATE {table} SET {column['failure_reason']} = 1.5 WHERE {saga_id} = 61",
        f"UPDATE {table} SET {column['name']} = X'00ff1b' WHERE {saga_id} = 62",  # a BLOB
        f"UPDATE {table} SET {column['name']} = 'mid-page ' || {BAD_UTF8} "
        f"WHERE {saga_id} = 1150",
        f"UPDATE {table} SET {column['name']} = {BAD_UTF8} WHERE {saga_id} = 1350",
        # A page whose one odd cell is a formula: safe text, yet not written as it is.
        f"UPDATE {table} SET {column['failure_reason']} = '-1' WHERE {saga_id} = 1050",
    ])


@pytest.fixture
def nasty(make_log: SagaLogFactory, log_format: LogFormat) -> Path:
    return nasty_log(make_log)


@pytest.fixture
def plain(make_log: SagaLogFactory, log_format: LogFormat) -> Path:
    return make_log([cleanup_saga(n, "failed" if n % 3 == 0 else "completed", at=n + 0.5)
                     for n in range(1, 2 * PAGE_SIZE + 30)])


QUERIES = [SagaQuery(), SagaQuery(sort=SortOrder.STARTED), SagaQuery(sort=SortOrder.DURATION),
           SagaQuery(states=frozenset({"failed"}))]


@pytest.mark.parametrize("fmt", [JSONL, CSV])
@pytest.mark.parametrize("query", QUERIES, ids=["id", "started", "duration", "failed"])
def test_one_log_exports_what_the_per_saga_path_did(nasty: Path, fmt: str,
                                                   query: SagaQuery) -> None:
    with MergedSource.open([nasty]) as source:
        sagas = list(source.walk(query))
    assert len(sagas) > 3 * PAGE_SIZE or query.states
    assert new_export(sagas, fmt) == old_export(sagas, fmt)


@pytest.mark.parametrize("fmt", [JSONL, CSV])
@pytest.mark.parametrize("query", QUERIES, ids=["id", "started", "duration", "failed"])
def test_several_logs_export_what_the_per_saga_path_did_in_the_same_order(
    nasty: Path, plain: Path, fmt: str, query: SagaQuery
) -> None:
    with MergedSource.open([nasty, plain]) as source:
        walked = list(source.walk(query))
        at_once = source.sagas(query, limit=100_000)  # one read: the order is the view's
        exported = io.StringIO()
        write_sagas(source.walk(query), exported, fmt)
    assert [s.ref for s in walked] == [s.ref for s in at_once]
    assert {s.source.label for s in walked} == {s.source.label for s in at_once} and len(
        {s.source.label for s in walked}) == 2
    assert exported.getvalue() == old_export(walked, fmt)


def test_the_per_saga_functions_are_the_reference(nasty: Path) -> None:
    """`jsonl_line` and `csv_row` (follow mode, the dashboard's copy) agree as well."""
    with MergedSource.open([nasty]) as source:
        sagas = list(source.walk(SagaQuery()))
    for saga in sagas:
        assert jsonl_line(saga) + "\n" == old_export([saga], JSONL)
        fields = old_saga_to_dict(saga)
        assert csv_row(saga) == [old_csv_cell(fields[c]) for c in CSV_COLUMNS]


def test_pages_of_nasty_text_take_the_slow_path_and_plain_pages_the_fast_one(
    nasty: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways are exercised above: a page with one bad cell is written cell by cell, a
    plain page at once (csv_cell never called for it)."""
    from saga_inspector import export

    calls: list[object] = []
    original = export.csv_cell
    monkeypatch.setattr(export, "csv_cell", lambda value: calls.append(value) or original(value))
    with MergedSource.open([nasty]) as source:
        sagas = list(source.walk(SagaQuery()))
    plain_page = [s for s in sagas if 1200 <= s.saga_id < 1300]
    assert new_export(plain_page, CSV) == old_export(plain_page, CSV) and calls == []
    for odd in (1050, 1150):  # a formula; text that is not UTF-8
        page = [s for s in sagas if odd - 50 <= s.saga_id < odd + 50]
        calls.clear()
        assert new_export(page, CSV) == old_export(page, CSV)
        assert len(calls) == len(page) * len(CSV_COLUMNS)


def test_a_page_that_fails_part_way_still_writes_what_was_read(tmp_path: Path) -> None:
    """Written a page at a time, yet as before: the sagas read before a failure are out."""
    def broken() -> object:
        for n in range(150):
            yield Saga(n, "x", "completed", None, None, None, None)
        raise OSError("disk gone")

    out = io.StringIO()
    with pytest.raises(OSError, match="disk gone"):
        write_sagas(broken(), out, JSONL)  # type: ignore[arg-type]
    assert len(out.getvalue().splitlines()) == 150


# -- the CSV writer against the csv module --------------------------------------------------

cells = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(),
    st.text(alphabet=st.sampled_from([",", '"', "\r", "\n", "a", " ", "'", "é", "\t", "="]),
            max_size=6),
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(min_value=2, max_value=6).flatmap(
    lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), max_size=5)))
def test_csv_records_are_the_csv_modules_bytes(rows: list[list[object]]) -> None:
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n").writerows(rows)
    assert csv_records(list(zip(*rows, strict=True))) == expected.getvalue()


# -- the fast paths of the sanitiser, the time parser, the JSON reader -----------------------


def test_the_sanitisers_search_finds_every_character_it_replaces() -> None:
    for multiline, table in ((False, sanitizer._ONE_LINE), (True, sanitizer._MULTI_LINE)):
        for code in range(0x110000):
            char = chr(code)
            assert sanitize(char, multiline=multiline) == char.translate(table), hex(code)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.text(), max_size=5), st.booleans())
def test_sanitize_is_its_translation_and_all_safe_is_each_safe(texts: list[str],
                                                               multiline: bool) -> None:
    table = sanitizer._MULTI_LINE if multiline else sanitizer._ONE_LINE
    for text in texts:
        assert sanitize(text, multiline=multiline) == text.translate(table)
    assert all_safe(texts) == all(is_safe(text) for text in texts)


FRACTIONS = ["", ".1", ".12", ".123456", ".1234567", ".123456789", ".999999999", ".0000001"]
ZONES = ["Z", "z", "+00:00", "-00:00", "+05:30", "-11:59", "+23:59", "+24:00", "+99:99"]
DATES = ["2026-06-13", "0001-01-01", "9999-12-31", "0000-01-01", "2024-02-29", "2023-02-29",
         "2026-13-01"]
TIMES = ["06:18:21", "23:59:60", "24:00:00", "00:00:00", "23:59:59", "12:60:00"]


def test_the_time_parsers_fast_path_gives_what_its_fields_give() -> None:
    """fromisoformat where it accepts the text, else field by field: the same instant (or
    None) either way, for every shape the pattern lets through."""
    for date, sep, time, fraction, zone in itertools.product(
            DATES, "Tt ", TIMES, FRACTIONS, ZONES):
        text = f"{date}{sep}{time}{fraction}{zone}"
        match = timestamps._RFC3339.match(text)
        assert match is not None, text
        fields = timestamps._from_fields(match)
        assert timestamps._parse_rfc3339(text) == fields, text
        assert timestamps._parse_rfc3339(f" {text}\n") == fields, text
        if fields is not None:
            assert timestamps._parse_rfc3339(text).tzinfo is UTC  # type: ignore[union-attr]
    assert timestamps._parse_rfc3339("2026-06-13T06:18:21") is None  # no zone: not a time
    assert timestamps._parse_rfc3339("20260613T061821Z") is None  # fromisoformat's, not ours
    assert timestamps._parse_rfc3339("2026-06-13T06:18:21.5+00:00") == datetime(
        2026, 6, 13, 6, 18, 21, 500000, tzinfo=UTC)


@pytest.mark.parametrize("raw", [
    "\ufeff{}", "{}", "[1, 2.50, 1e400, NaN]", '{"a": "\x1b"}', "not json", "",
    "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH,
    "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    '{"t": "' + "[" * 300 + '"}', "9" * 5000,
])
def test_the_json_reader_made_once_reads_as_json_loads_did(raw: str) -> None:
    try:
        value = json.loads(raw, parse_float=payloads._number, parse_int=payloads._integer,
                           parse_constant=str, strict=False)
        error = ("not shown as JSON: nested too deeply"
                 if payloads._nested_deeper_than(value, MAX_JSON_DEPTH) else None)
    except ValueError as exc:
        value, error = None, f"not valid JSON: {exc}"
    parsed = parse_json(raw)
    assert (parsed.error, parsed.value if parsed.error is None else None) == (
        error, value if error is None else None)


def test_all_safe_takes_printable_ascii_as_it_is_and_searches_the_rest() -> None:
    # its fast path: no printable ASCII character is ever replaced
    printable = [chr(code) for code in range(0x20, 0x7F)]
    assert all(is_safe(char) for char in printable)
    assert all_safe(printable)
    for code in [*range(0x20), 0x7F, 0x85, 0x9B, 0x200B, 0xD800, 0xE0041]:
        assert not all_safe(["plain", f"x{chr(code)}y"]), hex(code)
    assert all_safe(["plain", "héllo ✓ 日本"])  # not ASCII, but nothing to replace


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(), lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8), max_size=4))
def test_json_lines_made_with_one_encoder_are_strict_jsons_lines(values: list[object]) -> None:
    assert payloads.strict_json_lines(values) == "".join(
        payloads.strict_json(value) + "\n" for value in values)


def test_json_lines_refuse_what_strict_json_refuses() -> None:
    for value in (float("nan"), {"x": [float("inf")]}):
        with pytest.raises(ValueError):
            payloads.strict_json(value)
        with pytest.raises(ValueError):
            payloads.strict_json_lines([{"fine": 1}, value])
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError):
        payloads.strict_json_lines([cycle])
