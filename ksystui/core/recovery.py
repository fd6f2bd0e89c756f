"""Which recovery a critical alert calls for, and when the console offers it.

The seed rule: a production host fails, so its VMs must move to the backup
site, unplanned. The console prepares that operation (pre-filled, never
queued without the operator's confirmation) only when it could queue it at
all: it has an arbiter and is not read-only. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from ksystui.core.lifecycle import Op

RECOVERY_FOR: Mapping[str, Op] = {"HOST_FAILURE": Op.MOVE_UNPLANNED}


def proposed_recovery(event: str) -> Op | None:
    """The operation an alert of this event calls for, or None."""
    return RECOVERY_FOR.get(event)


def offer_on_alert(event: str, *, readonly: bool, can_submit: bool) -> Op | None:
    """The recovery to prepare when this alert arrives: none from a console
    that could not queue it anyway (read-only, or no arbiter)."""
    if readonly or not can_submit:
        return None
    return proposed_recovery(event)


def act_on_alert(event: str) -> Op:
    """What ``!`` prepares for the latest alert: its recovery, else a
    verification (the safe first look at a site that raised an alert)."""
    return proposed_recovery(event) or Op.VERIFY
