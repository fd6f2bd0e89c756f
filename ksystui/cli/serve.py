"""``ksystui serve`` (the provider service) and ``ksystui service status``.

``serve`` runs until SIGTERM or Ctrl-C and logs logfmt lines on standard
error (for journald: ``contrib/ksystui.service``). Several may run on one
PostgreSQL database: one leads, the others stand by and take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ksystui.cli.options import (
    CHANGES_OPERATIONS,
    NO_TENANT_SCOPE,
    NOT_THE_CONSOLE,
    GlobalOptions,
    run_verb,
    takes_global_options,
)
from ksystui.service.status import DEFAULT_TTL

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ksystui.service.status import ServiceStatus

SERVES_EVERY_TENANT = NO_TENANT_SCOPE + ": the service serves every tenant"
SERVE_REFUSES = {"readonly": CHANGES_OPERATIONS, "theme": NOT_THE_CONSOLE, "tenant": SERVES_EVERY_TENANT}


LOG_LEVELS = ("debug", "info", "warning")


def serve_verb(opts: GlobalOptions, ttl: float, *, log_level: str = "info", note: str | None = None) -> None:
    """Run the service until a signal; exit 0 after a clean stop."""

    async def body() -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from ksystui.bootstrap import configured_database_url, database_problem, load
        from ksystui.service.logs import fields, log_to, stop_logging
        from ksystui.service.serve import Service, log
        from ksystui.store.engine import StoreError

        loaded = load(opts.config, sys.stderr)
        configured_database_url(loaded)  # a password that cannot be read: said before anything starts
        handler = log_to(sys.stderr, logging.getLevelName(log_level.upper()))
        service = Service(loaded.config, ttl=ttl)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> Callable[[], None]:
            def handle() -> None:
                log.info("signal received: stopping", extra=fields(signal=sig.name))
                stop.set()
            return handle

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not in a thread (tests)
                loop.add_signal_handler(sig, on_signal(sig))
        try:
            try:
                await service.start()
            except (StoreError, SQLAlchemyError) as exc:
                raise database_problem(loaded, exc) from None
            if note:  # once it runs: a verb that cannot start says why in one line, and only that
                print(note, file=sys.stderr, flush=True)
            await service.run_until(stop)
        finally:
            await service.stop()
            stop_logging(handler)
        return 0

    run_verb(body)


@click.command()
@click.option("--lease-ttl", type=click.FloatRange(min=1.0, max=300.0), default=DEFAULT_TTL, show_default=True,
              help="seconds the leader's lease lasts unless renewed (renewed every third of it)")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
              help="debug also logs every output line of every operation")
@takes_global_options(refuses=SERVE_REFUSES)
def serve(lease_ttl: float, log_level: str, opts: GlobalOptions) -> None:
    """Run the provider service: poll every node once per interval, publish
    snapshots, events and alerts, dispatch the queue (the leader; a second
    one on the same PostgreSQL database stands by and takes over)."""
    serve_verb(opts, lease_ttl, log_level=log_level)


@click.group()
def service() -> None:
    """The provider service on the configured database."""


@service.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON (keys: leader, epoch, lease, last_seq, members)")
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE, "tenant": NO_TENANT_SCOPE})
def status(as_json: bool, opts: GlobalOptions) -> None:
    """Which member leads, its lease's expiry, the last change, every member.
    Exit status 0 when a service leads, 1 when none does."""

    async def body() -> int:
        report = await read_status(opts)
        if as_json:
            json.dump(report.to_json(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print("\n".join(report.lines()))
        return 0 if report.leader is not None else 1

    run_verb(body)


async def read_status(opts: GlobalOptions) -> ServiceStatus:
    from sqlalchemy.exc import SQLAlchemyError

    from ksystui.bootstrap import database_problem, load, open_configured_engine
    from ksystui.store.engine import StoreError

    loaded = load(opts.config, sys.stderr)
    engine = await open_configured_engine(loaded)
    try:
        return await asyncio.to_thread(_read, engine)
    except (StoreError, SQLAlchemyError) as exc:
        raise database_problem(loaded, exc) from None
    finally:
        await asyncio.to_thread(engine.dispose)


def _read(engine: Engine) -> ServiceStatus:
    from ksystui.service.status import service_status
    from ksystui.store.engine import migrate
    from ksystui.store.feed import Feed
    from ksystui.store.lease import LeaseStore

    migrate(engine)
    lease = LeaseStore(engine)
    return service_status(lease.state(), lease.members(), Feed(engine).last_seq(), lease.now())
