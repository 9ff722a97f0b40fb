"""Source labels: short, unique, made of the path's own parts (store/labels.py)."""

from __future__ import annotations

import re
from pathlib import PurePath, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saga_inspector.store.formats import FORMATS
from saga_inspector.store.labels import BOILERPLATE, is_snapshot_folder, source_labels

HOME = PurePosixPath("/home/ana/.agentmux")


def versioned(channel: str, version: str, name: str = "launcher-sagas.db") -> PurePosixPath:
    return HOME / "channels" / channel / "versions" / version / "data" / "db" / name


def snapshot_copy(folder: str) -> PurePosixPath:
    return HOME / "snapshots" / folder / "sagas.db"


def test_the_issues_examples() -> None:
    paths = [versioned("stable", "0.41.2"), versioned("beta", "0.41.2"),
             snapshot_copy("stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak")]
    assert source_labels(paths) == ["stable/0.41.2/launcher", "beta/0.41.2/launcher",
                                    "snapshot-2026-10-01/server"]


def test_only_as_much_of_the_path_as_tells_it_apart() -> None:
    paths = [versioned("stable", "0.41.2"), versioned("stable", "0.41.2", "sagas.db"),
             versioned("stable", "0.40.1"), versioned("beta", "0.40.1"),
             HOME / "versions" / "0.33.0" / "data" / "db" / "sagas.db"]
    assert source_labels(paths) == ["0.41.2/launcher", "0.41.2/server", "stable/0.40.1/launcher",
                                    "beta/0.40.1/launcher", "0.33.0/server"]


def test_a_lone_path_gets_its_last_meaningful_folder_and_its_format() -> None:
    assert source_labels([versioned("stable", "0.41.2")]) == ["0.41.2/launcher"]
    assert source_labels([HOME / "launcher-sagas.db"]) == [".agentmux/launcher"]
    assert source_labels([PurePosixPath("/srv/agentmux data/sagas.db")]) == [
        "agentmux data/server"]
    assert source_labels([PurePosixPath("sagas.db")]) == ["server"]


def test_the_format_words_come_from_the_formats() -> None:
    labels = source_labels([PurePosixPath("/x", fmt.file_name) for fmt in FORMATS])
    assert labels == [f"x/{fmt.name}" for fmt in FORMATS]


def test_another_name_keeps_its_stem_and_then_its_whole_name() -> None:
    assert source_labels([PurePosixPath("/evidence/copy.db")]) == ["evidence/copy"]
    assert source_labels([PurePosixPath("/e/a.db"), PurePosixPath("/e/a.sqlite")]) == [
        "e/a.db", "e/a.sqlite"]


def test_snapshot_folders_give_their_date_then_channel_then_whole_name() -> None:
    paths = [snapshot_copy("stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak"),
             snapshot_copy("beta-pre-v0.41.2-2026-10-01T11-30-00Z.bak"),
             snapshot_copy("beta-pre-v0.41.3-2026-10-01T18-00-00Z.bak"),
             snapshot_copy("stable-pre-v0.40.1-2026-09-14T08-00-00Z.bak"),
             snapshot_copy("manual.bak")]
    assert source_labels(paths) == [
        "snapshot-stable-2026-10-01/server",
        "snapshot-beta-pre-v0.41.2-2026-10-01T11-30-00Z/server",
        "snapshot-beta-pre-v0.41.3-2026-10-01T18-00-00Z/server",
        "snapshot-2026-09-14/server",
        "snapshot-manual/server",
    ]


def test_two_machines_snapshots_of_one_day_are_told_apart_by_the_machine() -> None:
    """A support bundle: the same snapshot folder on two machines."""
    name = "stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak"
    paths = [PurePosixPath(f"/bundle/{host}/.agentmux/snapshots/{name}/sagas.db")
             for host in ("m1", "m2")]
    assert source_labels(paths) == ["m1/snapshot-2026-10-01/server",
                                    "m2/snapshot-2026-10-01/server"]


def test_the_callers_snapshot_flags_are_followed() -> None:
    copied = PurePosixPath("/evidence/old/sagas.db")
    bak = PurePosixPath("/a/x.bak/sagas.db")
    assert source_labels([copied], [True]) == ["snapshot-old/server"]
    assert source_labels([bak], [False]) == ["x.bak/server"]
    assert source_labels([bak]) == ["snapshot-x/server"]  # told by its folder
    assert source_labels([PurePosixPath("sagas.db")], [True]) == ["snapshot/server"]
    assert source_labels([PurePosixPath("/e/snapshots/sagas.db")]) == ["snapshot/server"]
    with pytest.raises(ValueError, match="2 paths but 1 snapshot flags"):
        source_labels([copied, bak], [True])


def test_boilerplate_is_taken_in_only_when_nothing_else_tells_apart() -> None:
    paths = [PurePosixPath("/x/data/sagas.db"), PurePosixPath("/x/db/sagas.db")]
    assert source_labels(paths) == ["data/server", "db/server"]


