"""The served app, driven in headless Chromium (Debian's ``chromium``, never a downloaded
browser) by Playwright.

One ``relog serve`` process per test session, on the test demo replica; one browser; a
fresh page (browser context) per test, which fails the test on any console error and on
any request to a host other than the app's own.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui]

# a loaded CI machine (the PostgreSQL tests run beside these) may take seconds to update
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("RELOG_CHROMIUM", "/usr/bin/chromium")
#: Flags the machine notes require: no sandbox as root, no GPU, no background calls home
#: (the network is closed; Chromium's own requests would be refused or hang).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp:
    """``relog serve`` in a subprocess, on the given demo replica."""

    def __init__(self, demo_path: Path, extra_env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://localhost:{self.port}"
        env = {**os.environ, "RELOG_DEMO_PATH": str(demo_path), **(extra_env or {})}
        env.pop("RELOG_DATABASE_URL", None)
        self.log = Path(demo_path).parent / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dashboards.cli", "serve", "--port", str(self.port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"localhost:{self.port}"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"relog serve exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/liveness", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"relog serve did not answer in 60 s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def served_app(demo_path):
    app = ServedApp(demo_path)
    yield app
    app.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : `make test` l'installe (paquet Debian chromium).")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Console errors and foreign requests seen by a page."""

    def __init__(self, page, origin: str):
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)
        self.origin = origin

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.origin) or re.match(r"^(data|blob|about):", url)
                or url.startswith(self.origin.replace("http", "ws"))):
            self.foreign.append(url)


@pytest.fixture
def page(browser, served_app):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                  locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, served_app.url)
    page.watch = watch
    yield page
    context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"
