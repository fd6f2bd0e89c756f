"""Command-line verbs of the arbiter, for scripts and cron: submit, queue,
cancel, raise, resolve, arbiter, audit, schedule. They share the console's
arbiter and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from ksystui.arbiter.dispatcher import Dispatcher, live_dispatchers
from ksystui.arbiter.service import SubmitError, plan_for, queue_lines, submit
from ksystui.config import Config, ConfigError, load_config
from ksystui.core.lifecycle import Op
from ksystui.core.operations import OP_WORDS
from ksystui.fleet.connect import build_fleet, close_fleet

EXIT = {"succeeded": 0, "failed": 1, "in_doubt": 3, "cancelled": 4}
DISPATCHER_ALIVE = 10.0


def console_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Env:
    """Configuration, fleet, transports and queue for one command."""

    def __init__(self, cfg: Config, queue, fleet, actor):
        self.cfg, self.queue, self.fleet, self.actor = cfg, queue, fleet, actor

    @property
    def transports(self) -> dict:
        return {name: m.transport for name, m in self.fleet.monitors.items()}

    def dispatcher(self, **kw) -> Dispatcher:
        return Dispatcher(self.queue, self.fleet, self.transports, self.actor, **kw)


@contextlib.asynccontextmanager
async def environment(config: Path | None, err: TextIO):
    from ksystui.store.audit_log import current_actor
    from ksystui.store.queue_async import AsyncQueue

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        raise SystemExit(_fail(err, str(exc), 2)) from None
    for w in loaded.warnings:
        print(f"warning: {w}", file=err)
    queue = await AsyncQueue.open(loaded.config.database.url)
    fleet = build_fleet(loaded.config)
    try:
        yield Env(loaded.config, queue, fleet, current_actor(console_id()))
    finally:
        await close_fleet(fleet)
        await queue.close()


def _fail(err: TextIO, message: str, code: int) -> int:
    print(f"ksystui: {message}", file=err)
    return code


async def run_submit(config, op_word: str, tenant: str, *, site=None, to=None, node=None, wait=False,
                     out: TextIO, err: TextIO) -> int:
    op = OP_WORDS.get(op_word)
    if op is None:
        return _fail(err, f"unknown operation {op_word!r}; use one of {', '.join(OP_WORDS)}", 2)
    async with environment(config, err) as env:
        t = env.cfg.tenant(tenant)
        if t is None:
            return _fail(err, f"no tenant {tenant!r} in the configuration", 2)
        names = [n.name for n in t.nodes]
        target = node or names[0]
        if target not in names:
            return _fail(err, f"node {target!r} does not belong to tenant {tenant}", 2)
        try:
            planned = await plan_for(env.fleet, target, op, confirmed=True, site=site, to_site=to)
        except SubmitError as exc:
            return _fail(err, str(exc), 2)
        row = await submit(env.queue, env.fleet, planned, priority=t.priority, actor=env.actor, confirmed=True)
        print(f"queued #{row.id}: {planned.command}  (node {target}"
              + (f", needs {', '.join(planned.host_names)}" if planned.host_names else "") + ")", file=out)
        if not wait:
            alive = live_dispatchers(await env.queue.dispatchers(alive_within=DISPATCHER_ALIVE))
            if alive:
                print(f"a dispatcher is running ({alive[0].console_id}); it will run when its turn comes", file=out)
            else:
                print("warning: no dispatcher is running: start `ksystui arbiter` or a console, "
                      "or submit with --wait", file=err)
            return 0
        return await _follow(env, row.id, out)


async def _follow(env: Env, op_id: int, out: TextIO) -> int:
    """Dispatch (safely, alongside any other dispatcher) and print the
    operation's progress until it ends."""
    dispatcher = env.dispatcher(tick=0.3)
    task = asyncio.create_task(dispatcher.run())
    shown = 0
    try:
        while True:
            op = await env.queue.get(op_id)
            lines = await env.queue.progress(op_id)
            for line in lines[shown:]:
                print(line, file=out, flush=True)
            shown = len(lines)
            if op.state in EXIT:
                print(f"#{op_id} {op.state}: {op.outcome or ''}".rstrip(), file=out)
                return EXIT[op.state]
            await asyncio.sleep(0.3)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dispatcher.stop()


async def run_queue(config, *, as_json: bool, tenant: str | None, out: TextIO, err: TextIO) -> int:
    async with environment(config, err) as env:
        if tenant is not None and env.cfg.tenant(tenant) is None:
            return _fail(err, f"no tenant {tenant!r} in the configuration", 2)
        lines = await queue_lines(env.queue, tenant=tenant)
        if as_json:
            json.dump([asdict(line) for line in lines], out, indent=2)
            out.write("\n")
            return 0
        if not lines:
            print("the queue is empty", file=out)
        for line in lines:
            pos = f"{line.position:>3}" if line.position else {"succeeded": "  ✓", "failed": "  ✗",
                                                                  "cancelled": "  –"}.get(line.state, "  ▶")
            print(f"{pos}  #{line.id:<5} {line.host:<12} {line.tenant:<12} {line.op:<16} {line.state:<9} "
                  f"{line.detail}", file=out)
        return 0


