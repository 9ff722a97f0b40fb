"""Data-layer benchmark: how the store's queries scale from a small log to a huge one.

    python benchmarks/bench_store.py                 # 1 000 and 100 000 sagas
    python benchmarks/bench_store.py --sizes 1000 1000000
    python benchmarks/bench_store.py --format server --sizes 1000 1000000
    python benchmarks/bench_store.py --fleet 50      # 50 logs, 1M sagas, against one 1M log
    python benchmarks/bench_store.py --fleet 500     # 500 logs of ~100 sagas (fleet.py)

Logs are built once under benchmarks/data/ (reused when present). Each figure is the median
of several runs, in milliseconds, measured warm (after one untimed run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from saga_inspector.demo import (
    RESPAWN,
    SagaRow,
    StepRow,
    compact,
    demo_sagas,
    rfc3339,
    write_saga_log,
)
from saga_inspector.store import ATTENTION_STATES, SagaQuery, SagaStore, SortOrder, StoreError
from saga_inspector.store.formats import LAUNCHER, SERVER
from saga_inspector.store.merged import MergedSource
from saga_inspector.store.timestamps import parse_timestamp
from server_log import server_sagas

DATA = Path(__file__).parent / "data"
CHUNK = 10_000
# The issue sizes its huge log at 4 steps per saga (1M sagas, 4M steps, ~900 MB), while real
# sagas have 1 or 2. Completed sagas (78 %) get 2-4 more steps shaped like their last one,
# which brings the average to about 4. Logs built before that change have another name.
EXTRA_STEPS = (2, 3, 4, 4)
SHAPE = "4steps"
SERVER_SHAPE = "v2"  # server_log.py's shape: a new one gets a new name
_STEP_MS = {  # how long each kind of step takes, as the demo draws them
    "issue_cmd_host_spawn_pool_window": (40, 1800),
    "issue_cmd_host_reap_panes": (8, 60),
    "issue_cmd_host_drain_pool_if_last": (5, 400),
}
_STEP_SHAPES = {  # the command each step sends, the event it gets back
    "issue_cmd_host_spawn_pool_window": ("spawn_pool_window", "pool_window_added"),
    "issue_cmd_host_reap_panes": ("reap_panes", "panes_reaped"),
    "issue_cmd_host_drain_pool_if_last": ("drain_pool_if_last", "pool_not_last"),
}


def generated_sagas(count: int) -> Iterator[SagaRow]:
    """`count` realistic sagas: demo chunks with fresh seeds and shifted ids, completed ones
    with extra steps (see EXTRA_STEPS)."""
    made = 0
    chunk_no = 0
    while made < count:
        size = min(CHUNK, count - made)
        rng = random.Random(chunk_no)
        for saga in demo_sagas(size, seed=chunk_no):
            shifted = made + int(saga.saga_id)
            yield with_extra_steps(dataclasses.replace(saga, saga_id=shifted), rng)
        made += size
        chunk_no += 1


def with_extra_steps(saga: SagaRow, rng: random.Random) -> SagaRow:
    """A completed saga carried on for a few more steps after its last one: a respawn
    spawns more pool windows, a cleanup reaps and drains more labels. The saga then ends
    just after its new last step, as the demo's sagas do."""
    last = parse_timestamp(saga.steps[-1].ended_at) if saga.steps else None
    if saga.state != "completed" or last is None or last.value is None:
        return saga
    ended = last.value
    steps = list(saga.steps)
    kinds = (["issue_cmd_host_spawn_pool_window"] if saga.name == RESPAWN
             else ["issue_cmd_host_reap_panes", "issue_cmd_host_drain_pool_if_last"])
    version = json.loads(saga.steps[-1].output_json or "{}").get("version", 1100)
    label = ""
    for n in range(rng.choice(EXTRA_STEPS)):
        name = kinds[n % len(kinds)]
        if n % len(kinds) == 0:  # a new window: reaped, then its pool drained
            label = f"window-pool-{rng.getrandbits(128):032x}"
        started = ended + timedelta(microseconds=rng.randrange(100, 500))
        ended = started + timedelta(milliseconds=rng.uniform(*_STEP_MS[name]))
        cmd, event = _STEP_SHAPES[name]
        command = ({"cmd": cmd, "saga_id": 0} if saga.name == RESPAWN
                   else {"cmd": cmd, "label": label, "saga_id": 0})
        version += 1
        steps.append(StepRow(
            len(steps), name, "succeeded", compact(command), "host",
            rfc3339(started, 9, rng), rfc3339(ended, 9, rng),
            compact({"event": event, "label": label, "version": version,
                     "saga_id": saga.saga_id})))
    saga_end = rfc3339(ended + timedelta(microseconds=300), 9, rng)
    return dataclasses.replace(saga, steps=steps, ended_at=saga_end)


