"""NodeSnapshot <-> JSON text, exactly.

``core.ksysmgr.jsonable.to_jsonable`` is one-way (it turns ``extra`` into an
object, which loses repeated keys and cannot tell a tuple from a list); the
store needs the way back. This codec is driven by the dataclasses' own type
hints, so the JSON stays close to what ``to_jsonable`` prints:

* a dataclass is an object of its fields; ``extra`` (and every other tuple of
  pairs) is a list of ``[key, value]`` lists, in order, repeats kept;
* tuples are lists, enums their value, datetimes ISO 8601 strings (offset and
  microseconds kept; ``{"iso": …, "fold": 1}`` for the later of two equal
  wall times);
* where a hint says ``Any`` (``Section.items``), values carry a tag so they
  can be rebuilt: a dataclass gets ``"$type"`` (the class name for the core
  model, ``module:QualName`` for another ``ksystui`` class), and the rare
  non-dataclass values are wrapped (``{"$datetime": …}``, ``{"$dict": …}``,
  ``{"$list": …}``, ``{"$enum": …}``).

Decoding tolerates what a newer or older writer may leave: unknown fields of a
dataclass are ignored and missing ones take their defaults. An unknown
``format`` or ``$type`` raises :class:`CodecError`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from ksystui.core import model, snapshot
from ksystui.core.snapshot import NodeSnapshot

FORMAT = 1


class CodecError(ValueError):
    """The text is not a snapshot this version of ksystui can read."""


# --- the type registry ---------------------------------------------------------
def _dataclasses_of(module: types.ModuleType) -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(module).items()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    }


_SHORT: dict[str, type] = {**_dataclasses_of(model), **_dataclasses_of(snapshot)}
_SHORT_NAME: dict[type, str] = {cls: name for name, cls in _SHORT.items()}


def _type_tag(cls: type) -> str:
    short = _SHORT_NAME.get(cls)
    if short is not None:
        return short
    if not cls.__module__.startswith("ksystui."):
        raise CodecError(f"cannot store a {cls.__module__}.{cls.__qualname__}: only ksystui dataclasses")
    return f"{cls.__module__}:{cls.__qualname__}"


def _type_from_tag(tag: str) -> type:
    if tag in _SHORT:
        return _SHORT[tag]
    module_name, _, qualname = tag.partition(":")
    if not qualname or not (module_name == "ksystui" or module_name.startswith("ksystui.")):
        raise CodecError(f"unknown stored type {tag!r}")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise CodecError(f"unknown stored type {tag!r}") from None
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        raise CodecError(f"stored type {tag!r} is not a dataclass")
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, init) of each field."""
    return tuple((f.name, f.init) for f in dataclasses.fields(cls))


def _non_none(hint: Any) -> tuple[bool, list[Any]]:
    args = typing.get_args(hint)
    return type(None) in args, [a for a in args if a is not type(None)]


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


# --- encoding --------------------------------------------------------------------
_SPECIFIC = object()  # the hint names one type: the caller handles it


def _by_loose_hint(value: Any, hint: Any, walk: Callable[[Any, Any], Any], untyped: Callable[[Any], Any]) -> Any:
    """Encode or decode ``value`` where the hint does not name one type
    (``Any``, ``object``, a union): ``walk`` follows the one type an optional
    names, ``untyped`` tags or reads the value's own type. ``_SPECIFIC``
    when the hint is a single type."""
    if hint is Any or hint is object:
        return untyped(value)
    if not _is_union(hint):
        return _SPECIFIC
    has_none, rest = _non_none(hint)
    if value is None and has_none:
        return None
    if len(rest) == 1:
        return walk(value, rest[0])
    return untyped(value)


