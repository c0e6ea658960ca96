"""Key figure cards: the period and its last month, each against a year earlier.

Rendered as one HTML block (one model update per filter change); every card carries its
definition as a tooltip (``title``) and an accessible description.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from dashboards.theme import fmt_change, fmt_int, fmt_pct, fmt_points
from data_access.formatting import month_label

CSS = """
.relog-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 12px; }
.relog-kpi { border: 1px solid #d5dae1; border-left: 5px solid #1D4E89; border-radius: 6px;
             padding: 10px 14px; background: #fff; cursor: help; }
.relog-kpi h3 { font-size: 0.95rem; margin: 0 0 4px 0; color: #2b3440; font-weight: 600; }
.relog-kpi .valeur { font-size: 2rem; font-weight: 700; color: #1D4E89; line-height: 1.1; }
.relog-kpi .ligne { font-size: 0.85rem; color: #3d4652; margin-top: 2px; }
.relog-kpi .evol { font-weight: 600; }
.relog-kpi.alerte { border-left-color: #B3261E; }
.relog-kpi.alerte .valeur { color: #B3261E; }
.relog-error { border: 1px solid #B3261E; background: #fdecea; color: #7a1a14; padding: 10px 14px; border-radius: 6px; }
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


def key_figure_html(figures: pd.DataFrame, target: float, definitions: dict[str, str]) -> str:
    """The cards for :meth:`Replica.rehousing_key_figures` output."""
    period, last = (figures.set_index("fenetre").loc[w] for w in ("periode", "dernier_mois"))
    last_month = month_label(last["fin"])
    evolution = definitions["evolution"]
    cards = [
        _card(
            "relogements_prioritaires",
            "Relogements de ménages prioritaires",
            fmt_int(period["relogements_prioritaires"]),
            [
                _evolution(period["evolution_prioritaires"]),
                f"{last_month} : <b>{fmt_int(last['relogements_prioritaires'])}</b> "
                f"({_evolution(last['evolution_prioritaires'])})",
            ],
            f"{definitions['prioritaires']} {definitions['relogements']} {evolution}",
        ),
        _card(
            "relogements",
            "Relogements (tous ménages)",
            fmt_int(period["relogements"]),
            [
                _evolution(period["evolution_relogements"]),
                f"{last_month} : <b>{fmt_int(last['relogements'])}</b> "
                f"({_evolution(last['evolution_relogements'])})",
            ],
            f"{definitions['relogements']} {evolution}",
        ),
        _card(
            "part_prioritaires",
            f"Part des ménages prioritaires (objectif {fmt_pct(target, 0)})",
            fmt_pct(period["part_prioritaires"]),
            [
                f'<span class="evol">{fmt_points(period["ecart_part"])}</span> sur un an'
                if pd.notna(period["ecart_part"])
                else "évolution sur un an non disponible",
                f"{last_month} : <b>{fmt_pct(last['part_prioritaires'])}</b>",
            ],
            f"{definitions['part']} Objectif : au moins {fmt_pct(target, 0)} des attributions "
            "(article L441-1 du CCH, contingents des réservataires).",
            alert=bool(
                pd.notna(period["part_prioritaires"]) and period["part_prioritaires"] < target
            ),
        ),
    ]
    return f'<div class="relog-kpis">{"".join(cards)}</div>'
