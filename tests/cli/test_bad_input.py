"""No input ends in a traceback (issue 16, deliverable 2; issue 11, deliverable 1).

A table of bad configurations × every verb that reads one, each run in this
process: the verb says what is wrong in one line on standard error, naming
the file, the line and the setting, and exits non-zero. Two families: a
file that is wrong (refused as it is read) and a valid file whose database
cannot be used (refused when the verb opens it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksystui.store import engine as engine_module

from .conftest import Run, ksystui, quiet_fleet
from .verbs import NO_DATABASE, READS_CONFIG
from .verbs import VERBS as EVERY_VERB

# every verb that reads the configuration, as a shell types it
VERBS: dict[str, list[str]] = {**{verb: EVERY_VERB[verb] for verb in READS_CONFIG},
                               "db grant-tenant": ["db", "grant-tenant", "customerA"]}

NODE = """
[[tenants]]
name = "customerA"
priority = 1
[[tenants.nodes]]
name = "nodeA"
[tenants.nodes.ssh]
host = "127.0.0.1"
port = 1
key_file = "id_ed25519"
"""  # a valid tenant: its name is on line 3, its node's on line 6, the ssh table on line 7
POWERVS = NODE.replace('name = "nodeA"', 'name = "nodeA"\nflavour = "powervs"')
REST = '[tenants.nodes.rest]\nurl = "https://127.0.0.1:1/"\ninstance_id = "i-1"\n'


def db(lines: str) -> str:
    return f"[database]\n{lines}\n" + NODE


# --- family 1: the file itself is wrong -------------------------------------------------
# id -> (the file's text, or bytes; what the one line must say after "PATH")
BAD_FILES: dict[str, tuple[str | bytes, str]] = {
    "not utf-8": (NODE.encode() + b'[ui]\ntheme = "\xff"\n', ":12: not UTF-8 text"),
    "toml syntax": ("[[tenants]\n", ":1: Expected ']]'"),
    "arrays nested 5,000 deep": ("x = " + "[" * 5000 + "]" * 5000, ":1: values nested more than 32 deep"),
    "tables nested 5,000 deep": (NODE + "[ui.keys]\nx = " + "{a = " * 5000 + "1" + "}" * 5000,
                                 ":12: values nested more than 32 deep"),
    "no tenants": ("[poll]\ninterval = 5\n", ": tenants: Field required"),
    "empty tenants": ("tenants = []\n", ":1: tenants: List should have at least 1 item"),
    "tenants not a list": ('tenants = "customerA"\n', ":1: tenants: Input should be a valid list"),
    "tenant twice": (NODE + NODE.replace('"nodeA"', '"nodeB"'),
                     ":13: tenants['customerA'].name: tenant 'customerA' is listed twice (first at line 3)"),
    "node twice": (NODE + NODE.replace('"customerA"', '"customerB"'),
                   ":16: tenants['customerB'].nodes['nodeA'].name: node 'nodeA' is listed twice (first at line 6)"),
    "rest on an on-prem node": (NODE + REST + 'token_env = "T"\n',
                                ":11: tenants['customerA'].nodes['nodeA'].rest: node 'nodeA': only PowerVS nodes"),
    "priority 0": (NODE.replace("priority = 1", "priority = 0"), ":4: tenants['customerA'].priority"),
    "node name with a space": (NODE.replace('"nodeA"', '"node A"'), ":6: tenants['customerA'].nodes['node A'].name"),
    "unknown flavour": (NODE.replace('name = "nodeA"', 'name = "nodeA"\nflavour = "cloud"'),
                        ":7: tenants['customerA'].nodes['nodeA'].flavour"),
    "unknown top-level key": ("colour = 1\n" + NODE, ":1: colour: Extra inputs are not permitted"),
    "port out of range": (NODE.replace("port = 1", "port = 70000"), ":9: tenants['customerA'].nodes['nodeA'].ssh.port"),
    "no ssh credential": (NODE.replace('key_file = "id_ed25519"\n', ""),
                          ":7: tenants['customerA'].nodes['nodeA'].ssh: give key_file or set use_agent = true"),
    "rest over http": (POWERVS + REST.replace("https://", "http://") + 'token_env = "T"\n',
                       ":13: tenants['customerA'].nodes['nodeA'].rest.url: the DR Automation service URL must start"),
    "two token sources": (POWERVS + REST + 'token_env = "T"\ntoken_file = "t"\n',
                          ":12: tenants['customerA'].nodes['nodeA'].rest: give exactly one of"),
    "poll interval negative": (NODE + "[poll]\ninterval = -1\n", ":12: poll.interval: Input should be greater than 0"),
    "unknown theme": (NODE + '[ui]\ntheme = "pink"\n', ":12: ui.theme"),
    "database url a number": (db("url = 5"), ":2: database.url: Input should be a valid string"),
    "database url not a url": (db('url = "not a url"'), ":2: database.url: not a database URL"),
    "database url empty": (db('url = ""'), ":2: database.url: not a database URL"),
    "database mysql": (db('url = "mysql://ops@127.0.0.1/ksystui"'),
                       ":2: database.url: mysql: ksystui's store runs on SQLite or PostgreSQL"),
    "database in memory": (db('url = "sqlite://"'), ":2: database.url: an in-memory SQLite database"),
    "password without url": (db('password_env = "PW"'), ":2: database.password_env: a password is for a database url"),
    "password env and file": (db('url = "postgresql+psycopg://ops@127.0.0.1:1/k"\npassword_env = "PW"\n'
                                 'password_file = "pw"'), ":4: database.password_file: give password_env or"),
}


@dataclass(frozen=True)
class BadDatabase:
    """A valid file whose database cannot be used: ``make`` writes what it
    needs in the directory and returns the [database] lines; ``says`` is the
    setting the one line must name (its line in the file) and the words."""

    make: Callable[[Path], str]
    key: str
    words: str
    sqlite: bool = True  # `db grant-tenant` refuses SQLite before it opens anything


def _garbage(tmp: Path) -> str:
    (tmp / "k.db").write_bytes(b"this is not a database, it only has its name" * 100)
    return f'url = "sqlite:///{tmp / "k.db"}"'


def _schema(tmp: Path, statement: str) -> str:
    """A database migrated by this ksystui, then changed behind its back."""
    path = tmp / "k.db"
    engine = engine_module.open_engine(f"sqlite:///{path}")
    engine_module.migrate(engine)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.executescript(statement)
    return f'url = "sqlite:///{path}"'


def _file_as_parent(tmp: Path) -> str:
    (tmp / "plain").write_text("a file, not a directory")
    return f'url = "sqlite:///{tmp / "plain" / "k.db"}"'


def _dir_as_db(tmp: Path) -> str:
    (tmp / "k.db").mkdir()
    return f'url = "sqlite:///{tmp / "k.db"}"'


BAD_DATABASES: dict[str, BadDatabase] = {
    "missing directory": BadDatabase(lambda tmp: f'url = "sqlite:///{tmp / "no" / "such" / "k.db"}"', "database.url",
                                     "does not exist"),
    "parent is a file": BadDatabase(_file_as_parent, "database.url", "is not a directory"),
    "database is a directory": BadDatabase(_dir_as_db, "database.url", "is a directory"),
    "unwritable place": BadDatabase(lambda tmp: 'url = "sqlite:////proc/ksystui-test.db"', "database.url",
                                    "ksystui-test.db"),
    "not a database": BadDatabase(_garbage, "database.url", "file is not a database"),
    "schema too new": BadDatabase(lambda tmp: _schema(tmp, "UPDATE alembic_version SET version_num = '9999'"),
                                  "database.url", "newer than this ksystui knows"),
    "table dropped": BadDatabase(lambda tmp: _schema(tmp, "DROP TABLE operations"), "database.url",
                                 "lacks its table operations"),
    "postgresql down": BadDatabase(lambda tmp: 'url = "postgresql+psycopg://ops@127.0.0.1:1/ksystui"', "database.url",
                                   "Connection refused", sqlite=False),
    "driver missing": BadDatabase(lambda tmp: 'url = "postgresql+asyncpg://ops@127.0.0.1:1/ksystui"', "database.url",
                                  "its driver is not installed", sqlite=False),
    "another driver missing": BadDatabase(lambda tmp: 'url = "postgresql+pg8000://ops@127.0.0.1:1/ksystui"',
                                          "database.url", "its driver is not installed", sqlite=False),
    "password variable unset": BadDatabase(
        lambda tmp: 'url = "postgresql+psycopg://ops@127.0.0.1:1/ksystui"\npassword_env = "KSYSTUI_TEST_NO_SUCH_PW"',
        "database.password_env", "environment variable KSYSTUI_TEST_NO_SUCH_PW (database password) is not set",
        sqlite=False),
    "password file missing": BadDatabase(
        lambda tmp: 'url = "postgresql+psycopg://ops@127.0.0.1:1/ksystui"\npassword_file = "no-such-pw"',
        "database.password_file", "cannot read database password", sqlite=False),
    "password file a directory": BadDatabase(
        lambda tmp: 'url = "postgresql+psycopg://ops@127.0.0.1:1/ksystui"\npassword_file = "."',
        "database.password_file", "cannot read database password", sqlite=False),
}
KEY_LINE = {"database.url": 2, "database.password_env": 3, "database.password_file": 3}


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.out + run.err and "Error:" not in run.err.split(":", 1)[0], run


def one_line(run: Run, verb: str) -> str:
    """The verb's one line on stderr (``ksystui VERB: …``), and a non-zero exit."""
    no_traceback(run)
    assert run.rc != 0, run
    lines = run.err.splitlines()
    assert len(lines) == 1, (verb, run.err)
    assert lines[0].startswith(f"ksystui {verb}: ".replace("ksystui console: ", "ksystui: ")), (verb, run.err)
    return lines[0]


