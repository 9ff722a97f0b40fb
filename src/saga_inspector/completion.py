"""Shell completion scripts (bash, zsh, fish), generated from the command line's own argparse
parsers, so every subcommand and option is in them and none can be forgotten.

`saga-inspector completion SHELL` prints one; see the README for where each goes. What is
completed: the subcommands (as the first word), each command's options, the values of
options with a fixed set of them (`--sort`, `--format`, `--state`, the shell), and files
for DB and PATH. Pure: no Textual, and no dependency beyond the standard library.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")


@dataclass(frozen=True, slots=True)
class Option:
    names: tuple[str, ...]  # `-h`, `--help`
    help: str
    takes_value: bool
    values: tuple[str, ...] = ()  # the fixed choices, when there are some


@dataclass(frozen=True, slots=True)
class Command:
    name: str | None  # None: the command line without a subcommand (the dashboard)
    help: str
    options: tuple[Option, ...]
    values: tuple[str, ...] = ()  # a positional's fixed choices (completion's shells)
    files: bool = True  # its positionals are paths (DB, PATH)


def describe(name: str | None, parser: argparse.ArgumentParser,
             values: dict[str, Sequence[str]] | None = None) -> Command:
    """What a parser accepts, for the scripts. `values` gives fixed values for options that
    check them themselves (`--state`)."""
    options, positional_values = [], ()
    for action in parser._actions:  # argparse has no public list of them
        if not action.option_strings:
            positional_values = tuple(map(str, action.choices or ())) or positional_values
            continue
        if action.help == argparse.SUPPRESS:
            continue
        choices = tuple(map(str, action.choices or ()))
        for option in action.option_strings:
            choices = tuple((values or {}).get(option, choices))
        options.append(Option(tuple(action.option_strings), _short(action.help or ""),
                              action.nargs != 0, choices))
    return Command(name, _short(parser.description or ""), tuple(options), positional_values,
                   files=not positional_values)


def _short(text: str) -> str:
    """A help text's first sentence or clause, on one line and at most 70 characters cut at
    a word (completion menus show one short line)."""
    text = re.split(r"(?<=[\w)])[.;] ", re.sub(r"\s+", " ", text).strip(), maxsplit=1)[0]
    if len(text) > 70:
        text = text[:71].rsplit(" ", 1)[0]
    if text.count("(") > text.count(")"):  # cut inside a parenthesis: without it
        text = text[:text.rindex("(")]
    return text.rstrip(" ,.;:(")


def script(shell: str, program: str, commands: Sequence[Command]) -> str:
    """The completion script for `shell` (one of SHELLS)."""
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](program, commands)


def _function(program: str) -> str:
    return "_" + re.sub(r"\W", "_", program)


def _words(items: Iterable[str]) -> str:
    return " ".join(items)


# -- bash ------------------------------------------------------------------------------------


def _bash(program: str, commands: Sequence[Command]) -> str:
    names = [c.name for c in commands if c.name]
    option_sets = "\n".join(
        f"        {c.name or '*'}) opts={shlex.quote(_words(_option_names(c)))}"
        f"; files={'1' if c.files else '0'}; values={shlex.quote(_words(c.values))} ;;"
        for c in sorted(commands, key=lambda c: c.name is None))  # `*` (no command) last
    value_cases = _bash_value_cases(commands)
    return f"""# bash completion for {program}: source it, or put it in
