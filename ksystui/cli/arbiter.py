"""The arbiter's verbs, for scripts and cron: ``submit``, ``queue``,
``cancel``, ``raise``, ``resolve`` (and ``arbiter``, the provider service's
former name). They go through the same composition root and queue as the
console; the provider service (``ksystui serve``) dispatches, and ``submit
--wait`` dispatches itself only while no service leads.

A tenant scope (``--tenant``) limits each to that tenant's operations: an
operation of another tenant is, to a scoped caller, no operation at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from ksystui.cli.options import (
    CHANGES_OPERATIONS,
    NO_TENANT_SCOPE,
    NOT_THE_CONSOLE,
    OPERATION_ID,
    GlobalOptions,
    Refused,
    run_verb,
    takes_global_options,
)
from ksystui.core.lifecycle import Op
from ksystui.core.operations import OP_WORDS, preconditions
from ksystui.core.opstate import OpState

if TYPE_CHECKING:
    from ksystui.bootstrap import Runtime
    from ksystui.store.queue_async import AsyncQueue

# how `submit --wait` exits: scripts tell an operation in doubt from one that failed
EXIT = {OpState.SUCCEEDED: 0, OpState.FAILED: 1, OpState.IN_DOUBT: 3, OpState.CANCELLED: 4}
DISPATCHER_ALIVE = 10.0  # seconds since its last heartbeat
FOLLOW_TICK = 0.3
CHANGES = {"readonly": CHANGES_OPERATIONS, "theme": NOT_THE_CONSOLE}


class Failed(Exception):
    """The verb ran and could not do it: one line, and exit status ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@contextlib.asynccontextmanager
async def arbiter_runtime(config: Path | None, err: TextIO, *, tenant: str | None = None,
                          **dispatch: Any) -> AsyncIterator[Runtime]:
    """The runtime every arbiter verb needs: configuration, queue, fleet, dispatcher."""
    from ksystui.bootstrap import Need, check_scope, load, runtime

    loaded = load(config, err)
    check_scope(loaded, tenant)
    async with runtime(loaded, err, queue=Need.REQUIRED, **dispatch) as rt:
        yield rt


def run_arbiter_verb(opts: GlobalOptions, body: Callable[[Runtime, TextIO], Awaitable[int]],
                     **dispatch: Any) -> None:
    """Run ``body`` on the arbiter's runtime; ``Failed`` becomes ``ksystui VERB: why``."""
    where = click.get_current_context().command_path

    async def verb() -> int:
        try:
            async with arbiter_runtime(opts.config, sys.stderr, tenant=opts.tenant, **dispatch) as rt:
                return await body(rt, sys.stdout)
        except Failed as exc:
            print(f"{where}: {exc}", file=sys.stderr)
            return exc.code

    run_verb(verb)


@click.command()
@click.argument("op", type=click.Choice(list(OP_WORDS)), metavar="OP")
@click.argument("tenant_name", metavar="[TENANT]", required=False)
@click.option("--site", help="site to act on (default: the tenant's active site)")
@click.option("--to", "to_site", help="target site of a move (default: the backup site)")
@click.option("--node", help="the tenant's KSYS node (default: its first)")
@click.option("--workgroup", help="resync: the workgroup (PowerVS) or disk group (on-prem); default: the first "
                                  "whose replication is not consistent")
@click.option("--yes", is_flag=True, help="move-unplanned from a script: skip typing the tenant's name")
@click.option("--wait", is_flag=True, help="dispatch too, follow progress, exit with the outcome")
@click.option("--force", is_flag=True, help="queue it even though the same request is queued or running")
@click.option("--reason", help="why another identical request is needed (with --force; audited)")
@click.option("--over-capacity", "over_capacity", metavar="REASON",
              help="a move or DR test that does not fit its recovery hosts: queue it anyway, for this written "
                   "reason (audited)")
