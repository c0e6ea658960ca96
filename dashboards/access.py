"""Who may open the dashboards, and what each one sees: profiles, local accounts, audit log.

Sign-in itself is Panel's (``panel serve`` OAuth with a generic OpenID Connect provider, or
its login page checked against the local accounts file); ``relog serve`` passes it the
options (:func:`panel_options`). This module turns a signed-in user into a
:class:`Profile`, a :class:`~data_access.filters.Scope` applied in SQL and fixed for the
session (:meth:`Replica.scoped`), and writes what users do to the audit log.

Nothing here imports Panel: the profiles, the accounts and the log are tested alone.

**Profiles file** (TOML, ``RELOG_PROFILES_FILE``)::

    [profils.ddets]
    libelle = "DDETS de la Haute-Garonne"
    type = "ddets"
    domaines = ["haute-garonne.gouv.fr"]     # e-mail domain of the user
    groupes = ["relog-ddets"]                # OIDC « groups » claim

    [profils.promologis]
    type = "bailleur"
    bailleurs = [2]                          # the scope: codes of the replica
    utilisateurs = ["j.martin@promologis.fr"]

A user is matched by name or e-mail (``utilisateurs``) first, then by group, then by e-mail
domain; at each level the first match in file order decides only if it is the only one
(two profiles claiming the same user at the same level deny access, lest the file's order
grant the wider one). No match: « accès non autorisé » and nothing else (default deny).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
import secrets
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from data_access import RelogError, Scope

log = logging.getLogger("relog.dashboards")

#: Profile types → (French name, which scope axis it requires, exact figures by default).
KINDS: dict[str, tuple[str, str | None, bool]] = {
    "ddets": ("DDETS", None, True),
    "cd": ("Conseil départemental", None, True),
    "analyste": ("Analyste", None, True),
    "admin": ("Administrateur", None, True),
    "epci": ("EPCI", "epci", False),
    "commune": ("Commune", "communes", False),
    "reservataire": ("Réservataire", "reservataires", False),
    "bailleur": ("Bailleur", "bailleurs", False),
}
_RULES = ("utilisateurs", "groupes", "domaines")
_KEYS = {"libelle", "type", "secret", *_RULES, *Scope.AXES}


class AccessError(RelogError):
    """A profiles or accounts file that cannot be used (French message)."""


@dataclass(frozen=True)
class Profile:
    """What a signed-in user sees: a scope, and exact or protected figures."""

    key: str
    label: str
    kind: str
    scope: Scope
    #: Exact figures (DDETS, CD, analysts by default) or statistical secrecy applied.
    exact: bool
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @property
    def admin(self) -> bool:
        """May read the audit log and Panel's administration page."""
        return self.kind == "admin"


#: The one profile when no sign-in is configured: a single user on this machine (the
#: server then listens on the loopback only), seeing the whole department exactly.
LOCAL = Profile(
    key="local",
    label="Utilisateur local (sans authentification)",
    kind="ddets",
    scope=Scope.departement(),
    exact=True,
)


@dataclass(frozen=True)
class Identity:
    """A signed-in user as the sign-in gives it: a name, an e-mail, groups."""

    name: str
    email: str | None = None
    groups: frozenset[str] = frozenset()

    @classmethod
    def from_claims(
        cls, name: str | None, claims: dict[str, Any] | None, groups_claim: str = "groups"
    ) -> Identity | None:
        """From Panel's ``pn.state.user`` and ``pn.state.user_info`` (the OIDC claims, or
        the local account's record). ``None`` when nobody is signed in."""
        claims = claims or {}
        email = claims.get("email")
        name = name or claims.get("preferred_username") or email or claims.get("sub")
        if not name:
            return None
        raw = claims.get(groups_claim) or []
        if isinstance(raw, str):
            raw = [raw]
        return cls(
            name=str(name).strip().lower(),
            email=str(email).strip().lower() if email else None,
            groups=frozenset(str(g) for g in raw),
        )


