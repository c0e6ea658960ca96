"""French number and percentage formatting for everything a user reads."""

from __future__ import annotations

import math

from data_access.formatting import NBSP, int_label, pct_label

fmt_int = int_label  # one definition for the apps, the exports and the notebooks
fmt_pct = pct_label


def _sign(value) -> str:
    """« + », « − » (true minus sign) or nothing for zero."""
    return "+" if value > 0 else ("\u2212" if value < 0 else "")


def fmt_change(ratio) -> str:
    """0.045 → « +4,5 % », -0.1 → « −10,0 % »."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "–"
    return _sign(ratio) + fmt_pct(abs(ratio))


def fmt_points(delta) -> str:
    """0.012 → « +1,2 point », -0.034 → « −3,4 points »."""
    if delta is None or (isinstance(delta, float) and math.isnan(delta)):
        return "–"
    points = abs(delta) * 100
    text = f"{points:.1f}".replace(".", ",")
    return f"{_sign(delta)}{text}\u00a0point{'s' if points >= 2 else ''}"


#: Colour of each role an indicator declares (``Indicator.colour``): the main criterion
#: groups (colour-blind safe, Okabe–Ito) and the others.
COLOURS = {
    "dalo": "#D55E00",
    "acd": "#E69F00",
    "l441": "#0072B2",
    "non_prioritaire": "#BFC5CC",
    "prioritaire": "#1D4E89",
}
PRIMARY = "#1D4E89"

#: Tabulator cell formatters: French integers and percentages.
TABULATOR_INT = {"type": "money", "thousand": NBSP, "decimal": ",", "precision": 0}
TABULATOR_PCT = {
    "type": "money",
    "thousand": NBSP,
    "decimal": ",",
    "precision": 1,
    "symbol": "\u00a0%",
    "symbolAfter": True,
}


def tabulator_formatter(unit) -> dict:
    """The Tabulator cell formatter of a registry :class:`~data_access.indicators.Unit`
    (shares are shown in percent: the table's values are multiplied by 100)."""
    if unit.code == "part":
        return {**TABULATOR_PCT, "precision": unit.decimals}
    symbol = {"symbol": f"\u00a0{unit.suffix}", "symbolAfter": True} if unit.suffix else {}
    return {**TABULATOR_INT, "precision": unit.decimals, **symbol}