@takes_global_options(refuses=CHANGES)
def submit(op: str, tenant_name: str | None, site: str | None, to_site: str | None, node: str | None,
           workgroup: str | None, yes: bool, wait: bool, force: bool, reason: str | None,
           over_capacity: str | None, opts: GlobalOptions) -> None:
    """Queue an operation through the arbiter (TENANT: default, the --tenant scope).

    OP: discover, verify, move, move-unplanned, dr-test, cleanup, recover, resync.
    The move of a moved tenant is the move home: it queues the discover/verify
    it needs first; with --wait the move follows it."""
    name = tenant_name or opts.tenant
    if name is None:
        raise click.UsageError("name the TENANT (or give --tenant)")
    if opts.tenant is not None and name != opts.tenant:
        raise Refused(f"{name} is outside the --tenant {opts.tenant} scope")
    if workgroup is not None and OP_WORDS[op] is not Op.RESYNC:
        raise Refused("--workgroup names what a resync works on; other operations work on a site")
    if OP_WORDS[op] is Op.MOVE_UNPLANNED and not yes:
        confirm_unplanned(name)
    duplicate_reason = forced_reason(force, reason)
    if over_capacity is not None and not over_capacity.strip():
        raise Refused("--over-capacity needs the written reason why it must run anyway (it is audited)")

    async def body(rt: Runtime, out: TextIO) -> int:
        from ksystui.arbiter.dispatcher import live_dispatchers
        from ksystui.arbiter.service import SubmitError, plan_for
        from ksystui.arbiter.service import submit as submit_planned

        queue = rt.required_operations().queue
        info = rt.tenant(name)
        if info is None:
            raise Failed(f"no tenant {name!r} in the configuration", 2)
        target = node or info.default_node
        if target is None or target not in info.nodes:
            raise Failed(f"node {target!r} does not belong to tenant {name}", 2)
        for _step in range(2):  # at most a first step (core.operations.steps) and the operation
            try:
                planned = await plan_for(rt.fleet, target, OP_WORDS[op], confirmed=True, site=site,
                                         to_site=to_site, workgroup=workgroup)
            except SubmitError as exc:
                raise Failed(str(exc), 2) from None
            try:
                row = await submit_planned(queue, rt.fleet, planned, priority=info.priority, actor=rt.actor,
                                           confirmed=True, duplicate_reason=duplicate_reason,
                                           capacity_reason=over_capacity)
            except SubmitError as exc:  # the same request is queued already, it does not fit its hosts…
                raise Failed(str(exc), 2) from None
            print(f"queued #{row.id}: {planned.command}  (node {target}"
                  + (f", needs {', '.join(planned.host_names)}" if planned.host_names else "") + ")", file=out)
            more = planned.then is not None  # a first step (the discover/verify a move home needs)
            if planned.purpose:
                print(planned.purpose, file=out)
            if row.capacity_override is not None:
                print(f"queued over capacity (audited): {row.capacity_override}", file=sys.stderr)
            snap = rt.fleet.snapshots.get(target)
            for why in preconditions(planned.op, snap, datetime.now(UTC)) if snap is not None else ():
                print(f"warning: it would be refused if its turn came now: {why}", file=sys.stderr)
            if not wait:
                break
            rc = await follow(rt, row.id, out, scope=opts.tenant)
            if rc != 0 or not more:
                return rc
        else:
            if wait:  # the first step succeeded and the operation still needs it again
                raise Failed(f"{op} of {name} is still not ready after its first step: see `ksystui queue`")
        leader = await service_leader(queue)
        alive = live_dispatchers(await queue.dispatchers(alive_within=DISPATCHER_ALIVE))
        if leader is not None:
            print(f"the provider service ({leader}) will run it when its turn comes", file=out)
        elif alive:
            print(f"a dispatcher is running ({alive[0].console_id}); it will run when its turn comes", file=out)
        else:
            print("warning: no dispatcher is running (no provider service leads): start `ksystui serve`, "
                  "or submit with --wait", file=sys.stderr)
        return 0

    run_arbiter_verb(opts, body, tick=FOLLOW_TICK)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def confirm_unplanned(tenant: str) -> None:
    """An unplanned move is a disaster move: on a terminal the operator types
    the tenant's name (as in the console); a script says ``--yes``."""
    if not stdin_is_terminal():
        raise Refused(f"an unplanned move of {tenant} is confirmed by typing the tenant's name on a terminal; "
                      "from a script, add --yes")
    typed = click.prompt(f"Unplanned move (disaster) of {tenant}. Type the tenant's name to confirm",
                         default="", show_default=False, err=True)
    if typed.strip() != tenant:
        raise Refused(f"not confirmed ({typed.strip() or 'nothing'} typed, {tenant} expected): nothing queued")


