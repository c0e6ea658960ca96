"""Run once per server process by ``panel serve --setup`` (``relog serve`` passes it):

- security headers on every response (:data:`SECURITY_HEADERS`): what the page may load and
  where from, no framing by another site, no referrer sent elsewhere;
- a page address longer than :data:`MAX_QUERY` characters gets a French page (HTTP 414)
  instead of a blank one: the page's session token repeats the address, and a websocket
  request whose headers pass Tornado's 64 kB is refused without a word;
- a session's page is built on a thread of its own (:func:`_build_off_the_loop`), not on
  the event loop: a page whose questions wait for a slow or hung replica delays no one else
  (other sessions, ``/liveness``, pages served from the cache);
- with sign-in on, every page request goes through the gate
  (:meth:`dashboards.access.Gate.authorize`), which refuses users without a profile
  (« accès non autorisé », HTTP 403) and keeps the audit log and Panel's administration page
  for the admin profile.
"""

import asyncio
import contextvars
import logging
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from html import escape

import panel as pn
from bokeh.server.contexts import ApplicationContext
from bokeh.server.session import ServerSession
from panel.io.application import Application
from panel.io.server import DocHandler
from panel.io.state import state
from tornado.web import RequestHandler

from dashboards import monitoring
from dashboards.access import gate
from dashboards.state.filters import MAX_CODES
from data_access import RelogError, connect
from data_access.formatting import int_label

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

#: The longest query string a page accepts: a link with the MAX_CODES codes a filter may
#: list in each of its filters stays far below.
MAX_QUERY = 8000

TOO_LONG = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Adresse trop longue</title></head>
<body><main><h1>Adresse trop longue</h1>
<p>L'adresse de cette page compte {length} caractères après le « ? » (au plus {limit}) : elle
vient d'un lien abîmé ou fabriqué. Un filtre ne peut pas nommer plus de {codes} codes.</p>
<p><a href="{page}">Ouvrir la page sans ces filtres</a></p></main></body></html>
"""

_doc_prepare = DocHandler.prepare


#: The task serving the page request being answered (set before Panel builds a session).
_PAGE_TASK: contextvars.ContextVar = contextvars.ContextVar("relog_page_task", default=None)


async def _prepare(self) -> None:
    _PAGE_TASK.set(asyncio.current_task())
    query = self.request.query or ""
    if len(query) > MAX_QUERY:
        self.set_status(414)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            TOO_LONG.format(
                length=int_label(len(query)),
                limit=int_label(MAX_QUERY),
                codes=MAX_CODES,
                page=escape(self.request.path),
            )
        )
        return
    await _doc_prepare(self)


# before Bokeh reads the address (and Panel builds a session from it)
DocHandler.prepare = _prepare

#: One thread builds the sessions' pages, one after the other as the event loop did: Bokeh's
#: current-document patching is process-wide, two builds at once would share it.
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relog-session")
#: While the builder thread builds a page (pure Python: it holds the GIL), the event loop
#: serves the page's 3 MB of scripts, the websockets and /liveness in many small steps, each
#: waiting for the GIL up to Python's switch interval (5 ms by default): a browser got the
#: scripts a quarter of a second later (median of the last script's arrival: 598 → 273 ms,
#: 10 paired page openings). 1 ms: the loop takes its turn sooner, the build barely slows.
sys.setswitchinterval(0.001)
_built: weakref.WeakSet = weakref.WeakSet()
#: A page request answered with an earlier session's HTML (``--reuse-sessions warm``) has
#: its own session built ahead, before its browser connects; while this many are already
#: being built or built and waiting for a browser, it is not: a flood of requests that
#: never connect (link previews, scanners, a reload storm) then costs their HTML only
#: (their sessions would keep the builder busy, and the 2 cores, for every user), and a
#: real browser's session is built when it connects (Bokeh builds a missing session when
#: its websocket opens). A real browser connects within a second or so.
MAX_AHEAD = 2
_panel_on_session_created = Application.on_session_created
_panel_initialize_document = Application.initialize_document


async def _build_off_the_loop(self, session_context) -> None:
    """Bokeh awaits this hook, then builds the session's document on the event loop
    (``initialize_document``): the document is built here instead, on :data:`_BUILDER`,
    and handed back to the loop's thread; the loop serves everyone meanwhile. A failure here
    is logged by Bokeh and the document built on the loop as before."""
    await _panel_on_session_created(self, session_context)
    doc = session_context._document
    loop_thread = threading.get_ident()
    context = contextvars.copy_context()  # Panel's current document and request travel along
    await asyncio.get_running_loop().run_in_executor(
        _BUILDER, context.run, _panel_initialize_document, self, doc
    )
    state._thread_id_[doc] = loop_thread  # its callbacks run on the loop, as if built there
    _built.add(doc)
    monitoring.SESSIONS_BUILT.inc()


async def _create_session_if_needed(self, session_id, request=None, token=None):
    """Bokeh's, except for a session built ahead of its browser (the page request's task
    schedules it: another task) while :data:`MAX_AHEAD` builds wait: skipped."""
    page_task = _PAGE_TASK.get()
    ahead = page_task is not None and page_task is not asyncio.current_task()
    if ahead and session_id not in self._sessions:
        ahead_ids = self.__dict__.setdefault("_relog_ahead", set())  # this route's, by id
        # those Bokeh discarded unused are gone
        ahead_ids.intersection_update([*self._sessions, *self._pending_sessions])
        waiting = sum(  # being built (registered at once, below), or built and never opened
            1
            for sid in ahead_ids
            if sid in self._pending_sessions or not _opened(self._sessions[sid])
        )
        if waiting >= MAX_AHEAD:
            monitoring.SESSIONS_DEFERRED.inc()
            return None
        ahead_ids.add(session_id)
    return await _bokeh_create_session_if_needed(self, session_id, request, token)


def _opened(session: ServerSession) -> bool:
    """Whether a browser ever connected to ``session``: a page whose user left (its
    connection count back to 0) waits for no browser, and must not hold back the sessions
    built ahead for the next page requests (a user moving from page to page)."""
    return getattr(session, "_relog_opened", False)


def _subscribe(self, connection) -> None:
    self._relog_opened = True
    _bokeh_subscribe(self, connection)


def _initialize_document(self, doc) -> None:
    if doc in _built:
        _built.discard(doc)
        return
    _panel_initialize_document(self, doc)


_bokeh_create_session_if_needed = ApplicationContext.create_session_if_needed
_bokeh_subscribe = ServerSession.subscribe
ServerSession.subscribe = _subscribe
ApplicationContext.create_session_if_needed = _create_session_if_needed
Application.on_session_created = _build_off_the_loop
Application.initialize_document = _initialize_document

if gate().settings.enabled:
    pn.config.authorize_callback = gate().authorize
    # a profile whose codes the replica does not know sees nothing: tell the administrator
    try:
        for problem in gate().profiles.check(connect()):
            logging.getLogger("relog.dashboards").warning(problem)
    except RelogError as err:  # the replica down at start: the pages will say it
        logging.getLogger("relog.dashboards").warning(str(err))
