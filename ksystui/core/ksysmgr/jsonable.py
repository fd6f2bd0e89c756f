"""Model objects -> plain JSON-ready structures (for ``ksystui parse`` and logs)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Dataclasses become dicts (``extra`` an object of key -> value), tuples and
    lists become lists, enums their value; str/int/float/bool/None pass through.
    A field marked ``model.LATER_FIELD`` is left out while it holds its default."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("omit_when_default") and value == f.default:
                continue  # a field added later: absent while empty, as in older bundles
            if f.name == "extra":
                out["extra"] = {key: val for key, val in value}
            else:
                out[f.name] = to_jsonable(value)
        return out
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (tuple, list)):
        return [to_jsonable(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj
