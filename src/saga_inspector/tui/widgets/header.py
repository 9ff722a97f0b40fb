"""The header line (file, schema version, totals) and the banner for what must not be missed:
a file written by a newer launcher build, or one whose steps cannot be read."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from saga_inspector.store import SagaStore, StateCounts
from saga_inspector.tui.text import plain


def _sagas(n: int) -> str:
    return "1 saga" if n == 1 else f"{n} sagas"


def _attention(n: int) -> str:
    return "1 needs attention" if n == 1 else f"{n} need attention"


class InspectorHeader(Static):
    """`saga-inspector  <file>  schema v1  320 sagas · 53 need attention`."""

    def __init__(self, path: Path, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self.path = path

    def on_mount(self) -> None:
        self.show_state("opening…")

    def _line(self) -> Text:
        line = Text(" saga-inspector ", style="bold", end="")
        line.append("  ")
        line.append_text(plain(str(self.path)))
        return line

    def show_state(self, message: str) -> None:
        line = self._line()
        line.append(f"  {message}", style="italic")
        self.update(line)

    def show_store(self, store: SagaStore, counts: StateCounts | None) -> None:
        schema = store.schema
        line = self._line()
        line.append(f"   schema v{schema.user_version}")
        if schema.newer_than_known:
            line.append(f" (this tool knows v{schema.known_version})", style="bold")
        if counts is not None:
            line.append(f"   {_sagas(counts.total)} · {_attention(counts.needs_attention)}")
        self.update(line)


class WarningBanner(Static):
    """Hidden unless the store has warnings; a newer schema gets the loudest style."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self.display = False

    def show_warnings(self, store: SagaStore) -> None:
        self.display = bool(store.warnings)
        self.set_class(store.schema.newer_than_known, "-newer")
        if store.warnings:
            lines = [plain(f"⚠ {warning}") for warning in store.warnings]
            self.update(Text("\n", end="").join(lines))
