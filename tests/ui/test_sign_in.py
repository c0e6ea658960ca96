"""Sign-in as partners meet it (issue 16), in headless Chromium against real servers: a real
OpenID Connect provider on the loopback (``oidc-provider-mock``: discovery, authorization
code, token, userinfo, as ProConnect or Keycloak serve them) with Panel's generic OAuth
provider; and the local accounts file with hashed passwords. No mock of Panel's code.

Figures are compared with the independent computation of ``tests/oracle.py`` restricted to
the profile's scope."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from bench.served_app import ServedApp, free_port
from data_access import Filters
from tests import oracle
from tests.ui.conftest import MAP_FILES, PageWatch
from tests.ui.test_rehousing_page import wait_for_kpi

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.xdist_group("ui")]

PROMOLOGIS, ALTEAL = 2, 5
TARN_AGOUT = "200034023"
#: The default view: the 12 last complete months of the test replica.
DEFAULT = {"start": "2025-11", "end": "2026-10"}
#: What a protected profile (a partner) opens on: the current calendar year.
YEAR = {"start": "2026-01", "end": DEFAULT["end"]}
COOKIE_SECRET = "relog-tests-cookie-secret-0123456789abcdef"

PROFILES = f"""
[profils.ddets]
libelle = "DDETS de la Haute-Garonne"
type = "ddets"
domaines = ["haute-garonne.gouv.fr"]

[profils.promologis]
libelle = "Promologis"
type = "bailleur"
bailleurs = [{PROMOLOGIS}]
groupes = ["relog-promologis"]

[profils.tarn-agout]
libelle = "CC Tarn-Agout"
type = "epci"
epci = ["{TARN_AGOUT}"]
utilisateurs = ["urbanisme@tarn-agout.fr"]

[profils.admin]
type = "admin"
utilisateurs = ["admin@haute-garonne.gouv.fr", "gestion"]
"""

USERS = [
    {"sub": "agent-ddets", "email": "agent@haute-garonne.gouv.fr"},
    {"sub": "j-martin", "email": "j.martin@promologis.fr", "groups": ["relog-promologis"]},
    {"sub": "epci", "email": "urbanisme@tarn-agout.fr"},
    {"sub": "admin", "email": "admin@haute-garonne.gouv.fr"},
    {"sub": "inconnu", "email": "quelqu.un@ailleurs.fr"},
]


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider on the loopback, with the test users' claims."""
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "-p", str(port), "-H", "127.0.0.1"]
    for user in USERS:
        command += ["--user-claims", json.dumps(user)]
    log = tmp_path_factory.mktemp("oidc") / "oidc.log"
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"oidc-provider-mock s'est arrêté : {log.read_text()[-2000:]}")
            time.sleep(0.2)
    yield issuer
    process.terminate()
    process.wait(10)


def _signed_in_app(demo_path, tmp_path, env: dict[str, str]) -> ServedApp:
    port = free_port()
    profiles = tmp_path / "profils.toml"
    profiles.write_text(PROFILES, encoding="utf-8")
    return ServedApp(
        demo_path,
        port=port,
        env={
            **{k: str(v) for k, v in MAP_FILES.items()},
            "RELOG_PROFILES_FILE": str(profiles),
            "RELOG_COOKIE_SECRET": COOKIE_SECRET,
            "RELOG_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
            "RELOG_PUBLIC_URL": f"http://localhost:{port}",
            **env,
        },
    )


@pytest.fixture(scope="module")
def oidc_app(demo_path, oidc_provider, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc-app")
    app = _signed_in_app(
        demo_path,
        tmp,
        {
            "RELOG_AUTH": "oidc",
            "RELOG_OIDC_ISSUER": oidc_provider,
            "RELOG_OIDC_CLIENT_ID": "relog",
            "RELOG_OIDC_CLIENT_SECRET": "secret-du-client-relog",
        },
    )
    app.audit = tmp / "audit.jsonl"
    yield app
    app.stop()


@pytest.fixture
def context(browser):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="fr-FR", accept_downloads=True
    )
    yield context
    context.close()


def sign_in_oidc(context, app, sub: str, path: str = "/app"):
    """The authorization-code flow as a user goes through it: the page sends the browser
    to the provider, the user signs in there, the provider sends them back with a code."""
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app.url}{path}")
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    return page


def _audit(app) -> list[dict]:
    return [json.loads(line) for line in app.audit.read_text().splitlines()]


