"""The query language's parser: every qualifier, combinations, negation, quoting, the colon rule
and every error message. (Against a file: test_query_store.py; the CLI: test_query_cli.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saga_inspector.store import (
    ATTENTION_STATES,
    KNOWN_SAGA_STATES,
    NO_VALUE,
    UTC_ZONE,
    SagaQuery,
    SortKey,
    SortOrder,
    parse_timestamp,
)
from saga_inspector.store.models import Saga
from saga_inspector.store.query import (
    KNOWN_QUALIFIERS,
    MAX_TERMS,
    QUERY_HELP,
    IdRange,
    LabelMatch,
    ParsedQuery,
    Qualifier,
    QueryError,
    Term,
    accepted_states,
    check_states,
    parse_cached,
    parse_query,
)


def micros_of(text: str) -> int:
    """Microseconds since the epoch of an ISO time without a zone (UTC), computed apart from
    the code under test."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def one(text: str) -> Term:
    (term,) = parse_query(text).terms
    return term


def error_of(text: str, **options: object) -> QueryError:
    with pytest.raises(QueryError) as raised:
        parse_query(text, **options)  # type: ignore[arg-type]
    return raised.value


# -- each qualifier -----------------------------------------------------------------------------


def test_free_text_words_are_terms_each() -> None:
    assert parse_query("saga timeout").terms == (
        Term(None, "saga", source="saga"), Term(None, "timeout", source="timeout"))


def test_a_quoted_phrase_is_one_term_and_keeps_its_spaces() -> None:
    assert one('"saga  timeout"') == Term(None, "saga  timeout", source='"saga  timeout"')


@pytest.mark.parametrize(("text", "states"), [
    ("state:failed", {"failed"}),
    ("state:failed,failed_compensation", {"failed", "failed_compensation"}),
    ("state: failed", None),  # a space ends the word: "state:" alone is an error (below)
    ("state:failed,,running,", {"failed", "running"}),
    ("state:attention", set(ATTENTION_STATES)),
    ("state:attention,completed", set(ATTENTION_STATES) | {"completed"}),
    ("STATE:completed", {"completed"}),
    ("state:weird_new_state", {"weird_new_state"}),  # any name, unless states= is given
])
def test_state(text: str, states: set[str] | None) -> None:
    if states is None:
        assert error_of(text).qualifier == "state"
        return
    term = one(text)
    assert (term.qualifier, term.value) == (Qualifier.STATE, frozenset(states))


@pytest.mark.parametrize("qualifier", ["name", "reason", "target", "step"])
def test_text_qualifiers_keep_their_text(qualifier: str) -> None:
    term = one(f"{qualifier}:Clean-Up_1")
    assert (term.qualifier, term.value) == (Qualifier(qualifier), "Clean-Up_1")
    assert one(f'{qualifier}:"two words"').value == "two words"


@pytest.mark.parametrize(("text", "label"), [
    ("label:main", LabelMatch("main")),
    ("label:window-pool-*", LabelMatch("window-pool-", prefix=True)),
    ("label:a**", LabelMatch("a*", prefix=True)),  # one trailing star is the prefix mark
    ('label:"main"', LabelMatch("main")),
])
def test_label(text: str, label: LabelMatch) -> None:
    assert one(text).value == label


@pytest.mark.parametrize(("text", "match"), [
    ("ref:5d07e1c2-8b1f-4c55-9d1e-2b9a3c4d5e6f",
     LabelMatch("5d07e1c2-8b1f-4c55-9d1e-2b9a3c4d5e6f")),
    ("ref:5d07*", LabelMatch("5d07", prefix=True)),
    ('ref:"two words"', LabelMatch("two words")),
    ("ref:main", LabelMatch("main")),
])
def test_ref(text: str, match: LabelMatch) -> None:
    term = one(text)
    assert (term.qualifier, term.value, term.negated) == (Qualifier.REF, match, False)
    negated = one("-" + text)
    assert (negated.qualifier, negated.value, negated.negated) == (Qualifier.REF, match, True)


@pytest.mark.parametrize(("text", "value"), [
    ("pending:yes", True), ("pending:no", False), ("pending:YES", True)])
def test_pending(text: str, value: bool) -> None:
    assert one(text).value is value


