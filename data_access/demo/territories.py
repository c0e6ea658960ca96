"""Territories and actors the synthetic replica is built on.

``departement`` uses the real Haute-Garonne reference (586 communes, 18 EPCI, 19 QPV, the 18
bailleurs of domain.md §4.4); ``national`` builds synthetic départements of the same shape so
the design can be proven at national scale. Every calibration figure cites domain.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE_DIR = Path(__file__).parent / "reference"

# domain.md §4.4: synthetic stock allocation by bailleur (about 97 000 units). The last eight
# share 10 % between them. ``home`` says where the bailleur's stock lies.
BAILLEURS_31 = [
    # nom, nature, share of the departmental stock, home ("metropole", "hors_metropole", "partout")
    ("Toulouse Métropole Habitat", "OPH", 0.18, "metropole"),
    ("Promologis", "ESH", 0.17, "partout"),
    ("La Cité Jardins", "ESH", 0.03, "metropole"),
    ("Patrimoine SA Languedocienne", "ESH", 0.13, "partout"),
    ("Altéal", "ESH", 0.10, "partout"),
    ("SA des Chalets", "ESH", 0.09, "partout"),
    ("3F Occitanie", "ESH", 0.07, "partout"),
    ("CDC Habitat", "SEM", 0.03, "metropole"),
    ("CDC Habitat Social", "ESH", 0.03, "partout"),
    ("OPH 31", "OPH", 0.04, "hors_metropole"),
    ("Mésolia", "ESH", 0.03, "partout"),
    ("ICF Habitat Atlantique", "ESH", 0.0125, "metropole"),
    ("Erilia", "ESH", 0.0125, "partout"),
    ("Domitia Habitat", "ESH", 0.0125, "partout"),
    ("Alogea", "ESH", 0.0125, "hors_metropole"),
    ("Ysalia", "ESH", 0.0125, "partout"),
    ("Sud Massif Central Habitat", "ESH", 0.0125, "hors_metropole"),
    ("Maisons Claires", "COOP", 0.0125, "hors_metropole"),
]

# domain.md §4.3: stock by EPCI (Toulouse Métropole ≈ 72 %, Sicoval ≈ 7 %, Muretain ≈ 6 %,
# other Grande agglomération EPCI ≈ 5 %, rest of the département ≈ 10 %). Keys match EPCI names.
STOCK_SHARE_31 = {"Toulouse Métropole": 0.72, "Sicoval": 0.07, "Muretain": 0.06}
GRANDE_AGGLO_OTHERS = (
    "Save au Touch",
    "Coteaux du Girou",
    "Grand Ouest Toulousain",
    "Frontonnais",
    "Coteaux Bellevue",
)
# Demand relative to supply (tension differs by EPCI, domain.md §4.3): > 1 means tenser.
TENSION_31 = {"Toulouse Métropole": 1.12, "Sicoval": 1.2, "Muretain": 1.0}
# Communes holding reservation rights of their own (largest social stocks).
COMMUNES_RESERVATAIRES_31 = ["31555", "31149", "31557", "31069", "31395", "31157", "31044", "31483"]
EPCI_RESERVATAIRES_31 = ("Toulouse Métropole", "Sicoval", "Muretain")


@dataclass
class Territory:
    """Everything the generator needs to know about the area it fills."""

    departement: pd.DataFrame  # code, nom
    epci: pd.DataFrame  # siren, nom, nature, departement
    commune: pd.DataFrame  # code_insee, nom, epci_siren, population, departement
    qpv: pd.DataFrame  # code_qpv, nom, commune_code
    bailleur: pd.DataFrame  # id, nom, siren, nature, share
    #: bailleur × commune affinity (rows: bailleurs, columns: communes), 0 = never present
    bailleur_affinity: np.ndarray
    #: per commune: share of the national/departmental social stock
    stock_weight: np.ndarray
    #: per commune: demand pressure multiplier (tension)
    tension: np.ndarray
    #: per commune: share of its stock located in a QPV
    qpv_share: np.ndarray
    reservataire: pd.DataFrame  # id, nom, nature, territoire_code, departement
    #: numéro unique prefix per commune (département code on 3 characters)
    label: str


def _stock_weight(population: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Social stock concentrates in larger communes; most small villages have none."""
    weight = population.astype(float) ** 1.25
    keep = np.where(
        population < 500,
        rng.random(len(population)) < 0.15,
        np.where(population < 2000, rng.random(len(population)) < 0.55, True),
    )
    return weight * keep


