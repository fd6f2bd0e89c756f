"""``ksystui audit verify | export``: the hash-chained audit trail. Scoped
(``--tenant``), verify says only whether the chain holds (where it breaks
would describe rows of other tenants) and export writes that tenant's
entries only."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

import click

from ksystui.cli.arbiter import run_arbiter_verb
from ksystui.cli.options import NOT_THE_CONSOLE, GlobalOptions, takes_global_options

if TYPE_CHECKING:
    from ksystui.bootstrap import Runtime

READS_ONLY = {"theme": NOT_THE_CONSOLE}


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
@takes_global_options(refuses=READS_ONLY)
def verify(opts: GlobalOptions) -> None:
    """Check the hash chain; names any tampered row."""

    async def body(rt: Runtime, out: TextIO) -> int:
        from ksystui.arbiter.audit_lines import chain_status

        problems = await rt.required_operations().queue.verify_audit()
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
        for entry in await rt.required_operations().queue.export_audit(opts.tenant):
            out.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        return 0

    run_arbiter_verb(opts, body)
