"""Synthetic replica generator, deterministic from a seed and a reference date.

It simulates the shared file's life: a social stock, freed dwellings oriented to réservataires,
candidates proposed, households answering, CAL decisions, leases, and the demandes behind them
(filed, renewed, radiated) with their priority criteria versioned in time. Calibration figures
come from ``shared/domain.md`` §4 and are named where used. Everything is vectorised with NumPy
so the national scale fits the machine.

Dates are handled as integer day numbers (days since 1970-01-01) until the frames are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import numpy as np
import pandas as pd

from data_access.demo import territories
from data_access.schema import CRITERES

GENERATOR_VERSION = "2"

EPOCH = date(1970, 1, 1)


def _day(d: date) -> int:
    return (d - EPOCH).days


def _months(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True)
class Scale:
    """Volumes of one scale of the synthetic replica."""

    name: str
    leases_per_year: float  # leases signed in the first full year
    active_demandes: int  # active demandes on the reference date
    dwellings: int  # social stock
    first_month: date  # first month with a complete lease count
    depot_history_years: int  # how far back demandes still active may have been filed


SCALES = {
    # domain.md §4.3: ≈ 8 500–9 500 attributions a year, ≈ 58 000 active demandes,
    # ≈ 97 000 dwellings, from 2019 to the current month.
    "departement": Scale("departement", 9_300, 58_000, 97_000, date(2019, 1, 1), 14),
    # domain.md §4.1: ≈ 400 000 leases a year, ≈ 2.7 M active demandes, ≈ 4.7 M dwellings.
    "national": Scale("national", 400_000, 2_700_000, 4_700_000, date(2022, 1, 1), 10),
}

# Monthly seasonality of lettings (summer moves, slow Decembers) and the 2020 lockdown.
SEASONALITY = np.array([0.88, 0.92, 1.0, 1.0, 1.0, 1.04, 1.14, 0.92, 1.16, 1.06, 1.0, 0.88])
LOCKDOWN_2020 = {3: 0.55, 4: 0.25, 5: 0.55, 6: 0.9, 11: 0.85}
ANNUAL_TREND = -0.02  # attributions decline (domain.md §4.2–4.3)

TYPOLOGIES = np.array(["T1", "T2", "T3", "T4", "T5"])
STOCK_TYPOLOGY = np.array([0.06, 0.20, 0.36, 0.28, 0.10])  # domain.md §4.3
TURNOVER_BY_TYPOLOGY = np.array([0.265, 0.14, 0.10, 0.08, 0.064])  # studios 26.5 %, 5+ 6.4 %
FINANCEMENTS = np.array(["PLUS", "PLAI", "PLS"])

# Réservataire kinds with their share of the freed-dwelling flux (domain.md §1.6, T3):
# préfet ≤ 30 % (≤ 5 % for agents), Action Logement ≈ 25 %, collectivités ≈ 20 %, rest bailleur.
FLUX_KINDS = [
    "etat_prioritaire",
    "etat_fonctionnaires",
    "action_logement",
    "departement",
    "epci",
    "commune",
    "bailleur",
    "autre",
]
FLUX_SHARES = np.array([0.22, 0.05, 0.25, 0.04, 0.07, 0.10, 0.25, 0.02])
# Probability that a lease on that contingent goes to a priority household (domain.md §4.3:
# État close to 100 %, Action Logement and communes 20–30 %; overall 30–38 %).
PRIORITY_BY_KIND = np.array([0.88, 0.08, 0.20, 0.28, 0.22, 0.20, 0.24, 0.08])

# Main criterion among priority households rehoused, and the L441-1 mix.
L441_CODES = [c for c, (_, g) in CRITERES.items() if g == "L441-1"]
L441_WEIGHTS = np.array([8, 0.5, 25, 20, 2, 4, 8, 0.5, 0.5, 8, 15, 6, 2, 1], dtype=float)
L441_WEIGHTS /= L441_WEIGHTS.sum()

RADIATION_MOTIFS = np.array(["non_renouvellement", "renonciation", "injoignable", "irrecevabilite"])
REFUSAL_MOTIFS = np.array(
    [
        "Localisation",
        "Typologie ou surface",
        "Loyer trop élevé",
        "Environnement du logement",
        "Étage ou accessibilité",
        "Raisons personnelles",
    ]
)
CAL_MOTIFS = np.array(
    [
        "Ressources insuffisantes au regard du loyer",
        "Inadéquation typologie",
        "Dossier incomplet",
        "Candidat mieux classé",
    ]
)


def _ids(n: int) -> np.ndarray:
    """Row numbers start at 1, like the shared file's keys."""
    return np.arange(1, n + 1, dtype=np.int64)