def departement_31(rng: np.random.Generator) -> Territory:
    """Haute-Garonne: the real communes, EPCI and QPV, calibrated on domain.md §4.3–4.4."""
    commune = pd.read_csv(
        REFERENCE_DIR / "communes_31.csv", dtype={"code_insee": str, "epci_siren": str}
    )
    epci = pd.read_csv(REFERENCE_DIR / "epci_31.csv", dtype={"siren": str})[
        ["siren", "nom", "nature"]
    ]
    qpv = pd.read_csv(REFERENCE_DIR / "qpv_31.csv", dtype={"commune_code": str})
    commune["departement"] = "31"
    epci["departement"] = "31"
    population = commune["population"].to_numpy()

    def epci_matching(fragment: str) -> str:
        matches = epci.loc[epci["nom"].str.contains(fragment, regex=False), "siren"]
        if len(matches) != 1:
            raise ValueError(f"EPCI introuvable ou ambigu dans la référence : {fragment}")
        return matches.iloc[0]

    weight = _stock_weight(population, rng)
    named = {epci_matching(k): share for k, share in STOCK_SHARE_31.items()}
    agglo = {epci_matching(k) for k in GRANDE_AGGLO_OTHERS if epci["nom"].str.contains(k).any()}
    rest_share = 1 - sum(named.values())
    agglo_share, other_share = 0.05, rest_share - 0.05
    in_named = commune["epci_siren"].isin(named)
    in_agglo = commune["epci_siren"].isin(agglo)
    for siren, share in named.items():
        mask = (commune["epci_siren"] == siren).to_numpy()
        weight[mask] *= share / weight[mask].sum()
    for mask, share in (
        (in_agglo.to_numpy(), agglo_share),
        ((~in_named & ~in_agglo).to_numpy(), other_share),
    ):
        if weight[mask].sum() > 0:
            weight[mask] *= share / weight[mask].sum()

    tension = np.full(len(commune), 0.75) * rng.uniform(0.8, 1.2, size=len(commune))
    for name, factor in TENSION_31.items():
        tension[(commune["epci_siren"] == epci_matching(name)).to_numpy()] = factor
    tension[in_agglo.to_numpy()] = 0.95

    qpv_share = np.zeros(len(commune))
    qpv_count = qpv.groupby("commune_code").size()
    for code, n in qpv_count.items():
        qpv_share[(commune["code_insee"] == code).to_numpy()] = min(0.45, 0.12 + 0.025 * n)

    metropole = (commune["epci_siren"] == epci_matching("Toulouse Métropole")).to_numpy()
    bailleur, affinity = _bailleurs_31(metropole)

    reservataire = _reservataires(
        departements=pd.DataFrame({"code": ["31"], "nom": ["Haute-Garonne"]}),
        epci=epci[epci["nom"].apply(lambda n: any(k in n for k in EPCI_RESERVATAIRES_31))],
        communes=commune[commune["code_insee"].isin(COMMUNES_RESERVATAIRES_31)],
        bailleur=bailleur,
        national_action_logement=False,
    )
    return Territory(
        departement=pd.DataFrame({"code": ["31"], "nom": ["Haute-Garonne"]}),
        epci=epci,
        commune=commune[["code_insee", "nom", "epci_siren", "population", "departement"]],
        qpv=qpv[["code_qpv", "nom", "commune_code"]],
        bailleur=bailleur,
        bailleur_affinity=affinity,
        stock_weight=weight / weight.sum(),
        tension=tension,
        qpv_share=qpv_share,
        reservataire=reservataire,
        label="Haute-Garonne (démonstration)",
    )


