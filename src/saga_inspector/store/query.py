"""The query language of the `/` search and `saga-inspector list --search`: one parser.

A query is words separated by spaces; every word must match (AND):

- free text: `timeout`, `"saga timeout"` (quoted: one phrase) -- the saga's id, name,
  failure reason or input contains it (ASCII case ignored); `reason:` also looks at steps.
- `state:failed,failed_compensation` -- in one of these states (`attention`: the four states
  that need attention). `state:a state:b` needs both, so finds nothing: use the comma.
- `name:cleanup`, `step:drain`, `target:host` -- the saga's name, any step's name, any step's
  target contains the text (ASCII case ignored).
- `reason:timeout` -- the saga's or any step's failure reason contains it (case ignored).
- `label:main`, `label:window-pool-*` -- a label in the input or in any step's command or
  output equals it (case matters); a trailing `*` makes it a prefix. Labels are the string
  values of the top-level keys in LABEL_KEYS of payloads that are valid JSON.
- `ref:5d07…`, `ref:5d07*` -- the saga's input or any step's command or output mentions
  that value: on a server log any string in them (tab, block and workspace ids), on the
  launcher's a label (as `label:`); a trailing `*` (or the `…` of an id shown shortened)
  makes it a prefix; case matters. "What happened to tab X?"
- `source:stable/0.41.2/launcher`, `source:stable/*` -- read from that log (its label, as
  the source column and the sources screen show it; a trailing `*` makes it a prefix; case
  matters). Decided per log, before any of its rows is read.
- `pending:yes|no` -- has (or has no) step in flight: pending while its saga is running,
  compensating, failed or failed_compensation (what the step list marks "in flight").
- `id:1200..1300`, `id:5`, `id:..100`, `id:100..` -- saga ids, ends included.
- `since:2026-06-09`, `until:2026-06-10T12:00` -- the saga started at or after / at or before
  that time. A time without an offset is read in the zone passed to the parser (the display
  zone: the one the times on screen are shown in); an offset or `Z` written wins. A space may
  stand for the `T` and before the offset, so a time copied from the screen or from `show`
  reads as it is: `since:"2026-06-02 17:58:42.003 +09:00"`. Both ends are inclusive of the
  unit written: `until:2026-06-10` takes the whole day, `until:…T12:00` the whole minute.
- `slower:5s` -- took longer than that (`500ms`, `5s`, `2m`, `1h`, `1h30m`, `1.5s`, `2d`).
  Sagas without a duration (still running, unparsable times) are not slower than anything.
- `-` before any word excludes what it matches: `-state:completed`, `-label:main`, `-timeout`.
  Sagas a word cannot be decided for (no name, no duration) count as not matching it, so the
  excluded word keeps them.
- Quotes: `name:"a b"` and `"a b"` keep spaces in one value; `\\"` is a quote inside quotes.
- At most 64 words (MAX_TERMS): each word is a condition in the store's SQL, and SQLite
  refuses an expression nested too deep (a long paste would fail as a file it cannot read).

What counts as a qualifier (so that free text with a colon still works): a word `name:value`
whose name is letters and `_` only. A known name is a qualifier (a bad value is an error that
shows the right form). An unknown name is an error (`stat:failed` suggests `state:`) unless its
value is empty or starts with `/`: then the word is free text (`failed:` pasted from a reason,
`http://host/x`). Words whose part before the colon holds anything else are free text
(`08:41`, `2026-06-02T14:05`, `"closed_label":"main"`, `window-pool-1:x`). To search for a
word that would read as a qualifier, quote it: `"closed_label:main"`.

State names: the parser takes the set of states to accept (known ones plus those the file
holds); `None` accepts any name (the store does so: the CLI and the search bar check names
before asking it).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .states import ATTENTION_STATES, KNOWN_SAGA_STATES
from .timestamps import UTC_ZONE, Zone, micros, parse_timestamp

ATTENTION_ALIAS = "attention"

# The query language in a screenful (`saga-inspector list --help`); tui/screens/help.md and the
# README say the same.
QUERY_HELP = """\
query language (--search here, / in the dashboard): words separated by spaces; all must match
  timeout  "saga timeout"     free text in the id, name, failure reason or input
  state:failed,running        in one of these states (state:attention: the four that need it)
  name:cleanup                the saga's name contains the text; step:drain, target:host: any
                              step's name, any step's target
  reason:timeout              the saga's or any step's failure reason contains the text
  label:main  label:window-pool-*
                              a label in the input or in a step's command or output equals
                              it (a * at the end: starts with it)
  ref:5d07e1c2-…  ref:5d07*   the input or a step's payload mentions that id (a server log:
                              tab, block, workspace ids; the launcher's: labels)
  source:stable/0.41.2/launcher  source:stable/*
                              read from that log (its label; a * at the end: starts with it)
  pending:yes  pending:no     has / has no step in flight
  id:1200..1300  id:5  id:..100  id:100..
  since:2026-06-09  until:2026-06-10T12:00
                              started at or after / at or before, in the zone times are
                              shown in (--utc: UTC) unless one is given (Z, +02:00);
                              until:DAY takes the whole day
  slower:5s                   took longer than that: 500ms, 5s, 2m, 1h30m, 1.5s, 2d
  -WORD                       leaves out what WORD matches: -state:completed -label:main
  "a b"  name:"a b"  "x:y"    quotes keep spaces, and colons as plain text
text is matched ignoring ASCII case, labels exactly; at most 64 words. A word like stat:failed
is an error (did you mean state:?), not text: quote it to search for it.
examples:
  saga-inspector list DB --search 'state:failed_compensation label:window-pool-* since:2026-06-09'
  saga-inspector list DB --search 'reason:timeout slower:5s -name:respawn' --sort duration"""
_ID_RANGE = (-(2**63), 2**63 - 1)
_ID_DIGITS = 19  # the most digits a 64-bit id has
MAX_TERMS = 64


class Qualifier(enum.StrEnum):
    STATE = "state"
    NAME = "name"
    LABEL = "label"
    REF = "ref"
    REASON = "reason"
    TARGET = "target"
    STEP = "step"
    PENDING = "pending"
    ID = "id"
    SINCE = "since"
    UNTIL = "until"
    SLOWER = "slower"
    SOURCE = "source"

    @property
    def form(self) -> str:
        """What a value should look like, for error messages."""
        return _FORMS[self]


_FORMS = {
    Qualifier.STATE: "state names like state:failed,failed_compensation",
    Qualifier.NAME: "some text, like name:cleanup",
    Qualifier.LABEL: "a label like label:main, or a prefix like label:window-pool-*",
    Qualifier.REF: "an id or a label, like ref:5d07e1c2-8b1f-4c55-9d1e-2b9a3c4d5e6f, or a "
                   "prefix like ref:5d07*",
    Qualifier.REASON: "some text, like reason:timeout",
    Qualifier.TARGET: "some text, like target:host",
    Qualifier.STEP: "some text, like step:drain",
    Qualifier.PENDING: "yes or no, like pending:yes",
    Qualifier.ID: "an id or a range like id:1200..1300, id:5, id:..100 or id:100..",
    Qualifier.SINCE: "a date or a time like since:2026-06-09 or since:2026-06-09T12:00 "
                     "(in the zone times are shown in, unless one like Z or +02:00 is given)",
    Qualifier.UNTIL: "a date or a time like until:2026-06-10 or until:2026-06-10T12:00 "
                     "(in the zone times are shown in, unless one like Z or +02:00 is given)",
    Qualifier.SLOWER: "a duration like 5s, 2m, 1h30m (also 500ms, 1.5s, 2d)",
    Qualifier.SOURCE: "a log's label like source:stable/0.41.2/launcher, or a prefix like "
                      "source:stable/*",
}
KNOWN_QUALIFIERS = " ".join(f"{q}:" for q in Qualifier)
_QUALIFIER_NAMES = frozenset(q.value for q in Qualifier)


class QueryError(ValueError):
    """A query this parser does not understand; `message` is one line for a person, naming
    the qualifier (`qualifier`) when there is one. Not a StoreError: the store never raises
    it (SagaQuery searches such text as a phrase); the CLI and the search line do."""

    def __init__(self, message: str, *, qualifier: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.qualifier = qualifier

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class LabelMatch:
    text: str
    prefix: bool = False  # `label:window-pool-*`: labels starting with `text`


@dataclass(frozen=True, slots=True)
class IdRange:
    low: int | None  # None: open end
    high: int | None


# What a term holds, by qualifier: free text and NAME/REASON/TARGET/STEP a str, STATE a
# frozenset of names, LABEL and REF a LabelMatch, PENDING a bool, ID an IdRange, SINCE the first and
# UNTIL the last microsecond (since the Unix epoch) included, SLOWER microseconds.
TermValue = str | frozenset[str] | LabelMatch | bool | IdRange | int


@dataclass(frozen=True, slots=True)
class Term:
    qualifier: Qualifier | None  # None: free text
    value: TermValue
    negated: bool = False
    source: str = ""  # the word as typed


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def only_states(self) -> bool:
        """Nothing but `state:` words (the state index answers it without a scan)."""
        return all(term.qualifier is Qualifier.STATE for term in self.terms)

    @property
    def names_sources(self) -> bool:
        return any(term.qualifier is Qualifier.SOURCE for term in self.terms)

    def source_matches(self, label: str) -> bool:
        """Whether the `source:` words let a log with this label in (every one must)."""
        return all(term.negated != label_matches(term.value, label)
                   for term in self.terms if term.qualifier is Qualifier.SOURCE)

    def text_without_sources(self) -> str:
        """The query as typed, less its `source:` words: what each log is asked once the
        log itself is known to match."""
        return " ".join(term.source for term in self.terms
                        if term.qualifier is not Qualifier.SOURCE)

    def state_bounds(self) -> tuple[frozenset[str] | None, frozenset[str]]:
        """The states the `state:` words allow (None: any) and the ones they exclude."""
        allowed: frozenset[str] | None = None
        excluded: frozenset[str] = frozenset()
        for term in self.terms:
            if term.qualifier is not Qualifier.STATE:
                continue
            assert isinstance(term.value, frozenset)
            if term.negated:
                excluded |= term.value
            else:
                allowed = term.value if allowed is None else allowed & term.value
        return allowed, excluded

    @property
    def state_names(self) -> frozenset[str]:
        """Every state name the query mentions."""
        names: frozenset[str] = frozenset()
        for term in self.terms:
            if term.qualifier is Qualifier.STATE:
                assert isinstance(term.value, frozenset)
                names |= term.value
        return names


# -- words --------------------------------------------------------------------------------------

_QUALIFIER_WORD = re.compile(r"([A-Za-z_]+):(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str  # without the leading `-`; a quoted phrase without its quotes
    negated: bool
    quoted: bool  # a whole quoted phrase: free text, never a qualifier
    source: str


def _words(text: str) -> Iterator[_Word]:
    """Split on whitespace; quotes group a phrase or a qualifier's value."""
    position, end = 0, len(text)
    while position < end:
        if text[position].isspace():
            position += 1
            continue
        start = position
        negated = text[position] == "-" and position + 1 < end and not text[position + 1].isspace()
        if negated:
            position += 1
        if text[position] == '"':
            word, position, whole = _quoted(text, position)
            if whole:
                yield _Word(word, negated, True, text[start:position])
                continue
            position = _word_end(text, position)  # `"a":"b"`: a plain word after all
            yield _Word(text[start + negated:position], negated, False, text[start:position])
            continue
        position = _word_end(text, position)
        word = text[start + negated:position]
        match = _QUALIFIER_WORD.fullmatch(word)
        if match and match[2].startswith('"'):  # name:"a value with spaces"
            value_at = start + negated + len(match[1]) + 1
            value, position, whole = _quoted(text, value_at)
            if not whole:
                raise QueryError(f'{match[1]}: text follows the closing quote of its value; put '
                                 f'a space after it', qualifier=match[1])
            word = f"{match[1]}:{value}"
            yield _Word(word, negated, False, text[start:position])
            continue
        yield _Word(word, negated, False, text[start:position])


def _word_end(text: str, position: int) -> int:
    while position < len(text) and not text[position].isspace():
        position += 1
    return position


def _quoted(text: str, position: int) -> tuple[str, int, bool]:
    """The quoted text starting at `position` (a `"`), the position after its closing quote,
    and whether that quote ends the word (whitespace or the end follows)."""
    chars: list[str] = []
    index = position + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in '"\\':
            chars.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            index += 1
            whole = index == len(text) or text[index].isspace()
            return "".join(chars), index, whole
        chars.append(char)
        index += 1
    raise QueryError('a quote (") is not closed: end the quoted text with " (write \\" for a '
                     'quote inside it)')


# -- the parser ---------------------------------------------------------------------------------


def parse_query(text: str, *, states: Collection[str] | None = None,
                zone: Zone = UTC_ZONE) -> ParsedQuery:
    """Parse a query. `states`: the state names `state:` accepts (None: any name); `zone`:
    where a `since:`/`until:` time without an offset is read."""
    terms: list[Term] = []
    for word in _words(text):
        term = _term(word, zone)
        if term.value == "":  # `""` asks for nothing: left out rather than matching everything
            continue
        if len(terms) == MAX_TERMS:
            raise QueryError(f"a query takes at most {MAX_TERMS} words; quote a phrase to "
                             'make it one word ("a b c")')
        terms.append(term)
    parsed = ParsedQuery(tuple(terms))
    if states is not None:
        check_states(parsed, states)
    return parsed


@lru_cache(maxsize=256)
def parse_cached(text: str, zone: Zone = UTC_ZONE) -> ParsedQuery:
    """The query SagaQuery.parsed stands for, remembered: parse_query accepting any state
    name. A text that is not a valid query is searched for as it is, as one phrase (what a
    search meant before the query language): the store never refuses a SagaQuery. The CLI
    and the search line call parse_query first, and refuse such text with its message."""
    try:
        return parse_query(text, zone=zone)
    except QueryError:
        return ParsedQuery((Term(None, text, source=text),))


def accepted_states(present: Iterable[str] = (),
                    known: Iterable[str] = KNOWN_SAGA_STATES) -> frozenset[str]:
    """The names `state:` accepts for a file: its format's states (`known`; every known
    format's when not told) and those the file holds."""
    return frozenset(known) | frozenset(present)


def check_states(parsed: ParsedQuery, states: Collection[str]) -> None:
    """Raise QueryError naming a `state:` name that is not in `states`."""
    allowed = set(states)
    for name in sorted(parsed.state_names):
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            guess = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean {guess[0]}? " if guess else ""
            raise QueryError(f'state: no saga state is called "{name}"; {hint}states: {known} '
                             f'(or {ATTENTION_ALIAS})', qualifier="state")


def _term(word: _Word, zone: Zone) -> Term:
    if word.quoted:
        return Term(None, word.text, word.negated, word.source)
    match = _QUALIFIER_WORD.fullmatch(word.text)
    if match is None:
        return Term(None, word.text, word.negated, word.source)
    name, value = match[1].lower(), match[2]
    if name not in _QUALIFIER_NAMES:
        if not value or value.startswith("/"):
            return Term(None, word.text, word.negated, word.source)
        raise _unknown_qualifier(match[1], word.text)
    qualifier = Qualifier(name)
    if qualifier in (Qualifier.SINCE, Qualifier.UNTIL):
        read: TermValue = _moment_value(qualifier, value, zone)
    else:
        read = _VALUE_READERS[qualifier](qualifier, value)
    return Term(qualifier, read, word.negated, word.source)


def _unknown_qualifier(name: str, word: str) -> QueryError:
    guess = difflib.get_close_matches(name.lower(), list(Qualifier), n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]}:? " if guess else ""
    return QueryError(
        f'unknown qualifier "{name}:"; {hint}known: {KNOWN_QUALIFIERS} '
        f'(to search for the text itself, quote it: "{word}")', qualifier=name)


def _bad(qualifier: Qualifier, value: str) -> QueryError:
    shown = f', not "{value}"' if value else ""
    return QueryError(f"{qualifier}: wants {qualifier.form}{shown}", qualifier=str(qualifier))


# -- values -------------------------------------------------------------------------------------


def _text_value(qualifier: Qualifier, value: str) -> str:
    if not value:
        raise _bad(qualifier, value)
    return value


def _states_value(qualifier: Qualifier, value: str) -> frozenset[str]:
    names = {name.strip() for name in value.split(",") if name.strip()}
    if not names:
        raise _bad(qualifier, value)
    if ATTENTION_ALIAS in names:
        names = (names - {ATTENTION_ALIAS}) | ATTENTION_STATES
    return frozenset(names)


def _label_value(qualifier: Qualifier, value: str) -> LabelMatch:
    prefix = value.endswith("*")
    text = value[:-1] if prefix else value
    if not text:
        raise _bad(qualifier, value)
    return LabelMatch(text, prefix)


def label_matches(match: object, label: str) -> bool:
    """Whether a LabelMatch (a `label:`, `ref:` or `source:` value) matches this text."""
    assert isinstance(match, LabelMatch)
    return label.startswith(match.text) if match.prefix else label == match.text


def _ellipsis_as_star(value: str) -> str:
    """An id the tool showed shortened (`5d07a1b2…`, in explain and the checks) is a prefix:
    pasted back into `ref:`, it finds what it stands for."""
    return value[:-1] + "*" if value.endswith("…") else value


def _pending_value(qualifier: Qualifier, value: str) -> bool:
    answer = value.lower()
    if answer not in ("yes", "no"):
        raise _bad(qualifier, value)
    return answer == "yes"


_ID = re.compile(r"(-?\d+)?(\.\.)?(-?\d+)?", re.ASCII)


def _id_value(qualifier: Qualifier, value: str) -> IdRange:
    match = _ID.fullmatch(value)
    if not value or match is None or (match[2] is None and match[3] is not None) or (
            match[1] is None and match[3] is None):
        raise _bad(qualifier, value)
    low = _id_bound(match[1])
    high = _id_bound(match[3]) if match[2] else low
    if low is not None and high is not None and low > high:
        raise QueryError(f"id: the range {value} holds no id; write the lower id first "
                         f"(id:{high}..{low})", qualifier="id")
    return IdRange(low, high)


def _id_bound(digits: str | None) -> int | None:
    """One end of an id range, None for an open end. Checked by length before int(): past
    4300 digits int() raises a ValueError of its own, not a QueryError."""
    if digits is None:
        return None
    too_long = len(digits.lstrip("-").lstrip("0")) > _ID_DIGITS
    bound = None if too_long else int(digits)
    if bound is None or not _ID_RANGE[0] <= bound <= _ID_RANGE[1]:
        shown = digits if len(digits) <= _ID_DIGITS + 2 else digits[:_ID_DIGITS + 1] + "…"
        raise QueryError(f"id: {shown} is not a saga id (ids fit in 64 bits)", qualifier="id")
    return bound


# A date, or a date and a time to the minute, second or a fraction, then maybe an offset (a
# space before it too: the form times are shown in, `2026-06-02 17:58:42.003 +09:00`).
_MOMENT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?)?"
    r"(?: ?(?P<zone>[Zz]|[+-]\d{2}:\d{2}))?",
    re.ASCII,
)


def _moment_value(qualifier: Qualifier, value: str, zone: Zone) -> int:
    """The first (since) or last (until) microsecond of the day, minute, second or fraction
    written. The text is completed to RFC 3339 and read by the one timestamp parser; without
    an offset, as a wall-clock time in `zone`."""
    match = _MOMENT.fullmatch(value.strip())
    if match is None:
        raise _bad(qualifier, value)
    time = f"{match['hm'] or '00:00'}:{match['s'] or '00'}"
    fraction = f".{match['frac']}" if match["frac"] else ""
    written = parse_timestamp(f"{match['date']}T{time}{fraction}{match['zone'] or '+00:00'}")
    if written is None or written.value is None:  # e.g. 2026-02-30, 25:00, an offset >= 24 h
        raise _bad(qualifier, value)
    if match["zone"] is None and zone != UTC_ZONE:
        try:
            written = replace(written, value=zone.instant(written.value))
        except (OverflowError, OSError, ValueError):  # the zone cannot place it (year 1)
            raise _bad(qualifier, value) from None
    first = micros(written)
    if first is None:
        raise _bad(qualifier, value)
    if qualifier is Qualifier.SINCE:
        return first
    return first + _unit_micros(match) - 1


def _unit_micros(match: re.Match[str]) -> int:
    """How long the unit written lasts: a day, a minute, a second or the fraction's digit."""
    if match["frac"]:
        return 10 ** max(6 - len(match["frac"]), 0)
    if match["s"]:
        return 1_000_000
    if match["hm"]:
        return 60_000_000
    return 86_400_000_000


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", re.ASCII)
# Longer than any saga could last, and still far inside SQLite's 64-bit integers.
_LONGEST = 100 * 366 * 86_400_000_000
_UNIT_MICROS = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000,
                "d": 86_400_000_000}


def _duration_value(qualifier: Qualifier, value: str) -> int:
    text = value.lower()
    parts = list(_DURATION_PART.finditer(text))
    if not parts or "".join(part[0] for part in parts) != text:
        raise _bad(qualifier, value)
    try:
        total = sum(Decimal(part[1]) * _UNIT_MICROS[part[2]] for part in parts)
    except InvalidOperation:
        raise _bad(qualifier, value) from None
    if total > _LONGEST:
        raise _bad(qualifier, value)
    return int(total)


# since: and until: are read by _moment_value, which also takes the zone.
_VALUE_READERS = {
    Qualifier.STATE: _states_value,
    Qualifier.NAME: _text_value,
    Qualifier.LABEL: _label_value,
    Qualifier.REF: lambda qualifier, value: _label_value(qualifier, _ellipsis_as_star(value)),
    Qualifier.REASON: _text_value,
    Qualifier.TARGET: _text_value,
    Qualifier.STEP: _text_value,
    Qualifier.PENDING: _pending_value,
    Qualifier.ID: _id_value,
    Qualifier.SLOWER: _duration_value,
    Qualifier.SOURCE: _label_value,
}
