"""The view registry: one entry per view, consistent with itself, and each
view's rows as wide as its columns."""

from __future__ import annotations

from ksystui.core.viewdefs import (
    VIEW_DEFS,
    VIEWS,
    FleetRowContext,
    FleetWide,
    FromAlerts,
    NodeRowContext,
    OneTenant,
    OpenDetail,
    OpenView,
    PerNode,
)
from tests.core.test_views import NOW, TENANTS, fleet


def test_names_words_and_keys_are_unique():
    words = [w for v in VIEW_DEFS for w in v.words]
    assert len(words) == len(set(words))
    keys = [v.key for v in VIEW_DEFS if v.key]
    assert len(keys) == len(set(keys)) and all(k.isdigit() and len(k) == 1 for k in keys)
    for v in VIEW_DEFS:
        assert len({c.key for c in v.columns}) == len(v.columns), v.name
        if v.default_sort:
            assert v.default_sort[0] in {c.key for c in v.columns}


def rows_of(view, snapshots):
    src = view.source
    if isinstance(src, PerNode):
        ctx = NodeRowContext(NOW, {}, {})
        return [r for s in snapshots.values() for r in src.build(s, ctx)]
    if isinstance(src, FleetWide):
        return src.build(FleetRowContext(snapshots, TENANTS, NOW, None, {}))
    if isinstance(src, OneTenant):
        return src.build(snapshots, "customerA")
    if isinstance(src, FromAlerts):
        return src.build(records(snapshots), None)
    return []


def records(snapshots):
    """The alert records a service would raise for these snapshots' critical events."""
    from ksystui.core.alerts import AlertRecord, alerts_for

    out = []
    for s in snapshots.values():
        for a in alerts_for(s.node, s.tenant, s.events):
            out.append(AlertRecord(len(out) + 1, a.identity, a.tenant, a.node, a.event, a.event_id, a.event_time,
                                   a.description, a.resource, a.proposal, NOW, None, None, None))
    return out


def test_every_row_is_as_wide_as_its_views_columns_and_drills_somewhere_real():
    snapshots = fleet()
    built = 0
    for view in VIEW_DEFS:
        for row in rows_of(view, snapshots):
            built += 1
            assert len(row.cells) == len(view.columns), view.name
            target = view.drill(row) if view.drill else None
            if isinstance(target, OpenView):
                assert target.view in VIEWS
                assert (target.tenant is not None) == isinstance(VIEWS[target.view].source, OneTenant)
            elif isinstance(target, OpenDetail):
                assert target.pairs and target.title
    assert built > 10


def test_drill_targets():
    snapshots = fleet()
    overview = rows_of(VIEWS["overview"], snapshots)[0]
    assert VIEWS["overview"].drill(overview) == OpenView("tenant", tenant="customerA", title="Tenant customerA")
    host = rows_of(VIEWS["hosts"], snapshots)[0]
    assert VIEWS["hosts"].drill(host) == OpenView("vms", preset_filter=f"node:{host.node}")
    vm = rows_of(VIEWS["vms"], snapshots)[0]
    detail = VIEWS["vms"].drill(vm)
    assert isinstance(detail, OpenDetail) and detail.title == f"VM {vm.key[2]}"
    assert ("tenant", vm.tenant) in detail.pairs and ("SSH · state", "READY_TO_MOVE") in detail.pairs
    node = rows_of(VIEWS["nodes"], snapshots)[0]
    detail = VIEWS["nodes"].drill(node)
    assert isinstance(detail, OpenDetail) and any(k == "query vm" for k, _ in detail.pairs)