def generate(
    scale: str = "departement", seed: int = 31, as_of: date | None = None
) -> dict[str, pd.DataFrame]:
    """Build every table of the replica contract for ``scale`` as of ``as_of`` (default today).

    The same ``scale``, ``seed`` and ``as_of`` always give the same tables. Events are dated up to
    the day before ``as_of``; the extraction is stamped ``as_of`` at 05:00 UTC.
    """
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue : {scale!r} (attendu : {', '.join(SCALES)}).")
    as_of = as_of or date.today()
    spec = SCALES[scale]
    rng = np.random.default_rng(seed)
    terr = territories.departement_31(rng) if scale == "departement" else territories.national(rng)
    sim = _Simulation(spec, terr, rng, as_of)
    return sim.run(seed)


class _Simulation:
    def __init__(
        self, spec: Scale, terr: territories.Territory, rng: np.random.Generator, as_of: date
    ):
        self.spec, self.terr, self.rng, self.as_of = spec, terr, rng, as_of
        self.last_day = _day(as_of) - 1  # last day with events
        self.n_com = len(terr.commune)
        self.com_epci = pd.Index(terr.epci["siren"]).get_indexer(terr.commune["epci_siren"])
        deps = pd.Index(terr.departement["code"])
        self.com_dep = deps.get_indexer(terr.commune["departement"])

    # ------------------------------------------------------------------ supply
    def dwellings(self) -> pd.DataFrame:
        rng, n, terr = self.rng, self.spec.dwellings, self.terr
        com = rng.choice(self.n_com, size=n, p=terr.stock_weight)
        com.sort()
        # bailleur: share × local affinity, sampled commune by commune (inverse CDF)
        weights = terr.bailleur["share"].to_numpy()[:, None] * terr.bailleur_affinity
        cum = np.cumsum(weights, axis=0)
        cum /= cum[-1]
        bailleur_idx = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        bounds = np.searchsorted(com, np.arange(self.n_com + 1))
        for c in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[c], bounds[c + 1]
            bailleur_idx[lo:hi] = np.searchsorted(cum[:, c], u[lo:hi])
        bailleur_idx = np.minimum(bailleur_idx, len(terr.bailleur) - 1)
        # dates: most of the stock predates 2019; ≈ 3 % a year delivered since (domain.md §4.3)
        recent = rng.random(n) < 0.16
        old = rng.integers(_day(date(1955, 1, 1)), _day(date(2019, 1, 1)), n)
        new = rng.integers(_day(date(2019, 1, 1)), self.last_day, n)
        mes = np.where(recent, new, old)
        # the metropolitan recent stock has more small dwellings
        typ = rng.choice(5, size=n, p=STOCK_TYPOLOGY)
        fin = rng.choice(3, size=n, p=[0.75, 0.12, 0.13])
        fin = np.where(recent & (rng.random(n) < 0.15), 1, fin)  # more PLAI in recent programmes
        # QPV: a share of the stock of communes holding QPV, older dwellings only
        qpv_code = np.full(n, None, dtype=object)
        in_qpv = (rng.random(n) < terr.qpv_share[com]) & ~recent
        codes = terr.commune["code_insee"].to_numpy()
        com_index = pd.Index(codes)
        for code, options in terr.qpv.groupby("commune_code")["code_qpv"]:
            sel = np.flatnonzero(in_qpv & (com == com_index.get_loc(code)))
            qpv_code[sel] = options.to_numpy()[rng.integers(0, len(options), len(sel))]
        ids = _ids(n)
        self.log_com, self.log_bailleur, self.log_typ, self.log_mes = com, bailleur_idx, typ, mes
        return pd.DataFrame(
            {
                "id": ids,
                "rpls_id": "RPLS" + pd.Series(ids).astype(str).str.zfill(10),
                "bailleur_id": terr.bailleur["id"].to_numpy()[bailleur_idx],
                "commune_code": pd.Categorical.from_codes(com, categories=codes),
                "qpv_code": qpv_code,
                "typologie": TYPOLOGIES[typ],
                "financement": FINANCEMENTS[fin],
                "date_mise_en_service": mes,
            }
        )

    # ------------------------------------------------------------------ flux
    def offers(self) -> pd.DataFrame:
        """Freed dwellings, month by month, with seasonality, trend and the 2020 lockdown."""
        rng, spec = self.rng, self.spec
        start = date(
            spec.first_month.year - (1 if spec.first_month.month <= 3 else 0),
            (spec.first_month.month - 3 - 1) % 12 + 1,
            1,
        )
        months = _months(start, self.as_of)
        # ≈ 86 % of offers end in a lease (refusals, CAL rejections): emerges from the model.
        per_month = []
        for m in months:
            years = (m.year - spec.first_month.year) + (m.month - 1) / 12
            rate = spec.leases_per_year / 12 / 0.86 * (1 + ANNUAL_TREND) ** years
            rate *= SEASONALITY[m.month - 1] * (
                LOCKDOWN_2020.get(m.month, 1.0) if m.year == 2020 else 1.0
            )
            per_month.append(rng.poisson(rate))
        counts = np.array(per_month)
        first_days = np.array([_day(m) for m in months])
        next_days = np.r_[first_days[1:], _day(months[-1]) + 31]
        n = counts.sum()
        month_idx = np.repeat(np.arange(len(months)), counts)
        day = first_days[month_idx] + (rng.random(n) * (next_days - first_days)[month_idx]).astype(
            np.int64
        )
        keep = day <= self.last_day
        day = day[keep]
        n = len(day)
        # freed dwelling: turnover falls with size; a dwelling must be in service when freed
        w = TURNOVER_BY_TYPOLOGY[self.log_typ]
        w = w / w.sum()
        log = rng.choice(len(w), size=n, p=w)
        for _ in range(8):
            bad = self.log_mes[log] > day
            if not bad.any():
                break
            log[bad] = rng.choice(len(w), size=bad.sum(), p=w)
        ok = self.log_mes[log] <= day
        log, day = log[ok], day[ok]
        order = np.argsort(day, kind="stable")
        log, day = log[order], day[order]
        n = len(day)
        kind, res_id = self._orient(log)
        self.off_log, self.off_day, self.off_kind, self.off_res = log, day, kind, res_id
        return pd.DataFrame(
            {
                "id": _ids(n),
                "logement_id": log + 1,
                "reservataire_id": res_id,
                "date_liberation": day,
                # loi 3DS: every reservation converted to flux by 24 November 2023
                "mode": np.where(day >= _day(date(2023, 11, 24)), "flux", "stock"),
            }
        )

    def _orient(self, log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pick the réservataire whose flux the freed dwelling goes to."""
        rng, terr = self.rng, self.terr
        res = terr.reservataire
        com = self.log_com[log]
        dep_codes = terr.departement["code"].to_numpy()
        codes = terr.commune["code_insee"].to_numpy()
        sirens = terr.epci["siren"].to_numpy()
        n = len(log)
        kind = rng.choice(len(FLUX_KINDS), size=n, p=FLUX_SHARES)

        def lookup(nature: str, keys: np.ndarray, by: str = "territoire_code") -> np.ndarray:
            sub = res[res["nature"] == nature]
            table = dict(zip(sub[by].astype(str), sub["id"]))
            return pd.Series(keys.astype(str)).map(table).fillna(0).astype(np.int64).to_numpy()

        dep_of = dep_codes[self.com_dep[com]]
        out = np.zeros(n, dtype=np.int64)
        out[kind == 0] = lookup("etat_prioritaire", dep_of[kind == 0], "departement")
        out[kind == 1] = lookup("etat_fonctionnaires", dep_of[kind == 1], "departement")
        al = res[res["nature"] == "action_logement"]
        if al["departement"].notna().all():
            out[kind == 2] = lookup("action_logement", dep_of[kind == 2], "departement")
        else:
            out[kind == 2] = al["id"].iloc[0]
        out[kind == 3] = lookup("departement", dep_of[kind == 3], "departement")
        out[kind == 4] = lookup("epci", sirens[self.com_epci[com[kind == 4]]])
        out[kind == 5] = lookup("commune", codes[com[kind == 5]])
        out[kind == 7] = res.loc[res["nature"] == "autre", "id"].iloc[0]
        # a commune or EPCI without rights of its own: the flux stays with the bailleur
        kind = np.where((out == 0) & (kind != 6), 6, kind)
        bailleur_ids = terr.bailleur["id"].to_numpy()[self.log_bailleur[log]]
        out[kind == 6] = lookup("bailleur", bailleur_ids[kind == 6])
        return kind, out

    # ------------------------------------------------------------------ allocation
    def allocation(self):
        """Candidates per offer, their answers, CAL decisions and the resulting leases."""
        rng = self.rng
        n_off = len(self.off_day)
        k = rng.choice([1, 2, 3], size=n_off, p=[0.10, 0.25, 0.65])  # norm: three per dwelling
        off = np.repeat(np.arange(n_off), k)
        n = len(off)
        date_prop = self.off_day[off] + rng.integers(5, 40, n)
        refuse = rng.random(n)
        # refusals are more frequent for QPV and large dwellings
        typ = self.log_typ[self.off_log[off]]
        p_refuse = 0.24 + 0.03 * (typ >= 3)
        reponse = np.where(
            refuse < p_refuse,
            "refusee",
            np.where(refuse < p_refuse + 0.04, "sans_reponse", "acceptee"),
        ).astype(object)
        date_rep = date_prop + np.where(
            reponse == "sans_reponse", rng.integers(10, 16, n), rng.integers(2, 12, n)
        )
        # one CAL per offer, after the answers
        cal_day = self.off_day + rng.integers(25, 55, n_off)
        date_cal = np.maximum(cal_day[off], date_rep + 1)
        accepted = reponse == "acceptee"
        u = rng.random(n)
        decision = np.where(
            u < 0.02,
            "irrecevable",
            np.where(u < 0.12, "non_attribution", np.where(u < 0.15, "ajournement", "attribution")),
        ).astype(object)
        decision[~accepted] = None
        # ranking among the positive decisions of the same offer (order of the candidates)
        positive = decision == "attribution"
        rank = np.zeros(n, dtype=np.int64)
        pos_idx = np.flatnonzero(positive)
        first_of_offer = np.r_[0, np.cumsum(k)[:-1]]
        cum = np.cumsum(positive)
        before = np.r_[0, cum][first_of_offer[off[pos_idx]]]
        rank[pos_idx] = cum[pos_idx] - before
        n_pos = np.bincount(off[pos_idx], minlength=n_off)
        multi = positive & (n_pos[off] > 1)
        decision[multi] = "attribution_rang"
        cond = positive & ~multi & (rng.random(n) < 0.08)
        decision[cond] = "attribution_sous_condition"
        winner = positive & (rank == 1)
        date_bail = date_cal + rng.integers(7, 45, n)
        date_entree = date_bail + rng.integers(0, 21, n)
        # what the extraction cannot know yet
        in_time = date_prop <= self.last_day
        reponse[in_time & (date_rep > self.last_day)] = "en_attente"
        answered = reponse != "en_attente"
        has_cal = accepted & answered & (date_cal <= self.last_day)
        has_bail = winner & has_cal & (date_bail <= self.last_day)
        self.alloc = dict(
            off=off,
            date_prop=date_prop,
            reponse=reponse,
            date_rep=date_rep,
            date_cal=date_cal,
            decision=decision,
            rank=rank,
            has_cal=has_cal,
            has_bail=has_bail,
            date_bail=date_bail,
            date_entree=date_entree,
            in_time=in_time,
            winner=winner & has_cal,
        )

    # ------------------------------------------------------------------ demand
    def demandes(self):
        """Winners (one per lease, or per CAL-approved candidate not yet signed) and the rest
        of the demand; losing candidates are drawn among demandes active on the proposal date."""
        rng, a, spec = self.rng, self.alloc, self.spec
        n_prop = len(a["off"])
        is_winner = a["winner"] & a["in_time"]
        win = np.flatnonzero(is_winner)
        n_win = len(win)
        win_com = self.log_com[self.off_log[a["off"][win]]]
        win_kind = self.off_kind[a["off"][win]]
        # wait from filing to lease: lognormal, longer in tense areas (domain.md §4.3: 16 months
        # on average in the agglomeration, about 3 years in Toulouse)
        tension = self.terr.tension[win_com]
        median_days = 365 * (0.9 + 0.8 * (tension - 0.7))
        wait = (rng.lognormal(np.log(median_days), 0.75)).astype(np.int64)
        end = np.where(a["has_bail"][win], a["date_bail"][win], a["date_cal"][win])
        depot_w = np.minimum(end - wait, a["date_prop"][win] - 30)
        rad_w = np.where(a["has_bail"][win], a["date_bail"][win] + rng.integers(0, 6, n_win), -1)
        rad_w = np.where(rad_w > self.last_day, -1, rad_w)

        # the rest: filed over the history window, radiated at a renewal (about half are not
        # renewed after one year, domain.md §1.1), or still active
        years = np.arange(self.as_of.year - spec.depot_history_years, self.as_of.year + 1)
        growth = 1.06 ** (years - years[-1])  # +6 % a year
        pool = int(spec.active_demandes * 1.25)
        n_rest = int(pool * growth.sum() / 1.2)
        yr = rng.choice(len(years), size=n_rest, p=growth / growth.sum())
        depot_r = np.array([_day(date(y, 1, 1)) for y in years])[yr] + rng.integers(0, 365, n_rest)
        first_stop = rng.random(n_rest) < 0.45
        extra_years = rng.geometric(0.33, n_rest)
        life = np.where(
            first_stop,
            365 + rng.integers(0, 40, n_rest),
            365 * extra_years + rng.integers(0, 365, n_rest),
        )
        rad_r = depot_r + life
        keep = depot_r <= self.last_day
        depot_r, rad_r = depot_r[keep], rad_r[keep]
        active = rad_r > self.last_day
        # thin to the calibrated active stock on the reference date
        target_active = spec.active_demandes - int((rad_w == -1).sum())
        p_keep = min(1.0, target_active / max(active.sum(), 1))
        keep = rng.random(len(depot_r)) < p_keep
        depot_r, rad_r = depot_r[keep], rad_r[keep]
        n_rest = len(depot_r)
        motif_r = np.where(
            rad_r > self.last_day,
            None,
            RADIATION_MOTIFS[rng.choice(4, n_rest, p=[0.6, 0.2, 0.12, 0.08])],
        ).astype(object)
        rad_r = np.where(rad_r > self.last_day, -1, rad_r)
        # likely duplicates: the same household filing again online a few days later (§7)
        n_dup = int(0.012 * n_rest)
        dup_src = rng.choice(n_rest, n_dup, replace=False)
        depot = np.r_[depot_w, depot_r, depot_r[dup_src] + rng.integers(1, 12, n_dup)]
        rad = np.r_[rad_w, rad_r, np.where(rng.random(n_dup) < 0.6, -1, rad_r[dup_src])]
        rad = np.where((rad != -1) & (rad <= depot), depot + 30, rad)
        rad = np.where(rad > self.last_day, -1, rad)
        motif = np.r_[
            np.where(rad_w == -1, None, "attribution").astype(object),
            motif_r,
            np.where(rad[len(rad) - n_dup :] == -1, None, "renonciation").astype(object),
        ]
        n_dem = len(depot)
        self.n_win, self.n_rest, self.dup_src = n_win, n_rest, dup_src
        self.dem_depot, self.dem_rad = depot, rad

        # losing candidates: any demande active on the proposal date (retry until found)
        lose = np.flatnonzero(~is_winner & a["in_time"])
        order = np.argsort(depot, kind="stable")
        sorted_depot = depot[order]
        cand = np.full(n_prop, -1, dtype=np.int64)
        cand[win] = np.arange(n_win)
        todo = lose
        for _ in range(60):
            if len(todo) == 0:
                break
            d = a["date_prop"][todo]
            lo = np.searchsorted(sorted_depot, d - 365 * 6)
            hi = np.searchsorted(sorted_depot, d - 30, side="right")
            pick = lo + (rng.random(len(todo)) * np.maximum(hi - lo, 1)).astype(np.int64)
            pick = order[np.minimum(pick, len(order) - 1)]
            ok = (
                (hi > lo)
                & ((rad[pick] == -1) | (rad[pick] > a["date_cal"][todo] + 60))
                & (depot[pick] < d)
            )
            cand[todo[ok]] = pick[ok]
            todo = todo[~ok]
        self.prop_dem = cand

        # household attributes (domain.md §4.3: 1 person 45 %, 2: 22 %, 3: 15 %, 4: 10 %, 5+: 8 %)
        nb = rng.choice([1, 2, 3, 4, 5, 6], size=n_dem, p=[0.45, 0.22, 0.15, 0.10, 0.05, 0.03])
        lone_parent = (nb >= 2) & (rng.random(n_dem) < 0.26 / 0.55)
        adults = np.where(nb == 1, 1, np.where(lone_parent, 1, 2))
        children = nb - adults
        young = rng.binomial(children, 0.7)
        uc = 1 + 0.5 * (adults - 1 + children - young) + 0.3 * young
        # DRIHL target typology: single T1/T2, lone parent with one child T3, else rooms = persons
        typ = np.where(
            nb == 1,
            np.where(rng.random(n_dem) < 0.4, 0, 1),
            np.where(lone_parent & (nb == 2), 2, np.minimum(nb - 1, 4)),
        )
        income = rng.lognormal(np.log(1250) + 0.45 * np.log(uc), 0.55)
        income = np.round(np.where(rng.random(n_dem) < 0.06, rng.uniform(0, 600, n_dem), income), 2)
        if n_dup:
            src = self.n_win + dup_src
            for arr in (nb, uc, typ, income):
                arr[-n_dup:] = arr[src]
        mutation = rng.random(n_dem) < 0.28  # domain.md §1.1: 25–30 %
        residence = rng.choice(self.n_com, size=n_dem, p=self._population_weight())
        self.dem_typ = typ
        renew_years = (np.where(rad == -1, self.last_day, rad) - depot) // 365
        renewal = np.where(renew_years >= 1, depot + renew_years * 365, -1)
        ids = _ids(n_dem)
        dep_prefix = self.terr.commune["code_insee"].str[:2].to_numpy()[residence]
        numero = (
            "0"
            + pd.Series(dep_prefix)
            + pd.Series(pd.to_datetime(depot, unit="D").strftime("%y%m"))
            + pd.Series(ids).astype(str).str.zfill(8)
        )
        frame = pd.DataFrame(
            {
                "id": ids,
                "numero_unique": numero,
                "date_depot": depot,
                "date_renouvellement": renewal,
                "date_radiation": rad,
                "motif_radiation": motif,
                "mutation": mutation,
                "nb_personnes": nb.astype(np.int16),
                "typologie_recherchee": TYPOLOGIES[typ],
                "revenu_mensuel": income,
                "unites_consommation": np.round(uc, 2),
                "commune_residence_code": pd.Categorical.from_codes(
                    residence, categories=self.terr.commune["code_insee"].to_numpy()
                ),
            }
        )
        self.win_com, self.win_kind = win_com, win_kind
        return frame

    def _population_weight(self) -> np.ndarray:
        pop = self.terr.commune["population"].to_numpy().astype(float)
        return pop / pop.sum()

    def wishes(self) -> pd.DataFrame:
        """Wished communes: 1 to 5, the first weighted by supply × tension, the others mostly in
        the same EPCI; a winner's dwelling commune is always among its wishes."""
        rng = self.rng
        n_dem = len(self.dem_depot)
        n_wish = rng.choice([1, 2, 3, 4, 5], size=n_dem, p=[0.30, 0.25, 0.20, 0.12, 0.13])
        dem = np.repeat(np.arange(n_dem), n_wish)
        rank = np.arange(len(dem)) - np.repeat(np.cumsum(n_wish) - n_wish, n_wish) + 1
        w = self.terr.stock_weight * self.terr.tension
        w = w / w.sum()
        com = rng.choice(self.n_com, size=len(dem), p=w)
        # later wishes: same EPCI as the first wish in 70 % of cases
        first_com = com[np.repeat(np.cumsum(n_wish) - n_wish, n_wish)]
        same = (rank > 1) & (rng.random(len(dem)) < 0.7)
        epci_of = self.com_epci
        by_epci = pd.Series(np.arange(self.n_com)).groupby(epci_of).apply(np.array)
        epci_w = {
            e: w[idx] / w[idx].sum() if w[idx].sum() > 0 else None for e, idx in by_epci.items()
        }
        sel = np.flatnonzero(same)
        sel_epci = epci_of[first_com[sel]]
        order = np.argsort(sel_epci, kind="stable")
        sel, sel_epci = sel[order], sel_epci[order]
        bounds = np.searchsorted(sel_epci, np.arange(len(self.terr.epci) + 1))
        for e in np.flatnonzero(np.diff(bounds)):
            chunk = sel[bounds[e] : bounds[e + 1]]
            p = epci_w[e]
            com[chunk] = (
                rng.choice(by_epci[e], size=len(chunk), p=p) if p is not None else first_com[chunk]
            )
        # winners: their dwelling's commune at a random rank
        win_rank = 1 + (rng.random(self.n_win) * np.minimum(n_wish[: self.n_win], 2)).astype(
            np.int64
        )
        starts = np.cumsum(n_wish) - n_wish
        com[starts[: self.n_win] + win_rank - 1] = self.win_com
        # drop repeated communes within a demande, renumber ranks
        frame = pd.DataFrame({"demande_id": dem + 1, "commune_code": com, "rank": rank})
        frame = frame.drop_duplicates(["demande_id", "commune_code"]).copy()
        frame["rang"] = frame.groupby("demande_id").cumcount().astype(np.int16) + 1
        codes = self.terr.commune["code_insee"].to_numpy()
        frame["commune_code"] = pd.Categorical.from_codes(
            frame["commune_code"].to_numpy(), categories=codes
        )
        return frame[["demande_id", "rang", "commune_code"]].reset_index(drop=True)

    def priorities(self) -> pd.DataFrame:
        """Criteria versioned in time. Winners get one with a probability depending on the
        contingent; the label is held on the CAL date. A few labels end before the CAL date or
        start after it (they must not count). The rest of the demand holds criteria too."""
        rng, a = self.rng, self.alloc
        win = np.flatnonzero(a["winner"] & a["in_time"])
        n_win = self.n_win
        kind = self.win_kind
        cal = a["date_cal"][win]
        depot = self.dem_depot[:n_win]
        prio = rng.random(n_win) < PRIORITY_BY_KIND[kind]
        main = self._main_criteria(n_win, state=(kind == 0))
        rows = []
        # held on the CAL date
        idx = np.flatnonzero(prio)
        start = np.maximum(
            depot[idx],
            cal[idx]
            - np.where(
                main[idx] == "DALO",
                rng.integers(20, 300, len(idx)),
                rng.integers(15, 900, len(idx)),
            ),
        )
        end = np.where(rng.random(len(idx)) < 0.25, cal[idx] + rng.integers(60, 700, len(idx)), -1)
        rows.append((idx, main[idx], start, end))
        # a second, lower-precedence criterion for a third of them
        second = idx[rng.random(len(idx)) < 0.33]
        rows.append(
            (
                second,
                np.array(L441_CODES)[rng.choice(len(L441_CODES), len(second), p=L441_WEIGHTS)],
                np.maximum(depot[second], cal[second] - rng.integers(15, 700, len(second))),
                np.full(len(second), -1),
            )
        )
        # traps: expired before the CAL date, or recognised after it
        rest = np.flatnonzero(~prio)
        expired = rest[rng.random(len(rest)) < 0.04]
        e_start = np.maximum(depot[expired], cal[expired] - rng.integers(200, 900, len(expired)))
        e_end = np.minimum(cal[expired] - 1, e_start + rng.integers(30, 180, len(expired)))
        rows.append((expired, main[expired], e_start, np.maximum(e_end, e_start)))
        late = rest[rng.random(len(rest)) < 0.03]
        rows.append(
            (late, main[late], cal[late] + rng.integers(1, 30, len(late)), np.full(len(late), -1))
        )
        # the rest of the demand: 20 % hold a criterion at some point, 1.5 % DALO
        n_rest = len(self.dem_depot) - n_win
        others = n_win + np.flatnonzero(rng.random(n_rest) < 0.20)
        dep_o, rad_o = self.dem_depot[others], self.dem_rad[others]
        live_end = np.where(rad_o == -1, self.last_day, rad_o)
        o_start = dep_o + (rng.random(len(others)) * np.maximum(live_end - dep_o, 1) * 0.7).astype(
            np.int64
        )
        o_main = self._main_criteria(len(others), state=np.zeros(len(others), bool), dalo=0.075)
        rows.append((others, o_main, o_start, np.where(rad_o == -1, -1, rad_o)))
        dem = np.concatenate([r[0] for r in rows])
        crit = np.concatenate([r[1] for r in rows]).astype(object)
        d0 = np.concatenate([r[2] for r in rows])
        d1 = np.concatenate([r[3] for r in rows])
        source = np.where(
            crit == "DALO",
            "COMED",
            np.where(
                crit == "ACD",
                "PDALHPD",
                np.where(
                    np.isin(crit, ["c_HEBERGE_TRANSITION", "j_SANS_LOGEMENT"]),
                    "SIAO",
                    np.where(rng.random(len(crit)) < 0.8, "IMHOWEB_AUTO", "BAILLEUR"),
                ),
            ),
        )
        frame = pd.DataFrame(
            {
                "demande_id": dem + 1,
                "critere": crit,
                "source": source,
                "date_debut": d0,
                "date_fin": d1,
            }
        )
        frame.loc[
            (frame["date_fin"] != -1) & (frame["date_fin"] < frame["date_debut"]), "date_fin"
        ] = frame["date_debut"]
        frame = frame[frame["date_debut"] <= self.last_day]
        return frame.drop_duplicates(["demande_id", "critere", "date_debut"]).reset_index(drop=True)

    def _main_criteria(self, n: int, state: np.ndarray, dalo: float = 0.12) -> np.ndarray:
        """Main criterion: DALO, ACD label or an L441-1 criterion; the State's contingent gets
        more DALO and ACD households."""
        u = self.rng.random(n)
        p_dalo = np.where(state, 0.30, dalo)
        p_acd = np.where(state, 0.45, 0.42)
        l441 = np.array(L441_CODES)[self.rng.choice(len(L441_CODES), n, p=L441_WEIGHTS)]
        return np.where(u < p_dalo, "DALO", np.where(u < p_dalo + p_acd, "ACD", l441)).astype(
            object
        )

    # ------------------------------------------------------------------ assemble
    def run(self, seed: int) -> dict[str, pd.DataFrame]:
        terr = self.terr
        logement = self.dwellings()
        offre = self.offers()
        self.allocation()
        demande = self.demandes()
        demande_commune = self.wishes()
        demande["nb_communes_souhaitees"] = np.bincount(
            demande_commune["demande_id"].to_numpy(), minlength=len(demande) + 1
        )[demande["id"].to_numpy()].astype(np.int16)
        priorite = self.priorities()
        a = self.alloc
        keep = a["in_time"] & (self.prop_dem >= 0)
        prop_ids = np.full(len(keep), -1, dtype=np.int64)
        prop_ids[keep] = np.arange(1, keep.sum() + 1)
        n_prop = keep.sum()
        rng = self.rng
        reponse = a["reponse"][keep]
        refused = np.isin(reponse, ["refusee", "sans_reponse"])
        proposition = pd.DataFrame(
            {
                "id": prop_ids[keep],
                "demande_id": self.prop_dem[keep] + 1,
                "offre_id": a["off"][keep] + 1,
                "reservataire_id": self.off_res[a["off"][keep]],
                "date_proposition": a["date_prop"][keep],
                "reponse": reponse,
                "date_reponse": np.where(reponse == "en_attente", -1, a["date_rep"][keep]),
                "motif_refus": np.where(
                    refused & (reponse == "refusee"),
                    REFUSAL_MOTIFS[rng.integers(0, len(REFUSAL_MOTIFS), n_prop)],
                    None,
                ),
            }
        )
        cal = keep & a["has_cal"]
        decision = a["decision"][cal]
        negative = np.isin(decision, ["non_attribution", "irrecevable"])
        decision_cal = pd.DataFrame(
            {
                "id": _ids(cal.sum()),
                "proposition_id": prop_ids[cal],
                "date_cal": a["date_cal"][cal],
                "decision": decision,
                "rang": np.where(decision == "attribution_rang", a["rank"][cal], -1).astype(
                    np.int16
                ),
                "motif": np.where(
                    negative, CAL_MOTIFS[rng.integers(0, len(CAL_MOTIFS), cal.sum())], None
                ),
            }
        )
        bail_mask = keep & a["has_bail"]
        bail = pd.DataFrame(
            {
                "id": _ids(bail_mask.sum()),
                "demande_id": self.prop_dem[bail_mask] + 1,
                "logement_id": self.off_log[a["off"][bail_mask]] + 1,
                "reservataire_id": self.off_res[a["off"][bail_mask]],
                "proposition_id": prop_ids[bail_mask],
                "date_signature": a["date_bail"][bail_mask],
                "date_entree_lieux": np.where(
                    a["date_entree"][bail_mask] > self.last_day, -1, a["date_entree"][bail_mask]
                ),
            }
        )
        tables = {
            "epci": terr.epci[["siren", "nom", "nature"]],
            "commune": terr.commune[["code_insee", "nom", "epci_siren", "population"]],
            "qpv": terr.qpv,
            "bailleur": terr.bailleur[["id", "nom", "siren", "nature"]],
            "reservataire": terr.reservataire[["id", "nom", "nature", "territoire_code"]],
            "logement": logement,
            "offre": offre,
            "demande": demande,
            "demande_commune": demande_commune,
            "priorite": priorite,
            "proposition": proposition,
            "decision_cal": decision_cal,
            "bail": bail,
            "seuil_q1": self.quartile_thresholds(),
            "objectif": self.objectives(logement),
        }
        extraction = datetime.combine(self.as_of, time(5, 0), tzinfo=UTC)
        tables["replica_meta"] = pd.DataFrame(
            {
                "cle": ["extraction", "version", "source", "echelle", "territoire"],
                "valeur": [
                    extraction.isoformat(),
                    f"demo-{self.spec.name}-s{seed}-{self.as_of:%Y%m%d}-g{GENERATOR_VERSION}",
                    "démonstration (données synthétiques)",
                    self.spec.name,
                    terr.label,
                ],
            }
        )
        return {name: _as_dates(frame) for name, frame in tables.items()}

    def quartile_thresholds(self) -> pd.DataFrame:
        """Synthetic first-quartile thresholds: about 9 200 €/UC/year (2023 national median,
        domain.md §1.9), differing by EPCI, indexed 3 % a year."""
        years = np.arange(self.spec.first_month.year, self.as_of.year + 1)
        sirens = self.terr.epci["siren"].to_numpy()
        factor = self.rng.uniform(0.9, 1.12, len(sirens))
        grid = pd.MultiIndex.from_product([sirens, years], names=["epci_siren", "annee"]).to_frame(
            index=False
        )
        grid["montant"] = np.round(
            8_700 * np.repeat(factor, len(years)) * 1.03 ** (grid["annee"] - 2022), 0
        )
        grid["annee"] = grid["annee"].astype(np.int16)
        return grid

    def objectives(self, logement: pd.DataFrame) -> pd.DataFrame:
        """Accord collectif targets per bailleur × EPCI (≈ 3 600 a year for Haute-Garonne,
        domain.md §1.4, scaled with the lease volume) and the 25 % share per réservataire."""
        years = np.arange(self.spec.first_month.year, self.as_of.year + 1)
        total = 3_600 * self.spec.leases_per_year / 9_300
        stock = logement.groupby(
            ["bailleur_id", self.terr.epci["siren"].to_numpy()[self.com_epci[self.log_com]]],
            observed=True,
        ).size()
        stock = stock[stock >= 50]
        rows = []
        for y in years:
            rows.append(
                pd.DataFrame(
                    {
                        "annee": y,
                        "reservataire_id": None,
                        "epci_siren": stock.index.get_level_values(1),
                        "bailleur_id": stock.index.get_level_values(0),
                        "indicateur": "relogements_prioritaires",
                        "valeur": np.round(total * stock.to_numpy() / stock.sum(), 0),
                    }
                )
            )
            rows.append(
                pd.DataFrame(
                    {
                        "annee": y,
                        "reservataire_id": self.terr.reservataire["id"].to_numpy(),
                        "epci_siren": None,
                        "bailleur_id": None,
                        "indicateur": "part_prioritaires",
                        "valeur": 0.25,
                    }
                )
            )
        frame = pd.concat(rows, ignore_index=True)
        frame["annee"] = frame["annee"].astype(np.int16)
        return frame


DATE_COLUMNS = {
    "date_mise_en_service",
    "date_liberation",
    "date_depot",
    "date_renouvellement",
    "date_radiation",
    "date_debut",
    "date_fin",
    "date_proposition",
    "date_reponse",
    "date_cal",
    "date_signature",
    "date_entree_lieux",
}


def _as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Day numbers become dates; -1 means missing (NULL)."""
    frame = frame.copy()
    for col in frame.columns:
        if col in DATE_COLUMNS:
            days = frame[col].to_numpy(dtype=np.int64)
            values = days.astype("datetime64[D]").astype("datetime64[s]")
            frame[col] = pd.Series(
                np.where(days == -1, np.datetime64("NaT"), values), index=frame.index
            )
        elif col == "rang" and frame[col].dtype.kind == "i" and (frame[col] == -1).any():
            frame[col] = frame[col].astype("Int16").where(frame[col] != -1)
    return frame
