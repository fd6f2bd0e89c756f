"""Declarative field tables: one ``Spec`` per known key of a ksysmgr record.

The same table drives both directions, so parser and renderer cannot
disagree on a key's spelling or a value's shape: ``RecordSchema.build`` turns a
:class:`~ksystui.core.ksysmgr.records.Record` into a model object (unknown
keys go to ``extra``, never dropped), ``RecordSchema.render`` prints a model
object back as ``Key:<padding>value`` lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from ksystui.core.ksysmgr.errors import KsysmgrParseError, ParseProblem
from ksystui.core.ksysmgr.records import Field, Record, norm_key


class Shape(Enum):
    TEXT = "text"  # one value; continuation lines are joined with "\n"
    NAMES = "names"  # a list of names, comma-separated and/or one line each
    LINES = "lines"  # a list with one entry per printed line ("a <-> b" pairs, disk ids)
    YESNO = "yesno"  # yes / no -> bool
    NUMBER = "number"  # a float such as a replication progress percentage


@dataclass(frozen=True)
class Spec:
    key: str  # the spelling we print
    attr: str  # the model attribute
    shape: Shape = Shape.TEXT
    states: frozenset[str] | None = None  # closed vocabulary -> UNKNOWN_STATE outside it
    aliases: tuple[str, ...] = ()  # other spellings seen in real output
    required: bool = False


def _empty(field: Field, last_line_no: int, what: str) -> KsysmgrParseError:
    # A mandatory value missing on the very last line is output that was cut off.
    problem = ParseProblem.TRUNCATED if field.line_no == last_line_no else ParseProblem.BAD_VALUE
    return KsysmgrParseError(problem, field.line_no, field.line, f"{what} has no value")


def _number(field: Field) -> float:
    text = field.text.removesuffix("%").strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not text.isascii():
        raise KsysmgrParseError(
            ParseProblem.BAD_VALUE, field.line_no, field.line, f"{field.key} is not a number"
        )
    return value


def _yesno(field: Field) -> bool:
    word = field.text.lower()
    if word not in ("yes", "no"):
        raise KsysmgrParseError(
            ParseProblem.BAD_VALUE, field.line_no, field.line, f"{field.key} is not yes/no"
        )
    return word == "yes"


def convert(spec: Spec, field: Field, last_line_no: int) -> Any:
    """The model value of one field, validated. Empty optional fields are None / ()."""
    if spec.shape is Shape.NAMES:
        return tuple(n for v in field.values for n in (p.strip() for p in v.split(",")) if n)
    if spec.shape is Shape.LINES:
        return field.values
    if not field.values:
        if spec.required:
            raise _empty(field, last_line_no, spec.key)
        return None
    if spec.shape is Shape.NUMBER:
        return _number(field)
    if spec.shape is Shape.YESNO:
        return _yesno(field)
    text = field.text
    if spec.states is not None and text not in spec.states:
        raise KsysmgrParseError(
            ParseProblem.UNKNOWN_STATE, field.line_no, field.line, f"{spec.key} {text!r}"
        )
    return text


def format_value(spec: Spec, value: Any) -> list[str] | None:
    """Value lines for printing (first on the key line, the rest continued), None to omit."""
    if value is None:
        return None
    if spec.shape in (Shape.NAMES, Shape.LINES):
        return list(value) if value else None
    if spec.shape is Shape.YESNO:
        return ["yes" if value else "no"]
    if spec.shape is Shape.NUMBER:
        return [repr(float(value))]
    return str(value).split("\n")


def kv_lines(key: str, values: Sequence[str], width: int) -> list[str]:
    """``Key:`` padded to ``width`` characters, then the first value; further values
    on continuation lines indented to the value column."""
    head = f"{key}:"
    if not values or values == [""]:
        return [head]
    pad = head.ljust(width) if len(head) < width else head + " "
    indent = " " * max(width, 1)
    return [pad + values[0], *(indent + v for v in values[1:])]


M = TypeVar("M")  # the model class a schema builds


class RecordSchema(Generic[M]):
    """The known keys of one record kind and how to build/print the model class."""

    def __init__(self, cls: type[M], specs: Iterable[Spec], *, has_extra: bool = True):
        self.cls = cls
        self.specs = tuple(specs)
        self.has_extra = has_extra
        self.by_norm: dict[str, Spec] = {}
        self.by_key: dict[str, Spec] = {}
        for spec in self.specs:
            self.by_key[spec.key] = spec
            for name in (spec.key, *spec.aliases):
                self.by_norm[norm_key(name)] = spec

    def known(self, norm: str) -> bool:
        return norm in self.by_norm

    def values(
        self, record: Record, last_line_no: int
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Model keyword arguments and extra pairs of ``record`` (no required-key check)."""
        kwargs: dict[str, Any] = {}
        fields_of: dict[str, Field] = {}
        extra: list[tuple[str, str]] = []
        for f in record.fields:
            spec = self.by_norm.get(f.norm)
            if spec is None:
                extra.append((f.key, f.text))
                continue
            if spec.attr in fields_of:  # two spellings of one key, e.g. User: and Login:
                raise KsysmgrParseError(
                    ParseProblem.DUPLICATE_KEY,
                    f.line_no,
                    f.line,
                    f"{f.key!r} repeats {fields_of[spec.attr].key!r}",
                )
            fields_of[spec.attr] = f
            kwargs[spec.attr] = convert(spec, f, last_line_no)
        for spec in self.specs:
            if spec.required and spec.attr not in kwargs:
                raise KsysmgrParseError(
                    ParseProblem.MISSING_KEY, record.line_no, record.first.line, f"no {spec.key!r}"
                )
        return kwargs, extra

    def build(self, record: Record, last_line_no: int, **overrides: Any) -> M:
        kwargs, extra = self.values(record, last_line_no)
        kwargs.update(overrides)
        if self.has_extra:
            kwargs["extra"] = tuple(extra)
        return self.cls(**kwargs)

    def render(
        self,
        obj: M,
        width: int,
        order: Sequence[str] | None = None,
        custom: dict[str, Callable[[Any], list[str] | None]] | None = None,
    ) -> list[str]:
        """Lines of one record: the known fields in ``order`` (printed keys; default
        the spec order), then ``extra``. ``custom`` overrides the value lines of a key."""
        lines: list[str] = []
        for key in order or [s.key for s in self.specs]:
            spec = self.by_key[key]
            if custom and key in custom:
                values = custom[key](obj)
            else:
                values = format_value(spec, getattr(obj, spec.attr))
            if values is not None:
                lines.extend(kv_lines(key, values, width))
        for key, value in getattr(obj, "extra", ()):
            lines.extend(kv_lines(key, value.split("\n") if value else [], width))
        return lines
