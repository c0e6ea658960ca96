"""Run once per server process by ``panel serve --setup`` (``relog serve`` passes it):

- security headers on every response (:data:`SECURITY_HEADERS`): what the page may load and
  where from, no framing by another site, no referrer sent elsewhere;
- with sign-in on, every page request goes through the gate
  (:meth:`dashboards.access.Gate.authorize`), which refuses users without a profile
  (« accès non autorisé », HTTP 403) and keeps the audit log and Panel's administration page
  for the admin profile.
"""

import logging

import panel as pn
from tornado.web import RequestHandler

from dashboards.access import gate
from data_access import RelogError, connect

#: Bokeh and Panel need inline scripts (the document's JSON and its start-up call), ``eval``
#: (Panel compiles its components' scripts with ``new Function``: checked, pages break
#: without) and ``blob:`` (its JavaScript components are modules that es-module-shims fetches
#: from blobs); the rest comes from the server itself (no CDN: the users' networks are
#: closed), websocket included.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self' blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

_tornado_defaults = RequestHandler.set_default_headers


def _set_default_headers(self) -> None:
    _tornado_defaults(self)
    for name, value in SECURITY_HEADERS.items():
        self.set_header(name, value)


# Tornado sets every handler's default headers through this hook: the pages, Panel's login,
# logout and refusal pages, static files (Bokeh's autoload.js, for embedding in other sites,
# sets its own and is not used here)
RequestHandler.set_default_headers = _set_default_headers

if gate().settings.enabled:
    pn.config.authorize_callback = gate().authorize
    # a profile whose codes the replica does not know sees nothing: tell the administrator
    try:
        for problem in gate().profiles.check(connect()):
            logging.getLogger("relog.dashboards").warning(problem)
    except RelogError as err:  # the replica down at start: the pages will say it
        logging.getLogger("relog.dashboards").warning(str(err))