def _bailleurs_31(metropole: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    rows, affinity = [], []
    for i, (nom, nature, share, home) in enumerate(BAILLEURS_31, start=1):
        rows.append({"id": i, "nom": nom, "siren": None, "nature": nature, "share": share})
        if home == "metropole":  # e.g. TMH: 98.7 % of its stock in the agglomeration
            affinity.append(np.where(metropole, 1.0, 0.02))
        elif home == "hors_metropole":
            affinity.append(np.where(metropole, 0.05, 1.0))
        else:
            affinity.append(np.ones(len(metropole)))
    return pd.DataFrame(rows), np.vstack(affinity)


def _reservataires(
    departements, epci, communes, bailleur, national_action_logement
) -> pd.DataFrame:
    """One réservataire per right holder: the State (two contingents) and the Département per
    département, Action Logement, the main EPCI and communes, each bailleur's own stock, and
    other employers."""
    rows = []

    def add(nom, nature, territoire, departement):
        rows.append(
            {
                "id": len(rows) + 1,
                "nom": nom,
                "nature": nature,
                "territoire_code": territoire,
                "departement": departement,
            }
        )

    for dep in departements.itertuples():
        add(f"Préfet – contingent prioritaire ({dep.nom})", "etat_prioritaire", dep.code, dep.code)
        add(f"Préfet – agents publics ({dep.nom})", "etat_fonctionnaires", dep.code, dep.code)
        add(f"Conseil départemental ({dep.nom})", "departement", dep.code, dep.code)
        if not national_action_logement:
            add("Action Logement Services", "action_logement", None, dep.code)
    if national_action_logement:
        add("Action Logement Services", "action_logement", None, None)
    for e in epci.itertuples():
        add(e.nom, "epci", e.siren, e.departement)
    for c in communes.itertuples():
        add(f"Ville de {c.nom}", "commune", c.code_insee, c.departement)
    for b in bailleur.itertuples():
        add(f"{b.nom} – logements non réservés", "bailleur", str(b.id), None)
    add("Autres employeurs et ministères", "autre", None, None)
    return pd.DataFrame(rows)


#: The 96 metropolitan département codes (Corsica as 2A and 2B): commune codes stay 5 characters.
METROPOLE = [f"{d:02d}" for d in range(1, 20)] + ["2A", "2B"] + [f"{d:02d}" for d in range(21, 96)]


def national(
    rng: np.random.Generator, epci_per_dep: int = 12, communes_per_epci: int = 30
) -> Territory:
    """Synthetic France: 96 départements of Haute-Garonne's shape, one OPH each, national ESH."""
    n_departements = len(METROPOLE)
    n_epci = n_departements * epci_per_dep
    n_com = n_epci * communes_per_epci
    dep_codes = np.array(METROPOLE)
    departement = pd.DataFrame({"code": dep_codes, "nom": [f"Département {c}" for c in dep_codes]})
    epci_dep = np.repeat(np.arange(n_departements), epci_per_dep)
    epci_rank = np.tile(np.arange(epci_per_dep), n_departements)
    epci = pd.DataFrame(
        {
            "siren": [f"2{d:02d}{k:06d}" for d, k in zip(epci_dep, np.arange(n_epci))],
            "nom": [f"EPCI {dep_codes[d]}-{r + 1:02d}" for d, r in zip(epci_dep, epci_rank)],
            "nature": np.where(epci_rank == 0, "CA", "CC"),
            "departement": dep_codes[epci_dep],
        }
    )
    epci.loc[epci.index % (epci_per_dep * 10) == 0, "nature"] = "METRO"
    com_epci = np.repeat(np.arange(n_epci), communes_per_epci)
    com_rank = np.tile(np.arange(communes_per_epci), n_epci)
    # Zipf-like populations: a big central commune per EPCI, bigger in the first EPCI.
    population = (
        rng.lognormal(7.0, 1.1, n_com)
        * np.where(com_rank == 0, 20.0, 1.0)
        * np.where(epci_rank[com_epci] == 0, 8.0, 1.0)
    ).astype(np.int64) + 50
    dep_of_com = epci_dep[com_epci]
    code_insee = np.array(
        [
            f"{dep_codes[d]}{(e % epci_per_dep) * communes_per_epci + r + 1:03d}"
            for d, e, r in zip(dep_of_com, com_epci, com_rank)
        ]
    )
    commune = pd.DataFrame(
        {
            "code_insee": code_insee,
            "nom": [f"Commune {c}" for c in code_insee],
            "epci_siren": epci["siren"].to_numpy()[com_epci],
            "population": population,
            "departement": dep_codes[dep_of_com],
        }
    )
    weight = _stock_weight(population, rng)
    tension = np.where(epci_rank[com_epci] == 0, 1.15, 0.8) * rng.uniform(0.8, 1.2, n_com)
    # QPV in the central communes of the two main EPCI of each département.
    qpv_com = np.flatnonzero((com_rank == 0) & (epci_rank[com_epci] < 2))
    qpv = pd.DataFrame(
        {
            "code_qpv": [f"QN{code_insee[i]}{k}" for i in qpv_com for k in range(3)],
            "nom": [f"Quartier {k + 1} de {code_insee[i]}" for i in qpv_com for k in range(3)],
            "commune_code": [code_insee[i] for i in qpv_com for _ in range(3)],
        }
    )
    qpv_share = np.zeros(n_com)
    qpv_share[qpv_com] = 0.3

    # One OPH per département (40 % of the stock together), 30 national ESH (55 %), 5 SEM (5 %).
    names = (
        [f"OPH {c}" for c in dep_codes]
        + [f"ESH nationale {k + 1:02d}" for k in range(30)]
        + [f"SEM {k + 1}" for k in range(5)]
    )
    natures = ["OPH"] * n_departements + ["ESH"] * 30 + ["SEM"] * 5
    shares = np.r_[
        np.full(n_departements, 0.40 / n_departements),
        rng.dirichlet(np.ones(30) * 2) * 0.55,
        np.full(5, 0.01),
    ]
    bailleur = pd.DataFrame(
        {
            "id": np.arange(1, len(names) + 1),
            "nom": names,
            "siren": None,
            "nature": natures,
            "share": shares,
        }
    )
    affinity = np.ones((len(names), n_com))
    affinity[:n_departements] = (dep_of_com[None, :] == np.arange(n_departements)[:, None]) * 1.0
    # Each département has its OPH; spread weights so the share rule still holds nationally.
    affinity[:n_departements] *= n_departements

    big_epci = epci[epci_rank < 2]
    big_communes = commune[com_rank == 0].groupby("departement").head(4)
    reservataire = _reservataires(
        departement, big_epci, big_communes, bailleur, national_action_logement=True
    )
    return Territory(
        departement=departement,
        epci=epci,
        commune=commune,
        qpv=qpv,
        bailleur=bailleur,
        bailleur_affinity=affinity,
        stock_weight=weight / weight.sum(),
        tension=tension,
        qpv_share=qpv_share,
        reservataire=reservataire,
        label="France (synthétique)",
    )