@pytest.mark.parametrize(("text", "ids"), [
    ("id:5", IdRange(5, 5)),
    ("id:1200..1300", IdRange(1200, 1300)),
    ("id:..100", IdRange(None, 100)),
    ("id:100..", IdRange(100, None)),
    ("id:7..7", IdRange(7, 7)),
    ("id:-3..4", IdRange(-3, 4)),
    (f"id:{2**63 - 1}", IdRange(2**63 - 1, 2**63 - 1)),
])
def test_id(text: str, ids: IdRange) -> None:
    assert one(text).value == ids


@pytest.mark.parametrize(("text", "first"), [
    ("since:2026-06-09", "2026-06-09T00:00:00"),
    ("since:2026-06-09T12:00", "2026-06-09T12:00:00"),
    ("since:2026-06-09t12:00:30", "2026-06-09T12:00:30"),
    ("since:2026-06-09T12:00:30.25", "2026-06-09T12:00:30.250000"),
    ("since:2026-06-09T12:00Z", "2026-06-09T12:00:00"),
    ("since:2026-06-09T14:00+02:00", "2026-06-09T12:00:00"),
    ('since:"2026-06-09 12:00"', "2026-06-09T12:00:00"),
])
def test_since_is_the_first_microsecond_of_what_is_written(text: str, first: str) -> None:
    assert one(text).value == micros_of(first)


@pytest.mark.parametrize(("text", "last"), [
    ("until:2026-06-10", "2026-06-10T23:59:59.999999"),  # the whole day
    ("until:2026-06-10T12:00", "2026-06-10T12:00:59.999999"),  # the whole minute
    ("until:2026-06-10T12:00:05", "2026-06-10T12:00:05.999999"),
    ("until:2026-06-10T12:00:05.5", "2026-06-10T12:00:05.599999"),
    ("until:2026-06-10T12:00:05.123456789", "2026-06-10T12:00:05.123456"),
    ("until:2026-06-10-01:00", "2026-06-11T00:59:59.999999"),  # that day, one hour west
])
def test_until_is_the_last_microsecond_of_what_is_written(text: str, last: str) -> None:
    assert one(text).value == micros_of(last)


def test_since_reads_the_time_with_the_one_timestamp_parser() -> None:
    # No zone is UTC, as the launcher stores times: the same instant parse_timestamp gives.
    stored = parse_timestamp("2026-06-09T12:00:00+00:00")
    assert stored is not None and stored.value is not None
    assert one("since:2026-06-09T12:00").value == micros_of("2026-06-09T12:00:00")


@pytest.mark.parametrize(("text", "micros"), [
    ("slower:5s", 5_000_000),
    ("slower:500ms", 500_000),
    ("slower:2m", 120_000_000),
    ("slower:1h", 3_600_000_000),
    ("slower:1h30m", 5_400_000_000),
    ("slower:1.5s", 1_500_000),
    ("slower:2d", 172_800_000_000),
    ("slower:1m30s250ms", 90_250_000),
    ("slower:5S", 5_000_000),
    ("slower:0s", 0),
])
def test_slower(text: str, micros: int) -> None:
    assert one(text).value == micros


# -- combinations, negation, quoting ------------------------------------------------------------


def test_every_qualifier_combines_in_one_query() -> None:
    parsed = parse_query(
        'timeout state:failed -name:respawn label:main ref:5d07* reason:"host pipe" '
        "target:host step:drain pending:yes id:1..9 since:2026-06-01 until:2026-06-30 "
        "slower:5s source:stable/*")
    assert [term.qualifier for term in parsed.terms] == [None, *Qualifier]
    assert [term.negated for term in parsed.terms] == [False, False, True] + [False] * 11
    assert parsed.terms[4].value == LabelMatch("5d07", prefix=True)
    assert parsed.terms[5].value == "host pipe"


@pytest.mark.parametrize("text", [
    "-state:completed", "-name:x", "-label:main", "-reason:t", "-target:h", "-step:s",
    "-pending:yes", "-id:5", "-since:2026-06-09", "-until:2026-06-09", "-slower:5s",
    "-source:stable/*", "-timeout", '-"saga timeout"'])
def test_a_dash_negates_any_term(text: str) -> None:
    term = one(text)
    assert term.negated
    assert term.source == text


def test_a_lone_dash_and_a_double_dash_are_text() -> None:
    assert one("-") == Term(None, "-", source="-")
    assert one("--x") == Term(None, "-x", negated=True, source="--x")