# ~/.local/share/bash-completion/completions/{program}
{_function(program)}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local command="" opts files values
    if (( COMP_CWORD > 1 )); then
        case "${{COMP_WORDS[1]}}" in
            {"|".join(names)}) command="${{COMP_WORDS[1]}}" ;;
        esac
    fi
    case "$command" in
{option_sets}
    esac
    case "$prev" in
{value_cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -z "$command" ]] && (( COMP_CWORD == 1 )); then
        COMPREPLY=($(compgen -W {shlex.quote(_words(names))} -- "$cur") $(compgen -f -- "$cur"))
    elif [[ -n "$values" ]]; then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
    elif [[ "$files" == 1 ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -o bashdefault -F {_function(program)} {program}
"""


def _option_names(command: Command) -> list[str]:
    return [name for option in command.options for name in option.names]


def _bash_value_cases(commands: Sequence[Command]) -> str:
    """After an option that takes a value: its fixed values, or nothing to suggest."""
    fixed: dict[str, tuple[str, ...]] = {}
    free: set[str] = set()
    for command in commands:
        for option in command.options:
            if not option.takes_value:
                continue
            for name in option.names:
                if option.values:
                    # One case per option name: an option whose values differ between
                    # commands (`--format`: the log's format, or list's export format) is
                    # offered all of them.
                    known = fixed.get(name, ())
                    fixed[name] = (*known, *(v for v in option.values if v not in known))
                else:
                    free.add(name)
    lines = [f"        {name}) COMPREPLY=($(compgen -W {shlex.quote(_words(values))} -- "
             f"\"$cur\")); return ;;" for name, values in sorted(fixed.items())]
    if free - fixed.keys():
        lines.append(f"        {'|'.join(sorted(free - fixed.keys()))}) COMPREPLY=(); return ;;")
    return "\n".join(lines)


# -- zsh -------------------------------------------------------------------------------------


def _zsh_escape(text: str) -> str:
    """Help text safe inside a quoted `_arguments` spec: what zsh would read (brackets,
    colons, quotes, backslashes) is left out, it only ever describes."""
    return re.sub(r"[\[\]:'\\]", "", text)


def _zsh_spec(option: Option) -> list[str]:
    help_text = _zsh_escape(option.help)
    value = ""
    if option.takes_value:
        action = f"({' '.join(option.values)})" if option.values else " "
        value = f":{option.names[-1].lstrip('-')}:{action}"
    exclusive = f"({' '.join(option.names)})" if len(option.names) > 1 else ""
    names = f"{{{','.join(option.names)}}}" if len(option.names) > 1 else option.names[0]
    return [f"'{exclusive}'{names}'[{help_text}]{value}'"]


def _zsh_arguments(command: Command) -> str:
    specs = [spec for option in command.options for spec in _zsh_spec(option)]
    if command.values:
        specs.append(f"'1:shell:({' '.join(command.values)})'")
    elif command.files:
        specs.append("'*:file:_files'")
    return "_arguments -s -S \\\n        " + " \\\n        ".join(specs)


def _zsh(program: str, commands: Sequence[Command]) -> str:
    function = _function(program)
    described = "\n".join(f"    {shlex.quote(f'{c.name}:{_zsh_escape(c.help)}')}"
                          for c in commands if c.name)
    cases = "\n".join(
        f"    {c.name})\n      (( CURRENT-- )); shift words\n      {_zsh_arguments(c)} ;;"
        for c in commands if c.name)
    main = next(c for c in commands if c.name is None)
    return f"""#compdef {program}
# zsh completion for {program}: put it in a folder of $fpath as _{program}, or source it
{function}() {{
  local -a commands
  commands=(
{described}
  )
  case ${{words[2]}} in
{cases}
    *)
      if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
        _describe -t commands command commands
        _files
      else
        {_zsh_arguments(main)}
      fi ;;
  esac
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  {function} "$@"
else
  compdef {function} {program}
fi
"""


# -- fish ------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(program: str, commands: Sequence[Command]) -> str:
    names = [c.name for c in commands if c.name]
    outside = f"not __fish_seen_subcommand_from {_words(names)}"
    lines = [f"# fish completion for {program}: put it in "
             f"~/.config/fish/completions/{program}.fish"]
    for command in commands:
        if command.name:
            lines.append(f"complete -c {program} -n {_fish_quote(outside)} -a {command.name} "
                         f"-d {_fish_quote(command.help)}")
    for command in commands:
        when = outside if command.name is None else f"__fish_seen_subcommand_from {command.name}"
        if command.values:
            lines.append(f"complete -c {program} -n {_fish_quote(when)} -f "
                         f"-a {_fish_quote(_words(command.values))}")
        for option in command.options:
            flags = " ".join(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}"
                             for n in option.names)
            value = ""
            if option.takes_value:
                value = (f" -x -a {_fish_quote(_words(option.values))}" if option.values
                         else " -x")
            lines.append(f"complete -c {program} -n {_fish_quote(when)} {flags}{value} "
                         f"-d {_fish_quote(option.help)}")
    return "\n".join(lines) + "\n"
