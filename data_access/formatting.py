"""French labels for months and dates (« janvier 2024 », « 22/11/2026 à 05:00 »).

Kept in ``data_access`` because exports and notebook helpers need them as much as the apps.
"""

from __future__ import annotations

from datetime import date, datetime

MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre"]
MOIS_COURTS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
               "sept.", "oct.", "nov.", "déc."]


def month_label(d: date, short: bool = False) -> str:
    """« janvier 2024 » (or « janv. 2024 » when ``short``)."""
    names = MOIS_COURTS if short else MOIS
    return f"{names[d.month - 1]} {d.year}"


def date_label(d: date | datetime) -> str:
    """« 22/11/2026 », with « à 05:00 » for a datetime."""
    text = f"{d.day:02d}/{d.month:02d}/{d.year}"
    if isinstance(d, datetime):
        text += f" à {d.hour:02d}:{d.minute:02d}"
    return text
