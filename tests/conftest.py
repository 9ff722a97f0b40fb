from __future__ import annotations

from pathlib import Path

import pytest

from .factory import SagaLogFactory


@pytest.fixture
def make_log(tmp_path: Path) -> SagaLogFactory:
    """Builds saga log files in tmp_path: `make_log([cleanup_saga(1), ...])`."""
    folder = tmp_path / "logs"
    folder.mkdir()
    return SagaLogFactory(folder)
