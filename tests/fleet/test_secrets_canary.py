"""Issue 15, deliverable 4: secrets a node prints (PowerVS ``api_key:``, HMC
and storage logins, a ``password=`` in an event, credentials in the service's
answers) are blanked as the output is read: planted as canaries in the
simulator's output, they are found in no database file, log, export
(capture bundle, audit export), ``status``/``status --json`` report or
screen (every view's rows and every detail)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

from ksystui.cli.capture import run_capture
from ksystui.cli.status import run_status
from ksystui.config import load_config
from ksystui.core.details import node_pairs
from ksystui.core.viewdefs import (
    VIEWS,
    FleetRowContext,
    FleetWide,
    NodeRowContext,
    OneTenant,
    PerNode,
)
from ksystui.fleet.connect import close_fleet

from .test_faults import started, wait_for

API_KEY = "#####CANARYAPIKEY5e3f0c9d1b2a"
LOGIN = "canarylogin7d41"
SA_LOGIN = "canarysalogin92"
EVENT_PW = "CanaryEventPw0ff1"
SERVICE_PW = "CanaryOrchPw3c2b"
CANARIES = (API_KEY.strip("#"), LOGIN, SA_LOGIN, EVENT_PW, SERVICE_PW)


def plant(world) -> None:
    pvs, onprem = world.nodes["ksysorch-dal12"], world.nodes["r7r3m116"]
    pvs.state.system["api_key"] = API_KEY
    for hmc in onprem.state.hmcs.values():
        hmc.login = LOGIN
    for agent in onprem.state.storage_agents.values():
        agent.login = SA_LOGIN
    vm = sorted(pvs.state.vms)[0]
    pvs.state.add_event("SCRIPT_FAILURE_EVENT", vm, description=f"script exited: password={EVENT_PW} rejected")
    onprem.state.add_event("SCRIPT_FAILURE_EVENT", None, description=f"hmc login={LOGIN} password={EVENT_PW}")
    summary = pvs.rest_summary

    def leaky_summary() -> dict:
        body = summary()
        body["orchestrator_details"]["orchestrator_password"] = SERVICE_PW
        body["service_details"]["api_key"] = API_KEY
        return body

    pvs.rest_summary = leaky_summary


def screen_text(fleet) -> str:
    """Every cell of every view and every detail a drill opens: what a screen can show."""
    now = datetime.now(UTC)
    texts: list[str] = []
    for view in VIEWS.values():
        src = view.source
        if isinstance(src, PerNode):
            rows = [r for s in fleet.snapshots.values() for r in src.build(s, NodeRowContext(now, {}, {}))]
        elif isinstance(src, FleetWide):
            rows = src.build(FleetRowContext(fleet.snapshots, [], now, None, {}))
        elif isinstance(src, OneTenant):
            rows = [r for t in {s.tenant for s in fleet.snapshots.values()} for r in src.build(fleet.snapshots, t)]
        else:
            continue
        for row in rows:
            texts.append(" ".join(row.cells))
            target = view.drill(row) if view.drill else None
            texts += [f"{k} {v}" for k, v in getattr(target, "pairs", ())]
    for snap in fleet.snapshots.values():
        texts += [f"{k} {v}" for k, v in node_pairs(snap)]
    return "\n".join(texts)


async def test_planted_secrets_reach_no_file_log_report_or_screen(served, world, tmp_path):
    _runner, cfg = served
    plant(world)
    logfile = tmp_path / "ksystui.log"
    handler = logging.FileHandler(logfile)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    outputs: list[str] = []
    fleet = None
    try:
        for as_json in (False, True):  # status reads the nodes and stores snapshots and events
            out, err = io.StringIO(), io.StringIO()
            assert await run_status(cfg, as_json, None, out, err) == 0, err.getvalue()
            outputs += [out.getvalue(), err.getvalue()]
        bundle = tmp_path / "bundle.json"
        out, err = io.StringIO(), io.StringIO()
        assert await run_capture(cfg, None, None, bundle, out, err) == 0, err.getvalue()
        outputs += [out.getvalue(), err.getvalue(), bundle.read_text()]
        fleet, _log = await started(load_config(cfg).config)
        await wait_for(lambda: fleet.snapshots["ksysorch-dal12"].managed_vms, 15)
        # the canaries really are in what the simulated nodes print
        raw = await fleet.monitors["ksysorch-dal12"].transport.run(["ksysmgr", "query", "system"])
        assert API_KEY in raw.stdout
        raw = await fleet.monitors["r7r3m116"].transport.run(["ksysmgr", "query", "hmc"])
        assert LOGIN in raw.stdout
        screen = screen_text(fleet)
        assert "[redacted]" in screen and "SCRIPT_FAILURE_EVENT" in screen  # the screen did show them, blanked
        outputs.append(screen)
    finally:
        if fleet is not None:
            await close_fleet(fleet)
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)

    files = [p for p in tmp_path.iterdir() if p.name.startswith("k.db")] + [logfile]
    assert len(files) >= 2 and logfile.read_text()
    for canary in CANARIES:
        for text in outputs:
            assert canary not in text
        for path in files:
            assert canary.encode() not in path.read_bytes(), (canary, path)
