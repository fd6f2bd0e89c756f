"""What the product knows of a tenant from its configuration, and the rules
that follow from it alone. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class TenantInfo:
    name: str
    priority: int  # the service agreement's order: 1 goes first
    tier: str
    nodes: tuple[str, ...] = ()  # its KSYS nodes, as the configuration lists them
    rto: timedelta | None = None  # the agreed recovery time objective (None: none agreed)
    rpo: timedelta | None = None  # the agreed recovery point objective

    @property
    def default_node(self) -> str | None:
        """The node an operation acts on when none is named: the first the
        configuration lists (a tenant with one KSYS node, as most have, has
        no choice to make)."""
        return self.nodes[0] if self.nodes else None


UNKNOWN_PRIORITY = 99  # a tenant missing from the configuration goes after every agreed one
