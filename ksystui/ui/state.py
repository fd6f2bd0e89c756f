"""The console's picture of the fleet now lives in the core
(``ksystui.core.fleet_view``: the diff is pure); kept so older imports work."""

from ksystui.core.fleet_view import FleetView, ViewChanges

__all__ = ["FleetView", "ViewChanges"]
