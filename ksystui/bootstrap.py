"""The composition root: the one place that turns a configuration into the
running parts — store and queue, fleet, dispatcher, arbiter port — and the
console app on top. The console, the demo, the arbiter verbs, ``status``
and ``config check`` all start here; nothing else wires these parts.

A console is a client of the database (``client_runtime``): the provider
service (``ksystui serve``) polls the nodes and dispatches; the console
builds no fleet, no transport and no dispatcher, and reads no node
credential.

A database that cannot be opened is, depending on who asks, a warning
(the console still watches, ``status`` still reports) or the end
(``ksystui submit`` has nowhere to queue): the caller says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ksystui.arbiter.disaster import PlanContext
from ksystui.arbiter.dispatcher import Dispatcher, DispatchEvent
from ksystui.arbiter.port import ArbiterPort
from ksystui.config import Config, ConfigError, LoadedConfig, database_url, load_config_and_warn
from ksystui.core.actor import Actor
from ksystui.core.tenants import UNKNOWN_PRIORITY, TenantInfo
from ksystui.fleet.connect import close_fleet, tenant_infos
from ksystui.fleet.fleet import Fleet
from ksystui.lazy_secrets import build_lazy_fleet
from ksystui.store.audit_log import current_actor

if TYPE_CHECKING:  # the UI and the store load only in the processes that use them
    from sqlalchemy.engine import URL, Engine

    from ksystui.client.source import DatabaseSource
    from ksystui.store import AsyncStore
    from ksystui.store.feed import AsyncFeed
    from ksystui.store.queue_async import AsyncQueue
    from ksystui.ui.app import ControlRoomApp


class StartupError(Exception):
    """This process cannot start; the message is one line for the operator."""


class Need(Enum):
    """How much a process needs the operations queue."""

    NONE = "none"  # status --direct: reads nodes only
    REQUIRED = "required"  # the arbiter verbs: nothing to do without it


def console_id() -> str:
    """This process among every console and dispatcher sharing a database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def load(path: Path | None, err: TextIO) -> LoadedConfig:
    """The configuration (``ConfigError`` when it is wrong), its warnings said on ``err``."""
    return load_config_and_warn(path, err)


def database_setting(loaded: LoadedConfig, problem: str = "") -> str:
    """The setting a database problem comes from, as ``file:line: key`` (the
    password's source for a password the server refused, else the url; the
    url unset: the default database, named)."""
    db = loaded.config.database
    if db.url is None:
        from ksystui.store.engine import default_database_path

        return f"{loaded.where('database', 'url')} (not set: the default database {default_database_path()})"
    refused = any(words in problem for words in _PASSWORD_REFUSED)
    if refused and db.password_env is not None:
        return loaded.where("database", "password_env")
    if refused and db.password_file is not None:
        return loaded.where("database", "password_file")
    return loaded.where("database", "url")


# how PostgreSQL (libpq) says the password was wrong or missing
_PASSWORD_REFUSED = ("password authentication failed", "no password supplied", "password is required")


def database_problem(loaded: LoadedConfig, problem: Exception | str, *, context: str = "") -> StartupError:
    """A database that cannot be used, as one line naming its setting:
    ``database unavailable: file:line: database.url: why``."""
    text = " ".join(str(problem).split())
    return StartupError(f"database unavailable: {context}{database_setting(loaded, text)}: {text}")


def configured_database_url(loaded: LoadedConfig) -> URL | None:
    """``database_url`` for ``loaded``: a password that cannot be read is a
    ``StartupError`` naming the setting that says where it should be."""
    try:
        return database_url(loaded.config.database)
    except ConfigError as exc:
        db = loaded.config.database
        key = "password_env" if db.password_env is not None else "password_file"
        raise StartupError(f"database unavailable: {loaded.where('database', key)}: {exc}") from None


async def open_configured_engine(loaded: LoadedConfig) -> Engine:
    """The configured database's engine, opened off the event loop (not
    migrated: a reader); one that cannot be opened is a ``StartupError``
    naming its setting."""
    from ksystui.store.engine import StoreError, open_engine

    url = configured_database_url(loaded)
    try:
        return await asyncio.to_thread(open_engine, url)
    except StoreError as exc:
        raise database_problem(loaded, exc) from None


def check_scope(loaded: LoadedConfig, tenant: str | None) -> None:
    """Refuse a scope naming no configured tenant (and say nothing of which
    tenants do exist: the caller may be scoped for a reason)."""
    if tenant is not None and loaded.config.tenant(tenant) is None:
        raise StartupError(f"no tenant {tenant!r} in the configuration ({loaded.path})")


