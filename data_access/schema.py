"""The replica contract: the views we read, as SQLAlchemy ``Table`` objects.

The shared file's IT maps its own tables to these views (same names, same columns), so the
product runs on any such file; the demo generator writes exactly these tables. Keys are
stable codes, never names. Column comments are written for that IT team, in French, and
the README's « Brancher votre réplique » section is generated from them
(``relog contrat``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
)

metadata = MetaData()


def _col(name, type_, comment, **kw):
    return Column(name, type_, comment=comment, **kw)


# ---------------------------------------------------------------- territories
epci = Table(
    "epci",
    metadata,
    _col("siren", String(9), "SIREN de l'EPCI à fiscalité propre (9 chiffres)", primary_key=True),
    _col("nom", String, "Nom officiel de l'EPCI"),
    _col("nature", String, "Nature juridique : METRO, CU, CA ou CC"),
    comment="EPCI du territoire couvert (Code officiel géographique)",
)

commune = Table(
    "commune",
    metadata,
    _col("code_insee", String(5), "Code INSEE de la commune (COG en vigueur)", primary_key=True),
    _col("nom", String, "Nom officiel de la commune"),
    _col("epci_siren", String(9), "SIREN de l'EPCI dont la commune est membre"),
    _col("population", Integer, "Population municipale légale"),
    comment="Communes du territoire couvert et leur EPCI",
)

qpv = Table(
    "qpv",
    metadata,
    _col(
        "code_qpv",
        String,
        "Code du quartier prioritaire de la politique de la ville",
        primary_key=True,
    ),
    _col("nom", String, "Nom du quartier"),
    _col("commune_code", String(5), "Code INSEE de la commune principale du quartier"),
    comment="Quartiers prioritaires de la politique de la ville (QPV)",
)

# ---------------------------------------------------------------- actors
bailleur = Table(
    "bailleur",
    metadata,
    _col("id", Integer, "Identifiant stable du bailleur dans le fichier partagé", primary_key=True),
    _col("nom", String, "Raison sociale"),
    _col("siren", String(9), "SIREN de l'organisme"),
    _col("nature", String, "OPH, ESH, SEM ou COOP"),
    comment="Bailleurs sociaux adhérents du fichier partagé",
)

reservataire = Table(
    "reservataire",
    metadata,
    _col("id", Integer, "Identifiant stable du réservataire", primary_key=True),
    _col("nom", String, "Libellé du réservataire"),
    _col(
        "nature",
        String,
        "etat_prioritaire, etat_fonctionnaires, action_logement, departement, epci, commune, "
        "bailleur (logements non réservés) ou autre",
    ),
    _col(
        "territoire_code",
        String,
        "Pour une commune : code INSEE ; pour un EPCI : SIREN ; "
        "pour un bailleur : son id ; sinon vide",
    ),
    comment="Titulaires de droits de réservation (contingents, gestion en flux)",
)

# ---------------------------------------------------------------- supply
logement = Table(
    "logement",
    metadata,
    _col("id", BigInteger, "Identifiant stable du logement", primary_key=True),
    _col("rpls_id", String, "Identifiant RPLS du logement"),
    _col("bailleur_id", Integer, "Bailleur propriétaire (bailleur.id)"),
    _col("commune_code", String(5), "Code INSEE de la commune du logement"),
    _col("qpv_code", String, "Code QPV si le logement est situé en QPV, sinon vide"),
    _col("typologie", String, "T1, T2, T3, T4 ou T5 (T5 et plus)"),
    _col("financement", String, "PLAI, PLUS (ou équivalent HLM ancien) ou PLS"),
    _col("date_mise_en_service", Date, "Date de première mise en service"),
    comment="Parc social (RPLS)",
)

offre = Table(
    "offre",
    metadata,
    _col("id", BigInteger, "Identifiant de l'offre", primary_key=True),
    _col("logement_id", BigInteger, "Logement libéré (logement.id)"),
    _col(
        "reservataire_id", Integer, "Réservataire à qui le logement est orienté (reservataire.id)"
    ),
    _col("date_liberation", Date, "Date à laquelle le logement a été déclaré libre"),
    _col("mode", String, "flux (gestion en flux) ou stock (ancien régime de réservation)"),
    comment="Logements libérés orientés vers un réservataire",
)

# ---------------------------------------------------------------- demand
demande = Table(
    "demande",
    metadata,
    _col("id", BigInteger, "Identifiant de la demande", primary_key=True),
    _col("numero_unique", String, "Numéro unique départemental"),
    _col("date_depot", Date, "Date de dépôt (fixe l'ancienneté, conservée au renouvellement)"),
    _col("date_renouvellement", Date, "Date du dernier renouvellement, vide si jamais renouvelée"),
    _col("date_radiation", Date, "Date de radiation, vide si la demande est active"),
    _col(
        "motif_radiation",
        String,
        "attribution, renonciation, non_renouvellement, irrecevabilite ou injoignable",
    ),
    _col("mutation", Boolean, "Vrai si le ménage est déjà locataire du parc social"),
    _col("nb_personnes", SmallInteger, "Nombre de personnes du ménage"),
    _col("typologie_recherchee", String, "Typologie recherchée : T1 à T5"),
    _col("revenu_mensuel", Float, "Revenus mensuels totaux du ménage (euros), champ SNE"),
    _col("unites_consommation", Float, "Unités de consommation du ménage"),
    _col("commune_residence_code", String(5), "Code INSEE de la commune de résidence actuelle"),
    _col(
        "nb_communes_souhaitees",
        SmallInteger,
        "Nombre de communes souhaitées par la demande, égal à son nombre de lignes dans "
        "demande_commune (le dossier le porte ; sinon, le compter à l'extraction)",
    ),
    comment="Demandes de logement social",
)

demande_commune = Table(
    "demande_commune",
    metadata,
    _col("demande_id", BigInteger, "Demande (demande.id)", primary_key=True),
    _col("rang", SmallInteger, "Rang du souhait (1 = premier choix)", primary_key=True),
    _col("commune_code", String(5), "Code INSEE de la commune souhaitée"),
    comment="Communes souhaitées par chaque demande",
)

priorite = Table(
    "priorite",
    metadata,
    _col("demande_id", BigInteger, "Demande (demande.id)"),
    _col("critere", String, "Code du critère : DALO, ACD ou un critère L441-1 (voir la liste)"),
    _col("source", String, "COMED, SIAO, PDALHPD, SYPLO, IMHOWEB_AUTO ou BAILLEUR"),
    _col("date_debut", Date, "Date à partir de laquelle le critère est reconnu"),
    _col("date_fin", Date, "Date de fin de validité, vide si toujours valable"),
    comment="Critères de priorité des demandes, versionnés dans le temps",
)

# ---------------------------------------------------------------- allocation
proposition = Table(
    "proposition",
    metadata,
    _col("id", BigInteger, "Identifiant de la proposition", primary_key=True),
    _col("demande_id", BigInteger, "Demande candidate (demande.id)"),
    _col("offre_id", BigInteger, "Offre sur laquelle le ménage est positionné (offre.id)"),
    _col("reservataire_id", Integer, "Réservataire qui a désigné le candidat"),
    _col("date_proposition", Date, "Date de la proposition faite au ménage"),
    _col("reponse", String, "acceptee, refusee, sans_reponse (vaut refus) ou en_attente"),
    _col("date_reponse", Date, "Date de la réponse du ménage, vide si en attente"),
    _col("motif_refus", String, "Motif du refus par le ménage"),
    comment="Propositions de logement faites aux ménages",
)

decision_cal = Table(
    "decision_cal",
    metadata,
    _col("id", BigInteger, "Identifiant de la décision", primary_key=True),
    _col("proposition_id", BigInteger, "Proposition examinée (proposition.id)"),
    _col("date_cal", Date, "Date de la CALEOL"),
    _col(
        "decision",
        String,
        "attribution, attribution_rang, attribution_sous_condition, non_attribution, "
        "irrecevable ou ajournement",
    ),
    _col("rang", SmallInteger, "Rang de classement pour une attribution par rang"),
    _col("motif", String, "Motif d'une non-attribution ou d'une irrecevabilité"),
    comment="Décisions des commissions d'attribution (CALEOL)",
)

bail = Table(
    "bail",
    metadata,
    _col("id", BigInteger, "Identifiant du bail", primary_key=True),
    _col("demande_id", BigInteger, "Demande satisfaite (demande.id)"),
    _col("logement_id", BigInteger, "Logement attribué (logement.id)"),
    _col("reservataire_id", Integer, "Réservataire sur le contingent duquel le bail est compté"),
    _col("proposition_id", BigInteger, "Proposition acceptée qui a conduit au bail"),
    _col("date_signature", Date, "Date de signature du bail : date du relogement"),
    _col("date_entree_lieux", Date, "Date d'entrée dans les lieux"),
    comment="Baux signés : chaque bail est un relogement",
)

# ---------------------------------------------------------------- references and objectives
seuil_q1 = Table(
    "seuil_q1",
    metadata,
    _col("epci_siren", String(9), "EPCI (epci.siren)", primary_key=True),
    _col("annee", SmallInteger, "Année d'application", primary_key=True),
    _col("montant", Float, "Seuil de ressources du premier quartile, euros par UC et par an"),
    comment="Seuils du premier quartile par EPCI (arrêté annuel)",
)

objectif = Table(
    "objectif",
    metadata,
    _col("annee", SmallInteger, "Année de l'objectif"),
    _col("reservataire_id", Integer, "Réservataire concerné, vide si tous"),
    _col("epci_siren", String(9), "Territoire concerné, vide si tout le département"),
    _col("bailleur_id", Integer, "Bailleur concerné, vide si tous"),
    _col(
        "indicateur",
        String,
        "relogements_prioritaires (nombre annuel, accord collectif) ou part_prioritaires (taux)",
    ),
    _col("valeur", Float, "Valeur de l'objectif annuel"),
    comment="Objectifs annuels (accord collectif départemental, obligations légales)",
)

replica_meta = Table(
    "replica_meta",
    metadata,
    _col(
        "cle",
        String,
        "extraction (horodatage ISO de l'extraction), version, source, echelle",
        primary_key=True,
    ),
    _col("valeur", String, "Valeur"),
    comment="Métadonnées de la réplique",
)

#: The contract's views, in the order they are documented.
TABLES = dict(metadata.tables)

# ---------------------------------------------------------------- code lists
#: Priority criteria, in precedence order for the "main criterion":
#: DALO > ACD/PDALHPD label > other L441-1 criteria (domain.md §1.3).
CRITERES: dict[str, tuple[str, str]] = {
    "DALO": ("DALO (reconnu prioritaire et urgent)", "DALO"),
    "ACD": ("Labellisé accord collectif / PDALHPD", "ACD"),
    "a_HANDICAP": ("a – Handicap", "L441-1"),
    "a_bis_ACT": ("a bis – Sortie d'appartement de coordination thérapeutique", "L441-1"),
    "b_MAL_LOGE_DEFAVORISE": ("b – Mal logé ou défavorisé", "L441-1"),
    "c_HEBERGE_TRANSITION": ("c – Hébergé ou en logement de transition", "L441-1"),
    "d_REPRISE_ACTIVITE": ("d – Reprise d'activité après chômage de longue durée", "L441-1"),
    "e_HABITAT_INDIGNE": ("e – Habitat indigne", "L441-1"),
    "f_VIOLENCES": ("f – Violences conjugales ou familiales", "L441-1"),
    "g_PROSTITUTION": ("g – Sortie de la prostitution", "L441-1"),
    "h_TRAITE": ("h – Victime de traite ou de proxénétisme", "L441-1"),
    "i_SUROCCUPATION_MINEUR": ("i – Suroccupation ou logement non décent avec mineur", "L441-1"),
    "j_SANS_LOGEMENT": ("j – Dépourvu de logement", "L441-1"),
    "k_EXPULSION": ("k – Menacé d'expulsion sans relogement", "L441-1"),
    "l_ASE_JEUNE": ("l – Jeune sortant de l'aide sociale à l'enfance", "L441-1"),
    "m_VIOLENCES_SEXUELLES": ("m – Victime de viol ou d'agression sexuelle", "L441-1"),
}
#: Pseudo-criterion of a rehousing without any priority criterion.
SANS_CRITERE = ("AUCUN", "Sans critère de priorité")

GROUPES_CRITERE = {"DALO": "DALO", "ACD": "ACD / PDALHPD", "L441-1": "Autres critères L441-1"}

NATURES_RESERVATAIRE: dict[str, str] = {
    "etat_prioritaire": "État – contingent prioritaire",
    "etat_fonctionnaires": "État – agents publics",
    "action_logement": "Action Logement",
    "departement": "Département",
    "epci": "EPCI",
    "commune": "Commune",
    "bailleur": "Bailleur (non réservé)",
    "autre": "Autre réservataire",
}

DECISIONS_CAL: dict[str, str] = {
    "attribution": "Attribution",
    "attribution_rang": "Attribution par rang",
    "attribution_sous_condition": "Attribution sous condition suspensive",
    "non_attribution": "Non-attribution",
    "irrecevable": "Irrecevabilité",
    "ajournement": "Ajournement",
}
#: CAL decisions that grant the dwelling (possibly ranked or conditional).
DECISIONS_POSITIVES = ("attribution", "attribution_rang", "attribution_sous_condition")

REPONSES_REFUS = ("refusee", "sans_reponse")
