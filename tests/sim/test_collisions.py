"""The shared provider site: two tenants on one recovery host collide, and the
simulator says so. This log is the arbiter's test oracle."""

import asyncio


async def test_concurrent_verify_of_both_tenants_collides_once(world, memory_io):
    world.speed = 50
    a, b = world.nodes["r7r3m116"], world.nodes["r7r3m108"]
    rcs = await asyncio.gather(
        a.run_ksysmgr(["verify", "site", "customerA"], memory_io()),
        b.run_ksysmgr(["verify", "site", "customerB"], memory_io()),
    )
    log = world.collisions.to_json()
    assert len(log) == 1
    c = log[0]
    assert c["host"] == "snorlax" and sorted(c["tenants"]) == ["customerA", "customerB"]
    assert sorted(rcs) == [0, 1]  # the later one failed
    assert all("verify site" in op for op in c["operations"])


async def test_the_failing_tenant_is_told_about_the_host_not_the_other_tenant(world, memory_io):
    world.speed = 50
    a, b = world.nodes["r7r3m116"], world.nodes["r7r3m108"]
    ioa, iob = memory_io(), memory_io()
    await asyncio.gather(
        a.run_ksysmgr(["verify", "site", "customerA"], ioa),
        b.run_ksysmgr(["verify", "site", "customerB"], iob),
    )
    loser = iob if "busy" in iob.stderr else ioa
    text = loser.stdout + loser.stderr
    assert "snorlax" in text
    assert "customerA" not in text.replace("site customerA", "") or loser is ioa
    other = "customerA" if loser is iob else "customerB"
    assert other not in text and "r7r3m1" not in text


async def test_sequential_verify_leaves_no_collision(world, memory_io):
    a, b = world.nodes["r7r3m116"], world.nodes["r7r3m108"]
    assert await a.run_ksysmgr(["verify", "site", "customerA"], memory_io()) == 0
    assert await b.run_ksysmgr(["verify", "site", "customerB"], memory_io()) == 0
    assert world.collisions.entries() == []


async def test_discovery_in_parallel_never_collides(world, memory_io):
    a, b = world.nodes["r7r3m116"], world.nodes["r7r3m108"]
    rcs = await asyncio.gather(
        a.run_ksysmgr(["discover", "site", "customerA"], memory_io()),
        b.run_ksysmgr(["discover", "site", "customerB"], memory_io()),
    )
    assert rcs == [0, 0] and world.collisions.entries() == []


async def test_concurrent_moves_collide_and_the_loser_fails_its_vms(world, memory_io):
    world.speed = 50
    a, b = world.nodes["r7r3m116"], world.nodes["r7r3m108"]
    rcs = await asyncio.gather(
        a.run_ksysmgr("-f move site from=customerA to=service_provider".split(), memory_io()),
        b.run_ksysmgr("-f move site from=customerB to=service_provider".split(), memory_io()),
    )
    assert sorted(rcs) == [0, 1] and len(world.collisions.entries()) == 1
    loser = b if rcs[1] == 1 else a
    assert {v.state for v in loser.state.managed_vms()} == {"MOVE_FAILED"}