@dataclass(frozen=True)
class Operations:
    """The operations queue and what works on it: the dispatcher that runs
    what it admits, and the port a console or a verb queues through. They
    come together or not at all."""

    queue: AsyncQueue
    dispatcher: Dispatcher
    port: ArbiterPort


@dataclass
class Runtime:
    """The parts one process runs on, built from its configuration."""

    loaded: LoadedConfig
    actor: Actor
    fleet: Fleet
    store: AsyncStore | None = None
    operations: Operations | None = None  # None: no queue was asked for, or the database is unavailable
    tenants: list[TenantInfo] = field(default_factory=list)

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def queue(self) -> AsyncQueue | None:
        return self.operations.queue if self.operations else None

    @property
    def dispatcher(self) -> Dispatcher | None:
        return self.operations.dispatcher if self.operations else None

    @property
    def arbiter(self) -> ArbiterPort | None:
        """What the console may do with the queue."""
        return self.operations.port if self.operations else None

    def required_operations(self) -> Operations:
        """The operations, for a runtime opened with ``Need.REQUIRED`` (which
        fails to start without them)."""
        if self.operations is None:
            raise StartupError("no operations queue: the database was not opened")
        return self.operations

    def tenant(self, name: str) -> TenantInfo | None:
        return next((t for t in self.tenants if t.name == name), None)

    def priority(self, tenant: str) -> int:
        """The tenant's agreement priority (1 goes first)."""
        info = self.tenant(tenant)
        return info.priority if info is not None else UNKNOWN_PRIORITY


@contextlib.asynccontextmanager
async def runtime(loaded: LoadedConfig, err: TextIO, *, record: bool = False, queue: Need = Need.NONE,
                  tick: float = 0.5, on_event: Callable[[DispatchEvent], None] | None = None,
                  scope: str | None = None) -> AsyncIterator[Runtime]:
    """Store (``record``: snapshots and events are kept), queue, fleet,
    dispatcher and arbiter port for ``loaded``; closed again on exit. The
    dispatcher is built, not started: the console and the verbs decide.

    The fleet reads each node's secrets when it first uses them, so one
    node's unreadable token breaks that node only; with ``scope`` it holds
    that tenant's nodes only (nothing of another tenant is then read; a
    dispatcher on it can run that tenant's operations only)."""
    cfg = loaded.config
    opened_queue = await _open_queue(loaded, queue)  # first: when it is required, nothing else is opened
    store = await _open_store(loaded, err) if record else None
    try:
        fleet = build_lazy_fleet(cfg, store, scope=scope)
    except Exception:  # a REST token that cannot be read, say: close what is open, then say why
        await _close(store, opened_queue, cfg, err)
        raise
    rt = Runtime(loaded, current_actor(console_id()), fleet, store, tenants=tenant_infos(cfg))
    if opened_queue is not None:
        dispatcher = Dispatcher(opened_queue, fleet, {n: m.transport for n, m in fleet.monitors.items()},
                                rt.actor, tick=tick, on_event=on_event)
        port = ArbiterPort(opened_queue, fleet, rt.actor, {t.name: t.priority for t in rt.tenants}, dispatcher,
                           plan_context=plan_context(cfg))
        rt.operations = Operations(opened_queue, dispatcher, port)
    try:
        yield rt
    finally:
        await close_fleet(fleet)
        await _close(store, opened_queue, cfg, err)


async def _open_store(loaded: LoadedConfig, err: TextIO) -> AsyncStore | None:
    """The store with the configuration mirrored in it (names, priorities,
    tiers and flavours only), or None: a broken database must not hide the
    fleet's state."""
    from ksystui.store import AsyncStore

    store = None
    try:
        store = await AsyncStore.open(configured_database_url(loaded))
        await store.sync_from_config(loaded.config)
        return store
    except Exception as exc:
        said = str(exc) if isinstance(exc, StartupError) else str(database_problem(loaded, exc))
        print(f"warning: {said.replace('database unavailable', 'database unavailable, nothing will be recorded', 1)}",
              file=err)
        if store is not None:
            await store.close()
        return None


async def _open_queue(loaded: LoadedConfig, need: Need) -> AsyncQueue | None:
    if need is Need.NONE:
        return None
    from ksystui.store.queue_async import AsyncQueue

    url = configured_database_url(loaded)
    try:
        return await AsyncQueue.open(url)
    except Exception as exc:  # whatever the driver raises: the setting it comes from, in one line
        raise database_problem(loaded, exc) from None


