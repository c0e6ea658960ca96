"""Routes served by ``relog serve`` (``panel serve dashboards/app.py``): the monthly
rehousing page. One Replica (engine, pool, caches) per process, shared by every session."""

from __future__ import annotations

import logging

import panel as pn

from dashboards.pages.rehousing import TITLE, RehousingPage
from dashboards.state.rehousing import RehousingState
from data_access import RelogError, connect

log = logging.getLogger("relog.dashboards")

pn.extension("tabulator", design="bootstrap", notifications=True, loading_indicator=True,
             sizing_mode="stretch_width")


def rehousing_page() -> pn.template.BaseTemplate:
    template = pn.template.BootstrapTemplate(title=TITLE, sidebar_width=340, header_background="#1D4E89")
    try:
        replica = pn.state.as_cached("relog-replica", connect)
        page = RehousingPage(RehousingState(replica))
        if pn.state.location is not None:
            page.restore(pn.state.location.search or "")
    except RelogError as err:
        template.main.append(pn.pane.Alert(str(err), alert_type="danger"))
        return template
    except Exception:   # a bug: logged with its traceback; the user reads French
        log.exception("Erreur à l'ouverture de la page des relogements")
        template.main.append(pn.pane.Alert("Une erreur inattendue empêche d'ouvrir la page ; elle a été consignée "
                                           "dans le journal du serveur.", alert_type="danger"))
        return template
    template.sidebar.append(page.sidebar())
    template.main.append(page)
    return template


rehousing_page().servable()