def test_the_same_path_twice_is_numbered_never_onto_another_label() -> None:
    twice = PurePosixPath("/x/sagas.db")
    odd = PurePosixPath("/x/sagas.db#2")  # a name that looks like a numbered label
    assert source_labels([twice, twice, odd, odd]) == [
        "x/sagas.db", "x/sagas.db#3", "x/sagas.db#2", "x/sagas.db#2#2"]
    assert source_labels([]) == []


def test_no_colon_even_from_windows_drives_and_names() -> None:
    paths = [PureWindowsPath(r"C:\Users\ana\.agentmux\channels\stable\versions\0.41.2\data\db"
                             r"\launcher-sagas.db"),
             PureWindowsPath(r"D:\launcher-sagas.db"),
             PureWindowsPath(r"\\server\share\a:b\sagas.db")]
    assert source_labels(paths) == ["0.41.2/launcher", "launcher", "a_b/server"]


def test_is_snapshot_folder() -> None:
    assert is_snapshot_folder("snapshots") and is_snapshot_folder("SNAPSHOTS")
    assert is_snapshot_folder("stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak")
    assert is_snapshot_folder("old.BAK")
    assert not is_snapshot_folder("snapshot") and not is_snapshot_folder("bak")
    assert not is_snapshot_folder("sagas.db.bakery")


# -- properties ----------------------------------------------------------------------------------

COMMON_PARTS = ["data", "db", "versions", "channels", ".agentmux", "snapshots", "stable", "beta",
                "0.41.2", "dev", "x.bak", "stable-pre-v0.41.2-2026-10-01T10-00-00Z.bak",
                "a:b", "..", "#2", "snapshot-x"]
NAMES = [fmt.file_name for fmt in FORMATS] + ["copy.db", "a.sqlite", "x:y.db", "sagas.db#2"]
part = st.one_of(st.sampled_from(COMMON_PARTS), st.text(
    st.characters(blacklist_characters="/\\\0:", blacklist_categories=("Cs",)),
    min_size=1, max_size=4).filter(lambda text: text.strip(". ") == text and text not in ".."))
a_path = st.builds(lambda folders, name, windows: (PureWindowsPath("C:/") if windows
                                                   else PurePosixPath("/")).joinpath(*folders,
                                                                                      name),
                   st.lists(part, max_size=6), st.sampled_from(NAMES), st.booleans())
NUMBERED = re.compile(r"(#\d+)*")


def plain(text: str) -> str:
    return text.replace(":", "_")


def file_pieces(path: PurePath) -> set[str]:
    words = {fmt.name for fmt in FORMATS if fmt.file_name == path.name}
    return words | {plain(path.name), plain(PurePath(path.name).stem or path.name)}


def folder_matches(piece: str, folder: str) -> bool:
    """A label piece made from this folder: its text, or its snapshot form."""
    if piece == plain(folder):
        return True
    return piece == "snapshot" or (piece.startswith("snapshot-")
                                   and piece.removeprefix("snapshot-") in plain(folder))


def built_from(label: str, path: PurePath, snapshot: bool) -> bool:
    """The label's pieces are the file's, then some of its folders in order from the nearest
    (a flagged path with no folder has the bare `snapshot` piece), and a `#n` at the end."""
    *folder_pieces, last = label.split("/")
    if not any(last == piece or (last.startswith(piece)
                                 and NUMBERED.fullmatch(last[len(piece):]))
               for piece in file_pieces(path)):
        return False
    folders = list(reversed(path.parent.parts[1:]))
    at = 0
    for piece in reversed(folder_pieces):
        while at < len(folders) and not folder_matches(piece, folders[at]):
            at += 1
        if at == len(folders):
            return snapshot and piece == "snapshot" and not folders
        at += 1
    return True


@given(st.lists(a_path, max_size=12), st.data())
def test_labels_are_unique_colon_free_and_made_of_their_paths(paths: list[PurePath],
                                                             data: st.DataObject) -> None:
    flags = data.draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=len(paths),
                                                    max_size=len(paths))))
    labels = source_labels(paths, flags)
    assert len(labels) == len(paths)
    assert len(set(labels)) == len(labels)
    assert not any(":" in label for label in labels)
    snapshots = flags or [any(is_snapshot_folder(p) for p in path.parent.parts)
                          for path in paths]
    for label, path, snapshot in zip(labels, paths, snapshots, strict=True):
        assert built_from(label, path, snapshot), (label, path)


@given(a_path)
def test_a_lone_path_has_at_most_two_segments(path: PurePath) -> None:
    [label] = source_labels([path])
    assert 1 <= label.count("/") + 1 <= 2
    if label.count("/") == 0:  # only when no folder would say anything
        assert all(folder.lower() in BOILERPLATE for folder in path.parent.parts[1:])