def test_a_partner_signs_in_with_openid_connect_and_sees_its_stock_only(
    context, oidc_app, raw_tables
):
    page = sign_in_oidc(context, oidc_app, "j-martin")
    watch = PageWatch(page, oidc_app.url)
    frames: list[str] = []  # everything the server sends over the websocket
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda f: frames.append(f if isinstance(f, str) else "")),
    )
    expect(page).to_have_url(re.compile(rf"^{oidc_app.url}/app"))
    expect(page.locator(".relog-compte")).to_contain_text("j.martin@promologis.fr")
    expect(page.locator(".relog-profil")).to_contain_text("Promologis")
    mine = oracle.monthly_rehousing(raw_tables, Filters(**YEAR, bailleurs=[PROMOLOGIS]))
    wait_for_kpi(page, "relogements", int(mine["relogements"].sum()))

    # a forged address asking another bailleur: refused in French, no figure of it
    page.goto(f"{oidc_app.url}/app?bailleurs={ALTEAL}")
    expect(page.locator(".relog-notices, .alert").first).to_contain_text("hors de votre périmètre")
    wait_for_kpi(page, "relogements", int(mine["relogements"].sum()))
    theirs = oracle.monthly_rehousing(raw_tables, Filters(**YEAR, bailleurs=[ALTEAL]))
    assert theirs["relogements"].sum() != mine["relogements"].sum()  # the check can tell them apart
    # nothing of another bailleur crosses the wire nor reaches the page
    other = oracle.labels(raw_tables, "bailleur")[ALTEAL]
    assert frames and not any(other in f for f in frames)
    assert other not in page.content()
    assert any("Promologis" in f or "relogements" in f for f in frames)  # frames are read

    # the audit log and Panel's administration page are the admin's
    for path in ("/admin", "/journal"):
        response = page.goto(f"{oidc_app.url}{path}")
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Accès non autorisé")).to_be_visible()
    # the refused pages' own 403 is the only error
    assert [e for e in watch.errors if "403 (Forbidden)" not in e] == []
    events = _audit(oidc_app)
    assert {"evenement": "connexion", "utilisateur": "j.martin@promologis.fr"}.items() <= next(
        e for e in events if e["evenement"] == "connexion"
    ).items()
    assert any(
        e["evenement"] == "page" and e.get("filtres") == {} and e["profil"] == "promologis"
        for e in events
    )
    assert any(e["evenement"] == "refus" and e.get("chemin") == "/admin" for e in events)
    assert not any(str(int(mine["relogements"].sum())) in json.dumps(e) for e in events)


def test_an_epci_profile_reads_protected_figures(context, oidc_app, raw_tables):
    """A partner's profile is protected: its year's figures, small ones masked, one
    territory at a time, no other filter, on both pages."""
    page = sign_in_oidc(context, oidc_app, "epci")
    mine = oracle.monthly_rehousing(raw_tables, Filters(**YEAR, epci=[TARN_AGOUT]))
    wait_for_kpi(page, "relogements", int(mine["relogements"].sum()))
    expect(page.locator(".relog-secret")).to_contain_text("Secret statistique")
    expect(page.locator(".relog-filter-bailleurs")).to_have_count(0)
    # a commune of a complete year: its counts of 1 to 4 are « < 5 », its share hidden
    year = {"start": "2025-01", "end": "2025-12"}
    by_commune = (
        oracle.monthly_rehousing(raw_tables, Filters(**year, epci=[TARN_AGOUT]), "commune")
        .groupby("commune")[["relogements", "relogements_prioritaires"]]
        .sum()
    )
    column = "relogements" if by_commune["relogements"].between(1, 4).any() else None
    column = column or "relogements_prioritaires"
    small = by_commune[by_commune[column].between(1, 4)].index[0]
    page.goto(f"{oidc_app.url}/app?debut=2025-01&fin=2025-12&communes={small}&criteres=DALO")
    expect(page.locator(f'[data-valeur="{column}"]')).to_have_text("< 5")
    expect(page.locator('[data-valeur="part_prioritaires"]')).to_have_text("s")
    expect(page.locator(".relog-notices, .alert").first).to_contain_text("non disponible")
    html = page.content()
    assert f'data-valeur="{column}">{int(by_commune.loc[small, column])}<' not in html
    # the map: protected counts, the same legend
    page.goto(f"{oidc_app.url}/carte")
    expect(page.locator(".relog-secret")).to_contain_text("Secret statistique")
    expect(page.locator(".relog-totals")).to_be_visible()


