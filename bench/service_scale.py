"""What does one provider service cost a fleet of KSYS nodes, and how fast
does a change reach every console?

Starts, each in its own process: the simulator with N nodes (``ksystui sim``,
a scale scenario), one provider service polling every node and publishing
into the database (PostgreSQL started for the run when its binaries are
installed, else SQLite), and C console processes following the change feed.
Then, in the same run, today's design: C consoles each polling every node
themselves (of the first ``--polling-nodes``: a node's load does not depend
on how many others there are, and one simulator process on a small machine
cannot answer C x 500 polling sessions). Measured over a window of several
poll intervals:

* ksysmgr queries per node per poll interval, from the simulator's
  ``GET /stats`` (as polls: one poll of an on-prem node is 9 queries);
* a change on a node (a ``replication_broken`` fault on K nodes) → seen in
  every console's state: from the moment the service stored it (the event
  row's ``first_seen``, the database's clock) to the last console holding
  it, p50/p95; and end to end, from the fault (bounded by the poll interval);
* the service's CPU per node per poll cycle, one idle console's CPU;
* the node load of C polling consoles, as a ratio to the service's.

The last line is::

    service_scale nodes=500 consoles=5 queries_per_node_interval=X change_p95_ms=Y node_load_ratio_vs_polling_consoles=Z

    .venv/bin/python bench/service_scale.py [--nodes 500] [--consoles 5] [--interval 60] [--seconds 180]

The same script is each child process (``--role leader|console|poller``).
The service is ``ksystui serve`` when this ksystui has it (else a leader loop
here: the fleet publishing each poll through ``Feed.publish``); a console is
the database client of ``ksystui.client`` when present (else a loop reading
``Feed.last_seq``/``changes_since``/``snapshots``, woken by LISTEN/NOTIFY
on PostgreSQL). Which ones ran is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.store.pg starts a throwaway PostgreSQL

from ksystui.core.model import Flavour  # noqa: E402
from ksystui.fleet.monitor import QUERIES  # noqa: E402

CHANGE_EVENT = "REPLICATION_FAILURE"  # what a replication_broken fault adds to the node's events
POLL_QUERIES = len(QUERIES[Flavour.ONPREM])
TICK = os.sysconf("SC_CLK_TCK")


# --- children ----------------------------------------------------------------------


async def stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def say(*words: object) -> None:
    print(*words, flush=True)


async def leader_role(config: Path) -> None:
    """The fallback service: the fleet polls every node once per interval and
    publishes each poll into the change feed."""
    from ksystui.config import database_url, load_config
    from ksystui.fleet.connect import build_fleet
    from ksystui.store.engine import open_engine
    from ksystui.store.feed import AsyncFeed, Feed

    cfg = load_config(config).config
    feed = AsyncFeed(Feed(open_engine(database_url(cfg.database))))

    class Publisher:
        async def save_snapshot(self, snap: Any) -> None:
            await feed.publish(snap)

        async def add_events(self, node: str, tenant: str, events: Any) -> list[Any]:
            return list(events)  # publish stores them, with the snapshot

    fleet = build_fleet(cfg, Publisher())
    fleet.start()
    say("READY")
    await asyncio.Event().wait()


def publish_many(engine: Any, snaps: list[Any]) -> None:
    """A prototype of batched publishing, for comparison (``--service batch``):
    what ``Feed.publish`` does for one poll, for every poll that arrived
    meanwhile, in ONE transaction; the change rows last, in one statement,
    so the append lock (held to commit) is held for 4 round trips a batch
    instead of ~5 a snapshot."""
    import sqlalchemy as sa

    from ksystui.core.alerts import alerts_for
    from ksystui.store.audit_log import transaction_time
    from ksystui.store.changes import _APPEND_LOCK, CHANNEL
    from ksystui.store.feed import _insert_alerts
    from ksystui.store.repository import insert_new_events, upsert_snapshot
    from ksystui.store.service_tables import changes

    with engine.begin() as conn:
        now = transaction_time(conn)
        rows: list[dict[str, Any]] = []
        for snap in snaps:
            stored = upsert_snapshot(conn, snap)
            new_events = insert_new_events(conn, snap.node, snap.tenant, snap.events, now)
            if stored or new_events:
                rows.append({"kind": "snapshot", "at": now, "tenant": snap.tenant, "node": snap.node, "ref": None})
            for a in _insert_alerts(conn, alerts_for(snap.node, snap.tenant, snap.events), now):
                rows.append({"kind": "alert", "at": now, "tenant": a.tenant, "node": a.node, "ref": a.id})
        if not rows:
            return
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_APPEND_LOCK)))
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
        written = conn.execute(sa.insert(changes).returning(changes.c.seq, changes.c.node, changes.c.kind),
                               rows).all()
        seqs = {node: seq for seq, node, kind in written if kind == "snapshot"}
        conn.execute(sa.text("UPDATE snapshots SET seq = v.seq FROM (SELECT unnest(CAST(:nodes AS text[])) AS node,"
                             " unnest(CAST(:seqs AS integer[])) AS seq) v WHERE snapshots.node = v.node"),
                     {"nodes": list(seqs), "seqs": list(seqs.values())})


async def batch_leader_role(config: Path) -> None:
    """The fleet with a single writer publishing what arrived every 50 ms."""
    from ksystui.config import database_url, load_config
    from ksystui.fleet.connect import build_fleet
    from ksystui.store.engine import open_engine

    cfg = load_config(config).config
    engine = open_engine(database_url(cfg.database))
    pending: list[Any] = []
    arrived = asyncio.Event()

    class Batcher:
        async def save_snapshot(self, snap: Any) -> None:
            pending.append(snap)
            arrived.set()

        async def add_events(self, node: str, tenant: str, events: Any) -> list[Any]:
            return list(events)

    async def writer() -> None:
        while True:
            await arrived.wait()
            await asyncio.sleep(0.05)
            arrived.clear()
            batch, pending[:] = list(pending), []
            await asyncio.to_thread(publish_many, engine, batch)

    fleet = build_fleet(cfg, Batcher())
    task = asyncio.create_task(writer())
    fleet.start()
    say("READY")
    await task


async def poller_role(config: Path) -> None:
    """Today's console, for its node load: its own fleet polling every node."""
    from ksystui.config import load_config
    from ksystui.fleet.connect import build_fleet

    fleet = build_fleet(load_config(config).config)
    fleet.start()
    say("READY")
    await asyncio.Event().wait()


