"""``ksystui report ID [--format html|pdf|json] [-o FILE]``: one operation's
evidence for an auditor (``core.report``, ``ksystui.report``). HTML and JSON
go to standard output unless ``-o`` names a file; a PDF is printed by
headless Chromium into ``-o`` (default ``ksystui-report-ID.pdf``). Scoped
(``--tenant``), another tenant's operation is no operation at all, and the
report names no other tenant."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from ksystui.cli.arbiter import Failed, run_arbiter_verb
from ksystui.cli.options import NOT_THE_CONSOLE, OPERATION_ID, GlobalOptions, takes_global_options

if TYPE_CHECKING:
    from ksystui.bootstrap import Runtime
    from ksystui.core.op_detail import OperationDetail
    from ksystui.core.report import Report, RpoAtStart

FORMATS = ("html", "pdf", "json")
READS_ONLY = {"theme": NOT_THE_CONSOLE}


def chosen_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the output file's suffix (report.pdf), else HTML."""
    if fmt is not None:
        return fmt
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    return suffix if suffix in FORMATS else "html"


async def foreign_names_for(rt: Runtime, tenant: str) -> list[str]:
    """What a report of ``tenant`` must not name: the other tenants, their
    nodes, and the hosts and VMs only their nodes report (as the provider
    service last stored them; none stored: the names the configuration gives)."""
    from ksystui.core.report import foreign_names
    from ksystui.store.engine import StoreError
    from ksystui.store.feed import Feed

    engine = rt.required_operations().queue.queue.engine
    try:
        snapshots = list((await asyncio.to_thread(Feed(engine).snapshots)).values())
    except StoreError:
        snapshots = []
    return foreign_names(tenant, [(t.name, t.nodes) for t in rt.tenants], snapshots)


async def build(rt: Runtime, op_id: int, scope: str | None) -> Report:
    from ksystui.arbiter.history import audit_record
    from ksystui.core.lifecycle import Op
    from ksystui.core.report import rpo_at_start_of
    from ksystui.report.gather import gather_report
    from ksystui.store.history import read_window

    ops = rt.required_operations()
    op = await ops.queue.get(op_id)
    if op is None or (scope is not None and op.tenant != scope):
        raise Failed(f"#{op_id}: no such operation", code=2)
    engine = ops.queue.queue.engine

    async def anchor_of(seq: int) -> str:
        row = await asyncio.to_thread(audit_record, engine, seq)
        return "" if row is None else str(row.hash)

    cleanup_id = None
    if op.op is Op.DR_TEST and op.pair_id is not None:
        paired = await ops.queue.get(op.pair_id)
        cleanup_id = paired.id if paired is not None and paired.op is Op.DR_TEST_CLEANUP else None
    info = rt.tenant(op.tenant)
    agreed_rpo = info.rpo if info else None

    async def rpo_at_start(_detail: OperationDetail) -> RpoAtStart | None:
        if op.started_at is None:
            return None
        started = op.started_at
        window = await asyncio.to_thread(read_window, engine, started, started, scope=op.tenant)
        return rpo_at_start_of(window.snapshot_at(op.node, started), started, agreed_rpo)

    report = await gather_report(
        ops.port, op_id, scope=scope, agreed_rto=info.rto if info else None, agreed_rpo=agreed_rpo,
        foreign_names=await foreign_names_for(rt, op.tenant), cleanup_id=cleanup_id, anchor_of=anchor_of,
        rpo_at_start=rpo_at_start)
    if report is None:
        raise Failed(f"#{op_id}: no such operation", code=2)
    return report


async def write(report: Report, fmt: str, output: Path | None, out: TextIO) -> Path | None:
    """Write the report; the file written, or None when it went to ``out``."""
    from ksystui.report import BrowserFailed, BrowserMissing, html_to_pdf, render_html, render_json

    text = render_json(report) if fmt == "json" else render_html(report)
    if fmt != "pdf":
        if output is None:
            out.write(text)
            return None
        try:
            await asyncio.to_thread(output.write_text, text, encoding="utf-8")
        except OSError as exc:
            raise Failed(f"cannot write {output}: {exc.strerror or exc}") from None
        return output
    target = output if output is not None else Path(f"ksystui-report-{report.ref.lstrip('#')}.pdf")
    try:
        return await html_to_pdf(text, target)
    except BrowserMissing as exc:
        raise Failed(str(exc), code=1) from None
    except BrowserFailed as exc:
        raise Failed(f"the PDF was not printed: {exc}", code=1) from None
    except OSError as exc:
        raise Failed(f"cannot write {target}: {exc.strerror or exc}") from None


@click.command()
@click.argument("op_id", metavar="ID", type=OPERATION_ID)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="html (default), pdf (printed by headless Chromium) or json; default: from -o's suffix")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="write here (default: standard output; a PDF: ksystui-report-ID.pdf)")
@takes_global_options(refuses=READS_ONLY)
def report(op_id: int, fmt: str | None, output: Path | None, opts: GlobalOptions) -> None:
    """One operation's report: RTO against the agreement, each VM's steps,
    who requested and confirmed, the audit anchor that verifies it."""
    kind = chosen_format(fmt, output)

    async def body(rt: Runtime, out: TextIO) -> int:
        made = await build(rt, op_id, opts.tenant)
        written = await write(made, kind, output, out)
        if written is not None:
            print(f"report of {made.operation} {made.ref} ({made.tenant}) written to {written}", file=out)
        return 0

    run_arbiter_verb(opts, body)
