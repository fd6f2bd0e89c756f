"""`--tenant`, `--readonly`, `--theme` and `--config` given before the verb
reach the verb, or the verb refuses them with one clear line (exit 2):
never silently dropped. Given after the verb they work too."""

from __future__ import annotations

import json

import pytest

from .conftest import aksystui, ksystui
from .verbs import READS_CONFIG, VERBS

CHANGES_SOMETHING = ["submit", "cancel", "raise", "resolve", "arbiter", "schedule apply", "db upgrade", "serve"]
NO_TENANT_SCOPE = ["sim", "parse", "scenario", "arbiter", "schedule plan", "schedule apply", "db upgrade", "serve",
                   "service status"]
NOT_THE_CONSOLE = [v for v in VERBS if v not in ("console", "demo", "replay")]


def one_line_refusal(run, option: str) -> None:
    assert run.rc == 2, run
    assert run.err.count("\n") == 1 and option in run.err, run.err
    assert "Traceback" not in run.err and run.out == ""


# --- --config -----------------------------------------------------------------------------
@pytest.mark.parametrize("verb", READS_CONFIG)
def test_config_before_the_verb_is_the_file_read(verb, bad_config):
    run = ksystui("--config", str(bad_config), *VERBS[verb])
    assert run.rc == 2, run
    assert f"{bad_config}:3: tenants['a'].priority" in run.err and run.err.count("\n") == 1, run.err


@pytest.mark.parametrize("verb", [v for v in READS_CONFIG if v != "console"])
def test_config_after_the_verb_is_the_file_read(verb, bad_config):
    run = ksystui(*VERBS[verb], "--config", str(bad_config))
    assert run.rc == 2 and f"{bad_config}:3:" in run.err, run


@pytest.mark.parametrize("verb", ["demo", "sim", "parse", "scenario"])
def test_config_is_refused_where_no_configuration_is_read(verb, bad_config):
    one_line_refusal(ksystui("--config", str(bad_config), *VERBS[verb]), "--config")


def test_two_different_configs_are_refused(bad_config, quiet):
    one_line_refusal(ksystui("--config", str(bad_config), "status", "--config", str(quiet.config)), "--config")


# --- --tenant -----------------------------------------------------------------------------
async def test_tenant_before_status_shows_nothing_of_another_tenant(served):
    _, cfg = served
    for args in (["--tenant", "customerA", "status", "--config", str(cfg)],
                 ["--tenant", "customerA", "--config", str(cfg), "status", "--json"]):
        run = await aksystui(*args)
        assert run.rc == 0, run
        assert "customerA" in run.out and "r7r3m116" in run.out
        for word in ("customerB", "r7r3m108", "customerC", "ksysorch-dal12"):
            assert word not in run.out and word not in run.err, (word, args)


def test_tenant_before_config_check_tries_that_tenant_only(quiet):
    for args in (["--tenant", "customerB", "config", "check", "--config", str(quiet.config)],
                 ["config", "check", "--tenant", "customerB", "--config", str(quiet.config)]):
        run = ksystui(*args)
        assert run.rc == 1, run
        assert any(line.startswith("customerB/nodeB: FAIL") for line in run.out.splitlines()), run.out
        assert "customerA" not in run.out + run.err and "nodeA" not in run.out + run.err


def test_tenant_before_queue_lists_that_tenant_only(quiet):
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    run = ksystui("--tenant", "customerA", "queue", "--json", "--config", str(quiet.config))
    assert run.rc == 0, run
    assert [line["tenant"] for line in json.loads(run.out)] == ["customerA"]


def test_tenant_before_submit_is_the_tenant_acted_for(quiet):
    # the scope names the tenant: its node is the one read (and here it does not answer)
    run = ksystui("--tenant", "customerB", "submit", "verify", "--config", str(quiet.config))
    assert run.rc == 2 and "nodeB" in run.err and "nodeA" not in run.err, run
    # another tenant than the scope's is refused before anything is read
    run = ksystui("--tenant", "customerA", "submit", "verify", "customerB", "--config", str(quiet.config))
    one_line_refusal(run, "customerA")
    assert quiet.states() == {}


@pytest.mark.parametrize("verb", ["cancel", "raise", "resolve"])
def test_tenant_before_an_operation_verb_cannot_touch_another_tenants_operation(verb, quiet):
    (op_id,) = quiet.seed(("customerB", "nodeB"))
    run = ksystui("--tenant", "customerA", "--config", str(quiet.config), *VERBS[verb])
    assert run.rc == 1 and f"#{op_id}" in run.err and "no such operation" in run.err, run
    assert "customerB" not in run.err
    assert quiet.states() == {op_id: "queued"}


