"""Reusable widgets of the ksystui terminal UI.

Names resolve lazily (PEP 562), so importing the pure
``ksystui.ui.widgets.table_model`` does not import Textual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksystui.ui.widgets.table_model import Column, Row, RowChanges
    from ksystui.ui.widgets.virtual_table import VirtualTable

__all__ = ["Column", "Row", "RowChanges", "VirtualTable"]

_WHERE = {
    "Column": "table_model",
    "Row": "table_model",
    "RowChanges": "table_model",
    "VirtualTable": "virtual_table",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
