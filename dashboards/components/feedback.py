"""What a user sees when something goes wrong or needs saying: French alerts, never tracebacks."""

from __future__ import annotations

from html import escape

import panel as pn

from data_access import RelogError

NOTICE_CSS = """
:host { width: 100%; }
.relog-notice-box { background: #fff3cd; border: 1px solid #ffe69c; color: #664d03;
                    border-radius: 6px; padding: 10px 14px; margin: 6px 10px;
                    font-size: 0.95rem; }
.relog-notice-box ul { margin: 4px 0 0 0; padding-left: 1.2em; }
"""

SUMMARY_CSS = """
:host { width: 100%; }
.relog-filter-summary { background: #eef3f9; border-left: 4px solid #1D4E89; color: #1b2733;
                        padding: 6px 12px; margin: 2px 10px 6px 10px; font-size: 0.95rem; }
@media print { .relog-filter-summary { background: none; border: 1px solid #000; } }
"""


def notices(messages: list[str]) -> pn.viewable.Viewable:
    """The state's notices (ignored URL values…) as one warning. The messages quote what a
    link held, i.e. anyone's text: they are escaped and shown as text, never as Markdown or HTML."""
    if not messages:
        return pn.Spacer(height=0)
    items = "".join(f"<li>{escape(m)}</li>" for m in messages)
    return pn.pane.HTML(
        '<div class="relog-notice-box" role="status"><strong>À noter</strong>'
        f"<ul>{items}</ul></div>",
        sizing_mode="stretch_width",
        css_classes=["relog-notices"],
        stylesheets=[NOTICE_CSS],
    )


def filter_summary_html(described: list[tuple[str, str]], scope: str) -> str:
    """The active filters in one line, from the replica's describer (names, not codes), and
    the profile's scope when it is not the whole territory: what a projected or printed page
    must say, the filter panel being hidden there."""
    if described:
        items = " ; ".join(
            f"{escape(label)} : <b>{escape(value)}</b>" for label, value in described
        )
        text = f"<strong>Filtres actifs</strong> — {items}"
    else:
        text = (
            "<strong>Aucun filtre</strong> : tous les réservataires, tout le territoire, tous "
            "les bailleurs et tous les ménages"
        )
    if scope and scope != "Tout le territoire":
        text += f" · Périmètre : <b>{escape(scope)}</b>"
    return f'<div class="relog-filter-summary" role="status" aria-live="polite">{text}</div>'


class FilterSummary:
    """The active-filter summary of a page, refreshed with it."""

    def __init__(self, state):
        self.state = state
        self.pane = pn.pane.HTML(
            self._html(),
            sizing_mode="stretch_width",
            css_classes=["relog-filter-summary-pane"],
            stylesheets=[SUMMARY_CSS],
        )

    def _html(self) -> str:
        try:
            return filter_summary_html(self.state.describe(), self.state.scope.label)
        except RelogError:  # a wrong filter: the page's own message says it
            return filter_summary_html([], self.state.scope.label)

    def refresh(self) -> None:
        self.pane.object = self._html()
