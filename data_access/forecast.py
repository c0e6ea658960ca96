"""Year-end forecasts of the plan's objectives, and their back-test.

**Method** (written once here, quoted in the indicators' definitions). On the last complete
month *m* of a year, *r* = 12 − *m* months remain. The *pace* is the member's monthly
figures over the 12 complete months ending with *m* (the trailing year: January has a pace
too, and a season weighs once). A **bootstrap of those months** draws, 4 000 times, *r*
months from them with replacement and adds them to the year to date:

- a count (priority rehousings against the accord collectif's target) lands on
  ``year to date + sum of the r drawn months``;
- a share (priority share of a réservataire, first-quartile shares of an EPCI) lands on
  ``(numerator to date + drawn numerators) ÷ (denominator to date + drawn denominators)``,
  a month's numerator and denominator drawn together.

The forecast is the year to date plus *r* times the mean month of the pace (for a share:
the ratio of those sums); the **80 % interval** runs from the 5th to the 95th percentile of
the draws. The bootstrap's own 10th–90th percentiles are too narrow: months of one year are
not independent draws (a year's level moves as a whole), and the back-test on the demo held
them 64–83 % of the time (71 % pooled). The width was therefore calibrated on the back-test's
first years (2019–2022: the 5th–95th percentiles held 73–90 %, 79 % pooled) and checked on
the later ones, left out of the choice (2023–2025: 80–94 %, 84 % pooled); ``relog bench
--suites plan`` reports the coverage of each objective.

The **pace needed** is what each remaining month must bring to reach the target:
``(annual target − year to date) ÷ r`` priority rehousings for a count; for a share, the
numerator per month that brings the share to the target when the denominator keeps its pace,
``(target × (denominator to date + r × mean denominator) − numerator to date) ÷ r``. Both are
empty in December (nothing remains) and never below 0.

Draws use a fixed seed: the same data give the same interval. :func:`backtest` replays the
forecast at the end of each month of past complete years and says how often the year's
actual figure fell inside the 80 % interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Bootstrap draws per forecast.
DRAWS = 4000
#: The draws' percentiles that make the 80 % interval (calibrated: see the module docstring).
LOW, HIGH = 5, 95
#: Months of the trailing pace.
PACE_MONTHS = 12
SEED = 17


@dataclass(frozen=True)
class Forecast:
    """Year-end forecasts of several members, aligned on ``members``."""

    members: pd.Index
    months_left: int
    central: np.ndarray
    low: np.ndarray
    high: np.ndarray
    #: The pace: mean month of the numerator (and of the denominator, for a share).
    pace: np.ndarray
    needed: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "mois_restants": self.months_left,
                "prevision": self.central,
                "prevision_basse": self.low,
                "prevision_haute": self.high,
                "rythme_actuel": self.pace,
                "rythme_necessaire": self.needed,
            },
            index=self.members,
        )


def _matrix(monthly: pd.DataFrame, key: str, value: str, months: list) -> pd.DataFrame:
    """Members × months of ``value`` (zeros where a member has no row)."""
    if monthly.empty:
        return pd.DataFrame(0.0, index=pd.Index([], name=key), columns=months)
    wide = monthly.groupby([key, "mois"])[value].sum().unstack("mois")
    return wide.reindex(columns=months).fillna(0.0).astype(float)


def forecast(
    monthly: pd.DataFrame,
    key: str,
    through: pd.Timestamp,
    numerator: str,
    denominator: str | None = None,
    target: pd.Series | float | None = None,
    members: pd.Index | None = None,
) -> Forecast:
    """Year-end forecast of each member of ``monthly`` (columns ``mois``, ``key``,
    ``numerator`` and ``denominator`` for a share) seen at the end of month ``through``
    (see the module docstring). ``target``: the annual count, or the share to reach, per
    member (a Series indexed by member) or for all; ``members``: the members to forecast
    (default: those of ``monthly``)."""
    through = pd.Timestamp(through).to_period("M").to_timestamp()
    elapsed = through.month
    left = 12 - elapsed
    year_months = list(pd.date_range(f"{through.year}-01-01", through, freq="MS"))
    pace_months = list(pd.date_range(end=through, periods=PACE_MONTHS, freq="MS"))
    monthly = monthly.assign(mois=pd.to_datetime(monthly["mois"]))
    if members is None:
        members = pd.Index(sorted(monthly[key].dropna().unique()), name=key)
    num = _matrix(monthly, key, numerator, pace_months).reindex(members, fill_value=0.0)
    ytd_num = (
        _matrix(monthly, key, numerator, year_months).reindex(members, fill_value=0.0).sum(axis=1)
    )
    # the pace counts only months the data cover (the first months of the data have none)
    covered = [m for m in pace_months if m >= monthly["mois"].min()] if len(monthly) else []
    num = num[covered] if covered else num.iloc[:, -1:]
    rng = np.random.default_rng(SEED)
    times = np.zeros((DRAWS, num.shape[1]))
    if left:  # two stages: a pace drawn from the pace months, then the months from that pace
        n = num.shape[1]
        paces = rng.integers(0, n, size=(DRAWS, n))
        picks = np.take_along_axis(paces, rng.integers(0, n, size=(DRAWS, left)), axis=1)
        # how many times each pace month is drawn, per draw: the sums are then one product
        np.add.at(times, (np.repeat(np.arange(DRAWS), left), picks.ravel()), 1)

    def drawn(matrix: pd.DataFrame) -> np.ndarray:
        """Members × draws: the sum of ``left`` months drawn from the pace."""
        return matrix.to_numpy() @ times.T

    targets = (
        target.reindex(members).to_numpy(dtype=float)
        if isinstance(target, pd.Series)
        else np.full(len(members), np.nan if target is None else float(target))
    )
    pace = num.mean(axis=1).to_numpy()
    if denominator is None:
        draws = ytd_num.to_numpy()[:, None] + drawn(num)
        central = ytd_num.to_numpy() + left * pace
        needed = (targets - ytd_num.to_numpy()) / left if left else np.full(len(members), np.nan)
    else:
        den = _matrix(monthly, key, denominator, pace_months).reindex(members, fill_value=0.0)
        den = den[num.columns]
        ytd_den = (
            _matrix(monthly, key, denominator, year_months)
            .reindex(members, fill_value=0.0)
            .sum(axis=1)
            .to_numpy()
        )
        den_pace = den.mean(axis=1).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            draws = (ytd_num.to_numpy()[:, None] + drawn(num)) / (ytd_den[:, None] + drawn(den))
            total = ytd_den + left * den_pace
            central = (ytd_num.to_numpy() + left * pace) / np.where(total > 0, total, np.nan)
            needed = (
                (targets * total - ytd_num.to_numpy()) / left
                if left
                else np.full(len(members), np.nan)
            )
            needed = np.where(total > 0, needed, np.nan)  # no attribution: nothing to share
    low, high = _percentiles(draws)
    needed = np.where(np.isnan(needed), np.nan, np.maximum(needed, 0.0))
    return Forecast(members, left, central, low, high, pace, needed)


def _percentiles(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``LOW`` and ``HIGH`` percentiles of each member's draws; a share drawn over no
    attribution is left out (NaN), and a member with none at all has no interval."""
    low, high = np.full(len(draws), np.nan), np.full(len(draws), np.nan)
    if not len(draws):
        return low, high
    gaps = np.isnan(draws).any(axis=1)
    if (~gaps).any():
        low[~gaps], high[~gaps] = np.percentile(draws[~gaps], [LOW, HIGH], axis=1)
    if gaps.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a member without any attribution
            low[gaps], high[gaps] = np.nanpercentile(draws[gaps], [LOW, HIGH], axis=1)
    return low, high


