"""The global options (``--config``, ``--tenant``, ``--readonly``,
``--theme``) and how a verb receives them.

Each may be given before the verb (``ksystui --tenant A status``) or after
it (``ksystui status --tenant A``); the verb gets one merged value. A verb
that cannot honour an option it was given refuses it with one line and
exit status 2: a safety option is never silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click

THEMES = ("dark", "light", "high-contrast")
EXIT_USAGE = 2
# an operation's number as a verb takes it (cancel, raise, resolve): one the database can hold
OPERATION_ID = click.IntRange(min=1, max=2**63 - 1)


@dataclass(frozen=True)
class GlobalOptions:
    config: Path | None = None
    tenant: str | None = None
    readonly: bool = False
    theme: str | None = None


class Refused(click.ClickException):
    """One line on standard error, ``ksystui VERB: message``, and exit 2."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, ctx: click.Context | None = None):
        super().__init__(message)
        self.where = (ctx or click.get_current_context()).command_path

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.where}: {self.format_message()}", file=file or sys.stderr)


def global_option_decorators(*, hidden: frozenset[str] = frozenset()) -> list[Callable[[Any], Any]]:
    """The four options as click declares them (on the root group and on every verb)."""
    return [
        click.option("--config", "config", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     hidden="config" in hidden, help="config.toml (default: in the XDG config dir)"),
        click.option("--tenant", "tenant", default=None, metavar="TENANT", hidden="tenant" in hidden,
                     help="this tenant only, and nothing of any other"),
        click.option("--readonly", "readonly", is_flag=True, default=False, hidden="readonly" in hidden,
                     help="watch only: no action can be started"),
        click.option("--theme", "theme", type=click.Choice(THEMES), default=None, hidden="theme" in hidden,
                     help="colour theme of the console"),
    ]


def _merge(ctx: click.Context, given: dict[str, Any]) -> GlobalOptions:
    before = ctx.find_object(GlobalOptions) or GlobalOptions()
    merged: dict[str, Any] = {}
    for f in fields(GlobalOptions):
        outer, inner = getattr(before, f.name), given.get(f.name)
        if f.name == "readonly":
            merged[f.name] = bool(outer or inner)
        elif outer is not None and inner is not None and outer != inner:
            raise Refused(f"--{f.name} given twice, as {outer} and as {inner}: say which", ctx)
        else:
            merged[f.name] = inner if inner is not None else outer
    return GlobalOptions(**merged)


F = TypeVar("F", bound=Callable[..., Any])

# the verb this process runs (``ksystui queue``), for a message about a failure no verb caught
RUNNING: list[str] = []


def takes_global_options(refuses: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Give a verb the merged global options as ``opts``. ``refuses`` maps
    each option the verb cannot honour to why; given anyway, before or
    after the verb, it is refused with that reason."""
    refusals = dict(refuses or {})

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            RUNNING[:] = [ctx.command_path]
            given = {f.name: kwargs.pop(f.name, None) for f in fields(GlobalOptions)}
            opts = _merge(ctx, given)
            for name, why in refusals.items():
                if getattr(opts, name) not in (None, False):
                    raise Refused(f"--{name}: {why}", ctx)
            return fn(*args, opts=opts, **kwargs)

        decorated: Any = wrapper
        for option in reversed(global_option_decorators(hidden=frozenset(refusals))):
            decorated = option(decorated)
        return decorated

    return decorate


# the usual reasons, so that every verb says the same thing for the same option
NOT_THE_CONSOLE = "the theme colours the console only (`ksystui`, `ksystui demo`)"
CHANGES_OPERATIONS = "refused: this verb changes operations, and a read-only session starts or changes nothing"
NO_CONFIGURATION = "this verb reads no configuration file"
NO_TENANT_SCOPE = "this verb has no tenant scope"


def finish(code: int) -> None:
    """End the verb with ``code`` as the process's exit status."""
    click.get_current_context().exit(code)


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a verb's coroutine; Ctrl-C and SIGTERM cancel it cleanly."""

    async def main() -> int:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # not on every platform, nor outside the main thread (tests run verbs in threads)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return 0

    return asyncio.run(main())


def run_verb(make: Callable[[], Coroutine[Any, Any, int]]) -> None:
    """Run a verb and exit with its status; a configuration or start-up
    problem is one line, ``ksystui VERB: problem``, and exit 2, and so is a
    database that fails after it was opened (it went away, its schema is
    not what its revision says)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ksystui.bootstrap import StartupError
    from ksystui.config import ConfigError
    from ksystui.store.engine import StoreError

    try:
        code = run_async(make())
    except (ConfigError, StartupError) as exc:
        raise Refused(str(exc)) from None
    except StoreError as exc:
        raise Refused(f"database unavailable: {exc}") from None
    except SQLAlchemyError as exc:
        raise Refused(f"database failed: {database_failure(exc)}") from None
    finish(code)


def database_failure(exc: BaseException) -> str:
    """A database error in the driver's words, on one line, without the SQL
    statement SQLAlchemy appends (it says nothing to an operator)."""
    orig = getattr(exc, "orig", None)
    words = " ".join(str(orig if orig is not None else exc).split())
    hint = " (the database's schema is incomplete: was a table dropped? `ksystui db upgrade` cannot tell)" \
        if "no such table" in words or ("relation" in words and "does not exist" in words) else ""
    return words[:300] + hint