async def _close(store: AsyncStore | None, queue: AsyncQueue | None, cfg: Config, err: TextIO) -> None:
    if store is not None:
        try:  # the event retention of the configuration, once per run
            await store.prune_events(datetime.now(UTC) - timedelta(days=cfg.poll.event_retention_days))
        except Exception as exc:  # the report matters more than the bookkeeping
            print(f"warning: event retention not applied: {exc}", file=err)
        finally:
            await store.close()
    if queue is not None:
        await queue.close()


@dataclass
class ClientRuntime:
    """What a console runs on: the database the provider service writes,
    read through a ``DatabaseSource``, and the arbiter port it writes
    through (queue, cancel, raise, acknowledge). No fleet, no transport, no
    dispatcher, no node credential."""

    loaded: LoadedConfig
    actor: Actor
    feed: AsyncFeed
    queue: AsyncQueue
    source: DatabaseSource
    port: ArbiterPort
    tenants: list[TenantInfo] = field(default_factory=list)

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def arbiter(self) -> ArbiterPort:
        return self.port


def plan_context(cfg: Config) -> PlanContext:
    """What the disaster planner reads of the configuration: the tenants'
    agreements (priority, RTO) and the nodes' failure-domain tags."""
    return PlanContext(tuple(tenant_infos(cfg)), cfg.node_tags())


def node_places(cfg: Config) -> list[tuple[str, str, str, float]]:
    """(node, tenant, flavour, poll interval) of every configured node: all a
    console knows of a node besides what the service wrote of it."""
    return [(n.name, t.name, n.flavour, n.poll_interval or cfg.poll.interval) for t, n in cfg.nodes()]


@contextlib.asynccontextmanager
async def client_runtime(loaded: LoadedConfig, err: TextIO, *, scope: str | None = None, readonly: bool = False,
                         poll_seconds: float = 0.5) -> AsyncIterator[ClientRuntime]:
    """The console's parts over the configured database (``StartupError``
    when it cannot be opened: a console has nothing else to show)."""
    from ksystui.client.follow import ChangeWaiter
    from ksystui.client.source import DatabaseSource, NodePlace
    from ksystui.core.model import Flavour
    from ksystui.store.feed import AsyncFeed
    from ksystui.store.lease import AsyncLeaseStore, LeaseStore
    from ksystui.store.notify import listener_for
    from ksystui.store.queue import Queue
    from ksystui.store.queue_async import AsyncQueue

    check_scope(loaded, scope)
    cfg = loaded.config
    url = configured_database_url(loaded)
    try:
        feed = await AsyncFeed.open(url)
    except Exception as exc:
        raise database_problem(loaded, exc, context="the console reads the provider service's data from it: "
                               ) from None
    engine = feed.feed.engine
    queue = AsyncQueue(Queue(engine))
    waiter = ChangeWaiter((lambda: listener_for(engine.url)) if engine.dialect.name == "postgresql" else None,
                          poll_seconds=poll_seconds)
    places = [NodePlace(n, t, Flavour(f), i) for n, t, f, i in node_places(cfg)]
    try:
        reads = await _tenant_reads(feed, scope)
    except Exception:
        await feed.close()
        raise
    source = DatabaseSource(reads, places, scope=scope, waiter=waiter,
                            lease=AsyncLeaseStore(LeaseStore(reads.feed.engine)))
    try:
        await source.open()
        tenants = tenant_infos(cfg)
        actor = current_actor(console_id())
        port = ArbiterPort(queue, source, actor, {t.name: t.priority for t in tenants}, feed=feed,
                           readonly=readonly, scope=scope, plan_context=plan_context(cfg))
        yield ClientRuntime(loaded, actor, feed, queue, source, port, tenants)
    finally:
        await source.stop()
        if reads is not feed:
            await reads.close()
        await feed.close()


async def _tenant_reads(feed: AsyncFeed, scope: str | None) -> AsyncFeed:
    """What a console reads through. Scoped on PostgreSQL, that is the
    tenant's own role (``ksystui db grant-tenant``): row-level security then
    keeps every other tenant's snapshot, event and alert out of this process,
    not only off its screen. Writes (submit, acknowledge) go through the
    arbiter port, which acts for the scope's tenant only."""
    engine = feed.feed.engine
    if scope is None or engine.dialect.name != "postgresql":
        return feed
    from ksystui.store.engine import StoreError, open_engine
    from ksystui.store.feed import AsyncFeed, Feed

    try:
        scoped = await asyncio.to_thread(open_engine, engine.url, tenant_role=scope)
        reads = AsyncFeed(Feed(scoped))
        await reads.last_seq()  # the first connection takes the role, or says why it cannot
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    return reads


