"""The product installs like any Python package: ``pip install .`` into a fresh virtual
environment, outside the checkout, then ``relog demo`` and ``relog serve`` work, writing
only into the data directory, never into the installed package.

The fresh environment reuses the suite's installed dependencies (a ``.pth`` file pointing at
them) so that the test needs no download but the build backend; the project itself is built
and installed from a copy of its sources, as a user would from a release.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.served_app import free_port
from tests.paths import ROOT

pytestmark = pytest.mark.slow

PACKAGES = ("data_access", "geodata", "dashboards", "relog")


def _tree(root: Path) -> dict[str, float]:
    """Every file under ``root`` (bytecode caches aside) with its modification time."""
    return {
        str(p.relative_to(root)): p.stat().st_mtime
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment holding the product installed from a copy of the sources."""
    work = tmp_path_factory.mktemp("installation")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the suite's dependencies (a path in a .pth file: no other .pth of theirs is processed,
    # so the checkout's editable install stays out of this environment)
    Path(purelib, "suite-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", str(source)],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv, Path(purelib), work


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELOG_")}
    env["HOME"] = str(work / "home")  # platformdirs' user data folder lives under it
    env.pop("XDG_DATA_HOME", None)
    return env


def test_the_installed_package_runs_the_demo_and_the_dashboards_outside_the_checkout(installed):
    venv, purelib, work = installed
    for package in PACKAGES:
        assert (purelib / package / "__init__.py").is_file(), package
        assert not str((purelib / package).resolve()).startswith(str(ROOT)), package
    assert not (purelib / "bench").exists() and not (purelib / "tests").exists()
    # the sign-in pages' files (templates, stylesheet) travel with the package
    for name in ("relog.html", "connexion.html", "deconnexion.html", "refus.html", "_acces.css"):
        assert (purelib / "dashboards" / "templates" / name).is_file(), name
    before = {p: _tree(purelib / p) for p in PACKAGES}
    relog, env, cwd = venv / "bin" / "relog", _env(work), work / "ailleurs"
    cwd.mkdir()

    done = subprocess.run(
        [relog, "demo", "--as-of", "2026-11-15"], capture_output=True, text=True, env=env, cwd=cwd
    )
    assert done.returncode == 0, done.stderr[-3000:]
    demo = work / "home" / ".local" / "share" / "relog" / "demo-departement.duckdb"
    assert demo.is_file(), done.stdout

    port = free_port()
    server = subprocess.Popen(
        [relog, "serve", "--port", str(port), "--address", "127.0.0.1",
         "--allow-websocket-origin", f"127.0.0.1:{port}"],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        pages = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                for route in ("app", "carte", "objectifs", "reunion"):
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/{route}", timeout=30
                    ) as r:
                        pages[route] = (r.status, r.read().decode())
                break
            except OSError:
                time.sleep(0.5)
        assert set(pages) == {"app", "carte", "objectifs", "reunion"}, (
            server.stdout.read1().decode() if server.poll() else ""
        )
        assert all(status == 200 for status, _ in pages.values())
    finally:
        server.terminate()
        server.wait(timeout=20)
    # nothing written into the installed package; the files went to the data directory
    assert {p: _tree(purelib / p) for p in PACKAGES} == before


def test_relog_bench_says_it_needs_a_checkout(installed):
    venv, _, work = installed
    done = subprocess.run(
        [venv / "bin" / "relog", "bench"], capture_output=True, text=True, env=_env(work), cwd=work
    )
    assert done.returncode == 2 and "copie du dépôt" in done.stderr


def test_the_dashboards_do_not_depend_on_the_command_nor_the_demo_generator():
    code = (
        "import sys, dashboards.pages.rehousing, dashboards.pages.demand_supply, dashboards.layout;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('relog', 'bench', 'tests')"
        " or m.startswith('data_access.demo')]; sys.exit(', '.join(bad) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_relog_serve_chooses_its_session_settings(monkeypatch):
    """Sessions nobody holds go quickly; tokens and keep-alive pings are set (Bokeh's
    defaults are 15 s, 17 s, 5 min and 37 s)."""
    from relog import cli

    seen = {}

    def execve(path, argv, env):
        seen["argv"] = argv

    monkeypatch.setattr(cli.os, "execve", execve)
    monkeypatch.delenv("RELOG_AUTH", raising=False)
    cli.main(["serve", "--port", "5999"])
    argv = seen["argv"]
    chosen = {argv[i]: argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("--")}
    assert chosen["--unused-session-lifetime"] == "10000"
    assert chosen["--check-unused-sessions"] == "5000"
    assert chosen["--session-token-expiration"] == "120"
    assert chosen["--keep-alive"] == "20000"
