"""Health and metrics of a ``relog serve`` process, for the reverse proxy and the monitoring
(a ``panel serve --plugins`` module: :data:`ROUTES`).

- ``GET /sante``: JSON, HTTP 200 when the replica answers, 503 when it does not: whether it
  answers (and since when not, with the French message the pages show), how old its data
  is, and the summaries' age (none yet: the pages read the live queries). Never blocks the
  event loop: the replica is asked on a thread, within its deadline.
- ``GET /metriques``: Prometheus text format (prometheus-client): HTTP request durations by
  kind of route, page refresh durations, question durations (computed or read from the
  cache), replica failures, open sessions, whether the replica answers, the data's age.

Neither says the replica's host, port or user. Keep both off the public side of the reverse
proxy (docs/deploiement.md): they are for the machine's own monitoring.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from bokeh.server.tornado import BokehTornado
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from tornado.web import RequestHandler

from dashboards.components import refresh
from data_access import execution
from data_access.errors import RelogError

#: Buckets of the durations (seconds): a filter change is aimed at 0.1–0.3 s, a page at 1.5 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_SECONDS = Histogram(
    "relog_http_secondes",
    "Durée des requêtes HTTP servies, par sorte de route et classe de code.",
    ["route", "code"],
    buckets=BUCKETS,
)
REFRESH_SECONDS = Histogram(
    "relog_rafraichissement_secondes",
    "Durée d'un rafraîchissement de page après un changement de filtre (questions et dessin).",
    ["page"],
    buckets=BUCKETS,
)
QUESTION_SECONDS = Histogram(
    "relog_question_secondes",
    "Durée d'une question posée à la réplique, calculée ou lue dans le cache.",
    ["question", "origine"],
    buckets=BUCKETS,
)
REPLICA_FAILURES = Counter(
    "relog_base_echecs_total",
    "Lectures de la réplique sans réponse (délai dépassé, base injoignable).",
)
SESSIONS = Gauge("relog_sessions", "Sessions Bokeh ouvertes dans ce processus.")
SESSIONS_BUILT = Counter("relog_sessions_construites_total", "Sessions construites.")
SESSIONS_DEFERRED = Counter(
    "relog_sessions_differees_total",
    "Sessions non construites d'avance (trop de constructions en attente) : construites à la "
    "connexion de leur navigateur, s'il se connecte.",
)
REPLICA_UP = Gauge("relog_base_joignable", "1 si la réplique répond, 0 sinon.")
DATA_AGE = Gauge(
    "relog_donnees_age_secondes", "Âge des données de la réplique (dernière version lue)."
)
SUMMARY_AGE = Gauge(
    "relog_resume_age_secondes",
    "Âge du dernier résumé construit (secondes ; -1 : aucun), lu à chaque /sante.",
)


def _observe(kind: str, name: str, seconds: float) -> None:
    if kind == "echec":
        REPLICA_FAILURES.inc()
    else:
        QUESTION_SECONDS.labels(name, kind).observe(seconds)


execution.OBSERVERS.append(_observe)
refresh.OBSERVERS.append(lambda page, seconds: REFRESH_SECONDS.labels(page).observe(seconds))


def _route(path: str) -> str:
    """A bounded label: the kind of route, never the address (its codes, its filters)."""
    if path.startswith("/static/"):
        return "statique"
    if path.endswith("/ws"):
        return "websocket"
    if path in ("/sante", "/metriques", "/liveness"):
        return path.lstrip("/")
    return "page"


def record_request(handler) -> None:
    """Tornado's request log hook: each request's duration."""
    request = handler.request
    HTTP_SECONDS.labels(_route(request.path), f"{handler.get_status() // 100}xx").observe(
        request.request_time()
    )


_tornado_log_request = BokehTornado.log_request


def _log_request(self, handler) -> None:
    _tornado_log_request(self, handler)
    record_request(handler)


BokehTornado.log_request = _log_request


def _replica():
    from dashboards.layout import replica

    return replica()


def _age_s(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - moment).total_seconds())


def _summaries(replica) -> dict:
    """The summaries part of ``/sante``: the last one built, and whether the pages read it
    (it holds the replica's data) or the live replica answers."""
    store = replica.summary_store
    built = store.current() if store is not None else None
    if built is None:
        SUMMARY_AGE.set(-1)
        return {"actives": store is not None, "construit": False, "lu": False}
    age = built.age_s()
    SUMMARY_AGE.set(age)
    return {
        "actives": True,
        "construit": True,
        "lu": replica.summary == built,
        "construit_le": built.built_at.isoformat(),
        "age_secondes": round(age, 1),
        "duree_construction_secondes": built.build_s,
        "donnees_au": built.freshness().as_of.isoformat(),
    }


async def health() -> tuple[int, dict]:
    """(HTTP status, body) of ``/sante``."""
    replica = _replica()
    settings = replica.settings
    fresh, answered = None, True
    try:
        fresh = await asyncio.wait_for(
            asyncio.to_thread(replica.freshness),
            timeout=settings.deadline_s + settings.connect_timeout_s,
        )
    except (RelogError, TimeoutError):
        answered = False
    since = replica.health.unreachable_since
    data = {}
    if fresh is not None:
        data = {
            "extraction": fresh.extraction.isoformat() if fresh.extraction else None,
            "rejeu": fresh.replay.isoformat() if fresh.replay else None,
            "age_secondes": _age_s(fresh.as_of),
            "retard_rejeu_secondes": fresh.lag_s,
        }
        DATA_AGE.set(data["age_secondes"] or 0)
    REPLICA_UP.set(1 if answered else 0)
    body = {
        "statut": "ok" if answered else "base injoignable",
        "base": {
            "joignable": answered,
            "injoignable_depuis": since.isoformat() if since else None,
            "message": "" if answered else replica.health.message or "La base ne répond pas.",
        },
        "donnees": data,
        "resumes": await asyncio.to_thread(_summaries, replica),
        "lu_a": datetime.now(UTC).isoformat(),
    }
    return (200 if answered else 503), body


class HealthHandler(RequestHandler):
    async def get(self) -> None:
        status, body = await health()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body, ensure_ascii=False))


class MetricsHandler(RequestHandler):
    def get(self) -> None:
        SESSIONS.set(
            sum(len(c.sessions) for c in getattr(self.application, "_applications", {}).values())
        )
        health = _replica().health
        REPLICA_UP.set(0 if health.unreachable_since is not None else 1)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(generate_latest())


ROUTES = [("/sante", HealthHandler, {}), ("/metriques", MetricsHandler, {})]
