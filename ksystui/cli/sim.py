"""The simulator and ksysmgr output: ``ksystui sim``, ``ksystui scenario``,
``ksystui parse``. None reads the configuration or has a tenant scope."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click

from ksystui.cli.options import (
    NO_CONFIGURATION,
    NO_TENANT_SCOPE,
    NOT_THE_CONSOLE,
    GlobalOptions,
    Refused,
    finish,
    run_async,
    takes_global_options,
)

OUTSIDE_THE_FLEET = {"config": NO_CONFIGURATION, "tenant": NO_TENANT_SCOPE, "theme": NOT_THE_CONSOLE}


@click.command()
@click.option("--scenario", type=click.Path(path_type=Path, dir_okay=False), help="scenario TOML (default: the seed scenario)")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False),
              help="where to write config.toml, known_hosts and the client key")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="simulated time speed-up")
@takes_global_options(refuses=OUTSIDE_THE_FLEET)
def sim(scenario: Path | None, state_dir: Path | None, speed: float, opts: GlobalOptions) -> None:
    """Run the KSYS simulator alone (SSH + REST + admin endpoint)."""
    from platformdirs import user_state_path

    from ksystui.sim.runner import run_sim
    from ksystui.sim.scenario import ScenarioError

    try:
        code = run_async(run_sim(scenario, state_dir or user_state_path("ksystui") / "sim", speed, sys.stdout))
    except ScenarioError as exc:
        raise Refused(str(exc)) from None
    finish(code)


@click.command()
@click.option("--tenants", type=click.IntRange(min=1), required=True)
@click.option("--vms-per-tenant", type=click.IntRange(min=1), required=True)
@click.option("--tenants-per-host", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="write to this file (default: standard output)")
@takes_global_options(refuses=OUTSIDE_THE_FLEET)
def scenario(tenants: int, vms_per_tenant: int, tenants_per_host: int, output: Path | None,
             opts: GlobalOptions) -> None:
    """Generate a scale scenario for benchmarks."""
    from ksystui.sim.scale import generate_scale_scenario

    text = generate_scale_scenario(tenants, vms_per_tenant, tenants_per_host)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Refused(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote {output} ({tenants} tenants, {tenants * vms_per_tenant} VMs)")


KINDS_HELP = ("ksysmgr class: vm, site, host, hmc, host_group, workgroup, storage_agent, disk_group, disk_pair, "
              "disk, event, notify, system, cluster, report, progress, version, snapshot")


@click.command(help="Show what ksystui understands of ksysmgr output (JSON).\n\n"
                    f"KIND is the {KINDS_HELP}; FILE defaults to standard input.\n\n"
                    "With --bundle FILE: read a capture bundle (`ksystui capture`) again and say, output by "
                    "output, whether this ksystui understands it as when it was captured.")
@click.argument("kind", required=False)
@click.argument("file", required=False)
@click.option("--bundle", type=click.Path(dir_okay=False), help="a capture bundle to read again")
@takes_global_options(refuses=OUTSIDE_THE_FLEET)
def parse(kind: str | None, file: str | None, bundle: str | None, opts: GlobalOptions) -> None:
    if bundle is not None:
        if kind is not None:
            raise Refused("give either KIND [FILE] or --bundle FILE, not both")
        finish(run_parse_bundle(bundle, sys.stdout, sys.stderr))
    if kind is None:
        raise Refused("missing KIND (or --bundle FILE)")
    finish(run_parse(kind, file, sys.stdin, sys.stdout, sys.stderr))


def run_parse_bundle(path: str, stdout: TextIO, stderr: TextIO) -> int:
    """Read a capture bundle again: one line per output (ok / changed / the
    parse error naming the line). 0 when everything is understood as when it
    was captured, 1 when something reads differently, 2 for a file that is
    not a bundle."""
    from ksystui.core.capture import BundleError, reread

    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8", errors="replace"))
        results = reread(data)
    except OSError as exc:
        print(f"{_PROG}: cannot read {path}: {exc.strerror or exc}", file=stderr)
        return 2
    except (ValueError, BundleError) as exc:
        print(f"{_PROG}: {path}: {exc}", file=stderr)
        return 2
    changed = 0
    for r in results:
        state = "as captured" if r.same else "CHANGED since capture"
        changed += not r.same
        said = f"not understood: {r.error}" if r.error else "understood"
        print(f"{r.node:<18} {r.kind:<22} {said} ({state})", file=stdout)
    print(f"{len(results)} outputs, {changed} read differently than when captured", file=stdout)
    return 1 if changed else 0


# --- parse: ksysmgr output in, JSON out --------------------------------------------------
# Lets an operator check what ksystui reads from a node's output (pasted from a terminal,
# or captured by a script) without starting the TUI. The input is read as bytes and
# decoded leniently so that binary junk reaches the parser's BINARY check instead of
# failing here with a UnicodeDecodeError.
_PROG = "ksystui parse"


def _read(path: str | None, stdin: TextIO) -> bytes | str:
    if path is None or path == "-":
        buffer = getattr(stdin, "buffer", None)
        return buffer.read() if buffer is not None else stdin.read()
    with open(path, "rb") as handle:
        return handle.read()


def run_parse(kind: str, path: str | None, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Parse ksysmgr output of ``kind`` from ``path`` (stdin when None or "-") and
    print it as JSON. Returns 0, 1 for unreadable or unparseable input, 2 for an
    unknown kind."""
    from ksystui.core.ksysmgr.errors import KsysmgrParseError
    from ksystui.core.ksysmgr.parse import PARSERS, to_jsonable

    parser = PARSERS.get(kind)
    if parser is None:
        print(f"{_PROG}: unknown kind {kind!r}; valid kinds: {', '.join(sorted(PARSERS))}", file=stderr)
        return 2
    try:
        raw = _read(path, stdin)
    except OSError as exc:
        print(f"{_PROG}: cannot read {path}: {exc.strerror or exc}", file=stderr)
        return 1
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        result: object = parser(text)
    except KsysmgrParseError as exc:
        print(f"{_PROG}: {exc}", file=stderr)
        return 1
    if kind == "progress" and isinstance(result, tuple):
        lines, summary = result
        doc = {"kind": kind, "lines": to_jsonable(lines), "summary": to_jsonable(summary)}
    else:
        records = result if isinstance(result, list) else [result]
        doc = {"kind": kind, "records": to_jsonable(records)}
    json.dump(doc, stdout, indent=2)
    stdout.write("\n")
    return 0