def test_tenant_before_audit_export_exports_that_tenant_only(quiet):
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    run = ksystui("--tenant", "customerA", "audit", "export", "--config", str(quiet.config))
    assert run.rc == 0, run
    entries = [json.loads(line) for line in run.out.splitlines()]
    assert entries and {e["tenant"] for e in entries} == {"customerA"}


def test_tenant_before_audit_verify_says_only_whether_the_chain_holds(quiet):
    quiet.seed(("customerA", "nodeA"), ("customerB", "nodeB"))
    run = ksystui("--tenant", "customerA", "audit", "verify", "--config", str(quiet.config))
    assert run.rc == 0 and "intact" in run.out and "customerB" not in run.out, run


@pytest.mark.parametrize("verb", NO_TENANT_SCOPE)
def test_tenant_is_refused_by_verbs_without_a_tenant_scope(verb, quiet):
    one_line_refusal(ksystui("--tenant", "customerA", "--config", str(quiet.config), *VERBS[verb])
                     if verb not in ("sim", "parse", "scenario") else
                     ksystui("--tenant", "customerA", *VERBS[verb]), "--tenant")


def test_unknown_tenant_is_one_line(quiet):
    for verb in ("status", "queue", "config check", "audit export"):
        run = ksystui("--tenant", "nobody", "--config", str(quiet.config), *VERBS[verb])
        assert run.rc == 2 and "no tenant 'nobody'" in run.err and run.err.count("\n") == 1, (verb, run)
        assert "customerA" not in run.err  # a scoped caller learns nothing of who else exists


def test_two_different_tenants_are_refused(quiet):
    run = ksystui("--tenant", "customerA", "queue", "--tenant", "customerB", "--config", str(quiet.config))
    one_line_refusal(run, "--tenant")


# --- --readonly ---------------------------------------------------------------------------
@pytest.mark.parametrize("verb", CHANGES_SOMETHING)
def test_readonly_refuses_every_verb_that_changes_something(verb, quiet):
    quiet.seed(("customerA", "nodeA"))
    for args in (["--readonly", *VERBS[verb], "--config", str(quiet.config)],
                 [*VERBS[verb], "--readonly", "--config", str(quiet.config)]):
        one_line_refusal(ksystui(*args), "--readonly")
    assert quiet.states() == {1: "queued"}


@pytest.mark.parametrize("verb", ["queue", "audit verify", "audit export", "config check", "service status"])
def test_readonly_is_honoured_by_verbs_that_only_read(verb, quiet):
    run = ksystui("--readonly", "--config", str(quiet.config), *VERBS[verb])
    assert run.rc in (0, 1) and "readonly" not in run.err, run


async def test_readonly_status_and_schedule_plan_read_as_usual(served):
    _, cfg = served
    for verb in ("status", "schedule plan"):
        run = await aksystui("--readonly", "--config", str(cfg), *VERBS[verb])
        assert run.rc == 0 and "r7r3m116" in run.out, (verb, run)


def test_readonly_is_accepted_where_nothing_can_change(tmp_path):
    run = ksystui("--readonly", "scenario", "--tenants", "1", "--vms-per-tenant", "2")
    assert run.rc == 0 and "tenants" in run.out, run
    run = ksystui("--readonly", "parse", "version", input="Ksysmgr version: 1.8.0.0\nKsys version: 1.8.0.0\n")
    assert run.rc == 0 and "1.8.0.0" in run.out, run
    run = ksystui("--readonly", "sim", "--scenario", str(tmp_path / "missing.toml"))
    assert run.rc == 2 and "missing.toml" in run.err and "--readonly" not in run.err, run


# --- --theme ------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", NOT_THE_CONSOLE)
def test_theme_is_refused_outside_the_console(verb, quiet):
    one_line_refusal(ksystui("--theme", "light", *VERBS[verb]), "--theme")


def test_unknown_theme_is_a_usage_error():
    run = ksystui("--theme", "pink", "status")
    assert run.rc == 2 and "pink" in run.err and "Traceback" not in run.err


def test_an_unknown_operation_is_named_as_op_with_the_choices():
    """The usage line names the argument OP, not a brace list of every word."""
    run = ksystui("submit", "bogus", "customerA")
    assert run.rc == 2
    assert "Invalid value for 'OP': 'bogus' is not one of 'discover'" in run.err
    assert "{discover|" not in run.err
