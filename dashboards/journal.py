"""Route ``/journal`` of ``relog serve`` with sign-in: the audit log, for the admin profile
only (the gate refuses it to every other profile before the page is built; the page checks
again)."""

from __future__ import annotations

import pandas as pd
import panel as pn

from dashboards import session
from dashboards.access import gate, read_audit
from dashboards.layout import serve_page

pn.extension("tabulator", sizing_mode="stretch_width")

TITLE = "Journal d'audit"
COLUMNS = {
    "horodatage": "Date et heure (UTC)",
    "evenement": "Événement",
    "utilisateur": "Utilisateur",
    "profil": "Profil",
    "chemin": "Page",
    "filtres": "Filtres",
    "tableau": "Tableau exporté",
    "format": "Format",
    "motif": "Motif",
    "adresse": "Adresse IP",
}


def build(_replica, _protected=False):
    found = session.profile()
    if found is None or not found.admin or gate().settings.audit_file is None:
        return pn.Column(), pn.pane.Alert(
            "Accès non autorisé : le journal d'audit est réservé au profil administrateur.",
            alert_type="danger",
        )
    rows = read_audit(gate().settings.audit_file)
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).fillna("")
    frame["filtres"] = frame["filtres"].map(
        lambda f: ", ".join(f"{k}={v}" for k, v in f.items()) if isinstance(f, dict) else f
    )
    table = pn.widgets.Tabulator(
        frame.rename(columns=COLUMNS),
        show_index=False,
        disabled=True,
        pagination="local",
        page_size=50,
        css_classes=["relog-journal"],
    )
    note = pn.pane.Markdown(
        f"Les {len(frame)} derniers événements, du plus récent au plus ancien : connexions, "
        "refus, pages ouvertes et filtres choisis, exports. Aucun chiffre ni donnée de ménage "
        f"n'y figure. Fichier : {gate().settings.audit_file.name} (rotation à 10 Mo, 10 "
        "fichiers gardés)."
    )
    return pn.Column(), pn.Column(pn.pane.Markdown(f"## {TITLE}"), note, table)


serve_page("journal", TITLE, build)
