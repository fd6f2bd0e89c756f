"""Another tenant's broken configuration does not affect a scoped command
(issue 16: "if customerC's token variable is unset, `status --tenant
customerA` fails outright naming customerC's node"), no verb ends in a
traceback on wrong arguments (issue 11, deliverable 1), and no verb writing
into a closed pipe ends in a BrokenPipeError (issue 11, deliverable 7)."""

from __future__ import annotations

import inspect
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksystui.bootstrap import load, runtime
from ksystui.lazy_secrets import LazyTokenRest
from ksystui.transport.errors import AuthFailed

from .conftest import ksystui, quiet_fleet

TOKEN_VAR = "KSYSTUI_TEST_CUSTOMERC_TOKEN"
CUSTOMER_C = f"""
[[tenants]]
name = "customerC"
priority = 3
[[tenants.nodes]]
name = "ksysorch-dal12"
flavour = "powervs"
[tenants.nodes.ssh]
host = "127.0.0.1"
port = 1
key_file = "id_ed25519"
known_hosts = "known_hosts"
connect_timeout = 2
[tenants.nodes.rest]
url = "https://127.0.0.1:1/"
instance_id = "i-1"
token_env = "{TOKEN_VAR}"
timeout = 2
"""


@pytest.fixture
def token_unset(tmp_path, monkeypatch) -> Path:
    """customerA and customerB as usual, customerC's REST token variable unset."""
    monkeypatch.delenv(TOKEN_VAR, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(quiet_fleet(tmp_path / "k.db") + CUSTOMER_C)
    return path


@pytest.mark.parametrize("args", [
    ["--tenant", "customerA", "status", "--direct"],
    ["--tenant", "customerA", "queue"],
    ["queue"],
    ["--tenant", "customerA", "audit", "verify"],
    ["--tenant", "customerA", "cancel", "1"],
], ids=lambda a: " ".join(a))
def test_another_tenants_unset_token_does_not_break_a_command(token_unset, args):
    run = ksystui("--config", str(token_unset), *args)
    assert "Traceback" not in run.err
    assert TOKEN_VAR not in run.out + run.err and "is not set" not in run.err, run
    if "--tenant" in args:
        assert "ksysorch-dal12" not in run.out + run.err and "customerC" not in run.out + run.err, run
    if args[-1] == "queue":
        assert run.rc == 0, run
    if "status" in args:
        assert "customerA" in run.out, run


async def test_a_scoped_runtime_reads_nothing_of_another_tenant(token_unset):
    err = io.StringIO()
    async with runtime(load(token_unset, err), err, scope="customerA") as rt:
        assert set(rt.fleet.monitors) == {"nodeA"}
    async with runtime(load(token_unset, err), err) as rt:  # unscoped: the whole fleet, still no secret read
        assert set(rt.fleet.monitors) == {"nodeA", "nodeB", "ksysorch-dal12"}
        rest = rt.fleet.monitors["ksysorch-dal12"].rest
        assert isinstance(rest, LazyTokenRest)
        with pytest.raises(AuthFailed) as caught:  # asked: that node, and only it, says why
            await rest.get_summary()
        assert str(caught.value) == (f"ksysorch-dal12: no REST token: environment variable {TOKEN_VAR} "
                                     "(REST token) is not set")
    assert err.getvalue() == ""


# --- wrong arguments ------------------------------------------------------------------------
# an id past a database integer (cancel/raise/resolve take options.OPERATION_ID) is a usage error
@pytest.mark.parametrize("args", [
    ["cancel", "99999999999999999999999"],
    ["raise", "99999999999999999999", "--reason", "x"],
    ["resolve", "99999999999999999999", "failed", "--reason", "x"],
    ["cancel", "abc"],
    ["submit", "verify", "nobody"],
    ["submit", "verify", "customerA", "--node", "nope"],
    ["--tenant", "nobody", "queue"],
    ["--tenant", "nobody", "audit", "export"],
    ["--tenant", "nobody", "config", "check"],
    ["--tenant", "nobody", "status"],
    ["--tenant", "nobody"],
    ["db", "grant-tenant", "nobody"],
    ["schedule", "plan", "--margin", "-1"],
    ["submit", "bogus", "customerA"],
    ["nosuchverb"],
], ids=lambda a: " ".join(a))
def test_wrong_arguments_are_a_sentence_never_a_traceback(args, quiet):
    run = ksystui("--config", str(quiet.config), *args)
    assert run.rc != 0 and "Traceback" not in run.err and run.err.strip(), run
    assert run.rc != 70, run  # foreseen: not the last-resort line


def test_an_unforeseen_failure_is_one_line_too(quiet, monkeypatch):
    """The last resort: whatever a verb raises, one line and exit 70."""
    from ksystui.cli import options

    def boom(made):
        if inspect.iscoroutine(made):
            made.close()  # never run: the failure comes first
        raise RuntimeError("something nobody\nforesaw")

    monkeypatch.setattr(options, "run_async", boom)
    run = ksystui("--config", str(quiet.config), "queue")
    assert run.rc == 70 and run.err == ("ksystui queue: failed: RuntimeError: something nobody foresaw "
                                        "(a bug: KSYSTUI_DEBUG=1 shows where)\n"), run


# --- closed pipes ---------------------------------------------------------------------------
class ClosedPipe(io.TextIOWrapper):
    """Standard output whose reader went away: every write fails as a pipe's would."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")

    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("args", [
    ["queue"], ["queue", "--json"], ["audit", "export"], ["audit", "verify"], ["config", "check"],
    ["service", "status"], ["db", "upgrade"], ["--help"], ["--version"], ["scenario", "--tenants", "1",
                                                                         "--vms-per-tenant", "1"],
], ids=lambda a: " ".join(a))
def test_a_closed_pipe_ends_quietly(args, quiet, monkeypatch, capsys):
    from ksystui.cli import main

    quiet.seed(("customerA", "nodeA"))
    config = [] if args[0] in ("scenario", "--help", "--version") else ["--config", str(quiet.config)]
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    try:
        rc = main([*config, *args])
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc != 0 and "BrokenPipe" not in err and "Traceback" not in err, (rc, err)


def test_queue_into_head_ends_quietly(quiet, tmp_path):
    """`ksystui queue | head`: the reader is gone before the queue is written."""
    quiet.seed(*[("customerA", "nodeA")] * 3)
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "ksystui", "queue", "--config", str(quiet.config)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr, done.stderr
