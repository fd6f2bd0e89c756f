"""``ksystui schedule plan | apply``: stagger ``auto_discovery_time`` across
the nodes that share recovery hosts. The rules (how long a node's daily
run takes, which nodes share a host, the plan) live in the core; this
reads the fleet and the queue's history, and ``apply`` submits each change
through the arbiter like any other operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import click

from ksystui.cli.arbiter import FOLLOW_TICK, Failed, follow, run_arbiter_verb
from ksystui.cli.options import (
    CHANGES_OPERATIONS,
    NO_TENANT_SCOPE,
    NOT_THE_CONSOLE,
    GlobalOptions,
    takes_global_options,
)
from ksystui.core.lifecycle import Op

if TYPE_CHECKING:
    from ksystui.bootstrap import Runtime
    from ksystui.core.planning import NodeWindow

WHOLE_FLEET = NO_TENANT_SCOPE + ": nodes of every tenant share recovery hosts, so they are planned together"


@click.group()
def schedule() -> None:
    """Stagger auto_discovery_time across nodes sharing recovery hosts."""


def margin_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--margin", type=click.IntRange(min=0), default=15, show_default=True,
                        help="minutes between windows")(fn)


@schedule.command()
@margin_option
@click.option("--yes", is_flag=True, hidden=True, help="(apply only)")
@takes_global_options(refuses={"tenant": WHOLE_FLEET, "theme": NOT_THE_CONSOLE})
def plan(margin: int, yes: bool, opts: GlobalOptions) -> None:
    """Show the proposed schedule."""

    async def body(rt: Runtime, out: TextIO) -> int:
        await planned_windows(rt, margin, out)
        return 0

    run_arbiter_verb(opts, body)


@schedule.command()
@margin_option
@click.option("--yes", is_flag=True, help="apply without asking")
@takes_global_options(refuses={"tenant": WHOLE_FLEET, "theme": NOT_THE_CONSOLE, "readonly": CHANGES_OPERATIONS})
def apply(margin: int, yes: bool, opts: GlobalOptions) -> None:
    """Push the proposed schedule through the arbiter."""

    async def body(rt: Runtime, out: TextIO) -> int:
        from ksystui.arbiter.service import submit
        from ksystui.core.planning import schedule_change

        windows = await planned_windows(rt, margin, out)
        if not yes:
            print("re-run with --yes to push this schedule through the arbiter", file=out)
            return 1
        queue = rt.required_operations().queue
        ids = []
        for w in windows:
            tenant = rt.fleet.snapshots[w.node].tenant
            row = await submit(queue, rt.fleet, schedule_change(w, tenant), priority=rt.priority(tenant),
                               actor=rt.actor, confirmed=True)
            ids.append(row.id)
        print(f"queued {len(ids)} schedule changes: " + ", ".join(f"#{i}" for i in ids), file=out)
        codes = [await follow(rt, i, out) for i in ids]
        return max(codes, default=0)

    run_arbiter_verb(opts, body, tick=FOLLOW_TICK)


async def planned_windows(rt: Runtime, margin: int, out: TextIO) -> list[NodeWindow]:
    """Read every node, plan from the queue's history, print the plan."""
    from ksystui.core.planning import PlanError, auto_discovery_seconds, shared_hosts_by_node
    from ksystui.core.schedule import plan_from_system

    queue = rt.required_operations().queue
    await rt.fleet.refresh_all()
    snapshots = rt.fleet.snapshots
    durations = {node: auto_discovery_seconds(await queue.durations(Op.DISCOVER.value, node),
                                              await queue.durations(Op.VERIFY.value, node))
                 for node in snapshots}
    try:  # planned from what each node's `query system` says, not assumed
        plan = plan_from_system(durations, shared_hosts_by_node(snapshots.values()),
                                {n: s.system for n, s in snapshots.items()}, margin_minutes=margin)
    except PlanError as exc:
        raise Failed(str(exc)) from None
    for w in plan.windows:
        system = snapshots[w.node].system
        now = (system.get("auto_discovery_time") if system else None) or "?"
        kept = "  kept: it collides with no node sharing its host" if w.node in plan.kept else ""
        print(f"{w.node:<16} auto_discovery_time {w.hhmm}  (now {now.split()[0]}; window {w.minutes} min){kept}",
              file=out)
    for node, why in plan.skipped:
        print(f"{node:<16} no window: {why}", file=out)
    for node, note in plan.notes:
        print(f"{node:<16} note: {note}", file=out)
    return list(plan.windows)

