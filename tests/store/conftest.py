"""Fixtures of the store tests: the same database on SQLite and on
PostgreSQL (the session's throwaway server; skipped without one)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ksystui.store.engine import migrate, open_engine

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database's URL, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ks.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database's URL."""
    return pg_server.create_database(f"ksystui_store_{next(_names)}")


@pytest.fixture
def pg_engines(pg_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """Two engines on one migrated PostgreSQL database."""
    first, second = open_engine(pg_url), open_engine(pg_url)
    migrate(first)
    yield first, second
    first.dispose()
    second.dispose()


@pytest.fixture
def engines(db_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """Two engines on one migrated database: two processes sharing it."""
    first, second = open_engine(db_url), open_engine(db_url)
    migrate(first)
    yield first, second
    first.dispose()
    second.dispose()
