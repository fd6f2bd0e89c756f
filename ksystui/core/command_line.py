"""The ``:`` command line: text in, a typed command out. Pure.

The words come from the view registry (``core.viewdefs``) and from what the
console may see. A console scoped to one tenant never learns whether another
tenant exists: ``:tenant OTHER`` is refused with the same words whether
OTHER is configured or not, and its completions name no other tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ksystui.core.viewdefs import VIEW_DEFS, ViewDef


@dataclass(frozen=True)
class SwitchView:
    view: str
    preset_filter: str = ""  # `:vms node:r7r3m116` opens the VMs filtered


@dataclass(frozen=True)
class OpenTenant:
    tenant: str


@dataclass(frozen=True)
class SetScope:
    tenant: str | None  # None: every tenant


@dataclass(frozen=True)
class SetTheme:
    theme: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Refused:
    """A known command that cannot be done here; ``message`` says why."""

    message: str


@dataclass(frozen=True)
class Unknown:
    text: str

    @property
    def message(self) -> str:
        return f"unknown command :{self.text}"


Command = SwitchView | OpenTenant | SetScope | SetTheme | Help | Quit | Refused | Unknown

NO_SUCH_TENANT = "no such tenant in this console"  # the same for "another tenant's" and "nobody's"
LOCKED = "this console is scoped to one tenant"


@dataclass(frozen=True)
class CommandScope:
    """What the command line may know of the console it runs in."""

    tenants: tuple[str, ...]  # every configured tenant (only used unscoped)
    scope: str | None = None
    locked: bool = False  # started scoped (--tenant): the scope cannot change
    themes: tuple[str, ...] = ()

    @property
    def visible(self) -> tuple[str, ...]:
        return tuple(t for t in self.tenants if self.scope is None or t == self.scope)


def interpret(text: str, ctx: CommandScope, views: Sequence[ViewDef] = VIEW_DEFS) -> Command:
    word, _, arg = text.strip().lstrip(":").partition(" ")
    word, arg = word.lower(), arg.strip()
    view = next((v for v in views if v.commandable and word in v.words), None)
    if view is not None:
        return SwitchView(view.name, arg)
    if word == "tenant":
        return OpenTenant(arg) if arg in ctx.visible else Refused(NO_SUCH_TENANT)
    if word == "scope":
        if ctx.locked:
            return Refused(LOCKED)
        if arg in ("all", ""):
            return SetScope(None)
        return SetScope(arg) if arg in ctx.tenants else Refused(f"no tenant {arg!r}")
    if word == "theme":
        return SetTheme(arg) if arg in ctx.themes else Refused(f"themes: {', '.join(ctx.themes)}")
    if word == "help":
        return Help()
    if word in ("quit", "q"):
        return Quit()
    return Unknown(text.strip())


def command_words(ctx: CommandScope, views: Sequence[ViewDef] = VIEW_DEFS) -> list[str]:
    """Every command the console accepts now, for completion and the palette."""
    words = [w for v in views if v.commandable for w in v.words]
    words += ["help", "quit"] + [f"theme {t}" for t in ctx.themes]
    words += [f"tenant {t}" for t in ctx.visible]
    if not ctx.locked:
        words += ["scope all"] + [f"scope {t}" for t in ctx.tenants]
    return words
