"""``ksystui status`` and ``ksystui config check``: one-shot reports for
people, cron and monitoring systems."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ksystui.config import ConfigError, load_config
from ksystui.core.ksysmgr.commands import build_query
from ksystui.core.status import build_status, render_text, to_json
from ksystui.fleet.connect import (
    build_fleet,
    close_fleet,
    rest_transport,
    ssh_transport,
    tenant_infos,
)
from ksystui.transport.errors import TransportError

EXIT_OK, EXIT_UNREACHABLE, EXIT_CONFIG = 0, 1, 2


async def _open_store(url: str | None):
    from ksystui.store import AsyncStore

    return await AsyncStore.open(url)


async def run_status(config: Path | None, as_json: bool, tenant: str | None, out: TextIO, err: TextIO) -> int:
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        print(f"ksystui status: {exc}", file=err)
        return EXIT_CONFIG
    cfg = loaded.config
    for w in loaded.warnings:
        print(f"warning: {w}", file=err)
    if tenant is not None and cfg.tenant(tenant) is None:
        # say nothing of which tenants do exist: the caller may be scoped
        print(f"ksystui status: no tenant {tenant!r} in {loaded.path}", file=err)
        return EXIT_CONFIG
    try:
        store = await _open_store(cfg.database.url)
    except Exception as exc:  # a broken database must not hide the fleet's state
        print(f"warning: database unavailable, nothing will be recorded: {exc}", file=err)
        store = None
    if store is not None:
        store = await _mirror_config(store, cfg, err)
    try:
        fleet = build_fleet(cfg, store)
    except ConfigError as exc:
        print(f"ksystui status: {exc}", file=err)
        return EXIT_CONFIG
    try:
        await fleet.refresh_all()
    finally:
        await close_fleet(fleet)
    if store is not None:
        await _prune_and_close(store, cfg, err)
    report = build_status(fleet.snapshots, tenant_infos(cfg), datetime.now(UTC), scope=tenant)
    if as_json:
        json.dump(to_json(report), out, indent=2)
        out.write("\n")
    else:
        out.write(render_text(report))
    return EXIT_UNREACHABLE if report.unreachable else EXIT_OK


async def _mirror_config(store, cfg, err: TextIO):
    """Mirror the configuration in the store (names, priorities, tiers and
    flavours only). A store that fails here is dropped, not fatal."""
    from ksystui.store import config_rows

    try:
        tenants, nodes = config_rows(cfg)
        await store.sync_config(tenants, nodes)
        return store
    except Exception as exc:
        print(f"warning: database unavailable, nothing will be recorded: {exc}", file=err)
        await store.close()
        return None


async def _prune_and_close(store, cfg, err: TextIO) -> None:
    """Apply the event retention of the configuration."""
    from datetime import timedelta

    try:
        await store.prune_events(datetime.now(UTC) - timedelta(days=cfg.poll.event_retention_days))
    except Exception as exc:  # the report matters more than the bookkeeping
        print(f"warning: event retention not applied: {exc}", file=err)
    finally:
        await store.close()


async def run_config_check(config: Path | None, out: TextIO, err: TextIO) -> int:
    """Validate the file, then try each node: one line per node."""
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        print(f"ksystui config check: {exc}", file=err)
        return EXIT_CONFIG
    for w in loaded.warnings:
        print(f"warning: {w}", file=err)
    print(f"{loaded.path}: valid ({len(loaded.config.tenants)} tenants, {len(loaded.config.nodes())} nodes)", file=out)

    async def check(tenant: str, node) -> tuple[str, bool]:
        parts = []
        ok = True
        ssh = ssh_transport(node)
        try:
            t0 = asyncio.get_running_loop().time()
            res = await ssh.run(build_query("version"), timeout=node.ssh.command_timeout)
            ms = (asyncio.get_running_loop().time() - t0) * 1000
            version = res.stdout.strip().splitlines()[0] if res.stdout.strip() else "?"
            parts.append(f"ssh ok ({ms:.0f} ms, {version})")
        except TransportError as exc:
            ok = False
            parts.append(f"ssh {exc.kind}: {exc}")
        finally:
            await ssh.close()
        if node.rest is not None:
            try:
                rest = rest_transport(node)
            except ConfigError as exc:
                ok = False
                parts.append(f"rest: {exc}")
            else:
                try:
                    await rest.get_summary()
                    parts.append("rest ok")
                except TransportError as exc:
                    ok = False
                    parts.append(f"rest {exc.kind}: {exc}")
                finally:
                    await rest.close()
        return f"{tenant}/{node.name}: {'OK' if ok else 'FAIL'}: " + "; ".join(parts), ok

    results = await asyncio.gather(*(check(t.name, n) for t, n in loaded.config.nodes()))
    for line, _ in results:
        print(line, file=out)
    return EXIT_OK if all(ok for _, ok in results) else EXIT_UNREACHABLE