def backtest(
    monthly: pd.DataFrame,
    key: str,
    years: list[int],
    numerator: str,
    denominator: str | None = None,
    minimum: int = 1,
) -> pd.DataFrame:
    """Replay :func:`forecast` at the end of January … November of each of ``years``
    (complete years of ``monthly``, which must also hold the year before each for the
    pace) and compare with the year's actual figure. One row per member, year and month:
    ``annee``, ``mois``, ``reel``, ``prevision``, ``prevision_basse``, ``prevision_haute``,
    ``dans_intervalle``. Members whose year holds fewer than ``minimum`` events of the
    denominator (or numerator, for a count) are left out: a share of nothing is no test."""
    rows = []
    monthly = monthly.assign(mois=pd.to_datetime(monthly["mois"]))
    for year in years:
        months = list(pd.date_range(f"{year}-01-01", f"{year}-12-01", freq="MS"))
        actual_num = _matrix(monthly, key, numerator, months).sum(axis=1)
        basis = actual_num
        if denominator is not None:
            basis = _matrix(monthly, key, denominator, months).sum(axis=1)
            actual = actual_num / basis.where(basis > 0)
        else:
            actual = actual_num
        members = basis.index[basis >= minimum]
        for month in months[:-1]:
            seen = monthly[monthly["mois"] <= month]
            f = forecast(seen, key, month, numerator, denominator, members=members).frame()
            f["reel"] = actual.reindex(members)
            f["annee"], f["mois"] = year, month
            rows.append(f.reset_index())
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(out):
        out["dans_intervalle"] = (out["reel"] >= out["prevision_basse"] - 1e-9) & (
            out["reel"] <= out["prevision_haute"] + 1e-9
        )
    return out
