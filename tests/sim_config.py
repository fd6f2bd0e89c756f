"""The simulator's ``config.toml`` as tests use it."""

from __future__ import annotations

from pathlib import Path


def write_config(state: Path, db: Path) -> Path:
    """The simulator's config.toml (in ``state``), with the database moved to ``db``."""
    cfg = state / "config.toml"
    text = cfg.read_text().replace(f'url = "sqlite:///{state}/ksystui.db"', f'url = "sqlite:///{db}"')
    cfg.write_text(text)
    return cfg
