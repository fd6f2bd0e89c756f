"""The ``ksystui`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from ksystui import __version__


def _positive(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if f <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return f


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ksystui",
        description="Terminal control room for DRaaS providers running IBM VM Recovery Manager DR (KSYS).",
    )
    p.add_argument("--version", action="version", version=f"ksystui {__version__}")
    _console_options(p)
    p.add_argument("--config", type=Path, help="config.toml (default: in the XDG config dir)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="start the simulator with the seed scenario and the console on it")
    demo.add_argument("--scenario", type=Path, help="scenario TOML (default: the seed scenario)")
    demo.add_argument("--speed", type=_positive, default=20.0, help="simulated time speed-up (default 20)")
    _console_options(demo)

    sim = sub.add_parser("sim", help="run the KSYS simulator alone (SSH + REST + admin endpoint)")
    sim.add_argument("--scenario", type=Path, help="scenario TOML (default: the seed scenario)")
    sim.add_argument("--state-dir", type=Path, help="where to write config.toml, known_hosts and the client key")
    sim.add_argument("--speed", type=_positive, default=1.0, help="simulated time speed-up (default 1)")

    parse = sub.add_parser("parse", help="show what ksystui understands of ksysmgr output (JSON)")
    parse.add_argument("kind", help="ksysmgr class: vm, site, host, hmc, host_group, workgroup, storage_agent, "
                       "disk_group, disk_pair, disk, event, notify, system, cluster, report, progress, version")
    parse.add_argument("file", nargs="?", help="file with ksysmgr output (default: standard input)")

    status = sub.add_parser("status", help="one-shot report of every tenant's KSYS nodes (exit 1 if any unreachable)")
    status.add_argument("--config", type=Path, help="config.toml (default: in the XDG config dir)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--tenant", help="one tenant only, and nothing of any other")

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser("check", help="validate config.toml and try each node")
    check.add_argument("--config", type=Path, help="config.toml (default: in the XDG config dir)")

    def with_config(parser):
        parser.add_argument("--config", type=Path, help="config.toml (default: in the XDG config dir)")
        return parser

    sb = with_config(sub.add_parser("submit", help="queue an operation through the arbiter"))
    sb.add_argument("op", choices=["discover", "verify", "move", "move-unplanned", "dr-test", "cleanup", "recover"])
    sb.add_argument("tenant")
    sb.add_argument("--site", help="site to act on (default: the tenant's active site)")
    sb.add_argument("--to", help="target site of a move (default: the backup site)")
    sb.add_argument("--node", help="the tenant's KSYS node (default: its first)")
    sb.add_argument("--wait", action="store_true", help="dispatch too, follow progress, exit with the outcome")
    qu = with_config(sub.add_parser("queue", help="what runs and what waits, per shared recovery host"))
    qu.add_argument("--json", action="store_true")
    qu.add_argument("--tenant", help="one tenant only")
    ca = with_config(sub.add_parser("cancel", help="cancel a queued operation"))
    ca.add_argument("id", type=int)
    ca.add_argument("--reason", default="", help="why (audited)")
    ra = with_config(sub.add_parser("raise", help="raise a queued operation over the others (audited)"))
    ra.add_argument("id", type=int)
    ra.add_argument("--reason", required=True, help="the written reason (required)")
    rs = with_config(sub.add_parser("resolve", help="settle an operation left in doubt (audited)"))
    rs.add_argument("id", type=int)
    rs.add_argument("state", choices=["succeeded", "failed", "cancelled"])
    rs.add_argument("--reason", required=True)
    with_config(sub.add_parser("arbiter", help="run the dispatcher headless (for a service manager)"))
    au = sub.add_parser("audit", help="the audit trail")
    au_sub = au.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    with_config(au_sub.add_parser("verify", help="check the hash chain; names any tampered row"))
    ex = with_config(au_sub.add_parser("export", help="write the trail as JSON lines"))
    ex.add_argument("--tenant", help="this tenant's entries only")
    sc = sub.add_parser("schedule", help="stagger auto_discovery_time across nodes sharing recovery hosts")
    sc_sub = sc.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    for name, text in (("plan", "show the proposed schedule"), ("apply", "push it through the arbiter")):
        p_ = with_config(sc_sub.add_parser(name, help=text))
        p_.add_argument("--margin", type=int, default=15, help="minutes between windows (default 15)")
        p_.add_argument("--yes", action="store_true", help="apply without asking")

    scen = sub.add_parser("scenario", help="generate a scale scenario for benchmarks")
    scen.add_argument("--tenants", type=_count, required=True)
    scen.add_argument("--vms-per-tenant", type=_count, required=True)
    scen.add_argument("--tenants-per-host", type=_count, default=4)
    scen.add_argument("-o", "--output", type=Path, help="write to this file (default: standard output)")
    return p


def _console_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenant", dest="scope", help="show this tenant only, and nothing of any other")
    p.add_argument("--readonly", action="store_true", help="watch only: no action can be started")
    p.add_argument("--theme", choices=("dark", "light", "high-contrast"), help="colour theme")


def _run_until_interrupted(coro) -> int:
    """Run ``coro`` and turn Ctrl-C / SIGTERM into a clean cancellation."""

    async def main() -> int:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return 0

    return asyncio.run(main())


def _arbiter_command(args) -> int:
    from ksystui import cli_arbiter as ca

    out, err = sys.stdout, sys.stderr
    coro = {
        "submit": lambda: ca.run_submit(args.config, args.op, args.tenant, site=args.site, to=args.to,
                                        node=args.node, wait=args.wait, out=out, err=err),
        "queue": lambda: ca.run_queue(args.config, as_json=args.json, tenant=args.tenant, out=out, err=err),
        "cancel": lambda: ca.run_cancel(args.config, args.id, args.reason, out, err),
        "raise": lambda: ca.run_raise(args.config, args.id, args.reason, out, err),
        "resolve": lambda: ca.run_resolve(args.config, args.id, args.state, args.reason, out, err),
        "arbiter": lambda: ca.run_arbiter(args.config, out, err),
        "audit": lambda: ca.run_audit(args.config, args.audit_command, getattr(args, "tenant", None), out, err),
        "schedule": lambda: ca.run_schedule(args.config, args.schedule_command, margin=args.margin, yes=args.yes,
                                            out=out, err=err),
    }[args.command]
    try:
        return _run_until_interrupted(coro())
    except SystemExit as exc:
        return int(exc.code or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "parse":
        from ksystui.cli_parse import run_parse

        return run_parse(args.kind, args.file, sys.stdin, sys.stdout, sys.stderr)
    if args.command == "status":
        from ksystui.cli_status import run_status

        return _run_until_interrupted(run_status(args.config, args.json, args.tenant, sys.stdout, sys.stderr))
    if args.command == "config":
        from ksystui.cli_status import run_config_check

        return _run_until_interrupted(run_config_check(args.config, sys.stdout, sys.stderr))
    if args.command in ("submit", "queue", "cancel", "raise", "resolve", "arbiter", "audit", "schedule"):
        return _arbiter_command(args)
    if args.command == "scenario":
        from ksystui.sim.scale import generate_scale_scenario

        text = generate_scale_scenario(args.tenants, args.vms_per_tenant, args.tenants_per_host)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            print(f"wrote {args.output} ({args.tenants} tenants, {args.tenants * args.vms_per_tenant} VMs)")
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "sim":
        from platformdirs import user_state_path

        from ksystui.sim.runner import run_sim
        from ksystui.sim.scenario import ScenarioError

        state_dir = args.state_dir or user_state_path("ksystui") / "sim"
        try:
            return _run_until_interrupted(run_sim(args.scenario, state_dir, args.speed, sys.stdout))
        except ScenarioError as exc:
            print(f"ksystui sim: {exc}", file=sys.stderr)
            return 2
    if args.command == "demo":
        from ksystui.console import ConsoleError, run_demo
        from ksystui.sim.scenario import ScenarioError

        try:
            return asyncio.run(run_demo(args.scenario, args.speed, scope=args.scope, readonly=args.readonly,
                                        theme=args.theme))
        except (ScenarioError, ConsoleError) as exc:
            print(f"ksystui demo: {exc}", file=sys.stderr)
            return 2
    if args.command is None:
        from ksystui.config import ConfigError, load_config
        from ksystui.console import ConsoleError, run_console

        try:
            loaded = load_config(args.config)
        except ConfigError as exc:
            print(f"ksystui: {exc}", file=sys.stderr)
            return 2
        for w in loaded.warnings:
            print(f"warning: {w}", file=sys.stderr)
        try:
            return asyncio.run(run_console(loaded.config, scope=args.scope, readonly=args.readonly,
                                           theme=args.theme))
        except ConsoleError as exc:
            print(f"ksystui: {exc}", file=sys.stderr)
            return 2
    return 2