@dataclass(frozen=True)
class Profiles:
    """The profiles file, read and checked."""

    profiles: tuple[Profile, ...]
    source: str = ""

    def resolve(self, identity: Identity | None) -> tuple[Profile | None, str]:
        """The user's profile, or ``None`` and why (for the audit log, never shown)."""
        if identity is None:
            return None, "non connecté"
        names = {identity.name, *([identity.email] if identity.email else [])}
        domain = identity.email.rpartition("@")[2] if identity.email else None
        levels = (
            ("utilisateur", lambda p: bool(p.users & names)),
            ("groupe", lambda p: bool(p.groups & identity.groups)),
            ("domaine", lambda p: domain is not None and domain in p.domains),
        )
        for level, matches in levels:
            found = [p for p in self.profiles if matches(p)]
            if len(found) == 1:
                return found[0], f"par {level}"
            if len(found) > 1:
                keys = ", ".join(p.key for p in found)
                return None, f"plusieurs profils par {level} : {keys}"
        return None, "aucun profil"

    def check(self, replica) -> list[str]:
        """The codes of each profile's scope that the replica does not know (French)."""
        problems = []
        for profile in self.profiles:
            scope = profile.scope
            for axis, level in (
                ("epci", "epci"),
                ("communes", "commune"),
                ("reservataires", "reservataire"),
                ("bailleurs", "bailleur"),
            ):
                codes = getattr(scope, axis)
                if codes is None:
                    continue
                known = set(replica.reference(level).index)
                unknown = [str(c) for c in codes if c not in known]
                if unknown:
                    problems.append(
                        f"Profil « {profile.key} » : {axis} inconnus de la réplique : "
                        f"{', '.join(unknown)}."
                    )
        return problems


