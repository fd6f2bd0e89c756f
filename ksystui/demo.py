"""``ksystui demo``: the simulator embedded, with a console on it.

Until the control-room UI lands (issue "The control room"), the console is a
plain live screen that lists the scenario's KSYS nodes, where to reach them
and what their VMs are doing — read straight from the in-process simulator.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld


class DemoNodesApp(App[None]):
    TITLE = "ksystui demo"
    SUB_TITLE = "simulated KSYS nodes"
    BINDINGS = [("q", "quit", "Quit")]
    CSS = "#where { padding: 0 1; color: $text-muted; }"

    def __init__(self, world: SimWorld, runner: SimRunner):
        super().__init__()
        self.world = world
        self.runner = runner

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        where = f"admin {self.runner.admin_url}"
        if self.runner.state_dir:
            where += f"   config, known_hosts and client key in {self.runner.state_dir}"
        yield Static(where, id="where")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("tenant", "prio", "KSYS node", "flavour", "endpoint", "VMs by state", "running now"):
            table.add_column(label, key=label)
        for name in self.world.nodes:
            table.add_row(*self._cells(name), key=name)
        self.set_interval(1.0, self._refresh)

    def _cells(self, name: str) -> list[str]:
        node = self.world.nodes[name]
        ep = self.runner.endpoints.get(name)
        endpoint = f"ssh://root@{self.runner.host}:{ep.ssh_port}" if ep else "-"
        states = Counter(v.state for v in node.state.managed_vms())
        return [
            node.tenant,
            str(self.world.tenants[node.tenant].priority),
            name,
            node.flavour.value,
            endpoint,
            " ".join(f"{s}:{n}" for s, n in sorted(states.items())),
            node.current_operation or "-",
        ]

    def _refresh(self) -> None:
        table = self.query_one(DataTable)
        for name in self.world.nodes:
            for label, value in zip(table.columns, self._cells(name), strict=True):
                table.update_cell(name, label, value)


async def _demo(scenario: Path | None, speed: float) -> None:
    world = SimWorld.from_scenario(scenario, speed=speed)
    with tempfile.TemporaryDirectory(prefix="ksystui-demo-") as tmp:
        async with SimRunner(world, Path(tmp)) as runner:
            await DemoNodesApp(world, runner).run_async()


def run_demo(scenario: Path | None, speed: float) -> int:
    asyncio.run(_demo(scenario, speed))
    return 0
