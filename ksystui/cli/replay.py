"""``ksystui replay --from T [--to T] [--speed X] [--bundle FILE]``: the
console over the record of a window, as it stood at a time cursor.

The same screens as the live console, read from the history the provider
service kept (the configured database) or from an incident bundle written
by ``ksystui incident export`` (on another machine: no configuration
needed). Every age reads as of the cursor; nothing can be changed. Times:
ISO 8601 (UTC unless a zone is given) or back from now (``-2h``), as
``incident export`` takes them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ksystui.cli.incident import TIME_HELP, parse_window
from ksystui.cli.options import GlobalOptions, Refused, finish, takes_global_options

if TYPE_CHECKING:
    from ksystui.client.replay_source import ReplaySource
    from ksystui.config import LoadedConfig
    from ksystui.core.tenants import TenantInfo


@click.command()
@click.option("--from", "start", metavar="T", help=f"where the window starts: {TIME_HELP} (a bundle: its own)")
@click.option("--to", "end", metavar="T", help="where it ends, same forms (default: now; a bundle: its own)")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, metavar="X",
              help="seconds of the record played per second (+ and - change it while replaying)")
@click.option("--bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="an incident bundle (ksystui incident export) instead of the configured database")
@click.option("--paused", is_flag=True, help="open paused at the start of the window (space plays)")
@takes_global_options()
def replay(start: str | None, end: str | None, speed: float, bundle: Path | None, paused: bool,
           opts: GlobalOptions) -> None:
    """Replay the record of a window in the console: space plays or pauses,
    n and o jump to the next event or operation, . and , step, g and G go to
    either end. A replay changes nothing (--readonly is implied)."""
    if start is None and bundle is None:
        raise Refused("--from: a replay needs the start of its window (or --bundle FILE, which says its own)")
    first, last = window(start, end, bundle=bundle is not None)
    _run(lambda: replay_console(opts, first, last, bundle, speed=speed, playing=not paused))


def window(start: str | None, end: str | None, *, bundle: bool) -> tuple[datetime | None, datetime | None]:
    """``--from``/``--to`` as UTC datetimes; what is not given is the
    bundle's own (or, from the database, "now" for the end)."""
    from ksystui.core.timeline import parse_when

    if start is not None and (end is not None or not bundle):
        return parse_window(start, end or "now")
    now = datetime.now(UTC)
    try:
        first = parse_when(start, now) if start is not None else None
    except ValueError as exc:
        raise Refused(f"--from: {exc}") from None
    try:
        last = parse_when(end, now) if end is not None else None
    except ValueError as exc:
        raise Refused(f"--to: {exc}") from None
    return first, last


def _run(make: Callable[[], Coroutine[Any, Any, int]]) -> None:
    from ksystui.bootstrap import StartupError
    from ksystui.config import ConfigError

    try:
        # not run_async: Textual handles Ctrl-C itself, as a key
        code = asyncio.run(make())
    except (ConfigError, StartupError) as exc:
        raise Refused(str(exc)) from None
    finish(code)


async def replay_console(opts: GlobalOptions, start: datetime | None, end: datetime | None, bundle: Path | None, *,
                         speed: float = 1.0, playing: bool = True) -> int:
    from ksystui.arbiter.replay import ReplayArbiter
    from ksystui.bootstrap import StartupError, load, plan_context
    from ksystui.ui.app import ControlRoomApp

    # a bundle needs no configuration (another machine replays it); given one, its tenants and keys are used
    loaded = load(opts.config, sys.stderr) if bundle is None or opts.config is not None else None
    source = await _open(loaded, bundle, start, end, opts.tenant)
    try:
        ui = loaded.config.ui if loaded is not None else None
        scope = source.scope  # a tenant's bundle is that tenant's, --tenant or not
        try:
            app = ControlRoomApp(source, _tenants(loaded, source), scope=scope, readonly=True,
                                 theme=opts.theme or (ui.theme if ui else "dark"), keys=ui.keys if ui else None,
                                 bell=False, arbiter=ReplayArbiter(source, plan_context(loaded.config) if loaded else None), shared=source, replay=source.cursor,
                                 playing=playing)
        except ValueError as exc:  # a key map that does not fit
            raise StartupError(str(exc)) from None
        app.replay_speed = speed
        await app.run_async()
    finally:
        await source.stop()
    return app.return_code or 0


async def _open(loaded: LoadedConfig | None, bundle: Path | None, start: datetime | None, end: datetime | None,
                tenant: str | None) -> ReplaySource:
    """The record of the window, from the bundle or the configured database."""
    from sqlalchemy.exc import SQLAlchemyError

    from ksystui.bootstrap import (
        StartupError,
        check_scope,
        configured_database_url,
        database_problem,
    )
    from ksystui.client.replay_source import ReplaySource
    from ksystui.store.engine import StoreError

    if loaded is not None:
        check_scope(loaded, tenant)
    if bundle is not None:
        where: str | Path = bundle
    else:
        assert loaded is not None
        url = configured_database_url(loaded)
        if url is None:
            raise StartupError("no database is configured: a replay reads the provider service's record")
        where = url.render_as_string(hide_password=False)
    try:
        return await ReplaySource.open(where, start, end, scope=tenant)
    except ValueError as exc:  # a window that cannot be replayed, another tenant's bundle
        raise StartupError(str(exc)) from None
    except (StoreError, OSError, SQLAlchemyError) as exc:
        if loaded is None or bundle is not None:
            raise StartupError(f"{bundle}: cannot be replayed: {' '.join(str(exc).split())[:300]}") from None
        raise database_problem(loaded, exc) from None


def _tenants(loaded: LoadedConfig | None, source: ReplaySource) -> list[TenantInfo]:
    """The configured tenants; without a configuration (a bundle elsewhere),
    those the record names, in name order (their priorities are not in it)."""
    from ksystui.core.tenants import TenantInfo
    from ksystui.fleet.connect import tenant_infos

    if loaded is not None:
        return tenant_infos(loaded.config)
    nodes: dict[str, list[str]] = {}
    for node, tenant in sorted(source.nodes.items()):
        nodes.setdefault(tenant, []).append(node)
    return [TenantInfo(name, i, "-", tuple(ns)) for i, (name, ns) in enumerate(sorted(nodes.items()), start=1)]
