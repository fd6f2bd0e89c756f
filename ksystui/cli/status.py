"""``ksystui status`` and ``ksystui config check``: one-shot reports for
people, cron and monitoring systems. Neither changes anything, so
``--readonly`` is honoured as it stands.

``status`` reports what the provider service last read (its snapshots in
the database) when a service leads; ``--direct``, or no service running,
reads the nodes themselves as before (the latter said on stderr).

Either way it answers by a deadline (``--timeout``): a node that has not
answered by then is reported "slow" with the age of its last good data
(kept in the database), and the others as they were read. Any node that is
not plainly fresh (slow, stale, unreachable, unreadable output, a failing
DR Automation service) makes it exit 1, with the reason. Scoped
(``--tenant``), it reads and reports only that tenant's nodes; the other
tenants' last stored data only tells how many of them share a host."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from ksystui.cli.options import NOT_THE_CONSOLE, GlobalOptions, run_verb, takes_global_options

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from ksystui.config import LoadedConfig, NodeConfig

EXIT_OK, EXIT_PROBLEM = 0, 1
EXIT_UNREACHABLE = EXIT_PROBLEM  # the former name: unreachable is one of the problems
DEFAULT_TIMEOUT = 20.0  # seconds: cron and monitoring get an answer by then, whatever a node does


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--direct", is_flag=True,
              help="read the nodes themselves, not the provider service's data (for a box without a service)")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=3600), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="answer by then: a node still silent is reported slow, with its last good data")
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def status(as_json: bool, direct: bool, timeout: float, opts: GlobalOptions) -> None:
    """One-shot report of every tenant's KSYS nodes (exit 1 if any is not fresh: slow, stale,
    unreachable, unreadable or with a failing service; the reason is printed)."""
    run_verb(lambda: run_status(opts.config, as_json, opts.tenant, sys.stdout, sys.stderr, direct=direct,
                                timeout=timeout))


@click.group()
def config() -> None:
    """Configuration tools."""


@config.command()
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def check(opts: GlobalOptions) -> None:
    """Validate config.toml and try each node (of the tenant, with --tenant)."""
    run_verb(lambda: run_config_check(opts.config, sys.stdout, sys.stderr, tenant=opts.tenant))


async def run_status(config: Path | None, as_json: bool, tenant: str | None, out: TextIO, err: TextIO, *,
                     direct: bool = False, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Report every node (of ``tenant``): as the provider service last read
    it, or read now (``direct``, or no service leads), by ``timeout`` seconds."""
    from ksystui.bootstrap import check_scope, load, tenant_infos
    from ksystui.cli.status_read import read_nodes, service_snapshots
    from ksystui.core.status import build_status, render_text, to_json

    deadline = asyncio.get_running_loop().time() + timeout
    loaded = load(config, err)
    check_scope(loaded, tenant)
    # the service's snapshots of every node: a shared host says how many other tenants use it
    snapshots = None if direct else await service_snapshots(loaded, err, deadline)
    if snapshots is not None:
        report = build_status(snapshots, tenant_infos(loaded.config), datetime.now(UTC), scope=tenant)
    else:
        read = await read_nodes(loaded, err, tenant, deadline)
        report = build_status(read.snapshots, tenant_infos(loaded.config), read.ended_at, scope=tenant,
                              asked_at=read.asked_at, late=read.late, deadline=timeout)
    if as_json:
        json.dump(to_json(report), out, indent=2)
        out.write("\n")
    else:
        out.write(render_text(report))
    return EXIT_PROBLEM if report.problems else EXIT_OK


async def run_config_check(config: Path | None, out: TextIO, err: TextIO, *, tenant: str | None = None) -> int:
    """Validate the file, then try each node (of ``tenant``): one line per node."""
    from ksystui.bootstrap import check_scope, load

    loaded = load(config, err)
    check_scope(loaded, tenant)
    cfg = loaded.config
    if tenant is None:
        print(f"{loaded.path}: valid ({len(cfg.tenants)} tenants, {len(cfg.nodes())} nodes)", file=out)
    else:
        print(f"{loaded.path}: valid", file=out)  # the other tenants, even their number, are none of its business
    nodes = [(t.name, n) for t, n in cfg.nodes() if tenant is None or t.name == tenant]
    results = await asyncio.gather(_try_database(loaded), *(_try_node(name, node) for name, node in nodes))
    for line, _ in results:
        print(line, file=out)
    return EXIT_OK if all(ok for _, ok in results) else EXIT_UNREACHABLE


DATABASE_CONNECT_TIMEOUT = 10  # seconds: `config check` says a server does not answer, it does not hang on it


