"""Fixtures for the transport tests: each test gets its own seed simulator
(tests/conftest.py's ``world``) on loopback with a state directory (client key, known_hosts, CA, tokens), and
factories for transports pointed at it (closed at the end of the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld
from ksystui.transport.backoff import Backoff
from ksystui.transport.rest import RestTransport
from ksystui.transport.ssh import SshTransport

ONPREM_A = "r7r3m116"
ONPREM_B = "r7r3m108"
POWERVS = "ksysorch-dal12"


def quick_backoff(initial: float = 0.3, cap: float = 1.0) -> Backoff:
    """A short, jitter-free backoff so tests can wait it out."""
    return Backoff(initial=initial, factor=2, cap=cap, jitter=0)


@pytest.fixture
async def sim(world: SimWorld, tmp_path: Path) -> AsyncIterator[SimRunner]:
    async with SimRunner(world, tmp_path / "state") as runner:
        yield runner


@pytest.fixture
def state(sim: SimRunner) -> Path:
    assert sim.state_dir is not None
    return sim.state_dir


MakeSsh = Callable[..., SshTransport]
MakeRest = Callable[..., RestTransport]


@pytest.fixture
async def make_ssh(sim: SimRunner, state: Path) -> AsyncIterator[MakeSsh]:
    made: list[SshTransport] = []

    def make(node: str = ONPREM_A, **overrides: Any) -> SshTransport:
        kwargs: dict[str, Any] = {
            "host": sim.host,
            "port": sim.endpoints[node].ssh_port,
            "key_file": state / "id_ed25519",
            "known_hosts": state / "known_hosts",
            "connect_timeout": 3,
            "command_timeout": 10,
            "backoff": quick_backoff(),
        }
        kwargs.update(overrides)
        transport = SshTransport(node, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.close()


def token_of(state: Path, node: str = POWERVS) -> str:
    return (state / "tokens" / f"{node}.token").read_text().strip()


@pytest.fixture
async def make_rest(sim: SimRunner, state: Path) -> AsyncIterator[MakeRest]:
    made: list[RestTransport] = []

    def make(node: str = POWERVS, **overrides: Any) -> RestTransport:
        rest = sim.world.nodes[node].rest
        assert rest is not None
        url = sim.endpoints[node].rest_url
        assert url is not None
        kwargs: dict[str, Any] = {
            "url": url,
            "instance_id": rest.instance_id,
            "token": token_of(state, node),
            "ca_file": state / "ca.pem",
            "timeout": 3,
            "retries": 3,
            "backoff": Backoff(initial=0.02, factor=2, cap=0.1, jitter=0),
        }
        kwargs.update(overrides)
        transport = RestTransport(node, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.close()
