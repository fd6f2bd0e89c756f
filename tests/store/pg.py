"""A throwaway PostgreSQL server for the tests (initdb + pg_ctl in a temp dir).

PostgreSQL refuses to run as root, and the tests may run as root: the data
directory is then owned by an existing unprivileged account (``postgres``,
else ``nobody``) and ``initdb`` / ``pg_ctl`` run as that account through
``runuser -u`` (or ``su -s /bin/sh -c``). The server listens on 127.0.0.1 on
a free port with its unix socket in the temp dir, trusts loopback, runs
without fsync (it is thrown away), and is stopped and removed by ``stop()``.
A role made by ``create_password_database`` is the exception to the trust:
it must give its password (scram-sha-256), so a wrong one is refused.

``find_bindir()`` is None when no PostgreSQL server binaries are installed:
the tests skip then, with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NOT_INSTALLED = ("no PostgreSQL server binaries (initdb, pg_ctl) found via `pg_config --bindir` or "
                 "/usr/lib/postgresql/*/bin: install PostgreSQL (Debian: apt-get install postgresql) "
                 "to run the PostgreSQL tests")
SUPERUSER = "ksystui"


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)]
    for initdb in (shutil.which("initdb"), shutil.which("pg_ctl")):
        if initdb:
            candidates.append(Path(os.path.realpath(initdb)).parent)
    for d in candidates:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file() and (d / "postgres").is_file():
            return d
    return None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root (None: as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL")


@dataclass
class PgServer:
    bindir: Path
    base: Path  # temp dir: data/, the socket, server.log
    port: int
    account: pwd.struct_passwd | None
    _running: bool = field(default=False, repr=False)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        if self.account is not None:
            runuser = shutil.which("runuser")
            if runuser:
                argv = [runuser, "-u", self.account.pw_name, "--", *argv]
            else:
                argv = [shutil.which("su") or "su", "-s", "/bin/sh", "-c", shlex.join(argv), self.account.pw_name]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.base)

    def _check(self, argv: list[str], what: str, timeout: float = 60) -> None:
        res = self._run(argv, timeout)
        if res.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{what} failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}\n{tail}")

    def start(self) -> None:
        self._check([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                     "--encoding=UTF8", "--no-locale", "--no-sync"], "initdb")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._check([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                     "-o", options, "start"], "pg_ctl start", timeout=90)
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], 60)
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_password_database(self, name: str, password: str) -> str:
        """A fresh database owned by a new role ``name`` whose connections
        must give ``password``; returns its URL, without the password."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                            sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
        self.require_password(name, name)
        return f"postgresql+psycopg://{name}@127.0.0.1:{self.port}/{name}"

    def require_password(self, role: str, dbname: str, timeout: float = 15.0) -> None:
        """From now on ``role`` must give its password (scram-sha-256) to
        connect: a pg_hba line before the trust lines (the first matching line
        decides), the configuration reloaded, and — since the server reloads
        it when it gets to it — a wait until a connection to ``dbname``
        without the password is refused."""
        import psycopg

        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user=role, dbname=dbname, password="",
                                connect_timeout=5).close()
            except psycopg.OperationalError as exc:
                if "password" in str(exc):
                    return
                raise
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL still trusts {role} {timeout} s after pg_hba.conf was reloaded")
            time.sleep(0.05)


def start() -> PgServer:
    """Start a server (raises RuntimeError with the server's log if it cannot).
    Call :func:`find_bindir` first to skip when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(NOT_INSTALLED)
    account = _unprivileged()
    # Not under pytest's tmp dir: that is private to root (0700), and the
    # server's account must be able to reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="ksystui-pg-"))
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
    last: Exception | None = None
    for _attempt in range(3):  # a free port can be taken between finding and binding it
        server = PgServer(bindir, base, _free_port(), account)
        try:
            server.start()
            return server
        except RuntimeError as exc:
            last = exc
            server._run([str(bindir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"], 30)
            shutil.rmtree(server.data, ignore_errors=True)
            time.sleep(0.2)
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"could not start a throwaway PostgreSQL server: {last}")
