"""French labels for months, dates and numbers (« janvier 2024 », « 22/11/2026 à 05:00 »,
« 1 234 », « 27,4 % »).

Kept in ``data_access`` because exports and notebook helpers need them as much as the apps.
"""

from __future__ import annotations

import math
from datetime import date, datetime

NBSP = "\u202f"  # narrow no-break space, the French thousands separator

MOIS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
MOIS_COURTS = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


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


def int_label(value) -> str:
    """1234 → « 1 234 »; « – » when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{round(value):,}".replace(",", NBSP)


def decimal_label(value, decimals: int = 2) -> str:
    """2.5 → « 2,50 », 1234.5 → « 1 234,50 »; « – » when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{decimals}f}".replace(",", NBSP).replace(".", ",")


def seconds_label(value: float) -> str:
    """1.5 → « 1,5 s », 20.0 → « 20 s »."""
    return f"{value:g}".replace(".", ",") + " s"


def pct_label(ratio, decimals: int = 1) -> str:
    """0.274 → « 27,4 % »; « – » when empty."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "–"
    return f"{ratio * 100:.{decimals}f}".replace(".", ",") + "\u00a0%"
