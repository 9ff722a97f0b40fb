"""`saga-inspector completion bash|zsh|fish`: scripts made from the parsers themselves, so
every subcommand and option is in each; the bash one is valid and completes as it should."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from saga_inspector import cli
from saga_inspector.completion import SHELLS

from .helpers import Run, run  # noqa: F401  (run: the fixture)

COMMANDS = ("demo", "stats", "list", "show", "completion")


def every_option() -> dict[str | None, list[str]]:
    """Each command's options, read from the parsers the command line uses."""
    return {name: [o for action in make_parser()._actions for o in action.option_strings]
            for name, (make_parser, _handler) in cli._COMMANDS.items()}


def test_the_commands_are_the_ones_the_cli_dispatches() -> None:
    assert set(cli._COMMANDS) == {None, *COMMANDS} and cli.COMMANDS == COMMANDS


@pytest.mark.parametrize("shell", SHELLS)
def test_each_script_names_every_subcommand_and_option(run: Run, shell: str) -> None:  # noqa: F811
    result = run("completion", shell)
    assert (result.code, result.err) == (0, "")
    words = set(re.findall(r"[\w-]+", result.out))
    assert set(COMMANDS) <= words
    options = every_option()
    assert "--version" in options[None] and "--follow" in options["list"]
    for command, names in options.items():
        for name in names:
            spelled = {"fish": name.lstrip("-")}.get(shell, name)  # fish: `-l json`
            assert spelled in words, (command, name)
    for value in ("id", "started", "duration", "jsonl", "csv", "attention", "failed"):
        assert value in words


def test_an_unknown_shell_is_a_usage_error(run: Run) -> None:  # noqa: F811
    result = run("completion", "powershell")
    assert result.code == 2
    assert "invalid choice" in result.err and "bash" in result.err


def bash_completes(script: Path, *words: str) -> list[str]:
    """What the script offers for the command line `words` (the last one being typed)."""
    line = " ".join(f"'{w}'" for w in words)
    program = (f"source {script}\nCOMP_WORDS=({line})\nCOMP_CWORD={len(words) - 1}\n"
               "_saga_inspector\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True,
                          cwd=script.parent)
    return done.stdout.split()


def test_the_bash_script_is_valid_and_completes(run: Run, tmp_path: Path) -> None:  # noqa: F811
    script = tmp_path / "saga-inspector.bash"
    script.write_text(run("completion", "bash").out)
    subprocess.run(["bash", "-n", str(script)], check=True)
    (tmp_path / "launcher-sagas.db").write_bytes(b"")
    assert bash_completes(script, "saga-inspector", "st") == ["stats"]
    assert bash_completes(script, "saga-inspector", "list", "--so") == ["--sort"]
    assert bash_completes(script, "saga-inspector", "list", "--sort", "") == [
        "id", "started", "duration"]
    assert bash_completes(script, "saga-inspector", "stats", "--j") == ["--json"]
    assert bash_completes(script, "saga-inspector", "--ver") == ["--version"]
    assert bash_completes(script, "saga-inspector", "completion", "") == ["bash", "zsh", "fish"]
    assert bash_completes(script, "saga-inspector", "show", "laun") == ["launcher-sagas.db"]
    assert bash_completes(script, "saga-inspector", "list", "--limit", "") == []


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed here")
def test_the_zsh_script_parses(run: Run, tmp_path: Path) -> None:  # noqa: F811
    script = tmp_path / "_saga-inspector"
    script.write_text(run("completion", "zsh").out)
    subprocess.run(["zsh", "-n", str(script)], check=True)


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed here")
def test_the_fish_script_parses(run: Run, tmp_path: Path) -> None:  # noqa: F811
    script = tmp_path / "saga-inspector.fish"
    script.write_text(run("completion", "fish").out)
    subprocess.run(["fish", "--no-execute", str(script)], check=True)
    (tmp_path / "launcher-sagas.db").write_bytes(b"")

    def offered(line: str) -> list[str]:
        command = f"source {script}; complete -C '{line}'"
        done = subprocess.run(["fish", "--no-config", "-c", command], capture_output=True,
                              text=True, check=True, cwd=tmp_path)
        return [row.split("\t")[0] for row in done.stdout.splitlines()]

    assert offered("saga-inspector list --so") == ["--sort"]
    assert sorted(offered("saga-inspector list --sort ")) == ["duration", "id", "started"]
    assert offered("saga-inspector completion ") == ["bash", "fish", "zsh"]
    assert "stats" in offered("saga-inspector st")
    assert offered("saga-inspector show laun") == ["launcher-sagas.db"]


def test_version_names_what_it_runs_on(run: Run) -> None:  # noqa: F811
    import sqlite3
    from importlib.metadata import version

    result = run("--version")
    assert result.code == 0
    first, second = result.out.splitlines()
    assert first == f"saga-inspector {cli.__version__}"
    assert second.startswith(f"Textual {version('textual')}, Rich {version('rich')}, "
                             f"SQLite {sqlite3.sqlite_version}, Python ")