def load_profiles(path: str | Path) -> Profiles:
    """Read a profiles file; any mistake is a French :class:`AccessError` naming it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccessError(f"Fichier des profils introuvable : {path.name}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise AccessError(f"Fichier des profils illisible ({path.name}) : {err}.") from None
    unknown_top = set(data) - {"profils"}
    if unknown_top:
        raise AccessError(
            f"{path.name} : section inconnue {', '.join(sorted(unknown_top))} "
            "(attendu : [profils.<nom>])."
        )
    entries = data.get("profils")
    if not isinstance(entries, dict) or not entries:
        raise AccessError(f"Le fichier {path.name} ne déclare aucun profil ([profils.<nom>]).")
    profiles = [_profile(key, entry, path.name) for key, entry in entries.items()]
    claimed: dict[str, str] = {}
    for profile in profiles:
        for user in profile.users:
            if user in claimed:
                raise AccessError(
                    f"{path.name} : l'utilisateur {user} est dans deux profils "
                    f"({claimed[user]}, {profile.key})."
                )
            claimed[user] = profile.key
    return Profiles(tuple(profiles), source=path.name)


def _profile(key: str, entry: Any, source: str) -> Profile:
    where = f"{source}, profil « {key} »"
    if not isinstance(entry, dict):
        raise AccessError(f"{where} : une table est attendue.")
    unknown = set(entry) - _KEYS
    if unknown:
        raise AccessError(
            f"{where} : clé inconnue {', '.join(sorted(unknown))} "
            f"(clés possibles : {', '.join(sorted(_KEYS))})."
        )
    kind = entry.get("type")
    if kind not in KINDS:
        raise AccessError(f"{where} : type {kind!r} inconnu (types : {', '.join(KINDS)}).")
    label, required, exact_default = KINDS[kind]
    axes = {}
    for axis in Scope.AXES:
        if axis in entry:
            value = entry[axis]
            if not isinstance(value, list) or not value:
                raise AccessError(f"{where} : « {axis} » doit être une liste non vide de codes.")
            axes[axis] = value
    if required and required not in axes:
        raise AccessError(f"{where} : un profil {kind} doit donner « {required} » (son périmètre).")
    if not required and axes:
        raise AccessError(
            f"{where} : un profil {kind} voit tout le département ; retirez "
            f"{', '.join(sorted(axes))}."
        )
    secret = entry.get("secret", "exact" if exact_default else "protege")
    if secret not in ("exact", "protege"):
        raise AccessError(f"{where} : « secret » vaut « exact » ou « protege ».")
    rules = {}
    for rule in _RULES:
        value = entry.get(rule, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AccessError(f"{where} : « {rule} » doit être une liste de textes.")
        rules[rule] = frozenset(
            v.strip() if rule == "groupes" else v.strip().lower().lstrip("@") for v in value
        )
    if not any(rules.values()):
        raise AccessError(f"{where} : aucune règle (utilisateurs, groupes ou domaines).")
    try:
        scope = Scope(**axes, label=entry.get("libelle") or label) if axes else Scope.departement()
    except (TypeError, ValueError) as err:
        raise AccessError(f"{where} : codes invalides ({err}).") from None
    return Profile(
        key=key,
        label=str(entry.get("libelle") or label),
        kind=kind,
        scope=scope,
        exact=secret == "exact",
        users=rules["utilisateurs"],
        groups=rules["groupes"],
        domains=rules["domaines"],
    )


# ---------------------------------------------------------------------- local accounts
#: scrypt's cost (RFC 7914): 2**15 × 8 × 128 bytes = 32 MiB and ≈ 0.1 s per check.
_SCRYPT = {"n": 2**15, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024}


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64): what the accounts file stores, never the password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return (
        f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}$"
        f"{b64(salt).decode()}${b64(digest).decode()}"
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (:func:`hash_password`), in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT["maxmem"],
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    email: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)


def load_accounts(path: str | Path) -> dict[str, Account]:
    """The local accounts file (TOML)::

        [comptes."marie.dupont"]
        mot_de_passe = "scrypt$32768$8$1$…"     # relog compte ajouter marie.dupont
        courriel = "marie.dupont@haute-garonne.gouv.fr"
        groupes = ["relog-ddets"]

    A password in clear is refused: only :func:`hash_password`'s form is accepted."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise AccessError(f"Fichier des comptes illisible ({path.name}) : {err}.") from None
    accounts = {}
    for name, entry in (data.get("comptes") or {}).items():
        stored = entry.get("mot_de_passe", "") if isinstance(entry, dict) else ""
        if not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise AccessError(
                f"{path.name}, compte « {name} » : le mot de passe doit être enregistré haché "
                "(« relog compte ajouter »), jamais en clair."
            )
        accounts[name.strip().lower()] = Account(
            name=name.strip().lower(),
            password_hash=stored,
            email=(entry.get("courriel") or None),
            groups=frozenset(entry.get("groupes") or []),
        )
    return accounts


