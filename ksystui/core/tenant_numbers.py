"""A tenant's own numbering of its operations.

Operation ids and audit sequence numbers are global: every tenant's requests
draw from one sequence. A console scoped to one tenant that showed them would
let its viewer count the gaps and read another tenant's activity from them
(issue "The provider service", tenant isolation). A scoped console therefore
numbers the tenant's own operations 1, 2, 3 … in the order they were
submitted, and shows no audit sequence at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def own_numbers(ids: Iterable[int]) -> dict[int, int]:
    """Global operation id → the tenant's own number (1 for its first), for
    the ids of one tenant's operations."""
    return {gid: n for n, gid in enumerate(sorted(set(ids)), start=1)}


def shown_ref(op_id: int, numbers: Mapping[int, int] | None) -> str:
    """How an operation is named on screen: its global id (``#42``), or in a
    scoped console its own number (``#3``); one of another tenant's is never
    named (the caller says "another tenant's operation")."""
    if numbers is None:
        return f"#{op_id}"
    number = numbers.get(op_id)
    return f"#{number}" if number is not None else "#?"
