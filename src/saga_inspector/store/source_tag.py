"""What tells one saga log from another in a view that holds several (see store/source.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SourceTag:
    """A log's identity among those shown together. `label`: short and unique among them
    (store/labels.py); `rank`: the order of logs whose sagas tie in a sort (higher first)."""

    label: str
    path: Path
    rank: int = 0


NO_SOURCE = SourceTag("", Path())