def console_app(rt: ClientRuntime, *, scope: str | None, readonly: bool, theme: str | None,
                greeting: str | None = None) -> ControlRoomApp:
    """The control room over this client runtime. Read-only, it still gets
    the arbiter port: it shows the queue, the audit trail and the alerts and
    changes nothing (the app refuses every write, and so does the port)."""
    from ksystui.ui.actions import KeymapError
    from ksystui.ui.app import ControlRoomApp

    check_scope(rt.loaded, scope)
    ui = rt.config.ui
    try:
        return ControlRoomApp(rt.source, rt.tenants, scope=scope, readonly=readonly, theme=theme or ui.theme,
                              keys=ui.keys, bell=ui.bell, arbiter=rt.port, shared=rt.source, greeting=greeting)
    except KeymapError as exc:
        raise StartupError(str(exc)) from None


@dataclass(frozen=True)
class Demo:
    """The embedded simulator's run: the configuration that reaches it, and
    where a second console finds the same nodes and the same database."""

    loaded: LoadedConfig
    admin_url: str

    @property
    def attach(self) -> str:
        """How to attach more consoles to this demo (they share its provider
        service: its snapshots, its alerts, its queue)."""
        path = self.loaded.path
        return (f"Simulator admin endpoint: {self.admin_url}\n"
                f"Attach a second console:   ksystui --config {path}\n"
                f"Attach a read-only one:    ksystui --readonly --config {path}\n"
                f"Provider service log:      {self.service_log}")

    @property
    def service_log(self) -> Path:
        """Where the demo's in-process service logs (the terminal is the console's)."""
        return self.loaded.path.parent / "service.log"


@contextlib.asynccontextmanager
async def blocking_work_joined() -> AsyncIterator[None]:
    """The block's blocking work (``asyncio.to_thread``: every database
    read and write) runs on threads of its own, and all of it has ended
    when the block has. Cancelling a ``to_thread`` ends the wait, not the
    thread: a write the stopping service or console cancelled would
    otherwise commit after the demo removed its directory (seen in CI: a
    queue write waiting on ``BEGIN IMMEDIATE`` anchored the audit trail
    into a directory being deleted, "Directory not empty")."""
    loop = asyncio.get_running_loop()
    own = ThreadPoolExecutor(thread_name_prefix="ksystui-demo")
    loop.set_default_executor(own)
    try:
        yield
    finally:
        loop.set_default_executor(ThreadPoolExecutor())  # for whatever runs after the block
        await loop.run_in_executor(None, own.shutdown)


@contextlib.asynccontextmanager
async def demo_configuration(scenario: Path | None, speed: float, *, poll_interval: float = 2.0,
                             ) -> AsyncIterator[Demo]:
    """The simulator embedded, serving on loopback while the block runs, and
    the configuration that reaches it over SSH and REST. The demo uses the
    database its ``config.toml`` names (in the run's own directory: the
    queue and audit trail live and die with the demo), so a console
    attached with ``--config`` on that file queues into the same arbiter."""
    from ksystui.config import load_config
    from ksystui.sim.runner import SimRunner
    from ksystui.sim.world import SimWorld

    world = SimWorld.from_scenario(scenario, speed=speed)
    # the threads are joined before the directory goes (the innermost block ends first)
    with tempfile.TemporaryDirectory(prefix="ksystui-demo-") as tmp:
        state = Path(tmp)
        async with blocking_work_joined(), SimRunner(world, state) as runner:
            loaded = load_config(state / "config.toml")
            cfg = loaded.config
            cfg = cfg.model_copy(update={"poll": cfg.poll.model_copy(update={"interval": poll_interval})})
            yield Demo(LoadedConfig(cfg, loaded.path, loaded.warnings), runner.admin_url)


@contextlib.asynccontextmanager
async def demo_service(demo: Demo) -> AsyncIterator[None]:
    """The provider service (``ksystui serve``) in this process, on the
    demo's database, leading before the block runs (so the console opens on
    live data); its log goes to ``demo.service_log``."""
    from ksystui.service.logs import log_to, stop_logging
    from ksystui.service.serve import Service

    with demo.service_log.open("a", encoding="utf-8") as log:
        handler = log_to(log)
        try:
            async with Service(demo.loaded.config) as service:
                await service.leading.wait()
                yield
        finally:
            stop_logging(handler)
