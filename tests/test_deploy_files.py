"""The deployment files of docs/deploiement.md are what the guide says: the systemd unit
passes ``systemd-analyze verify`` (an unknown key or a missing program fails it), the
environment file names only settings the README documents, and the guide points at the files
the tests start (tests/ui/test_deployment.py starts nginx on deploy/nginx/relog.conf)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs/deploiement.md"


@pytest.mark.parametrize(
    ("unit_file", "instance", "command"),
    [
        ("relog@.service", "relog@5006.service", "relog serve --address 127.0.0.1 --port %i"),
        ("relog-resumes.service", "relog-resumes.service", "relog summarise --watch"),
    ],
)
def test_the_systemd_units_are_valid(tmp_path, unit_file, instance, command):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze introuvable : `make test` l'installe (tests/setup).")
    unit = (DEPLOY / "systemd" / unit_file).read_text()
    assert f"ExecStart=/opt/relog/.venv/bin/{command}" in unit
    # the program of this environment in place of the guide's install path, which must exist
    relog = Path(sys.executable).with_name("relog")
    path = tmp_path / instance
    path.write_text(unit.replace("/opt/relog/.venv/bin/relog", str(relog)))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr and "ignoring" not in done.stderr, done.stderr


def test_the_environment_file_names_documented_settings_only():
    readme = (ROOT / "README.md").read_text()
    keys = re.findall(r"^(RELOG_[A-Z_]+)=", (DEPLOY / "relog.env.exemple").read_text(), re.M)
    assert "RELOG_COOKIE_SECRET" in keys and "RELOG_DATABASE_URL" in keys
    assert [k for k in keys if k not in readme] == []


def test_the_guide_names_the_files_it_ships():
    guide = GUIDE.read_text()
    for path in ("deploy/nginx/relog.conf", "deploy/systemd/relog@.service",
                 "deploy/systemd/relog-resumes.service", "deploy/relog.env.exemple",
                 "tests/ui/test_deployment.py"):  # fmt: skip
        assert path in guide and (ROOT / path).is_file(), path
