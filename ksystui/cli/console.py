"""The control room: ``ksystui`` (a console on the provider service's
database) and ``ksystui demo`` (the simulator embedded, the provider service
in-process on it, and a console on the service's database)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ksystui.cli.options import GlobalOptions, Refused, finish, takes_global_options

if TYPE_CHECKING:
    from ksystui.config import LoadedConfig


def open_console(opts: GlobalOptions) -> None:
    """``ksystui`` without a verb: the console over the configured fleet."""
    from ksystui.bootstrap import load

    _run(lambda: _console_on(load(opts.config, sys.stderr), opts))


@click.command()
@click.option("--scenario", type=click.Path(path_type=Path, dir_okay=False), help="scenario TOML (default: the seed scenario)")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="simulated time speed-up")
@takes_global_options(refuses={"config": "the demo configures itself from the simulator it starts"})
def demo(scenario: Path | None, speed: float, opts: GlobalOptions) -> None:
    """Start the simulator with the seed scenario, the provider service on
    it (in this process, on SQLite) and a console on the service's database."""
    from ksystui.bootstrap import demo_configuration, demo_service

    async def on_demo() -> int:
        async with demo_configuration(scenario, speed) as run, demo_service(run):
            # said in the console (the terminal is the console's while it runs) and on stderr,
            # which the terminal shows again once the demo ends
            print(f"ksystui demo\n{run.attach}", file=sys.stderr, flush=True)
            return await _console_on(run.loaded, opts, greeting=run.attach)

    _run(on_demo)


def _run(make: Callable[[], Coroutine[Any, Any, int]]) -> None:
    from ksystui.bootstrap import StartupError
    from ksystui.config import ConfigError
    from ksystui.sim.scenario import ScenarioError

    try:
        # not run_async: Textual handles Ctrl-C itself, as a key
        code = asyncio.run(make())
    except (ConfigError, StartupError, ScenarioError) as exc:
        raise Refused(str(exc)) from None
    finish(code)


async def _console_on(loaded: LoadedConfig, opts: GlobalOptions, greeting: str | None = None) -> int:
    """The console over the database ``loaded`` names: a client of the
    provider service, which polls the nodes and dispatches (the console
    does neither, and needs no node credential)."""
    from ksystui.bootstrap import client_runtime, console_app

    async with client_runtime(loaded, sys.stderr, scope=opts.tenant, readonly=opts.readonly) as rt:
        app = console_app(rt, scope=opts.tenant, readonly=opts.readonly, theme=opts.theme, greeting=greeting)
        await app.run_async()
    return app.return_code or 0
