"""The deployment of docs/deploiement.md, for real: Debian's nginx on the shipped configuration
(``deploy/nginx/relog.conf``: HTTPS, websockets, a cookie that keeps each browser on one
process) in front of two ``relog serve`` processes with sign-in, driven in headless Chromium.
Only the ports, the certificate's paths and the server name are changed in the file; nginx
runs on the loopback under the test's own prefix, never as the machine's service."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.served_app import ServedApp, free_port
from data_access import Filters
from tests.ui.conftest import MAP_FILES
from tests.ui.test_rehousing_page import wait_for_rehousings
from tests.ui.test_sign_in import COOKIE_SECRET, DEFAULT, PROFILES

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

ROOT = Path(__file__).resolve().parents[2]
NGINX_SITE = ROOT / "deploy/nginx/relog.conf"
UNIT = ROOT / "deploy/systemd/relog@.service"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "mot de passe de déploiement"


def site_for_test(text: str, https: int, http: int, upstreams: list[int], tls: Path) -> str:
    """The shipped site with the test's ports, certificate and name; each replaced text must
    be found exactly where the shipped file has it (a changed file fails here, loudly)."""
    replacements = [
        ("listen 80;", f"listen 127.0.0.1:{http};", 1),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;", 1),
        ("server 127.0.0.1:5006 ", f"server 127.0.0.1:{upstreams[0]} ", 1),
        ("server 127.0.0.1:5007 ", f"server 127.0.0.1:{upstreams[1]} ", 1),
        ("/etc/ssl/relog/fullchain.pem", str(tls / "cert.pem"), 1),
        ("/etc/ssl/relog/privkey.pem", str(tls / "key.pem"), 1),
        ("server_name relog.exemple.fr;", "server_name localhost;", 2),
    ]
    for old, new, count in replacements:
        assert text.count(old) == count, f"{old!r} attendu {count} fois dans {NGINX_SITE.name}"
        text = text.replace(old, new)
    return text


class Proxy:
    """nginx on the shipped site, with an access log naming each request's process."""

    def __init__(self, tmp: Path, upstreams: list[int], https: int):
        self.tmp, self.https, self.http = tmp, https, free_port()
        self.url = f"https://localhost:{self.https}"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
             "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        site = site_for_test(NGINX_SITE.read_text(), self.https, self.http, upstreams, tmp)
        (tmp / "relog.conf").write_text(site)
        self.access = tmp / "access.log"
        temp = "".join(
            f"{kind}_temp_path {tmp / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp / "nginx.conf").write_text(
            f"""daemon off;
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} notice;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 512; }}
http {{
    log_format relog '$request_method $uri $status $upstream_addr $relog_route';
    access_log {self.access} relog;
    {temp}
    include {tmp / "relog.conf"};
}}
"""
        )
        check = subprocess.run(
            [NGINX, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=(tmp / "nginx.out").open("w"),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while self.get("/liveness")[0] != 200:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError((tmp / "error.log").read_text()[-2000:])
            time.sleep(0.2)

    def get(self, path: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of a GET through nginx, its test certificate trusted."""
        context = ssl.create_default_context(cafile=str(self.tmp / "cert.pem"))
        request = urllib.request.Request(self.url + path)
        if cookie:
            request.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()
        except OSError:
            return 0, {}, b""

    def routes(self) -> list[tuple[str, str, str, str]]:
        """(method, path, process, route cookie) of each request nginx passed on."""
        lines = self.access.read_text().splitlines() if self.access.exists() else []
        return [tuple(line.split(" ")[i] for i in (0, 1, 3, 4)) for line in lines]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def deployment(demo_path, tmp_path_factory):
    """Two sign-in servers (same cookie secret, as relog.env.exemple says) behind nginx."""
    tmp = tmp_path_factory.mktemp("deploiement")
    accounts = tmp / "comptes.toml"
    done = subprocess.run(
        [sys.executable, "-m", "relog", "compte", "ajouter", "agent", "--fichier", str(accounts),
         "--courriel", "agent@haute-garonne.gouv.fr"],
        env={**os.environ, "RELOG_NOUVEAU_MOT_DE_PASSE": PASSWORD}, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (tmp / "profils.toml").write_text(PROFILES, encoding="utf-8")
    ports = [free_port(), free_port()]
    https = free_port()  # chosen before the servers: their public address names it
    env = {
        **{k: str(v) for k, v in MAP_FILES.items()},
        "RELOG_AUTH": "comptes",
        "RELOG_ACCOUNTS_FILE": str(accounts),
        "RELOG_PROFILES_FILE": str(tmp / "profils.toml"),
        "RELOG_COOKIE_SECRET": COOKIE_SECRET,
        "RELOG_AUDIT_FILE": str(tmp / "audit.jsonl"),
        "RELOG_PUBLIC_URL": f"https://localhost:{https}",
    }
    servers, proxy = {}, None
    try:
        for port in ports:
            servers[port] = ServedApp(
                demo_path, log_dir=tmp, env=env, port=port, origin=f"localhost:{https}"
            )
        proxy = Proxy(tmp, ports, https)
        yield proxy, servers
    finally:
        if proxy is not None:
            proxy.stop()
        for server in servers.values():
            server.stop()


@pytest.fixture
def context(browser):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="fr-FR", ignore_https_errors=True
    )
    yield context
    context.close()


def sign_in(page, proxy: Proxy) -> None:
    page.goto(f"{proxy.url}/app")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.get_by_label("Identifiant").fill("agent")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".relog-profil")).to_contain_text("DDETS de la Haute-Garonne")


def process_of(proxy: Proxy, route: str) -> set[str]:
    """The processes that served the page and websocket requests of a route cookie."""
    return {
        upstream
        for method, path, upstream, cookie in proxy.routes()
        if cookie == route and path.startswith("/app")
    }


def websocket_served(proxy: Proxy, route: str, upstream: str) -> bool:
    """A websocket of ``route`` was served by ``upstream`` (101). nginx logs a websocket
    when it closes: close its page first; the line may take a moment."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(
            path == "/app/ws" and process == upstream and cookie == route
            for method, path, process, cookie in proxy.routes()
        ):
            return True
        time.sleep(0.2)
    return False


def route_on(proxy: Proxy, upstream: str) -> str:
    """A route cookie that nginx's consistent hash sends to ``upstream`` (asked of nginx)."""
    for i in range(64):
        route = f"essai-{i}"
        proxy.get("/liveness", cookie=f"relog_route={route}")
        if any(p == upstream for _, path, p, c in proxy.routes() if c == route):
            return route
    raise AssertionError(f"aucun cookie ne mène à {upstream}")


def signed_in(context, deployment, raw_tables):
    """A page signed in through the proxy showing the default view: (page, its route cookie,
    the process serving it, the other process)."""
    proxy, servers = deployment
    page = context.new_page()
    sign_in(page, proxy)
    wait_for_rehousings(page, raw_tables, Filters(**DEFAULT))
    route = next(c["value"] for c in context.cookies() if c["name"] == "relog_route")
    (first,) = process_of(proxy, route)
    other = next(f"127.0.0.1:{p}" for p in servers if f"127.0.0.1:{p}" != first)
    return page, route, first, other


def test_a_user_signs_in_through_nginx_and_keeps_one_process(deployment, context, raw_tables):
    """HTTPS and websockets pass through the proxy; the first answer sets the route cookie,
    and the page and its websocket are served by the same process."""
    proxy, _ = deployment
    page = context.new_page()
    sign_in(page, proxy)
    wait_for_rehousings(page, raw_tables, Filters(**DEFAULT))
    cookie = next(c for c in context.cookies() if c["name"] == "relog_route")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    served = process_of(proxy, cookie["value"])
    assert len(served) == 1, served  # the page, the sign-in and the websocket: one process
    (upstream,) = served
    page.goto(f"{proxy.url}/app?debut=2026-01&fin=2026-06")  # closes the first websocket
    wait_for_rehousings(page, raw_tables, Filters(start="2026-01", end="2026-06"))
    assert websocket_served(proxy, cookie["value"], upstream)
    assert process_of(proxy, cookie["value"]) == {upstream}


def test_another_process_reads_the_same_sign_in(deployment, context, raw_tables):
    """The processes share the cookie secret: a signed-in browser moved to the other process
    (a restart, a deployment, another machine) keeps its session and its page works."""
    proxy, _ = deployment
    page, _, _, other = signed_in(context, deployment, raw_tables)
    moved = route_on(proxy, other)
    context.add_cookies([{"name": "relog_route", "value": moved, "url": proxy.url}])
    page.reload()
    wait_for_rehousings(page, raw_tables, Filters(**DEFAULT))
    expect(page.get_by_role("heading", name="Connexion")).to_have_count(0)
    page.close()
    assert process_of(proxy, moved) == {other}
    assert websocket_served(proxy, moved, other)


def test_what_the_proxy_opens_and_closes(deployment):
    """Plain HTTP is sent to HTTPS; each process's health and metrics are read on the
    machine only, not through the proxy."""
    proxy, servers = deployment
    request = urllib.request.Request(f"http://127.0.0.1:{proxy.http}/app")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
        raise AssertionError("HTTP servi sans redirection")
    except urllib.error.HTTPError as err:
        assert err.code == 301 and err.headers["Location"].startswith("https://")
    status, headers, _ = proxy.get("/liveness")
    assert status == 200 and "max-age" in headers.get("Strict-Transport-Security", "")
    assert proxy.get("/sante")[0] == 404 and proxy.get("/metriques")[0] == 404
    for port in servers:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sante", timeout=10) as answer:
            assert b'"base"' in answer.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metriques", timeout=10) as answer:
            assert b"relog_sessions" in answer.read()


def test_a_stopped_process_hands_its_users_to_the_other(deployment, context, raw_tables):
    """Last of the module: one process stops; its signed-in user reloads and is served by
    the other, figures unchanged."""
    proxy, servers = deployment
    page, route, first, other = signed_in(context, deployment, raw_tables)
    servers[int(first.rsplit(":", 1)[1])].stop()
    page.reload()
    wait_for_rehousings(page, raw_tables, Filters(**DEFAULT))
    expect(page.get_by_role("heading", name="Connexion")).to_have_count(0)
    page.close()
    assert websocket_served(proxy, route, other)
