"""The address bar and the browser's back/forward buttons, kept in step with a page's state.

Panel's ``pn.state.location`` gives the query the page was opened with, and pushes a new
history entry when told to; but it does not hear the browser's back and forward buttons
(no ``popstate`` listener), and writing back the URL the browser has just restored would
add a duplicate entry and drop the forward history. This small component does both ends:
the server sets ``query`` → the browser pushes it (replaces it, for the first one); the
user goes back or forward → the browser sets ``query`` → the server restores the view.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import param

from dashboards.components.hidden import HiddenScripts


def encode(query: dict[str, str]) -> str:
    """« ?debut=2025-01&epci=243100518,200068641 » (commas kept readable)."""
    return "?" + urlencode(query, safe=",") if query else ""


def decode(search: str) -> dict[str, str]:
    """The query string's last value for each name."""
    return dict(parse_qsl(search.lstrip("?"), keep_blank_values=True))


class BrowserHistory(HiddenScripts):
    """Invisible: syncs ``query`` (« ?a=b », or empty) with the address bar."""

    query = param.String(default="", doc="Partie « ?… » de l'adresse de la page")

    _scripts = {
        "render": """
        if (state.pop) window.removeEventListener("popstate", state.pop)  // a second render
        const same = (a, b) =>
          new URLSearchParams(a).toString() === new URLSearchParams(b).toString()
        const url = (q) => window.location.pathname + q + window.location.hash
        if (state.first === undefined) state.first = true
        // Panel sends a ReactiveHTML's text HTML-escaped (« &amp; »): read as text
        const text = (html) => {
          const box = document.createElement("textarea")
          box.innerHTML = html
          return box.value
        }
        state.write = () => {
          const q = text(data.query)
          if (same(q, window.location.search)) { state.first = false; return }
          if (state.first) { window.history.replaceState({}, "", url(q)) }
            else { window.history.pushState({}, "", url(q)) }
          state.first = false
        }
        state.pop = () => { data.query = window.location.search }
        window.addEventListener("popstate", state.pop)
        state.write()
        """,
        "query": "state.write()",
        "remove": 'window.removeEventListener("popstate", state.pop)',
    }


def follow_state(state, params: list[str]) -> BrowserHistory:
    """A :class:`BrowserHistory` kept in step both ways with ``state`` (a page's
    ``FilterState``): a change of one of ``params`` writes the address; back or forward in
    the browser restores the view the address describes."""
    history = BrowserHistory(query=encode(state.to_query()))

    def write(*_) -> None:
        history.query = encode(state.to_query())

    def read(event) -> None:
        if decode(event.new) != state.to_query():
            state.apply_query(decode(event.new))

    # after the page's own watchers (precedence 0): a refresh starts its questions first
    state.param.watch(write, params, precedence=1)
    history.param.watch(read, "query")
    return history


def restore_state(state, history: BrowserHistory, search: str) -> None:
    """Open the view a shared link describes (its wrong values become the state's notices),
    and write the address as the view now is."""
    state.apply_query(decode(search))
    history.query = encode(state.to_query())
