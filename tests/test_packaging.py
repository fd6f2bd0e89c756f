"""What `pip install ksystui` gets: the wheel must carry the themes, the
seed scenario and the database migrations, or `ksystui demo` breaks outside
a checkout. Built here without network (hatchling is a test dependency)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_what_the_program_reads_at_run_time(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("ksystui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for theme in ("base", "dark", "light", "high-contrast"):
        assert f"ksystui/themes/{theme}.tcss" in names
    assert "ksystui/scenarios/draas-seed.toml" in names
    assert "ksystui/store/migrations/script.py.mako" in names
    assert any(n.startswith("ksystui/store/migrations/versions/0002_") for n in names)
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)

    # Installed on its own (no checkout beside it), it finds its files and
    # migrates a new database.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True, timeout=300)
    probe = (
        "import ksystui, ksystui.resources as r\n"
        "from ksystui.sim.world import SimWorld\n"
        "from ksystui.store.queue import Queue\n"
        f"assert ksystui.__file__.startswith({str(site)!r}), ksystui.__file__\n"
        "assert (r.THEMES_DIR / 'high-contrast.tcss').is_file(), r.THEMES_DIR\n"
        "w = SimWorld.seed()\n"
        "print(sorted(w.tenants), r.SCENARIOS_DIR)\n"
        f"Queue.open('sqlite:///{tmp_path}/q.db').close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "['customerA', 'customerB', 'customerC']" in out.stdout and str(site) in out.stdout

    # the command line (a package, ksystui/cli/) came along, and its entry point answers
    version = subprocess.run([sys.executable, "-m", "ksystui", "--version"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("ksystui "), version.stderr
    assert any(n.startswith("ksystui/cli/") for n in names) and "ksystui/bootstrap.py" in names
