"""Short, unique labels for saga log sources, made from their paths (pure: no I/O).

`source_labels(paths)` gives one label per path: the shortest path suffix that tells it apart
from the others, such as `stable/0.41.2/launcher` or `snapshot-2026-10-01/server`. The rules:

- **Segments.** A path is read from the right as segments joined by `/`:
  - the file: `launcher` / `server` when its name is a format's usual file name
    (`FORMATS[*].file_name`); any other name gives its stem (`copy.db` -> `copy`). Its full
    name is the segment's longer form (`sagas.db`), tried when the short one collides;
  - each folder above it, as named, except the boilerplate that every AgentMux data folder
    repeats (`data`, `db`, `versions`, `channels`, `.agentmux`, `snapshots`, and `.`/`..`).
    `.agentmux` is kept when the file sits directly in it: the legacy top-level log is
    `.agentmux/launcher`, not the user's name. The root (`/`, `C:\\`) is never in a label;
  - a snapshot folder (see below) becomes `snapshot-<date>` (the first `YYYY-MM-DD` in its
    name); its longer forms are `snapshot-<channel>-<date>` (the channel is what its name
    has before `-pre-v`, as the server names them) and `snapshot-<its name without .bak>`;
    without a date, the last form alone. A hyphen, not a space, so that
    `source:snapshot-2026-10-01/server` needs no quotes in the query language.
- **At least two segments** when the path has them: a lone path is `0.41.2/launcher`, not
  `launcher` (the format is in the label, and where it lives).
- **Shortest unique.** Each path's possible labels (suffixes of its segments, each segment
  short or long) are tried fewest segments first, then shortest text; every group of paths
  whose current labels are equal moves on to its next one, until all differ. Only when the
  meaningful segments run out are the boilerplate folders taken in too (`/x/data/sagas.db`
  against `/x/db/sagas.db`: `data/server`, `db/server`); when even the whole path does not
  tell two apart (the same path twice) the later ones get `#2`, `#3`, ... in input order.
- **Text.** A label is the path's own text: a `:` in a part becomes `_` (the command line's
  `SOURCE:ID` splits on the last `:`; Windows drive letters); nothing else is changed. Spaces
  in folder names stay (the query language quotes them: `source:"D drive/server"`). Labels
  are untrusted text like the paths: whoever shows one passes it through the sanitiser.

A snapshot copy (the server's pre-migration `VACUUM INTO` copies, in
`~/.agentmux/snapshots/<channel>-pre-v<ver>-<YYYY-MM-DDTHH-MM-SSZ>.bak/`) is told by its folders
(`is_snapshot_folder`). The folder that names the copy is the nearest one ending in `.bak`, else
the one inside a `snapshots` folder, else a `snapshots` folder itself (segment `snapshot`).
A path the caller flags a snapshot with none of these has its nearest folder prefixed
(`snapshot-old`), or the segment `snapshot` when it has no folder. The snapshot segment sits
where its folder is: it is in the label when the label reaches that far (the server's copies
sit directly in their `.bak` folder, so theirs always is).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from .formats import FORMATS

SEPARATOR = "/"
MIN_SEGMENTS = 2
SNAPSHOTS_FOLDER = "snapshots"
SNAPSHOT_SUFFIX = ".bak"
SNAPSHOT_WORD = "snapshot"
DATA_FOLDER = ".agentmux"
# The server names its copies `<channel>-pre-v<version>-<YYYY-MM-DDTHH-MM-SSZ>.bak`.
CHANNEL_END = "-pre-v"
# Folder names every data folder repeats: they tell no two logs apart.
BOILERPLATE = frozenset({"data", "db", "versions", "channels", DATA_FOLDER, SNAPSHOTS_FOLDER,
                         ".", ".."})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_FORMAT_WORDS = {fmt.file_name: fmt.name for fmt in FORMATS}


def is_snapshot_folder(name: str) -> bool:
    """A folder that holds (or is) snapshot copies: named `snapshots`, or ending in `.bak`."""
    lowered = name.lower()
    return lowered == SNAPSHOTS_FOLDER or lowered.endswith(SNAPSHOT_SUFFIX)


@dataclass(frozen=True, slots=True)
class _Segment:
    forms: tuple[str, ...]  # shortest first
    boilerplate: bool = False


def source_labels(paths: Sequence[PurePath], snapshot: Sequence[bool] | None = None) -> list[str]:
    """One short label per path, all different (rules in the module docstring). `snapshot`
    says which paths are snapshot copies; None tells them by their folders."""
    if snapshot is not None and len(snapshot) != len(paths):
        raise ValueError(f"{len(paths)} paths but {len(snapshot)} snapshot flags")
    flags = [None] * len(paths) if snapshot is None else list(snapshot)
    # A PurePath is kept as it is: PurePath(PureWindowsPath(...)) on POSIX is one part.
    choices = [_labels_to_try(_segments(path if isinstance(path, PurePath) else PurePath(path),
                                        flag))
               for path, flag in zip(paths, flags, strict=True)]
    at = [0] * len(paths)
    while True:
        holders: dict[str, list[int]] = defaultdict(list)
        for index, tried in enumerate(at):
            holders[choices[index][tried]].append(index)
        moved = False
        for group in holders.values():
            if len(group) < 2:
                continue
            for index in group:
                if at[index] + 1 < len(choices[index]):
                    at[index] += 1
                    moved = True
        if not moved:
            break
    return _numbered([choices[index][tried] for index, tried in enumerate(at)])


def _numbered(labels: list[str]) -> list[str]:
    """The labels with every repeat after the first given `#2`, `#3`, ... (never one that
    another label already is)."""
    taken = set(labels)
    seen: set[str] = set()
    result = []
    for label in labels:
        if label in seen:
            number = 2
            while f"{label}#{number}" in taken:
                number += 1
            label = f"{label}#{number}"
            taken.add(label)
        seen.add(label)
        result.append(label)
    return result


def _labels_to_try(segments: list[_Segment]) -> list[str]:
    """Every label the segments allow, in the order they are tried: the meaningful segments'
    suffixes (at least MIN_SEGMENTS long when there are that many), fewest segments first and
    among those the shortest text (a longer form before one more folder: two snapshots of one
    day are told apart by their channels, not by the user's name above them); then the same
    with the boilerplate folders kept."""
    tried: dict[str, None] = {}
    for keep_boilerplate in (False, True):
        kept = [s for s in segments if keep_boilerplate or not s.boilerplate]
        for depth in range(min(MIN_SEGMENTS, len(kept)), len(kept) + 1):
            window = kept[:depth]
            labels = [SEPARATOR.join(reversed(forms))
                      for forms in itertools.product(*(segment.forms for segment in window))]
            labels.sort(key=len)  # stable: among equal lengths, the short forms first
            tried.update(dict.fromkeys(labels))
    return list(tried)


def _segments(path: PurePath, snapshot: bool | None) -> list[_Segment]:
    """The path's segments from the right: its file's, then its folders'."""
    parts = [_plain(part) for part in (path.parts[1:] if path.anchor else path.parts)]
    if not parts:  # `/`, `.`: no name at all
        return [_Segment((_plain(str(path)) or "log",))]
    *folders, name = parts
    stem = PurePath(name).stem or name
    word = _FORMAT_WORDS.get(name, stem)
    segments = [_Segment((word, name) if word != name else (name,))]
    folders.reverse()  # nearest first
    if snapshot is None:
        snapshot = any(is_snapshot_folder(folder) for folder in folders)
    marked, marked_forms = _snapshot_folder(folders) if snapshot else (None, ())
    for index, folder in enumerate(folders):
        if index == marked:
            segments.append(_Segment(marked_forms))
        else:
            boilerplate = folder.lower() in BOILERPLATE and not (
                index == 0 and folder.lower() == DATA_FOLDER)
            segments.append(_Segment((folder,), boilerplate))
    if snapshot and marked is None:  # flagged, but no folder at all
        segments.insert(1, _Segment((SNAPSHOT_WORD,)))
    return segments


def _snapshot_folder(folders: list[str]) -> tuple[int | None, tuple[str, ...]]:
    """Which of the folders (nearest first) names the snapshot copy, and its forms."""
    for index, folder in enumerate(folders):
        if folder.lower().endswith(SNAPSHOT_SUFFIX):
            return index, _snapshot_forms(folder[:-len(SNAPSHOT_SUFFIX)])
    for index, folder in enumerate(folders[:-1]):
        if folders[index + 1].lower() == SNAPSHOTS_FOLDER:
            return index, _snapshot_forms(folder)
    for index, folder in enumerate(folders):
        if folder.lower() == SNAPSHOTS_FOLDER:
            return index, (SNAPSHOT_WORD,)
    if folders:
        return 0, (f"{SNAPSHOT_WORD}-{folders[0]}",)
    return None, ()


def _snapshot_forms(name: str) -> tuple[str, ...]:
    """`snapshot-<date>`, `snapshot-<channel>-<date>`, `snapshot-<name>`: those that exist
    and differ, shortest first."""
    whole = f"{SNAPSHOT_WORD}-{name}" if name else SNAPSHOT_WORD
    date = _DATE.search(name)
    if date is None:
        return (whole,)
    forms = [f"{SNAPSHOT_WORD}-{date[0]}"]
    channel = name[:date.start()].partition(CHANNEL_END)
    if channel[1] and channel[0]:
        forms.append(f"{SNAPSHOT_WORD}-{channel[0]}-{date[0]}")
    forms.append(whole)
    return tuple(dict.fromkeys(forms))


def _plain(part: str) -> str:
    """A path part as label text: `:` would split `SOURCE:ID`."""
    return part.replace(":", "_")
