"""Start the control room: the live fleet from a configuration, the store,
and the Textual app on top (the app itself knows no transport or database)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from ksystui.config import Config, load_config
from ksystui.fleet.connect import build_fleet, close_fleet, tenant_infos
from ksystui.ui.actions import KeymapError
from ksystui.ui.app import ControlRoomApp

log = logging.getLogger(__name__)


class ConsoleError(Exception):
    pass


async def run_console(cfg: Config, *, scope: str | None = None, readonly: bool = False,
                      theme: str | None = None, use_store: bool = True) -> int:
    """The console over the live fleet; with a database it also dispatches
    (every running console does, safely: exclusivity lives in the database)."""
    if scope is not None and cfg.tenant(scope) is None:
        raise ConsoleError(f"no tenant {scope!r} in the configuration")
    store = queue = None
    if use_store:
        from ksystui.store import AsyncStore
        from ksystui.store.queue_async import AsyncQueue

        try:
            store = await AsyncStore.open(cfg.database.url)
            queue = await AsyncQueue.open(cfg.database.url)
        except Exception as exc:  # watching matters more than recording
            log.warning("database unavailable: watching only, no operations can be queued: %s", exc)
    fleet = build_fleet(cfg, store)
    port = dispatcher = None
    if queue is not None:
        port, dispatcher = _arbiter(cfg, queue, fleet)
    try:
        app = ControlRoomApp(fleet, tenant_infos(cfg), scope=scope, readonly=readonly,
                             theme=theme or cfg.ui.theme, keys=cfg.ui.keys, bell=cfg.ui.bell,
                             arbiter=port)  # read-only: it shows the queue and the audit, starts nothing
    except KeymapError as exc:
        raise ConsoleError(str(exc)) from None
    dispatching = asyncio.create_task(dispatcher.run()) if dispatcher is not None and not readonly else None
    try:
        await app.run_async()
    finally:
        if dispatching is not None:
            dispatching.cancel()
            await asyncio.gather(dispatching, return_exceptions=True)
            if dispatcher.running:
                print(f"waiting for {len(dispatcher.running)} running operation(s) to finish "
                      "(they go on on the node regardless)...", flush=True)
            await dispatcher.stop()
        await close_fleet(fleet)
        if store is not None:
            await store.close()
        if queue is not None:
            await queue.close()
    return app.return_code or 0


def _arbiter(cfg: Config, queue, fleet):
    from ksystui.arbiter.dispatcher import Dispatcher
    from ksystui.arbiter.port import ArbiterPort
    from ksystui.cli_arbiter import console_id
    from ksystui.store.audit_log import current_actor

    actor = current_actor(console_id())
    transports = {name: m.transport for name, m in fleet.monitors.items()}
    dispatcher = Dispatcher(queue, fleet, transports, actor)
    port = ArbiterPort(queue, fleet, actor, {t.name: t.priority for t in cfg.tenants}, dispatcher)
    return port, dispatcher


async def run_demo(scenario: Path | None, speed: float, *, scope: str | None = None, readonly: bool = False,
                   theme: str | None = None, poll_interval: float = 2.0) -> int:
    """The simulator embedded, and the real console on it over SSH and REST."""
    from ksystui.sim.runner import SimRunner
    from ksystui.sim.world import SimWorld

    world = SimWorld.from_scenario(scenario, speed=speed)
    with tempfile.TemporaryDirectory(prefix="ksystui-demo-") as tmp:
        state = Path(tmp)
        async with SimRunner(world, state):
            cfg = load_config(state / "config.toml").config
            cfg = cfg.model_copy(update={
                "poll": cfg.poll.model_copy(update={"interval": poll_interval}),
                # the demo's queue and audit trail live and die with the demo
                "database": cfg.database.model_copy(update={"url": f"sqlite:///{state / 'demo.db'}"}),
            })
            return await run_console(cfg, scope=scope, readonly=readonly, theme=theme)