class Watches:
    """``watch NODE`` from the parent: say ``seen NODE <time>`` once this
    console's state of NODE holds a new CHANGE_EVENT."""

    def __init__(self, state: dict[str, Any]):
        self.state = state
        self.baseline: dict[str, int] = {}

    def count(self, node: str) -> int:
        snap = self.state.get(node)
        return 0 if snap is None else sum(1 for e in snap.events if e.name == CHANGE_EVENT)

    async def follow_orders(self) -> None:
        reader = await stdin_lines()
        while line := (await reader.readline()).decode().split():
            if line[0] == "watch":
                for node in line[1:]:
                    self.baseline[node] = self.count(node)
                say("watching", *line[1:])

    def check(self, nodes: Any) -> None:
        now = time.time()
        for node in set(nodes) & set(self.baseline):
            if self.count(node) > self.baseline[node]:
                del self.baseline[node]
                say("seen", node, f"{now:.6f}")


async def console_role(config: Path) -> None:
    """The fallback console: the latest snapshots, then the change feed."""
    from ksystui.config import database_url, load_config
    from ksystui.store.engine import open_engine
    from ksystui.store.feed import AsyncFeed, Feed
    from ksystui.store.notify import listener_for

    cfg = load_config(config).config
    url = database_url(cfg.database)
    feed = AsyncFeed(Feed(open_engine(url)))
    listener = listener_for(url)
    state = dict(await feed.snapshots())
    last = await feed.last_seq()
    watches = Watches(state)
    orders = asyncio.create_task(watches.follow_orders())
    say("READY")
    while not orders.done():
        if listener is not None:
            await listener.wait(1.0)  # a hint; last_seq is the truth
        else:
            await asyncio.sleep(0.5)
        if await feed.last_seq() == last:
            continue
        changed: set[str] = set()
        while batch := await feed.changes_since(last, limit=5000):
            last = batch[-1].seq
            changed |= {c.node for c in batch if c.kind == "snapshot" and c.node}
        if changed:
            state.update(await feed.snapshots(nodes=changed))
            watches.check(changed)


