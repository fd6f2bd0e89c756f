"""Hypothesis strategies for the ksystui domain model.

Values are the kind a KSYS node prints: names without whitespace, commas or
colons (ksysmgr does not support spaces in resource names, S3), free text made
of such words joined by single spaces, states drawn from the model's closed
sets, optional fields either None or set. Other tests may reuse these.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ksystui.core.ksysmgr.records import norm_key
from ksystui.core.model import (
    CG_STATES,
    DR_TEST_STATES,
    EVENT_TYPES,
    VM_STATES,
    Cluster,
    Disk,
    DiskGroup,
    DiskPair,
    Hmc,
    Host,
    HostGroup,
    KsysEvent,
    NotifyConfig,
    ProgressSummary,
    Site,
    StorageAgent,
    SystemAttributes,
    SystemReport,
    Version,
    Vm,
    Workgroup,
)

_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NAME_REST = _NAME_START + "0123456789_.-"
_TEXT_REST = _NAME_REST + ":/#()<>,@=   "


def _spell(n: int, rest: str) -> str:
    """The n-th string of a letter followed by characters of ``rest``. One integer
    draw per string keeps generation cheap (each Hypothesis draw costs ~50 us)
    and shrinks towards "a"."""
    out = [_NAME_START[n % len(_NAME_START)]]
    n //= len(_NAME_START)
    while n:
        out.append(rest[n % len(rest)])
        n //= len(rest)
    return "".join(out)


names = st.integers(0, len(_NAME_START) * len(_NAME_REST) ** 9).map(lambda n: _spell(n, _NAME_REST))
"""Resource names: a letter, then up to 9 letters, digits, ``_ . -``."""

text_values = st.integers(0, len(_NAME_START) * len(_TEXT_REST) ** 14).map(
    lambda n: " ".join(_spell(n, _TEXT_REST).split())
)
"""One line of free text; may contain colons, commas and ``#``, single spaces between words."""

