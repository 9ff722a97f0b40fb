"""Keep the benchmark's data files in the OS page cache while a benchmark runs.

The figures assume a warm page cache (the anchors too: Datasette and sqlite3 read the same
files). Some machines take idle page cache back: this VM's kernel runs DAMON with a
`pageout` scheme that drops file pages not touched for a minute, so a 1.7 GB log went cold
between sessions and every figure paid for disk reads at random (Datasette's fleet anchor
took 10.5 s against 3.6 s warm). The harness maps the files and locks them in memory
(`mlock`) for its run. The measured processes are others: their peak RSS does not count it.

Linux (or any libc with mmap and mlock) only; elsewhere, or when the lock is refused, it
says so on stderr and the run goes on with whatever the cache holds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

PROT_READ = 1
MAP_SHARED = 1
MAP_FAILED = ctypes.c_void_p(-1).value


def _libc() -> ctypes.CDLL | None:
    if sys.platform == "win32":
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long)
    libc.munmap.argtypes = libc.mlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    return libc


def data_files(paths: Iterable[Path]) -> list[Path]:
    """The files under `paths` (folders walked), each once."""
    found: dict[Path, None] = {}
    for path in paths:
        walked = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.update((file.resolve(), None) for file in walked if file.is_file())
    return list(found)


@contextlib.contextmanager
def held_in_memory(paths: Iterable[Path]) -> Iterator[int]:
    """Lock every file under `paths` into memory for the block; yields the bytes held."""
    libc = _libc()
    held: list[tuple[int, int]] = []
    refused = []
    try:
        for file in data_files(paths) if libc is not None else []:
            size = file.stat().st_size
            if size == 0:
                continue
            fd = os.open(file, os.O_RDONLY)
            try:  # the mapping outlives the descriptor
                address = libc.mmap(None, size, PROT_READ, MAP_SHARED, fd, 0)
            finally:
                os.close(fd)
            if address in (None, MAP_FAILED):
                refused.append(f"{file.name}: {os.strerror(ctypes.get_errno())}")
                continue
            held.append((address, size))
            if libc.mlock(address, size) != 0:
                refused.append(f"{file.name}: {os.strerror(ctypes.get_errno())}")
        total = sum(size for _, size in held)
        if libc is None:
            print("page cache: not held on this OS", file=sys.stderr)
        else:
            print(f"page cache: {total / 2**20:,.0f} MiB of data held in memory"
                  + (f"; refused: {', '.join(refused)}" if refused else ""), file=sys.stderr)
        yield total
    finally:
        for address, size in held:
            libc.munmap(address, size)  # type: ignore[union-attr]


if __name__ == "__main__":  # python benchmarks/page_cache.py DATA...: hold until ^C
    import signal

    with held_in_memory([Path(arg) for arg in sys.argv[1:]]):
        signal.pause() if hasattr(signal, "pause") else input()