async def run_cancel(config, op_id: int, reason: str, out: TextIO, err: TextIO) -> int:
    async with environment(config, err) as env:
        if not await env.queue.cancel(op_id, env.actor, reason):
            op = await env.queue.get(op_id)
            why = "no such operation" if op is None else f"it is {op.state}; only queued operations can be cancelled"
            return _fail(err, f"cannot cancel #{op_id}: {why}", 1)
        print(f"#{op_id} cancelled", file=out)
        return 0


async def run_raise(config, op_id: int, reason: str, out: TextIO, err: TextIO) -> int:
    async with environment(config, err) as env:
        try:
            ok = await env.queue.raise_priority(op_id, env.actor, reason)
        except ValueError as exc:
            return _fail(err, str(exc), 2)
        if not ok:
            return _fail(err, f"cannot raise #{op_id}: only queued operations can be raised", 1)
        print(f"#{op_id} raised over the others (audited): {reason}", file=out)
        return 0


async def run_resolve(config, op_id: int, state: str, reason: str, out: TextIO, err: TextIO) -> int:
    async with environment(config, err) as env:
        try:
            ok = await env.queue.resolve(op_id, state, env.actor, reason)
        except ValueError as exc:
            return _fail(err, str(exc), 2)
        if not ok:
            return _fail(err, f"cannot resolve #{op_id}: only in_doubt or orphaned operations can be", 1)
        print(f"#{op_id} resolved as {state} (audited): {reason}", file=out)
        return 0


async def run_arbiter(config, out: TextIO, err: TextIO) -> int:
    """The dispatcher alone, for a service manager."""
    async with environment(config, err) as env:
        d = env.dispatcher(on_event=lambda e: print(f"#{e.op_id} {e.kind} {e.text}".rstrip(), file=out, flush=True))
        print(f"arbiter {env.actor.console} dispatching (Ctrl-C to stop; running operations finish first)",
              file=out, flush=True)
        try:
            await d.run()
        except asyncio.CancelledError:
            await d.stop()
        return 0


async def run_audit(config, action: str, tenant: str | None, out: TextIO, err: TextIO) -> int:
    async with environment(config, err) as env:
        if action == "verify":
            problems = await env.queue.verify_audit()
            if problems:
                for p in problems:
                    print(f"TAMPERED: {p}", file=out)
                return 1
            print("audit trail intact", file=out)
            return 0
        for entry in await env.queue.export_audit(tenant):
            out.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        return 0


async def run_schedule(config, action: str, *, margin: int, yes: bool, out: TextIO, err: TextIO) -> int:
    from ksystui.core.planning import PlanError, plan_auto_discovery
    from ksystui.core.snapshot import recovery_hosts

    async with environment(config, err) as env:
        await env.fleet.refresh_all()
        shares: dict[str, set[str]] = {n: set() for n in env.fleet.snapshots}
        for uuid_, host in recovery_hosts(env.fleet.snapshots.values()).items():
            for _tenant, node, _prod in host.pairs:
                shares[node].add(uuid_)
        durations = {}
        for node in env.fleet.snapshots:
            past = (await env.queue.durations(Op.DISCOVER.value, node)) + (await env.queue.durations(Op.VERIFY.value, node))
            durations[node] = (sum(past[-2:]) if past else 1800.0)
        try:
            windows = plan_auto_discovery(durations, shares, margin_minutes=margin)
        except PlanError as exc:
            return _fail(err, str(exc), 1)
        for w in windows:
            now = (env.fleet.snapshots[w.node].system.get("auto_discovery_time")
                   if env.fleet.snapshots[w.node].system else None) or "?"
            print(f"{w.node:<16} auto_discovery_time {w.hhmm}  (now {now.split()[0]}; window {w.minutes} min)",
                  file=out)
        if action == "plan":
            return 0
        if not yes:
            print("re-run with --yes to push this schedule through the arbiter", file=out)
            return 1
        from ksystui.core.ksysmgr.commands import build_modify_system
        from ksystui.store.queue import NewOp

        ids = []
        for w in windows:
            tenant = env.fleet.snapshots[w.node].tenant
            row = await env.queue.submit(NewOp(tenant=tenant, node=w.node, op=Op.CONFIGURE.value,
                                               argv=tuple(build_modify_system(auto_discovery_time=w.hhmm)),
                                               priority=env.cfg.tenant(tenant).priority, confirmed=True), env.actor)
            ids.append(row.id)
        print(f"queued {len(ids)} schedule changes: " + ", ".join(f"#{i}" for i in ids), file=out)
        codes = [await _follow(env, i, out) for i in ids]
        return max(codes, default=0)
