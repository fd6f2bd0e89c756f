"""What the operator has selected, kept across views.

Each view builds its own rows, so a cursor is lost when the view changes;
the console keeps the selection as what it is about (tenant, node, VM) and
puts the next view's cursor on the row that is about the same thing. Without
it, ``6`` then ``0`` put the cursor back on the first tenant, and the next
``m`` acted on another tenant than the one just selected.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from ksystui.core.views import ViewRow


@dataclass(frozen=True)
class Selection:
    """The selected row, and what it is about."""

    key: Hashable
    tenant: str | None
    node: str | None
    vm: str | None = None  # a VM's name, when the row is one VM


def selection_of(row: ViewRow) -> Selection:
    vm = row.key[2] if isinstance(row.key, tuple) and len(row.key) == 3 and row.key[0] == "vm" else None
    return Selection(row.key, row.tenant, row.node, vm)


def refined(current: Selection | None, new: Selection) -> Selection:
    """The selection after the cursor landed on ``new``: a coarser row about
    the same thing (the tenant's row after one of its VMs) keeps the finer
    selection, so going back to the VMs finds that VM again."""
    if current is not None and new.tenant == current.tenant and new.node in (None, current.node) \
            and new.vm is None and current.vm is not None:
        return current
    return new


def best_key(rows: Iterable[ViewRow], sel: Selection | None) -> Hashable | None:
    """The row of ``rows`` most about the selection: the same row, the same
    VM, the same node, the same tenant; None when none is (the view keeps
    its own cursor)."""
    if sel is None:
        return None
    best: tuple[int, Hashable] | None = None
    for row in rows:
        rank = _rank(row, sel)
        if rank and (best is None or rank > best[0]):
            best = (rank, row.key)
            if rank == 4:
                break
    return best[1] if best is not None else None


def _rank(row: ViewRow, sel: Selection) -> int:
    if row.key == sel.key:
        return 4
    if sel.tenant is None or row.tenant != sel.tenant:
        return 0
    if sel.node is not None and row.node == sel.node:
        return 3 if sel.vm is not None and _names_vm(row.key, sel.vm) else 2
    return 1


def _names_vm(key: Hashable, vm: str) -> bool:
    return isinstance(key, tuple) and vm in key


def placed_key(rows: Sequence[ViewRow], sel: Selection | None, remembered: Hashable | None) -> Hashable | None:
    """Where a view's cursor goes when it opens: the row most about the
    selection, or the row the view was last on when that one is as much
    about it (the same event of the selected node, say); with no rows to
    judge (a queue, an audit trail), the row it was last on."""
    if not rows or sel is None:
        return remembered
    found = best_key(rows, sel)
    if remembered is not None and found is not None:
        mine = next((r for r in rows if r.key == remembered), None)
        best = next(r for r in rows if r.key == found)
        if mine is not None and _rank(mine, sel) >= _rank(best, sel):
            return remembered
    return found if found is not None else remembered
