"""Named kill points: crash tests set ``KSYSTUI_KILL_AT`` and the process
SIGKILLs itself there, exactly as a kill -9 from outside would land.

``KSYSTUI_KILL_AT`` takes ``<point>`` (die the first time the point is
passed), ``<point>:<n>`` (the n-th time) or ``any:<n>`` (at the n-th named
point passed, whichever it is: a seeded "random moment" the soak test picks).

This module sits at the package's top so that the store, the arbiter and the
service can all call it (the client may import the store, never the arbiter).
The points, grouped by what they interrupt:
"""

from __future__ import annotations

import os
import signal

#: The operation's path through the arbiter (the crash test of ``ksystui submit --wait`` passes each).
OPERATION_POINTS: tuple[str, ...] = (
    "after_submit",   # the request is committed, the caller not yet told
    "after_admit",    # claims taken and fenced, nothing sent
    "after_start",    # marked running (write-ahead), command not yet sent
    "after_send",     # the node has started: first progress line received
    "before_finish",  # the command ended, its outcome not yet recorded
    "after_finish",   # outcome recorded, claims released
)

#: Inside the store's transactions (a kill there rolls the transaction back).
STORE_POINTS: tuple[str, ...] = (
    "submit_before_commit",     # the request and its audit row written, not committed
    "admit_before_claims",      # admission decided and fenced, no claim inserted
    "admit_after_claims",       # claims inserted, the operation not yet marked admitted
    "transition_before_release",  # a finish/requeue: state written, claims still held
    "transition_after_release",   # claims released, the audit row not yet written
    "resolve_before_commit",    # an operator's verdict written, not committed
    "progress_before_commit",   # a progress line (a milestone: and its audit row) written, not committed
    "queued_update_before_commit",  # a cancel or a raise written, not committed
    "audit_before_insert",      # the head locked, the record sealed, no row inserted
    "audit_after_insert",       # the row inserted, the head not yet moved
    "audit_after_head",         # the head moved, the transaction not yet committed
)

#: After the commit: the external anchor log (a kill there leaves the anchor behind the database).
ANCHOR_POINTS: tuple[str, ...] = (
    "anchor_before_write",  # committed, the new head not yet appended to the anchor log
    "anchor_after_write",   # the line written, not yet fsynced
    "anchor_after_fsync",   # the line is on disk
)

#: The store's migrations (one transaction: a kill leaves the old schema).
MIGRATION_POINTS: tuple[str, ...] = (
    "migrate_before_upgrade",  # the migration lock held, nothing changed
    "migrate_after_upgrade",   # every revision applied, not yet committed
)

POINTS: tuple[str, ...] = OPERATION_POINTS + STORE_POINTS + ANCHOR_POINTS + MIGRATION_POINTS
ENV = "KSYSTUI_KILL_AT"

_passed: dict[str, int] = {}


def maybe_die(point: str) -> None:
    if point not in POINTS:
        raise ValueError(f"unknown kill point {point!r}")
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name not in (point, "any"):
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