def _enc(value: Any, hint: Any) -> Any:
    loose = _by_loose_hint(value, hint, _enc, _enc_any)
    if loose is not _SPECIFIC:
        return loose
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple):
            raise CodecError(f"expected a tuple, found {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return [_enc(v, args[0]) for v in value]
        if args and len(args) == len(value):
            return [_enc(v, a) for v, a in zip(value, args, strict=True)]
        return [_enc_any(v) for v in value]
    if origin in (Mapping, dict, typing.Mapping) or hint in (dict, Mapping):
        args = typing.get_args(hint) or (str, Any)
        if not isinstance(value, Mapping):
            raise CodecError(f"expected a mapping, found {type(value).__name__}")
        if args[0] is not str or not all(isinstance(k, str) for k in value):
            return _enc_any(dict(value))
        return {k: _enc(v, args[1]) for k, v in value.items()}
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            if type(value) is not hint:
                return _enc_any(value)  # a subclass, or something else: say what it is
            return _enc_fields(value)
        if issubclass(hint, Enum):
            return value.value if isinstance(value, Enum) else value
        if hint is datetime:
            if not isinstance(value, datetime):
                raise CodecError(f"expected a datetime, found {type(value).__name__}")
            return _enc_datetime(value)
        if hint in (str, int, float, bool) and isinstance(value, (str, int, float, bool)):
            return value
    return _enc_any(value)


def _enc_fields(value: Any) -> dict[str, Any]:
    cls: type = type(value)
    hints = _hints(cls)
    return {name: _enc(getattr(value, name), hints.get(name, Any)) for name, _ in _fields(cls)}


def _enc_any(value: Any) -> Any:
    """A value whose type no hint tells: tag it."""
    if value is None or isinstance(value, (str, bool, int, float)) and not isinstance(value, Enum):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$type": _type_tag(type(value)), **_enc_fields(value)}
    if isinstance(value, tuple):
        return [_enc_any(v) for v in value]
    if isinstance(value, list):
        return {"$list": [_enc_any(v) for v in value]}
    if isinstance(value, Mapping):
        return {"$dict": [[_enc_any(k), _enc_any(v)] for k, v in value.items()]}
    if isinstance(value, datetime):
        return {"$datetime": _enc_datetime(value)}
    if isinstance(value, Enum):
        return {"$enum": _type_tag_enum(type(value)), "value": value.value}
    raise CodecError(f"cannot store a value of type {type(value).__name__}")


def _type_tag_enum(cls: type) -> str:
    if cls.__module__ == model.__name__:
        return cls.__name__
    if not cls.__module__.startswith("ksystui."):
        raise CodecError(f"cannot store a {cls.__module__}.{cls.__qualname__}: only ksystui enums")
    return f"{cls.__module__}:{cls.__qualname__}"


def _enc_datetime(value: datetime) -> Any:
    """ISO 8601; ``{"iso": …, "fold": 1}`` for the second of two equal wall
    times (a clock set back), which ISO 8601 cannot tell."""
    return {"iso": value.isoformat(), "fold": 1} if value.fold else value.isoformat()


def _dec_datetime(data: Any) -> datetime:
    fold = 0
    if isinstance(data, dict):
        fold, data = data.get("fold", 0), data.get("iso")
    if not isinstance(data, str):
        raise CodecError(f"expected an ISO 8601 datetime, found {type(data).__name__}")
    try:
        value = datetime.fromisoformat(data)
    except ValueError as exc:
        raise CodecError(str(exc)) from None
    return value.replace(fold=1) if fold else value


# --- decoding --------------------------------------------------------------------
def _dec(data: Any, hint: Any) -> Any:
    loose = _by_loose_hint(data, hint, _dec, _dec_any)
    if loose is not _SPECIFIC:
        return loose
    if isinstance(data, dict) and "$type" in data:
        return _dec_any(data)  # encoded with a tag: the value was not of the hinted class
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        _expect(data, list, hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_dec(v, args[0]) for v in data)
        if args and len(args) == len(data):
            return tuple(_dec(v, a) for v, a in zip(data, args, strict=True))
        return tuple(_dec_any(v) for v in data)
    if origin in (Mapping, dict, typing.Mapping) or hint in (dict, Mapping):
        args = typing.get_args(hint) or (str, Any)
        if isinstance(data, dict) and "$dict" in data:
            return _dec_any(data)
        _expect(data, dict, hint)
        return {k: _dec(v, args[1]) for k, v in data.items()}
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            _expect(data, dict, hint)
            return _dec_fields(hint, data)
        if issubclass(hint, Enum):
            try:
                return hint(data)
            except ValueError as exc:
                raise CodecError(str(exc)) from None
        if hint is datetime:
            return _dec_datetime(data)
        if hint in (str, int, float, bool):
            return data
    return _dec_any(data)


def _dec_fields(cls: type, data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name, init in _fields(cls):
        if init and name in data:
            kwargs[name] = _dec(data[name], hints.get(name, Any))
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CodecError(f"cannot rebuild {cls.__name__}: {exc}") from None


def _dec_any(data: Any) -> Any:
    if isinstance(data, list):
        return tuple(_dec_any(v) for v in data)
    if isinstance(data, dict):
        if "$type" in data:
            cls = _type_from_tag(data["$type"])
            return _dec_fields(cls, {k: v for k, v in data.items() if k != "$type"})
        if "$list" in data:
            return [_dec_any(v) for v in data["$list"]]
        if "$dict" in data:
            return {_dec_any(k): _dec_any(v) for k, v in data["$dict"]}
        if "$datetime" in data:
            return _dec_datetime(data["$datetime"])
        if "$enum" in data:
            tag = data["$enum"]
            enum = getattr(model, tag, None) if ":" not in tag else _enum_from_tag(tag)
            if not (isinstance(enum, type) and issubclass(enum, Enum)):
                raise CodecError(f"unknown stored enum {tag!r}")
            return enum(data["value"])
        raise CodecError(f"an untagged object where a tagged value was expected: {sorted(data)[:5]}")
    return data


def _enum_from_tag(tag: str) -> Any:
    module_name, _, qualname = tag.partition(":")
    if not module_name.startswith("ksystui."):
        return None
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _expect(data: Any, kind: type, hint: Any) -> None:
    if not isinstance(data, kind):
        raise CodecError(f"expected {kind.__name__} for {hint!r}, found {type(data).__name__}")


# --- the public API ----------------------------------------------------------------
def snapshot_to_data(snap: NodeSnapshot) -> dict[str, Any]:
    """The JSON-ready structure of a snapshot (``format`` first)."""
    return {"format": FORMAT, "snapshot": _enc(snap, NodeSnapshot)}


def snapshot_from_data(data: Any) -> NodeSnapshot:
    if not isinstance(data, dict) or "snapshot" not in data:
        raise CodecError("not a stored snapshot")
    if data.get("format") != FORMAT:
        raise CodecError(f"stored snapshot format {data.get('format')!r}; this ksystui reads format {FORMAT}")
    snap = _dec(data["snapshot"], NodeSnapshot)
    if not isinstance(snap, NodeSnapshot):
        raise CodecError("not a stored snapshot")
    return snap


def dump_snapshot(snap: NodeSnapshot) -> str:
    """JSON text of a snapshot; ``load_snapshot(dump_snapshot(s)) == s``."""
    return json.dumps(snapshot_to_data(snap), separators=(",", ":"))


def load_snapshot(text: str | bytes, memo: SectionMemo | None = None) -> NodeSnapshot:
    """The snapshot stored as ``text``; with a ``memo``, the sections whose
    items did not change since the memo last saw that node are not rebuilt."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CodecError(f"stored snapshot is not JSON: {exc}") from None
    return snapshot_from_data(data) if memo is None else memo.load(data)


class SectionMemo:
    """The decoded items of each node's sections, by the JSON they came from.

    A console following the change feed reads every node anew each poll
    interval, and most polls find nothing changed but the read times.
    Comparing the parsed JSON of a section's items with the last one (done
    in C) costs a small fraction of rebuilding the model objects, so a
    section whose items are unchanged re-uses the objects decoded before
    (they are frozen). Only the health and the read times are decoded anew.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[Any, tuple[Any, ...]]] = {}

    def load(self, data: Any) -> NodeSnapshot:
        raw = data.get("snapshot") if isinstance(data, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("sections"), dict) \
                or not isinstance(raw.get("node"), str):
            return snapshot_from_data(data)  # not the usual shape: let the full decoder say what is wrong
        sections: dict[str, Any] = raw["sections"]
        node: str = raw["node"]
        reused: dict[str, tuple[Any, ...]] = {}
        slim: dict[str, Any] = {}
        for kind, section in sections.items():
            hit = self._items.get((node, kind))
            if hit is not None and isinstance(section, dict) and hit[0] == section.get("items"):
                reused[kind] = hit[1]
                section = {**section, "items": []}
            slim[kind] = section
        snap = snapshot_from_data({**data, "snapshot": {**raw, "sections": slim}})
        merged = {kind: dataclasses.replace(sec, items=reused[kind]) if kind in reused else sec
                  for kind, sec in snap.sections.items()}
        for kind, sec in merged.items():
            if kind not in reused and isinstance(sections.get(kind), dict):
                self._items[(node, kind)] = (sections[kind].get("items"), sec.items)
        return dataclasses.replace(snap, sections=merged)


def dump_extra(extra: model.Extra) -> str:
    """``extra`` pairs as JSON text (a list of ``[key, value]``)."""
    return json.dumps([[k, v] for k, v in extra], separators=(",", ":"))


def load_extra(text: str | None) -> model.Extra:
    if not text:
        return ()
    try:
        pairs = json.loads(text)
    except ValueError as exc:
        raise CodecError(f"stored extra is not JSON: {exc}") from None
    return tuple((str(k), str(v)) for k, v in pairs)
