"""The logic behind the console's keys, without a screen: Tab completion
and the ``:`` history (issue 11: "Tab does not complete in `:` (the prompt
says it does); no `:` history"), and the selection kept across views ("6
then 0 jumps the cursor back to the first tenant")."""

from __future__ import annotations

from ksystui.core.completion import History, complete
from ksystui.core.selection import Selection, placed_key, refined, selection_of
from ksystui.core.views import ViewRow

WORDS = ["vms", "vm", "replication", "events", "tenant customerA", "tenant customerB", "theme dark", "theme light"]


def test_tab_completes_the_one_fit_then_what_the_fits_share_then_steps_through_them():
    assert complete("rep", WORDS).text == "replication"
    shared = complete("ten", WORDS)
    assert shared.text == "tenant customer" and shared.candidates == ("tenant customerA", "tenant customerB")
    first = complete(shared.text, WORDS, shared)
    assert first.text == "tenant customerA"
    assert complete(first.text, WORDS, first).text == "tenant customerB"
    assert complete("REP", WORDS).text == "replication"  # as the suggester: case does not matter
    nothing = complete("zz", WORDS)
    assert nothing.text == "zz" and nothing.candidates == ()


def test_up_and_down_walk_the_history_and_come_back_to_the_draft():
    h = History()
    for command in ("vms", "events", "events", "tenant customerB"):
        h.add(command)
    assert h.entries == ["vms", "events", "tenant customerB"]  # a repeat is kept once
    assert h.older("ev") == "tenant customerB"
    assert h.older("tenant customerB") == "events"
    assert h.older("events") == "vms"
    assert h.older("vms") == "vms"  # the oldest stays
    assert h.newer("vms") == "events"
    assert h.newer("events") == "tenant customerB"
    assert h.newer("tenant customerB") == "ev"  # past the newest: what was being typed
    assert History().older("x") == "x"


def _row(key, tenant, node) -> ViewRow:
    return ViewRow(key, (), None, tenant, node)


OVERVIEW = [_row(("overview", "r7r3m116"), "customerA", "r7r3m116"),
            _row(("overview", "r7r3m108"), "customerB", "r7r3m108")]
VMS = [_row(("vm", "r7r3m116", "cA_oradb01"), "customerA", "r7r3m116"),
       _row(("vm", "r7r3m108", "cB_db2core"), "customerB", "r7r3m108"),
       _row(("vm", "r7r3m108", "cB_mqgw01"), "customerB", "r7r3m108")]


def test_the_selection_finds_the_same_tenant_and_vm_in_another_view():
    vm = selection_of(VMS[2])
    assert vm == Selection(("vm", "r7r3m108", "cB_mqgw01"), "customerB", "r7r3m108", "cB_mqgw01")
    assert placed_key(OVERVIEW, vm, None) == ("overview", "r7r3m108")  # not the first tenant
    # the tenant's row after its VM keeps the VM: back in the VMs view, that VM again
    kept = refined(vm, selection_of(OVERVIEW[1]))
    assert kept == vm and placed_key(VMS, kept, ("vm", "r7r3m108", "cB_db2core")) == ("vm", "r7r3m108", "cB_mqgw01")
    # another tenant chosen in the overview: its rows, whatever the view was last on
    other = refined(vm, selection_of(OVERVIEW[0]))
    assert placed_key(VMS, other, ("vm", "r7r3m108", "cB_mqgw01")) == ("vm", "r7r3m116", "cA_oradb01")
    assert placed_key([], other, 7) == 7  # a queue: the row it was last on
    assert placed_key(OVERVIEW, None, None) is None
