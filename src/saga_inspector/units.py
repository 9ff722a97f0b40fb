"""The one way counts and sizes are written for people (no Textual, no Rich: the store's
messages use it too). Machine output (JSON, CSV) keeps plain integers."""

from __future__ import annotations

KIB = 1024


def format_count(count: int) -> str:
    """A count for people, its thousands grouped with commas: `999`, `1,000`, `1,000,000`.
    Commas, not spaces: a space (thin or not) is a place a line may wrap, takes a whole cell
    in a terminal anyway, and a thin one pasted into a ticket or a search is not a digit
    group anyone types."""
    return f"{count:,}"


def format_size(size: int | None) -> str:
    """A size in bytes for people, in binary units as they are counted: `512 B`, `63.0 KiB`,
    `8.0 MiB`, `1.7 GiB`."""
    size = size or 0
    if size < KIB:
        return f"{format_count(size)} B"
    for unit, scale in (("KiB", KIB), ("MiB", KIB**2), ("GiB", KIB**3)):
        if size < scale * KIB or unit == "GiB":
            return f"{size / scale:,.1f} {unit}"
    raise AssertionError("unreachable")
