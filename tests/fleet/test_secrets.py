"""A canary password (SSH key passphrase) and a canary REST token set in the
configuration never appear in the database, the logs or any status output."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from pathlib import Path

import asyncssh

from ksystui.cli.status import run_config_check, run_status
from ksystui.sim.runner import SimRunner
from ksystui.sim.world import SimWorld

PASSWORD = "CANARY-PASSWORD-7f3a9e"
TOKEN = "CANARY-TOKEN-51c0d2b8e4"


async def test_canaries_never_leave_the_config(tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "protected").write_bytes(key.export_private_key(passphrase=PASSWORD))
    (tmp_path / "protected").chmod(0o600)
    (state / "authorized_keys").write_bytes(key.export_public_key())
    world = SimWorld.seed(speed=200)
    node = world.nodes["ksysorch-dal12"]
    node.rest = replace(node.rest, token=TOKEN)

    logfile = tmp_path / "ksystui.log"
    handler = logging.FileHandler(logfile)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    outputs = []
    try:
        async with SimRunner(world, state):
            cfg = (state / "config.toml").read_text()
            cfg = cfg.replace(f'url = "sqlite:///{state}/ksystui.db"', f'url = "sqlite:///{tmp_path}/k.db"')
            cfg = cfg.replace(f'key_file = "{state}/id_ed25519"',
                              f'key_file = "{tmp_path}/protected"\nkey_passphrase_env = "KSYSTUI_TEST_PASSPHRASE"')
            cfg = cfg.replace(f'token_file = "{state}/tokens/ksysorch-dal12.token"', f'token = "{TOKEN}"')
            path = tmp_path / "config.toml"
            path.write_text(cfg)
            import os

            os.environ["KSYSTUI_TEST_PASSPHRASE"] = PASSWORD
            for as_json in (False, True):
                out, err = io.StringIO(), io.StringIO()
                rc = await run_status(path, as_json, None, out, err, timeout=120)
                assert rc == 0, err.getvalue()
                outputs += [out.getvalue(), err.getvalue()]
            out, err = io.StringIO(), io.StringIO()
            assert await run_config_check(path, out, err) == 0, out.getvalue()
            outputs += [out.getvalue(), err.getvalue()]
            # one more failing run, so error paths get logged too
            world.faults.inject("rest_error", "ksysorch-dal12", status=500)
            out, err = io.StringIO(), io.StringIO()
            await run_status(path, False, None, out, err, timeout=120)
            outputs += [out.getvalue(), err.getvalue()]
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        os.environ.pop("KSYSTUI_TEST_PASSPHRASE", None)

    assert "customerC" in outputs[0] and "inline" in outputs[1]  # the run really happened, and warned
    for text in outputs:
        assert PASSWORD not in text and TOKEN not in text
    assert logfile.read_text()  # something was logged
    db_files = [p for p in tmp_path.iterdir() if p.name.startswith("k.db")]
    assert db_files
    for p in [*db_files, logfile]:
        raw = p.read_bytes()
        assert PASSWORD.encode() not in raw, p
        assert TOKEN.encode() not in raw, p
