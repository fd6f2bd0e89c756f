"""The ksysmgr command grammar: aliases, flags, attributes, exit statuses."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksystui.core.ksysmgr.commands import (
    build_cleanup_site,
    build_discover_site,
    build_modify_system,
    build_move_site,
    build_query,
    build_verify_site,
    check_name,
)
from ksystui.core.ksysmgr.errors import KsysmgrUsageError
from ksystui.core.ksysmgr.grammar import (
    ACTION_ALIASES,
    CLASS_ALIASES,
    RC_INCORRECT_INPUT,
    RC_MISSING_INPUT,
    parse_command,
    resolve_alias,
)


@pytest.mark.parametrize(
    "words, action, klass",
    [
        ("query vm", "query", "vm"),
        ("q vm", "query", "vm"),
        ("ls lpar", "query", "vm"),
        ("sh site", "query", "site"),
        ("QUERY Site", "query", "site"),
        ("q clu", "query", "ksyscluster"),
        ("query cluster", "query", "ksyscluster"),
        ("q wg", "query", "workgroup"),
        ("q dg", "query", "disk_group"),
        ("query events", "query", "event"),
        ("ch sys", "modify", "system"),
        ("sets system", "modify", "system"),
        ("mv site", "move", "site"),
        ("swi site", "move", "site"),
        ("di site", "discover", "site"),
        ("clean site", "cleanup", "site"),
        ("map host", "pair", "host"),
        ("resy wg", "resync", "workgroup"),
        ("q rn", "query", "notify"),
    ],
)
def test_aliases_resolve_like_ksysmgr(words, action, klass):
    cmd = parse_command(words.split())
    assert (cmd.action, cmd.klass) == (action, klass)


def test_flags_names_and_attributes():
    cmd = parse_command(["-t", "-f", "move", "site", "from=customerA", "to=service_provider", "dr_type=planned"])
    assert cmd.timestamps and cmd.force and not cmd.interactive
    assert cmd.attr("from") == "customerA" and cmd.attr("to") == "service_provider"
    assert cmd.attrs[-1] == ("dr_type", "planned")
    cmd = parse_command(["-a", "name,sitetype", "query", "site"])
    assert cmd.only == ("name", "sitetype")
    cmd = parse_command(["query", "vm", "vm1", "vm2", "state=manage"])
    assert cmd.names == ("vm1", "vm2") and cmd.attr("state") == "manage"
    assert parse_command(["-ft", "verify", "site", "x"]).force
    assert parse_command(["modify", "system", "-?"]).help


def test_names_are_case_sensitive_but_words_are_not():
    cmd = parse_command(["QuErY", "VM", "MyVM"])
    assert cmd.names == ("MyVM",)


@pytest.mark.parametrize(
    "argv, rc",
    [
        (["bogus", "vm"], RC_INCORRECT_INPUT),
        (["query", "nope"], RC_INCORRECT_INPUT),
        (["query"], RC_MISSING_INPUT),
        (["-z", "query", "vm"], RC_INCORRECT_INPUT),
        (["-a"], RC_MISSING_INPUT),
        (["-l", "huge", "query", "vm"], RC_INCORRECT_INPUT),
        (["verify", "vm"], RC_INCORRECT_INPUT),
        (["query", "vm", "state=manage", "stray"], RC_INCORRECT_INPUT),
        (["query", "vm", "=x"], RC_INCORRECT_INPUT),
        (["work", "vm"], RC_INCORRECT_INPUT),
    ],
)
def test_malformed_commands_get_usage_and_exit_3_or_4(argv, rc):
    with pytest.raises(KsysmgrUsageError) as err:
        parse_command(argv)
    assert err.value.rc == rc
    assert err.value.usage.lstrip().startswith("ksysmgr")
    assert err.value.message.startswith("ERROR:")


def test_no_alias_is_ambiguous_between_two_actions_or_classes():
    # every documented alias word must resolve to exactly its own canonical name
    for table in (ACTION_ALIASES, CLASS_ALIASES):
        for canon, patterns in table.items():
            for p in patterns:
                word = p.rstrip("*") + ("x" if p.endswith("*") else "")
                assert resolve_alias(word, table) == canon, (word, canon)


def test_builders_produce_argv_lists_the_grammar_accepts():
    assert build_discover_site("customerA") == ["ksysmgr", "-t", "discover", "site", "customerA"]
    assert build_verify_site("customerB", timestamps=False) == ["ksysmgr", "verify", "site", "customerB"]
    assert build_move_site("customerA", "service_provider", force=True) == [
        "ksysmgr", "-f", "-t", "move", "site", "from=customerA", "to=service_provider", "dr_type=planned"]
    assert "dr_test=yes" in build_move_site("a", "b", dr_test=True)
    assert not any(w.startswith("dr_type") for w in build_move_site("a", "b", dr_test=True))
    assert build_cleanup_site("customerA", dr_test=True)[-1] == "dr_test=yes"
    assert build_modify_system(auto_discovery_time="03:30") == [
        "ksysmgr", "modify", "system", "auto_discovery_time=03:30"]
    assert build_query("vm", "cA_oradb01") == ["ksysmgr", "query", "vm", "cA_oradb01"]


@pytest.mark.parametrize(
    "bad", ["", "-f", "a b", "a;rm -rf /", "x=y", "$(id)", "a\nb", "`id`", "a'b", "x" * 200]
)
def test_names_cannot_inject_flags_attributes_or_shell(bad):
    with pytest.raises(ValueError):
        check_name(bad)
    with pytest.raises(ValueError):
        build_verify_site(bad)


def test_modify_system_validates_time():
    with pytest.raises(ValueError):
        build_modify_system(auto_discovery_time="24:00")
    with pytest.raises(ValueError):
        build_modify_system()


@given(st.lists(st.text(max_size=12), max_size=8))
def test_parse_command_never_raises_anything_but_usage_errors(words):
    try:
        parse_command(words)
    except KsysmgrUsageError as exc:
        assert exc.rc in (3, 4)


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True))
def test_any_valid_name_round_trips_through_builder_and_grammar(name):
    cmd = parse_command(build_verify_site(name)[1:])
    assert cmd.names == (name,)
