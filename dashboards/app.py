"""Route served by ``relog serve``: the landing page on the replica.

The monthly rehousing page (issue « tableau de bord mensuel ») replaces this landing page;
until then it shows the last twelve months' key figures, straight from ``data_access``.
"""

from __future__ import annotations

import panel as pn

from dashboards.theme import fmt_int, fmt_pct
from data_access import RelogError, connect

pn.extension(design="bootstrap")


def landing() -> pn.viewable.Viewable:
    try:
        # one Replica (engine, pool, caches) per process, shared by every session
        replica = pn.state.as_cached("relog-replica", connect)
        period = replica.default_period()
        series = replica.monthly_rehousing()
        freshness = replica.freshness_cached()
    except RelogError as err:
        return pn.pane.Alert(str(err), alert_type="danger")
    total, prio = int(series["relogements"].sum()), int(series["relogements_prioritaires"].sum())
    share = prio / total if total else float("nan")
    target = replica.settings.priority_share_target
    cards = pn.Row(
        pn.indicators.String(name="Relogements", value=fmt_int(total)),
        pn.indicators.String(name="dont ménages prioritaires", value=fmt_int(prio)),
        pn.indicators.String(name=f"Part prioritaire (objectif {fmt_pct(target, 0)})", value=fmt_pct(share)),
    )
    return pn.Column(
        pn.pane.Markdown(f"## Relogement des publics prioritaires\n\nPériode : {period} · {freshness}"),
        cards,
        pn.pane.Markdown("Un relogement est un bail signé, compté au mois de sa signature ; il est "
                         "prioritaire si le ménage détenait un critère de priorité (DALO, accord "
                         "collectif, article L441-1 du CCH) à la date de la décision de la CALEOL."),
    )


pn.template.BootstrapTemplate(title="Relogement des publics prioritaires", main=[landing()]).servable()
