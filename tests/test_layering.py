"""The data layer never imports the TUI toolkit: checked at run time and in the source."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

STORE = Path(__file__).resolve().parents[1] / "src" / "saga_inspector" / "store"
FORBIDDEN = ("textual", "rich")


def modules_loaded_by(imports: str) -> list[str]:
    """Every module a fresh interpreter holds after `import <imports>`."""
    code = f"import json, sys\nimport {imports}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def test_importing_the_store_loads_neither_textual_nor_rich():
    loaded = modules_loaded_by(
        "saga_inspector.store, saga_inspector.store.payload, saga_inspector.sanitize")
    assert "saga_inspector.store.repository" in loaded      # the check saw a real import
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN] == []


def test_the_head_start_runs_before_textual_is_loaded():
    # It opens the file while Textual is imported (tui/head_start.py): importing Textual
    # itself would leave it nothing to overlap.
    loaded = modules_loaded_by(
        "saga_inspector.cli, saga_inspector.tui, saga_inspector.tui.head_start")
    assert "saga_inspector.tui.head_start" in loaded
    assert [m for m in loaded if m.split(".")[0] == "textual"] == []


def imported_modules(source: str, label: str) -> list[str]:
    """Top-level names of every module a source file imports, however it is spelled."""
    found = []
    for node in ast.walk(ast.parse(source, label)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in
              ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.append(str(node.args[0].value))
    return [name.split(".")[0] for name in found]


def test_no_file_in_the_store_imports_textual_or_rich():
    files = sorted(STORE.rglob("*.py"))
    assert len(files) >= 8
    offending = {
        str(path.relative_to(STORE)): [m for m in imported_modules(path.read_text(), str(path))
                                       if m in FORBIDDEN]
        for path in files
    }
    assert {path: mods for path, mods in offending.items() if mods} == {}


def test_the_import_scan_would_notice_each_spelling():
    sample = (
        "import textual.app\n"
        "from rich.text import Text\n"
        "def late():\n"
        "    import rich\n"
        "    return importlib.import_module('textual.widgets'), __import__('rich')\n"
        "from . import models\n"
    )
    assert sorted(imported_modules(sample, "sample.py")) == [
        "rich", "rich", "rich", "textual", "textual"]
