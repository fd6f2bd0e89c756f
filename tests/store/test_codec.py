"""NodeSnapshot -> JSON -> NodeSnapshot gives back the same snapshot."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksystui.core.ksysmgr.jsonable import to_jsonable
from ksystui.core.model import Flavour, Host, KsysEvent, SystemAttributes, Vm
from ksystui.core.snapshot import NodeHealth, NodeSnapshot, Section
from ksystui.store.codec import CodecError, SectionMemo, dump_snapshot, load_snapshot


def _core_strategies():
    """tests/core/strategies.py (the model's Hypothesis strategies), loaded by
    path under a private name so it cannot clash with another ``strategies``."""
    name = "_ksystui_core_strategies"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "core" / "strategies.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _core_strategies()

timezones = st.none() | st.just(UTC) | st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
datetimes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=timezones)

ITEMS = {
    "vm": S.vms,
    "site": S.sites,
    "host": S.hosts,
    "disk_group": S.disk_groups,
    "disk_pair": S.disk_pairs,
    "workgroup": S.workgroups,
    "event": S.events,
    "system": S.system_attributes,
    "hmc": S.hmcs,
    "cluster": S.clusters,
}


def sections_of(kind: str) -> st.SearchStrategy[Section]:
    size = 1 if kind == "system" else 4
    return st.builds(
        Section,
        kind=st.just(kind),
        items=st.lists(ITEMS[kind], max_size=size).map(tuple),
        read_at=S.optional(datetimes),
        error=S.optional(S.text_values),
    )


health = st.builds(
    NodeHealth,
    last_attempt=S.optional(datetimes),
    last_success=S.optional(datetimes),
    last_error=S.optional(S.text_values),
    error_kind=S.optional(st.sampled_from(["unreachable", "auth_failed", "timeout", "command_failed", "parse"])),
    consecutive_failures=st.integers(0, 1000),
    latency_ms=S.optional(st.floats(0, 1e6, allow_nan=False)),
    host_key=st.sampled_from(["verified", "mismatch", "unknown", "trusted-on-first-use"]),
    next_attempt=S.optional(datetimes),
)

snapshots = st.builds(
    NodeSnapshot,
    node=S.names,
    tenant=S.names,
    flavour=st.sampled_from(Flavour),
    interval=st.floats(0.001, 3600, allow_nan=False),
    sections=st.lists(st.sampled_from(sorted(ITEMS)), unique=True, max_size=6).flatmap(
        lambda kinds: st.fixed_dictionaries({k: sections_of(k) for k in kinds})
    ),
    health=health,
)
"""Snapshots with a few VMs, sites, hosts, disk groups, events (and more)."""


def assert_same(a: NodeSnapshot, b: NodeSnapshot) -> None:
    assert b == a
    # == forgives a tuple/list swap nowhere, but does forgive a datetime moved
    # to another offset with the same instant: the repr does not.
    assert repr(b) == repr(a)


@settings(max_examples=150, deadline=None)
@given(snapshots)
def test_round_trip(snap):
    text = dump_snapshot(snap)
    json.loads(text)  # real JSON
    assert_same(snap, load_snapshot(text))


@settings(max_examples=100, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=4), st.data())
def test_a_memo_reads_a_nodes_successive_snapshots_exactly_as_without(polls, data):
    """A console following the feed re-reads each node every interval; the
    memo must change nothing it reads, whatever changed between two polls."""
    memo = SectionMemo()
    node = polls[0].node
    for snap in polls:
        snap = replace(snap, node=node)
        if data.draw(st.booleans()):  # the same items again, only the read times move on (the common case)
            snap = replace(snap, sections={k: replace(s, read_at=datetime(2026, 1, 1, tzinfo=UTC))
                                           for k, s in snap.sections.items()})
        assert_same(snap, load_snapshot(dump_snapshot(snap), memo))


def test_a_memo_re_uses_the_items_of_an_unchanged_section():
    vm = Vm("db1", state="READY_TO_MOVE")
    first = NodeSnapshot("n1", "t", Flavour.ONPREM, 10, {"vm": Section("vm", (vm,), datetime(2026, 1, 1, tzinfo=UTC))})
    later = replace(first, sections={"vm": Section("vm", (vm,), datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC))},
                    sequence=2)
    memo = SectionMemo()
    a = load_snapshot(dump_snapshot(first), memo)
    b = load_snapshot(dump_snapshot(later), memo)
    assert_same(later, b)
    assert b.vms[0] is a.vms[0]  # not rebuilt
    moved = replace(later, sections={"vm": Section("vm", (replace(vm, state="MOVED"),), None)})
    assert load_snapshot(dump_snapshot(moved), memo).vms[0].state == "MOVED"


@settings(max_examples=50, deadline=None)
@given(
    st.text(),
    st.lists(st.tuples(st.text(), st.text()), max_size=4).map(tuple),
)
def test_any_text_survives(text, extra):
    """Not only what a KSYS prints: any unicode (even lone surrogates) in
    names, free text and extra keys/values."""
    ev = KsysEvent(name=text or "X", description=text, extra=extra)
    snap = NodeSnapshot("n", text, Flavour.ONPREM, 10, {"event": Section("event", (ev,))})
    assert_same(snap, load_snapshot(dump_snapshot(snap)))


def test_extra_keeps_order_and_repeated_keys():
    vm = Vm("vm1", extra=(("Xb", "1"), ("Xa", "2"), ("Xb", "3"), ("Xempty", "")))
    snap = NodeSnapshot("n", "t", Flavour.POWERVS, 10, {"vm": Section("vm", (vm,))})
    back = load_snapshot(dump_snapshot(snap))
    assert back.vms[0].extra == vm.extra
    assert isinstance(back.vms[0].extra, tuple) and all(isinstance(p, tuple) for p in back.vms[0].extra)


def test_datetimes_keep_their_offset_and_microseconds():
    naive = datetime(2026, 11, 23, 3, 0, 0, 123456)
    aware = datetime(2026, 11, 23, 3, 0, 0, 7, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    snap = NodeSnapshot(
        "n", "t", Flavour.ONPREM, 10,
        {"vm": Section("vm", (), naive)},
        NodeHealth(last_attempt=aware, last_success=datetime(2026, 1, 1, tzinfo=UTC)),
    )
    back = load_snapshot(dump_snapshot(snap))
    assert back.sections["vm"].read_at == naive and back.sections["vm"].read_at.tzinfo is None
    assert back.health.last_attempt.utcoffset() == aware.utcoffset()
    assert back.health.last_attempt.microsecond == 7
    assert back.flavour is Flavour.ONPREM


def test_model_objects_look_like_to_jsonable_except_extra_and_tag():
    host = Host("h1", uuid="u1", vios=("v1", "v2"), extra=(("Xk", "v"),))
    data = json.loads(dump_snapshot(NodeSnapshot("n", "t", Flavour.ONPREM, 10, {"host": Section("host", (host,))})))
    stored = data["snapshot"]["sections"]["host"]["items"][0]
    assert stored.pop("$type") == "Host"
    expected = to_jsonable(host)
    expected["extra"] = [["Xk", "v"]]
    # the store keeps every field; a capture bundle leaves out a later field at its default
    expected |= {f.name: f.default for f in dataclasses.fields(Host) if f.metadata.get("omit_when_default")}
    assert stored == expected
    assert data["format"] == 1


def test_values_of_no_model_type_survive_in_items():
    """E.g. the raw DR Automation summary (a JSON dict) a PowerVS monitor keeps."""
    items = (
        "text", 3, 2.5, True, None,
        datetime(2026, 1, 1, tzinfo=UTC),
        Flavour.POWERVS,
        ["a", ("b", 1)],
        {"k": (1, 2), 3: "x"},
        {"managed_vm_list": [{"name": "vm1", "ip": None}], "service_details": {"state": "active", "n": 2}},
        SystemAttributes((("Region", ("a", "b")),), "System Attributes"),
    )
    snap = NodeSnapshot("n", "t", Flavour.ONPREM, 10, {"service": Section("service", items)})
    assert_same(snap, load_snapshot(dump_snapshot(snap)))


def test_tolerates_unknown_and_missing_fields():
    data = json.loads(dump_snapshot(NodeSnapshot("n", "t", Flavour.ONPREM, 10, {"vm": Section("vm", (Vm("a"),))})))
    vm = data["snapshot"]["sections"]["vm"]["items"][0]
    vm["from_a_newer_ksystui"] = 1
    del vm["state"]
    back = load_snapshot(json.dumps(data))
    assert back.vms == (Vm("a"),)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": 99, "snapshot": {}}',
        '{"format": 1}',
        '{"format": 1, "snapshot": {"node": "n", "tenant": "t", "flavour": "mainframe", "interval": 1}}',
        '{"format": 1, "snapshot": {"node": "n", "tenant": "t", "flavour": "onprem", "interval": 1,'
        ' "sections": {"vm": {"kind": "vm", "items": [{"$type": "os:system"}]}}}}',
        '{"format": 1, "snapshot": {"node": "n", "tenant": "t", "flavour": "onprem", "interval": 1,'
        ' "sections": {"vm": {"kind": "vm", "items": [{"$type": "NoSuchClass"}]}}}}',
    ],
)
def test_what_cannot_be_read_is_a_codec_error(text):
    with pytest.raises(CodecError):
        load_snapshot(text)


def test_refuses_to_store_foreign_objects():
    class Foreign:
        pass

    snap = NodeSnapshot("n", "t", Flavour.ONPREM, 10, {"x": Section("x", (Foreign(),))})
    with pytest.raises(CodecError):
        dump_snapshot(snap)


def test_a_plain_string_for_an_enum_field_is_read_back_as_the_enum():
    snap = NodeSnapshot("n", "t", "powervs", 10)  # type: ignore[arg-type]
    assert load_snapshot(dump_snapshot(snap)).flavour is Flavour.POWERVS