def every_verb(path: Path, check: Callable[[str, Run], None]) -> None:
    """Run every verb on the file at ``path``; ``check`` each (all failures reported together)."""
    failures = []
    for verb, args in VERBS.items():
        run = ksystui("--config", str(path), *args)
        try:
            check(verb, run)
        except AssertionError as exc:
            failures.append(f"{verb}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_one_line_naming_its_place_in_every_verb(case, tmp_path):
    """Issue 16: configuration errors always carry the line (duplicates
    included); a TOML value nested 5,000 deep gave a RecursionError."""
    content, says = BAD_FILES[case]
    path = tmp_path / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    def check(verb: str, run: Run) -> None:
        line = one_line(run, verb)
        assert run.rc == 2 and f"{path}{says}" in line, line

    every_verb(path, check)


@pytest.mark.parametrize("case", BAD_DATABASES)
def test_a_database_that_cannot_be_used_is_one_line_naming_its_setting_in_every_verb(case, tmp_path, monkeypatch):
    """Issue 16: a wrong database URL (`mysql://…`, not a URL, a missing
    directory), PostgreSQL down, a wrong password or a missing driver ended
    in a traceback in queue, submit, arbiter and audit, while `config check`
    called those configurations valid."""
    bad = BAD_DATABASES[case]
    monkeypatch.delenv("KSYSTUI_TEST_NO_SUCH_PW", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(db(bad.make(tmp_path)))
    setting = f"{path}:{KEY_LINE[bad.key]}: {bad.key}"

    def check(verb: str, run: Run) -> None:
        no_traceback(run)
        assert run.rc != 0, run
        if verb == "config check":  # the database is tested as the nodes are: one line of the report
            (said,) = [line for line in run.out.splitlines() if line.startswith("database: ")]
            assert said.startswith(f"database: FAIL: {setting}: ") and bad.words in said, said
        elif verb == "status":  # the fleet is still reported; the setting is named on stderr
            assert setting in run.err and bad.words in run.err, run.err
        elif verb in NO_DATABASE:
            assert setting not in run.err and "no hook named" in run.err, run.err
        elif verb == "db grant-tenant" and bad.sqlite:
            assert "tenant roles need PostgreSQL" in one_line(run, verb)
        else:
            line = one_line(run, verb)
            assert setting in line and bad.words in line, line

    every_verb(path, check)


def test_migrations_missing_from_the_installation(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "MIGRATIONS_DIR", tmp_path / "gone")
    path = tmp_path / "config.toml"
    path.write_text(db(f'url = "sqlite:///{tmp_path / "k.db"}"'))
    for verb in ("queue", "db upgrade", "service status", "submit"):
        line = one_line(ksystui("--config", str(path), *VERBS[verb]), verb)
        assert f"{path}:2: database.url" in line and "lacks its database migrations" in line, line
    run = ksystui("--config", str(path), "config", "check")
    assert run.rc == 1 and "database: FAIL:" in run.out and "lacks its database migrations" in run.out, run


def test_config_check_says_the_database_is_fine(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(quiet_fleet(tmp_path / "k.db"))
    run = ksystui("--config", str(path), "config", "check")
    assert f"database: OK: {tmp_path / 'k.db'}: not there yet (made at the first start)" in run.out, run
    assert not (tmp_path / "k.db").exists()  # checking changes nothing
    assert ksystui("--config", str(path), "db", "upgrade").rc == 0
    run = ksystui("--config", str(path), "config", "check")
    assert f"database: OK: sqlite:///{tmp_path / 'k.db'}: schema {engine_module.head_revision()}, the newest" \
        in run.out, run


def test_a_wrong_database_password_names_where_the_password_comes_from(pg_server, tmp_path, monkeypatch):
    """Issue 16: a wrong password ended in a traceback; it is one line naming
    the setting that says where the password comes from."""
    url = pg_server.create_password_database("ksystui_bad_input_pw", "the-right-one")
    monkeypatch.setenv("KSYSTUI_TEST_WRONG_PW", "not-the-right-one")
    path = tmp_path / "config.toml"
    path.write_text(db(f'url = "{url}"\npassword_env = "KSYSTUI_TEST_WRONG_PW"'))
    for verb in ("queue", "submit", "audit verify", "service status", "db upgrade", "console"):
        line = one_line(ksystui("--config", str(path), *VERBS[verb]), verb)
        assert f"{path}:3: database.password_env: " in line and "password authentication failed" in line, line
        assert "not-the-right-one" not in line
    run = ksystui("--config", str(path), "config", "check")
    assert f"database: FAIL: {path}:3: database.password_env: " in run.out and run.rc == 1, run