async def client_console_role(config: Path, *, screen: bool = False) -> None:
    """The console as ``ksystui`` builds it (``bootstrap.client_runtime``: the
    DatabaseSource following the feed, the arbiter port); with ``screen``,
    its whole control room too, headless (160 x 50), on the overview."""
    from ksystui import bootstrap

    loaded = bootstrap.load(config, sys.stderr)
    async with bootstrap.client_runtime(loaded, sys.stderr, readonly=True) as rt:
        source = rt.source
        watches = Watches(source.snapshots)  # the source's own dict: updated before it tells its subscribers
        source.subscribe(lambda notice: watches.check([notice.snapshot.node]))
        orders = asyncio.create_task(watches.follow_orders())
        if not screen:
            source.start()
            say("READY")
            await orders
            return
        app = bootstrap.console_app(rt, scope=None, readonly=True, theme=None)
        async with app.run_test(headless=True, size=(160, 50)):
            source.start()  # the app may start it too: starting twice is a no-op
            say("READY")
            await orders


async def app_console_role(config: Path) -> None:
    await client_console_role(config, screen=True)


# --- the parent --------------------------------------------------------------------


class Child:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path | None = None):
        self.name = name
        self.proc = proc
        self.log = log
        self.lines: asyncio.Queue[list[str]] = asyncio.Queue()
        self.seen: dict[str, float] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, name: str, *argv: str, env: dict[str, str], logs: Path) -> Child:
        log = logs / f"{name}.log"
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err, env=env, cwd=ROOT,
            )
        return cls(name, proc, log)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.exists() else ""

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            words = line.decode(errors="replace").split()
            if words[:1] == ["seen"]:
                self.seen[words[1]] = float(words[2])
            elif words:
                await self.lines.put(words)

    async def expect(self, first: str, timeout: float) -> list[str]:
        try:
            return await self._expect(first, timeout)
        except TimeoutError:
            raise SystemExit(f"{self.name} did not say {first!r} within {timeout:g} s:\n{self.log_tail()}") from None

    async def _expect(self, first: str, timeout: float) -> list[str]:
        async with asyncio.timeout(timeout):
            while True:
                if self.proc.returncode is not None:
                    raise SystemExit(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
                try:
                    words = await asyncio.wait_for(self.lines.get(), 1.0)
                except TimeoutError:
                    continue
                if words[0] == first:
                    return words

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


def http(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


async def stats(admin: str, **query: str) -> Any:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return await asyncio.to_thread(http, f"{admin}/stats?{q}")


def total_queries(s: Any) -> int:
    return int(s["totals"]["ksysmgr_queries"])


def polls_per_interval(s: Any, since: float, until: float, interval: float,
                       nodes: set[str] | None = None) -> float:
    """Polls of a node per poll interval, averaged over the nodes: from the
    times each client connection had the node answer ``query vm`` (a poll's
    first query) in the window, (n - 1) / (last - first) per connection,
    summed over the node's connections. A count over the window would be
    skewed by polls that all started together, in or out of it."""
    rates = []
    for name, node in s["nodes"].items():
        if nodes is not None and name not in nodes:
            continue
        streams: dict[Any, list[float]] = {}
        for at, port in node["times"]:
            if since <= at <= until:
                streams.setdefault(port, []).append(at)
        rate = 0.0
        for times in streams.values():
            if len(times) >= 2 and times[-1] > times[0]:
                rate += (len(times) - 1) / (times[-1] - times[0])
            else:
                rate += len(times) / (until - since)
        rates.append(rate)
    return statistics.fmean(rates) * interval


async def start_sim(scenario: Path, state: Path) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksystui", "sim", "--scenario", str(scenario), "--state-dir", str(state),
        "--speed", "100", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=600)
        if not line:
            err = await proc.stderr.read() if proc.stderr else b""
            raise SystemExit(f"simulator did not start: {err.decode()[-2000:]}")
        if line.startswith(b"admin "):
            # keep the pipes drained: 500 node lines were printed before this one
            asyncio.create_task(_drain(proc.stdout))
            if proc.stderr is not None:
                asyncio.create_task(_drain(proc.stderr))
            return proc, line.decode().split()[1]


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


def write_config(sim_config: Path, out: Path, url: str, interval: float, nodes: int | None = None) -> set[str]:
    """The simulator's config.toml with this run's database and poll interval
    (and only the first ``nodes`` nodes); returns the names of its nodes."""
    import tomllib

    import tomli_w

    doc = tomllib.loads(sim_config.read_text())
    doc["database"] = {"url": url}
    doc["poll"] = {"interval": interval, "jitter": 0.1}
    if nodes is not None:
        kept: list[dict[str, Any]] = []
        for tenant in doc["tenants"]:
            tenant["nodes"] = tenant["nodes"][: max(0, nodes - sum(len(t["nodes"]) for t in kept))]
            if tenant["nodes"]:
                kept.append(tenant)
        doc["tenants"] = kept
    out.write_text(tomli_w.dumps(doc))
    return {n["name"] for t in doc["tenants"] for n in t["nodes"]}


def have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def until(condition: Callable[[], Awaitable[bool]], timeout: float, *, every: float) -> None:
    """Return once ``condition()`` holds (TimeoutError after ``timeout`` s)."""
    async with asyncio.timeout(timeout):
        while True:
            if await condition():
                return
            await asyncio.sleep(every)


async def snapshot_count(url: str) -> int:
    from sqlalchemy import text

    from ksystui.store.engine import open_engine

    def count() -> int:
        engine = open_engine(url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM snapshots")).scalar_one())
        finally:
            engine.dispose()

    return await asyncio.to_thread(count)


async def snapshot_changes(url: str) -> int:
    """Snapshot changes the service has published so far."""
    from sqlalchemy import text

    from ksystui.store.engine import open_engine

    def count() -> int:
        engine = open_engine(url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM changes WHERE kind = 'snapshot'")).scalar_one())
        finally:
            engine.dispose()

    return await asyncio.to_thread(count)


async def stored_at(url: str, nodes: list[str]) -> dict[str, float]:
    """When the service stored each node's CHANGE_EVENT (epoch seconds)."""
    from sqlalchemy import text

    from ksystui.store.engine import open_engine

    def read() -> dict[str, float]:
        engine = open_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT node, min(first_seen) FROM events WHERE name = :n GROUP BY node"),
                                    {"n": CHANGE_EVENT}).all()
        finally:
            engine.dispose()
        out = {}
        for node, first in rows:
            if node in nodes and first is not None:
                when = first if not isinstance(first, str) else _parse_dt(first)
                out[node] = when.timestamp()
        return out

    return await asyncio.to_thread(read)


def _parse_dt(text: str) -> Any:
    from datetime import UTC, datetime

    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def run(args: argparse.Namespace) -> None:
    from ksystui.sim.scale import generate_scale_scenario
    from ksystui.store.engine import migrate, open_engine

    me = [sys.executable, str(ROOT / "bench" / "service_scale.py")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    use_serve = args.service == "serve" or (args.service == "auto" and have("ksystui.service"))
    batch = args.service == "batch"
    use_client = args.console == "client" or (args.console == "auto" and have("ksystui.client.source"))
    children: list[Child] = []
    pg_server = None
    sim = None
    with tempfile.TemporaryDirectory(prefix="ksystui-bench-") as tmp:
        tmpd = Path(tmp)
        try:
            scenario = tmpd / "scale.toml"
            scenario.write_text(generate_scale_scenario(args.nodes, args.vms))
            say(f"{args.nodes} simulated nodes x {args.vms} VMs, poll interval {args.interval:g} s, "
                f"{args.consoles} consoles; starting the simulator...")
            sim, admin = await start_sim(scenario, tmpd / "state")
            if args.database == "postgresql" or (args.database == "auto" and _pg_available()):
                from tests.store import pg

                pg_server = await asyncio.to_thread(pg.start)
                url = await asyncio.to_thread(pg_server.create_database, "ksystui_bench")
            else:
                url = f"sqlite:///{tmpd / 'bench.db'}"
            config = tmpd / "config.toml"
            write_config(tmpd / "state" / "config.toml", config, url, args.interval)
            engine = open_engine(url)
            migrate(engine)
            engine.dispose()
            say(f"database {url.split('@')[-1] if '@' in url else url}; service: "
                f"{'ksystui serve' if use_serve else 'BATCHED publishing (bench prototype)' if batch else 'leader loop on Feed.publish (bench)'}; consoles: "
                f"{'ksystui.client DatabaseSource' if use_client else 'feed readers (bench)'}")

            # --- the service and its consoles ---------------------------------------
            if use_serve:
                leader = await Child.start("service", sys.executable, "-m", "ksystui", "serve", "--config",
                                           str(config), env=env, logs=tmpd)
            else:
                leader = await Child.start("service", *me, "--role", "batch-leader" if batch else "leader",
                                           "--config", str(config), env=env, logs=tmpd)
                await leader.expect("READY", 120)
            children.append(leader)
            async def all_polled() -> bool:
                return await snapshot_count(url) >= args.nodes

            try:
                await until(all_polled, args.interval * 6 + 120, every=1.0)
            except TimeoutError:
                raise SystemExit(f"the service did not poll every node:\n{leader.log_tail()}") from None
            role = "client-console" if use_client else "console"
            with_screen = min(args.screens, args.consoles) if use_client else 0
            consoles = [await Child.start(f"console{i}", *me, "--role", "app-console" if i < with_screen else role,
                                          "--config", str(config), env=env, logs=tmpd)
                        for i in range(args.consoles)]
            children += consoles
            for c in consoles:
                await c.expect("READY", 120)
            say("service has polled every node; consoles are following; warming up one interval...")
            await asyncio.sleep(args.interval)

            s0, t0, w0 = await stats(admin, peers="0"), time.monotonic(), time.time()
            cpu0 = {c.name: c.cpu() for c in children}
            sim_cpu0 = proc_cpu(sim.pid)
            published0 = await snapshot_changes(url)
            # the changes: K nodes never touched, faults spread over the first half of the window
            names = sorted(n["name"] for n in await asyncio.to_thread(http, f"{admin}/nodes"))
            targets = names[:: max(1, len(names) // args.changes)][: args.changes]
            for c in consoles:
                c.send("watch " + " ".join(targets))
            for c in consoles:
                await c.expect("watching", 120)
            injected: dict[str, float] = {}
            spread = args.seconds / 2 / max(1, len(targets))
            for node in targets:
                injected[node] = time.time()
                await asyncio.to_thread(http, f"{admin}/faults", "POST", {"kind": "replication_broken", "target": node})
                await asyncio.sleep(spread)
            rest = args.seconds - (time.monotonic() - t0)
            await asyncio.sleep(max(0.0, rest))
            s1, t1, w1 = await stats(admin, peers="0", times="query%20vm"), time.monotonic(), time.time()
            load = os.getloadavg()[0]
            cpu1 = {c.name: c.cpu() for c in children}
            sim_busy = (proc_cpu(sim.pid) - sim_cpu0) / (t1 - t0) * 100
            published = (await snapshot_changes(url) - published0) / (t1 - t0)
            # let the last changes arrive (they are judged from when they were stored)
            async def all_seen() -> bool:
                return all(set(targets) <= set(c.seen) for c in consoles)

            with contextlib.suppress(TimeoutError):
                await until(all_seen, args.interval * 3, every=0.5)
            everywhere = [n for n in targets if all(n in c.seen for c in consoles)]
            if len(everywhere) < len(targets):
                say(f"WARNING: {len(targets) - len(everywhere)} of {len(targets)} changes never reached every console")
                for c in consoles:
                    if c.log_tail():
                        say(f"--- {c.name} stderr:\n{c.log_tail()}")
            window = t1 - t0
            cycles = window / args.interval
            queries = total_queries(s1) - total_queries(s0)
            polls_per_node = polls_per_interval(s1, w0, w1, args.interval)
            stored = await stored_at(url, targets)
            lag = [max(c.seen[n] for c in consoles) - stored[n] for n in everywhere if n in stored]
            e2e = [max(c.seen[n] for c in consoles) - injected[n] for n in everywhere]
            service_cpu = cpu1["service"] - cpu0["service"]
            console_cpu = [(cpu1[c.name] - cpu0[c.name]) / window * 100 for c in consoles[with_screen:]]
            screen_cpu = [(cpu1[c.name] - cpu0[c.name]) / window * 100 for c in consoles[:with_screen]]
            # the consoles opened no connection to any node
            peers = await stats(admin, pids="1")
            console_pids = {c.proc.pid for c in consoles}
            from_consoles = sum(1 for n in peers["nodes"].values() for p in n.get("peers", [])
                                if p["pid"] in console_pids)
            for c in consoles:
                await c.stop()
            await leader.stop()
            children.clear()

            # --- today's design: every console polls every node ---------------------
            polled = min(args.nodes, args.polling_nodes or args.nodes)
            polling_config = tmpd / "polling.toml"
            polling_nodes = write_config(tmpd / "state" / "config.toml", polling_config, url, args.interval, polled)
            say(f"now today's design: {args.consoles} consoles each polling every node of {polled} themselves...")
            pollers = [await Child.start(f"poller{i}", *me, "--role", "poller", "--config", str(polling_config),
                                         env=env, logs=tmpd) for i in range(args.consoles)]
            children += pollers
            for p in pollers:
                await p.expect("READY", 300)
            await asyncio.sleep(args.interval * 2)  # every poller's first round of connections and polls
            p0, pw0, sim_cpu0 = await stats(admin, peers="0"), time.time(), proc_cpu(sim.pid)
            poller_cpu0 = sum(p.cpu() for p in pollers)
            await asyncio.sleep(args.seconds)
            p1, pw1 = await stats(admin, peers="0", times="query%20vm"), time.time()
            poller_cpu = (sum(p.cpu() for p in pollers) - poller_cpu0) / len(pollers)
            load_polling = os.getloadavg()[0]
            sim_busy_polling = (proc_cpu(sim.pid) - sim_cpu0) / (pw1 - pw0) * 100
            polling = polls_per_interval(p1, pw0, pw1, args.interval, polling_nodes)
            poller_cycles = polled * polling / args.consoles * (pw1 - pw0) / args.interval  # polls by one console
            polling_queries = (total_queries(p1) - total_queries(p0)) / polled / ((pw1 - pw0) / args.interval)
        finally:
            for c in children:
                await c.stop()
            if sim is not None:
                sim.terminate()
                await sim.wait()
            if pg_server is not None:
                await asyncio.to_thread(pg_server.stop)

    ratio = polling / polls_per_node
    say(f"ksysmgr queries per node per poll interval: {polls_per_node:.2f} polls "
        f"({queries / args.nodes / cycles:.1f} queries; one poll = {POLL_QUERIES} queries) over {window:.0f} s; "
        f"simulator busy {sim_busy:.0f} % of a core; machine load average {load:.1f} on {os.cpu_count()} cores")
    say(f"snapshots published: {published:.1f}/s (one poll of every node per interval is "
        f"{args.nodes / args.interval:.1f}/s)")
    say(f"change stored by the service -> in every console's state ({len(lag)} changes): "
        f"p50 {statistics.median(lag) * 1000:.0f} ms, p95 {pct(lag, 0.95) * 1000:.0f} ms, "
        f"max {max(lag) * 1000:.0f} ms")
    say(f"change on the node -> in every console's state (bounded by the {args.interval:g} s poll interval): "
        f"p50 {statistics.median(e2e):.1f} s, p95 {pct(e2e, 0.95):.1f} s")
    service_polls = polls_per_node * args.nodes * cycles  # polls the service made in the window
    say(f"service CPU: {service_cpu / (args.nodes * cycles) * 1000:.2f} ms per node per cycle "
        f"({service_cpu / max(1.0, service_polls) * 1000:.2f} ms per poll it made; "
        f"{service_cpu / window * 100:.0f} % of a core)")
    if console_cpu:
        say(f"idle console CPU: {statistics.median(console_cpu):.2f} % of a core (median of {len(console_cpu)}; "
            f"max {max(console_cpu):.2f} %)")
    if screen_cpu:
        say(f"idle console CPU with its screen (the Textual control room, headless, on the overview): "
            f"{statistics.median(screen_cpu):.2f} % of a core")
    say(f"node connections opened by consoles: {from_consoles}")
    say(f"today's design, {args.consoles} consoles polling {polled} nodes: {polling:.2f} polls per node per interval "
        f"({polling_queries:.1f} queries), x{ratio:.2f} the service's; simulator busy {sim_busy_polling:.0f} % "
        f"of a core{' (saturated: the consoles asked for more than it answered)' if sim_busy_polling > 90 else ''}; "
        f"one polling console's CPU {poller_cpu / max(1.0, poller_cycles) * 1000:.2f} ms per node per poll "
        f"(polling without publishing); load average {load_polling:.1f}")
    say(f"service_scale nodes={args.nodes} consoles={args.consoles} queries_per_node_interval={polls_per_node:.2f} "
        f"change_p95_ms={pct(lag, 0.95) * 1000:.0f} node_load_ratio_vs_polling_consoles={ratio:.2f}")


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _pg_available() -> bool:
    if not have("psycopg"):
        return False
    from tests.store import pg

    return pg.find_bindir() is not None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--consoles", type=int, default=5)
    ap.add_argument("--vms", type=int, default=4, help="VMs per node")
    ap.add_argument("--interval", type=float, default=60.0, help="poll interval of every node, seconds")
    ap.add_argument("--seconds", type=float, default=180.0, help="measurement window of each design")
    ap.add_argument("--changes", type=int, default=20, help="nodes changed (replication_broken) in the window")
    ap.add_argument("--screens", type=int, default=0,
                    help="consoles that also run their screen (the Textual app, headless); the rest run without")
    ap.add_argument("--polling-nodes", type=int, default=100,
                    help="nodes the polling consoles of today's design poll (0: all): the load per node is the "
                         "same however many there are, and one simulator process cannot answer 5 x 500 polls")
    ap.add_argument("--database", choices=("auto", "postgresql", "sqlite"), default="auto")
    ap.add_argument("--service", choices=("auto", "serve", "bench", "batch"), default="auto",
                    help="batch: a prototype leader publishing in batches (PostgreSQL), for comparison")
    ap.add_argument("--console", choices=("auto", "client", "bench"), default="auto")
    ap.add_argument("--role", choices=("parent", "leader", "batch-leader", "console", "client-console", "app-console",
                                       "poller"),
                    default="parent", help=argparse.SUPPRESS)
    ap.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role == "parent":
        asyncio.run(run(args))
        return
    role = {"leader": leader_role, "batch-leader": batch_leader_role, "console": console_role, "client-console": client_console_role,
            "app-console": app_console_role,
            "poller": poller_role}[args.role]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(role(args.config))


if __name__ == "__main__":
    main()
