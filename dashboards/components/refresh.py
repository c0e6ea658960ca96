"""A view refresh deferred to the next tick: loading indicators first, figures after."""

from __future__ import annotations

from collections.abc import Callable

import panel as pn


class NextTickRefresh:
    """Watcher that shows the ``busy`` views' loading indicators at once and runs ``update``
    on the next tick, once the indicators are on screen; the changes of one tick refresh once.
    ``busy`` is read at each call: a page may add views to it later."""

    def __init__(self, update: Callable[[], None], busy: list[pn.viewable.Viewable]):
        self.update = update
        self.busy = busy
        self._pending = False

    def __call__(self, *events) -> None:
        for view in self.busy:
            view.loading = True
        if not self._pending:
            self._pending = True
            pn.state.execute(self._run, schedule=True)  # runs at once outside a server

    def _run(self) -> None:
        self._pending = False
        try:
            self.update()
        finally:
            for view in self.busy:
                view.loading = False
