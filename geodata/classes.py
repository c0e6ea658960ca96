"""Colour classes of a map indicator: the one classifier of the product.

The map page (``/carte``) and the analysts' notebooks colour territories with
:func:`classify`, so a figure falls in the same class, with the same colour and the same
French legend, on screen and in a notebook's map. What kind of figure it is (a count, a
weighted count, a ratio) and its colour role come from the indicator registry
(:mod:`data_access.indicators`); colours are plain hex strings (no Bokeh, no matplotlib).

>>> classes = classify(carte["tension"], indicator="tension")
>>> ax = carte.plot(color=classes.colours)
>>> ax.legend(handles=classes.patches(), title=classes.title)
"""

from __future__ import annotations

from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd

from data_access.formatting import decimal_label, int_label
from data_access.indicators import INDICATORS, RATIO, Indicator

#: Sequential palettes, light to dark (ColorBrewer Oranges and Blues), and the diverging one
#: of the typology imbalance (ColorBrewer RdBu: blue easier than average, red harder).
PALETTES = {
    "demande": ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"],
    "offre": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "desequilibre": ["#0571b0", "#92c5de", "#f7f7f7", "#f4a582", "#ca0020"],
}
#: Fixed class bounds of the ratios (upper bounds, inclusive), so that colours mean the same
#: everywhere and every month: tension in demandes per lease, imbalance around 1.
RATIO_BINS = {"tension": [2.0, 4.0, 6.0, 10.0], "desequilibre": [0.8, 0.95, 1.05, 1.25]}
#: A ratio without divisor, and a territory outside the chosen filters.
NO_VALUE = "#d9d9d9"
OUTSIDE = "#f4f4f4"
OUTSIDE_LABEL = "hors sélection"


@dataclass(frozen=True)
class Classes:
    """Colour classes of an indicator over territories."""

    #: The indicator's label (a legend's title).
    title: str
    #: Upper bounds of the classes, inclusive (the last may be infinite).
    bins: list[float]
    #: Each territory's colour, in the order of the values classified.
    colours: list[str]
    #: The legend: (colour, French label) pairs.
    legend: list[tuple[str, str]]

    def patches(self):
        """The legend as matplotlib patches, for ``ax.legend(handles=…)`` in a notebook."""
        from matplotlib.patches import Patch

        return [Patch(facecolor=c, edgecolor="#999999", label=label) for c, label in self.legend]


def _short(value: float) -> str:
    """« 8 » for a whole number, else « 8,25 »."""
    return int_label(value) if float(value).is_integer() else decimal_label(value)


def _nice(value: float) -> float:
    """Rounded to two significant digits, for readable class bounds."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** (np.floor(np.log10(value)) - 1)
    return float(np.ceil(value / magnitude) * magnitude)


def count_bins(values: np.ndarray, k: int = 5, whole: bool = True) -> list[float]:
    """Upper bounds (inclusive) of at most ``k`` classes of counts: zero alone, then
    quantiles of the positive values (mapclassify), rounded to two significant digits (and
    to whole numbers when ``whole``); the last bound is the maximum. Quantiles: each colour
    holds about as many territories."""
    values = values[~np.isnan(values)]
    positive = values[values > 0]
    if len(positive) == 0:
        return [0.0]
    q = min(k - 1, len(np.unique(positive)))
    inner = mapclassify.Quantiles(positive, k=q).bins[:-1] if q > 1 else []
    top = float(positive.max())
    rounded = (_nice(v) for v in inner)
    if whole:
        rounded = (float(np.ceil(v)) for v in rounded)
    return [0.0, *sorted({b for b in rounded if 0 < b < top}), top]


def _labels(bins: list[float], ratio: bool, whole: bool) -> list[str]:
    """The French legend label of each class."""
    out, lower = [], None
    for upper in bins:
        if ratio:
            if lower is None:
                label = f"jusqu'à {decimal_label(upper)}"
            elif np.isinf(upper):
                label = f"plus de {decimal_label(lower)}"
            else:
                label = f"de {decimal_label(lower + 0.01)} à {decimal_label(upper)}"
        elif lower is None:
            shown = int_label(upper) if whole else decimal_label(upper)
            label = "0" if upper == 0 else f"jusqu'à {shown}"
        elif whole:
            first = int(np.floor(lower)) + 1
            label = (
                int_label(first)
                if first >= upper
                else f"de {int_label(first)} à {int_label(upper)}"
            )
        else:
            label = f"plus de {_short(lower)} jusqu'à {_short(upper)}"
        out.append(label)
        lower = upper
    return out


def classify(
    values: pd.Series,
    inside: pd.Series | None = None,
    *,
    indicator: str,
    unavailable: str | None = None,
) -> Classes:
    """Colour each territory by its class of ``indicator`` (a registry code). Ratios have
    fixed bounds (:data:`RATIO_BINS`), counts quantile bounds over the territories
    ``inside`` the selection (default: all); territories outside it get the « hors
    sélection » colour, empty ratios the « sans objet » one. ``unavailable``: why the
    figure is not computed at all (French): every territory gets the « sans objet » colour
    and the legend says why."""
    declared: Indicator = INDICATORS[indicator]
    if unavailable:
        inside_mask = (
            np.ones(len(values), dtype=bool) if inside is None else pd.Series(inside).to_numpy(bool)
        )
        colours = np.where(inside_mask, NO_VALUE, OUTSIDE).tolist()
        legend = [(NO_VALUE, unavailable)] + (
            [(OUTSIDE, OUTSIDE_LABEL)] if not inside_mask.all() else []
        )
        return Classes(title=declared.label, bins=[], colours=colours, legend=legend)
    ratio = declared.unit == RATIO
    whole = not ratio and declared.unit.decimals == 0
    data = pd.Series(values).to_numpy(dtype="float64")
    inside_mask = (
        np.ones(len(data), dtype=bool) if inside is None else pd.Series(inside).to_numpy(bool)
    )
    shown = data[inside_mask]
    bins = [*RATIO_BINS[indicator], np.inf] if ratio else count_bins(shown, whole=whole)
    palette = PALETTES[declared.colour if declared.colour in PALETTES else "demande"]
    if bins == [0.0]:  # every figure is zero: the lightest colour, not the darkest
        palette = palette[:1]
    palette = palette if len(bins) == len(palette) else _spread(palette, len(bins))
    legend = list(zip(palette, _labels(bins, ratio, whole)))
    index = np.searchsorted(
        np.asarray(bins, dtype="float64"), np.nan_to_num(data, nan=0.0), side="left"
    )
    index = np.minimum(index, len(bins) - 1)
    colours = np.asarray(palette, dtype=object)[index]
    colours[np.isnan(data)] = NO_VALUE
    colours[~inside_mask] = OUTSIDE
    if np.isnan(shown).any() and declared.empty:
        legend.append((NO_VALUE, declared.empty))
    if not inside_mask.all():
        legend.append((OUTSIDE, OUTSIDE_LABEL))
    return Classes(
        title=declared.label, bins=[float(b) for b in bins], colours=colours.tolist(), legend=legend
    )


def _spread(palette: list[str], n: int) -> list[str]:
    """``n`` colours of ``palette``, evenly spaced, darkest kept last."""
    picks = np.linspace(0, len(palette) - 1, n).round().astype(int) if n > 1 else [len(palette) - 1]
    return [palette[i] for i in picks]