def test_a_user_without_profile_gets_a_french_refusal_and_nothing_else(context, oidc_app):
    page = context.new_page()
    page.goto(f"{oidc_app.url}/app")
    page.get_by_placeholder("sub").fill("inconnu")
    responses = []
    page.on("response", lambda r: r.url.startswith(oidc_app.url) and responses.append(r))
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="Accès non autorisé")).to_be_visible()
    assert any(r.status == 403 for r in responses)
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(29, 78, 137)"
    )
    html = page.content()
    assert "data-valeur" not in html and "bokeh" not in html.lower()
    assert any(
        e["evenement"] == "refus" and e.get("utilisateur") == "quelqu.un@ailleurs.fr"
        for e in _audit(oidc_app)
    )
    assert Axe().run(page).violations_count == 0


def test_the_admin_reads_the_audit_log(context, oidc_app):
    page = sign_in_oidc(context, oidc_app, "admin", "/journal")
    expect(page.get_by_role("heading", name="Journal d'audit", level=2)).to_be_visible()
    expect(page.locator(".relog-journal")).to_contain_text("connexion")
    assert page.goto(f"{oidc_app.url}/admin").status == 200  # Panel's administration page


# ---------------------------------------------------------------------- local accounts
@pytest.fixture(scope="module")
def accounts_app(demo_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comptes-app")
    accounts = tmp / "comptes.toml"
    for name, password, email in (
        ("gestion", "mot de passe de test 1", None),
        ("agent", "mot de passe de test 2", "agent@haute-garonne.gouv.fr"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "relog", "compte", "ajouter", name, "--fichier", str(accounts)]
            + (["--courriel", email] if email else []),
            env={**os.environ, "RELOG_NOUVEAU_MOT_DE_PASSE": password},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    app = _signed_in_app(
        demo_path, tmp, {"RELOG_AUTH": "comptes", "RELOG_ACCOUNTS_FILE": str(accounts)}
    )
    app.audit, app.accounts = tmp / "audit.jsonl", accounts
    yield app
    app.stop()


def test_local_accounts_sign_in_with_a_hashed_password(context, accounts_app, raw_tables):
    text = Path(accounts_app.accounts).read_text()
    assert "mot de passe de test" not in text and text.count("scrypt$") == 2
    page = context.new_page()
    response = page.goto(f"{accounts_app.url}/app")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    # the login page too is served under the security headers, with its stylesheet
    assert "frame-ancestors 'none'" in response.all_headers()["content-security-policy"]
    background = "e => getComputedStyle(e).backgroundColor"
    assert page.locator("header").evaluate(background) == "rgb(29, 78, 137)"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Identifiant").fill("agent")
    page.get_by_label("Mot de passe").fill("mauvais mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")

    page.get_by_label("Identifiant").fill("agent")
    page.get_by_label("Mot de passe").fill("mot de passe de test 2")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".relog-profil")).to_contain_text("DDETS de la Haute-Garonne")
    everything = oracle.monthly_rehousing(raw_tables, Filters(**DEFAULT))
    wait_for_kpi(page, "relogements", int(everything["relogements"].sum()))

    page.get_by_role("link", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Vous êtes déconnecté")).to_be_visible()
    page.goto(f"{accounts_app.url}/app")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    events = [e["evenement"] for e in _audit(accounts_app)]
    assert events.count("echec_connexion") == 1 and "connexion" in events


def test_a_sign_in_expires(browser, demo_path, tmp_path):
    """RELOG_SESSION_HOURS: past it, the session cookie is refused and the user signs in
    again (here 30 seconds: long enough for a busy machine to show the page first; the test
    waits for the page, then for the rest of the 30 seconds, never for a fixed time)."""
    accounts = tmp_path / "comptes.toml"
    from dashboards.access import save_account

    save_account(accounts, "gestion", "mot de passe de test 1")
    app = _signed_in_app(
        demo_path,
        tmp_path,
        {
            "RELOG_AUTH": "comptes",
            "RELOG_ACCOUNTS_FILE": str(accounts),
            "RELOG_SESSION_HOURS": str(30 / 3600),
        },
    )
    try:
        context = browser.new_context(locale="fr-FR")
        page = context.new_page()
        page.goto(f"{app.url}/app")
        page.get_by_label("Identifiant").fill("gestion")
        page.get_by_label("Mot de passe").fill("mot de passe de test 1")
        signed_in = time.monotonic()
        page.get_by_role("button", name="Se connecter").click()
        expect(page.locator(".relog-profil")).to_be_visible(timeout=30_000)
        time.sleep(max(0.0, signed_in + 31 - time.monotonic()))
        page.goto(f"{app.url}/app")
        expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        context.close()
    finally:
        app.stop()
