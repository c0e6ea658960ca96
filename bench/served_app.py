"""``relog serve`` in a subprocess on a given demo replica, and Debian's headless Chromium:
shared by the browser tests and ``relog bench``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("RELOG_CHROMIUM", "/usr/bin/chromium")
#: Flags the machine notes require: no sandbox as root, no GPU, no background calls home
#: (the network is closed; Chromium's own requests would be refused or hang).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedApp:
    """``relog serve`` on ``demo_path``, on a free loopback port, until :meth:`stop`."""

    def __init__(
        self,
        demo_path: Path,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        files: list[Path] | None = None,
        port: int | None = None,
        database_url: str | None = None,
        origin: str | None = None,
    ):
        """``env``: more environment (``RELOG_CONTOURS_COMMUNES``…); ``files``: serve these
        Panel files with ``panel serve`` instead of ``relog serve``'s routes; ``port``: this
        one rather than a free one; ``database_url``: serve that replica (PostgreSQL)
        rather than the demo file; ``origin``: the host and port browsers load the pages
        from (a reverse proxy's), default this server's."""
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        env = {**os.environ, "RELOG_DEMO_PATH": str(demo_path), **(env or {})}
        env.pop("RELOG_DATABASE_URL", None)
        if database_url:
            env["RELOG_DATABASE_URL"] = database_url
        self.log = Path(log_dir or Path(demo_path).parent) / f"serve-{self.port}.log"
        listen = [
            "--port",
            str(self.port),
            "--address",
            "127.0.0.1",
            "--allow-websocket-origin",
            origin or f"localhost:{self.port}",
        ]
        command = (
            [sys.executable, "-m", "panel", "serve", *map(str, files), *listen, "--liveness"]
            if files
            else [sys.executable, "-m", "relog", "serve", *listen]
        )
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"relog serve s'est arrêté : {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/liveness", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"relog serve ne répond pas après 60 s : {self.log.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self) -> ServedApp:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


#: ``deep(selector, root)``: the first element matching ``selector`` under ``root``, looking
#: through Panel's and Bokeh's shadow roots as Playwright's locators do (JavaScript).
DEEP_JS = """function deep(selector, root = document) {
  const scopes = root.shadowRoot ? [root, root.shadowRoot] : [root]
  for (const scope of scopes) {
    const found = scope.querySelector(selector)
    if (found) return found
    for (const el of scope.querySelectorAll("*")) {
      const inner = el.shadowRoot && deep(selector, el.shadowRoot)
      if (inner) return inner
    }
  }
  return null
}"""

#: Page-side probe for :func:`timed_open`: checks a readiness condition every 20 ms from the
#: first script on, and keeps the page's own clock (``performance.now()``, 0 = navigation
#: start) at the first check where it holds.
PROBE = """
(() => {
  const deep = __DEEP__
  const condition = __CONDITION__
  window.__relogReadyAt = null
  const poll = () => {
    let ok = false
    try { ok = Boolean(condition(deep)) } catch (e) { ok = false }
    if (ok) window.__relogReadyAt = performance.now()
    else setTimeout(poll, 20)
  }
  setTimeout(poll, 20)
})()
""".replace("__DEEP__", DEEP_JS)


def wait_rendered(page, condition: str) -> None:
    """Wait, polling on each animation frame, until ``condition`` (a JavaScript function of
    ``deep``) holds in ``page``. Playwright's locator waits poll with a back-off of up to half a
    second, which a render time would include."""
    page.wait_for_function(
        f"() => {{ const deep = {DEEP_JS}; return Boolean(({condition})(deep)) }}"
    )


def timed_open(
    browser, url: str, ready, condition: str | None = None
) -> tuple[object, float, float]:
    """Open ``url`` in a fresh context and wait for ``ready(page)``. Returns the context (open,
    for the caller to close), the render time and the time the harness saw it, in seconds.

    With ``condition`` (a JavaScript function of ``deep`` returning true once the page is
    rendered, what ``ready`` waits for) the render time is the page's own clock when the
    condition first held, free of the harness's latency. Without it, both times are the
    harness's."""
    import time

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    if condition:
        page.add_init_script(PROBE.replace("__CONDITION__", condition))
    t0 = time.perf_counter()
    page.goto(url)
    ready(page)
    harness = time.perf_counter() - t0
    if not condition:
        return context, harness, harness
    rendered = page.wait_for_function("() => window.__relogReadyAt").json_value() / 1000
    return context, rendered, harness
