"""The served app, driven in headless Chromium (Debian's ``chromium``, never a downloaded
browser) by Playwright.

One ``relog serve`` process per test session, on the test demo replica; one browser; a
fresh page (browser context) per test, which fails the test on any console error and on
any request to a host other than the app's own.
"""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.served_app import CHROMIUM, ServedApp, launch_chromium

# a loaded CI machine (the PostgreSQL tests run beside these) may take seconds to update
expect.set_options(timeout=15_000)


#: The served map draws the communes shipped with the product (no RELOG_CONTOURS_COMMUNES:
#: what `make serve` shows on a fresh machine), and the QPV of ``../shared/geodata``.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "geodata"
MAP_FILES = {"RELOG_CONTOURS_QPV": SHARED / "qpv-hackaviz2021/qp-31-haute-garonne-2015.geojson"}
SHIPPED_COMMUNES = Path(__file__).resolve().parents[2] / "geodata/contours/communes-31.geojson"


def http_get(url: str) -> tuple[int, bytes]:
    """(HTTP status, body) of a GET, an error status included."""
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def filters_loaded(page) -> None:
    """The page's filters are built: they come once its figures are on screen, and may move
    the layout a little (a test clicks after that, as a user would)."""
    if page.locator(".relog-sidebar").count():
        expect(page.locator(".relog-sidebar-pret")).to_be_attached()


@pytest.fixture(scope="session")
def served_app(demo_path):
    missing = [str(p) for p in MAP_FILES.values() if not p.exists()]
    if missing:
        pytest.fail(f"../shared/geodata is missing beside the checkout: {missing}")
    app = ServedApp(demo_path, env={k: str(v) for k, v in MAP_FILES.items()})
    yield app
    app.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium introuvable ({CHROMIUM}) : `make test` l'installe (paquet Debian chromium)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
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
        if not (
            url.startswith(self.origin)
            or re.match(r"^(data|blob|about):", url)
            or url.startswith(self.origin.replace("http", "ws"))
        ):
            self.foreign.append(url)


@pytest.fixture
def page(browser, served_app):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000},
        accept_downloads=True,
        locale="fr-FR",
        timezone_id="Europe/Paris",
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = PageWatch(page, served_app.url)
    page.watch = watch
    yield page
    context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"