def log_of(count: int, log_format: str = "launcher") -> Path:
    """The benchmark's log of `count` sagas in that format, built once under DATA."""
    DATA.mkdir(exist_ok=True)
    if log_format == "server":
        path = DATA / f"server-sagas-{count}-{SERVER_SHAPE}.db"
        rows, fmt = server_sagas(count), SERVER
    else:
        path = DATA / f"sagas-{count}-{SHAPE}.db"
        rows, fmt = generated_sagas(count), LAUNCHER
    if not path.exists():
        started = time.perf_counter()
        write_saga_log(path.with_suffix(".tmp"), rows, log_format=fmt)
        path.with_suffix(".tmp").rename(path)
        print(f"built {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def median_ms(action: Callable[[], object], runs: int = 7) -> float:
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def read_counts(store: SagaStore) -> Callable[[], object]:
    """The read counts() caches: the GROUP BY, or where the state index is partial the scan
    that also keeps the ids of states no index serves (stores before it: the GROUP BY)."""
    both = getattr(store, "_read_counts_and_ids", None)
    return both if both is not None and store.format.partial_state_index else store._read_counts


def measure(path: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    started = time.perf_counter()
    store = SagaStore.open(path)
    figures["open"] = (time.perf_counter() - started) * 1000
    attention = SagaQuery(ATTENTION_STATES)
    rare = SagaQuery(frozenset({"compensating"}))
    oldest = store.oldest(limit=1)[0].saga_id
    middle = store.sagas(older_than=oldest + (store.counts().total // 2), limit=1)[0].saga_id
    # counts() is cached until another connection commits; time the GROUP BY it caches too.
    figures["counts by state, read"] = median_ms(read_counts(store))
    figures["counts by state, cached"] = median_ms(store.counts)
    figures["first page, all"] = median_ms(lambda: store.sagas())
    figures["first page, attention"] = median_ms(lambda: store.sagas(attention))
    figures["first page, rare state"] = median_ms(lambda: store.sagas(rare))
    figures["page in the middle"] = median_ms(lambda: store.sagas(older_than=middle))
    figures["last page (G)"] = median_ms(lambda: store.oldest(attention))
    figures["one saga + steps"] = median_ms(lambda: store.saga(middle))
    figures["search, frequent"] = median_ms(lambda: store.sagas(SagaQuery(text="timeout")), 3)
    figures["search, no match"] = median_ms(lambda: store.sagas(SagaQuery(text="zzqx")), 3)
    figures["page anchors, all"] = median_ms(lambda: store.page_anchors(), 3)
    figures["page anchors, attention"] = median_ms(lambda: store.page_anchors(attention), 3)
    figures["data_version"] = median_ms(store.data_version)
    figures.update(measure_queries(store))
    figures.update(measure_states(store))
    store.close()
    return figures


def measure_states(store: SagaStore) -> dict[str, float]:
    """A filter on each state, as the dashboard reads it when the filter is switched: its
    first page, the next page, the last page (`G`), and the position of a saga in the middle
    of it (`count_before`, when a sought saga is off the page). The count is one of the
    counts by state, cached (above)."""
    figures: dict[str, float] = {}
    for state in store.counts().by_state:
        query = SagaQuery(frozenset({state}))
        first = store.sagas(query)
        if not first:
            continue
        key = query.key_of(first[-1])
        figures[f"{state}: first page"] = median_ms(lambda q=query: store.sagas(q), 3)
        figures[f"{state}: next page"] = median_ms(
            lambda q=query, k=key: store.sagas(q, after=k), 3)
        figures[f"{state}: last page (G)"] = median_ms(lambda q=query: store.oldest(q), 3)
        figures[f"{state}: position (count_before)"] = median_ms(
            lambda q=query, k=key: store.count_before(q, k), 3)
    return figures


def measure_queries(store: SagaStore) -> dict[str, float]:
    """The query language and the sorts (issue 7): a few representative reads. A sorted page
    is a scan (no index serves a start time or a duration: see SagaStore._sorted_page)."""
    by_start = SagaQuery(sort=SortOrder.STARTED)
    by_duration = SagaQuery(sort=SortOrder.DURATION)
    after = by_duration.key_of(store.sagas(by_duration)[-1])
    if store.format is SERVER:  # no labels: `ref:` names a tab, block or workspace
        some_id = next(iter(json.loads(store.sagas(limit=1)[0].input_json or "{}").values()))
        queries = {"state + ref": f"state:compensated ref:{some_id}",
                   "reason + slower": "reason:'not found' slower:20ms",
                   "ref, no match (scan)": "ref:zzzz"}
    else:
        queries = {"state + label prefix": "state:failed_compensation label:window-pool-*",
                   "reason + slower": "reason:timeout slower:5s",
                   "label, no match (scan)": "label:zzzz"}
    figures = {}
    for name, text in queries.items():
        try:
            figures[f"query, {name}"] = median_ms(
                lambda t=text: store.sagas(SagaQuery(text=t)), 3)
        except StoreError as error:  # shown as n/a in the table, said here
            print(f"query {text!r} failed: {error}", file=sys.stderr)
    figures["sorted by start, first page"] = median_ms(lambda: store.sagas(by_start), 3)
    figures["sorted by duration, next page"] = median_ms(
        lambda: store.sagas(by_duration, after=after), 3)
    return figures


# -- several logs as one view (issue 14) -----------------------------------------------------

ONE_BIG_LOG = 1_000_000


def view_paths(spec: str) -> tuple[list[Path], list[bool]]:
    """`fleet:N` (fleet.py, found as the CLI finds them) or `log:N` (one log of N sagas)."""
    kind, _, size = spec.partition(":")
    if kind == "fleet":
        from fleet import fleet_paths  # (imports this module: not at the top)

        return fleet_paths(int(size))
    return [log_of(int(size))], [False]


def measure_view(paths: list[Path], snapshots: list[bool]) -> dict[str, float]:
    """What a view reads through MergedSource, as the dashboard reads it: in its default
    order (one log: newest id first; several: newest start first)."""
    figures: dict[str, float] = {}
    started = time.perf_counter()
    view = MergedSource.open(paths, snapshots=snapshots)
    figures["open"] = (time.perf_counter() - started) * 1000
    query = SagaQuery(sort=SortOrder.STARTED if view.source_count > 1 else SortOrder.ID)
    counts = view.counts()
    first = view.sagas(query)
    figures["open to first rows (open, counts, first page; cold)"] = \
        (time.perf_counter() - started) * 1000
    figures["counts, cached"] = median_ms(view.counts, 3)
    figures["first page (default order)"] = median_ms(lambda: view.sagas(query), 3)
    by_start = SagaQuery(sort=SortOrder.STARTED)
    figures["first page by start time"] = median_ms(lambda: view.sagas(by_start), 3)
    key = query.key_of(first[-1])
    figures["next page"] = median_ms(lambda: view.sagas(query, after=key), 3)
    figures["last page (G, oldest)"] = median_ms(lambda: view.oldest(query), 3)
    biggest = max((m for m in view.members if m.store is not None),
                  key=lambda m: m.store.counts().total if m.store else 0)
    assert biggest.store is not None
    oldest_id = biggest.store.oldest(limit=1)[0].saga_id
    middle = biggest.store.sagas(older_than=oldest_id + biggest.store.counts().total // 2,
                                 limit=1)[0]
    figures["count_before, a middle key"] = median_ms(
        lambda: view.count_before(query, query.key_of(middle)), 3)
    failed = SagaQuery(frozenset({"failed"}), sort=query.sort)
    figures["filter switch (failed: count + first page)"] = median_ms(
        lambda: (view.count(failed), view.sagas(failed)), 3)
    nothing = SagaQuery(text="zzqx", sort=query.sort)
    figures["search, no match (first page)"] = median_ms(lambda: view.sagas(nothing), 3)
    label = middle.source.label if view.source_count > 1 else None
    figures["step detail (saga(id, source))"] = median_ms(
        lambda: view.saga(middle.saga_id, label))
    figures["logs"] = view.source_count
    figures["sagas"] = counts.total
    view.close()
    figures["peak RSS (MiB)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def measure_in_child(spec: str) -> dict[str, float]:
    """One view measured in its own process, so that each peak RSS is its own."""
    done = subprocess.run([sys.executable, __file__, "--measure-view", spec],
                          capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"measuring {spec} failed")
    return json.loads(done.stdout)


def fleet_table(logs: int) -> None:
    specs = {f"one {ONE_BIG_LOG:,}-saga log": f"log:{ONE_BIG_LOG}",
             f"fleet of {logs} logs": f"fleet:{logs}"}
    for spec in specs.values():
        view_paths(spec)  # built before anything is timed
    results = {name: measure_in_child(spec) for name, spec in specs.items()}
    one, many = results.values()
    print(f"| view (ms, median of 3 warm; open: cold, once) | {' | '.join(specs)} | ratio |")
    print("|---|---:|---:|---:|")
    for name in one:
        ratio = f"{many[name] / one[name]:.2f}" if one[name] else ""
        cells = " | ".join(f"{r[name]:,.0f}" if name in ("logs", "sagas") else
                           f"{r[name]:.2f}" for r in results.values())
        print(f"| {name} | {cells} | {ratio} |")
    print("\ntargets (issue 14): 50 logs: first rows ≤ 1.3x, peak memory ≤ 1.25x one 1M log;"
          " 500 logs: open to first rows ≤ 1 s; filter, G, j, detail < 50 ms (dashboard)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--format", choices=("launcher", "server"), default="launcher",
                        help="which saga log format to build and read (default: launcher)")
    parser.add_argument("--fleet", type=int, choices=(50, 500),
                        help="a fleet of logs through MergedSource, against one 1M log")
    parser.add_argument("--measure-view", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_view:
        print(json.dumps(measure_view(*view_paths(args.measure_view))))
        return
    if args.fleet:
        fleet_table(args.fleet)
        return
    results = {size: measure(log_of(size, args.format)) for size in args.sizes}
    names = list(dict.fromkeys(name for figures in results.values() for name in figures))
    header = "| query (ms, median) | " + " | ".join(f"{s:,} sagas" for s in args.sizes) + " |"
    print(header)
    print("|" + "---|" * (len(args.sizes) + 1))
    for name in names:
        cells = " | ".join(f"{results[size][name]:.2f}" if name in results[size] else "n/a"
                           for size in args.sizes)
        print(f"| {name} | {cells} |")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the benchmark process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
