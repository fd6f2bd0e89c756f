"""``ksystui replay``: the console over a recorded window, from the
configured database or from a bundle another machine wrote (no
configuration needed); wrong times and unreadable bundles are one line and
exit 2. The console itself is driven headless where the verb would run it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ksystui.cli.options import GlobalOptions
from ksystui.cli.replay import replay_console
from ksystui.ui.app import ControlRoomApp
from tests.ui.conftest import screen_text, showing, until

from .conftest import aksystui, ksystui
from .test_incident import T0, recorded, window  # noqa: F401  (the recorded window, a module fixture)


def run_headless(monkeypatch, seen: dict) -> None:
    """What the operator sees once the replay console is up (instead of a terminal)."""

    async def run_async(app: ControlRoomApp) -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: showing(app, "overview") and "customer" in screen_text(app), timeout=20)
            seen["app"], seen["text"] = app, screen_text(app)
            await pilot.press("o")  # the next operation: the verifies queued at T0+30s
            await until(pilot, lambda: app.replay.at == T0 + timedelta(seconds=30))
            await pilot.press("6")
            await until(pilot, lambda: showing(app, "queue") and len(app.screen.table.visible_rows()) >= 1)
            seen["queue"] = screen_text(app)

    monkeypatch.setattr(ControlRoomApp, "run_async", run_async)


async def test_a_bundle_replays_on_another_machine_without_a_configuration(recorded, tmp_path, monkeypatch):  # noqa: F811
    cfg, _, _ = recorded
    bundle = tmp_path / "b.ksys"
    run = await aksystui("--config", str(cfg), "incident", "export", *window(), str(bundle))
    assert run.rc == 0, run
    seen: dict = {}
    run_headless(monkeypatch, seen)
    assert await replay_console(GlobalOptions(), None, None, bundle, playing=False) == 0
    app = seen["app"]
    assert app.readonly and app.replay is not None
    assert {t.name for t in app.tenants} == {"customerA", "customerB", "customerC"}  # named by the record
    assert "REPLAY" in seen["text"] and "customerC" in seen["text"]
    assert seen["queue"].count("verify") == 2  # customerA's and customerB's


async def test_a_tenant_replay_shows_that_tenant_only(recorded, monkeypatch):  # noqa: F811
    cfg, _, _ = recorded
    seen: dict = {}
    run_headless(monkeypatch, seen)
    code = await replay_console(GlobalOptions(config=cfg, tenant="customerA"), T0, T0 + timedelta(minutes=5), None,
                                playing=False)
    assert code == 0
    assert seen["app"].scope == "customerA"
    assert "customerB" not in seen["text"] and "customerB" not in seen["queue"]
    assert seen["queue"].count("verify") == 1


@pytest.mark.parametrize(("args", "said"), [
    (["--from", "yesterday"], "--from: 'yesterday': not a time"),
    (["--from", "2026-11-30T10:00", "--to", "2026-11-30T09:00"], "is not after --from"),
    ([], "--from: a replay needs the start of its window"),
])
def test_a_wrong_window_is_one_line_and_exit_2(recorded, args, said):  # noqa: F811
    cfg, _, _ = recorded
    run = ksystui("--config", str(cfg), "replay", *args)
    assert run.rc == 2 and run.err.count("\n") == 1 and said in run.err, run
    assert run.err.startswith("ksystui replay: ")


def test_a_file_that_is_no_bundle_is_one_line_and_exit_2(tmp_path):
    junk = tmp_path / "junk.ksys"
    junk.write_bytes(b"not a database at all" * 100)
    run = ksystui("replay", "--bundle", str(junk))
    assert run.rc == 2 and run.err.count("\n") == 1 and "cannot be replayed" in run.err, run
