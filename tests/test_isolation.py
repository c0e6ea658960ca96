"""Isolation of profiles, as the pages' states serve them: every profile kind × both pages ×
every export × forged address parameters. For each: the figures equal the independent count
(tests/oracle.py) restricted to the profile's scope; a forged value outside it is refused in
French and changes nothing; no file names a member outside the scope. (The served pages are
driven in Chromium for the same rules in tests/ui/test_sign_in.py; statistical secrecy of
the protected profiles is checked in tests/test_secrecy_pages.py.)"""

from __future__ import annotations

import pytest

from dashboards.access import load_profiles
from dashboards.state.demand_supply import DemandSupplyState
from dashboards.state.rehousing import TABLES, RehousingState
from data_access import FilterError, Filters
from tests import oracle

SICOVAL, TARN_AGOUT = "243100633", "200034023"
AUZIELLE, COLOMIERS = "31036", "31149"
PROMOLOGIS, ALTEAL = 2, 5

PROFILES = f"""
[profils.ddets]
type = "ddets"
domaines = ["haute-garonne.gouv.fr"]

[profils.cd]
type = "cd"
domaines = ["cd31.fr"]

[profils.sicoval]
type = "epci"
epci = ["{SICOVAL}"]
utilisateurs = ["a"]

[profils.sicoval-exact]
type = "epci"
epci = ["{SICOVAL}"]
secret = "exact"
utilisateurs = ["b"]

[profils.auzielle]
type = "commune"
communes = ["{AUZIELLE}"]
utilisateurs = ["c"]

[profils.promologis]
type = "bailleur"
bailleurs = [{PROMOLOGIS}]
utilisateurs = ["d"]

[profils.promologis-exact]
type = "bailleur"
bailleurs = [{PROMOLOGIS}]
secret = "exact"
utilisateurs = ["e"]

[profils.action-logement]
type = "reservataire"
reservataires = [2]
utilisateurs = ["f"]
"""

#: A forged value outside each kind of scope: (address parameter, code).
FORGED = {
    "epci": ("epci", TARN_AGOUT),
    "commune": ("communes", COLOMIERS),
    "bailleur": ("bailleurs", str(ALTEAL)),
    "reservataire": ("reservataires", "7"),
}


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    path = tmp_path_factory.mktemp("profils") / "profils.toml"
    path.write_text(PROFILES, encoding="utf-8")
    return {p.key: p for p in load_profiles(path).profiles}


def scope_filters(scope, **period) -> Filters:
    return Filters(
        **period,
        epci=list(scope.epci or ()),
        communes=list(scope.communes or ()),
        bailleurs=list(scope.bailleurs or ()),
        reservataires=list(scope.reservataires or ()),
    )


def outsiders(raw, scope) -> list[str]:
    """Names of members outside the scope that a leak would print: other EPCI, communes
    outside the scope's territory, other bailleurs, other réservataires."""
    names = []
    epci = oracle.labels(raw, "epci")
    communes = raw["commune"].set_index("code_insee")
    if scope.epci is not None:
        names += [n for c, n in epci.items() if c not in scope.epci]
        names += list(communes.loc[~communes["epci_siren"].isin(scope.epci), "nom"])
    if scope.communes is not None:
        names += list(communes.loc[~communes.index.isin(scope.communes), "nom"])
    places = set(epci) | set(communes["nom"])
    for axis in ("bailleurs", "reservataires"):
        kept = getattr(scope, axis)
        if kept is not None:
            labels = oracle.labels(raw, axis[:-1])
            # a collectivity réservataire bears its territory's name, which its tables show
            names += [n for c, n in labels.items() if c not in kept and n not in places]
    # a name inside another (« Aussonne » in « Aussonnelle ») would be a false alarm
    return [n for n in names if len(n) > 5]


PROFILE_KEYS = [
    "ddets", "cd", "sicoval", "sicoval-exact", "auzielle", "promologis", "promologis-exact",
    "action-logement",
]  # fmt: skip


@pytest.mark.parametrize("key", PROFILE_KEYS)
def test_each_profile_sees_its_scope_on_every_page_and_file(
    cached_replica, raw_tables, profiles, key
):
    profile = profiles[key]
    replica = cached_replica.scoped(profile.scope)
    state = RehousingState(replica, protected=not profile.exact)
    k = replica.settings.secrecy_k
    truth = oracle.monthly_rehousing(
        raw_tables, scope_filters(profile.scope, start=state.period.start, end=state.period.end)
    )["relogements"].sum()
    shown = state.key_figures().set_index("fenetre").loc["periode", "relogements"]
    assert shown == truth or (isinstance(shown, str) and 1 <= truth < k)

    # forged address parameters: refused in French, nothing changes
    before = state.key_figures().to_dict()
    for axis, (name, code) in FORGED.items():
        kept = getattr(profile.scope, {"epci": "epci"}.get(axis, axis + "s"))
        if kept is None and not (axis == "commune" and profile.scope.epci):
            continue  # the profile sees every member of that axis
        notices = state.apply_query({name: code})
        assert any("hors de votre périmètre" in n or "non disponible" in n for n in notices), (
            axis,
            notices,
        )
        assert state.key_figures().to_dict() == before

    # every file of the page: within the scope, and said so
    names = outsiders(raw_tables, profile.scope)
    for table in TABLES:
        for fmt in ("csv", "xlsx"):
            try:
                _, content = state.export(table, fmt)
            except FilterError as err:  # not published for a protected profile
                assert not profile.exact and "secret statistique" in str(err)
                continue
            if fmt == "csv":
                text = content.decode("utf-8-sig")
                leaked = [n for n in names if f";{n};" in text or f"\n{n};" in text]
                assert leaked == [], (table, leaked[:5])

    # the map: the scope's territories only (protected or not)
    map_state = DemandSupplyState(replica, protected=not profile.exact)
    values = map_state.values()
    inside = values[values["dans_selection"]]
    epci_of = raw_tables["commune"].set_index("code_insee")["epci_siren"]
    if profile.scope.epci is not None:
        assert set(epci_of.reindex(inside.index)) <= set(profile.scope.epci)
    if profile.scope.communes is not None:
        assert set(inside.index) <= set(profile.scope.communes)
    assert len(inside) > 0
