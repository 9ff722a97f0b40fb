"""`saga-inspector list --search QUERY --sort ORDER`: exit codes and messages for bad queries,
and the same query giving the same sagas from the CLI as from SagaStore (the dashboard leg
checks against the same store calls)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from saga_inspector.store import SagaQuery, SagaStore, SortOrder

from .factory import LOOSE_DDL, SagaLogFactory
from .helpers import listed, run_cli
from .query_cases import QUERIES, every_saga, expected_ids, query_sagas

KNOWN = ("state: name: label: ref: reason: target: step: pending: id: since: until: slower: "
         "source:")


@pytest.fixture
def log(make_log: SagaLogFactory) -> Path:
    return make_log(query_sagas(), ddl=LOOSE_DDL)


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    result = run_cli(capsys, *argv)
    return result.code, result.out, result.err


# -- bad queries: one line, exit 2 ----------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("stat:failed", 'unknown qualifier "stat:"; did you mean state:? known: ' + KNOWN
     + ' (to search for the text itself, quote it: "stat:failed")'),
    ("main closed_label:main", 'unknown qualifier "closed_label:"; known: ' + KNOWN),
    ("slower:fast", 'slower: wants a duration like 5s, 2m, 1h30m (also 500ms, 1.5s, 2d), '
                    'not "fast"'),
    ("since:tomorrow", "since: wants a date or a time like since:2026-06-09"),
    ("id:9..1", "id: the range 9..1 holds no id; write the lower id first (id:1..9)"),
    ("pending:maybe", 'pending: wants yes or no, like pending:yes, not "maybe"'),
    ("label:", "label: wants a label like label:main"),
    ('"open', 'a quote (") is not closed'),
    ("state:faild", 'state: no saga state is called "faild"; did you mean failed? states: '
                    "compensating, completed, failed, failed_compensation, running, "
                    "weird_state (or attention)"),
    pytest.param(f"id:{'9' * 5000}", f"id: {'9' * 20}… is not a saga id (ids fit in 64 bits)\n",
                 id="an id past int()'s 4300 digits"),
    pytest.param(" ".join(["timeout"] * 65), "a query takes at most 64 words; quote a phrase to "
                 'make it one word ("a b c")\n', id="65 words"),
    pytest.param(" ".join(["-label:x*"] * 500), "a query takes at most 64 words",
                 id="more words than SQLite can nest"),
])
def test_a_bad_query_is_one_error_line_and_exit_2(capsys: pytest.CaptureFixture[str], log: Path,
                                                  query: str, message: str) -> None:
    for extra in ([], ["--json"], ["--format", "csv"]):
        code, out, err = run(capsys, "list", log, "--search", query, *extra)
        assert code == 2
        assert out == ""
        assert err.startswith("saga-inspector: error: " + message)
        assert err.count("\n") == 1
        assert "Traceback" not in err


def test_a_state_only_this_file_has_is_a_state(capsys: pytest.CaptureFixture[str],
                                               log: Path) -> None:
    assert listed(capsys, log, "--search", "state:weird_state") == [12]


def test_a_syntax_error_is_reported_before_the_file_is_opened(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "list", tmp_path / "missing.db", "--search", "stat:x")
    assert code == 2
    assert 'unknown qualifier "stat:"' in err


def test_a_bad_query_in_a_real_process_prints_no_traceback(log: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "saga_inspector", "list", str(log),
                             "--search", "slowr:5s"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'saga-inspector: error: unknown qualifier "slowr:"; did you mean slower:? known: '
        + KNOWN + ' (to search for the text itself, quote it: "slowr:5s")']


def test_the_most_words_a_query_takes_run(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    # The heaviest SQL per word, as many words as allowed: within SQLite's limits.
    for word in ("-label:window-pool-*", "-slower:1h", "since:2026-06-02", "-refused",
                 "-reason:x", "pending:no"):
        query = " ".join([word] * 64)
        for order in ("id", "started", "duration"):
            assert listed(capsys, log, f"--search={query}", "--sort", order) == listed(
                capsys, log, f"--search={word}", "--sort", order)


def test_a_hostile_query_is_echoed_sanitised(capsys: pytest.CaptureFixture[str],
                                             log: Path) -> None:
    code, _, err = run(capsys, "list", log, "--search", "slower:\x1b]0;pwned\x07")
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err
    assert "␛]0;pwned␇" in err


def test_sort_takes_three_orders(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    code, _, err = run(capsys, "list", log, "--sort", "size")
    assert code == 2
    assert "--sort" in err and "invalid choice" in err
    code, _, err = run(capsys, "list", log, "--jsonl", "--follow", "--sort", "duration")
    assert code == 2
    assert err == ("saga-inspector: error: --follow streams sagas as they come, newest last: "
                   "it takes no --sort\n")


def test_list_help_explains_the_query_language(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0
    for text in ("--search QUERY", "--sort id|started|duration", "state:failed,running",
                 "label:window-pool-*", "slower:5s", "did you mean state:?", "examples:"):
        assert text in out


# -- the CLI lists what the store lists -----------------------------------------------------------

@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("sort", list(SortOrder))
def test_the_cli_lists_what_the_store_lists(capsys: pytest.CaptureFixture[str], log: Path,
                                            query: str, sort: SortOrder) -> None:
    from_cli = listed(capsys, log, "--search", query, "--sort", sort.value)
    with SagaStore.open(log) as store:
        stored = [s.saga_id for s in store.walk(SagaQuery(text=query or None, sort=sort))]
        assert from_cli == stored == expected_ids(every_saga(store),
                                                  SagaQuery(text=query, sort=sort))


def test_state_options_and_the_query_combine(capsys: pytest.CaptureFixture[str],
                                             log: Path) -> None:
    assert listed(capsys, log, "--state", "failed,running", "--search", "pending:yes -id:8",
                  "--sort", "duration") == [7, 2, 4]


def test_text_output_says_which_end_of_the_sort_it_shows(capsys: pytest.CaptureFixture[str],
                                                         log: Path) -> None:
    for sort, words in (("id", "newest"), ("started", "latest started"),
                        ("duration", "longest")):
        code, out, _ = run(capsys, "list", log, "--sort", sort, "--limit", "2")
        assert code == 0
        assert f"showing the 2 {words} of 14; --limit 0 shows all" in out
    code, out, _ = run(capsys, "list", log, "--sort", "duration", "--limit", "2")
    rows = out.split("\n\n")[0].splitlines()[1:]
    assert [int(row.split()[0]) for row in rows] == [3, 7]
    code, out, _ = run(capsys, "list", log, "--search", "state:failed label:zz")
    assert (code, out) == (0, "no sagas match\n")


def test_jsonl_and_csv_follow_the_sort(capsys: pytest.CaptureFixture[str], log: Path) -> None:
    code, out, _ = run(capsys, "list", log, "--search", "state:attention", "--sort",
                       "duration", "--jsonl", "--limit", "0")
    assert code == 0
    assert [json.loads(line)["saga_id"] for line in out.splitlines()] == [3, 7, 2, 8, 4]
