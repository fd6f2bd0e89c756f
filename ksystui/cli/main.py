"""The ``ksystui`` command: the root group, its global options, and the
entry point. Without a verb it opens the console on the configured fleet."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ksystui import __version__
from ksystui.cli import arbiter, audit, capture, console, db, schedule, serve, sim, status
from ksystui.cli import report as report_verb
from ksystui.cli.incident import incident
from ksystui.cli.notify import notify
from ksystui.cli.options import RUNNING, GlobalOptions, global_option_decorators
from ksystui.cli.plan import plan_group
from ksystui.cli.replay import replay


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
cli.add_command(capture.capture)
cli.add_command(notify)
cli.add_command(report_verb.report)
cli.add_command(incident)
cli.add_command(replay)
cli.add_command(plan_group)


EXIT_INTERNAL = 70  # EX_SOFTWARE: a failure ksystui did not foresee, said in one line all the same
DEBUG_ENV = "KSYSTUI_DEBUG"  # set: an unforeseen failure shows its traceback too


def main(argv: list[str] | None = None) -> int:
    """The console script: the exit status of what ran. Whatever happens,
    what reaches the terminal is a sentence, never a traceback (unless
    ``KSYSTUI_DEBUG`` asks for one), and a reader that went away (``ksystui
    queue | head``) ends the command quietly."""
    RUNNING[:] = []
    try:
        result = cli.main(args=argv, prog_name="ksystui", standalone_mode=False)
    except click.ClickException as exc:
        return _said(exc.show, exc.exit_code)
    except click.Abort:
        return _said(lambda: print("Aborted!", file=sys.stderr), 1)
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return _said(functools.partial(print, f"{_verb()}: interrupted", file=sys.stderr), 130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        words = " ".join(str(exc).split())[:300]
        line = f"{_verb()}: failed: {type(exc).__name__}: {words} (a bug: {DEBUG_ENV}=1 shows where)"
        return _said(functools.partial(print, line, file=sys.stderr), EXIT_INTERNAL)
    return result if isinstance(result, int) else 0


def _verb() -> str:
    return RUNNING[0] if RUNNING else "ksystui"


def _said(say: Callable[[], None], code: int) -> int:
    """Say a last line on stderr; a stderr that is gone too is no reason for a traceback."""
    try:
        say()
        sys.stderr.flush()
    except BrokenPipeError:
        return _reader_gone()
    return code


def _reader_gone() -> int:
    """The reader of our output went away (``| head``): stop writing, quietly.
    Standard output is pointed at /dev/null so that the interpreter's last
    flush has nowhere to fail (Python's own advice for SIGPIPE)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
    return EXIT_PIPE


EXIT_PIPE = 141  # 128 + SIGPIPE, as a shell reports a command its reader left
