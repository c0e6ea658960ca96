"""``relog``: the one entry point (demo data, serving the dashboards, benchmark, contract).

Files go to the data directory (``RELOG_DATA_DIR``, see :mod:`data_access.settings`), never
into the installed package. ``relog bench`` needs a checkout (the benchmark and the
PostgreSQL harness it starts are not part of the installed product)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import dashboards
from data_access.errors import RelogError
from data_access.settings import load_settings

#: One file per route: /app (also the index, /), /carte, /objectifs and /reunion.
APPS = [
    Path(dashboards.__file__).parent / name
    for name in ("app.py", "carte.py", "objectifs.py", "reunion.py")
]
#: Served only with sign-in: the audit log, for the admin profile.
SIGNED_IN_APPS = [Path(dashboards.__file__).parent / "journal.py"]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date invalide : {text!r} (format attendu : AAAA-MM-JJ)"
        ) from None


def cmd_demo(args) -> int:
    from data_access.demo import build_demo, load_postgres
    from data_access.errors import ReplicaUnavailable

    settings = load_settings()
    in_data_dir = settings.data_dir / f"demo-{args.scale}.duckdb"
    default = settings.demo_path if args.scale == "departement" else in_data_dir
    out = str(args.out or default)
    to_postgres = out.startswith("postgresql")
    if args.source:
        duck = Path(args.source)
        if not duck.is_file():
            raise ReplicaUnavailable(f"Fichier DuckDB introuvable : {duck}.")
    else:
        duck = Path(out) if not to_postgres else in_data_dir
        t0 = time.perf_counter()
        print(
            f"Génération de la réplique de démonstration ({args.scale}, graine {args.seed})…",
            flush=True,
        )
        build_demo(duck, scale=args.scale, seed=args.seed, as_of=args.as_of)
        print(f"Écrite dans {duck} en {time.perf_counter() - t0:.1f} s.")
    if to_postgres:
        t0 = time.perf_counter()
        load_postgres(duck, out)
        print(f"Chargée dans PostgreSQL en {time.perf_counter() - t0:.1f} s.")
    return 0


def cmd_serve(args) -> int:
    """Serve the dashboards with ``panel serve`` (replaces this process). Without sign-in
    (no ``RELOG_AUTH``) only on this machine; with it, behind the configured sign-in
    (:func:`dashboards.access.serve_options`)."""
    from dashboards.access import load_access_settings, serve_options

    access = load_access_settings()
    options, env = serve_options(
        access, args.address, args.port, list(args.allow_websocket_origin or [])
    )
    command = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        *map(str, APPS + (SIGNED_IN_APPS if access.enabled else [])),
        "--port",
        str(args.port),
        "--address",
        args.address,
        "--index",
        "app",
        "--liveness",
        # a page request is answered with the HTML of an earlier session of the route (the
        # template's, identical for every user: dashboards.layout._template) and the new
        # session is built meanwhile: the browser loads the scripts while the server builds
        # (first render −0.16 s on the rehousing page). The first session of each route
        # serves as the model and stays in memory.
        "--reuse-sessions",
        "warm",
        # Sessions nobody holds (a page request whose browser never connected: a link
        # preview, a scanner, a flood) are dropped 10 s after, checked every 5 s (Bokeh's
        # defaults: 15 and 17 s); a session whose browser left goes the same way. A page's
        # token is good 2 minutes for its websocket (default 5). A ping every 20 s keeps an
        # idle page's websocket open through a proxy that cuts silent ones at 60 s (nginx).
        "--unused-session-lifetime",
        "10000",
        "--check-unused-sessions",
        "5000",
        "--session-token-expiration",
        "120",
        "--keep-alive",
        "20000",
        # /sante and /metriques (dashboards.monitoring)
        "--plugins",
        "dashboards.monitoring",
        *options,
    ]
    # No --num-threads: with a thread pool, two quick changes of one session run at once and
    # the slower, older result may be drawn last. Events stay in order on the event loop;
    # queries are tens of milliseconds and cached across sessions.
    if args.show:
        command.append("--show")
    if access.enabled:
        print(f"Tableaux de bord sur {access.public_url or f'http://{args.address}:{args.port}'}/ "
              f"(connexion : {access.mode})", flush=True)  # fmt: skip
    else:
        print(
            f"Tableaux de bord sur http://{args.address}:{args.port}/ "
            "(sans authentification : cette machine seulement)",
            flush=True,
        )
    os.execve(sys.executable, command, {**os.environ, **env})


def cmd_summarise(args) -> int:
    """Build the replica's summary when its data call for one; with ``--watch``, keep doing
    it (a service: one per deployment, the store's lock sees to it)."""
    import logging

    from data_access.execution import Execution
    from data_access.formatting import seconds_label
    from data_access.summaries import SummaryBusy, SummaryStore, build_summary, needs_build

    settings = load_settings()
    interval = args.intervalle if args.intervalle is not None else settings.summary_interval_s
    store = SummaryStore.of(settings.database_url, settings)
    replica = Execution(settings.database_url, settings, cache=False)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def once(force: bool) -> None:
        live = replica.freshness()
        current = store.current()
        if not force and not needs_build(current, live, interval):
            print(f"Résumé à jour ({current.freshness()}), construit le "
                  f"{current.built_at.astimezone():%d/%m/%Y à %H:%M}.", flush=True)  # fmt: skip
            return
        summary = build_summary(settings.database_url, settings, store)
        size = summary.path.stat().st_size / 1e6
        print(f"Résumé construit en {seconds_label(summary.build_s)} ({size:.0f} Mo, "
              f"{summary.freshness()}) : {summary.path}", flush=True)  # fmt: skip

    try:
        if not args.watch:
            once(args.force)
            return 0
        print(f"Résumés tenus à jour (vérification toutes les {seconds_label(args.verifier)}, "
              f"au plus un toutes les {seconds_label(interval)} sur un serveur de secours).",
              flush=True)  # fmt: skip
        force = args.force
        while True:
            try:
                once(force)
                force = False
            except SummaryBusy as err:
                print(f"{err} Nouvel essai plus tard.", flush=True)
            except RelogError as err:  # the replica is down: try again at the next check
                print(f"Erreur : {err}", file=sys.stderr, flush=True)
            time.sleep(args.verifier)
    finally:
        replica.dispose()


def cmd_account(args) -> int:
    """Add or replace a local account (its password hashed, typed twice, never echoed)."""
    import getpass

    from dashboards.access import load_access_settings, save_account

    path = Path(args.fichier) if args.fichier else load_access_settings().accounts_file
    password = os.environ.get("RELOG_NOUVEAU_MOT_DE_PASSE")  # scripts and tests
    if password is None:
        password = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Le même, encore : ") != password:
            raise RelogError("Les deux mots de passe diffèrent : compte inchangé.")
    if len(password) < 12:
        raise RelogError("Mot de passe trop court : 12 caractères au moins.")
    save_account(path, args.nom, password, email=args.courriel)
    print(f"Compte « {args.nom} » enregistré dans {path} (mot de passe haché).")
    return 0


def cmd_bench(args) -> int:
    """The benchmark of a checkout: run from its root (``make bench``)."""
    root = Path.cwd()
    if not (root / "bench" / "queries.py").is_file() or not (root / "tests").is_dir():
        raise RelogError(
            "« relog bench » mesure une copie du dépôt : lancez-le depuis sa racine "
            "(make bench), le banc d'essai et son serveur PostgreSQL n'étant pas installés "
            "avec le produit."
        )
    sys.path.insert(0, str(root))
    from bench.queries import main as bench_main

    return bench_main(args)


def cmd_geodata_fetch(args) -> int:
    """Download the official commune contours of a département into the cache."""
    from geodata.fetch import fetch_communes

    path = fetch_communes(args.departement, Path(args.out_dir) if args.out_dir else None)
    print(f"Contours des communes du département {args.departement} enregistrés dans {path}")
    return 0


def cmd_geodata_derive(args) -> int:
    """Derive the shipped commune and EPCI layers from a public commune file."""
    from data_access import connect
    from geodata.derive import SHIPPED, derive

    replica = connect()
    paths = derive(
        args.communes,
        replica.reference("commune"),
        replica.reference("epci"),
        Path(args.out_dir) if args.out_dir else SHIPPED,
    )
    for path in paths:
        print(f"{path} ({path.stat().st_size / 1e3:.0f} ko)")
    return 0


def cmd_contrat(args) -> int:
    from data_access.contract import contract_markdown, readme_with_contract

    if args.readme:
        readme = Path(args.readme)
        readme.write_text(
            readme_with_contract(readme.read_text(encoding="utf-8")), encoding="utf-8"
        )
        print(f"Section « Brancher votre réplique » de {readme} mise à jour.")
    else:
        print(contract_markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="relog", description="Relogement des publics prioritaires"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="crée la réplique de démonstration (données synthétiques)")
    demo.add_argument(
        "--scale",
        choices=["departement", "national"],
        default="departement",
        help="departement (Haute-Garonne, par défaut) ou national",
    )
    demo.add_argument("--seed", type=int, default=31, help="graine du générateur (défaut : 31)")
    demo.add_argument(
        "--as-of", type=_date, default=None, help="date de référence (défaut : aujourd'hui)"
    )
    demo.add_argument(
        "--out",
        default=None,
        help="fichier DuckDB, ou URL postgresql:// où charger la démo "
        "(défaut : demo-<échelle>.duckdb dans le dossier de données, RELOG_DATA_DIR)",
    )
    demo.add_argument(
        "--from",
        dest="source",
        default=None,
        help="charger un fichier DuckDB existant au lieu de générer",
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="sert les tableaux de bord")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument(
        "--address",
        default="localhost",
        help="adresse d'écoute (défaut : localhost ; une autre exige la connexion, RELOG_AUTH)",
    )
    serve.add_argument("--allow-websocket-origin", action="append")
    serve.add_argument("--show", action="store_true", help="ouvre le navigateur")
    serve.set_defaults(func=cmd_serve)

    summarise = sub.add_parser(
        "summarise",
        help="construit les résumés de la réplique (lus par les pages quand ils sont à jour)",
    )
    summarise.add_argument(
        "--watch", action="store_true", help="reste actif et reconstruit quand les données changent"
    )
    summarise.add_argument(
        "--force", action="store_true", help="reconstruit même si le résumé est à jour"
    )
    summarise.add_argument(
        "--intervalle",
        type=float,
        default=None,
        help="secondes entre deux résumés d'un serveur de secours (défaut : "
        "RELOG_SUMMARY_INTERVAL_S, 900)",
    )
    summarise.add_argument(
        "--verifier",
        type=float,
        default=60.0,
        help="avec --watch, secondes entre deux vérifications de la version des données",
    )
    summarise.set_defaults(func=cmd_summarise)

    account = sub.add_parser("compte", help="comptes locaux (RELOG_AUTH=comptes)")
    account_sub = account.add_subparsers(dest="account_command", required=True)
    add = account_sub.add_parser("ajouter", help="ajoute ou remplace un compte")
    add.add_argument("nom", help="identifiant de connexion")
    add.add_argument("--courriel", default=None, help="adresse électronique (profils par domaine)")
    add.add_argument(
        "--fichier", default=None, help="fichier des comptes (défaut : RELOG_ACCOUNTS_FILE)"
    )
    add.set_defaults(func=cmd_account)

    bench = sub.add_parser("bench", help="mesure les requêtes (médianes, p95, ratio au SQL nu)")
    bench.add_argument(
        "--scales",
        default="departement,national",
        help="échelles à mesurer (la nationale est générée si absente)",
    )
    bench.add_argument("--backends", default="duckdb,postgres", help="duckdb, postgres ou les deux")
    bench.add_argument("--repeat", type=int, default=30, help="répétitions par requête (départ.)")
    bench.add_argument(
        "--summaries-only",
        action="store_true",
        help="requetes : ne mesurer que les questions lues dans le résumé (sans les chiffres "
        "de la réplique interrogée directement, qui prennent une demi-heure au national sur "
        "PostgreSQL)",
    )
    bench.add_argument(
        "--suites",
        default="requetes,page,navigateur,carte,plan,reunion,afflux,sessions",
        help="liste séparée par des virgules : requetes (API et SQL nu), page (page des "
        "relogements : filtre, premier affichage dans Chromium, mémoire par session), "
        "navigateur (choix d'un EPCI dans Chromium jusqu'à l'affichage de tous les chiffres, "
        "pages des relogements et de la carte, rapport à une application Panel minimale), "
        "carte (changement d'indicateur, premier affichage de la couche Occitanie), plan "
        "(page du suivi du plan : filtre sur DuckDB et PostgreSQL, premier affichage, fiche "
        "PDF, rétro-prévision des objectifs), reunion (page de réunion : premier affichage, "
        "changement de vue, mémoire de 20 écrans), afflux (changement de filtre dans Chromium "
        "pendant 4 × 40 requêtes anonymes de la page), sessions (50 sessions sur 2 processus, "
        "un changement de mois toutes les 10 s chacune, 2 minutes : délai, mémoire par session "
        "et après fermeture), tenue (les mêmes 50 sessions pendant 30 minutes : mémoire stable ; "
        "hors défaut)",
    )
    bench.set_defaults(func=cmd_bench)

    geodata = sub.add_parser("geodata", help="contours des territoires pour les cartes")
    geodata_sub = geodata.add_subparsers(dest="geodata_command", required=True)
    fetch = geodata_sub.add_parser(
        "fetch", help="télécharge les contours officiels des communes d'un département"
    )
    fetch.add_argument("--departement", required=True, help="code du département (ex. 31)")
    fetch.add_argument(
        "--out-dir", default=None, help="dossier du cache (défaut : geodata dans RELOG_DATA_DIR)"
    )
    fetch.set_defaults(func=cmd_geodata_fetch)
    derive = geodata_sub.add_parser(
        "derive",
        help="dérive les contours livrés avec le produit (communes et EPCI du département de la "
        "réplique) d'un fichier public de communes",
    )
    derive.add_argument("--communes", required=True, help="contours des communes (ADMIN EXPRESS…)")
    derive.add_argument(
        "--out-dir", default=None, help="dossier de sortie (défaut : geodata/contours du paquet)"
    )
    derive.set_defaults(func=cmd_geodata_derive)

    contrat = sub.add_parser("contrat", help="affiche le contrat de la réplique (Markdown)")
    contrat.add_argument(
        "--readme",
        metavar="FICHIER",
        help="met à jour la section « Brancher votre réplique » de ce README",
    )
    contrat.set_defaults(func=cmd_contrat)

    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except Exception as err:  # a clear French message rather than a traceback
        if isinstance(err, RelogError):
            print(f"Erreur : {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