multiline_values = st.lists(text_values, min_size=2, max_size=3).map("\n".join)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def name_lists(max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(names, max_size=max_size).map(tuple)


text_lines = st.lists(text_values, max_size=3).map(tuple)

# Unknown keys: their normalised form starts with "x", which no known key does.
extra_keys = st.builds(
    lambda prefix, n: prefix + _spell(n, "abcdefghijklmnopqrstuvwxyz0123456789"),
    st.sampled_from(["X", "X_", "Xtra ", "x"]),
    st.integers(0, 10**9),
)
extras = st.lists(
    st.tuples(extra_keys, st.just("") | text_values | multiline_values),
    max_size=2,
    unique_by=lambda kv: norm_key(kv[0]),
).map(tuple)


def model(
    cls: type, required: dict[str, st.SearchStrategy], optional: dict[str, st.SearchStrategy]
):
    """``cls`` with the ``required`` fields and any subset of the ``optional`` ones
    (the rest keep their defaults: None or ()). The subset is one bitmask draw,
    which shrinks towards "nothing optional"."""
    keys = list(optional)

    @st.composite
    def build(draw):
        mask = draw(st.integers(0, 2 ** len(keys) - 1))
        kwargs = {key: draw(strategy) for key, strategy in required.items()}
        for i, key in enumerate(keys):
            if mask >> i & 1:
                kwargs[key] = draw(optional[key])
        return cls(**kwargs)

    return build()


vm_states = st.sampled_from(sorted(VM_STATES))
dr_test_states = st.sampled_from(sorted(DR_TEST_STATES))
cg_states = st.sampled_from(sorted(CG_STATES))
event_types = st.sampled_from(sorted(EVENT_TYPES))
priorities = st.sampled_from(["Low", "Medium", "High"])
progress_values = st.floats(min_value=0, max_value=100, allow_nan=False)

vms = model(
    Vm,
    {"name": names, "state": vm_states},
    {
        "uuid": text_values,
        "dr_test_state": dr_test_states,
        "status": st.sampled_from(["ACTIVE", "SHUTOFF"]),
        "host": names,
        "priority": priorities,
        "partner": names,
        "source_vm": names,
        "clone_vm": names,
        "active_vm": st.booleans(),
        "ip_addresses": name_lists(),
        "memory_capacity": text_values,
        "processors": text_values,
        "processor_mode": text_values,
        "workspace": names,
        "networks": name_lists(),
        "system_type": names,
        "extra": extras,
    },
)

sites = model(
    Site,
    {"name": names},
    {
        "sitetype": st.sampled_from(["ACTIVE", "BACKUP", "HOME"]),
        "region": names,
        "workspaces": name_lists(),
        "active_workgroups": name_lists(),
        "active_host_groups": name_lists(),
        "extra": extras,
    },
)

hmcs = model(
    Hmc,
    {"name": names},
    {
        "site": names,
        "ip": names,
        "login": names,
        "managed_hosts": st.lists(st.tuples(names, names), max_size=3).map(tuple),
        "extra": extras,
    },
)

hosts = model(
    Host,
    {"name": names},
    {
        "uuid": names,
        "site": names,
        "pair": names,
        "state": text_values,
        "fsp_id": names,
        "vios": name_lists(),
        "hmcs": name_lists(2),
        "extra": extras,
    },
)

host_groups = model(
    HostGroup,
    {"name": names},
    {
        "site": names,
        "active_hosts": name_lists(),
        "backup_hosts": name_lists(),
        "memory_capacity": text_values,
        "cpu_capacity": text_values,
        "skip_power_on": st.sampled_from(["Yes", "No"]),
        "extra": extras,
    },
)

storage_agents = model(
    StorageAgent,
    {"name": names},
    {
        "serialnumber": names,
        "storagetype": st.sampled_from(["svc", "ds8k", "emc", "hitachi", "xiv", "unity"]),
        "site": names,
        "login": names,
        "ip": names,
        "extra": extras,
    },
)

_pair_text = st.builds(lambda a, b: f"{a} <-> {b}", names, names)

disk_groups = model(
    DiskGroup,
    {},
    {
        "name": names,
        "workgroup": names,
        "cg_name": names,
        "cg_state": cg_states,
        "progress": progress_values,
        "site": names,
        "active_site": names,
        "host_group": names,
        "disk_pairs": st.lists(_pair_text, max_size=3).map(tuple),
        "home_workspace": names,
        "backup_workspace": names,
        "active_workspace": names,
        "volume_disk_group": _pair_text,
        "extra": extras,
    },
).filter(lambda g: g.name is not None or g.workgroup is not None)

disk_pairs = model(
    DiskPair,
    {"source": names},
    {
        "target": names,
        "state": cg_states,
        "disk_group": names,
        "source_agent": names,
        "target_agent": names,
        "extra": extras,
    },
)

disks = model(
    Disk,
    {"vm": names},
    {
        "partner_vm": names,
        "cg_name": names,
        "cg_state": cg_states,
        "progress": progress_values,
        "disk_ids": st.lists(st.builds(lambda a, b: f"{a} -> {b}", names, names), max_size=3).map(
            tuple
        ),
        "extra": extras,
    },
)

workgroups = model(
    Workgroup,
    {"name": names},
    {
        "id": names,
        "vms": name_lists(2),
        "partner_vm": names,
        "state": vm_states,
        "dr_test_state": dr_test_states,
        "priority": priorities,
        "skip_auto_resync": st.sampled_from(["ON", "OFF"]),
        "home_workspace": names,
        "backup_workspace": names,
        "active_workspace": names,
        "home_site": names,
        "active_site": names,
        "networks": st.lists(_pair_text, max_size=2).map(tuple),
        "rehearsal_networks": st.lists(_pair_text, max_size=2).map(tuple),
        "cg_name": names,
        "extra": extras,
    },
)

event_names = st.integers(0, 26 * 37**12).map(
    lambda n: _spell(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_").upper()
)
"""UPPER_SNAKE event names such as DISCOVERY_FAILED."""

events = model(
    KsysEvent,
    {"name": event_names},
    {
        "type": event_types,
        "description": text_values,
        "time": text_values,
        "resource": names,
        "event_id": names,
        "extra": extras,
    },
)

catalogue_events = model(
    KsysEvent, {"name": event_names, "type": event_types}, {"description": text_values}
)
"""Events as the tabular catalogue knows them: name, type, description only."""

notify_configs = model(
    NotifyConfig,
    {},
    {
        "contacts": st.lists(st.tuples(names, text_values), max_size=3).map(tuple),
        "scripts": st.lists(st.tuples(text_values, event_names), max_size=3).map(tuple),
        "extra": extras,
    },
)

_attribute_keys = st.integers(0, 52 * 63**12).map(
    lambda n: _spell(n, _NAME_START + "0123456789_")
) | st.sampled_from(["User Scripts for Site", "User Scripts for Workgroup", "User Scripts for VM"])
system_attributes = model(
    SystemAttributes,
    {
        "attributes": st.lists(
            st.tuples(_attribute_keys, text_lines),
            min_size=1,
            max_size=4,
            unique_by=lambda kv: norm_key(kv[0]),
        )
        .filter(lambda attrs: all(norm_key(k) != "note" for k, _ in attrs))
        .map(tuple)
    },
    {"header": st.sampled_from(["System-Wide Persistent Attributes", "System Attributes"])},
)
"""At least one attribute: a listing with neither attributes nor header is empty output."""

_node_states = st.builds(lambda n, i: f"{n}:{i}:Online", names, st.integers(1, 4))
clusters = model(
    Cluster,
    {"name": names},
    {
        "state": st.sampled_from(["Online", "Offline"]),
        "type": st.sampled_from(["DR", "HA", "HADR", "HADRHA", "IBM_PVS_DR", "IBM_PVS_PRIVATE_DR"]),
        "ksysnodes": st.lists(_node_states, max_size=2).map(tuple),
        "ksys_state": st.lists(_node_states, max_size=2).map(tuple),
        "extra": extras,
    },
)

_dotted = st.integers(0, 20**4 - 1).map(lambda n: ".".join(str(n // 20**i % 20) for i in range(4)))
versions = model(Version, {"ksysmgr_version": _dotted}, {"ksys_version": _dotted, "extra": extras})

_sentence = st.integers(0, 30**20).map(
    lambda n: "KSYS " + " ".join(_spell(n, "abcdefghijklmnopqrstuvwxyz,.  ").split())
)
_count_value = st.one_of(
    st.integers(0, 10**6).map(str),
    st.builds(
        lambda n, u: f"{n / 100:.2f}{u}", st.integers(0, 10**8), st.sampled_from(["", " MB", " GB"])
    ),
)
_count_key = st.builds(
    lambda head, n: f"{head} {_spell(n, 'abcdefghijklmnopqrstuvwxyz_ ').strip()}",
    st.sampled_from(["Number of", "Total managed"]),
    st.integers(0, 10**12),
)
_tree_line = st.builds(
    lambda indent, key, value: f"{' ' * indent}{key}: {value}",
    st.sampled_from([0, 4, 9]),
    st.sampled_from(["Home Site", "Backup Site", "Host_Group", "HOST", "Active Hosts", "VIOS"]),
    names,
) | st.builds(lambda indent, name: f"{' ' * indent}{name}", st.sampled_from([4, 16]), names)

system_reports = model(
    SystemReport,
    {},
    {
        "messages": st.lists(_sentence, max_size=3).map(tuple),
        "ksysmgr_version": _dotted,
        "ksys_version": _dotted,
        "status": _sentence,
        "counts": st.lists(
            st.tuples(_count_key, _count_value), max_size=5, unique_by=lambda kv: kv[0]
        ).map(tuple),
        "environment": st.lists(_tree_line, max_size=6).map(tuple),
    },
)

progress_summaries = st.builds(
    ProgressSummary,
    succeeded=st.integers(0, 500),
    total=st.integers(0, 500),
    verb=st.sampled_from(["discovered", "verified", "moved", "recovered", "cleaned"]),
)
