"""The French banner of a replica that does not answer, and the page drawn again by itself
once it answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from zoneinfo import ZoneInfo

import panel as pn

from dashboards.components.refresh import served
from data_access.errors import RelogError

#: Seconds between two looks at the replica's health by an open page. Looking costs nothing
#: while the replica answers (the reads say how it went); while it does not, one read
#: (off the event loop) tries again at most every ``unreachable_retry_s``.
CHECK_S = 5.0

PARIS = ZoneInfo("Europe/Paris")

#: Dark text on pale amber: contrast 11:1 (RGAA 3.2).
BANNER_CSS = """
div[role="alert"] { background: #fff4ce; border: 1px solid #8a6d00; color: #3d3000;
  padding: 0.6em 1em; border-radius: 4px; }
"""


def _probe(replica) -> None:
    try:
        replica.freshness()
    except RelogError:  # still down: the banner stays
        pass


class ReplicaWatch:
    """A banner, hidden while the replica answers. When a read found it unreachable (a
    standby stopped, a network cut, a read past its deadline: ``replica.health``), the
    banner says so in French, without the server's host or port; once it answers again,
    the banner goes and ``recover()`` draws the page's figures again, without a reload or a
    filter change."""

    def __init__(self, replica, recover: Callable[[], None] | None = None, check_s=CHECK_S):
        self.replica = replica
        self.recover = recover
        self.banner = pn.pane.HTML(
            "",
            visible=False,
            css_classes=["relog-bandeau-base"],
            stylesheets=[BANNER_CSS],
            sizing_mode="stretch_width",
            margin=(5, 10),
        )
        self._down = False
        if served():
            pn.state.add_periodic_callback(self.check, period=int(check_s * 1000))

    async def check(self) -> None:
        health = self.replica.health
        if health.unreachable_since is not None:
            await asyncio.to_thread(_probe, self.replica)
        since = health.unreachable_since
        late = None if since is not None else self._lag_text()
        if late is not None:
            self.banner.object = f'<div role="alert">{late}</div>'
            self.banner.visible = True
        elif since is not None:
            self.banner.object = (
                '<div role="alert">La base de données des demandes ne répond pas depuis '
                f"{since.astimezone(PARIS):%H h %M} : les chiffres affichés peuvent être "
                "incomplets ou dater d'avant. Ils se mettront à jour d'eux-mêmes dès qu'elle "
                "répondra.</div>"
            )
            self.banner.visible = True
        else:
            self.banner.visible = False
            if self._down and self.recover is not None:
                self.recover()
        self._down = since is not None

    def _lag_text(self) -> str | None:
        """« Données en retard de 17 min … » when the standby's replay is behind by more
        than ``max_lag_s``; ``None`` otherwise. The data version is read on a thread when due
        (:meth:`Replica.live_freshness_cached`: the standby's, even while a summary
        answers): this never waits for the database."""
        try:
            fresh = self.replica.live_freshness_cached()
        except RelogError:
            return None
        lag = fresh.lag_s
        if lag is None or lag <= self.replica.settings.max_lag_s:
            return None
        amount = f"{int(lag // 60)} min" if lag >= 60 else f"{int(lag)} s"
        return (
            f"Données en retard de {amount} : la réplique n'a pas encore rejoué les dernières "
            "modifications du fichier partagé (dernière rejouée à "
            f"{fresh.replay.astimezone(PARIS):%H h %M}). Les chiffres se mettront à jour "
            "d'eux-mêmes."
        )
