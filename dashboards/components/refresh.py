"""A view refresh deferred to the next tick, sent to the browser as one message; its queries
awaited off the event loop; loading indicators only where a refresh is slow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial

import panel as pn

#: A refresh slower than this (seconds) shows the loading indicators: a quicker one would
#: only make the page flicker, and each indicator switched on and off costs the browser a
#: layout of the page (measured: about 0.3 s per filter change on the rehousing page,
#: bench/inbrowser.py).
SLOW_S = 0.3

#: Called as ``observer(page, seconds)`` after each refresh: the server's metrics register
#: one (:mod:`dashboards.monitoring`).
OBSERVERS: list[Callable[[str, float], None]] = []


def served() -> bool:
    """Whether this runs in a served Panel session (not a notebook, a test or a script)."""
    doc = pn.state.curdoc
    return bool(
        doc and doc.session_context and getattr(doc.session_context, "server_context", None)
    )


class NextTickRefresh:
    """Watcher that runs ``update`` on the next tick (the changes of one tick refresh once)
    and holds the document meanwhile, so that every model it changes reaches the browser in
    one message, laid out once.

    In a served session, ``prefetch()`` (if given) starts the questions ``update`` is about
    to ask on the replica's threads (:meth:`Replica.prefetch`) as soon as the change
    arrives, while the rest of it is handled, and the refresh awaits them before it draws:
    the event loop serves the other sessions meanwhile (a slow or hung replica costs this
    page its wait, never everyone's), and ``update`` then reads the answers from the cache.
    The ``busy`` views' loading indicators are shown when the answers take longer than
    ``slow_s``, or at once when the previous refresh did. ``busy`` is read at each call: a
    page may add views to it later. The wait ends after ``wait_s`` at most: ``update`` then
    shows each question's own outcome (the replica's deadline and French message)."""

    def __init__(
        self,
        update: Callable[[], None],
        busy: list[pn.viewable.Viewable],
        slow_s: float = SLOW_S,
        prefetch: Callable[[], list[Future]] | None = None,
        wait_s: float = 30.0,
    ):
        self.update = update
        self.busy = busy
        self.slow_s = slow_s
        self.prefetch = prefetch
        self.wait_s = wait_s
        #: How long the last refresh took (seconds).
        self.last_s = 0.0
        self._pending = False
        self._since = 0.0  # when the pending refresh was asked for
        self._questions: list[Future] = []  # its questions, started when asked for

    def __call__(self, *events) -> None:
        if self.last_s > self.slow_s:
            self._loading(True)
        ahead = self.prefetch is not None and served()
        if ahead:
            # the questions start now, while the rest of this change is handled (other
            # watchers, their messages): the replica's threads work meanwhile. A second
            # change in the same tick starts its own; the refresh awaits the last ones.
            self._questions = self._start_questions()
        if not self._pending:
            self._pending = True
            self._since = time.perf_counter()
            if ahead:
                pn.state.execute(self._run_after_answers, schedule=True)
            else:
                pn.state.execute(self._run, schedule=True)  # runs at once outside a server

    def _loading(self, on: bool) -> None:
        for view in self.busy:
            if view.loading != on:
                view.loading = on

    async def _run_after_answers(self) -> None:
        self._pending = False
        start = self._since
        waiting = [asyncio.wrap_future(f) for f in self._questions]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self.slow_s)
            if late:  # slow: say so while the rest arrives
                self._loading(True)
                await asyncio.wait(late, timeout=max(0.0, self.wait_s - self.slow_s))
        # drawn in a callback of its own, under the document's lock as any other: this
        # coroutine runs unlocked (it waits), and a model changed there would reach the
        # browser through one scheduled callback per change (+25 to +70 ms measured)
        pn.state.execute(partial(self._run, start, started=True), schedule=True)

    def _start_questions(self) -> list[Future]:
        """``prefetch()``'s futures; none without it or when it fails (a wrong filter, say:
        ``update`` shows it where it belongs)."""
        if self.prefetch is None:
            return []
        try:
            return self.prefetch()
        except Exception:
            return []

    def _run(self, start: float | None = None, started: bool = False) -> None:
        """``update()`` under one hold; its questions started first unless ``started``."""
        self._pending = False
        start = time.perf_counter() if start is None else start
        if not started:
            self._start_questions()
        try:
            with pn.io.hold():
                try:
                    self.update()
                finally:
                    self._loading(False)
        finally:
            self.last_s = time.perf_counter() - start
            page = type(getattr(self.update, "__self__", self)).__name__
            for observer in OBSERVERS:
                observer(page, self.last_s)
