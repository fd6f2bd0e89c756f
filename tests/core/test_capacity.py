"""The capacity model (core.capacity): what runs on a shared recovery host
for every tenant, and whether a move or a DR test fits, in numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ksystui.core import capacity
from ksystui.core.capacity import OTHER_TENANTS, ShareKind, Size, check, demand, host_loads
from ksystui.core.lifecycle import Op
from ksystui.core.model import Flavour, Host, Site, Vm, Workgroup
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SNORLAX = "u-snorlax"
# the seed's VMs: customerA 280 GB / 17.5 CPU, customerB 200 GB / 12.5 CPU
A_VMS = (("cA_oradb01", 128, 8), ("cA_sapascs", 16, 1), ("cA_sapapp01", 64, 4), ("cA_sapapp02", 64, 4),
         ("cA_nimsrv", 8, 0.5))
B_VMS = (("cB_db2core", 96, 6), ("cB_wasapp01", 32, 2), ("cB_wasapp02", 32, 2), ("cB_mqgw01", 16, 1),
         ("cB_batch01", 24, 1.5))


def snapshot(node: str, tenant: str, flavour: Flavour, **items: tuple) -> NodeSnapshot:
    secs = {kind: Section(kind, tuple(values), NOW) for kind, values in items.items()}
    return NodeSnapshot(node, tenant, flavour, 10, secs, NodeHealth(last_success=NOW))


def onprem(node: str, tenant: str, prod: str, vms: tuple, *, moved: bool = False, snorlax_gb: float | None = 512,
           dr_test: str = "INIT", flex: str | None = None) -> NodeSnapshot:
    home, sp = ("BACKUP", "ACTIVE") if moved else ("ACTIVE", "BACKUP")
    size = {} if snorlax_gb is None else {"memory_capacity": f"{snorlax_gb:g}", "processors": "32"}
    return snapshot(
        node, tenant, Flavour.ONPREM,
        vm=tuple(Vm(n, state="READY_TO_MOVE", status="ACTIVE", host="snorlax" if moved else prod,
                    memory_capacity=str(m), processors=str(c), dr_test_state=dr_test, target_flex_mem=flex)
                 for n, m, c in vms),
        site=(Site(tenant, home), Site("service_provider", sp)),
        host=(Host(prod, uuid=f"u-{prod}", site=tenant, pair="snorlax"),
              Host("snorlax", uuid=SNORLAX, site="service_provider", pair=prod, **size)),
    )


def seed(*, a_moved: bool = False, b_moved: bool = False, snorlax_gb: float | None = 512) -> list[NodeSnapshot]:
    return [onprem("r7r3m116", "customerA", "pbrazos", A_VMS, moved=a_moved, snorlax_gb=snorlax_gb),
            onprem("r7r3m108", "customerB", "raichu", B_VMS, moved=b_moved, snorlax_gb=snorlax_gb)]


def test_nothing_runs_on_snorlax_before_a_move_and_both_tenants_fit():
    a, b = seed()
    loads = host_loads([a, b])
    # both ends of every pair: the production hosts are where a move home goes
    assert sorted(loads) == ["u-pbrazos", "u-raichu", SNORLAX]
    assert loads["u-pbrazos"].by_tenant() == {"customerA": Size(280, 17.5)} and loads["u-pbrazos"].total is None
    assert loads[SNORLAX].total == Size(512, 32) and loads[SNORLAX].used == Size()
    assert [d.size for d in demand(Op.MOVE_PLANNED, a)] == [Size(280, 17.5)]
    assert check(Op.MOVE_PLANNED, a, [a, b]).fits
    assert check(Op.MOVE_PLANNED, b, [a, b]).fits


def test_after_customerA_moved_customerB_does_not_fit_a_300_gb_snorlax_and_the_numbers_say_by_how_much():
    a, b = seed(a_moved=True, snorlax_gb=300)
    loads = host_loads([a, b])
    assert loads[SNORLAX].by_tenant() == {"customerA": Size(280, 17.5)}
    verdict = check(Op.MOVE_PLANNED, b, [a, b])
    assert not verdict.fits
    (short,) = verdict.shortfalls
    assert (short.needed, short.free, short.short) == (Size(200, 12.5), Size(20, 14.5), Size(180, 0))
    assert verdict.refusal() == ("does not fit: snorlax needs 200 GB, 12.5 CPU; 20 GB, 14.5 CPU free of "
                                 "300 GB, 32 CPU: short 180 GB")
    assert all("customerA" not in line and "customerB" not in line for line in verdict.lines)


def test_a_queued_move_counts_before_it_shows_in_any_snapshot():
    a, b = seed(snorlax_gb=300)
    pending = demand(Op.MOVE_PLANNED, a)
    assert check(Op.MOVE_PLANNED, b, [a, b]).fits
    assert not check(Op.MOVE_PLANNED, b, [a, b], pending=pending).fits
    # a demand of the same node is this request's own earlier copy, not someone else's
    assert check(Op.MOVE_PLANNED, a, [a, b], pending=pending).fits


def test_a_move_home_frees_the_recovery_host_and_needs_nothing_there():
    a, b = seed(a_moved=True, snorlax_gb=300)
    home = demand(Op.MOVE_PLANNED, a)
    assert [(d.name, d.size) for d in home] == [("pbrazos", Size(280, 17.5))]
    assert check(Op.MOVE_PLANNED, a, [a, b]).unchecked == ("pbrazos",)  # pbrazos' size is not reported


def test_rehearsal_clones_take_their_room_until_cleaned_up():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, dr_test="ACTIVE_COMPLETED", snorlax_gb=300)
    b = onprem("r7r3m108", "customerB", "raichu", B_VMS, snorlax_gb=300)
    load = host_loads([a, b])[SNORLAX]
    assert [(s.tenant, s.kind, s.size) for s in load.shares] == [("customerA", ShareKind.REHEARSAL, Size(280, 17.5))]
    assert not check(Op.DR_TEST, b, [a, b]).fits


def test_target_flex_scales_what_a_vm_takes_on_its_recovery_host():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, flex="50", snorlax_gb=300)
    assert [d.size for d in demand(Op.MOVE_UNPLANNED, a)] == [Size(140, 17.5)]


def test_two_nodes_that_disagree_on_a_hosts_size_get_the_smaller():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, snorlax_gb=300)
    b = onprem("r7r3m108", "customerB", "raichu", B_VMS, snorlax_gb=512)
    assert host_loads([a, b])[SNORLAX].total == Size(300, 32)


def test_a_host_of_unreported_size_is_not_checked_and_says_so():
    a, b = seed(a_moved=True, snorlax_gb=None)
    verdict = check(Op.MOVE_PLANNED, b, [a, b])
    assert verdict.fits and verdict.unchecked == ("snorlax",)
    assert "not checked" in verdict.lines[0]


def test_verify_and_discover_are_never_checked():
    a, b = seed(a_moved=True, snorlax_gb=1)
    assert not capacity.applies(Op.VERIFY)
    assert check(Op.VERIFY, b, [a, b]) == capacity.CapacityVerdict(True, ())


def test_a_tenant_sees_its_own_share_and_the_others_only_as_a_sum():
    a, b = seed(a_moved=True, b_moved=True)
    load = host_loads([a, b])[SNORLAX].for_tenant("customerB")
    assert [(s.tenant, s.size) for s in load.shares] == [("customerB", Size(200, 12.5)),
                                                          (OTHER_TENANTS, Size(280, 17.5))]
    assert all(s.node in ("r7r3m108", "") for s in load.shares)
    assert load.free == Size(32, 2)


def test_powervs_vms_failed_over_run_on_the_dedicated_host_and_backups_hold_their_inactive_size():
    names = (("cC_aixerp01", 32, 2), ("cC_ibmi01", 24, 1))
    ws = {"DAL": "custC-dal12-prod", "WDC": "custC-wdc06-dr"}

    def c(active: str) -> NodeSnapshot:
        wgs = tuple(f"{n}_WG" for n, _, _ in names)
        return snapshot(
            "ksysorch-dal12", "customerC", Flavour.POWERVS,
            vm=tuple(Vm(n, state="READY_TO_MOVE", status="ACTIVE", workspace=ws["DAL"], memory_capacity=str(m),
                        processors=str(p), inactive_vm_mem="2", inactive_vm_cpu="0.25") for n, m, p in names),
            site=(Site("DAL", workspaces=(ws["DAL"],), active_workgroups=wgs if active == "DAL" else ()),
                  Site("WDC", workspaces=(ws["WDC"],), active_workgroups=wgs if active == "WDC" else ())),
            workgroup=tuple(Workgroup(w, active_site=active) for w in wgs),
            host=(Host("dh-wdc06-01", uuid="u-dh", site="WDC", memory_capacity="128", processors="8"),),
        )

    home = host_loads([c("DAL")])["u-dh"]
    assert [(s.kind, s.size) for s in home.shares] == [(ShareKind.RESERVED, Size(4, 0.5))]
    assert [d.size for d in demand(Op.MOVE_UNPLANNED, c("DAL"))] == [Size(56, 3)]
    away = host_loads([c("WDC")])["u-dh"]
    assert [(s.kind, s.size) for s in away.shares] == [(ShareKind.RUNNING, Size(56, 3))]
    assert demand(Op.MOVE_PLANNED, c("WDC")) == []  # the move home has no host of ours to fill


sizes = st.floats(min_value=0, max_value=4096, allow_nan=False).map(lambda x: round(x, 2))


@given(st.lists(st.tuples(sizes, st.floats(min_value=0, max_value=64).map(lambda x: round(x, 2))),
                min_size=1, max_size=8), sizes)
def test_a_move_is_refused_exactly_when_its_vms_exceed_the_free_memory(vms, room):
    a = onprem("r7r3m116", "customerA", "pbrazos", tuple((f"v{i}", m, c) for i, (m, c) in enumerate(vms)),
               snorlax_gb=room)
    b = onprem("r7r3m108", "customerB", "raichu", (), snorlax_gb=room)
    verdict = check(Op.MOVE_PLANNED, a, [a, b])
    need = Size(sum(m for m, _ in vms), sum(c for _, c in vms))
    assert verdict.fits == need.fits_in(Size(room, 32))
    if not verdict.fits:
        assert verdict.shortfalls[0].short.memory_gb > 0 or verdict.shortfalls[0].short.cpu > 0


def test_a_node_that_gives_up_its_dr_test_frees_its_clones_and_no_one_elses():
    a = onprem("r7r3m116", "customerA", "pbrazos", A_VMS, dr_test="ACTIVE")
    b = onprem("r7r3m108", "customerB", "raichu", B_VMS, dr_test="ACTIVE")
    loads = host_loads([a, b])
    assert loads[SNORLAX].used == Size(480, 30)
    left, freed = capacity.abandon_rehearsals(loads, ["r7r3m108"])
    assert left[SNORLAX].by_tenant() == {"customerA": Size(280, 17.5)}
    assert freed == {"r7r3m108": [("snorlax", Size(200, 12.5))]}
    assert left["u-pbrazos"] is loads["u-pbrazos"]  # untouched hosts are the same objects
