"""Where the files that ship beside the code live: the colour themes and the
simulator's scenarios.

In a checkout (and an editable install, which runs from it) they are the
repository's own ``themes/`` and ``fixtures/scenarios/``, where the design card
puts them. A wheel carries copies inside the package (pyproject's
``force-include``), so ``pip install ksystui`` still gets a working
``ksystui demo`` and ``--theme``."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _shipped(in_wheel: str, in_checkout: str) -> Path:
    inside = _PACKAGE / in_wheel
    return inside if inside.is_dir() else _CHECKOUT / in_checkout


THEMES_DIR = _shipped("themes", "themes")
SCENARIOS_DIR = _shipped("scenarios", "fixtures/scenarios")
