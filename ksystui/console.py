"""Start the control room: the live fleet from a configuration, the store,
and the Textual app on top (the app itself knows no transport or database)."""

from __future__ import annotations

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
    if scope is not None and cfg.tenant(scope) is None:
        raise ConsoleError(f"no tenant {scope!r} in the configuration")
    store = None
    if use_store:
        from ksystui.store import AsyncStore

        try:
            store = await AsyncStore.open(cfg.database.url)
        except Exception as exc:  # watching matters more than recording
            log.warning("database unavailable, nothing will be recorded: %s", exc)
    fleet = build_fleet(cfg, store)
    try:
        app = ControlRoomApp(fleet, tenant_infos(cfg), scope=scope, readonly=readonly,
                             theme=theme or cfg.ui.theme, keys=cfg.ui.keys, bell=cfg.ui.bell)
    except KeymapError as exc:
        raise ConsoleError(str(exc)) from None
    try:
        await app.run_async()
    finally:
        await close_fleet(fleet)
        if store is not None:
            await store.close()
    return app.return_code or 0


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
            cfg = cfg.model_copy(update={"poll": cfg.poll.model_copy(update={"interval": poll_interval})})
            return await run_console(cfg, scope=scope, readonly=readonly, theme=theme, use_store=False)


async def run_from_config(path: Path | None, **kwargs) -> int:
    return await run_console(load_config(path).config, **kwargs)
