"""``ksystui notify test NAME`` and ``ksystui notify log``: the notification
hooks of the configuration.

``test`` sends one test notice through the hook directly (no service needed:
it is how a provider checks a hook before trusting it with a night) and says
in one line whether it was delivered: exit 0 delivered, 1 not delivered,
2 no such hook (or a configuration problem). The line names the hook, never
its URL or key.

``log`` prints the delivery log the service keeps (``store.deliveries``),
newest first: per notification and hook its state, attempts, last status and
error — never a URL or a key, which the log does not hold. With ``--tenant``
only that tenant's notifications.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
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
    from sqlalchemy import Engine

    from ksystui.store.deliveries import Delivery

__all__ = ["notify", "notify_log", "notify_test"]  # the group and its verbs: click calls them

EXIT_DELIVERED = 0
EXIT_NOT_DELIVERED = 1

# hooks are the provider's, not a tenant's; and a test reaches real people at the other end
TEST_REFUSES = {
    "theme": NOT_THE_CONSOLE,
    "tenant": "the hooks are the provider's: this verb has no tenant scope",
    "readonly": "refused: a read-only session sends nothing, and a test notification reaches real people",
}


@click.group()
def notify() -> None:
    """Notification hooks ([[notify]] in the configuration)."""


@notify.command(name="test")
@click.argument("name")
@takes_global_options(refuses=TEST_REFUSES)
def notify_test(opts: GlobalOptions, name: str) -> None:
    """Send a test notification through hook NAME now (exit 0 delivered, 1 not delivered, 2 no such hook)."""
    run_verb(lambda: run_notify_test(opts, name, sys.stdout))


async def run_notify_test(opts: GlobalOptions, name: str, out: TextIO) -> int:
    from ksystui.bootstrap import load
    from ksystui.core.notices import hook_test_notice
    from ksystui.notify.send import send

    loaded = load(opts.config, sys.stderr)
    hook = next((h for h in loaded.config.notify if h.name == name), None)
    if hook is None:
        known = ", ".join(h.name for h in loaded.config.notify) or "none is configured"
        raise Refused(f"no hook named {name!r} in {loaded.path} (hooks: {known})")
    notice = hook_test_notice(hook.name, datetime.now(UTC), str(uuid.uuid4()))
    outcome = await send(hook, notice, base_dir=loaded.path.parent)
    if outcome.ok:
        print(f"{hook.name}: delivered ({outcome.status}), key {notice.delivery_key}", file=out)
        return EXIT_DELIVERED
    print(f"{hook.name}: NOT delivered ({outcome.status}): {outcome.error}", file=out)
    return EXIT_NOT_DELIVERED


@notify.command(name="log")
@click.option("--hook", "hook", metavar="NAME", default=None, help="only this hook's deliveries")
@click.option("--state", type=click.Choice(["pending", "delivered", "gave_up"]), default=None,
              help="only deliveries in this state")
@click.option("--limit", type=click.IntRange(min=1, max=100_000), default=50, show_default=True,
              help="how many, newest first")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines (one object per delivery)")
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def notify_log(opts: GlobalOptions, hook: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """The delivery log: each notification per hook, its state, attempts and last error (newest first)."""
    run_verb(lambda: run_notify_log(opts, sys.stdout, hook=hook, state=state, limit=limit, as_json=as_json))


async def run_notify_log(opts: GlobalOptions, out: TextIO, *, hook: str | None = None, state: str | None = None,
                         limit: int = 50, as_json: bool = False) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ksystui.bootstrap import database_problem, load, open_configured_engine
    from ksystui.store.engine import StoreError

    loaded = load(opts.config, sys.stderr)
    if opts.tenant is not None and opts.tenant not in {t.name for t in loaded.config.tenants}:
        raise Refused(f"no tenant named {opts.tenant!r} in {loaded.path}")
    engine = await open_configured_engine(loaded)
    try:
        rows = await asyncio.to_thread(_read_log, engine, opts.tenant, hook, state, limit)
    except (StoreError, SQLAlchemyError) as exc:
        raise database_problem(loaded, exc) from None
    finally:
        await asyncio.to_thread(engine.dispose)
    if as_json:
        for d in rows:
            out.write(json.dumps(delivery_json(d), sort_keys=True) + "\n")
    elif not rows:
        print("no notifications in the delivery log", file=out)
    else:
        print("\n".join(log_lines(rows)), file=out)
    return 0


def _read_log(engine: Engine, tenant: str | None, hook: str | None, state: str | None, limit: int) -> list[Delivery]:
    from ksystui.store.deliveries import Deliveries
    from ksystui.store.engine import migrate

    migrate(engine)
    return Deliveries(engine).log(tenant=tenant, hook=hook, state=state, limit=limit)


def delivery_json(d: Delivery) -> dict[str, object]:
    return {"id": d.id, "hook": d.hook, "kind": d.kind, "delivery_key": d.delivery_key, "incident": d.incident,
            "tenant": d.tenant, "node": d.node, "ref": d.ref, "severity": d.severity, "summary": d.summary,
            "state": d.state, "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error,
            "created_at": d.created_at.isoformat(), "next_at": d.next_at.isoformat() if d.next_at else None,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}


def _stamp(when: datetime | None) -> str:
    return "-" if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def log_lines(rows: list[Delivery]) -> list[str]:
    """A table: one delivery a line, then its key and, unless delivered, its last error."""
    table = [("CREATED (UTC)", "HOOK", "EVENT", "TENANT", "STATE", "TRIES", "LAST", "SUMMARY")]
    for d in rows:
        table.append((_stamp(d.created_at), d.hook, d.kind, d.tenant or "-", d.state.replace("_", " "),
                      str(d.attempts), d.last_status or "-", d.summary))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    lines = []
    for i, r in enumerate(table):
        lines.append("  ".join([c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]).rstrip())
        if i == 0:
            continue
        d = rows[i - 1]
        detail = f"key {d.delivery_key}"
        if d.state == "pending" and d.next_at is not None:
            detail += f"; next try {_stamp(d.next_at)}"
        if d.state != "delivered" and d.last_error:
            detail += f"; last error: {d.last_error}"
        lines.append("    " + detail)
    return lines
