"""RestTransport against the simulated PowerVS node's DR Automation API."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksystui.sim.runner import SimRunner
from ksystui.transport.errors import (
    AuthFailed,
    HttpError,
    Timeout,
    TransportError,
    Unreachable,
)
from ksystui.transport.rest import RestTransport

POWERVS = "ksysorch-dal12"


class RequestCounter:
    """Counts the requests the REST server sees (it asks the fault board about
    rest_error once per request), optionally clearing the fault after N."""

    def __init__(self, sim: SimRunner, clear_after: int | None = None) -> None:
        self.count = 0
        faults = sim.world.faults
        real = faults.rest_error

        def counting(node: str) -> int | None:
            if node == POWERVS:
                self.count += 1
                if clear_after is not None and self.count > clear_after:
                    faults.clear("rest_error", POWERVS)
            return real(node)

        faults.rest_error = counting  # type: ignore[method-assign]


def token(state: Path) -> str:
    return (state / "tokens" / f"{POWERVS}.token").read_text().strip()


async def test_summary_managed_vms_and_last_operation(make_rest, sim: SimRunner) -> None:
    rest = make_rest()
    summary = await rest.get_summary()
    assert {"managed_vm_list", "orchestrator_details", "service_details"} <= set(summary)
    vms = await rest.get_managed_vms()
    assert vms["managed_vm_list"]
    names = {vm["vm_name"] for vm in vms["managed_vm_list"].values()}
    assert "cC_aixerp01" in names
    last = await rest.get_last_operation()
    assert isinstance(last, dict)
    assert rest.health.last_latency_ms is not None and rest.health.last_error is None


async def test_events_and_one_event(make_rest, sim: SimRunner) -> None:
    rest = make_rest()
    # before any operation: only the broker's own deployment events (two hours ago)
    initial = await rest.get_events()
    assert initial and {e["api_source"] for e in initial} == {"broker"}

    async def orchestrator_events(**bounds):
        return [e for e in await rest.get_events(**bounds) if e["api_source"] != "broker"]

    node = sim.world.nodes[POWERVS]

    class Sink:
        async def write(self, text: str) -> None: ...
        async def write_err(self, text: str) -> None: ...
        async def readline(self) -> None:
            return None

    assert await node.run_ksysmgr(["discover", "site", "DAL"], Sink()) == 0
    events = await orchestrator_events()
    assert events and all("event_id" in e for e in events)
    one = await rest.get_event(events[0]["event_id"])
    assert one["event_id"] == events[0]["event_id"]

    past = datetime.now(UTC) - timedelta(hours=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    assert len(await rest.get_events(from_time=past, to_time=future)) == len(events)  # no broker event then
    assert await rest.get_events(from_time=future) == []
    naive_past = past.replace(tzinfo=None)  # naive times are UTC
    assert len(await rest.get_events(from_time=naive_past)) == len(events)


async def test_unknown_event_is_a_404_not_retried(make_rest, sim: SimRunner) -> None:
    rest = make_rest()
    counter = RequestCounter(sim)
    with pytest.raises(HttpError) as info:
        await rest.get_event("no/such event")
    assert info.value.status == 404 and info.value.kind == "http_error"
    assert counter.count == 1 and rest.attempts == 1


async def test_wrong_token_is_auth_failed_and_never_shown(make_rest, sim: SimRunner) -> None:
    secret = "wrong-token-7f3a9c0e5d"
    rest = make_rest(token=secret)
    counter = RequestCounter(sim)
    with pytest.raises(AuthFailed) as info:
        await rest.get_summary()
    err = info.value
    assert err.kind == "auth_failed" and "token rejected" in str(err)
    assert "unreachable" not in str(err).lower()
    assert counter.count == 1  # not retried
    assert secret not in str(err) and secret not in repr(err)
    assert secret not in repr(rest) and secret not in str(rest.health)


async def test_5xx_is_retried_then_http_error(make_rest, sim: SimRunner) -> None:
    rest = make_rest(retries=3)
    sim.world.faults.inject("rest_error", POWERVS, status=500)
    counter = RequestCounter(sim)
    with pytest.raises(HttpError) as info:
        await rest.get_summary()
    assert info.value.status == 500
    assert counter.count == 4 == rest.attempts  # the first try and 3 retries
    assert "HTTP 500" in str(info.value) and str(info.value).startswith(POWERVS)


async def test_a_transient_5xx_is_ridden_out(make_rest, sim: SimRunner) -> None:
    rest = make_rest(retries=3)
    sim.world.faults.inject("rest_error", POWERVS, status=503)
    counter = RequestCounter(sim, clear_after=2)
    summary = await rest.get_summary()
    assert "managed_vm_list" in summary
    assert counter.count == 3


async def test_retries_back_off_exponentially(make_rest, sim: SimRunner) -> None:
    from ksystui.transport.backoff import Backoff

    rest = make_rest(retries=2, backoff=Backoff(initial=0.2, factor=2, cap=1, jitter=0))
    sim.world.faults.inject("rest_error", POWERVS, status=502)
    t0 = time.monotonic()
    with pytest.raises(HttpError):
        await rest.get_summary()
    assert 0.6 <= time.monotonic() - t0 < 1.5  # 0.2 + 0.4


@pytest.mark.parametrize("status", [400, 404, 409, 429])
async def test_client_errors_are_not_retried(make_rest, sim: SimRunner, status: int) -> None:
    rest = make_rest()
    sim.world.faults.inject("rest_error", POWERVS, status=status)
    counter = RequestCounter(sim)
    with pytest.raises(HttpError) as info:
        await rest.get_managed_vms()
    assert info.value.status == status
    assert counter.count == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_statuses_are_auth_failed(make_rest, sim: SimRunner, status: int) -> None:
    rest = make_rest()
    sim.world.faults.inject("rest_error", POWERVS, status=status)
    with pytest.raises(AuthFailed) as info:
        await rest.get_summary()
    assert f"HTTP {status}" in str(info.value)


async def test_node_down_is_unreachable(make_rest, sim: SimRunner) -> None:
    rest = make_rest()
    await rest.get_summary()  # a pooled connection exists too
    sim.world.faults.inject("node_down", POWERVS)
    t0 = time.monotonic()
    with pytest.raises(Unreachable) as info:
        await rest.get_summary()
    assert time.monotonic() - t0 < 2
    assert info.value.kind == "unreachable" and str(info.value).startswith(POWERVS)
    sim.world.faults.clear("node_down", POWERVS)
    assert "managed_vm_list" in await rest.get_summary()


async def test_slow_service_times_out(make_rest, sim: SimRunner) -> None:
    rest = make_rest(timeout=0.3)
    sim.world.faults.inject("slow", POWERVS, seconds=3)
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        await rest.get_summary()
    assert time.monotonic() - t0 < 1.0


async def test_tls_is_verified(make_rest, sim: SimRunner) -> None:
    # without the simulator's CA the system trust store does not know the certificate
    rest = make_rest(ca_file=None)
    counter = RequestCounter(sim)
    with pytest.raises(Unreachable) as info:
        await rest.get_summary()
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()
    assert counter.count == 0  # the request never reached the application
    assert rest.attempts == 1  # a certificate problem is not retried


async def test_plain_http_is_refused(state: Path) -> None:
    with pytest.raises(ValueError):
        RestTransport(POWERVS, url="http://127.0.0.1:1", instance_id="x", token="t")
    with pytest.raises(ValueError):
        RestTransport(POWERVS, url="https://127.0.0.1:1", instance_id="x", token=" ")


async def test_token_never_appears_in_repr_errors_or_logs(
    make_rest, sim: SimRunner, state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = token(state)
    rest = make_rest()
    assert secret not in repr(rest) and secret not in repr(vars(rest))
    errors: list[TransportError] = []
    for kind, params in [("rest_error", {"status": 500}), ("rest_error", {"status": 404})]:
        sim.world.faults.inject(kind, POWERVS, **params)
        try:
            await rest.get_summary()
        except TransportError as exc:
            errors.append(exc)
        sim.world.faults.clear()
    sim.world.faults.inject("node_down", POWERVS)
    try:
        await rest.get_summary()
    except TransportError as exc:
        errors.append(exc)
    sim.world.faults.clear()
    assert len(errors) == 3
    for exc in errors:
        for text in (str(exc), repr(exc), exc.message, repr(exc.__cause__), repr(exc.__context__)):
            assert secret not in text
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert secret not in str(rest.health)


async def test_closed_transport_refuses(make_rest) -> None:
    rest = make_rest()
    await rest.get_summary()
    await rest.close()
    with pytest.raises(TransportError):
        await rest.get_summary()
    await rest.close()
