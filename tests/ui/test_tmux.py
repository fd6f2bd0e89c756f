"""The real program, in a real terminal: `ksystui demo` in tmux, driven by
keystrokes and read back with capture-pane, as a person would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, command: list[str], width: int = 140, height: int = 36):
        self.name = f"ksystui-{uuid.uuid4().hex[:8]}"
        self.socket = f"ksystui-test-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        for size in ("COLUMNS", "LINES"):  # Textual obeys these over the real terminal; a runner may set them
            env.pop(size, None)
        self._run("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                  " ".join(command), env=env)

    def _run(self, *args: str, env=None) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True,
                              env=env, timeout=20).stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", self.name, "-l", text)

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        return self.wait_until(lambda screen: text in screen, f"{text!r} to appear", timeout)

    def wait_until(self, shows, what: str, timeout: float = 30) -> str:
        """Poll the pane until ``shows(screen)`` holds; the screen then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if shows(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"waited for {what}; the screen shows:\n{self.screen()}")

    def alive(self) -> bool:
        """Whether the program still runs (its session closes when it exits)."""
        r = subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.name], capture_output=True,
                           timeout=20)
        return r.returncode == 0

    def pids(self) -> set[int]:
        """The pane's process and every process under it (the program run)."""
        return _descendants(int(self._run("display-message", "-p", "-t", self.name, "#{pane_pid}").strip()))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


def test_demo_in_tmux_vms_filter_and_drill_down():
    """Also the keys of issue 11 in a real terminal: Tab completes in `:`, Up
    recalls the last command, Enter on a queue row opens the operation, and
    `q` while this console's demo runs an operation waits for it, says so,
    and exits once it finished, saying how it ended."""
    term = Tmux([sys.executable, "-m", "ksystui", "demo", "--speed", "2"])  # a verify lasts ~8 s
    term._run("set-option", "-t", term.name, "remain-on-exit", "on")  # to read what it says as it exits
    try:
        screen = term.wait_for("snorlax (+1)", timeout=60)
        assert "customerA" in screen and "r7r3m116" in screen and "fresh" in screen
        term.type(":")
        term.wait_for("Tab completes")
        term.type("vm")
        term.keys("Tab")  # the real Tab key: completes, does not move the focus away
        term.wait_for(" vms ")
        term.keys("Enter")
        screen = term.wait_for("LAST CHANGE")
        assert "cA_oradb01" in screen and "cB_db2core" in screen
        term.type("/")
        term.wait_for("filter: words")  # a person types once the filter bar is there
        term.type("db2")
        term.keys("Enter")
        term.wait_until(lambda screen: "cB_db2core" in screen and "cA_oradb01" not in screen, "the filter to apply")
        term.keys("Enter")  # drill down into the VM
        screen = term.wait_for("VM cB_db2core")
        assert "uuid:" in screen and "READY_TO_MOVE" in screen and "raichu" in screen
        term.keys("Escape")
        term.wait_for("LAST CHANGE")
        term.type(":")
        term.wait_for("Tab completes")
        term.keys("Up")  # the last command again
        term.wait_for(" vms ")
        term.keys("Escape")
        # the line closed before the next key: an Escape with a key right behind it reads as Alt+key
        term.wait_until(lambda screen: "▔▔▔" not in screen, "the command line to close")
        term.type("0")
        term.wait_for("PRIO")
        term.type("v")  # customerA's verify, confirmed and queued
        term.wait_for("Enter queues it")
        term.keys("Enter")
        term.wait_for("Queued")
        term.type("6")
        term.wait_until(lambda screen: "▶" in screen and "running" in screen, "the verify to run", 30)
        term.keys("Enter")  # the operation, whole
        term.wait_until(lambda screen: "VERIFY #1 for customerA" in screen and "Output (" in screen
                        and "ksysmgr -t verify site customerA" in screen, "the operation's detail")
        term.type("q")
        term.wait_for("Quitting as soon as #1 customerA verify finishes")
        screen = term.wait_until(lambda screen: "the console closed once it ended" in screen,
                                 "the console to close after the verify", 60)
        assert "ksystui: #1 customerA verify succeeded" in screen
        deadline = time.monotonic() + 30  # then the demo stops its service and simulator, and ends
        while time.monotonic() < deadline and term._run("display-message", "-p", "-t", term.name,
                                                         "#{pane_dead}").strip() != "1":
            time.sleep(0.2)
        assert term._run("display-message", "-p", "-t", term.name, "#{pane_dead}").strip() == "1", \
            "the program did not end"
    finally:
        term.close()


def _descendants(pid: int) -> set[int]:
    """Every process whose parent chain reaches ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    out = {pid}
    grew = True
    while grew:
        more = {p for p, parent in parents.items() if parent in out} - out
        out |= more
        grew = bool(more)
    return out


async def test_a_console_opens_no_connection_to_any_node(world, tmp_path):
    """The service (here, in the test's process) talks to the nodes; the
    console (``ksystui --config``, a process of its own in a terminal) shows
    what the service read and opens no connection to any node: the
    simulator's ``/stats`` says who holds each connection."""
    import asyncio
    import json
    import urllib.request

    from ksystui.config import load_config
    from ksystui.service.serve import Service
    from ksystui.sim.runner import SimRunner
    from tests.sim_config import write_config

    state = tmp_path / "state"
    async with SimRunner(world, state) as runner:
        cfg = write_config(state, tmp_path / "k.db")

        def stats() -> dict:
            with urllib.request.urlopen(f"{runner.admin_url}/stats?pids=1", timeout=10) as answer:
                return json.load(answer)

        try:
            await asyncio.to_thread(stats)
        except Exception as exc:  # a simulator without /stats cannot tell
            pytest.skip(f"the simulator has no /stats: {exc}")
        async with Service(load_config(cfg).config) as service:
            await service.leading.wait()
            term = Tmux([sys.executable, "-m", "ksystui", "--config", str(cfg)])
            try:
                screen = await asyncio.to_thread(term.wait_until, lambda s: s.count("fresh") >= 3,
                                                 "every node fresh", 60)
                assert "no provider service" not in screen
                console = await asyncio.to_thread(term.pids)
                holders = {peer["pid"] for node in (await asyncio.to_thread(stats))["nodes"].values()
                           for peer in node["peers"] if peer["closed_at"] is None}
                assert os.getpid() in holders  # the service's connections: the test's own process
                assert not holders & console, holders & console
            finally:
                term.close()