def forced_reason(force: bool, reason: str | None) -> str | None:
    """The written reason for queueing a duplicate (``--force --reason``), or None."""
    text = (reason or "").strip()
    if force and not text:
        raise Refused("--force needs --reason: why another identical request (it is audited)")
    if text and not force:
        raise Refused("--reason goes with --force (the reason for queueing an identical request)")
    return text or None


async def service_leader(queue: AsyncQueue) -> str | None:
    """The provider service member that leads on this database, or None."""
    from ksystui.service.status import live_leader
    from ksystui.store.lease import AsyncLeaseStore

    lease = AsyncLeaseStore(queue.queue.engine)
    return live_leader(await lease.state(), await lease.now())


async def follow(rt: Runtime, op_id: int, out: TextIO, *, scope: str | None = None) -> int:
    """Print the operation's progress until it ends; its outcome is the exit
    status. While it waits, say why (who holds what it needs, in what state,
    since when), each time that changes. The provider service dispatches it
    when one leads; while none does, this process dispatches (safely,
    alongside any other dispatcher), its writes fenced off the moment a
    service takes the lease. Scoped (``scope``): it dispatches that tenant's
    operations only, and says nothing of another tenant's but that one holds
    the host."""
    from ksystui.arbiter.dispatcher import Dispatcher, unreachable_alert_after
    from ksystui.arbiter.service import waiting_reason
    from ksystui.store.feed import AsyncFeed, Feed
    from ksystui.store.lease import LeaseStore

    ops = rt.required_operations()
    engine = ops.queue.queue.engine
    guard = LeaseStore(engine).no_leader_guard()
    scoped_nodes = {n for t in rt.tenants if t.name == scope for n in t.nodes} if scope is not None else None
    transports = {n: m.transport for n, m in rt.fleet.monitors.items() if scoped_nodes is None or n in scoped_nodes}
    dispatcher = Dispatcher(ops.queue.fenced(guard), rt.fleet, transports, rt.actor, tick=FOLLOW_TICK,
                            unreachable_alert_after=unreachable_alert_after(),
                            raise_alerts=AsyncFeed(Feed(engine).fenced(guard)).raise_alerts)
    task: asyncio.Task[None] | None = None
    followed: str | None = None
    shown = 0
    said = ""
    try:
        while True:
            leader = await service_leader(ops.queue)
            if leader is not None:
                if leader != followed:
                    print(f"the provider service ({leader}) dispatches it", file=out, flush=True)
                    followed = leader
                if task is not None:  # a service took over: it admits from now on (a command
                    task.cancel()     # already sent here ends here, and the service records it)
                    task = None
            elif task is None:
                task = asyncio.create_task(dispatcher.run())
            op = await ops.queue.get(op_id)
            assert op is not None  # operations are never deleted
            lines = await ops.queue.progress(op_id)
            for line in lines[shown:]:
                print(line, file=out, flush=True)
            shown = len(lines)
            if op.state.terminal:
                print(f"#{op_id} {op.state}: {op.outcome or ''}".rstrip(), file=out)
                return EXIT[op.state]
            if op.state is OpState.QUEUED:
                why = await waiting_reason(ops.queue, op_id, tenant=scope) or ""
                if why.startswith("waits") and _without_clock(why) != _without_clock(said):
                    print(f"#{op_id} {why}", file=out, flush=True)
                    said = why
            await asyncio.sleep(FOLLOW_TICK)
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await dispatcher.stop()


def _without_clock(reason: str) -> str:
    """A waiting reason without its running ages: printed again only when
    something else changed (another holder, another state)."""
    return re.sub(r" \([0-9<][^()]*\)", "", reason)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def queue(as_json: bool, opts: GlobalOptions) -> None:
    """What runs and what waits, per shared recovery host."""

    async def body(rt: Runtime, out: TextIO) -> int:
        lines = await rt.required_operations().port.lines(opts.tenant)
        if as_json:
            json.dump([asdict(line) for line in lines], out, indent=2)
            out.write("\n")
            return 0
        if not lines:
            print("the queue is empty", file=out)
        for line in lines:
            print(f"{line.place:>3}  #{line.id:<5} {line.host:<12} {line.tenant:<12} {line.op:<16} {line.state:<9} "
                  f"{line.detail}", file=out)
        return 0

    run_arbiter_verb(opts, body)


