"""LISTEN/NOTIFY: a reader is woken by a commit that changed the feed, never
by one rolled back, and its listener survives the death of its connection."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ksystui.core.model import Flavour
from ksystui.core.snapshot import NodeSnapshot
from ksystui.store import ChangeListener, Feed, listener_for, migrate, open_engine
from ksystui.store.changes import append_change
from ksystui.store.notify import APPLICATION_NAME, libpq_conninfo

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'ksystui[postgres]')")


def test_a_sqlalchemy_url_becomes_a_libpq_connection_string():
    info = psycopg.conninfo.conninfo_to_dict(libpq_conninfo(
        "postgresql+psycopg://ops:s%40cret%20pw@db.example:5433/ksys?sslmode=require"))
    assert info == {"host": "db.example", "port": "5433", "user": "ops", "password": "s@cret pw",
                    "dbname": "ksys", "sslmode": "require", "connect_timeout": "5",
                    "application_name": APPLICATION_NAME}
    assert psycopg.conninfo.conninfo_to_dict(libpq_conninfo("postgresql+psycopg:///ksys?host=/run/pg")) == {
        "host": "/run/pg", "dbname": "ksys", "connect_timeout": "5", "application_name": APPLICATION_NAME}


def test_sqlite_has_no_listener(tmp_path):
    assert listener_for(None) is None
    assert listener_for(f"sqlite:///{tmp_path / 'ks.db'}") is None
    assert listener_for("not a url") is None
    assert isinstance(listener_for("postgresql+psycopg://u@127.0.0.1:1/db"), ChangeListener)


async def test_an_unreachable_server_is_retried_and_its_password_never_logged(caplog):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listener = ChangeListener(f"postgresql+psycopg://ops:Sup3rSecretPw@127.0.0.1:{port}/ksys")
    with caplog.at_level(logging.DEBUG, logger="ksystui.store.notify"):
        assert await listener.wait(0.2) is False
        assert await listener.wait(0.2) is False  # backing off, not spinning
    assert "lost" in caplog.text and "ops:***@127.0.0.1" in caplog.text
    assert "Sup3rSecretPw" not in caplog.text and "Sup3rSecretPw" not in repr(listener.safe_url)
    await listener.close()


@pytest.fixture
def feed(pg_url):
    engine = open_engine(pg_url)
    migrate(engine)
    yield Feed(engine)
    engine.dispose()


def snap(poll: int) -> NodeSnapshot:
    return NodeSnapshot("n1", "customerA", Flavour.ONPREM, 10.0, sequence=poll)


async def test_a_commit_that_changed_the_feed_wakes_the_listener_and_a_rollback_does_not(feed, pg_url):
    listener = ChangeListener(pg_url)
    try:
        assert await listener.wait(0.05) is False  # connected and listening, nothing yet
        await asyncio.to_thread(feed.publish, snap(1))
        assert await listener.wait(10) is True
        assert await listener.wait(0.05) is False  # one wake-up per burst, nothing left over

        def rolled_back() -> None:
            with pytest.raises(RuntimeError), feed.engine.begin() as conn:
                append_change(conn, "refresh", datetime.now(UTC), tenant="customerA", node="n1")
                raise RuntimeError("the writer failed")

        await asyncio.to_thread(rolled_back)
        assert await listener.wait(0.3) is False
        assert feed.last_seq() == 1
    finally:
        await listener.close()


async def test_the_listener_notices_its_connection_was_killed_and_listens_again(feed, pg_url):
    listener = ChangeListener(pg_url)
    try:
        assert await listener.wait(0.05) is False
        with feed.engine.connect() as conn:
            killed = conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE application_name = :name"), {"name": APPLICATION_NAME}).all()
        assert killed == [(True,)]
        polls = iter(range(2, 1000))

        async def woken_by_a_publish() -> bool:
            await asyncio.to_thread(feed.publish, snap(next(polls)))
            return await listener.wait(1.0)

        async with asyncio.timeout(30):
            while not await woken_by_a_publish():
                pass
        assert listener.opened == 2
    finally:
        await listener.close()
