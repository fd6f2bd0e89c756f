"""``ksystui audit verify | export``: the keyed, anchored audit trail. Scoped
(``--tenant``), verify says only whether the trail holds (where it breaks
would describe rows of other tenants) and export writes that tenant's
entries only. A trail that cannot be read is a sentence and exit 1, never a
traceback."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, TextIO

import click

from ksystui.cli.arbiter import Failed, run_arbiter_verb
from ksystui.cli.options import NOT_THE_CONSOLE, GlobalOptions, takes_global_options

if TYPE_CHECKING:
    from ksystui.bootstrap import Runtime
    from ksystui.core.audit import ChainProblem

READS_ONLY = {"theme": NOT_THE_CONSOLE}


@click.group()
def audit() -> None:
    """The audit trail."""


async def _problems(rt: Runtime, anchor: str | None) -> list[ChainProblem]:
    from ksystui.store.engine import StoreError

    queue = rt.required_operations().queue
    try:
        if anchor is None:
            return await queue.verify_audit()
        return await asyncio.to_thread(queue.queue.audit.verify, anchor)
    except StoreError as exc:  # the key or the tables cannot be read: say so, no traceback
        raise Failed(f"cannot verify the audit trail: {exc}", code=1) from None


@audit.command()
@click.option("--anchor", metavar="HASH", default=None,
              help="A head hash kept elsewhere (a report, a ticket): the chain must still hold it.")
@takes_global_options(refuses=READS_ONLY)
def verify(opts: GlobalOptions, anchor: str | None) -> None:
    """Check the keyed chain, the anchor log and the operations; names any tampering."""

    async def body(rt: Runtime, out: TextIO) -> int:
        from ksystui.arbiter.audit_lines import chain_status

        problems = await _problems(rt, anchor)
        if opts.tenant is not None:
            print(chain_status(problems, scoped=True), file=out)
            return 1 if problems else 0
        for p in problems:
            print(f"TAMPERED: {p}", file=out)
        if not problems:
            print("audit trail intact", file=out)
        return 1 if problems else 0

    run_arbiter_verb(opts, body)


@audit.command()
@takes_global_options(refuses=READS_ONLY)
def export(opts: GlobalOptions) -> None:
    """Write the trail as JSON lines (with --tenant: that tenant's entries only)."""

    async def body(rt: Runtime, out: TextIO) -> int:
        from ksystui.store.engine import StoreError

        try:
            entries = await rt.required_operations().queue.export_audit(opts.tenant)
        except StoreError as exc:
            raise Failed(f"cannot read the audit trail: {exc}", code=1) from None
        for entry in entries:
            out.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        return 0

    run_arbiter_verb(opts, body)
