"""Sign-in with the local accounts file: a Bokeh auth module (``panel serve --auth-module``,
which ``relog serve`` passes when ``RELOG_AUTH=comptes``).

Panel's own login handler and cookies (:class:`panel.auth.BasicLoginHandler`), with two
changes: the password is checked against the account's scrypt hash (the file never holds a
password in clear, :func:`dashboards.access.verify_password`), and the pages are French.
Each sign-in and each failed attempt goes to the audit log."""

from __future__ import annotations

import jinja2
import tornado.escape
from panel.auth import BasicLoginHandler
from panel.auth import LogoutHandler as PanelLogoutHandler
from panel.config import config

from dashboards.access import TEMPLATES, gate, hash_password, verify_password

# panel serve sets the cookies' lifetime from --oauth-expiry-days for OAuth providers only:
# the local sign-in lasts RELOG_SESSION_HOURS as well
config.oauth_expiry = gate().settings.session_hours / 24

#: Checked when the account does not exist, so that an unknown name costs the same time.
_UNKNOWN = hash_password("relog: compte inconnu")

_LOGIN = jinja2.Template((TEMPLATES / "connexion.html").read_text(encoding="utf-8"))
_CSS = (TEMPLATES / "_acces.css").read_text(encoding="utf-8")


class _FrenchLogin:
    def render(self, **context) -> str:
        return _LOGIN.render(css=_CSS, **context)


class LoginHandler(BasicLoginHandler):
    _login_template = _FrenchLogin()

    def _validate(self, username: str, password: str) -> bool:
        name = username.strip().lower()
        account = gate().accounts().get(name)
        ok = verify_password(password, account.password_hash if account else _UNKNOWN)
        ok = ok and account is not None
        profile = gate().profile(name, {"user": name}) if ok else None
        gate().audit(
            "connexion" if ok else "echec_connexion",
            utilisateur=name or None,
            profil=profile.key if profile else None,
            adresse=self.request.remote_ip,
        )
        return ok

    def post(self):
        username = self.get_argument("username", "")
        password = self.get_argument("password", "")
        if self._validate(username, password):
            self.set_current_user(username.strip().lower())
            self.redirect(_local(self.get_cookie("next_url", "/")))
        else:
            message = tornado.escape.url_escape("Identifiant ou mot de passe incorrect.")
            self.redirect(f"{self._login_endpoint}?error={message}")


def _local(url: str | None) -> str:
    """A path of this server only (never another site: no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


class LogoutHandler(PanelLogoutHandler):
    _logout_template = jinja2.Template((TEMPLATES / "deconnexion.html").read_text(encoding="utf-8"))


login_url = "/login"
logout_url = "/logout"


def get_user(request_handler) -> str | None:
    user = request_handler.get_secure_cookie("user", max_age_days=config.oauth_expiry)
    return user.decode() if user else None
