"""The database password, from an environment variable or a file, reaches
PostgreSQL (which really asks for it: the role authenticates by
scram-sha-256, not trust) and nothing prints it: not the URL's repr, not
an error about a wrong one."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ksystui.config import ConfigError, database_url, parse_config
from ksystui.store.engine import (
    StoreError,
    current_revision,
    head_revision,
    migrate,
    open_engine,
    safe_url,
)
from ksystui.store.queue import Queue

CANARY = "Canary-pw-4e1f9b"  # a password no message may ever contain
_names = itertools.count()

FLEET = """
[[tenants]]
name = "customerA"
priority = 1
nodes = [{ name = "nodeA", ssh = { host = "127.0.0.1", key_file = "id_ed25519" } }]
"""

@pytest.fixture
def role_url(pg_server) -> str:
    """A fresh database whose owner must give CANARY as its password."""
    return pg_server.create_password_database(f"ksystui_pw_{next(_names)}", CANARY)


def database(tmp_path: Path, url: str, source: str):
    text = f'[database]\nurl = "{url}"\n{source}\n{FLEET}'
    return parse_config(text, tmp_path / "config.toml").config.database


@pytest.fixture(params=["password_env", "password_file"])
def configured(request, tmp_path, monkeypatch, role_url):
    """``set(password)``: the configured source now holds that password; the
    database section of the configuration naming it."""
    if request.param == "password_env":
        def put(password: str) -> None:
            monkeypatch.setenv("KSYSTUI_TEST_DB_PASSWORD", password)
        return put, database(tmp_path, role_url, 'password_env = "KSYSTUI_TEST_DB_PASSWORD"')

    def write(password: str) -> None:
        (tmp_path / "secrets").mkdir(exist_ok=True)
        (tmp_path / "secrets" / "db").write_text(password + "\n")
    return write, database(tmp_path, role_url, 'password_file = "secrets/db"')  # relative to config.toml


def test_the_password_from_the_environment_or_a_file_reaches_postgresql(configured):
    put, db = configured
    put(CANARY)
    assert CANARY not in repr(db)
    url = database_url(db)
    assert CANARY not in repr(url) and CANARY not in str(url)
    engine = open_engine(url)
    try:
        assert current_revision(engine) is None
        assert migrate(engine) == head_revision() == current_revision(engine)
        assert CANARY not in safe_url(engine) and "***" in safe_url(engine)
    finally:
        engine.dispose()
    queue = Queue.open(database_url(db))  # the queue opens the same way
    queue.close()


def test_a_wrong_password_is_refused_and_not_repeated(configured):
    put, db = configured
    put(CANARY + "-wrong")
    engine = open_engine(database_url(db))
    try:
        with pytest.raises(StoreError) as caught:
            migrate(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "password authentication failed" in message
    assert "\n" not in message and CANARY not in message


def test_no_password_where_postgresql_asks_for_one(tmp_path, monkeypatch, role_url):
    monkeypatch.delenv("KSYSTUI_TEST_DB_PASSWORD", raising=False)
    db = database(tmp_path, role_url, 'password_env = "KSYSTUI_TEST_DB_PASSWORD"')
    with pytest.raises(ConfigError, match="environment variable KSYSTUI_TEST_DB_PASSWORD .* is not set"):
        database_url(db)
    engine = open_engine(database(tmp_path, role_url, "").url)  # no source configured: libpq sends none
    try:
        with pytest.raises(StoreError, match="password"):
            current_revision(engine)
    finally:
        engine.dispose()


def test_an_inline_password_still_works(tmp_path, role_url):
    inline = role_url.replace("@", f":{CANARY}@", 1)
    loaded = parse_config(f'[database]\nurl = "{inline}"\n{FLEET}', tmp_path / "config.toml")
    assert [w for w in loaded.warnings if "password is written inline" in w]
    assert CANARY not in repr(loaded.config)
    engine = open_engine(database_url(loaded.config.database))
    try:
        assert migrate(engine) == head_revision()
    finally:
        engine.dispose()