def test_escapes_inside_quotes() -> None:
    assert one(r'"say \"hi\" \\ there"').value == 'say "hi" \\ there'
    assert one(r'name:"a\"b"').value == 'a"b'
    assert one(r'"a\b"').value == r"a\b"  # a backslash before anything else stays


def test_an_empty_phrase_is_left_out() -> None:
    assert parse_query('"" main').terms == (Term(None, "main", source="main"),)
    assert parse_query("   ").empty


def test_state_bounds_combine_chip_like_words() -> None:
    parsed = parse_query("state:failed,running state:running,completed -state:completed")
    assert parsed.state_bounds() == (frozenset({"running"}), frozenset({"completed"}))
    assert parsed.only_states
    assert parse_query("-state:completed").state_bounds() == (None, frozenset({"completed"}))
    assert not parse_query("state:failed main").only_states
    assert parse_query("").state_bounds() == (None, frozenset())


# -- the colon rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "08:41",  # a time: digits before the colon
    "2026-06-02T14:05",
    "http://host/x",  # an unknown name whose value starts with /
    "https://host:8080/x",
    "failed:",  # an unknown name with no value (pasted from a failure reason)
    '"closed_label":"main"',  # JSON as stored: starts with a quote
    "window-pool-1:x",  # a dash before the colon
    "1:b:c",
])
def test_free_text_with_a_colon_that_is_not_a_qualifier(text: str) -> None:
    assert one(text) == Term(None, text, source=text)


def test_a_quoted_word_is_text_even_when_it_reads_as_a_qualifier() -> None:
    assert one('"stat:failed"') == Term(None, "stat:failed", source='"stat:failed"')
    assert one('"state:failed"').qualifier is None


# -- errors ---------------------------------------------------------------------------------------


def test_a_mistyped_qualifier_suggests_the_right_one_and_lists_them_all() -> None:
    error = error_of("timeout stat:failed")
    assert error.message == (
        'unknown qualifier "stat:"; did you mean state:? known: state: name: label: ref: '
        'reason: target: step: pending: id: since: until: slower: source: (to search for the text '
        'itself, '
        'quote it: "stat:failed")')
    assert error.qualifier == "stat"
    assert isinstance(error, ValueError)
    assert str(error) == error.message


@pytest.mark.parametrize(("text", "guess"), [
    ("lable:main", "label"), ("reasn:x", "reason"), ("slowr:5s", "slower"),
    ("pendng:yes", "pending"), ("untill:2026-06-01", "until"), ("sinse:2026-06-01", "since"),
    ("Nmae:x", "name"),
])
def test_suggestions(text: str, guess: str) -> None:
    assert f"did you mean {guess}:?" in error_of(text).message


def test_an_unknown_qualifier_far_from_any_gets_the_list_only() -> None:
    message = error_of("closed_label:main").message
    assert "did you mean" not in message
    assert KNOWN_QUALIFIERS in message
    assert 'quote it: "closed_label:main"' in message


