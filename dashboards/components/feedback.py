"""What a user sees when something goes wrong or needs saying: French alerts, never tracebacks."""

from __future__ import annotations

import functools
import logging

import panel as pn

from data_access import RelogError

log = logging.getLogger("relog.dashboards")


def guarded(render):
    """Wrap a view function: a data-access error becomes a French alert in its place."""
    @functools.wraps(render)
    def wrapper(*args, **kwargs):
        try:
            return render(*args, **kwargs)
        except RelogError as err:
            return pn.pane.Alert(str(err), alert_type="danger", sizing_mode="stretch_width")
        except Exception:  # a bug: logged with its traceback, the user gets a French message
            log.exception("Erreur d'affichage dans %s", render.__name__)
            return pn.pane.Alert("Une erreur inattendue empêche d'afficher cet élément ; elle a été "
                                 "consignée dans le journal du serveur.", alert_type="danger",
                                 sizing_mode="stretch_width")
    return wrapper


def notices(messages: list[str]) -> pn.viewable.Viewable:
    """The state's notices (ignored URL values…) as one dismissable-looking warning."""
    if not messages:
        return pn.Spacer(height=0)
    body = "\n".join(f"- {m}" for m in messages)
    return pn.pane.Alert(f"**À noter**\n\n{body}", alert_type="warning",
                         sizing_mode="stretch_width", css_classes=["relog-notices"])