def save_account(path: str | Path, name: str, password: str, email: str | None = None) -> None:
    """Add or replace account ``name`` in the accounts file, its password hashed."""
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    accounts = data.setdefault("comptes", {})
    entry = {"mot_de_passe": hash_password(password)}
    if email:
        entry["courriel"] = email
    previous = accounts.get(name) or {}
    if previous.get("groupes"):
        entry["groupes"] = previous["groupes"]
    accounts[name] = entry
    lines = []
    for account, values in accounts.items():
        lines.append(f"[comptes.{json.dumps(account)}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# ---------------------------------------------------------------------- audit log
_AUDIT_LOCK = threading.Lock()
_AUDIT: dict[Path, logging.Logger] = {}


def audit_logger(path: str | Path, max_bytes: int = 10_000_000, backups: int = 10):
    """The audit log at ``path``: JSON lines, rotated at ``max_bytes`` (``backups`` kept)."""
    path = Path(path)
    with _AUDIT_LOCK:
        logger = _AUDIT.get(path)
        if logger is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            logger = logging.getLogger(f"relog.audit.{len(_AUDIT)}")
            logger.propagate = False
            logger.setLevel(logging.INFO)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            _AUDIT[path] = logger
    return logger


def audit(path: str | Path, event: str, **fields: Any) -> None:
    """One line of the audit log: when, what, who, and the event's fields (route, filters
    as codes, table and format of an export, reason of a refusal; never a figure)."""
    record = {"horodatage": datetime.now(UTC).isoformat(timespec="seconds"), "evenement": event}
    record.update({k: v for k, v in fields.items() if v is not None})
    audit_logger(path).info(json.dumps(record, ensure_ascii=False, default=str))


def read_audit(path: str | Path, last: int = 500) -> list[dict[str, Any]]:
    """The ``last`` lines of the audit log (current file), most recent first."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-last:]
    out = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


# ---------------------------------------------------------------------- settings and serving
@dataclass(frozen=True)
class AccessSettings:
    """How ``relog serve`` lets users in (``RELOG_*`` environment variables)."""

    #: ``""`` (no sign-in: one user, this machine only), ``"comptes"`` (the local accounts
    #: file) or ``"oidc"`` (an OpenID Connect provider: ProConnect, Keycloak…).
    mode: str = ""
    profiles_file: Path | None = None
    accounts_file: Path | None = None
    #: Signs the session cookies and Bokeh's session ids; required with sign-in, the same
    #: for every process behind one address.
    cookie_secret: str | None = None
    #: A sign-in lasts this long; then the user signs in again.
    session_hours: float = 10.0
    audit_file: Path | None = None
    #: The address users type (``https://relog.example.fr``), behind a reverse proxy: the
    #: OIDC redirect URI and the only websocket origin accepted.
    public_url: str | None = None
    oidc_issuer: str | None = None
    oidc_authorize_url: str | None = None
    oidc_token_url: str | None = None
    oidc_userinfo_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid,email,profile"
    #: The claim that names the user (in the id_token), and the one listing their groups.
    oidc_user_claim: str = "email"
    oidc_groups_claim: str = "groups"

    @property
    def enabled(self) -> bool:
        return bool(self.mode)


def load_access_settings(environ: dict[str, str] | None = None) -> AccessSettings:
    from data_access.settings import default_data_dir

    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    mode = (get("RELOG_AUTH") or "").lower()
    if mode not in ("", "comptes", "oidc"):
        raise AccessError(f"RELOG_AUTH vaut « comptes » ou « oidc » (reçu : {mode!r}).")
    data = default_data_dir()
    try:
        hours = float((get("RELOG_SESSION_HOURS") or "10").replace(",", "."))
    except ValueError:
        raise AccessError("RELOG_SESSION_HOURS doit être un nombre d'heures.") from None
    return AccessSettings(
        mode=mode,
        profiles_file=Path(get("RELOG_PROFILES_FILE")) if get("RELOG_PROFILES_FILE") else None,
        accounts_file=Path(get("RELOG_ACCOUNTS_FILE") or data / "comptes.toml"),
        cookie_secret=get("RELOG_COOKIE_SECRET"),
        session_hours=hours,
        audit_file=Path(get("RELOG_AUDIT_FILE") or data / "journal" / "audit.jsonl"),
        public_url=(get("RELOG_PUBLIC_URL") or "").rstrip("/") or None,
        oidc_issuer=(get("RELOG_OIDC_ISSUER") or "").rstrip("/") or None,
        oidc_authorize_url=get("RELOG_OIDC_AUTHORIZE_URL"),
        oidc_token_url=get("RELOG_OIDC_TOKEN_URL"),
        oidc_userinfo_url=get("RELOG_OIDC_USERINFO_URL"),
        oidc_client_id=get("RELOG_OIDC_CLIENT_ID"),
        oidc_client_secret=get("RELOG_OIDC_CLIENT_SECRET"),
        oidc_scopes=get("RELOG_OIDC_SCOPES") or "openid,email,profile",
        oidc_user_claim=get("RELOG_OIDC_USER_CLAIM") or "email",
        oidc_groups_claim=get("RELOG_OIDC_GROUPS_CLAIM") or "groups",
    )


def _discover(issuer: str) -> dict[str, Any]:
    """The provider's ``/.well-known/openid-configuration`` (its endpoints)."""
    import urllib.request

    url = f"{issuer}/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as err:
        raise AccessError(
            f"Fournisseur d'identité injoignable ou invalide ({url}) : {err}."
        ) from None


def serve_options(
    settings: AccessSettings, address: str, port: int, origins: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The ``panel serve`` arguments and environment for ``settings``; a French
    :class:`AccessError` for a configuration that would open the product to anyone."""
    import ipaddress
    import socket

    setup = Path(__file__).with_name("server_setup.py")
    args: list[str] = ["--session-ids", "signed", "--setup", str(setup)]
    env: dict[str, str] = {}
    if not settings.enabled:
        try:
            loopback = all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(address, port)
            )
        except (OSError, ValueError):
            loopback = False
        if not loopback:
            raise AccessError(
                f"Sans authentification, relog ne sert que cette machine : l'adresse "
                f"« {address} » n'est pas locale. Configurez la connexion (RELOG_AUTH, "
                "voir le README) pour ouvrir les tableaux de bord à d'autres postes."
            )
        env["BOKEH_SECRET_KEY"] = settings.cookie_secret or secrets.token_urlsafe(32)
        return [*args, *_origins(origins)], env
    if not settings.cookie_secret or len(settings.cookie_secret) < 32:
        raise AccessError(
            "Avec la connexion, RELOG_COOKIE_SECRET est obligatoire (32 caractères au moins, "
            "par exemple : python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    if settings.profiles_file is None:
        raise AccessError(
            "Avec la connexion, RELOG_PROFILES_FILE (le fichier des profils) est obligatoire."
        )
    load_profiles(settings.profiles_file)  # refuse to start on a wrong file
    env["BOKEH_SECRET_KEY"] = settings.cookie_secret
    args += [
        "--cookie-secret",
        settings.cookie_secret,
        "--oauth-expiry-days",
        f"{settings.session_hours / 24:.6f}",
        "--auth-template",
        str(TEMPLATES / "refus.html"),
        "--logout-template",
        str(TEMPLATES / "deconnexion.html"),
        "--admin",
    ]
    public = settings.public_url or f"http://{address}:{port}"
    if settings.public_url:
        args.append("--use-xheaders")  # behind the reverse proxy: the client's address
    if not origins:
        from urllib.parse import urlsplit

        origins = [urlsplit(public).netloc]
    args += _origins(origins)
    if settings.mode == "comptes":
        if settings.accounts_file is None or not load_accounts(settings.accounts_file):
            raise AccessError(
                "Aucun compte local : créez-en un avec « relog compte ajouter <nom> »."
            )
        args += ["--auth-module", str(Path(__file__).with_name("auth_local.py"))]
        return args, env
    # OpenID Connect: Panel's generic OAuth provider, authorization-code flow
    endpoints = {
        "authorization_endpoint": settings.oidc_authorize_url,
        "token_endpoint": settings.oidc_token_url,
        "userinfo_endpoint": settings.oidc_userinfo_url,
    }
    if not all(endpoints.values()):
        if not settings.oidc_issuer:
            raise AccessError(
                "Avec RELOG_AUTH=oidc, donnez RELOG_OIDC_ISSUER (découverte des adresses du "
                "fournisseur) ou ses trois adresses RELOG_OIDC_AUTHORIZE_URL, _TOKEN_URL, "
                "_USERINFO_URL."
            )
        found = _discover(settings.oidc_issuer)
        endpoints = {k: v or found.get(k) for k, v in endpoints.items()}
    if not (settings.oidc_client_id and settings.oidc_client_secret):
        raise AccessError(
            "Avec RELOG_AUTH=oidc, RELOG_OIDC_CLIENT_ID et RELOG_OIDC_CLIENT_SECRET sont "
            "obligatoires (le client déclaré chez le fournisseur d'identité)."
        )
    env.update(
        PANEL_OAUTH_AUTHORIZE_URL=endpoints["authorization_endpoint"],
        PANEL_OAUTH_TOKEN_URL=endpoints["token_endpoint"],
        PANEL_OAUTH_USER_URL=endpoints["userinfo_endpoint"],
        PANEL_OAUTH_SCOPE=settings.oidc_scopes,
    )
    args += [
        "--oauth-provider",
        "generic",
        "--oauth-key",
        settings.oidc_client_id,
        "--oauth-secret",
        settings.oidc_client_secret,
        "--oauth-redirect-uri",
        f"{public}/login",
        "--oauth-jwt-user",
        settings.oidc_user_claim,
        "--oauth-error-template",
        str(TEMPLATES / "refus.html"),
    ]
    return args, env


def _origins(origins: list[str]) -> list[str]:
    return [arg for origin in origins for arg in ("--allow-websocket-origin", origin)]


TEMPLATES = Path(__file__).with_name("templates")


# ---------------------------------------------------------------------- the gate
class Gate:
    """Who may open what, for one server process: each page request goes through
    :meth:`authorize` (Panel's authorization callback), each session through
    :meth:`profile`."""

    #: Paths any signed-in user may open (Panel's own, static files) besides the pages.
    PAGES = ("/app", "/carte", "/journal", "/")

    def __init__(self, settings: AccessSettings):
        self.settings = settings
        self.profiles = load_profiles(settings.profiles_file) if settings.enabled else None
        self._accounts: tuple[float, dict[str, Account]] | None = None
        self._seen: set[tuple] = set()
        self._lock = threading.Lock()

    def accounts(self) -> dict[str, Account]:
        """The local accounts file, read again when it changes."""
        path = self.settings.accounts_file
        if self.settings.mode != "comptes" or path is None or not path.exists():
            return {}
        mtime = path.stat().st_mtime
        if self._accounts is None or self._accounts[0] != mtime:
            self._accounts = (mtime, load_accounts(path))
        return self._accounts[1]

    def identity(self, user: str | None, claims: dict[str, Any] | None) -> Identity | None:
        claims = dict(claims or {})
        if self.settings.mode == "comptes":
            name = (user or claims.get("user") or "").strip().lower()
            account = self.accounts().get(name)
            if account is None:
                return None
            return Identity(name=name, email=account.email, groups=account.groups)
        name = user or claims.get(self.settings.oidc_user_claim)
        return Identity.from_claims(name, claims, self.settings.oidc_groups_claim)

    def profile(self, user: str | None, claims: dict[str, Any] | None) -> Profile | None:
        """The session's profile (:data:`LOCAL` without sign-in); ``None``: no access."""
        if not self.settings.enabled:
            return LOCAL
        found, _ = self.profiles.resolve(self.identity(user, claims))
        return found

    def authorize(self, user_info: dict[str, Any] | None, path: str) -> bool:
        """Panel's authorization callback: a known profile opens the pages; the audit log
        page and Panel's administration page are the admin profile's only."""
        identity = self.identity(None, user_info)
        profile, why = self.profiles.resolve(identity)
        name = identity.name if identity else None
        if profile is None:
            self.audit("refus", utilisateur=name, chemin=path, motif=why)
            return False
        if (path.startswith("/admin") or path.startswith("/journal")) and not profile.admin:
            self.audit("refus", utilisateur=name, profil=profile.key, chemin=path,
                       motif="réservé au profil administrateur")  # fmt: skip
            return False
        # a sign-in: the first request of a new token (its issue time) in this process
        issued = (user_info or {}).get("iat") or (user_info or {}).get("auth_time")
        key = (name, issued)
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
        if first and self.settings.mode == "oidc":  # local sign-ins are logged by auth_local
            self.audit("connexion", utilisateur=name, profil=profile.key, chemin=path)
        return True

    def audit(self, event: str, **fields: Any) -> None:
        if self.settings.audit_file is not None:
            audit(self.settings.audit_file, event, **fields)


_GATE: Gate | None = None


def gate() -> Gate:
    """The process's gate, built from the environment once."""
    global _GATE
    if _GATE is None:
        _GATE = Gate(load_access_settings())
    return _GATE