async def _try_database(loaded: LoadedConfig) -> tuple[str, bool]:
    """One line: can ksystui open the configured database, and at which
    schema is it? Tested as the nodes are, and changing nothing: no schema
    is made, no migration run, and a SQLite file that does not exist yet is
    not created (its directory is checked instead)."""
    from ksystui.bootstrap import StartupError, configured_database_url, database_problem

    try:
        url = configured_database_url(loaded)
        said = await asyncio.wait_for(asyncio.to_thread(_probe_database, url),
                                      timeout=DATABASE_CONNECT_TIMEOUT + 5)
    except StartupError as exc:
        return f"database: FAIL: {str(exc).removeprefix('database unavailable: ')}", False
    except TimeoutError:
        return f"database: FAIL: {str(database_problem(loaded, 'no answer')).removeprefix('database unavailable: ')}", \
            False
    except Exception as exc:  # the driver's own error, whatever it is: named with its setting
        return f"database: FAIL: {str(database_problem(loaded, exc)).removeprefix('database unavailable: ')}", False
    return f"database: OK: {said}", True


def _probe_database(url: URL | None) -> str:
    """What the database at ``url`` is, in a few words (raises what opening it raises)."""
    from pathlib import Path

    from ksystui.store.engine import (
        StoreError,
        current_revision,
        default_database_path,
        head_revision,
        known_revisions,
        missing_tables,
        open_engine,
        read_connection,
        safe_url,
        schema_gap,
        sqlite_path_problem,
    )

    newest = head_revision()  # a StoreError when this installation lacks its migrations
    if url is None or url.get_backend_name() == "sqlite":
        name = str(default_database_path()) if url is None else url.database
        if name and name != ":memory:" and not Path(name).exists():
            parent = Path(name).parent
            if url is None and not parent.exists():  # the default's directory is made at the first start
                return f"{name}: not there yet (made at the first start)"
            problem = sqlite_path_problem(Path(name))
            if problem is None:
                try:  # can a file be made there? (gone again at once: checking changes nothing)
                    tempfile.TemporaryFile(dir=parent).close()
                except OSError as exc:
                    problem = f"cannot create a file in {parent}: {exc.strerror}"
            if problem is not None:
                raise StoreError(f"cannot create the database {name}: {problem}")
            return f"{name}: not there yet (made at the first start)"
    engine = open_engine(url, connect_timeout=DATABASE_CONNECT_TIMEOUT)
    try:
        current = current_revision(engine)
        where = safe_url(engine)
        if current is not None:
            with read_connection(engine) as conn:
                missing = missing_tables(conn)
            if missing and current == newest:
                raise StoreError(schema_gap(where, current, missing))
    finally:
        engine.dispose()
    if current is None:
        return f"{where}: empty (its schema is made at the first start, or by `ksystui db upgrade`)"
    if current == newest:
        return f"{where}: schema {current}, the newest"
    if current not in known_revisions():
        raise StoreError(f"the database {where} is at schema revision {current}, newer than this ksystui knows "
                         f"(its newest is {newest}): upgrade ksystui")
    return f"{where}: schema {current} (migrated to {newest} at the next start, or by `ksystui db upgrade`)"


async def _try_node(tenant: str, node: NodeConfig) -> tuple[str, bool]:
    """One line: can ksystui reach this node, over SSH and (PowerVS) REST?"""
    from ksystui.config import ConfigError
    from ksystui.core.ksysmgr.commands import build_query
    from ksystui.fleet.connect import rest_transport, ssh_transport
    from ksystui.transport.errors import TransportError

    parts = []
    ok = True
    ssh = ssh_transport(node)
    try:
        t0 = asyncio.get_running_loop().time()
        res = await ssh.run(build_query("version"), timeout=node.ssh.command_timeout)
        ms = (asyncio.get_running_loop().time() - t0) * 1000
        version = res.stdout.strip().splitlines()[0] if res.stdout.strip() else "?"
        parts.append(f"ssh ok ({ms:.0f} ms, {version})")
    except TransportError as exc:
        ok = False
        parts.append(f"ssh {exc.kind}: {exc}")
    finally:
        await ssh.close()
    if node.rest is not None:
        try:
            rest = rest_transport(node)
        except ConfigError as exc:
            ok = False
            parts.append(f"rest: {exc}")
        else:
            assert rest is not None
            try:
                await rest.get_summary()
                parts.append("rest ok")
            except TransportError as exc:
                ok = False
                parts.append(f"rest {exc.kind}: {exc}")
            finally:
                await rest.close()
    return f"{tenant}/{node.name}: {'OK' if ok else 'FAIL'}: " + "; ".join(parts), ok
