"""The states of an operation in the arbiter's queue, and what each means.

One vocabulary for the store, the dispatcher, the command line and the
console: no module spells a state as a bare string of its own. ``OpState``
is a ``StrEnum`` so that it is also the string the database stores.
"""

from __future__ import annotations

from enum import StrEnum


class OpState(StrEnum):
    QUEUED = "queued"
    ADMITTED = "admitted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    IN_DOUBT = "in_doubt"  # sent, outcome unknown: keeps its claims until an operator resolves it

    @property
    def terminal(self) -> bool:
        """Nothing more will happen to it on its own (in_doubt waits for an
        operator, but no dispatcher will touch it)."""
        return self in TERMINAL

    @property
    def holds_claims(self) -> bool:
        """It keeps its node and recovery hosts: admitted, running, or in
        doubt (a move that may be half done must keep its host)."""
        return self in HOLDING

    @property
    def finished(self) -> bool:
        """It ended and released what it held."""
        return self in FINISHED


ACTIVE: frozenset[OpState] = frozenset({OpState.ADMITTED, OpState.RUNNING})
HOLDING: frozenset[OpState] = frozenset({*ACTIVE, OpState.IN_DOUBT})
FINISHED: frozenset[OpState] = frozenset({OpState.SUCCEEDED, OpState.FAILED, OpState.CANCELLED})
TERMINAL: frozenset[OpState] = frozenset({*FINISHED, OpState.IN_DOUBT})
