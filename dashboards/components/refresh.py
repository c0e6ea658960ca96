"""A view refresh deferred to the next tick, sent to the browser as one message; loading
indicators only where a refresh is slow."""

from __future__ import annotations

import time
from collections.abc import Callable

import panel as pn

#: A refresh slower than this (seconds) shows the loading indicators before the next one: a
#: quicker one would only make the page flicker, and each indicator switched on and off
#: costs the browser a layout of the page (measured: about 0.3 s per filter change on the
#: rehousing page, bench/inbrowser.py).
SLOW_S = 0.3


class NextTickRefresh:
    """Watcher that runs ``update`` on the next tick (the changes of one tick refresh once)
    and holds the document meanwhile, so that every model it changes reaches the browser in
    one message, laid out once. When the previous refresh took longer than ``slow_s`` (a
    distant database, a national replica), the ``busy`` views' loading indicators are shown
    at once, before the figures are computed. ``busy`` is read at each call: a page may add
    views to it later."""

    def __init__(
        self, update: Callable[[], None], busy: list[pn.viewable.Viewable], slow_s: float = SLOW_S
    ):
        self.update = update
        self.busy = busy
        self.slow_s = slow_s
        #: How long the last refresh took (seconds).
        self.last_s = 0.0
        self._pending = False

    def __call__(self, *events) -> None:
        if self.last_s > self.slow_s:
            for view in self.busy:
                view.loading = True
        if not self._pending:
            self._pending = True
            pn.state.execute(self._run, schedule=True)  # runs at once outside a server

    def _run(self) -> None:
        self._pending = False
        start = time.perf_counter()
        try:
            with pn.io.hold():
                try:
                    self.update()
                finally:
                    for view in self.busy:
                        if view.loading:
                            view.loading = False
        finally:
            self.last_s = time.perf_counter() - start
