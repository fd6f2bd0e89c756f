"""No dead code in ksystui: vulture finds nothing, beyond what
tests/vulture_whitelist.py justifies group by group and the names frameworks
find by convention (below)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Names a framework calls by convention, wherever they are defined.
IGNORE_NAMES = {
    "action_*": "Textual actions, bound by name from BINDINGS and the command palette",
    "on_*": "Textual message handlers (on_<widget>_<message>)",
    "key_*": "Textual key handlers",
    "check_action": "Textual asks it whether an action is enabled (footer and bindings)",
    "compose": "Textual builds a widget's children from it",
    "render_line": "Textual's Line API",
    "DEFAULT_CSS": "Textual styles",
    "BINDINGS": "Textual key bindings",
    "COMPONENT_CLASSES": "Textual component styles",
    "TITLE": "Textual App title",
    "COMMANDS": "Textual command palette providers",
    "ENABLE_COMMAND_PALETTE": "Textual App setting",
}
# Functions a library registers through their decorator.
IGNORE_DECORATORS = {
    "@field_validator": "pydantic",
    "@model_validator": "pydantic",
    "@event.listens_for": "SQLAlchemy engine events",
}


def test_vulture_finds_no_dead_code():
    result = subprocess.run(
        [
            sys.executable, "-m", "vulture", "ksystui", "tests/vulture_whitelist.py",
            "--min-confidence", "60",
            "--ignore-names", ",".join(IGNORE_NAMES),
            "--ignore-decorators", ",".join(IGNORE_DECORATORS),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0 and not result.stdout, (
        "dead code (remove it, or justify it in tests/vulture_whitelist.py):\n" + result.stdout + result.stderr
    )
