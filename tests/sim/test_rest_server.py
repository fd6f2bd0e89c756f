"""The PowerVS node's DR Automation REST API, over HTTPS verified against the
simulator's CA, with bearer tokens."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ksystui.sim.rest_server import parse_time
from ksystui.sim.runner import SimRunner

API = "/drautomation/v1"


def rest_node(sim: SimRunner) -> str:
    return next(name for name, node in sim.world.nodes.items() if node.rest is not None)


@pytest.fixture
async def http(sim: SimRunner) -> AsyncIterator[aiohttp.ClientSession]:
    ctx = sim.client_ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    connector = aiohttp.TCPConnector(ssl=ctx)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5)) as s:
        yield s


class Api:
    def __init__(self, sim: SimRunner, http: aiohttp.ClientSession) -> None:
        self.name = rest_node(sim)
        node = sim.world.nodes[self.name]
        assert node.rest is not None
        self.node = node
        self.instance = node.rest.instance_id
        self.token = node.rest.token
        self.base = sim.endpoints[self.name].rest_url
        self.http = http

    async def get(self, path: str, token: str | None = "", **params: str):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        async with self.http.get(self.base + API + path, headers=headers, params=params) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def api(sim: SimRunner, http: aiohttp.ClientSession) -> Api:
    return Api(sim, http)


async def test_the_rest_node_serves_https_on_loopback(sim: SimRunner, api: Api) -> None:
    assert api.base is not None and api.base.startswith("https://127.0.0.1:")
    # only nodes with a REST interface get a REST server
    assert [n for n, ep in sim.endpoints.items() if ep.rest_url] == [api.name]


async def test_dr_summary(api: Api) -> None:
    status, body = await api.get(f"/dr_summary/{api.instance}")
    assert status == 200
    assert set(body) >= {"managed_vm_list", "orchestrator_details", "service_details"}
    assert body["orchestrator_details"]["orchestrator_status"] == "ACTIVE"
    assert body == {**api.node.rest_summary(), "orchestrator_details": body["orchestrator_details"]}


async def test_managed_vms(api: Api) -> None:
    status, body = await api.get(f"/dr_managed_vms/{api.instance}")
    assert status == 200
    vms = body["managed_vm_list"]
    assert vms and body == api.node.rest_managed_vms()
    for vm in vms.values():
        assert {"vm_name", "workgroup_name", "workspace_name", "core", "memory"} <= set(vm)


async def test_last_operation(api: Api) -> None:
    status, body = await api.get(f"/last_operation/{api.instance}")
    assert status == 200
    assert body == api.node.rest_last_operation()


async def test_events_list_and_one_event(api: Api, local) -> None:
    # give the node some history: a discovery raises events
    await local(api.name, "discover site DAL")
    status, body = await api.get(f"/service_instances/{api.instance}/events")
    assert status == 200
    assert list(body) == ["event"]
    events = body["event"]
    assert events, "discovery leaves events behind"
    for ev in events:
        assert {"event_id", "level", "message", "time", "timestamp", "resource"} <= set(ev)

    first = events[0]
    status, one = await api.get(f"/service_instances/{api.instance}/events/{first['event_id']}")
    assert status == 200 and one == first

    status, err = await api.get(f"/service_instances/{api.instance}/events/no-such-event")
    assert status == 404 and err["errors"][0]["code"] == "not_found"


async def test_events_time_filter(api: Api, local) -> None:
    await local(api.name, "discover site DAL")
    _, body = await api.get(f"/service_instances/{api.instance}/events")
    events = body["event"]
    assert events
    times = sorted(parse_time(e["time"]) for e in events)
    future = (times[-1] + dt.timedelta(hours=1)).isoformat()
    past = times[0] - dt.timedelta(hours=1)

    _, later = await api.get(f"/service_instances/{api.instance}/events", from_time=future)
    assert later["event"] == []
    _, all_iso = await api.get(
        f"/service_instances/{api.instance}/events", from_time=past.isoformat(), to_time=future
    )
    assert len(all_iso["event"]) == len(events)
    # epoch seconds work too
    _, all_epoch = await api.get(
        f"/service_instances/{api.instance}/events", from_time=str(int(past.timestamp()))
    )
    assert len(all_epoch["event"]) == len(events)
    _, before = await api.get(
        f"/service_instances/{api.instance}/events", to_time=str(int(past.timestamp()))
    )
    assert before["event"] == []


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45T00:00:00Z", ""])
async def test_events_bad_time_is_400_with_json_error(api: Api, bad: str) -> None:
    status, body = await api.get(f"/service_instances/{api.instance}/events", from_time=bad)
    assert status == 400
    assert body["status_code"] == 400
    assert "from_time" in body["errors"][0]["message"]


async def test_missing_token_is_401(api: Api) -> None:
    status, body = await api.get(f"/dr_summary/{api.instance}", token=None)
    assert status == 401
    assert body["errors"][0]["code"] == "unauthorized"


async def test_bad_token_is_401(api: Api) -> None:
    status, body = await api.get(f"/dr_summary/{api.instance}", token="not-the-token")
    assert status == 401
    assert "invalid" in body["errors"][0]["message"]


async def test_unknown_instance_is_404(api: Api) -> None:
    status, body = await api.get("/dr_summary/00000000-0000-0000-0000-000000000000")
    assert status == 404
    assert body["errors"][0]["code"] == "not_found"


async def test_rest_error_fault_answers_that_status(sim: SimRunner, api: Api) -> None:
    sim.world.faults.inject("rest_error", api.name)  # default status 500
    status, body = await api.get(f"/dr_summary/{api.instance}")
    assert status == 500 and body["status_code"] == 500
    sim.world.faults.inject("rest_error", api.name, status=503)
    status, _ = await api.get(f"/dr_summary/{api.instance}")
    assert status == 503
    sim.world.faults.clear("rest_error")
    status, _ = await api.get(f"/dr_summary/{api.instance}")
    assert status == 200


async def test_node_down_fault_is_a_connection_error(sim: SimRunner, api: Api) -> None:
    status, _ = await api.get(f"/dr_summary/{api.instance}")  # a kept-alive connection
    assert status == 200
    sim.world.faults.inject("node_down", api.name)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.get(f"/dr_summary/{api.instance}")
    # a fresh connection is refused as well
    fresh = aiohttp.TCPConnector(ssl=sim.client_ssl_context(), force_close=True)
    async with aiohttp.ClientSession(connector=fresh) as other:
        with pytest.raises(aiohttp.ClientConnectionError):
            await other.get(api.base + API + f"/dr_summary/{api.instance}")
    sim.world.faults.clear("node_down")
    status, _ = await api.get(f"/dr_summary/{api.instance}")
    assert status == 200


async def test_slow_fault_delays_the_answer(sim: SimRunner, api: Api) -> None:
    import time

    sim.world.faults.inject("slow", api.name, seconds=0.4)
    start = time.monotonic()
    status, _ = await api.get(f"/last_operation/{api.instance}")
    assert status == 200 and time.monotonic() - start >= 0.4


async def test_certificate_is_not_trusted_without_the_ca(sim: SimRunner, api: Api) -> None:
    async with aiohttp.ClientSession() as default_trust:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await default_trust.get(api.base + API + f"/dr_summary/{api.instance}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-13T13:40:30Z", dt.datetime(2026, 4, 13, 13, 40, 30, tzinfo=dt.UTC)),
        ("2026-04-13T15:40:30+02:00", dt.datetime(2026, 4, 13, 13, 40, 30, tzinfo=dt.UTC)),
        ("2026-04-13T13:40:30", dt.datetime(2026, 4, 13, 13, 40, 30, tzinfo=dt.UTC)),
        ("1776087630", dt.datetime(2026, 4, 13, 13, 40, 30, tzinfo=dt.UTC)),
        ("1776087630.5", dt.datetime(2026, 4, 13, 13, 40, 30, 500000, tzinfo=dt.UTC)),
    ],
)
def test_parse_time(text: str, expected: dt.datetime) -> None:
    assert parse_time(text) == expected
