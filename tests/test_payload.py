"""The one JSON reader and writer for payloads: reading never raises, writing is strict and
ASCII-only, and a value JSON cannot carry is kept as its raw text."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saga_inspector.store.payload import (
    MAX_JSON_DEPTH,
    ParsedJson,
    parse_json,
    pretty_json,
    pretty_json_head,
    strict_json,
)


def strict_loads(text: str) -> object:
    """json.loads that refuses NaN/Infinity: what a strict consumer (jq, JS) would accept."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('{"closed_label":"main"}', {"closed_label": "main"}),
        ('{"cmd":"reap_panes","label":"main","saga_id":0}',
         {"cmd": "reap_panes", "label": "main", "saga_id": 0}),
        ('{"event":"pool_not_last","label":"w","version":1186,"saga_id":null}',
         {"event": "pool_not_last", "label": "w", "version": 1186, "saga_id": None}),
        ("[1, 2.5, true, null]", [1, 2.5, True, None]),
        ("  12  ", 12),
        ('"text"', "text"),
    ],
)
def test_valid_json_parses(raw, value):
    parsed = parse_json(raw)
    assert parsed == ParsedJson(raw, value)
    assert parsed.ok
    assert strict_loads(strict_json(parsed.value)) == value


@pytest.mark.parametrize("raw", ["", "{", '{"a":1', "[1,2", "{'a': 1}", "nul", '{"a":1}x',
                                 "\x00", "{\"a\": 01}"])
def test_invalid_json_is_reported_with_its_raw_text(raw):
    parsed = parse_json(raw)
    assert not parsed.ok
    assert parsed.raw == raw
    assert parsed.value is None
    assert parsed.error.startswith("not valid JSON")


def test_no_payload_is_not_an_error():
    parsed = parse_json(None)
    assert parsed == ParsedJson(None)
    assert parsed.error is None and not parsed.ok


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e400", "1e400"),
        ("-1e400", "-1e400"),
        ("9" * 5000, "9" * 5000),
        ("-" + "9" * 5000, "-" + "9" * 5000),
    ],
)
def test_numbers_json_cannot_carry_are_kept_as_their_raw_text(raw, kept):
    parsed = parse_json(f'{{"n": {raw}, "list": [{raw}]}}')
    assert parsed.ok
    assert parsed.value == {"n": kept, "list": [kept]}
    written = strict_json(parsed.value)
    assert "NaN" not in written.replace('"NaN"', "")
    assert strict_loads(written) == {"n": kept, "list": [kept]}


def test_big_numbers_that_fit_stay_exact():
    parsed = parse_json('{"big": 18446744073709551617, "neg": -9223372036854775809}')
    assert parsed.value == {"big": 2**64 + 1, "neg": -(2**63) - 1}
    assert strict_json(parsed.value) == '{"big": 18446744073709551617, "neg": -9223372036854775809}'


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_json_nested_too_deeply_is_an_error_not_a_recursion_error(depth):
    for raw in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        parsed = parse_json(raw)
        assert not parsed.ok
        assert parsed.value is None
        assert "nested too deeply" in parsed.error


def test_json_at_the_depth_limit_parses_and_writes_back_from_a_deep_call_stack():
    raw = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    parsed = parse_json(raw)
    assert parsed.ok

    def deep_call(levels: int) -> tuple[str, str, str]:
        # The CLI and a TUI call these from far down their own stacks.
        if levels:
            return deep_call(levels - 1)
        return strict_json(parsed.value), strict_json(parsed.value, indent=2), pretty_json(
            parsed.value)

    compact, indented, pretty = deep_call(sys.getrecursionlimit() // 2)
    assert compact == raw.replace("][", "], [")
    assert json.loads(indented) == json.loads(pretty) == parsed.value


def test_control_characters_inside_strings_are_kept_and_escaped_on_output():
    raw = '{"label": "a\x1b]0;title\x07b", "tab": "x\ty", "nul": "\x00"}'
    parsed = parse_json(raw)
    assert parsed.ok
    assert parsed.value["label"] == "a\x1b]0;title\x07b"
    written = strict_json(parsed.value)
    assert written.isascii()
    assert all(ch >= " " for ch in written)
    assert "\\u001b]0;title\\u0007" in written
    assert strict_loads(written) == parsed.value


def test_strict_json_is_ascii_only_and_lossless():
    value = {"text": "Grüße 🚀 \u202e", "lone": "\ud800"}
    written = strict_json(value, indent=2)
    assert written.isascii()
    assert json.loads(written) == value


def test_strict_json_refuses_nan_rather_than_writing_it():
    with pytest.raises(ValueError):
        strict_json(float("nan"))


def test_pretty_json_indents_and_keeps_non_ascii():
    assert pretty_json({"a": ["é"]}) == '{\n  "a": [\n    "é"\n  ]\n}'


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                         allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.text())
def test_parsing_any_text_never_raises(raw):
    parsed = parse_json(raw)
    assert parsed.raw == raw
    assert parsed.ok or parsed.error
    if parsed.ok:
        strict_loads(strict_json(parsed.value))


@given(JSON_VALUES)
def test_any_json_value_round_trips(value):
    parsed = parse_json(json.dumps(value))
    assert parsed.ok
    assert parsed.value == value
    assert strict_loads(strict_json(parsed.value)) == value


@given(JSON_VALUES, st.integers(0, 300))
def test_the_head_of_pretty_json_is_its_first_characters(value, limit):
    assert pretty_json_head(value, limit) == pretty_json(value)[:limit]


def test_the_head_of_megabytes_is_made_without_the_rest():
    value = {"rows": [{"id": n, "label": f"pane-{n}"} for n in range(200_000)]}
    assert pretty_json_head(value, 100) == pretty_json(value)[:100]
