from __future__ import annotations

from pathlib import Path

import pytest

from saga_inspector.tui.app import SagaInspectorApp

from .factory import SagaLogFactory


@pytest.fixture
def make_log(tmp_path: Path) -> SagaLogFactory:
    """Builds saga log files in tmp_path: `make_log([cleanup_saga(1), ...])`."""
    folder = tmp_path / "logs"
    folder.mkdir()
    return SagaLogFactory(folder)


@pytest.fixture
def clipboard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the app copies, caught instead of sent to the terminal."""
    copied: list[str] = []
    monkeypatch.setattr(SagaInspectorApp, "copy_to_clipboard",
                        lambda self, text: copied.append(text))
    return copied
