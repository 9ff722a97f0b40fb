"""Data-layer benchmark: how the store's queries scale from a small log to a huge one.

    python benchmarks/bench_store.py                 # 1 000 and 100 000 sagas
    python benchmarks/bench_store.py --sizes 1000 1000000

Logs are built once under benchmarks/data/ (reused when present). Each figure is the median
of several runs, in milliseconds, measured warm (after one untimed run).
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from saga_inspector.demo import SagaRow, demo_sagas, write_saga_log
from saga_inspector.store import ATTENTION_STATES, SagaQuery, SagaStore

DATA = Path(__file__).parent / "data"
CHUNK = 10_000


def generated_sagas(count: int) -> Iterator[SagaRow]:
    """`count` realistic sagas: demo chunks with fresh seeds and shifted ids."""
    made = 0
    chunk_no = 0
    while made < count:
        size = min(CHUNK, count - made)
        for saga in demo_sagas(size, seed=chunk_no):
            shifted = made + int(saga.saga_id)
            yield dataclasses.replace(saga, saga_id=shifted)
        made += size
        chunk_no += 1


def log_of(count: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"sagas-{count}.db"
    if not path.exists():
        started = time.perf_counter()
        write_saga_log(path.with_suffix(".tmp"), generated_sagas(count))
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
    figures["counts by state, read"] = median_ms(store._read_counts)
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
    store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    args = parser.parse_args()
    results = {size: measure(log_of(size)) for size in args.sizes}
    names = list(next(iter(results.values())))
    header = "| query (ms, median) | " + " | ".join(f"{s:,} sagas" for s in args.sizes) + " |"
    print(header)
    print("|" + "---|" * (len(args.sizes) + 1))
    for name in names:
        cells = " | ".join(f"{results[size][name]:.2f}" for size in args.sizes)
        print(f"| {name} | {cells} |")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the benchmark process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
