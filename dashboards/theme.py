"""French number and percentage formatting for everything a user reads."""

from __future__ import annotations

import math

NBSP = "\u202f"  # narrow no-break space, the French thousands separator


def fmt_int(value) -> str:
    """1234 → « 1 234 »."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(round(value)):,}".replace(",", NBSP)


def fmt_pct(ratio, decimals: int = 1) -> str:
    """0.274 → « 27,4 % »."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "–"
    return f"{ratio * 100:.{decimals}f}".replace(".", ",") + "\u00a0%"
