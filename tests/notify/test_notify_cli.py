"""``ksystui notify test NAME``: one line, exit 0 delivered, 1 not delivered,
2 no such hook; the URL and the routing key never reach the terminal."""

from __future__ import annotations

import pytest

from tests.cli.conftest import aksystui, ksystui

from .conftest import CANARY_KEY, CANARY_TOKEN, hooks_config
from .vendor_shapes import pagerduty_problems


async def test_a_test_reaches_the_receiver_and_says_delivered(receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("PAGER_URL", receiver.url(f"/enqueue/{CANARY_TOKEN}?token={CANARY_TOKEN}"))
    (tmp_path / "pd.key").write_text(CANARY_KEY + "\n")
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "pager"\nkind = "webhook"\nformat = "pagerduty"\n'
                                 'url_env = "PAGER_URL"\nrouting_key_file = "pd.key"\n')
    run = await aksystui("notify", "test", "pager", "--config", str(cfg))
    assert run.rc == 0, run
    assert run.out.startswith("pager: delivered (HTTP 200)") and run.out.count("\n") == 1, run.out
    (got,) = receiver.received
    assert got.path == f"/enqueue/{CANARY_TOKEN}"
    # the key came from the file relative to the configuration, as the receiver needs it
    assert got.body["routing_key"] == CANARY_KEY and pagerduty_problems(got.body) == []
    assert got.body["event_action"] == "trigger" and got.body["payload"]["severity"] == "info"
    assert got.body["dedup_key"].startswith("ksystui:test:")
    assert got.headers["X-Ksystui-Delivery-Key"] in run.out
    for secret in (CANARY_TOKEN, CANARY_KEY):
        assert secret not in run.out + run.err


async def test_a_receiver_that_refuses_is_not_delivered_exit_1_without_the_url(receiver, tmp_path, monkeypatch):
    receiver.answers = [503]
    monkeypatch.setenv("HOOK_URL", receiver.url(f"/{CANARY_TOKEN}"))
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "ops"\nkind = "webhook"\nurl_env = "HOOK_URL"\n')
    run = await aksystui("notify", "test", "ops", "--config", str(cfg))
    assert run.rc == 1, run
    assert run.out == "ops: NOT delivered (HTTP 503): HTTP 503 Service Unavailable\n", run.out
    assert CANARY_TOKEN not in run.out + run.err


def test_an_unset_url_variable_is_not_delivered_and_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NOWHERE_URL", raising=False)
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "ops"\nkind = "webhook"\nurl_env = "NOWHERE_URL"\n')
    run = ksystui("notify", "test", "ops", "--config", str(cfg))
    assert run.rc == 1 and "NOWHERE_URL" in run.out and "not set" in run.out, run


def test_an_exec_hook_is_tested_like_a_webhook(tmp_path):
    out = tmp_path / "got.json"
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "script"\nkind = "exec"\n'
                                 f'command = ["/bin/sh", "-c", "cat > {out}"]\n')
    run = ksystui("notify", "test", "script", "--config", str(cfg))
    assert run.rc == 0 and run.out.startswith("script: delivered (exit 0)"), run
    assert '"kind": "test"' in out.read_text()


def test_no_such_hook_is_exit_2_naming_the_hooks_there_are(tmp_path):
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "ops"\nkind = "exec"\ncommand = ["true"]\n')
    run = ksystui("notify", "test", "opps", "--config", str(cfg))
    assert run.rc == 2 and run.out == "", run
    assert run.err == f"ksystui notify test: no hook named 'opps' in {cfg} (hooks: ops)\n", run.err
    run = ksystui("notify", "test", "ops", "--config", str(hooks_config(tmp_path, "")))
    assert run.rc == 2 and "none is configured" in run.err, run


@pytest.mark.parametrize("option", ["--tenant", "--readonly", "--theme"])
def test_scope_readonly_and_theme_are_refused_in_one_line(option, tmp_path):
    cfg = hooks_config(tmp_path, '[[notify]]\nname = "ops"\nkind = "exec"\ncommand = ["true"]\n')
    value = {"--tenant": ["customerA"], "--readonly": [], "--theme": ["light"]}[option]
    run = ksystui(option, *value, "notify", "test", "ops", "--config", str(cfg))
    assert run.rc == 2 and option in run.err and run.err.count("\n") == 1 and run.out == "", run