async def change_operation(rt: Runtime, op_id: int, scope: str | None, verb: str,
                           change: Callable[[], Awaitable[bool]], refusal: Callable[[], Awaitable[str]]) -> None:
    """Change one operation (audited by the store): refused, with the reason,
    when it does not exist, belongs to another tenant than the scope's (to
    a scoped caller, the same thing) or is not in a state to be changed."""
    op = await rt.required_operations().queue.get(op_id)
    if op is None or (scope is not None and op.tenant != scope):
        raise Failed(f"cannot {verb} #{op_id}: no such operation")
    try:
        changed = await change()
    except ValueError as exc:  # the store refuses a reason or a state it cannot take
        raise Failed(str(exc), 2) from None
    if not changed:
        raise Failed(f"cannot {verb} #{op_id}: {await refusal()}")


def because(text: str) -> Callable[[], Awaitable[str]]:
    async def reason() -> str:
        return text

    return reason


@click.command()
@click.argument("op_id", metavar="ID", type=OPERATION_ID)
@click.option("--reason", default="", help="why (audited)")
@takes_global_options(refuses=CHANGES)
def cancel(op_id: int, reason: str, opts: GlobalOptions) -> None:
    """Cancel a queued operation."""

    async def body(rt: Runtime, out: TextIO) -> int:
        ops = rt.required_operations()
        port, queue = ops.port, ops.queue

        async def state_now() -> str:
            op = await queue.get(op_id)
            return f"it is {op.state if op is not None else 'gone'}; only queued operations can be cancelled"

        await change_operation(rt, op_id, opts.tenant, "cancel", lambda: port.cancel(op_id, reason), state_now)
        print(f"#{op_id} cancelled", file=out)
        return 0

    run_arbiter_verb(opts, body)


@click.command(name="raise")
@click.argument("op_id", metavar="ID", type=OPERATION_ID)
@click.option("--reason", required=True, help="the written reason (required)")
@takes_global_options(refuses=CHANGES)
def raise_(op_id: int, reason: str, opts: GlobalOptions) -> None:
    """Raise a queued operation over the others (audited)."""

    async def body(rt: Runtime, out: TextIO) -> int:
        port = rt.required_operations().port
        await change_operation(rt, op_id, opts.tenant, "raise", lambda: port.raise_priority(op_id, reason),
                               because("only queued operations can be raised"))
        print(f"#{op_id} raised over the others (audited): {reason}", file=out)
        return 0

    run_arbiter_verb(opts, body)


@click.command()
@click.argument("op_id", metavar="ID", type=OPERATION_ID)
@click.argument("state", type=click.Choice(["succeeded", "failed", "cancelled"]))
@click.option("--reason", required=True, help="what the operator checked (required)")
@takes_global_options(refuses=CHANGES)
def resolve(op_id: int, state: str, reason: str, opts: GlobalOptions) -> None:
    """Settle an operation left in doubt (audited)."""

    async def body(rt: Runtime, out: TextIO) -> int:
        queue = rt.required_operations().queue
        await change_operation(rt, op_id, opts.tenant, "resolve", lambda: queue.resolve(op_id, state, rt.actor, reason),
                               because("only in_doubt or orphaned operations can be"))
        print(f"#{op_id} resolved as {state} (audited): {reason}", file=out)
        return 0

    run_arbiter_verb(opts, body)


@click.command()
@takes_global_options(refuses={**CHANGES, "tenant": NO_TENANT_SCOPE + ": it dispatches every tenant's operations"})
def arbiter(opts: GlobalOptions) -> None:
    """The provider service under its former name (see `ksystui serve`)."""
    from ksystui.cli.serve import serve_verb
    from ksystui.service.status import DEFAULT_TTL

    serve_verb(opts, DEFAULT_TTL, note="ksystui arbiter: the headless dispatcher is the provider service now: "
                                       "running `ksystui serve`")
