"""The ``ksystui`` command: the root group, its global options, and the
entry point. Without a verb it opens the console on the configured fleet."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ksystui import __version__
from ksystui.cli import arbiter, audit, capture, console, db, schedule, serve, sim, status
from ksystui.cli.options import GlobalOptions, global_option_decorators


def _root(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(global_option_decorators()):
        fn = option(fn)
    return fn


@click.group(name="ksystui", invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ksystui", message="%(prog)s %(version)s")
@_root
@click.pass_context
def cli(ctx: click.Context, config: Path | None, tenant: str | None, readonly: bool, theme: str | None) -> None:
    """Terminal control room for DRaaS providers running IBM VM Recovery
    Manager DR (KSYS). Without a COMMAND: the console on the configured fleet.

    --config, --tenant, --readonly and --theme may be given here or after
    the command; a command that cannot honour one refuses it."""
    ctx.obj = GlobalOptions(config=config, tenant=tenant, readonly=readonly, theme=theme)
    if ctx.invoked_subcommand is None:
        console.open_console(ctx.obj)


for command in (console.demo, sim.sim, sim.parse, status.status, status.config, arbiter.submit, arbiter.queue,
                arbiter.cancel, arbiter.raise_, arbiter.resolve, arbiter.arbiter, audit.audit, schedule.schedule,
                sim.scenario, db.db, serve.serve, serve.service):
    cli.add_command(command)
cli.add_command(capture.capture)  # slice H (issue 15): ``ksystui capture``


def main(argv: list[str] | None = None) -> int:
    """The console script: the exit status of what ran."""
    try:
        result = cli.main(args=argv, prog_name="ksystui", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        print("Aborted!", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0
