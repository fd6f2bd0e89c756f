"""The secret-detection policy on its own (pure): what is refused, what is
blanked, and what ordinary words pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.secrets import (
    REDACTED,
    SecretRefused,
    check_no_secret,
    redact,
    secret_assignment,
    secret_key,
)


@pytest.mark.parametrize("key", ["password", "Password", "passwd", "token", "api_key", "API-KEY", "apikey",
                                 "passphrase", "pass_phrase", "client_secret", "private_key", "credentials"])
def test_keys_that_name_a_secret(key):
    assert secret_key(key)
    with pytest.raises(SecretRefused, match=f"{key!r} looks like a secret; secrets are never stored"):
        check_no_secret({"outer": {key: "x"}})


@pytest.mark.parametrize("text, name", [
    ("password=hunter2", "password"),
    ("reset it, token: 4f9a", "token"),
    ("ksysmgr add hmc h1 login=hscroot hmc_password=x", "hmc_password"),
    ("curl -H x?api_key=abc", "api_key"),
])
def test_assignments_to_a_secret_name(text, name):
    assert secret_assignment(text) == name
    with pytest.raises(SecretRefused, match="never stored"):
        check_no_secret(["ksysmgr", text], "argv")


def test_the_message_says_where_the_secret_was():
    with pytest.raises(SecretRefused, match=r"^argv\[5\]: 'password'=…"):
        check_no_secret(["ksysmgr", "add", "hmc", "h1", "login=hscroot", "password=hunter2"], "argv")
    with pytest.raises(SecretRefused, match=r"^detail\.hmc: the key 'Password'"):
        check_no_secret({"hmc": {"Password": "x"}})


@pytest.mark.parametrize("value", [
    {"reason": "the pass through site is Austin", "keys": 3, "argv": ["ksysmgr", "verify", "site", "Austin"]},
    ["ksysmgr", "discover", "site", "Dallas", "verify=yes"],
    "tokens of appreciation",  # a word, not an assignment
    "password=[redacted]",  # already blanked: keeping it is fine
    42,
    None,
])
def test_ordinary_values_pass(value):
    check_no_secret(value)


def test_redact_blanks_only_the_value():
    assert redact("HMC h1 login ok password=hunter2 rest") == f"HMC h1 login ok password={REDACTED} rest"
    assert redact("TOKEN: abc def") == f"TOKEN: {REDACTED} def"
    assert redact("nothing to hide here") == "nothing to hide here"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_a_redacted_line_never_needs_refusing(line):
    """Whatever a node prints, what redact keeps passes the guard (stored
    progress lines are safe to audit)."""
    check_no_secret(redact(line))
