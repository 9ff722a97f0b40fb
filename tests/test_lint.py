"""The code stays ruff clean: CI fails on a lint error like on a failing test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    folders = [name for name in ("src", "tests", "benchmarks", "scripts") if (ROOT / name).is_dir()]
    result = subprocess.run(
        [ruff, "check", *folders],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
