"""``ksystui capture [--node N] FILE``: run the read-only queries against the
configured nodes (or one) and write a redacted bundle of their raw output and
of what ksystui understood of each (core.capture), for a bug report.
``ksystui parse --bundle FILE`` reads one back."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from ksystui.cli.options import NOT_THE_CONSOLE, GlobalOptions, run_verb, takes_global_options

if TYPE_CHECKING:
    from ksystui.config import NodeConfig


@click.command()
@click.option("--node", "node_name", help="capture only this node (default: every node in scope)")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@takes_global_options(refuses={"theme": NOT_THE_CONSOLE})
def capture(node_name: str | None, file: Path, opts: GlobalOptions) -> None:
    """Write a redacted bundle of the nodes' read-only query output (for a bug report)."""
    run_verb(lambda: run_capture(opts.config, node_name, opts.tenant, file, sys.stdout, sys.stderr))


async def run_capture(config: Path | None, node_name: str | None, tenant: str | None, file: Path,
                      out: TextIO, err: TextIO) -> int:
    """Capture every node in scope (or ``node_name``) into ``file``. Exit 0
    when every node answered, 1 when one could not be read (its entry says why)."""
    from ksystui import __version__
    from ksystui.bootstrap import StartupError, check_scope, load
    from ksystui.core.capture import bundle

    loaded = load(config, err)
    check_scope(loaded, tenant)
    nodes = [(t.name, n) for t, n in loaded.config.nodes()
             if (tenant is None or t.name == tenant) and (node_name is None or n.name == node_name)]
    if not nodes:
        raise StartupError(f"no node {node_name!r} in the configuration" + (f" for tenant {tenant!r}" if tenant else ""))
    entries = [await _capture_node(t, n) for t, n in nodes]
    text = json.dumps(bundle(entries, datetime.now(UTC), __version__), indent=1) + "\n"
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise StartupError(f"cannot write {file}: {exc.strerror or exc}") from None
    failed = 0
    for e in entries:
        unreadable = sum(1 for o in e["outputs"] if o["error"])
        rest = sum(1 for r in e["rest"] if r["body"] is not None)
        note = f"; {e['error']}" if e["error"] else ""
        failed += bool(e["error"])
        print(f"{e['node']}: {len(e['outputs'])} outputs ({unreadable} not understood), {rest} service answers{note}",
              file=out)
    print(f"wrote {file} (redacted: no keys, passwords or logins)", file=out)
    return 1 if failed else 0


async def _capture_node(tenant: str, node: NodeConfig) -> dict[str, Any]:
    from ksystui.config import ConfigError
    from ksystui.core.capture import QUERIES, node_entry, output_entry, rest_entry
    from ksystui.core.model import Flavour
    from ksystui.core.snapshot import UNREACHABLE_KINDS
    from ksystui.fleet.connect import rest_transport, ssh_transport
    from ksystui.transport.errors import TransportError

    flavour = Flavour(node.flavour)
    outputs: list[dict[str, Any]] = []
    rest_answers: list[dict[str, Any]] = []
    error: str | None = None
    ssh = ssh_transport(node)
    try:
        for kind, words in QUERIES[flavour]:
            argv = ["ksysmgr", *words]
            try:
                result = await ssh.run(argv, check=False)
            except TransportError as exc:
                error = str(exc)
                if exc.kind in UNREACHABLE_KINDS:
                    break
                continue
            outputs.append(output_entry(kind, argv, result.rc, result.stdout, result.stderr))
    finally:
        await ssh.close()
    try:
        rest = rest_transport(node)
    except ConfigError as exc:
        rest_answers.append(rest_entry("dr_summary", None, f"not read: {exc}"))
        rest = None
    if rest is not None:
        try:
            calls = (("dr_summary", rest.get_summary), ("dr_managed_vms", rest.get_managed_vms),
                     ("last_operation", rest.get_last_operation), ("events", rest.get_events))
            for call, fetch in calls:
                try:
                    rest_answers.append(rest_entry(call, await fetch()))
                except TransportError as exc:
                    rest_answers.append(rest_entry(call, None, str(exc)))
        finally:
            await rest.close()
    return node_entry(node.name, tenant, flavour, outputs, rest_answers, error)
