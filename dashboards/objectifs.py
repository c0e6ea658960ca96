"""Route ``/objectifs`` of ``relog serve``: the plan follow-up page."""

from __future__ import annotations

import panel as pn

from dashboards.layout import serve_page
from dashboards.pages.plan import PlanPage
from dashboards.state.plan import PlanState
from data_access import RelogError
from data_access.plan import TITLE

pn.extension(loading_indicator=True, notifications=True, sizing_mode="stretch_width")


class Reserved(RelogError):
    """The page is not open to protected profiles."""


def build(replica, protected=False):
    if protected:
        # the plan's tables cross bailleurs and EPCI and count DALO households by seniority:
        # small counts throughout, which a protected profile cannot read
        raise Reserved(
            "Le suivi du plan est réservé aux profils qui lisent les chiffres exacts (DDETS, "
            "Conseil départemental, analystes) : ses tableaux croisent bailleurs et EPCI et "
            "comptent de petits effectifs. Les relogements de votre périmètre sont sur la page "
            "« Relogements mensuels »."
        )
    page = PlanPage(PlanState(replica))
    if pn.state.location is not None:
        page.restore(pn.state.location.search or "")
    return page.sidebar(), page


serve_page("objectifs", TITLE, build)