@pytest.mark.parametrize(("text", "message"), [
    ("state:", "state: wants state names like state:failed,failed_compensation"),
    ("state:,", 'state: wants state names like state:failed,failed_compensation, not ","'),
    ("name:", "name: wants some text, like name:cleanup"),
    ('name:""', "name: wants some text, like name:cleanup"),
    ("reason:", "reason: wants some text, like reason:timeout"),
    ("target:", "target: wants some text, like target:host"),
    ("step:", "step: wants some text, like step:drain"),
    ("label:", "label: wants a label like label:main, or a prefix like label:window-pool-*"),
    ("label:*", 'label: wants a label like label:main, or a prefix like label:window-pool-*, '
                'not "*"'),
    ("pending:maybe", 'pending: wants yes or no, like pending:yes, not "maybe"'),
    ("id:abc", 'id: wants an id or a range like id:1200..1300, id:5, id:..100 or id:100.., '
               'not "abc"'),
    ("id:..", 'id: wants an id or a range like id:1200..1300, id:5, id:..100 or id:100.., '
              'not ".."'),
    ("id:1...2", 'id: wants an id or a range like id:1200..1300, id:5, id:..100 or id:100.., '
                 'not "1...2"'),
    ("id:1300..1200", "id: the range 1300..1200 holds no id; write the lower id first "
                      "(id:1200..1300)"),
    (f"id:{2**63}", f"id: {2**63} is not a saga id (ids fit in 64 bits)"),
    ("since:yesterday", 'since: wants a date or a time like since:2026-06-09 or '
                        'since:2026-06-09T12:00 (in the zone times are shown in, unless one '
                        'like Z or +02:00 is given), not "yesterday"'),
    ("since:2026-02-30", "not \"2026-02-30\""),  # no such day
    ("until:2026-06-10T25:00", "not \"2026-06-10T25:00\""),
    ("until:2026-06-10T12", "until: wants a date or a time like until:2026-06-10"),
    ("since:2026-06-10T12:00+24:00", "not \"2026-06-10T12:00+24:00\""),
    ("slower:5", 'slower: wants a duration like 5s, 2m, 1h30m (also 500ms, 1.5s, 2d), '
                 'not "5"'),
    ("slower:fast", 'not "fast"'),
    ("slower:5 s", "slower: wants a duration"),  # "5" then the word "s"
    ("slower:1h-30m", 'not "1h-30m"'),
    ("slower:999999d", 'not "999999d"'),  # longer than any saga: beyond SQLite's integers
])
def test_a_bad_value_shows_the_right_form(text: str, message: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert error.qualifier == text.split(":")[0]


HUGE = "9" * 5000  # past the 4300 digits int() reads from text


@pytest.mark.parametrize("text", [f"id:{HUGE}", f"id:-{HUGE}", f"id:..{HUGE}", f"id:1..{HUGE}",
                                  f"id:{'1' * 20}", f"-id:{HUGE}"],
                         ids=["id", "negative", "high", "range", "20 digits", "excluded"])
def test_an_id_of_too_many_digits_is_a_query_error(text: str) -> None:
    error = error_of(text)
    assert error.message.endswith("is not a saga id (ids fit in 64 bits)")
    assert error.qualifier == "id"
    assert len(error.message) < 100  # the digits are cut, not echoed in full


def test_leading_zeros_do_not_make_an_id_too_long() -> None:
    assert one(f"id:{'0' * 40}5..{'0' * 30}{2**63 - 1}").value == IdRange(5, 2**63 - 1)
    assert one(f"id:-{2**63}").value == IdRange(-(2**63), -(2**63))


def test_a_duration_of_many_digits_is_read_or_refused_never_a_crash() -> None:
    for text in (f"slower:{HUGE}s", f"slower:{HUGE}ms1s", f"slower:1s{HUGE}d"):
        assert "slower: wants a duration" in error_of(text).message
    assert one(f"slower:1.{HUGE}s").value in (1_999_999, 2_000_000)  # (to a microsecond)
    assert one(f"slower:0.{'0' * 5000}1s").value == 0


def test_a_time_of_many_fraction_digits_reads_to_the_microsecond() -> None:
    assert one(f"since:2026-06-09T12:00:00.123456{HUGE}").value == micros_of(
        "2026-06-09T12:00:00.123456")
    assert one(f"until:2026-06-09T12:00:00.{HUGE}Z").value == micros_of(
        "2026-06-09T12:00:00.999999")


def test_a_query_takes_at_most_max_terms_words() -> None:
    assert len(parse_query(" ".join(["a"] * MAX_TERMS)).terms) == MAX_TERMS
    assert len(parse_query(" ".join(['""'] * 100 + ["a"] * MAX_TERMS)).terms) == MAX_TERMS
    for text in (" ".join(["a"] * (MAX_TERMS + 1)), " ".join(["state:failed"] * 1000)):
        assert error_of(text).message == (
            f'a query takes at most {MAX_TERMS} words; quote a phrase to make it one word '
            f'("a b c")')


@pytest.mark.parametrize("text", [f"id:{HUGE}", " ".join(["a"] * 1000)],
                         ids=["huge id", "1000 words"])
def test_a_saga_query_of_such_text_searches_for_it_as_one_phrase(text: str) -> None:
    assert SagaQuery(text=text).parsed == ParsedQuery((Term(None, text, source=text),))


def test_an_unclosed_quote() -> None:
    for text in ('"abc', 'name:"abc', 'main "saga timeout'):
        assert error_of(text).message == (
            'a quote (") is not closed: end the quoted text with " (write \\" for a quote '
            'inside it)')


def test_text_after_a_quoted_value() -> None:
    assert error_of('name:"a b"c').message == (
        "name: text follows the closing quote of its value; put a space after it")


def test_state_names_are_checked_against_the_states_given() -> None:
    states = accepted_states(["weird_new_state"])
    assert states == KNOWN_SAGA_STATES | {"weird_new_state"}
    assert parse_query("state:weird_new_state,failed", states=states).terms
    error = error_of("state:faild", states=states)
    assert error.message == (
        'state: no saga state is called "faild"; did you mean failed? states: compensated, '
        "compensating, completed, failed, failed_compensation, running, weird_new_state "
        "(or attention)")
    assert error.qualifier == "state"
    with pytest.raises(QueryError):
        check_states(parse_query("-state:nope"), KNOWN_SAGA_STATES)
    check_states(parse_query("state:attention"), KNOWN_SAGA_STATES)


def test_the_help_names_every_qualifier() -> None:
    for qualifier in Qualifier:
        assert f"{qualifier}:" in QUERY_HELP
    assert "free text in the id, name, failure reason or input" in QUERY_HELP
    assert f"at most {MAX_TERMS} words" in QUERY_HELP


# -- SagaQuery: the parse is cached; sort keys ----------------------------------------------------


def test_saga_query_parses_its_text_once() -> None:
    query = SagaQuery(text="state:failed main")
    assert query.parsed is query.parsed is parse_cached("state:failed main", UTC_ZONE)
    assert query.searching
    assert not SagaQuery(text="  ").searching
    assert SagaQuery().parsed == ParsedQuery()


def test_a_saga_query_whose_text_is_no_query_searches_for_it_as_one_phrase() -> None:
    # The store never refuses a SagaQuery (callers from before the query language pass any
    # text); the CLI and the search line refuse such text before asking the store.
    for text in ("stat:x", '"open', "a slower:fast"):
        assert SagaQuery(text=text).parsed == ParsedQuery((Term(None, text, source=text),))
        with pytest.raises(QueryError):
            parse_query(text)
    # Still a hashable value (the dashboard keys caches by it), sort included.
    assert SagaQuery(text="a", sort=SortOrder.DURATION) == SagaQuery(None, "a", SortOrder.DURATION)
    assert len({SagaQuery(text="a"), SagaQuery(text="a", sort=SortOrder.STARTED)}) == 2


def test_sort_orders_cycle() -> None:
    assert [SortOrder.ID.next, SortOrder.STARTED.next, SortOrder.DURATION.next] == [
        SortOrder.STARTED, SortOrder.DURATION, SortOrder.ID]
    assert [order.label for order in SortOrder] == ["id", "start time", "duration"]


def saga(saga_id: int, started: str | None, ended: str | None) -> Saga:
    return Saga(saga_id, "n", "completed", parse_timestamp(started), parse_timestamp(ended),
                "{}", None)


def test_sort_keys() -> None:
    done = saga(7, "2026-06-02T14:05:23.481526300+00:00", "2026-06-02T14:05:28.5+00:00")
    start = micros_of("2026-06-02T14:05:23.481526")
    assert SagaQuery().key_of(done) == SortKey(7, 7)
    assert SagaQuery(sort=SortOrder.STARTED).key_of(done) == SortKey(start, 7)
    assert SagaQuery(sort=SortOrder.DURATION).key_of(done) == SortKey(5_018_474, 7)
    running = saga(8, "2026-06-02T14:05:23+00:00", None)
    assert SagaQuery(sort=SortOrder.DURATION).key_of(running) == SortKey(NO_VALUE, 8)
    garbage = saga(9, "yesterday", "today")
    assert SagaQuery(sort=SortOrder.STARTED).key_of(garbage) == SortKey(NO_VALUE, 9)
    backwards = saga(10, "2026-06-02T14:05:30+00:00", "2026-06-02T14:05:20+00:00")
    assert SagaQuery(sort=SortOrder.DURATION).key_of(backwards).value == -10_000_000
    # Rows are listed by descending key: the unknown ones last.
    keys = [SagaQuery(sort=SortOrder.DURATION).key_of(s) for s in (running, done, backwards)]
    assert sorted(keys, reverse=True) == [keys[1], keys[2], keys[0]]
