"""The one JSON reader and writer for payloads (`input_json`, `cmd_json`, `output_json`).

Reading never raises: malformed, enormous or absurdly nested JSON is reported, not thrown.
Writing is strict (no NaN/Infinity); a value JSON cannot carry is kept as its raw text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]

# Python refuses to turn longer digit strings into int (CVE-2020-10735 guard).
_MAX_INT_DIGITS = 4000
# Deeper values parse, but writing them back (strict_json, pretty_json, a tree view) recurses
# once per level and can then hit Python's recursion limit from a deep call stack.
MAX_JSON_DEPTH = 200


@dataclass(frozen=True, slots=True)
class ParsedJson:
    raw: str | None
    value: object = None
    # Why `raw` could not be parsed (None when it parsed, or when there is no value).
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.raw is not None and self.error is None


def _number(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


def _integer(text: str) -> int | str:
    return int(text) if len(text) <= _MAX_INT_DIGITS else text


# strict=False: control characters inside strings are kept (and sanitised when shown).
_READ_OPTIONS: dict[str, object] = {"parse_float": _number, "parse_int": _integer,
                                    "parse_constant": str, "strict": False}
# Made once: `json.loads` with options builds a decoder on every call (an export parses a
# payload a saga). Its `decode` keeps no state between calls (json's own default decoder
# is shared the same way).
_DECODER = json.JSONDecoder(**_READ_OPTIONS)  # type: ignore[arg-type]


def _loads(raw: str) -> object:
    """`json.loads(raw, **_READ_OPTIONS)`, through the decoder made once where that is the
    same thing: text not starting with a byte order mark (which json.loads refuses itself)."""
    if isinstance(raw, str) and not raw.startswith("\ufeff"):
        return _DECODER.decode(raw)
    return json.loads(raw, **_READ_OPTIONS)  # type: ignore[arg-type]


def parse_json(raw: str | None) -> ParsedJson:
    """Parse stored JSON. Numbers JSON cannot carry (1e400, NaN, huge ints) stay as text."""
    if raw is None:
        return ParsedJson(None)
    value, error = _read(raw)
    return ParsedJson(raw, value, error)


def json_value(raw: str | None) -> object:
    """`parse_json(raw).value` when `raw` parses, else None (no JSON, or not valid): what
    the JSON output carries beside the stored text, without the ParsedJson around it."""
    if raw is None:
        return None
    value, error = _read(raw)
    return value if error is None else None


_TOO_DEEP = "not shown as JSON: nested too deeply"


def _read(raw: str) -> tuple[object, str | None]:
    """(the value, None), or (None, why it is not shown as JSON)."""
    try:
        value = _loads(raw)
    except RecursionError:
        return None, _TOO_DEEP
    except (ValueError, TypeError) as exc:
        return None, f"not valid JSON: {exc}"
    if _may_nest_deeper(raw) and _nested_deeper_than(value, MAX_JSON_DEPTH):
        return None, _TOO_DEEP
    return value, None


def _may_nest_deeper(raw: str) -> bool:
    """Whether `raw` has brackets enough to nest deeper than MAX_JSON_DEPTH: each container
    opens with one, so text with no more than that many cannot (the usual payload: the
    walk over its containers is skipped)."""
    return raw.count("{") + raw.count("[") > MAX_JSON_DEPTH


def _nested_deeper_than(value: object, limit: int) -> bool:
    """Whether containers nest more than `limit` levels. Level by level, looking only at
    containers (no recursion to blow; 10 MB of 200 000 small objects in ~0.3 s)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        if depth >= limit:
            return True
        below: list[object] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend(child for child in children if isinstance(child, dict | list))
        level, depth = below, depth + 1
    return False


def pretty_json(value: object) -> str:
    """Indented JSON for people (non-ASCII kept; sanitise before showing)."""
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except RecursionError:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, check_circular=False)


def pretty_json_head(value: object, limit: int) -> str:
    """The first `limit` characters of `pretty_json(value)`, made without writing the rest:
    the encoder gives its text piece by piece, so the head of megabytes costs what it shows."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False)
    pieces: list[str] = []
    length = 0
    try:
        for piece in encoder.iterencode(value):
            pieces.append(piece)
            length += len(piece)
            if length >= limit:
                break
    except RecursionError:
        return pretty_json(value)[:limit]
    return "".join(pieces)[:limit]


# Made once, as _DECODER: `json.dumps` with options builds an encoder on every call.
_STRICT = json.JSONEncoder(ensure_ascii=True, allow_nan=False)


def strict_json(value: object, *, indent: int | None = None) -> str:
    """Strict JSON for scripts: ASCII only (so no control byte reaches a terminal), no NaN."""
    if indent is None:
        return _STRICT.encode(value)
    return json.dumps(value, indent=indent, ensure_ascii=True, allow_nan=False)


def strict_json_lines(values: Iterable[object]) -> str:
    """Each value as `strict_json` writes it, each followed by a newline: the encoder is made
    once for them all (encode makes one a value: a tenth of a JSON lines export)."""
    if c_make_encoder is None:  # a Python without the C encoder: strict_json's own way
        return "".join(strict_json(value) + "\n" for value in values)
    # As JSONEncoder.iterencode makes it for _STRICT (markers: its check for cycles).
    encode = c_make_encoder({}, _STRICT.default, encode_basestring_ascii, None,
                            _STRICT.key_separator, _STRICT.item_separator, False, False,
                            False)
    return "".join(["".join(encode(value, 0)) + "\n" for value in values])
