"""``ksystui plan disaster --fail HOST|SITE|KEY=VALUE[,...] [--json]``: if
that failed now, in what order would the tenants be recovered, when would
each be back against its RTO, and can the recovery hosts hold everyone?

It reads what the provider service last read (its snapshots in the
database) when a service leads, else the nodes themselves (as ``status``
does), and the queue's history for how long moves take (the database is
required, as for ``queue``). It changes nothing. Scoped (``--tenant``), the plan is still made over every tenant
(they compete for the same hosts) and told without any other tenant's name.

Exit status: 0 when every recovery fits and meets its RTO, 1 when one
would breach or not fit (for monitoring), 2 for a name that takes nothing
down or a configuration problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
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
    from ksystui.arbiter.disaster import PlanHistory
    from ksystui.config import LoadedConfig
    from ksystui.core.snapshot import NodeSnapshot

EXIT_OK, EXIT_PROBLEM = 0, 1
DEFAULT_TIMEOUT = 20.0  # seconds: a node still silent then is planned on its last good data


@click.group(name="plan")
def plan_group() -> None:
    """What-if plans: a disaster's recovery order, times and capacity."""


@click.command(name="disaster")
@click.option("--fail", "fail", multiple=True, metavar="HOST|SITE|KEY=VALUE[,...]",
              help="what fails: hosts (name or CEC UUID; a recovery host takes no one down, but whoever would "
                   "recover onto it cannot), sites (or PowerVS regions, workspaces), "
                   "node tags of the configuration (city=austin); default: every production host in scope")
@click.option("--json", "as_json", is_flag=True, help="print JSON (seconds from the disaster and ISO times)")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=3600), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="when reading the nodes: a node still silent then is planned on its last good data")
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def plan_disaster(fail: tuple[str, ...], as_json: bool, timeout: float, opts: GlobalOptions) -> None:
    """If FAIL failed now: each tenant's predicted start and finish against
    its RTO, in the arbiter's order; whether each recovery host holds
    everyone; what another order or more capacity would change.
    Exit 1 when a tenant would breach its RTO or not fit."""
    run_verb(lambda: run_plan(opts.config, fail, as_json, opts.tenant, sys.stdout, sys.stderr, timeout=timeout))


plan_group.add_command(plan_disaster)


async def run_plan(config: Path | None, fail: tuple[str, ...] | list[str], as_json: bool, tenant: str | None,
                   out: TextIO, err: TextIO, *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Plan the disaster ``fail`` names and print it (text or JSON)."""
    from ksystui.arbiter.disaster import disaster_report
    from ksystui.bootstrap import check_scope, load, plan_context
    from ksystui.cli.status_read import read_nodes, service_snapshots
    from ksystui.core.disaster_report import report_json, report_lines
    from ksystui.core.failure_domains import UnknownFailureDomain

    deadline = asyncio.get_running_loop().time() + timeout
    loaded = load(config, err)
    check_scope(loaded, tenant)
    async with _history(loaded) as history:  # first: a database that cannot be used is the one thing said
        snapshots = await service_snapshots(loaded, err, deadline)
        if snapshots is None:
            snapshots = (await read_nodes(loaded, err, tenant, deadline)).snapshots
        try:
            report = await disaster_report(history, _every_node(loaded, snapshots), list(fail),
                                           context=plan_context(loaded.config), scope=tenant)
        except UnknownFailureDomain as exc:
            raise Refused(str(exc)) from None
    if as_json:
        json.dump(report_json(report), out, indent=2)
        out.write("\n")
    else:
        out.write("\n".join(report_lines(report)) + "\n")
    return EXIT_PROBLEM if report.problems else EXIT_OK


def _every_node(loaded: LoadedConfig, snapshots: dict[str, NodeSnapshot]) -> dict[str, NodeSnapshot]:
    """Every configured node, an unread one as an empty snapshot (its
    failure is still resolved by its tags, and said to be unplanned)."""
    from ksystui.bootstrap import node_places
    from ksystui.core.model import Flavour
    from ksystui.core.snapshot import NodeSnapshot

    return {node: snapshots.get(node) or NodeSnapshot(node, t, Flavour(f), interval)
            for node, t, f, interval in node_places(loaded.config)}


@contextlib.asynccontextmanager
async def _history(loaded: LoadedConfig) -> AsyncIterator[PlanHistory]:
    """The queue's history (past durations, what holds resources now); a
    database that cannot be used is a ``StartupError`` naming its setting."""
    from ksystui.bootstrap import configured_database_url, database_problem
    from ksystui.store.queue_async import AsyncQueue

    url = configured_database_url(loaded)
    try:
        queue = await AsyncQueue.open(url)
    except Exception as exc:  # whatever the driver raises: the setting it comes from, in one line
        raise database_problem(loaded, exc) from None
    try:
        yield queue
    finally:
        await queue.close()
