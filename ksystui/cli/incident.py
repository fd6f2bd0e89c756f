"""``ksystui incident export --from T [--to T] [--tenant T] FILE``: the
record of a window written as a bundle another machine replays
(``store.bundle``; ``ksystui replay --bundle FILE``). With ``--tenant`` the
bundle holds that tenant's rows only, any other tenant's names scrubbed: it
can be handed to the customer.

Times (here and in ``replay``): ISO 8601, UTC when no zone is given
(``2026-11-30T14:00``), or a span back from now (``-2h``, ``-30m``); a
wrong one is a usage error, one line, exit 2 (:func:`parse_window`).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from ksystui.cli.options import (
    NOT_THE_CONSOLE,
    GlobalOptions,
    Refused,
    run_verb,
    takes_global_options,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

TIME_HELP = 'ISO 8601, UTC unless a zone is given ("2026-11-30T14:00"), or back from now ("-2h", "-30m")'


def parse_window(start: str, end: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as UTC datetimes; a wrong time or a window that
    ends before it starts is ``Refused`` (one line, exit 2)."""
    from ksystui.core.timeline import parse_when

    now = now or datetime.now(UTC)
    try:
        first = parse_when(start, now)
    except ValueError as exc:
        raise Refused(f"--from: {exc}") from None
    try:
        last = parse_when(end, now)
    except ValueError as exc:
        raise Refused(f"--to: {exc}") from None
    if last <= first:
        raise Refused(f"--to ({last:%Y-%m-%d %H:%M:%S}Z) is not after --from ({first:%Y-%m-%d %H:%M:%S}Z)")
    return first, last


@click.group()
def incident() -> None:
    """The record of an incident: export a window for another machine to replay."""


@incident.command()
@click.option("--from", "start", required=True, metavar="T", help=f"where the window starts: {TIME_HELP}")
@click.option("--to", "end", default="now", show_default=True, metavar="T", help="where it ends (same forms)")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def export(start: str, end: str, file: Path, opts: GlobalOptions) -> None:
    """Write the record of a window to FILE (with --tenant: that tenant's only)."""
    first, last = parse_window(start, end)
    run_verb(lambda: run_export(opts.config, opts.tenant, first, last, file, sys.stdout, sys.stderr))


async def run_export(config: Path | None, tenant: str | None, start: datetime, end: datetime, file: Path,
                     out: TextIO, err: TextIO) -> int:
    from ksystui.bootstrap import (
        StartupError,
        check_scope,
        database_problem,
        load,
        open_configured_engine,
    )
    from ksystui.store.bundle import export_bundle
    from ksystui.store.engine import migrate

    loaded = load(config, err)
    check_scope(loaded, tenant)
    if not file.parent.is_dir():
        raise StartupError(f"cannot write {file}: no such directory {file.parent}")
    engine = await open_configured_engine(loaded)
    try:
        try:
            await asyncio.to_thread(migrate, engine)
        except Exception as exc:
            raise database_problem(loaded, exc) from None
        status = await asyncio.to_thread(_audit_status, engine, tenant)
        try:
            info = await asyncio.to_thread(export_bundle, engine, file, start, end, tenant=tenant,
                                           audit_status=status)
        except OSError as exc:
            raise StartupError(f"cannot write {file}: {exc.strerror or exc}") from None
    finally:
        await asyncio.to_thread(engine.dispose)
    rows = info.rows
    print(f"wrote {file}: {start:%Y-%m-%d %H:%M:%S}Z to {end:%Y-%m-%d %H:%M:%S}Z, "
          f"{'tenant ' + tenant + ' only' if tenant else 'every tenant'}: "
          f"{rows.get('snapshot_history', 0)} snapshots, {rows.get('poll_history', 0)} polls, "
          f"{rows.get('events', 0)} events, {rows.get('alerts', 0)} alerts, {rows.get('operations', 0)} operations, "
          f"{rows.get('audit', 0)} audit records", file=out)
    if not rows.get("snapshot_history"):
        print("note: nothing was recorded of any node in this window (is a provider service running?)", file=out)
    return 0


def _audit_status(engine: Engine, tenant: str | None) -> str:
    """What the audit trail's verification says now (a bundle holds a part of
    it, which cannot be verified again on its own)."""
    from ksystui.arbiter.audit_lines import chain_status
    from ksystui.store.audit_log import AuditLog

    try:
        problems = AuditLog(engine).verify()
    except Exception as exc:  # the key cannot be read, say: the bundle says so
        return f"hash chain not verified when exported: {' '.join(str(exc).split())[:200]}"
    return chain_status(problems, scoped=tenant is not None) + " (when exported)"
