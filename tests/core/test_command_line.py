"""The ``:`` command line on its own: text in, a typed command out."""

from __future__ import annotations

import pytest

from ksystui.core.command_line import (
    LOCKED,
    NO_SUCH_TENANT,
    CommandScope,
    Help,
    OpenTenant,
    Quit,
    Refused,
    SetScope,
    SetTheme,
    SwitchView,
    Unknown,
    command_words,
    interpret,
)
from ksystui.core.viewdefs import VIEW_DEFS

TENANTS = ("customerA", "customerB", "customerC")
THEMES = ("dark", "light", "high-contrast")
OPEN = CommandScope(TENANTS, themes=THEMES)
SCOPED = CommandScope(TENANTS, scope="customerB", locked=True, themes=THEMES)


@pytest.mark.parametrize("text,command", [
    ("vms", SwitchView("vms")),
    (":vms", SwitchView("vms")),
    ("  VMS  ", SwitchView("vms")),
    ("vms node:r7r3m116", SwitchView("vms", "node:r7r3m116")),
    ("tenants", SwitchView("overview")),  # an alias
    ("queue", SwitchView("queue")),
    ("audit", SwitchView("audit")),
    ("tenant customerA", OpenTenant("customerA")),
    ("scope customerA", SetScope("customerA")),
    ("scope all", SetScope(None)),
    ("scope", SetScope(None)),
    ("theme light", SetTheme("light")),
    ("help", Help()),
    ("quit", Quit()),
    ("q", Quit()),
    ("nonsense", Unknown("nonsense")),
])
def test_each_command_reads_as_its_type(text, command):
    assert interpret(text, OPEN) == command


def test_every_view_of_the_registry_is_a_command_but_the_one_tenant_view():
    for view in VIEW_DEFS:
        command = interpret(view.name, OPEN)
        if view.commandable:
            assert command == SwitchView(view.name)
        else:
            assert isinstance(command, Unknown | Refused)


def test_refusals_say_why():
    assert interpret("tenant nobody", OPEN) == Refused(NO_SUCH_TENANT)
    assert interpret("scope nobody", OPEN) == Refused("no tenant 'nobody'")
    assert interpret("theme neon", OPEN) == Refused("themes: dark, light, high-contrast")
    assert interpret("nonsense", OPEN).message == "unknown command :nonsense"


def test_a_scoped_console_never_confirms_another_tenant_exists():
    # the same words for a tenant that exists elsewhere and for one that does not
    assert interpret("tenant customerA", SCOPED) == interpret("tenant nobody", SCOPED) == Refused(NO_SUCH_TENANT)
    assert interpret("scope customerA", SCOPED) == interpret("scope nobody", SCOPED) == Refused(LOCKED)
    assert interpret("scope all", SCOPED) == Refused(LOCKED)
    assert interpret("tenant customerB", SCOPED) == OpenTenant("customerB")
    words = command_words(SCOPED)
    assert "tenant customerB" in words
    assert not any("customerA" in w or "customerC" in w for w in words)
    assert not any(w.startswith("scope") for w in words)


def test_an_unlocked_console_scoped_for_now_sees_one_tenant_but_may_widen():
    narrowed = CommandScope(TENANTS, scope="customerA", themes=THEMES)
    assert interpret("tenant customerB", narrowed) == Refused(NO_SUCH_TENANT)
    assert interpret("scope customerB", narrowed) == SetScope("customerB")
    assert "scope all" in command_words(narrowed)


def test_completions_offer_every_view_word_and_command():
    words = command_words(OPEN)
    for view in VIEW_DEFS:
        if view.commandable:
            assert set(view.words) <= set(words)
    assert {"help", "quit", "theme dark", "tenant customerC", "scope all", "scope customerA"} <= set(words)
    assert all(interpret(w, OPEN) != Unknown(w) for w in words)
