"""Key figure cards: the period and its last month, each against a year earlier.

Rendered as one HTML block (one model update per filter change); every card carries its
definition as a tooltip (``title``) and an accessible description.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from dashboards.theme import fmt_change, fmt_pct, fmt_points
from data_access.formatting import month_label
from data_access.indicators import INDICATORS, definitions

CSS = """
.relog-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr));
  gap: 12px; }
.relog-kpi { border: 1px solid #d5dae1; border-left: 5px solid #1D4E89; border-radius: 6px;
             padding: 10px 14px; background: #fff; cursor: help; }
.relog-kpi h3 { font-size: 0.95rem; margin: 0 0 4px 0; color: #2b3440; font-weight: 600; }
.relog-kpi .valeur { font-size: 2rem; font-weight: 700; color: #1D4E89; line-height: 1.1; }
.relog-kpi .ligne { font-size: 0.85rem; color: #3d4652; margin-top: 2px; }
.relog-kpi .evol { font-weight: 600; }
.relog-kpi.alerte { border-left-color: #B3261E; }
.relog-kpi.alerte .valeur { color: #B3261E; }
.relog-empty { border: 1px solid #9fb3c8; background: #f1f5f9; color: #1b2733;
               padding: 10px 14px; border-radius: 6px; margin-bottom: 10px; }
.relog-error { border: 1px solid #B3261E; background: #fdecea; color: #7a1a14;
  padding: 10px 14px; border-radius: 6px; }
"""


def _card(
    key: str, title: str, value: str, lines: list[str], definition: str, alert: bool = False
) -> str:
    body = "".join(f'<div class="ligne">{line}</div>' for line in lines)
    css = "relog-kpi alerte" if alert else "relog-kpi"
    return (
        f'<div class="{css}" data-kpi="{key}" title="{escape(definition)}" tabindex="0" '
        f'aria-description="{escape(definition)}"><h3>{escape(title)}</h3>'
        f'<div class="valeur" data-valeur="{key}">{value}</div>{body}</div>'
    )


def _evolution(change: float, what: str = "sur un an") -> str:
    if pd.isna(change):
        return "évolution sur un an non disponible"
    return f'<span class="evol">{fmt_change(change)}</span> {what}'


def key_figure_html(figures: pd.DataFrame, target: float) -> str:
    """The cards for :meth:`Replica.rehousing_key_figures` output; titles and definitions
    are the registry's."""
    period, last = (figures.set_index("fenetre").loc[w] for w in ("periode", "dernier_mois"))
    last_month = month_label(last["fin"])
    criteria = "part_criteres" in figures.columns  # a criteria filter: the group's share
    group, leases, part = (
        INDICATORS[c]
        for c in (
            ("relogements_criteres", "relogements_tous_menages", "part_criteres")
            if criteria
            else ("relogements_prioritaires", "relogements", "part_prioritaires")
        )
    )
    leases_change = "evolution_tous_menages" if criteria else "evolution_relogements"
    part_change = "ecart_part_criteres" if criteria else "ecart_part"
    target_text = "" if criteria else f" (objectif {fmt_pct(target, 0)})"
    cards = [
        _card(
            group.code,
            group.label,
            group.format(period[group.code]),
            [
                _evolution(period["evolution_prioritaires"]),
                f"{last_month} : <b>{group.format(last[group.code])}</b> "
                f"({_evolution(last['evolution_prioritaires'])})",
            ],
            " ".join(definitions([group.code, "evolution_prioritaires"])),
        ),
        _card(
            leases.code,
            leases.label,
            leases.format(period[leases.code]),
            [
                _evolution(period[leases_change]),
                f"{last_month} : <b>{leases.format(last[leases.code])}</b> "
                f"({_evolution(last[leases_change])})",
            ],
            " ".join(definitions([leases.code, leases_change])),
        ),
        _card(
            part.code,
            f"{part.label}{target_text}",
            part.format(period[part.code]),
            [
                f'<span class="evol">{fmt_points(period[part_change])}</span> sur un an'
                if pd.notna(period[part_change])
                else "évolution sur un an non disponible",
                f"{last_month} : <b>{part.format(last[part.code])}</b>",
            ],
            " ".join(definitions([part.code] if criteria else [part.code, "objectif_part"])),
            alert=not criteria and bool(pd.notna(period[part.code]) and period[part.code] < target),
        ),
    ]
    return f'{_empty_state(period)}<div class="relog-kpis">{"".join(cards)}</div>'


def _empty_state(period) -> str:
    """The message of a period without any rehousing, with the year before for scale."""
    if period["relogements"] > 0:
        return ""
    before = period["relogements_an_dernier"]
    earlier = (
        f" ({INDICATORS['relogements'].format(before)} sur les mêmes mois un an plus tôt)"
        if pd.notna(before)
        else ""
    )
    return (
        '<div class="relog-empty" role="status"><strong>Aucun relogement</strong> sur la '
        f"période pour ces filtres{earlier}. Élargissez la période ou retirez un filtre.</div>"
    )


#: Why a protected profile sees no change on a year.
NO_CHANGE = "évolution sur un an non publiée (secret statistique)"


def protected_key_figure_html(figures: pd.DataFrame, target: float) -> str:
    """The cards of a protected profile (:meth:`RehousingState.protected_key_figures`):
    the year's figures, masked ones as their marks, the last month's when published."""
    rows = figures.set_index("fenetre")
    period = rows.loc["periode"]
    last = rows.loc["dernier_mois"] if "dernier_mois" in rows.index else None
    cards = []
    for code, extra in (
        ("relogements_prioritaires", []),
        ("relogements", []),
        ("part_prioritaires", ["objectif_part"]),
    ):
        indicator = INDICATORS[code]
        lines = [NO_CHANGE]
        if last is not None:
            lines.append(f"{month_label(last['fin'])} : <b>{indicator.format(last[code])}</b>")
        value = period[code]
        share = code == "part_prioritaires"
        cards.append(
            _card(
                code,
                f"{indicator.label} (objectif {fmt_pct(target, 0)})" if share else indicator.label,
                escape(indicator.format(value)),
                lines,
                " ".join(definitions([code, *extra])),
                alert=share and isinstance(value, float) and pd.notna(value) and value < target,
            )
        )
    return f'<div class="relog-kpis">{"".join(cards)}</div>'


def state_key_figures_html(state) -> str:
    """A rehousing state's key figures block (protected or exact, as its profile reads
    them); a data error becomes its French message. The page and the notebook piece draw
    this one."""
    from html import escape

    from data_access import RelogError

    try:
        target = state.replica.settings.priority_share_target
        if state.protected:
            return protected_key_figure_html(state.key_figures(), target)
        return key_figure_html(state.key_figures(), target)
    except RelogError as err:
        return f'<div class="relog-error" role="alert">{escape(str(err))}</div>'
