"""Profiles, local accounts, the audit log and the serving options (issue 16), without a
server: the files a department writes, and what each mistake in them gives."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from dashboards.access import (
    LOCAL,
    AccessError,
    AccessSettings,
    Gate,
    Identity,
    audit,
    hash_password,
    load_accounts,
    load_profiles,
    read_audit,
    save_account,
    serve_options,
    verify_password,
)
from data_access import FilterError, Filters, Replica, Scope
from tests import oracle

PROFILES = """
[profils.ddets]
type = "ddets"
domaines = ["haute-garonne.gouv.fr"]

[profils.cd]
type = "cd"
groupes = ["cd31-habitat"]

[profils.promologis]
libelle = "Promologis"
type = "bailleur"
bailleurs = [2]
groupes = ["relog-promologis"]
utilisateurs = ["J.Martin@promologis.fr"]

[profils.tarn-agout]
type = "epci"
epci = ["200034023"]
secret = "exact"
groupes = ["epci-81"]

[profils.alteal]
type = "bailleur"
bailleurs = [5]
groupes = ["relog-promologis"]
"""


@pytest.fixture
def profiles(tmp_path):
    path = tmp_path / "profils.toml"
    path.write_text(PROFILES, encoding="utf-8")
    return load_profiles(path)


def who(email, groups=()):
    return Identity.from_claims(None, {"email": email, "groups": list(groups)})


def test_profiles_resolve_by_user_then_group_then_domain(profiles):
    profile, why = profiles.resolve(who("agent@haute-garonne.gouv.fr"))
    assert profile.key == "ddets" and profile.exact and profile.scope == Scope()
    # by name (case-insensitive) before the group claimed by two profiles
    profile, why = profiles.resolve(who("j.martin@promologis.fr", ["relog-promologis"]))
    assert (profile.key, why) == ("promologis", "par utilisateur")
    assert profile.scope.bailleurs == (2,) and not profile.exact  # partners: protected
    assert profiles.resolve(who("x@cd31.fr", ["cd31-habitat"]))[0].key == "cd"
    assert profiles.resolve(who("x@tarn-agout.fr", ["epci-81"]))[0].exact  # set in the file


def test_no_profile_or_two_profiles_deny_access(profiles):
    assert profiles.resolve(who("quelqu.un@ailleurs.fr")) == (None, "aucun profil")
    assert profiles.resolve(None) == (None, "non connecté")
    # two profiles give the same group: neither wins by the file's order
    profile, why = profiles.resolve(who("autre@promologis.fr", ["relog-promologis"]))
    assert profile is None and "plusieurs profils" in why


@pytest.mark.parametrize(
    "text, message",
    [
        ('[profils.x]\ntype = "préfet"\ndomaines = ["a.fr"]', "type 'préfet' inconnu"),
        ('[profils.x]\ntype = "bailleur"\ngroupes = ["g"]', "doit donner « bailleurs »"),
        ('[profils.x]\ntype = "ddets"\nepci = ["1"]\ngroupes = ["g"]', "voit tout le département"),
        ('[profils.x]\ntype = "ddets"\ngroupe = ["g"]', "clé inconnue groupe"),
        ('[profils.x]\ntype = "ddets"', "aucune règle"),
        ('[profils.x]\ntype = "epci"\nepci = []\ngroupes = ["g"]', "liste non vide"),
        ('[profils.x]\ntype = "cd"\nsecret = "non"\ngroupes = ["g"]', "« secret » vaut"),
        ("[profil.x]\n", "section inconnue"),
        ("profils = 3", "aucun profil"),
        ("[profils.x\n", "illisible"),
        (
            '[profils.a]\ntype = "cd"\nutilisateurs = ["u"]\n'
            '[profils.b]\ntype = "ddets"\nutilisateurs = ["U"]',
            "dans deux profils",
        ),
    ],
)
def test_a_wrong_profiles_file_is_refused_in_french(tmp_path, text, message):
    path = tmp_path / "profils.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AccessError, match=message):
        load_profiles(path)


def test_profiles_codes_are_checked_against_the_replica(profiles, duckdb_replica):
    assert profiles.check(duckdb_replica) == []
    wrong = load_profiles_text('[profils.x]\ntype = "bailleur"\nbailleurs = [999]\ngroupes = ["g"]')
    assert wrong.check(duckdb_replica) == [
        "Profil « x » : bailleurs inconnus de la réplique : 999."
    ]


def load_profiles_text(text):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "profils.toml"
    path.write_text(text, encoding="utf-8")
    return load_profiles(path)


# ---------------------------------------------------------------------- accounts
def test_passwords_are_stored_hashed_and_checked_in_constant_time(tmp_path):
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("x", "pas un hachage") and not verify_password("x", "md5$a$b$c$d$e")
    assert hash_password("même") != hash_password("même")  # salted
    path = tmp_path / "comptes.toml"
    save_account(path, "marie", "un mot de passe solide", email="marie@haute-garonne.gouv.fr")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "un mot de passe solide" not in path.read_text()
    account = load_accounts(path)["marie"]
    assert account.email == "marie@haute-garonne.gouv.fr"
    assert verify_password("un mot de passe solide", account.password_hash)


def test_a_password_in_clear_is_refused(tmp_path):
    path = tmp_path / "comptes.toml"
    path.write_text('[comptes.marie]\nmot_de_passe = "secret123"\n', encoding="utf-8")
    with pytest.raises(AccessError, match="jamais en clair"):
        load_accounts(path)


def test_the_gate_gives_local_accounts_their_profile(tmp_path):
    profiles = tmp_path / "profils.toml"
    profiles.write_text(PROFILES, encoding="utf-8")
    accounts = tmp_path / "comptes.toml"
    save_account(accounts, "marie", "un mot de passe solide", email="m@haute-garonne.gouv.fr")
    gate = Gate(
        AccessSettings(
            mode="comptes",
            profiles_file=profiles,
            accounts_file=accounts,
            audit_file=tmp_path / "audit.jsonl",
        )
    )
    assert gate.profile("marie", {"user": "marie"}).key == "ddets"
    assert gate.profile("inconnu", {"user": "inconnu"}) is None
    assert gate.authorize({"user": "marie"}, "/app")
    assert not gate.authorize({"user": "marie"}, "/journal")  # the admin's
    assert not gate.authorize({"user": "inconnu"}, "/app")
    refusals = [e for e in read_audit(tmp_path / "audit.jsonl") if e["evenement"] == "refus"]
    assert {e["chemin"] for e in refusals} == {"/journal", "/app"}
    # without sign-in configured: the one local profile
    assert Gate(AccessSettings()).profile(None, None) is LOCAL


# ---------------------------------------------------------------------- audit log
def test_the_audit_log_is_json_lines_with_rotation(tmp_path):
    path = tmp_path / "journal" / "audit.jsonl"
    from dashboards.access import audit_logger

    audit_logger(path, max_bytes=2000, backups=3)
    for i in range(60):
        audit(path, "page", utilisateur="marie", chemin="/app", filtres={"epci": f"{i}"})
    lines = path.read_text().splitlines()
    assert all(json.loads(line)["evenement"] == "page" for line in lines)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "audit.jsonl",
        "audit.jsonl.1",
        "audit.jsonl.2",
        "audit.jsonl.3",
    ]
    assert read_audit(path)[0]["filtres"] == {"epci": "59"}  # most recent first


# ---------------------------------------------------------------------- serving
def test_without_sign_in_the_product_serves_the_loopback_only():
    args, env = serve_options(AccessSettings(), "localhost", 5006, [])
    assert args[:3] == ["--session-ids", "signed", "--setup"] and len(env["BOKEH_SECRET_KEY"]) >= 32
    for address in ("0.0.0.0", "::"):
        with pytest.raises(AccessError, match="ne sert que cette machine"):
            serve_options(AccessSettings(), address, 5006, [])


def test_relog_serve_refuses_an_open_address_without_sign_in(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELOG_")}
    done = subprocess.run(
        [sys.executable, "-m", "relog", "serve", "--address", "0.0.0.0", "--port", "5999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and "ne sert que cette machine" in done.stderr


def test_sign_in_requires_a_cookie_secret_profiles_and_a_provider(tmp_path):
    profiles = tmp_path / "profils.toml"
    profiles.write_text(PROFILES, encoding="utf-8")
    secret = "s" * 40
    cases = [
        (AccessSettings(mode="oidc", profiles_file=profiles), "RELOG_COOKIE_SECRET"),
        (AccessSettings(mode="oidc", cookie_secret=secret), "RELOG_PROFILES_FILE"),
        (
            AccessSettings(mode="oidc", cookie_secret=secret, profiles_file=profiles),
            "RELOG_OIDC_ISSUER",
        ),
        (
            AccessSettings(
                mode="comptes",
                cookie_secret=secret,
                profiles_file=profiles,
                accounts_file=tmp_path / "absent.toml",
            ),
            "Aucun compte local",
        ),
    ]
    for settings, message in cases:
        with pytest.raises(AccessError, match=message):
            serve_options(settings, "0.0.0.0", 5006, [])
    args, env = serve_options(
        AccessSettings(
            mode="oidc",
            cookie_secret=secret,
            profiles_file=profiles,
            public_url="https://relog.example.fr",
            oidc_authorize_url="https://idp/auth",
            oidc_token_url="https://idp/token",
            oidc_userinfo_url="https://idp/userinfo",
            oidc_client_id="relog",
            oidc_client_secret="x",
        ),
        "0.0.0.0",
        5006,
        [],
    )
    assert args[args.index("--allow-websocket-origin") + 1] == "relog.example.fr"
    assert args[args.index("--oauth-redirect-uri") + 1] == "https://relog.example.fr/login"
    assert "--use-xheaders" in args and env["PANEL_OAUTH_TOKEN_URL"] == "https://idp/token"


# ---------------------------------------------------------------------- the scope is fixed
TARN_AGOUT = "200034023"


def test_a_profile_s_replica_cannot_be_widened(duckdb_replica, raw_tables):
    scoped = duckdb_replica.scoped(Scope(epci=[TARN_AGOUT]))
    assert scoped.engine is duckdb_replica.engine  # one engine per process
    filters = Filters(start="2025-01", end="2025-12")
    expected = oracle.monthly_rehousing(raw_tables, filters.replace(epci=[TARN_AGOUT]))
    got = scoped.monthly_rehousing(filters)
    assert got["relogements"].tolist() == expected["relogements"].tolist()
    for attempt in (
        lambda: setattr(scoped, "default_scope", Scope()),
        lambda: setattr(scoped, "scope", Scope()),
        lambda: setattr(scoped, "_scope", Scope()),
    ):
        with pytest.raises(AttributeError):
            attempt()
    # a call's scope narrows, never widens
    assert scoped.monthly_rehousing(filters, scope=Scope())["relogements"].sum() == sum(
        expected["relogements"]
    )
    with pytest.raises(FilterError, match="hors de votre périmètre"):
        scoped.monthly_rehousing(filters.replace(epci=["243100518"]))
    assert scoped.scoped(Scope()).scope == scoped.scope
    assert isinstance(scoped, Replica)


def test_a_scoped_state_offers_only_its_own_codes(duckdb_replica):
    from dashboards.state.rehousing import RehousingState

    state = RehousingState(duckdb_replica.scoped(Scope(bailleurs=[2])))
    assert list(state.param.bailleurs.objects.values()) == [2]
    notices = state.apply_query({"bailleurs": "5"})
    assert state.bailleurs == [] and "hors de votre périmètre" in notices[0]


@pytest.mark.parametrize("case", ["page", "admin", "no-profile", "data-error", "bug"])
def test_every_page_has_the_same_roots_in_the_same_places(monkeypatch, cached_replica, case):
    """``relog serve`` answers a page request with the HTML of an earlier session of the
    route (``--reuse-sessions warm``) and the browser places the new session's roots in it
    by their order: whoever opens the page and whatever happens, the template holds two
    roots in its header, one in its sidebar and two in its main area."""
    import dataclasses

    import panel as pn

    from dashboards import layout
    from data_access import RelogError

    profile = {
        "page": LOCAL,
        "admin": dataclasses.replace(LOCAL, kind="admin"),
        "no-profile": None,
    }.get(case, LOCAL)
    monkeypatch.setattr(layout.session, "profile", lambda: profile)
    monkeypatch.setattr(layout, "replica", lambda: cached_replica)

    def build(replica, protected):
        if case == "data-error":
            raise RelogError("Période inconnue.")
        if case == "bug":
            raise ZeroDivisionError
        return (lambda: pn.pane.Markdown("filtres")), pn.pane.Markdown("page")

    template = layout._template("app", "Titre", build)
    assert [len(template.header), len(template.sidebar), len(template.main)] == [2, 1, 2]
    assert isinstance(template.main[1], layout.workarounds.AccessibilityRepairs)
    if case == "page":  # outside a server the sidebar is built at once
        assert template.sidebar[0].objects[0].object == "filtres"
    banner, main = template.main[0].objects  # the replica's banner, hidden, then the page
    assert "relog-bandeau-base" in banner.css_classes and not banner.visible
    if case not in ("page", "admin"):
        assert isinstance(main, pn.pane.Alert)
