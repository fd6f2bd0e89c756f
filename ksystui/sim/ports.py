"""What the layers of the simulator agree on, so that none of them imports a
layer above it.

The world builds its nodes and hands each one the ksysmgr interpreter; the
interpreter runs operations, which run flows. Those lower modules know a node,
and a node knows its world, only by the Protocols below, each listing exactly
what the lower layer uses of the one above; the few values two layers pass
each other (an accepted operation, the busy refusal) live here too. So the
modules import one another in one direction only: modules importing each other
in a circle cannot be read, or changed, one at a time
(tests/test_import_graph.py holds the simulator to that).

This module imports, of the simulator, only leaves that cannot import it back:
the cluster state, the fault board, the shared recovery hosts and their room,
the scenario.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ksystui.core.ksysmgr.grammar import KsysmgrCommand
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour
from ksystui.sim.cluster import ClusterState, SimHost, SimVm
from ksystui.sim.faults import FaultBoard
from ksystui.sim.host_capacity import BootShortfall
from ksystui.sim.provider import CapacityLog, RecoveryHost
from ksystui.sim.scenario import NodeSpec

# INFERRED: the text of ksysmgr's "operation in progress" refusal is not public.
# Here because both the interpreter (manage/unmanage) and the operations refuse with it.
BUSY_MESSAGE = "ERROR: Another operation is in progress on the KSYS subsystem. Retry after it completes."


class CommandIO(Protocol):
    """The terminal of one ksysmgr command: an SSH channel, or memory in tests."""

    async def write(self, text: str) -> None: ...

    async def write_err(self, text: str) -> None: ...

    async def readline(self) -> str | None: ...


class NodeWorld(Protocol):
    """What a node, and the operations running on it, use of the simulated
    fleet around it (``world.SimWorld``)."""

    speed: float  # simulated time runs this many times faster than real KSYS
    faults: FaultBoard
    capacity_failures: CapacityLog  # boots a host had no room for

    def recovery_host(self, uuid: str, name: str) -> RecoveryHost: ...

    def boot_shortfall(self, state: ClusterState, vm: SimVm, host: SimHost, *,
                       clone: bool = False) -> BootShortfall | None:
        """Whether ``vm`` (``clone``: its DR-test clone) fits on ``host`` with
        what every node runs there (None: it does)."""
        ...

    def reschedule(self, node: NodeView) -> None: ...


class NodeView(Protocol):
    """What the interpreter, the operations and the flows use of a simulated
    node (``node.SimNode``)."""

    name: str
    tenant: str
    flavour: Flavour
    cluster_name: str
    spec: NodeSpec
    state: ClusterState
    world: NodeWorld
    current_operation: str | None  # what holds the node's operation lock, if anything
    render_cache: dict[tuple, tuple[list, str]]

    def try_begin(self, description: str) -> bool: ...

    def end(self) -> None: ...

    async def pause(self, seconds: float) -> None: ...


# How a node runs a parsed ksysmgr command line: the interpreter, handed to
# each node by the world (a node importing the interpreter would close a circle).
KsysmgrExecutor = Callable[[NodeView, KsysmgrCommand, CommandIO], Awaitable[int]]


@dataclass
class OpRequest:
    """An accepted long operation, as the operations hand it to the flows (and
    the world's daily auto-discovery hands it to the operations)."""

    op: Op
    description: str  # "verify site customerA", shown in collisions and busy messages
    site: str  # the site the operation is about (active site for discover/verify)
    from_site: str | None = None
    to_site: str | None = None
    workgroup: str | None = None  # PowerVS: a one-VM workgroup instead of the whole site
    vms: list[SimVm] = field(default_factory=list)
    with_verify: bool = False  # discover ... verify=yes
    timestamps: bool = False
    automatic: bool = False  # the daily auto-discovery, not an operator
